"""Parents come in only by invitation: the case manager invites a guardian by email, the
link sets a password, signs them in and shows their child. Expired, used and unknown
links change nothing."""

import datetime
import re

import pytest
import time_machine
from allauth.account.models import EmailAddress
from django.urls import reverse
from django.utils import timezone

from staff import outbox
from staff.invites import guardian_invite
from staff.models import AuditEvent, GuardianInvite, OutgoingEmail, Role, User
from staff.services import DomainError
from staff.tasks import email_send

from . import factories as f

NEW_PASSWORD = "a-long-family-passphrase"


@pytest.fixture
def new_guardian(student):
    """A guardian without an account yet, who reads Spanish."""
    return f.GuardianFactory(
        student=student, full_name="María López", email="maria@example.net", preferred_language="es"
    )


def _invite(client, case_manager, guardian, email, capture):
    client.force_login(case_manager)
    with capture(execute=True):
        response = client.post(
            reverse("guardian_invite", args=[guardian.pk]), {f"g{guardian.pk}-email": email}
        )
    return response


def _link(message) -> str:
    return re.search(r"http://127\.0\.0\.1:8000(/invite/[-\w]+/)", message.body).group(1)


# --- the case manager's side -------------------------------------------------------------------


def test_case_manager_sees_the_guardians_and_invites_one_by_email(
    client, case_manager, new_guardian, django_capture_on_commit_callbacks, mailoutbox
):
    client.force_login(case_manager)
    page = client.get(reverse("guardian_list", args=[new_guardian.student_id])).content.decode()
    assert "María López" in page and 'value="maria@example.net"' in page

    response = _invite(
        client,
        case_manager,
        new_guardian,
        "Maria.Lopez@Example.net",
        django_capture_on_commit_callbacks,
    )
    assert response.status_code == 302
    invite = GuardianInvite.objects.get(guardian=new_guardian)
    assert invite.email == "maria.lopez@example.net" and invite.invited_by == case_manager
    assert invite.expires_at - timezone.now() > datetime.timedelta(days=13, hours=23)
    assert invite.expires_at - timezone.now() <= datetime.timedelta(days=14)
    (message,) = mailoutbox
    assert message.to == ["maria.lopez@example.net"]
    assert _link(message) == reverse("invite_accept", args=[invite.token])
    # In the guardian's language, with an HTML twin.
    assert "Estimada/o María López" in message.body
    assert message.alternatives[0][1] == "text/html"
    new_guardian.refresh_from_db()
    assert new_guardian.email == "maria.lopez@example.net"
    event = AuditEvent.objects.get(action="guardian.invited")
    assert event.actor == case_manager and event.student == new_guardian.student


def test_case_manager_of_another_school_cannot_see_or_invite_the_guardians(
    client, other_school, new_guardian, mailoutbox
):
    elsewhere = f.UserFactory(roles=[(Role.Kind.CASE_MANAGER, other_school)])
    client.force_login(elsewhere)
    assert client.get(reverse("guardian_list", args=[new_guardian.student_id])).status_code == 404
    response = client.post(
        reverse("guardian_invite", args=[new_guardian.pk]),
        {f"g{new_guardian.pk}-email": "x@example.net"},
    )
    assert response.status_code == 404
    assert not GuardianInvite.objects.exists() and mailoutbox == []


@pytest.mark.parametrize("persona", ["seca", "parent", "teacher"])
def test_only_the_case_manager_or_the_principal_invites(
    client, request, persona, new_guardian, school, mailoutbox
):
    # They see the student (a 403, not a 404), but the family's contacts are not theirs.
    user = (
        f.UserFactory(roles=[(Role.Kind.TEACHER, school)])
        if persona == "teacher"
        else request.getfixturevalue(persona)
    )
    client.force_login(user)
    assert client.get(reverse("guardian_list", args=[new_guardian.student_id])).status_code == 403
    response = client.post(
        reverse("guardian_invite", args=[new_guardian.pk]),
        {f"g{new_guardian.pk}-email": "x@example.net"},
    )
    assert response.status_code == 403
    assert not GuardianInvite.objects.exists() and mailoutbox == []


