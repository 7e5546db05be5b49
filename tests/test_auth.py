"""Logging in and out, sessions, CSRF and roles."""

from __future__ import annotations

import pytest

from hub.testing import TEST_PASSWORD, csrf_from, form_token, login


def test_login_page_then_login_lands_on_integrations(hub_client, hub_org):
    page = hub_client.get("/integrations")
    assert page.status_code == 303
    assert page.headers["location"].startswith("/login?next=")
    login(hub_client, hub_org["admin_email"])
    assert "Manage Integrations" in hub_client.get("/integrations").text


@pytest.mark.parametrize(
    ("email", "password"),
    [("admin@acme-support.test", "wrong password"), ("nobody@acme-support.test", TEST_PASSWORD)],
)
def test_wrong_credentials_get_one_generic_error(hub_client, hub_org, email, password):
    token = csrf_from(hub_client.get("/login").text)
    response = hub_client.post(
        "/login", data={"email": email, "password": password, "csrf_token": token}
    )
    assert response.status_code == 400
    assert "do not match an account" in response.text
    assert "password is wrong" not in response.text.lower()
    assert hub_client.get("/integrations").status_code == 303  # still logged out


def test_login_without_csrf_token_is_refused(hub_client, hub_org):
    hub_client.get("/login")
    response = hub_client.post(
        "/login", data={"email": hub_org["admin_email"], "password": TEST_PASSWORD}
    )
    assert response.status_code == 403


def test_session_cookie_is_signed_httponly_and_lax(hub_client, hub_org):
    token = csrf_from(hub_client.get("/login").text)
    response = hub_client.post(
        "/login",
        data={"email": hub_org["admin_email"], "password": TEST_PASSWORD, "csrf_token": token},
    )
    header = response.headers["set-cookie"].lower()
    assert header.startswith("hub_session=")
    assert "httponly" in header
    assert "samesite=lax" in header
    assert "secure" not in header  # served over http here
    # Signed: a tampered cookie is ignored (logged out), not trusted.
    value = hub_client.cookies.get("hub_session")
    hub_client.cookies.set("hub_session", value[:-4] + "AAAA")
    assert hub_client.get("/integrations").status_code == 303


def test_cookie_is_secure_behind_https(hub_app, hub_settings):
    from starlette.testclient import TestClient

    from hub.app import create_app
    from hub.settings import Settings

    environ = dict(hub_settings.environ, HUB_BASE_URL="https://hub.example")
    app = create_app(Settings.from_env(environ), services=hub_app.state.hub.services)
    with TestClient(app, base_url="https://hub.example") as client:
        response = client.get("/login")
        assert "secure" in response.headers["set-cookie"].lower()


def test_session_is_renewed_at_login(hub_client, hub_org):
    hub_client.get("/login")
    before = hub_client.cookies.get("hub_session")
    login(hub_client, hub_org["admin_email"])
    after = hub_client.cookies.get("hub_session")
    assert before and after and before != after


def test_planted_session_does_not_survive_login(hub_client, hub_org):
    # An attacker's session (with its own CSRF token and OAuth session id) ...
    hub_client.get("/login")
    planted_csrf = csrf_from(hub_client.get("/login").text)
    login(hub_client, hub_org["admin_email"])
    # ... is not the victim's session after login: the CSRF token changed.
    assert form_token(hub_client) != planted_csrf


def test_logout_ends_the_session(admin_client):
    token = form_token(admin_client)
    assert admin_client.post("/logout", data={"csrf_token": token}).status_code == 303
    assert admin_client.get("/integrations").status_code == 303


def test_logout_needs_csrf(admin_client):
    assert admin_client.post("/logout").status_code == 403


def test_open_redirect_after_login_is_refused(hub_client, hub_org):
    token = csrf_from(hub_client.get("/login").text)
    response = hub_client.post(
        "/login",
        data={
            "email": hub_org["admin_email"],
            "password": TEST_PASSWORD,
            "csrf_token": token,
            "next": "//evil.example/phish",
        },
    )
    assert response.headers["location"] == "/integrations"


def test_members_cannot_connect_or_disconnect(hub_client, hub_org):
    login(hub_client, hub_org["member_email"])
    page = hub_client.get("/integrations")
    assert "Connect to Fake Ledger" not in page.text
    assert "Ask an administrator" in page.text
    token = csrf_from(page.text)
    for action in ("connect", "disconnect"):
        response = hub_client.post(f"/integrations/fakeledger/{action}", data={"csrf_token": token})
        assert response.status_code == 403


def test_every_form_post_requires_csrf(admin_client, hub_app):
    """Every portal route that accepts POST refuses a form without the token."""
    from starlette.routing import Route

    posts = [
        route.path
        for route in hub_app.routes
        if isinstance(route, Route)
        and "POST" in (route.methods or set())
        and not route.path.startswith(("/api/", "/webhooks/"))
    ]
    assert "/integrations/{slug}/connect" in posts
    for path in posts:
        concrete = (
            path.replace("{slug}", "fakeledger").replace("{id}", "1").replace("{job_id}", "1")
        )
        response = admin_client.post(concrete, data={"csrf_token": "forged"})
        assert response.status_code == 403, path
