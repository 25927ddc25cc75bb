"""What each email says, for an English and a Spanish reader: a subject that fits and says
what happened, a greeting, the school, the date with year, time and time zone, the facts
of a decision or an invitation, one link to the exact page, and why they got it. A
Spanish reader never gets English."""

import datetime
import re
import zoneinfo

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from meetings.models import AttendanceRequest, Meeting, MeetingNotice, Plan, PlanDelivery, Reminder
from meetings.services import distribution, notices
from meetings.services.notifications import notify
from meetings.services.reminders import Kind, reminder_slot
from staff import outbox
from staff.invites import guardian_invite
from staff.letters import SUBJECT_MAX
from staff.models import OutgoingEmail, Role, User

from . import factories as f

CHICAGO = zoneinfo.ZoneInfo("America/Chicago")
# Words of the English letters that no Spanish one may contain.
ENGLISH = ["Hello", "You receive", "Open the", "IEP meeting of", "When:", "Reason:", "please"]


@pytest.fixture
def when():
    # A Wednesday in December, 9:00 in Chicago (CST), in the school year the tests run in.
    start = datetime.datetime(2026, 12, 9, 9, 0, tzinfo=CHICAGO)
    return start


@pytest.fixture
def readers(school):
    """An English and a Spanish reader: both teachers of the school (they see the student)."""
    return {
        "en": f.UserFactory(full_name="Erin English", roles=[(Role.Kind.TEACHER, school)]),
        "es": f.UserFactory(
            full_name="Sofía Español",
            preferred_language="es",
            roles=[(Role.Kind.TEACHER, school)],
        ),
    }


@pytest.fixture
def scene(meeting, student, school, principal, seca, when):
    school.address = "1819 W. Cullerton St"
    school.phone = "773-555-0100"
    school.save()
    Meeting.objects.filter(pk=meeting.pk).update(
        starts_at=when,
        ends_at=when + datetime.timedelta(hours=1),
        location="Room 104",
        video_link="https://meet.example.org/iep-104",
        change_reason="The family asked for a later day",
    )
    meeting.refresh_from_db()
    cover = f.UserFactory(full_name="Lena Cover", roles=[(Role.Kind.SECA, school)])
    request = f.AttendanceRequestFactory(
        meeting=meeting,
        seca=seca,
        note="I know his routines",
        status=AttendanceRequest.Status.APPROVED,
        decided_by=principal,
        decided_at=timezone.now(),
        covered_by=cover,
        coverage_note="Lena takes the 9:00 block",
        decision_note="Thank you for asking",
    )
    return meeting, request


def _mails(mailoutbox, user):
    return [m for m in mailoutbox if m.to == [user.email]]


def _html(message) -> str:
    ((body, mimetype),) = message.alternatives
    assert mimetype == "text/html"
    return body


def check_letter(message, *, lang, exact_path, name):
    """What every letter must carry."""
    assert len(message.subject) <= SUBJECT_MAX and "\n" not in message.subject
    assert message.extra_headers["Content-Language"] == lang
    body, html = message.body, _html(message)
    greeting = {"en": "Hello", "es": "Hola"}[lang]
    first_line = body.split("\n", 1)[0]
    assert first_line.startswith(greeting) and name in first_line
    assert f'<html lang="{lang}">' in html
    assert f"http://testserver{exact_path}" in body or f"{exact_path}" in body
    assert exact_path in html
    why = {"en": "You receive this", "es": "Recibe est"}[lang]
    assert why in body and why in html
    if lang == "es":
        for word in ENGLISH:
            assert word not in body, f"English {word!r} in a Spanish email: {message.subject}"
            assert word not in html, f"English {word!r} in a Spanish email: {message.subject}"


def check_when(message, *, lang):
    """The date with its year, time and time zone."""
    if lang == "en":
        assert "Wednesday, December 9, 2026, 9:00 AM CST" in message.body
    else:
        assert "miércoles 9 de diciembre de 2026, 9:00 AM CST" in message.body


