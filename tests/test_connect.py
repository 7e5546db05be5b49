"""The OAuth connect flow, reconnect and disconnect, against a mocked provider."""

from __future__ import annotations

import datetime as dt
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
import sqlalchemy as sa
from starlette.testclient import TestClient

from hub.models import Activity, Connection, OAuthState
from hub.testing import form_token, login, make_org
from tests.fakeplugin import TOKEN_URL

TOKEN = {
    "access_token": "AT-secret-1",
    "refresh_token": "RT-secret-1",
    "token_type": "bearer",
    "expires_in": 3600,
    "refresh_token_expires_in": 8726400,
}


def start_connect(client: TestClient) -> dict[str, str]:
    response = client.post(
        "/integrations/fakeledger/connect", data={"csrf_token": form_token(client)}
    )
    assert response.status_code == 303
    url = urlsplit(response.headers["location"])
    assert f"{url.scheme}://{url.netloc}{url.path}" == "https://fake.example/oauth/authorize"
    return {k: v[0] for k, v in parse_qs(url.query).items()}


def mock_provider(httpx_mock, *, account="acct-1", name="Fake Co", token=None):
    httpx_mock.add_response(
        url=TOKEN_URL, method="POST", json=token or TOKEN, headers={"intuit_tid": "tid-token"}
    )
    httpx_mock.add_response(url=f"https://fake.example/api/{account}/info", json={"name": name})


def finish(client: TestClient, params: dict[str, str], **extra: str):
    query = {"state": params["state"], "code": "CODE1", "account": "acct-1", **extra}
    return client.get("/integrations/fakeledger/callback", params=query)


def flash_text(client: TestClient) -> str:
    return client.get("/integrations").text


def test_authorize_redirect_carries_state_and_client(admin_client, hub_db):
    params = start_connect(admin_client)
    assert params["client_id"] == "cid"
    assert params["redirect_uri"] == "http://testserver/integrations/fakeledger/callback"
    assert params["response_type"] == "code"
    assert len(params["state"]) >= 32
    with hub_db.session() as session:
        stored = session.exec(sa.select(OAuthState)).scalars().one()
        # Only a hash of the state is kept; the browser holds the value.
        assert params["state"] not in stored.state_hash
        assert stored.expires_at - stored.created_at == dt.timedelta(minutes=10)


def test_connect_stores_encrypted_tokens_and_confirms(admin_client, hub_db, httpx_mock):
    params = start_connect(admin_client)
    mock_provider(httpx_mock)
    response = finish(admin_client, params)
    assert response.status_code == 303
    assert response.headers["location"] == "/integrations"
    page = flash_text(admin_client)
    assert "Connected to Fake Co" in page
    assert "batches created before now are not pushed" in page
    token_request = httpx_mock.get_requests(url=TOKEN_URL)[0]
    assert b"grant_type=authorization_code" in token_request.content
    assert token_request.headers["authorization"].startswith("Basic ")
    with hub_db.engine.connect() as raw:
        row = raw.execute(sa.text("SELECT * FROM connection")).mappings().one()
    dumped = " ".join(str(v) for v in row.values())
    assert "AT-secret-1" not in dumped and "RT-secret-1" not in dumped
    assert row["status"] == "connected"
    assert row["external_account_id"] == "acct-1"


def test_requests_made_while_connecting_count_against_the_accounts_limits(
    admin_client, hub_db, httpx_mock
):
    connect(admin_client, httpx_mock)
    with hub_db.engine.connect() as raw:
        slots = raw.execute(sa.text("SELECT account_key FROM ratelimitslot")).scalars().all()
    # The plugin read the account's details before the host knew which account it was.
    assert slots == ["fakeledger:acct-1"]


def test_state_is_single_use(admin_client, httpx_mock):
    params = start_connect(admin_client)
    mock_provider(httpx_mock)
    finish(admin_client, params)
    again = finish(admin_client, params)
    assert again.headers["location"] == "/integrations"
    assert "already used" in flash_text(admin_client)


