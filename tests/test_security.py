"""An attacker's view of the hub: every probe must fail safely (a clean 4xx, never a 500).

Builds on ``test_isolation`` (another organization's exact ids) with id variants,
forged and replayed OAuth states, cross-session CSRF tokens, forged QuickBooks
webhooks, oversized and deeply nested bodies, script and SQL-ish text, and
session handling around login and logout.
"""

from __future__ import annotations

import base64
import copy
import datetime as dt
import hashlib
import hmac
import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import sqlalchemy as sa
from starlette.routing import Route
from starlette.testclient import TestClient

from hub.models import ApiKey, Connection, Invoice, InvoiceBatch, Job, OAuthState
from hub.testing import TEST_PASSWORD, csrf_from, form_token, login, make_org
from tests import test_isolation
from tests.fakeplugin import TOKEN_URL, FakeLedger
from tests.test_api import BATCH

two_orgs = test_isolation.two_orgs  # org A (the test's) and org B, each with data

SCRIPT = '<script>alert("pwned")</script>'
ESCAPED_SCRIPT = "&lt;script&gt;alert(&#34;pwned&#34;)&lt;/script&gt;"
SQL = "x'); DROP TABLE invoice; --"
TOKEN = {"access_token": "AT-1", "refresh_token": "RT-1", "token_type": "bearer",
         "expires_in": 3600}


def browser(app: Any) -> TestClient:
    """A browser that reports server errors as responses, so a 500 is an assertion."""
    return TestClient(
        app, base_url="http://testserver", follow_redirects=False, raise_server_exceptions=False
    )


def api(app: Any, key: str) -> TestClient:
    """A JSON API client that reports server errors as responses."""
    return TestClient(
        app,
        base_url="http://testserver",
        headers={"Authorization": f"Bearer {key}"},
        raise_server_exceptions=False,
    )


def count(db: Any, table: str) -> int:
    """Rows in one table."""
    with db.engine.connect() as raw:
        return int(raw.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one())


# --- ids: another organization's, neighbours, and malformed -------------------------


def id_routes(app: Any) -> list[tuple[str, str]]:
    """Every (method, path) of the app that takes an object id."""
    return sorted(
        (method, route.path)
        for route in app.routes
        if isinstance(route, Route) and ("{id}" in route.path or "{job_id}" in route.path)
        for method in route.methods or ()
        if method != "HEAD"
    )


def bad_ids(own: set[int], other: int) -> list[str]:
    """Ids an attacker tries: neighbours of their own, the victim's, and malformed ones."""
    top = max(own | {other})
    neighbours = [str(i) for i in range(0, top + 3) if i not in own]
    fullwidth = "".join(chr(0xFF10 + int(d)) for d in str(other))  # full-width digits count too
    return [
        *neighbours, str(other), fullwidth, "-1", "-0", "+1", "1.0", "1e3", "0x1", "abc",
        "%20", "%00", "1%0a", "²", str(2**31), str(2**63), "9" * 40,
    ]


def owned(db: Any, org: dict[str, Any]) -> dict[str, set[int]]:
    """Ids of an organization's batches, invoices and jobs."""
    with db.session() as session:
        return {
            "batch": set(session.exec(
                sa.select(InvoiceBatch.id).where(InvoiceBatch.organization_id == org["id"])
            ).scalars()),
            "invoice": set(session.exec(
                sa.select(Invoice.id).where(Invoice.organization_id == org["id"])
            ).scalars()),
            "job": set(session.exec(
                sa.select(Job.id).where(Job.connection_id == org["connection_id"])
            ).scalars()),
        }


def test_other_and_malformed_ids_are_404_everywhere(hub_app, hub_db, two_orgs):
    a, b = two_orgs["a"], two_orgs["b"]
    mine = owned(hub_db, a)
    routes = id_routes(hub_app)
    assert ("GET", "/invoice-batches/{id}") in routes and len(routes) >= 8
    problems = []
    with browser(hub_app) as web, api(hub_app, a["api_key"]) as client:
        login(web, a["admin_email"])
        token = form_token(web)
        for method, template in routes:
            kind = (
                "job" if "{job_id}" in template
                else "invoice" if "/invoices/" in template
                else "batch"
            )
            own, other = mine[kind], b[f"{kind}_id"]
            for raw in bad_ids(own, other):
                path = (
                    template.replace("{slug}", "fakeledger")
                    .replace("{id}", raw)
                    .replace("{job_id}", raw)
                )
                if template.startswith("/api/"):
                    response = client.request(method, path, json={"memo": "hijack"})
                else:
                    response = web.request(method, path, data={"csrf_token": token})
                if response.status_code != 404:
                    problems.append((method, path, response.status_code))
                assert "batch of b" not in response.text and "INV-b" not in response.text
    assert problems == []


