"""The parent's pages as a parent sees them: the notice of meeting with their answer and
their wish about the SECA, their child's support team, in English or Spanish; and what
another family, the school's staff and an anonymous visitor see instead."""

import datetime

import pytest
import time_machine
from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from meetings.models import Meeting, NoticeResponse, Notification, ParentWish, Plan
from staff.models import Assignment, AuditEvent, Role

from . import factories as f


@pytest.fixture
def guardian(parent):
    return parent.guardianships.get()


def _page(client, user, url, status=200):
    client.force_login(user)
    response = client.get(url)
    assert response.status_code == status
    return response.content.decode()


def _finalized_plan(meeting, by, **extra):
    return Plan.objects.create(
        meeting=meeting,
        file="plans/iep.pdf",
        sha256="0" * 64,
        uploaded_by=by,
        finalized_at=timezone.now(),
        **extra,
    )


# --- access ----------------------------------------------------------------------------------


def test_anonymous_visitor_is_sent_to_sign_in(client, meeting, student):
    for url in (
        reverse("notice", args=[meeting.pk]),
        reverse("parent_child", args=[student.pk]),
        reverse("my_children"),
    ):
        response = client.get(url)
        assert response.status_code == 302 and reverse("account_login") in response["Location"]


def test_another_family_gets_404_for_the_team_page_the_notice_and_its_answers(
    client, other_parent, meeting, student
):
    client.force_login(other_parent)
    assert client.get(reverse("parent_child", args=[student.pk])).status_code == 404
    assert client.get(reverse("notice", args=[meeting.pk])).status_code == 404
    response = client.post(reverse("notice_answer", args=[meeting.pk]), {"answer-answer": "attend"})
    assert response.status_code == 404
    response = client.post(reverse("parent_wish", args=[meeting.pk]), {"wish-wish": "not_attend"})
    assert response.status_code == 404
    assert not NoticeResponse.objects.exists() and not ParentWish.objects.exists()


def test_parent_sees_only_their_own_children(client, parent, other_parent, student):
    page = _page(client, parent, reverse("my_children"))
    assert student.full_name in page
    other_child = other_parent.guardianships.get().student
    assert other_child.full_name not in page


def test_case_manager_reads_the_notice_as_the_family_sees_it_but_cannot_answer(
    client, case_manager, meeting, parent
):
    page = _page(client, case_manager, reverse("notice", args=[meeting.pk]))
    assert "Notice of meeting" in page and "as the family sees it" in page
    assert 'name="answer-answer"' not in page
    response = client.post(reverse("notice_answer", args=[meeting.pk]), {"answer-answer": "attend"})
    assert response.status_code == 403
    # 34 CFR 300.614: staff reading a family's record is logged.
    assert AuditEvent.objects.filter(action="notice.viewed", actor=case_manager).exists()


def test_staff_of_another_school_get_404_and_the_seca_403_for_the_notice(
    client, meeting, other_school, seca
):
    teacher = f.UserFactory(roles=[(Role.Kind.TEACHER, other_school)])
    _page(client, teacher, reverse("notice", args=[meeting.pk]), status=404)
    # The SECA sees the meeting, not the family's notice.
    _page(client, seca, reverse("notice", args=[meeting.pk]), status=403)


def test_answer_pages_accept_only_post(client, parent, meeting):
    client.force_login(parent)
    assert client.get(reverse("notice_answer", args=[meeting.pk])).status_code == 405
    assert client.get(reverse("parent_wish", args=[meeting.pk])).status_code == 405


# --- the notice page ---------------------------------------------------------------------------


def test_parent_reads_the_notice_with_the_seca_right_and_the_answer_forms(
    client, parent, meeting, seca
):
    page = _page(client, parent, reverse("notice", args=[meeting.pk]))
    assert "Notice of meeting" in page
    assert "ask that the SECA attend the meeting, or that the SECA not attend" in page
    assert "Jerry Seca" in page
    assert "If you need an interpreter, tell the school" in page
    assert "call the school at 773-555-0100" in page
    assert 'name="answer-answer"' in page and 'name="wish-wish"' in page
    assert "I ask for another time" in page and "I ask that the SECA not attend" in page
    assert reverse("meeting_ics", args=[meeting.pk]) in page
    # Printable: the forms and links are hidden on paper.
    assert 'class="card mb-4 no-print"' in page