def test_unknown_state_is_refused(admin_client):
    start_connect(admin_client)
    finish(admin_client, {"state": "forged-state"})
    assert "does not match any connection attempt" in flash_text(admin_client)


def test_expired_state_is_refused(admin_client, hub_db):
    params = start_connect(admin_client)
    with hub_db.session() as session:
        session.execute(
            sa.update(OAuthState).values(
                expires_at=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
            )
        )
    finish(admin_client, params)
    assert "expired" in flash_text(admin_client)


def test_state_from_another_browser_session_is_refused(admin_client, hub_app, hub_org):
    params = start_connect(admin_client)
    with TestClient(hub_app, base_url="http://testserver", follow_redirects=False) as other:
        login(other, hub_org["admin_email"])
        finish(other, params)
        assert "another browser session" in other.get("/integrations").text


def test_cancel_at_provider_explains_and_offers_help(admin_client):
    params = start_connect(admin_client)
    admin_client.get(
        "/integrations/fakeledger/callback",
        params={"state": params["state"], "error": "access_denied"},
    )
    page = flash_text(admin_client)
    assert "You cancelled at Fake Ledger" in page
    assert "https://fake.example/help" in page


def test_refused_code_is_explained_with_support_reference(admin_client, httpx_mock):
    params = start_connect(admin_client)
    httpx_mock.add_response(
        url=TOKEN_URL,
        method="POST",
        status_code=400,
        json={"error": "invalid_grant"},
        headers={"intuit_tid": "tid-refused"},
    )
    finish(admin_client, params)
    page = flash_text(admin_client)
    assert "refused the sign-in" in page
    assert "tid-refused" in page


def test_provider_down_is_explained(admin_client, httpx_mock):
    params = start_connect(admin_client)
    httpx_mock.add_exception(httpx.ConnectError("connection refused"), url=TOKEN_URL)
    finish(admin_client, params)
    assert "could not be reached" in flash_text(admin_client)


def test_provider_error_page_is_explained(admin_client, httpx_mock):
    params = start_connect(admin_client)
    httpx_mock.add_response(url=TOKEN_URL, method="POST", status_code=503, text="<html>down</html>")
    finish(admin_client, params)
    assert "try again" in flash_text(admin_client).lower()


def test_missing_client_credentials_say_what_to_set(hub_app, hub_org, hub_settings):
    hub_app.state.hub.plugins.get("fakeledger").config.values.clear()  # type: ignore[attr-defined]
    with TestClient(hub_app, base_url="http://testserver", follow_redirects=False) as client:
        login(client, hub_org["admin_email"])
        client.post("/integrations/fakeledger/connect", data={"csrf_token": form_token(client)})
        page = client.get("/integrations").text
    assert "FAKELEDGER_CLIENT_ID" in page


def connect(client, httpx_mock, **kwargs):
    params = start_connect(client)
    mock_provider(httpx_mock, **kwargs)
    return finish(client, params, account=kwargs.get("account", "acct-1"))


def test_reconnect_same_account_resumes(admin_client, hub_db, httpx_mock):
    connect(admin_client, httpx_mock)
    with hub_db.session() as session:
        session.execute(sa.update(Connection).values(status="needs_reconnect", last_error="x"))
    page = admin_client.get("/integrations").text
    assert "Reconnect needed" in page and ">Reconnect<" in page
    connect(admin_client, httpx_mock)
    assert "Reconnected to Fake Co" in flash_text(admin_client)
    with hub_db.session() as session:
        assert session.exec(sa.select(Connection.status)).scalar_one() == "connected"


def test_reconnect_to_another_account_is_refused(admin_client, hub_db, httpx_mock):
    connect(admin_client, httpx_mock)
    with hub_db.session() as session:
        session.execute(sa.update(Connection).values(status="needs_reconnect"))
    connect(admin_client, httpx_mock, account="acct-2", name="Other Co")
    page = flash_text(admin_client)
    assert "disconnect first" in page
    with hub_db.session() as session:
        assert session.exec(sa.select(Connection.external_account_id)).scalar_one() == "acct-1"