def test_batch_page_number_is_bounded(admin_client, api_client):
    created = api_client.post("/api/v1/invoice-batches", json=BATCH).json()
    for page in ("-1", "0", "abc", str(2**63), "9" * 40, "²"):
        response = admin_client.get(f"/invoice-batches/{created['id']}", params={"page": page})
        assert response.status_code == 200, page
        assert "INV-1001" in response.text


def test_participants_and_idempotency_keys_are_per_organization(hub_app, two_orgs):
    a, b = two_orgs["a"], two_orgs["b"]
    body = copy.deepcopy(BATCH)
    body["invoices"][0]["participant"]["name"] = "Mallory"
    headers = {"Idempotency-Key": "shared-key"}
    with api(hub_app, a["api_key"]) as client_a, api(hub_app, b["api_key"]) as client_b:
        mine = client_a.post("/api/v1/invoice-batches", json=BATCH, headers=headers)
        # The same participant id, invoice number and key in another organization ...
        theirs = client_b.post("/api/v1/invoice-batches", json=body, headers=headers)
        assert mine.status_code == 201 and theirs.status_code == 201
        assert theirs.json()["id"] != mine.json()["id"]
        # ... neither replays nor renames anything of org A's.
        again = client_a.get(f"/api/v1/invoice-batches/{mine.json()['id']}").json()
    assert again["invoices"][0]["participant"]["name"] == "Alex Chen"


# --- OAuth: states and codes ---------------------------------------------------------


def start_connect(client: TestClient, slug: str = "fakeledger") -> str:
    """Press Connect; return the state the provider is asked to send back."""
    response = client.post(f"/integrations/{slug}/connect", data={"csrf_token": form_token(client)})
    assert response.status_code == 303
    return parse_qs(urlsplit(response.headers["location"]).query)["state"][0]


def callback(client: TestClient, slug: str = "fakeledger", **params: str) -> Any:
    """The provider's redirect back to the hub."""
    return client.get(f"/integrations/{slug}/callback", params=params)


def mock_provider(httpx_mock: Any, name: str = "Fake Co", account: str = "acct-1") -> None:
    httpx_mock.add_response(url=TOKEN_URL, method="POST", json=TOKEN)
    httpx_mock.add_response(url=f"https://fake.example/api/{account}/info", json={"name": name})


def connections(db: Any) -> list[tuple[int, str, str]]:
    """(organization, account, status) of every connection."""
    with db.session() as session:
        rows = session.exec(
            sa.select(
                Connection.organization_id, Connection.external_account_id, Connection.status
            )
        ).all()
    return [tuple(row) for row in rows]


def refused(client: TestClient, text: str) -> None:
    """The callback was answered with an explanation, not a new connection."""
    page = client.get("/integrations").text
    assert text in page, page
    assert "New invoice batches will be pushed" not in page


def test_state_of_org_a_used_by_org_b_admin_is_refused(hub_app, hub_db, hub_org, httpx_mock):
    other = make_org(hub_db, "Beta Care")
    with browser(hub_app) as victim, browser(hub_app) as attacker:
        login(victim, hub_org["admin_email"])
        login(attacker, other["admin_email"])
        state = start_connect(victim)
        response = callback(attacker, state=state, code="ATTACKER-CODE", account="acct-evil")
        assert response.status_code == 303
        refused(attacker, "another browser session")
    assert httpx_mock.get_requests() == []  # no code was exchanged
    assert connections(hub_db) == []