def test_parent_answers_they_will_attend_and_the_scheduler_is_told(
    client, parent, guardian, meeting, case_manager, django_capture_on_commit_callbacks, mailoutbox
):
    client.force_login(parent)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("notice_answer", args=[meeting.pk]),
            {"answer-answer": "attend", "answer-note": ""},
            follow=True,
        )
    assert "your answer was sent to the school" in response.content.decode()
    answer = NoticeResponse.objects.get(meeting=meeting, guardian=guardian)
    assert answer.answer == "attend"
    (notification,) = Notification.objects.filter(user=case_manager)
    assert f"{guardian.full_name} will attend" in notification.message
    assert mailoutbox[-1].to == [case_manager.email]
    assert AuditEvent.objects.filter(action="notice.answered", actor=parent).count() == 1


def test_asking_for_another_time_without_a_note_shows_the_error_next_to_the_note(
    client, parent, meeting
):
    client.force_login(parent)
    response = client.post(
        reverse("notice_answer", args=[meeting.pk]),
        {"answer-answer": "another_time", "answer-note": "  "},
    )
    assert response.status_code == 400
    assert (
        "Say which days and times would work for you."
        in response.context["answer_form"].errors["note"][0]
    )
    assert not NoticeResponse.objects.exists()
    assert not Notification.objects.exists()


def test_parent_asks_for_another_time_then_changes_the_answer(client, parent, guardian, meeting):
    client.force_login(parent)
    url = reverse("notice_answer", args=[meeting.pk])
    client.post(url, {"answer-answer": "another_time", "answer-note": "Afternoons after 3"})
    client.post(url, {"answer-answer": "not_attend", "answer-note": ""})
    answer = NoticeResponse.objects.get(meeting=meeting, guardian=guardian)
    assert (answer.answer, answer.note) == ("not_attend", "")
    page = _page(client, parent, reverse("notice", args=[meeting.pk]))
    assert "You answered:" in page and "I will not attend" in page
    assert AuditEvent.objects.filter(action="notice.answered").count() == 2


def test_the_answer_cannot_change_once_the_meeting_started(client, parent, guardian, meeting):
    NoticeResponse.objects.create(meeting=meeting, guardian=guardian, answer="attend")
    with time_machine.travel(meeting.starts_at + datetime.timedelta(minutes=5)):
        client.force_login(parent)  # a session of that day
        page = client.get(reverse("notice", args=[meeting.pk])).content.decode()
        assert "answers can no longer be changed" in page
        assert 'name="answer-answer"' not in page
        response = client.post(
            reverse("notice_answer", args=[meeting.pk]), {"answer-answer": "not_attend"}
        )
    assert response.status_code == 400
    assert "The meeting has started" in response.content.decode()
    assert NoticeResponse.objects.get(guardian=guardian).answer == "attend"


def test_a_cancelled_meeting_says_so_and_takes_no_answer(client, parent, meeting):
    Meeting.objects.filter(pk=meeting.pk).update(state="cancelled", change_reason="Snow day")
    page = _page(client, parent, reverse("notice", args=[meeting.pk]))
    assert "Meeting cancelled" in page and "Snow day" in page
    assert 'name="answer-answer"' not in page


# --- the SECA wish ----------------------------------------------------------------------------


def test_parent_asks_that_the_seca_attend_and_may_change_their_mind(
    client, parent, guardian, meeting, principal
):
    client.force_login(parent)
    url = reverse("parent_wish", args=[meeting.pk])
    response = client.post(
        url, {"wish-wish": "attend", "wish-note": "She knows him best"}, follow=True
    )
    assert "Your request about the SECA was saved" in response.content.decode()
    wish = ParentWish.objects.get(meeting=meeting, guardian=guardian)
    assert (wish.wish, wish.note) == ("attend", "She knows him best")
    # The notice shows it back, and the form holds it to change.
    page = client.get(reverse("notice", args=[meeting.pk]))
    assert f"You asked: <strong>{wish.get_wish_display()}</strong>" in page.content.decode()
    assert page.context["wish_form"].initial == {"wish": "attend", "note": "She knows him best"}

    client.post(url, {"wish-wish": "not_attend", "wish-note": ""})
    wish.refresh_from_db()
    assert wish.wish == "not_attend"
    events = AuditEvent.objects.filter(action="parent_wish.saved", actor=parent).order_by("at")
    assert [e.after["wish"] for e in events] == ["attend", "not_attend"]
    assert events.last().before == {"wish": "attend", "note": "She knows him best"}