def test_account_of_another_organization_is_refused(admin_client, hub_app, hub_db, httpx_mock):
    connect(admin_client, httpx_mock)
    other = make_org(hub_db, "Other Org")
    with TestClient(hub_app, base_url="http://testserver", follow_redirects=False) as client:
        login(client, other["admin_email"])
        connect(client, httpx_mock)
        assert (
            "already connected to another Coordinoter organization"
            in client.get("/integrations").text
        )


def test_disconnect_revokes_and_keeps_history(admin_client, hub_db, httpx_mock):
    connect(admin_client, httpx_mock)
    httpx_mock.add_response(url="https://fake.example/oauth/revoke", method="POST")
    admin_client.post(
        "/integrations/fakeledger/disconnect", data={"csrf_token": form_token(admin_client)}
    )
    revoke = httpx_mock.get_requests(url="https://fake.example/oauth/revoke")[0]
    assert b"RT-secret-1" in revoke.content
    page = admin_client.get("/integrations").text
    assert "Disconnected Fake Ledger" in page
    assert "Not connected" in page
    with hub_db.session() as session:
        row = session.exec(sa.select(Connection)).scalars().one()
        assert row.status == "disconnected"
        assert row.access_token_enc is None and row.refresh_token_enc is None
        kinds = session.exec(sa.select(Activity.kind)).scalars().all()
    assert {"connected", "disconnected"} <= set(kinds)


def test_failed_revoke_still_disconnects_and_says_so(admin_client, hub_db, httpx_mock):
    connect(admin_client, httpx_mock)
    httpx_mock.add_exception(httpx.ConnectTimeout("slow"), url="https://fake.example/oauth/revoke")
    admin_client.post(
        "/integrations/fakeledger/disconnect", data={"csrf_token": form_token(admin_client)}
    )
    page = admin_client.get("/integrations").text
    assert "could not be reached to revoke" in page
    with hub_db.session() as session:
        assert session.exec(sa.select(Connection.status)).scalar_one() == "disconnected"


def test_connection_page_shows_account_environment_and_history(admin_client, httpx_mock):
    connect(admin_client, httpx_mock)
    page = admin_client.get("/integrations/fakeledger").text
    assert "Fake Co" in page and "acct-1" in page
    assert "Sandbox" in page
    assert "Connected to Fake Co (sandbox)." in page


@pytest.mark.parametrize("path", ["/integrations/nope", "/integrations/nope/callback"])
def test_unknown_integration_is_404(admin_client, path):
    assert admin_client.get(path).status_code == 404


def test_connecting_another_company_forgets_what_was_learnt_about_the_first(
    admin_client, hub_db, httpx_mock
):
    from hub.models import ConnectionMapping, SyncLink

    mock_provider(httpx_mock)
    finish(admin_client, start_connect(admin_client))
    with hub_db.session() as session:
        connection = session.exec(sa.select(Connection)).scalars().one()
        session.add(SyncLink(connection_id=connection.id, kind="customer", local_key="P-1",
                             remote_id="58", state="synced"))
        session.add(SyncLink(connection_id=connection.id, kind="invoice", local_key="1",
                             remote_id="130", state="synced"))
        session.add(ConnectionMapping(connection_id=connection.id, values={"tax.gst": "17"}))
    httpx_mock.add_response(url="https://fake.example/oauth/revoke", method="POST")
    admin_client.post(
        "/integrations/fakeledger/disconnect", data={"csrf_token": form_token(admin_client)}
    )

    mock_provider(httpx_mock, account="acct-2", name="Other Co")
    finish(admin_client, start_connect(admin_client), account="acct-2")

    with hub_db.session() as session:
        connection = session.exec(sa.select(Connection)).scalars().one()
        assert connection.external_account_id == "acct-2"
        kinds = session.exec(sa.select(SyncLink.kind)).scalars().all()
        assert kinds == ["invoice"]  # the record of what went to the first company stays
        assert session.get(ConnectionMapping, connection.id) is None