def test_state_replay_after_success_changes_nothing(admin_client, hub_app, hub_db, hub_org,
                                                    httpx_mock):
    state = start_connect(admin_client)
    mock_provider(httpx_mock)
    callback(admin_client, state=state, code="CODE1", account="acct-1")
    assert "Connected to Fake Co" in admin_client.get("/integrations").text  # the flash, read
    assert connections(hub_db) == [(hub_org["id"], "acct-1", "connected")]
    # The callback URL leaks (history, logs, referrer): replaying it does nothing,
    # in the same browser or in another one logged in to the same organization.
    callback(admin_client, state=state, code="CODE2", account="acct-evil")
    refused(admin_client, "already used")
    with browser(hub_app) as other:
        login(other, hub_org["admin_email"])
        callback(other, state=state, code="CODE2", account="acct-evil")
        refused(other, "already used")
    assert len(httpx_mock.get_requests(url=TOKEN_URL)) == 1
    assert connections(hub_db) == [(hub_org["id"], "acct-1", "connected")]


TAMPERS = {
    "flipped": lambda s: s[:-1] + ("A" if s[-1] != "A" else "B"),
    "upper": lambda s: s.upper(),
    "longer": lambda s: s + "x",
    "prefix": lambda s: s[:10],
    "empty": lambda s: "",
    "huge": lambda s: s * 200,
    "nul": lambda s: s + "\x00",
    "sql": lambda s: "' OR '1'='1",
}


def test_tampered_state_is_refused(admin_client, hub_db, httpx_mock):
    state = start_connect(admin_client)
    answers = {}
    for name, tamper in TAMPERS.items():
        response = callback(admin_client, state=tamper(state), code="CODE", account="acct-1")
        page = admin_client.get("/integrations").text
        answers[name] = (response.status_code, "Nothing was changed" in page)
    assert answers == dict.fromkeys(TAMPERS, (303, True))
    assert httpx_mock.get_requests() == []
    assert connections(hub_db) == []


def test_attackers_code_in_victims_browser_is_refused(hub_app, hub_db, hub_org, httpx_mock):
    """Login CSRF on OAuth: the attacker's own callback URL, opened in the victim's browser."""
    other = make_org(hub_db, "Beta Care")
    with browser(hub_app) as victim, browser(hub_app) as attacker:
        login(victim, hub_org["admin_email"])
        login(attacker, other["admin_email"])
        start_connect(victim)  # the victim is mid-connect, with a live state of their own
        attacker_state = start_connect(attacker)
        # The attacker authorizes their own company, then stops and sends the link.
        callback(victim, state=attacker_state, code="ATTACKER-CODE", account="acct-evil")
        refused(victim, "another browser session")
        callback(victim, code="ATTACKER-CODE", account="acct-evil")  # no state at all
        refused(victim, "did not include the sign-in state")
    assert httpx_mock.get_requests() == []
    assert connections(hub_db) == []


def test_callback_without_a_session_sends_to_login(admin_client, hub_app, hub_db, httpx_mock):
    state = start_connect(admin_client)
    with browser(hub_app) as anonymous:
        response = callback(anonymous, state=state, code="CODE", account="acct-1")
        assert response.status_code == 303
        assert response.headers["location"].startswith("/login")
    assert httpx_mock.get_requests() == []
    assert connections(hub_db) == []


def test_provider_error_description_is_escaped(admin_client, httpx_mock):
    state = start_connect(admin_client)
    callback(admin_client, state=state, error="server_error", error_description=SCRIPT)
    page = admin_client.get("/integrations").text
    assert SCRIPT not in page and ESCAPED_SCRIPT in page


def test_redirect_uri_ignores_the_host_header(admin_client):
    response = admin_client.post(
        "/integrations/fakeledger/connect",
        data={"csrf_token": form_token(admin_client)},
        headers={"Host": "evil.example", "X-Forwarded-Host": "evil.example"},
    )
    query = parse_qs(urlsplit(response.headers["location"]).query)
    assert query["redirect_uri"] == ["http://testserver/integrations/fakeledger/callback"]