def test_the_seca_wish_is_refused_after_the_meeting_started(client, parent, guardian, meeting):
    ParentWish.objects.create(meeting=meeting, guardian=guardian, wish="attend")
    with time_machine.travel(meeting.starts_at + datetime.timedelta(minutes=1)):
        client.force_login(parent)
        response = client.post(
            reverse("parent_wish", args=[meeting.pk]), {"wish-wish": "not_attend"}
        )
    assert response.status_code == 400
    assert "The meeting has started" in response.content.decode()
    assert ParentWish.objects.get(guardian=guardian).wish == "attend"
    assert not AuditEvent.objects.filter(action="parent_wish.saved").exists()


def test_a_wish_without_a_choice_shows_the_error_next_to_the_choice(client, parent, meeting):
    client.force_login(parent)
    response = client.post(reverse("parent_wish", args=[meeting.pk]), {"wish-note": "hm"})
    assert response.status_code == 400
    assert response.context["wish_form"].errors["wish"]


# --- the support team page -------------------------------------------------------------------


def test_team_page_shows_the_team_the_school_the_meetings_and_the_plans(
    client, parent, guardian, student, school, case_manager, seca, meeting
):
    school.address = "6540 S Loomis Blvd, Chicago"
    school.main_office_email = "office@skinner.example.org"
    school.save()
    teacher = f.UserFactory(full_name="Terry Teacher")
    f.AssignmentFactory(student=student, staff=teacher, kind=Assignment.Kind.TEACHER)
    slp = f.UserFactory(full_name="Sam Speech")
    f.AssignmentFactory(
        student=student,
        staff=slp,
        kind=Assignment.Kind.RELATED_SERVICE,
        detail="Speech-language pathologist",
    )
    last_year = f.UserFactory(full_name="Lee Lastyear")
    f.AssignmentFactory(student=student, staff=last_year, school_year=2001)
    NoticeResponse.objects.create(meeting=meeting, guardian=guardian, answer="attend")
    past = f.MeetingFactory(student=student, starts_at=timezone.now() - datetime.timedelta(days=30))
    plan = _finalized_plan(past, case_manager)
    Plan.objects.create(
        meeting=past, version=2, file="plans/draft.pdf", sha256="1" * 64, uploaded_by=case_manager
    )  # not finalized: not shown

    page = _page(client, parent, reverse("parent_child", args=[student.pk]))
    assert "Casey Manager" in page and "Case manager" in page
    assert "Jerry Seca" in page and "SECA" in page
    assert "Terry Teacher" in page and "Teacher" in page
    assert "Sam Speech" in page and "Related-service provider (Speech-language pathologist)" in page
    assert "Lee Lastyear" not in page
    assert "773-555-0100" in page and "6540 S Loomis Blvd" in page
    assert "office@skinner.example.org" in page
    assert reverse("notice", args=[meeting.pk]) in page and "I will attend" in page
    assert reverse("plan_download", args=[plan.pk]) in page
    assert page.count("/download/") == 1  # the draft is not offered


def _team_of_size(student, case_manager, n):
    for i in range(n):
        f.AssignmentFactory(student=student, staff=f.UserFactory(), kind=Assignment.Kind.TEACHER)
        meeting = f.MeetingFactory(
            student=student, starts_at=timezone.now() + datetime.timedelta(days=3 + i)
        )
        past = f.MeetingFactory(
            student=student, starts_at=timezone.now() - datetime.timedelta(days=40 + i)
        )
        _finalized_plan(past, case_manager)
        f.InvitationFactory(meeting=meeting)


@pytest.mark.parametrize("size", [3, 30])
def test_team_page_costs_the_same_queries_however_large_the_team(
    client, parent, guardian, student, case_manager, size, django_assert_num_queries
):
    _team_of_size(student, case_manager, size)
    NoticeResponse.objects.create(
        meeting=student.meetings.first(), guardian=guardian, answer="attend"
    )
    client.force_login(parent)
    # 1 session, 2 user, 3 the parent's standing (staff/access.py: read once, it decides
    # every right on the page), 4 the child (with school and case manager), 5 the team,
    # 6 upcoming meetings, 7 this parent's answers to them, 8 their wishes about the SECA,
    # 9 the SECAs' requests to attend (the outcome of a wish), 10 finalized plans, 11 the
    # access log's INSERT (34 CFR 300.614), 12 the unread notifications count.
    with django_assert_num_queries(12):
        response = client.get(reverse("parent_child", args=[student.pk]))
    assert response.status_code == 200
    assert response.content.decode().count(">Teacher<") == size