EVENTS = {
    # event: (params, English subject start, Spanish subject start, exact page)
    "request_submitted": ({}, "Jerry Seca asks to attend Jordan", "Jerry Seca pide asistir", "decide"),
    "request_approved": ({}, "Approved: your request to attend Jordan", "Aprobada: su solicitud", "meeting"),
    "request_denied": ({}, "Denied: your request to attend Jordan", "Negada: su solicitud", "feedback"),
    "request_expired": ({}, "Not decided in time: your request", "No se decidió a tiempo", "feedback"),
    "feedback_submitted": ({"seca": "Jerry Seca"}, "Jerry Seca gave feedback", "Jerry Seca dio comentarios", "meeting"),
    "invited": ({}, "Invitation: Jordan", "Invitación: reunión del IEP", "meeting"),
    "meeting_moved": ({}, "Moved: Jordan", "Cambio de fecha: la reunión", "meeting"),
    "approval_reopened": ({}, "Moved: your approval for Jordan", "Cambio de fecha: su aprobación", "meeting"),
    "requests_reopened": ({"count": 2}, "Moved: 2 approved requests", "Cambio de fecha: 2 solicitudes", "queue"),
    "meeting_cancelled": ({}, "Cancelled: Jordan", "Cancelada: reunión del IEP", "meeting"),
    "parent_answered": ({"guardian": "Ana Ruiz", "answer": "another_time", "note": "After 3 pm"}, "Ana Ruiz asks for another time", "Ana Ruiz pide otro horario", "meeting"),
    "parent_wish": ({"guardian": "Ana Ruiz", "wish": "attend", "note": ""}, "Ana Ruiz asks that the SECA attend", "Ana Ruiz pide que el SECA asista", "meeting"),
}  # fmt: skip


@pytest.mark.parametrize("event", EVENTS)
def test_each_notification_email_in_english_and_spanish(
    event, scene, readers, mailoutbox, django_capture_on_commit_callbacks
):
    meeting, request = scene
    params, en_subject, es_subject, page = EVENTS[event]
    if event == "request_denied":
        AttendanceRequest.objects.filter(pk=request.pk).update(
            status=AttendanceRequest.Status.DENIED, deny_reason="group", covered_by=None,
            coverage_note="",
        )  # fmt: skip
        request.refresh_from_db()
    with django_capture_on_commit_callbacks(execute=True):
        notify(readers.values(), event, meeting=meeting, request=request, **params)
    exact = {
        "decide": reverse("request_decide", args=[request.pk]),
        "meeting": reverse("meeting_detail", args=[meeting.pk]),
        "feedback": reverse("feedback_edit", args=[meeting.pk]),
        "queue": reverse("approval_queue"),
    }[page]
    for lang, subject in (("en", en_subject), ("es", es_subject)):
        [message] = _mails(mailoutbox, readers[lang])
        assert message.subject.startswith(subject), message.subject
        check_letter(message, lang=lang, exact_path=exact, name=readers[lang].get_short_name())
        check_when(message, lang=lang)
        assert {"en": "Skinner North · 773-555-0100", "es": "Skinner North · 773-555-0100"}[
            lang
        ] in message.body


def test_a_decision_says_the_outcome_the_note_and_the_coverage(
    scene, readers, mailoutbox, django_capture_on_commit_callbacks
):
    meeting, request = scene
    with django_capture_on_commit_callbacks(execute=True):
        notify([readers["en"]], "request_approved", meeting=meeting, request=request)
    [message] = mailoutbox
    assert "Pat Principal approved your request" in message.body
    assert "Coverage: Lena Cover covers your students." in message.body
    assert "About the coverage: Lena takes the 9:00 block" in message.body
    assert "Note: Thank you for asking" in message.body
    assert "Where: Room 104, Skinner North, 1819 W. Cullerton St" in message.body
    assert "Video link: https://meet.example.org/iep-104" in message.body


def test_a_denial_gives_the_reason_and_the_approvers_note(
    scene, readers, mailoutbox, django_capture_on_commit_callbacks
):
    meeting, request = scene
    AttendanceRequest.objects.filter(pk=request.pk).update(
        status=AttendanceRequest.Status.DENIED, deny_reason="group", decision_note="Group at 9",
        covered_by=None, coverage_note="",
    )  # fmt: skip
    request.refresh_from_db()
    with django_capture_on_commit_callbacks(execute=True):
        notify(readers.values(), "request_denied", meeting=meeting, request=request)
    [english] = _mails(mailoutbox, readers["en"])
    assert "Reason: Supporting a group of students" in english.body
    assert "Note: Group at 9" in english.body
    [spanish] = _mails(mailoutbox, readers["es"])
    assert "Motivo: Apoya a un grupo de estudiantes" in spanish.body


@pytest.mark.parametrize("event", ["invited", "meeting_moved", "request_approved"])
def test_an_invitation_carries_its_calendar_file(
    event, scene, readers, mailoutbox, django_capture_on_commit_callbacks
):
    meeting, request = scene
    with django_capture_on_commit_callbacks(execute=True):
        notify([readers["en"]], event, meeting=meeting, request=request)
    [message] = mailoutbox
    [(filename, content, mimetype)] = message.attachments
    assert filename == f"iep-meeting-{meeting.pk}.ics" and mimetype.startswith("text/calendar")
    assert "DTSTART;TZID=America/Chicago:20261209T090000" in content