class TestStateForAnotherIntegration:
    """Two integrations installed: a state is only good for the one it was made for."""

    @pytest.fixture
    def hub_plugins(self) -> dict[str, object]:
        return {
            "fakeledger": FakeLedger(),
            "otherledger": FakeLedger(slug="otherledger", name="Other Ledger"),
        }

    @pytest.fixture
    def hub_plugin_env(self) -> dict[str, str]:
        return {
            "FAKELEDGER_CLIENT_ID": "cid",
            "FAKELEDGER_CLIENT_SECRET": "csecret",
            "OTHERLEDGER_CLIENT_ID": "cid2",
            "OTHERLEDGER_CLIENT_SECRET": "csecret2",
        }

    def test_state_for_one_slug_is_refused_on_another(self, admin_client, hub_db, httpx_mock):
        state = start_connect(admin_client, "fakeledger")
        callback(admin_client, "otherledger", state=state, code="CODE", account="acct-1")
        refused(admin_client, "does not match any connection attempt")
        assert httpx_mock.get_requests() == []
        assert connections(hub_db) == []
        with hub_db.session() as session:
            assert session.exec(sa.select(OAuthState.integration)).scalar_one() == "fakeledger"


# --- CSRF: a token from another session ----------------------------------------------


def form_posts(app: Any) -> list[str]:
    """Every portal route that takes a form POST, with its parameters filled in."""
    return [
        route.path.replace("{slug}", "fakeledger").replace("{id}", "1").replace("{job_id}", "1")
        for route in app.routes
        if isinstance(route, Route)
        and "POST" in (route.methods or set())
        and not route.path.startswith(("/api/", "/webhooks/"))
    ]


def test_csrf_token_of_another_session_is_refused(hub_app, hub_db, hub_org, api_client):
    api_client.post("/api/v1/invoice-batches", json=BATCH)
    other = make_org(hub_db, "Beta Care")
    posts = form_posts(hub_app)
    assert "/login" in posts and "/integrations/fakeledger/disconnect" in posts
    with browser(hub_app) as victim, browser(hub_app) as attacker, browser(hub_app) as stranger:
        login(victim, hub_org["admin_email"])
        login(attacker, other["admin_email"])
        foreign = [form_token(attacker), csrf_from(stranger.get("/login").text)]
        for path in posts:
            for token in foreign:
                data = {"csrf_token": token}
                if path == "/login":  # login CSRF: the victim logged in as the attacker
                    data |= {"email": other["admin_email"], "password": TEST_PASSWORD}
                response = victim.post(path, data=data)
                assert response.status_code == 403, (path, response.status_code)
            # Nor does the right token count when sent anywhere but the form body.
            right = form_token(victim)
            assert victim.post(path, params={"csrf_token": right}).status_code == 403, path
            assert victim.post(path, headers={"X-CSRF-Token": right}).status_code == 403, path
        # Still the victim, still logged in.
        assert hub_org["admin_email"] in victim.get("/integrations").text
    assert count(hub_db, "job") == 0 and count(hub_db, "oauthstate") == 0


# --- sessions --------------------------------------------------------------------------


def session_data(cookie: str) -> dict[str, Any]:
    """The (signed, not encrypted) contents of a session cookie."""
    payload = cookie.split(".")[0]
    return dict(json.loads(base64.b64decode(payload + "=" * (-len(payload) % 4))))


def plant(client: TestClient, value: str) -> None:
    """Put a session cookie in a browser, replacing the one it has."""
    client.cookies.clear()
    client.cookies.set("hub_session", value, domain="testserver.local")


def test_planted_cookie_is_not_the_session_after_login(hub_app, hub_org):
    with browser(hub_app) as attacker, browser(hub_app) as victim:
        attacker.get("/login")
        planted = attacker.cookies["hub_session"]
        plant(victim, planted)  # e.g. set from a sibling subdomain
        login(victim, hub_org["admin_email"])
        after = victim.cookies["hub_session"]
        assert after != planted
        assert session_data(planted)["csrf"] != session_data(after).get("csrf")
        # The attacker's copy of the planted cookie grants nothing.
        plant(attacker, planted)
        assert attacker.get("/integrations").status_code == 303
        assert attacker.get("/invoice-batches").status_code == 303


def test_a_cookie_captured_before_logout_is_dead_after_it(hub_app, hub_org):
    with browser(hub_app) as victim, browser(hub_app) as thief:
        login(victim, hub_org["admin_email"])
        captured = victim.cookies["hub_session"]
        victim.post("/logout", data={"csrf_token": form_token(victim)})
        plant(thief, captured)
        response = thief.get("/integrations")
        assert response.status_code == 303, "a logged-out session still opens the portal"