def test_the_principal_invites_too(client, principal, new_guardian, mailoutbox):
    client.force_login(principal)
    assert client.get(reverse("guardian_list", args=[new_guardian.student_id])).status_code == 200
    response = client.post(
        reverse("guardian_invite", args=[new_guardian.pk]),
        {f"g{new_guardian.pk}-email": "x@example.net"},
    )
    assert response.status_code == 302
    assert GuardianInvite.objects.get().invited_by == principal


def test_invite_is_post_only(client, case_manager, new_guardian):
    client.force_login(case_manager)
    assert client.get(reverse("guardian_invite", args=[new_guardian.pk])).status_code == 405


def test_a_bad_email_shows_the_error_next_to_the_field(client, case_manager, new_guardian):
    client.force_login(case_manager)
    response = client.post(
        reverse("guardian_invite", args=[new_guardian.pk]),
        {f"g{new_guardian.pk}-email": "not an email"},
    )
    assert response.status_code == 400
    assert 'id="error_1_id_g' in response.content.decode()
    assert not GuardianInvite.objects.exists()


def test_a_guardian_with_an_account_is_not_invited_again(client, case_manager, parent):
    guardian = parent.guardianships.get()
    client.force_login(case_manager)
    response = client.post(
        reverse("guardian_invite", args=[guardian.pk]), {f"g{guardian.pk}-email": parent.email}
    )
    assert response.status_code == 400
    assert "already has an account" in response.content.decode()


def test_the_invitation_email_is_sent_once_even_when_the_task_runs_twice(
    case_manager, new_guardian, django_capture_on_commit_callbacks, mailoutbox
):
    with django_capture_on_commit_callbacks(execute=True):
        invite = guardian_invite(
            case_manager=case_manager, guardian=new_guardian, email=new_guardian.email
        )
    email = OutgoingEmail.objects.get(kind="guardian_invite", source_id=invite.pk)
    email_send.delay(email.pk)
    assert outbox.email_send(email_id=email.pk) is False
    assert len(mailoutbox) == 1
    invite.refresh_from_db()
    assert invite.sent_at is not None


def test_the_service_refuses_a_case_manager_of_another_school(other_school, new_guardian):
    elsewhere = f.UserFactory(roles=[(Role.Kind.CASE_MANAGER, other_school)])
    with pytest.raises(DomainError):
        guardian_invite(case_manager=elsewhere, guardian=new_guardian, email="x@example.net")


# --- the parent's side ------------------------------------------------------------------------


def test_invitation_end_to_end_password_signed_in_and_the_child_in_spanish(
    client, case_manager, new_guardian, student, django_capture_on_commit_callbacks, mailoutbox
):
    _invite(
        client, case_manager, new_guardian, new_guardian.email, django_capture_on_commit_callbacks
    )
    client.logout()
    link = _link(mailoutbox[0])

    page = client.get(link).content.decode()  # the guardian's language, signed out
    assert "Crear mi cuenta" in page and "maria@example.net" in page
    response = client.post(
        link, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}, follow=True
    )
    assert response.redirect_chain[-1][0] == reverse("parent_child", args=[student.pk])
    page = response.content.decode()
    assert student.full_name in page and "Equipo de apoyo" in page

    user = User.objects.get(email="maria@example.net")
    assert response.context["user"] == user  # signed in
    assert user.check_password(NEW_PASSWORD)
    assert user.full_name == "María López" and user.preferred_language == "es"
    assert EmailAddress.objects.filter(
        user=user, email="maria@example.net", verified=True, primary=True
    ).exists()
    new_guardian.refresh_from_db()
    assert new_guardian.user == user
    assert GuardianInvite.objects.get().accepted_at is not None
    assert AuditEvent.objects.filter(action="guardian.invite_accepted", actor=user).exists()

    # The same link a second time changes nothing.
    client.logout()
    response = client.get(link)
    assert response.status_code == 410
    assert "ya se usó" in response.content.decode()