def test_a_cancelled_meetings_calendar_file_cancels_it(
    scene, readers, mailoutbox, django_capture_on_commit_callbacks
):
    meeting, request = scene
    Meeting.objects.filter(pk=meeting.pk).update(state=Meeting.State.CANCELLED)
    with django_capture_on_commit_callbacks(execute=True):
        notify([readers["en"]], "meeting_cancelled", meeting=meeting)
    [message] = mailoutbox
    assert "Reason: The family asked for a later day" in message.body
    assert "STATUS:CANCELLED" in message.attachments[0][1]


def test_the_in_app_notification_is_the_subject_in_the_readers_language(
    scene, readers, django_capture_on_commit_callbacks
):
    meeting, request = scene
    notify(readers.values(), "invited", meeting=meeting)
    messages = {n.user.preferred_language: n.message for n in readers["en"].notifications.all()}
    messages |= {n.user.preferred_language: n.message for n in readers["es"].notifications.all()}
    assert messages["en"].startswith("Invitation: Jordan")
    assert messages["es"].startswith("Invitación: reunión del IEP de Jordan")


def test_a_long_subject_is_cut_at_a_word():
    from staff.letters import fit

    subject = fit(
        "Moved: 12 approved requests for Maximiliano-Alejandro R.'s IEP meeting need a new decision"
    )
    assert len(subject) <= SUBJECT_MAX and subject.endswith("…")
    assert not re.search(r"\w…$", subject.replace(" …", "")) or subject[-2] != " "


# --- Reminders ----------------------------------------------------------------------------


def _send_reminder(kind, object_id, user, slot="24h@x"):
    reminder = Reminder.objects.create(kind=kind, object_id=object_id, recipient=user, slot=slot)
    (email_id,) = outbox.emails_record("reminder", [(reminder.pk, user.pk)])
    return outbox.email_send(email_id=email_id)


@pytest.mark.parametrize("lang", ["en", "es"])
def test_the_request_pending_reminder(lang, scene, principal, mailoutbox):
    meeting, request = scene
    AttendanceRequest.objects.filter(pk=request.pk).update(status="pending")
    User.objects.filter(pk=principal.pk).update(preferred_language=lang)
    principal.refresh_from_db()
    assert _send_reminder(Kind.REQUEST_PENDING, request.pk, principal)
    [message] = mailoutbox
    expected = {"en": "Waiting for you: Jerry Seca's request", "es": "Espera su decisión"}[lang]
    assert message.subject.startswith(expected)
    check_letter(
        message, lang=lang, exact_path=reverse("request_decide", args=[request.pk]), name="Pat"
    )
    check_when(message, lang=lang)


@pytest.mark.parametrize("lang", ["en", "es"])
def test_the_reviews_due_reminder_says_which_review_is_missing(
    lang, case_manager, student, school, mailoutbox
):
    today = timezone.localdate()
    student.annual_review_due = today + datetime.timedelta(days=10)
    student.reevaluation_due = today + datetime.timedelta(days=12)
    student.save()
    # The annual review is scheduled; the re-evaluation is what is missing.
    f.MeetingFactory(student=student, kind=Meeting.Kind.ANNUAL_REVIEW, scheduled_by=case_manager)
    User.objects.filter(pk=case_manager.pk).update(preferred_language=lang)
    case_manager.refresh_from_db()
    assert _send_reminder(Kind.REVIEWS_DUE, case_manager.pk, case_manager, slot="2027-W01")
    [message] = mailoutbox
    if lang == "en":
        assert message.subject == "1 review to schedule on your caseload"
        assert "re-evaluation due" in message.body and "annual review due" not in message.body
    else:
        assert message.subject == "1 revisión por programar en sus casos"
        assert "reevaluación vence" in message.body and "revisión anual vence" not in message.body
    check_letter(
        message, lang=lang, exact_path=reverse("caseload") + "?show=due_soon", name="Casey"
    )


# --- The plan, the notice, the invitation -------------------------------------------------------