def test_session_cookie_cannot_be_forged_without_the_key(hub_app, hub_org):
    forged = base64.b64encode(json.dumps({"user_id": hub_org["admin_id"]}).encode()).decode()
    with browser(hub_app) as attacker:
        for value in (forged, f"{forged}.0.sig", f"{forged}.aaaa.bbbb"):
            plant(attacker, value)
            assert attacker.get("/integrations").status_code == 303


OFF_SITE = ["//evil.example", "/\\evil.example", "\\\\evil.example", "/\t/evil.example",
            "https://evil.example", "javascript:alert(1)", "/%2F%2Fevil.example",
            "///evil.example"]


def on_site(location: str) -> bool:
    """A browser resolves ``location`` to this site (it reads backslashes and tabs loosely)."""
    return (
        location.startswith("/")
        and not location.startswith(("//", "/\\"))
        and not any(c in location for c in "\\\t\n\r")
    )


def test_login_never_redirects_off_site(hub_client, hub_org):
    for target in OFF_SITE:
        hub_client.cookies.clear()
        token = csrf_from(hub_client.get("/login", params={"next": target}).text)
        response = hub_client.post(
            "/login",
            data={"email": hub_org["admin_email"], "password": TEST_PASSWORD,
                  "csrf_token": token, "next": target},
        )
        assert on_site(response.headers["location"]), (target, response.headers["location"])
        # Already logged in: the login page redirects straight to ``next``, just as safely.
        again = hub_client.get("/login", params={"next": target}).headers["location"]
        assert on_site(again), (target, again)


def test_revoked_and_malformed_api_keys_are_refused(hub_app, hub_db, hub_org):
    with hub_db.session() as session:
        session.execute(sa.update(ApiKey).values(revoked_at=dt.datetime.now(dt.UTC)))
    key = hub_org["api_key"]
    attempts: list[dict[str, str]] = [
        {"Authorization": f"Bearer {key}"},
        {"Authorization": f"Bearer {key[:-1]}"},
        {"Authorization": f"Basic {base64.b64encode(f'{key}:'.encode()).decode()}"},
        {"Authorization": "Bearer hub_' OR '1'='1"},
        {"Authorization": "Bearer hub_\x7f"},
        {"X-Api-Key": key},
    ]
    with TestClient(hub_app, raise_server_exceptions=False) as client:
        for headers in attempts:
            response = client.get("/api/v1/integrations", headers=headers)
            assert response.status_code == 401, headers
            assert response.json()["error"]["code"] == "unauthorized"
        assert client.get("/api/v1/integrations", params={"api_key": key}).status_code == 401


def test_pages_cannot_be_framed(admin_client):
    """Clickjacking: the Disconnect button must not work inside another site's frame."""
    for path in ("/login", "/integrations", "/invoice-batches"):
        headers = admin_client.get(path).headers
        framing = headers.get("x-frame-options", "").upper()
        policy = headers.get("content-security-policy", "")
        assert framing in ("DENY", "SAMEORIGIN") or "frame-ancestors" in policy, path


# --- hostile text: SQL-ish and script payloads -----------------------------------------

HOSTILE = {
    "reference": f"{SCRIPT} {SQL}",
    "number": "<script>1</script>",
    "participant": {"id": SQL, "name": f"{SCRIPT}' OR '1'='1",
                    "email": "\"'><script>alert(1)</script>@x.io"},
    "description": f"{SCRIPT}; DELETE FROM invoiceline",
    "item_code": "'; UPDATE invoice SET total=0; --",
    "memo": f"{SCRIPT} -- {SQL}",
}


def hostile_batch() -> dict[str, Any]:
    body = copy.deepcopy(BATCH)
    body["reference"] = HOSTILE["reference"]
    invoice = body["invoices"][0]
    invoice.update(number=HOSTILE["number"], participant=HOSTILE["participant"],
                   memo=HOSTILE["memo"])
    invoice["lines"][0].update(description=HOSTILE["description"], item_code=HOSTILE["item_code"])
    return body


