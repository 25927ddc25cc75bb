"""Signing in with an email address: no usernames, no open sign-up, rate-limited, with a
password reset by email."""

import re

from django.urls import reverse

from staff.models import User

from . import factories as f


def login(client, email, password):
    return client.post(reverse("account_login"), {"login": email, "password": password})


def test_staff_sign_in_with_their_email_in_any_case(client, seca):
    response = login(client, seca.email.upper(), f.PASSWORD)
    assert response.status_code == 302 and response.url == reverse("home")


def test_repeated_wrong_passwords_lock_the_account_out_for_a_while(client, seca):
    for _ in range(5):
        assert login(client, seca.email, "wrong-password").status_code == 200
    # Even the right password is refused now: allauth's login_failed limit (5 per 5 min).
    response = login(client, seca.email, f.PASSWORD)
    assert response.status_code == 200
    assert "Too many failed login attempts" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_nobody_can_sign_up(client, db):
    response = client.post(
        reverse("account_signup"),
        {
            "email": "new@example.org",
            "password1": "a-long-password-1",
            "password2": "a-long-password-1",
        },
    )
    assert "Accounts are created by the district" in response.content.decode()
    assert not User.objects.filter(email="new@example.org").exists()


def test_password_reset_by_email(client, seca, mailoutbox):
    client.post(reverse("account_reset_password"), {"email": seca.email})
    assert len(mailoutbox) == 1 and mailoutbox[0].to == [seca.email]
    link = re.search(r"https?://[^/\s]+(/accounts/password/reset/key/\S+)", mailoutbox[0].body)
    response = client.get(link.group(1), follow=True)
    form_url = response.redirect_chain[-1][0] if response.redirect_chain else link.group(1)
    client.post(
        form_url, {"password1": "a-brand-new-passphrase", "password2": "a-brand-new-passphrase"}
    )
    seca.refresh_from_db()
    assert seca.check_password("a-brand-new-passphrase")