@pytest.mark.parametrize("lang", ["en", "es"])
def test_the_plan_copy(lang, held, case_manager, parent, mailoutbox):
    User.objects.filter(pk=parent.pk).update(preferred_language=lang)
    plan = Plan.objects.create(
        meeting=held, version=1, file="plans/x.pdf", sha256="0" * 64, uploaded_by=case_manager,
        finalized_at=timezone.now(),
    )  # fmt: skip
    delivery = PlanDelivery.objects.create(plan=plan, recipient=parent, reason="guardian")
    (email_id,) = outbox.emails_record("plan_delivery", [(delivery.pk, parent.pk)])
    assert outbox.email_send(email_id=email_id)
    [message] = mailoutbox
    assert message.attachments == []  # the record never travels in a mailbox
    check_letter(
        message,
        lang=lang,
        exact_path=reverse("delivery_open", args=[delivery.pk]),
        name=parent.get_short_name(),
    )
    assert distribution  # the module that built it


@pytest.mark.parametrize("lang", ["en", "es"])
def test_the_notice_and_the_invitation_are_in_the_guardians_language(
    lang, meeting, case_manager, student, mailoutbox, django_capture_on_commit_callbacks
):
    guardian = f.GuardianFactory(student=student, preferred_language=lang, email="fam@example.net")
    with django_capture_on_commit_callbacks(execute=True):
        notices.notices_send(meeting=meeting, kind=MeetingNotice.Kind.SCHEDULED)
        guardian_invite(case_manager=case_manager, guardian=guardian, email=guardian.email)
    assert len(mailoutbox) == 2
    for message in mailoutbox:
        assert message.extra_headers["Content-Language"] == lang
    sent = OutgoingEmail.objects.filter(sent_at__isnull=False)
    assert set(sent.values_list("language", flat=True)) == {lang}


@pytest.mark.parametrize("lang", ["en", "es"])
@pytest.mark.parametrize("kind", ["meeting_upcoming", "feedback_due", "plan_not_finalized"])
def test_the_other_reminders(kind, lang, scene, seca, case_manager, mailoutbox):
    meeting, _ = scene
    held = f.MeetingFactory(
        student=meeting.student,
        scheduled_by=case_manager,
        starts_at=timezone.now() - datetime.timedelta(days=8),
        state=Meeting.State.HELD,
        held_at=timezone.now() - datetime.timedelta(days=8),
    )
    reader = {"meeting_upcoming": seca, "feedback_due": seca, "plan_not_finalized": case_manager}[
        kind
    ]
    User.objects.filter(pk=reader.pk).update(preferred_language=lang)
    reader.refresh_from_db()
    about = held if kind == "plan_not_finalized" else meeting
    slot = reminder_slot(24, about.starts_at)
    with time_machine.travel(meeting.starts_at - datetime.timedelta(hours=20), tick=False):
        assert _send_reminder(kind, about.pk, reader, slot=slot)
    [message] = mailoutbox
    page = {
        "meeting_upcoming": reverse("meeting_detail", args=[meeting.pk]),
        "feedback_due": reverse("feedback_edit", args=[meeting.pk]),
        "plan_not_finalized": reverse("meeting_detail", args=[held.pk]) + "#plans",
    }[kind]
    check_letter(message, lang=lang, exact_path=page, name=reader.get_short_name())
    if kind != "plan_not_finalized":
        check_when(message, lang=lang)


@pytest.mark.parametrize("lang", ["en", "es"])
def test_the_plan_not_opened_reminder(lang, held, case_manager, parent, mailoutbox):
    User.objects.filter(pk=parent.pk).update(preferred_language=lang)
    parent.refresh_from_db()
    plan = Plan.objects.create(
        meeting=held, version=1, file="plans/x.pdf", sha256="0" * 64, uploaded_by=case_manager,
        finalized_at=timezone.now(),
    )  # fmt: skip
    delivery = PlanDelivery.objects.create(
        plan=plan, recipient=parent, reason="guardian", sent_at=timezone.now()
    )
    assert _send_reminder(Kind.PLAN_NOT_ACKNOWLEDGED, delivery.pk, parent, slot="3sd")
    [message] = mailoutbox
    expected = {"en": "Please open Jordan F.'s finalized plan", "es": "Por favor, abra el plan"}
    assert message.subject.startswith(expected[lang])
    check_letter(
        message,
        lang=lang,
        exact_path=reverse("delivery_open", args=[delivery.pk]),
        name=parent.get_short_name(),
    )