def test_hostile_text_is_stored_verbatim_and_rendered_escaped(admin_client, api_client, hub_db):
    created = api_client.post("/api/v1/invoice-batches", json=hostile_batch())
    assert created.status_code == 201, created.text
    invoice = api_client.get(f"/api/v1/invoices/{created.json()['invoices'][0]['id']}").json()
    assert created.json()["reference"] == HOSTILE["reference"]
    assert invoice["number"] == HOSTILE["number"]
    assert invoice["participant"] == HOSTILE["participant"]
    assert invoice["memo"] == HOSTILE["memo"]
    assert invoice["lines"][0]["description"] == HOSTILE["description"]
    assert invoice["lines"][0]["item_code"] == HOSTILE["item_code"]
    assert invoice["total"] == "200.28"
    with hub_db.engine.connect() as raw:
        stored = raw.execute(sa.text("SELECT number, memo FROM invoice")).one()
        assert tuple(stored) == (HOSTILE["number"], HOSTILE["memo"])
        assert raw.execute(sa.text("SELECT description FROM invoiceline")).scalar_one() == (
            HOSTILE["description"]
        )
    for path in ("/invoice-batches", f"/invoice-batches/{created.json()['id']}"):
        page = admin_client.get(path)
        assert page.status_code == 200
        assert "<script" not in page.text.lower(), path
        assert "&lt;script&gt;" in page.text, path
    page = admin_client.get(f"/invoice-batches/{created.json()['id']}").text
    assert ESCAPED_SCRIPT in page  # the reference, and the participant's name
    assert "&lt;script&gt;1&lt;/script&gt;" in page  # the number


def test_unstorable_text_is_refused_not_a_crash(hub_app, hub_org):
    """NUL and lone surrogates: PostgreSQL cannot store them, and no invoice needs them."""
    cases = {
        "reference": "nul\x00byte", "number": "INV\x00", "memo": "\x00",
        "description": "lone \ud800 surrogate",
    }
    answers = {}
    with api(hub_app, hub_org["api_key"]) as client:
        for n, (field, value) in enumerate(cases.items()):
            body = copy.deepcopy(BATCH)
            invoice = body["invoices"][0]
            invoice["number"] = f"INV-{n}"  # each case on its own, not a duplicate number
            target = {"reference": body, "description": invoice["lines"][0]}.get(field, invoice)
            target[field] = value
            raw = json.dumps(body).encode()  # both travel as JSON escapes (\u0000, \ud800)
            answers[field] = client.post(
                "/api/v1/invoice-batches", content=raw,
                headers={"content-type": "application/json"},
            ).status_code
    assert answers == dict.fromkeys(cases, 422)


def test_hostile_login_input_is_answered_not_crashed(hub_client, hub_org):
    token = csrf_from(hub_client.get("/login", params={"next": f'/x">{SCRIPT}'}).text)
    for email in (f"{SCRIPT}@x.io", "' OR '1'='1' --", "a\x00@x.io", "x" * 5000):
        response = hub_client.post(
            "/login",
            data={"email": email, "password": "' OR 1=1 --", "csrf_token": token},
        )
        assert response.status_code == 400, (email[:20], response.status_code)
        assert "<script" not in response.text.lower()
    # Bytes that are not UTF-8 at all.
    raw = f"email=%ff%fe%ED%A0%80&password=%ff&csrf_token={token}".encode()
    response = hub_client.post(
        "/login", content=raw, headers={"content-type": "application/x-www-form-urlencoded"}
    )
    assert response.status_code == 400, response.status_code
    page = hub_client.get("/login", params={"next": f'/x">{SCRIPT}'}).text
    assert "<script" not in page.lower() and "&lt;script&gt;" in page


def test_account_name_from_the_provider_is_escaped(admin_client, hub_db, httpx_mock):
    state = start_connect(admin_client)
    mock_provider(httpx_mock, name=f"{SCRIPT} Pty'; DROP TABLE connection; --")
    callback(admin_client, state=state, code="CODE", account="acct-1")
    for path in ("/integrations", "/integrations/fakeledger"):
        page = admin_client.get(path).text
        assert "<script" not in page.lower(), path
        assert ESCAPED_SCRIPT in page, path
    with hub_db.session() as session:
        name = session.exec(sa.select(Connection.external_account_name)).scalar_one()
    assert name == f"{SCRIPT} Pty'; DROP TABLE connection; --"