def test_my_children_lists_each_child_with_a_link_to_their_team(client, parent, school):
    second = f.StudentFactory(school=school, first_name="Riley")
    f.GuardianFactory(student=second, user=parent, email=parent.email)
    page = _page(client, parent, reverse("my_children"))
    assert "Riley" in page and "Jordan" in page
    assert reverse("parent_child", args=[second.pk]) in page


def test_a_staff_member_without_children_sees_an_empty_list(client, case_manager):
    page = _page(client, case_manager, reverse("my_children"))
    assert "No child is linked to your account" in page


# --- Spanish ------------------------------------------------------------------------------


@pytest.fixture
def spanish_parent(parent, guardian):
    parent.preferred_language = guardian.preferred_language = "es"
    parent.save()
    guardian.save()
    return parent


def test_a_parent_who_prefers_spanish_reads_the_notice_in_spanish(
    client, spanish_parent, meeting, student
):
    student.interpreter_needed, student.home_language = True, "Spanish"
    student.save()
    page = _page(client, spanish_parent, reverse("notice", args=[meeting.pk]))
    assert '<html lang="es">' in page
    assert "Aviso de reunión" in page
    assert "Puede pedir que el/la SECA asista a la reunión, o que no asista." in page
    assert "Habrá un intérprete (español) en la reunión, sin costo para usted." in page
    assert "pedir otro horario" in page and "llamar a la escuela al 773-555-0100" in page
    # The model's choices, shown to parents, in Spanish.
    assert "Revisión anual" in page
    assert "Pido otro horario" in page and "Pido que el/la SECA no asista" in page
    assert "Enviar mi respuesta" in page


def test_a_spanish_speaking_parent_sees_the_error_in_spanish(client, spanish_parent, meeting):
    client.force_login(spanish_parent)
    response = client.post(
        reverse("notice_answer", args=[meeting.pk]),
        {"answer-answer": "another_time", "answer-note": ""},
    )
    assert response.status_code == 400
    assert "Indique qué días y horas le convienen." in response.content.decode()


def test_a_parent_who_prefers_spanish_sees_the_team_page_in_spanish(
    client, spanish_parent, student, seca
):
    page = _page(client, spanish_parent, reverse("parent_child", args=[student.pk]))
    assert "Equipo de apoyo de" in page
    assert "Cómo comunicarse con la escuela" in page
    assert "Administrador/a de casos" in page
    assert "Cerrar sesión" in page  # base.html too


def test_the_language_switcher_overrides_the_preference(client, spanish_parent, student):
    client.force_login(spanish_parent)
    url = reverse("parent_child", args=[student.pk])
    page = client.get(url).content.decode()
    assert f'action="{reverse("set_language")}"' in page and 'value="en"' in page
    response = client.post(reverse("set_language"), {"language": "en", "next": url})
    assert response.status_code == 302 and response["Location"] == url
    assert client.cookies[settings.LANGUAGE_COOKIE_NAME].value == "en"
    page = client.get(url).content.decode()
    assert "How to reach the school" in page and 'value="es"' in page
    # Their choice is their preference: the emails and notices follow it.
    spanish_parent.refresh_from_db()
    assert spanish_parent.preferred_language == "en"


def test_an_english_parent_with_a_spanish_browser_still_reads_english(client, parent, student):
    page_url = reverse("parent_child", args=[student.pk])
    client.force_login(parent)
    page = client.get(page_url, headers={"accept-language": "es"}).content.decode()
    assert "How to reach the school" in page


def test_the_notice_names_the_case_manager_in_a_fixed_number_of_queries(
    client, parent, guardian, meeting, django_assert_num_queries
):
    case_manager = meeting.student.case_manager
    client.force_login(parent)
    # 1 session, 2 user, 3 standing, 4 the meeting with its student, schools and case
    # manager (access.MEETING_NOTICE), 5 read together: the invitations, the child's SECAs,
    # the parent's guardian record, their answer, their wish and the SECAs' requests (the
    # wish's outcome), 6 the access log's INSERT, 7 the unread notifications count.
    with django_assert_num_queries(7):
        page = client.get(reverse("notice", args=[meeting.pk])).content.decode()
    assert f"Case manager: {case_manager.full_name}" in page