@pytest.mark.parametrize(
    ("event", "en_subject", "es_subject", "page"),
    [
        ("stay_submitted", "Jerry Seca asks to stay with Jordan", "Jerry Seca pide seguir con Jordan", "decide"),
        ("stay_approved", "Approved: your request to stay with Jordan", "Aprobada: su solicitud para seguir", "list"),
        ("stay_denied", "Denied: your request to stay with Jordan", "Negada: su solicitud para seguir", "list"),
    ],
)  # fmt: skip
def test_each_stay_request_email_in_english_and_spanish(
    event, en_subject, es_subject, page, student, school, seca, principal, mailoutbox,
    django_capture_on_commit_callbacks,
):  # fmt: skip
    # Readers who hear of a stay request: SECAs of the student this year (and approvers).
    readers = {
        lang: f.UserFactory(full_name=name, preferred_language=lang, roles=[(Role.Kind.SECA, school)])
        for lang, name in (("en", "Erin English"), ("es", "Sofía Español"))
    }  # fmt: skip
    for reader in readers.values():
        f.AssignmentFactory(student=student, staff=reader)
    stay = f.StayRequestFactory(
        student=student, seca=seca, status="denied" if event == "stay_denied" else "pending",
        deny_reason="staffing" if event == "stay_denied" else "", decided_by=principal,
        decided_at=timezone.now(), decision_note="We need Jerry in Room 210",
    )  # fmt: skip
    with django_capture_on_commit_callbacks(execute=True):
        notify(readers.values(), event, request=stay)
    exact = {
        "decide": reverse("stay_request_decide", args=[stay.pk]),
        "list": reverse("stay_request_list"),
    }[page]
    for lang, subject in (("en", en_subject), ("es", es_subject)):
        [message] = _mails(mailoutbox, readers[lang])
        assert message.subject.startswith(subject), message.subject
        check_letter(message, lang=lang, exact_path=exact, name=readers[lang].get_short_name())
        assert "We need Jerry in Room 210" in message.body
    if event == "stay_denied":
        [spanish] = _mails(mailoutbox, readers["es"])
        assert "Motivo: El personal de la escuela para ese año no lo permite" in spanish.body


def test_a_stay_request_event_is_not_heard_by_staff_who_do_not_decide(student, school, seca):
    teacher = f.UserFactory(roles=[(Role.Kind.TEACHER, school)])
    stay = f.StayRequestFactory(student=student, seca=seca)
    notify([teacher], "stay_submitted", request=stay)
    assert not teacher.notifications.exists()


@pytest.mark.parametrize(
    ("event", "en_subject", "es_subject", "page"),
    [
        ("stay_submitted", "Jerry Seca asks to stay with classroom Room 210", "Jerry Seca pide seguir con el salón Room 210", "decide"),
        ("stay_approved", "Approved: your request to stay with classroom Room 210", "Aprobada: su solicitud para seguir con el salón Room 210", "list"),
        ("stay_denied", "Denied: your request to stay with classroom Room 210", "Negada: su solicitud para seguir con el salón Room 210", "list"),
    ],
)  # fmt: skip
def test_each_classroom_stay_email_in_english_and_spanish(
    event, en_subject, es_subject, page, school, principal, mailoutbox,
    django_capture_on_commit_callbacks,
):  # fmt: skip
    # A classroom has no student: its approvers hear of the request, the SECA of the outcome.
    outcome = event != "stay_submitted"
    for lang in ("en", "es"):
        seca = f.UserFactory(
            full_name="Jerry Seca", preferred_language=lang if outcome else "en",
            roles=[(Role.Kind.SECA, school)],
        )  # fmt: skip
        stay = f.StayRequestFactory(
            student=None, classroom="Room 210", school=school, seca=seca,
            status="denied" if event == "stay_denied" else "pending",
            deny_reason="staffing" if event == "stay_denied" else "", decided_by=principal,
            decided_at=timezone.now(), decision_note="We need Jerry in Room 210 next year",
        )  # fmt: skip
        reader = seca
        if not outcome:
            reader = f.UserFactory(
                full_name=f"Designee {lang}", preferred_language=lang,
                roles=[(Role.Kind.ASSISTANT_PRINCIPAL, school)],
            )  # fmt: skip
            f.DesignationFactory(school=school, designee=reader, named_by=principal)
        with django_capture_on_commit_callbacks(execute=True):
            notify([reader], event, request=stay)
        exact = {
            "decide": reverse("stay_request_decide", args=[stay.pk]),
            "list": reverse("stay_request_list"),
        }[page]
        [message] = _mails(mailoutbox, reader)
        subject = en_subject if lang == "en" else es_subject
        assert message.subject.startswith(subject), message.subject
        check_letter(message, lang=lang, exact_path=exact, name=reader.get_short_name())
        assert "We need Jerry in Room 210 next year" in message.body
        assert ("Classroom: Room 210" if lang == "en" else "Salón: Room 210") in message.body