def test_a_weak_password_is_refused_next_to_the_field_and_nothing_is_created(
    client, case_manager, new_guardian, django_capture_on_commit_callbacks, mailoutbox
):
    new_guardian.preferred_language = "en"
    new_guardian.save()
    _invite(
        client, case_manager, new_guardian, new_guardian.email, django_capture_on_commit_callbacks
    )
    client.logout()
    response = client.post(
        _link(mailoutbox[0]), {"new_password1": "12345", "new_password2": "12345"}
    )
    assert response.status_code == 400
    errors = response.context["form"].errors["new_password2"]
    assert any("too short" in e for e in errors)
    assert not User.objects.filter(email="maria@example.net").exists()
    assert GuardianInvite.objects.get().accepted_at is None


def test_an_expired_link_is_refused_and_changes_nothing(client, case_manager, new_guardian):
    invite = guardian_invite(
        case_manager=case_manager, guardian=new_guardian, email=new_guardian.email
    )
    link = reverse("invite_accept", args=[invite.token])
    with time_machine.travel(invite.expires_at + datetime.timedelta(minutes=1)):
        assert client.get(link).status_code == 410
        response = client.post(link, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert response.status_code == 410
    assert "ha vencido" in response.content.decode()  # the guardian reads Spanish
    assert not User.objects.filter(email=new_guardian.email).exists()
    new_guardian.refresh_from_db()
    assert new_guardian.user is None


def test_a_new_invitation_replaces_the_earlier_link(client, case_manager, new_guardian):
    first = guardian_invite(
        case_manager=case_manager, guardian=new_guardian, email=new_guardian.email
    )
    guardian_invite(case_manager=case_manager, guardian=new_guardian, email=new_guardian.email)
    assert client.get(reverse("invite_accept", args=[first.token])).status_code == 410


def test_an_unknown_link_is_404_with_a_clear_message(client, db):
    response = client.get(reverse("invite_accept", args=["no-such-token"]))
    assert response.status_code == 404
    assert "This invitation link is not valid" in response.content.decode()


def test_a_seca_who_is_also_a_parent_signs_in_and_the_child_is_added(
    client, case_manager, seca, student, school
):
    child = f.StudentFactory(school=school, first_name="Riley", case_manager=case_manager)
    guardian = f.GuardianFactory(student=child, full_name=seca.full_name, email=seca.email)
    invite = guardian_invite(case_manager=case_manager, guardian=guardian, email=seca.email)
    link = reverse("invite_accept", args=[invite.token])

    page = client.get(link).content.decode()  # signed out: asked to sign in first
    assert "You already have an account" in page
    assert f"{reverse('account_login')}?next={link.replace('/', '%2F')}" in page
    assert not User.objects.filter(email=seca.email).exclude(pk=seca.pk).exists()

    client.force_login(seca)
    page = client.get(link).content.decode()
    assert "Add Riley to my account" in page
    guardian.refresh_from_db()
    assert guardian.user is None  # opening the link changes nothing
    response = client.post(link)
    assert response.status_code == 302
    assert response["Location"] == reverse("parent_child", args=[child.pk])
    guardian.refresh_from_db()
    assert guardian.user == seca
    assert client.get(response["Location"]).status_code == 200
    assert EmailAddress.objects.filter(user=seca, email=seca.email, verified=True).exists()


def test_signed_in_as_someone_else_the_invitation_changes_nothing(
    client, case_manager, new_guardian, other_parent
):
    invite = guardian_invite(
        case_manager=case_manager, guardian=new_guardian, email=new_guardian.email
    )
    client.force_login(other_parent)
    link = reverse("invite_accept", args=[invite.token])
    response = client.post(link)
    assert response.status_code == 403
    assert "but you are signed in as" in response.content.decode()
    new_guardian.refresh_from_db()
    assert new_guardian.user is None
    invite.refresh_from_db()
    assert invite.accepted_at is None