# --- oversized and deeply nested bodies ---------------------------------------------------

DEEP = b"[" * 100_000 + b"]" * 100_000


def chunks(total: int, size: int = 64 * 1024) -> Iterator[bytes]:
    """A body streamed without a Content-Length."""
    for _ in range(total // size):
        yield b" " * size


def test_api_refuses_huge_and_deep_bodies_and_stays_up(hub_app, hub_org, hub_client):
    headers = {"content-type": "application/json"}
    deep_field = b'{"reference": "r", "invoices": ' + DEEP + b"}"
    big_number = b'{"reference": ' + b"9" * 5000 + b', "invoices": []}'
    with api(hub_app, hub_org["api_key"]) as client:
        invoice_id = client.post("/api/v1/invoice-batches", json=BATCH).json()["invoices"][0]["id"]
        answers = {}
        for name, body in {
            "deep": DEEP, "deep field": deep_field, "huge number": big_number,
            "not utf-8": b"\xff\xfe{}", "array": b"[]", "null": b"null",
        }.items():
            response = client.post("/api/v1/invoice-batches", content=body, headers=headers)
            answers[f"POST {name}"] = response.status_code
            answers[f"PATCH {name}"] = client.patch(
                f"/api/v1/invoices/{invoice_id}", content=body, headers=headers
            ).status_code
        answers["POST 17 MiB streamed"] = client.post(
            "/api/v1/invoice-batches", content=chunks(17 * 1024 * 1024), headers=headers
        ).status_code
        answers["PATCH 2 MiB streamed"] = client.patch(
            f"/api/v1/invoices/{invoice_id}", content=chunks(2 * 1024 * 1024), headers=headers
        ).status_code
        wrong = {name: status for name, status in answers.items() if status not in (400, 413, 422)}
        assert wrong == {}
        assert answers["POST 17 MiB streamed"] == answers["PATCH 2 MiB streamed"] == 413
        # Still healthy, and still serving real work.
        assert hub_client.get("/healthz").status_code == 200
        second = dict(BATCH, invoices=[dict(BATCH["invoices"][0], number="INV-2")])
        assert client.post("/api/v1/invoice-batches", json=second).status_code == 201


# --- webhooks: the real QuickBooks plugin --------------------------------------------------

VERIFIER = "qbo-verifier-token"
NOTIFICATION = json.dumps({
    "eventNotifications": [{
        "realmId": "9130350000000001",
        "dataChangeEvent": {"entities": [{
            "name": "Invoice", "id": "42", "operation": "Update",
            "lastUpdated": "2026-11-23T10:00:00.000Z",
        }]},
    }]
}).encode()


def intuit_signature(token: str, body: bytes) -> str:
    """What QuickBooks sends in ``intuit-signature``: base64(HMAC-SHA256(token, body))."""
    return base64.b64encode(hmac.new(token.encode(), body, hashlib.sha256).digest()).decode()


class TestQuickBooksWebhooks:
    """``POST /webhooks/quickbooks`` with the installed plugin and its verifier token."""

    @pytest.fixture
    def hub_plugins(self) -> None:
        return None  # discover the installed plugins

    @pytest.fixture
    def hub_plugin_env(self) -> dict[str, str]:
        return {"QUICKBOOKS_WEBHOOK_VERIFIER_TOKEN": VERIFIER}

    @pytest.fixture
    def hook(self, hub_app: Any) -> Iterator[TestClient]:
        with TestClient(hub_app, raise_server_exceptions=False) as client:
            yield client

    def post(self, client: TestClient, body: Any, signature: str | None, **extra: str) -> Any:
        headers = {"content-type": "application/json", **extra}
        if signature is not None:
            headers["intuit-signature"] = signature
        return client.post("/webhooks/quickbooks", content=body, headers=headers)

    def rejected_count(self, client: TestClient) -> float:
        """The deliveries counted as badly signed so far (the only trace they leave)."""
        wanted = 'hub_webhook_deliveries_total{integration="quickbooks",outcome="bad_signature"}'
        for line in client.get("/metrics").text.splitlines():
            if line.startswith(wanted):
                return float(line.split()[-1])
        return 0.0

    def assert_nothing_stored(self, db: Any) -> None:
        assert count(db, "webhookdelivery") == 0
        assert count(db, "webhookevent") == 0
        assert count(db, "job") == 0

    def test_forged_signatures_get_401_and_store_nothing(self, hook, hub_db):
        before = self.rejected_count(hook)
        body = NOTIFICATION
        tampered = body.replace(b'"42"', b'"43"')
        forged = {
            "wrong token": intuit_signature("not-the-verifier", body),
            "empty token": intuit_signature("", body),
            "tampered bytes": None,  # the genuine signature of the original body
            "trailing byte": None,
            "missing": None,
            "empty header": "",
            "not base64": "%%%not-base64%%%",
            "hex digest": hmac.new(VERIFIER.encode(), body, hashlib.sha256).hexdigest(),
            "truncated": intuit_signature(VERIFIER, body)[:20],
            "sha1": base64.b64encode(
                hmac.new(VERIFIER.encode(), body, hashlib.sha1).digest()
            ).decode(),
        }
        for name, signature in forged.items():
            sent, header = body, signature
            if name == "tampered bytes":
                sent, header = tampered, intuit_signature(VERIFIER, body)
            elif name == "trailing byte":
                sent, header = body + b" ", intuit_signature(VERIFIER, body)
            response = self.post(hook, sent, header)
            assert response.status_code == 401, name
        # A deep or huge body with a bad signature is refused before it is parsed.
        assert self.post(hook, DEEP, intuit_signature("nope", DEEP)).status_code == 401
        self.assert_nothing_stored(hub_db)
        assert self.rejected_count(hook) - before == len(forged) + 1
        # The genuine delivery, for contrast, is stored.
        assert self.post(hook, body, intuit_signature(VERIFIER, body)).status_code == 200
        assert count(hub_db, "webhookdelivery") == 1 and count(hub_db, "webhookevent") == 1

    def test_signature_of_another_header_name_is_ignored(self, hook, hub_db):
        signature = intuit_signature(VERIFIER, NOTIFICATION)
        response = self.post(hook, NOTIFICATION, None, **{"x-intuit-signature": signature})
        assert response.status_code == 401
        self.assert_nothing_stored(hub_db)

    def test_unknown_slug_looks_like_an_unknown_path(self, hook, hub_db):
        signature = intuit_signature(VERIFIER, NOTIFICATION)
        known = self.post(hook, NOTIFICATION, signature)  # the real slug, for contrast
        assert known.status_code == 200
        answers = [
            hook.post(path, content=NOTIFICATION, headers={"intuit-signature": signature})
            for path in ("/webhooks/nope", "/webhooks/fakeledger", "/webhooks/quickbooks/x")
        ]
        for answer in answers:
            assert answer.status_code == 404
        shapes = {(a.headers["content-type"], a.content) for a in answers}
        assert len(shapes) == 1, shapes

    def test_oversized_deliveries_get_413_and_store_nothing(self, hook, hub_db):
        big = b'{"eventNotifications": [], "pad": "' + b"x" * (1024 * 1024) + b'"}'
        assert self.post(hook, big, intuit_signature(VERIFIER, big)).status_code == 413
        streamed = self.post(hook, chunks(2 * 1024 * 1024), "AAAA")
        assert streamed.status_code == 413
        self.assert_nothing_stored(hub_db)

    def test_malformed_but_signed_bodies_are_400_never_500(self, hook, hub_client, hub_db):
        bodies = {
            "deep": DEEP,
            "deep inside": b'{"eventNotifications": ' + DEEP + b"}",
            "not utf-8": b"\xff\xfe",
            "huge number": b"9" * 5000,
            "empty object": b"{}",
            "operator object": b'{"eventNotifications": [{"realmId": {"$ne": 1}}]}',
        }
        answers = {
            name: self.post(hook, body, intuit_signature(VERIFIER, body)).status_code
            for name, body in bodies.items()
        }
        assert answers == dict.fromkeys(bodies, 400)
        assert count(hub_db, "webhookevent") == 0  # kept for an admin, never applied
        assert hub_client.get("/healthz").status_code == 200
        signature = intuit_signature(VERIFIER, NOTIFICATION)
        assert self.post(hook, NOTIFICATION, signature).status_code == 200
