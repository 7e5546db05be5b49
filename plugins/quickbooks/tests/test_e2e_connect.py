"""Connecting QuickBooks end to end: the hub, its vault and the emulator on real sockets."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest
import sqlalchemy as sa
from hub_support import (
    browser,
    connect_quickbooks,
    connected,
    emulator,
    emulator_options,
    hub_base_url,
    hub_plugin_env,
    hub_plugins,
    live_hub,
    run_worker,
)

from hub.errors import AuthRevoked
from hub.models import Activity, Connection
from hub.testing import csrf_from


def grants(emulator, kind: str) -> int:
    return int(emulator.stats()["token_grants"].get(kind, 0))


def test_connect_lands_on_confirmation_naming_the_company(
    browser, connected, emulator, hub_db, hub_services
):
    page = browser.get("/integrations").text
    assert "Connected to" in page
    with hub_db.read_session() as session:
        connection = session.get(Connection, connected)
    assert connection.external_account_id == emulator.realm_id
    assert connection.external_account_name in page
    assert connection.environment == "sandbox"
    # The raw row holds neither token in clear.
    tokens = hub_services.vault.tokens(connection)
    with hub_db.engine.connect() as raw:
        row = (
            raw.execute(sa.text("SELECT * FROM connection WHERE id = :i"), {"i": connected})
            .mappings()
            .one()
        )
    dumped = " ".join(str(value) for value in row.values())
    assert tokens.access_token not in dumped and tokens.refresh_token not in dumped


async def call_quickbooks(services, connection_id: int) -> None:
    """What a job does: a plugin hook that calls the Accounting API with the vault's token."""
    from hub.context import connection_context, load_connection

    connection = load_connection(services, connection_id)
    async with connection_context(services, connection) as ctx:
        await services.plugins.hook("quickbooks", "pull_changes")(
            ctx=ctx, since=dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)
        )


def test_expired_token_is_refreshed_on_401_and_rotation_is_kept(connected, emulator, hub_services):
    tokens_seen = set()
    for _day in range(3):
        # Past the access token's hour and past a day: QuickBooks rotates the refresh token.
        emulator.control("POST", "clock", json={"advance_seconds": 25 * 3600})
        asyncio.run(call_quickbooks(hub_services, connected))
        with hub_services.db.read_session() as session:
            tokens = hub_services.vault.tokens(session.get(Connection, connected))
        tokens_seen.add(tokens.refresh_token)
    assert grants(emulator, "refresh_token") == 3
    assert len(tokens_seen) == 3  # each rotated refresh token was kept, none lost


def test_concurrent_use_after_expiry_refreshes_once(connected, emulator, hub_services, hub_db):
    emulator.control("POST", "clock", json={"advance_seconds": 2 * 3600})
    before = grants(emulator, "refresh_token")

    async def twenty() -> None:
        await asyncio.gather(*(call_quickbooks(hub_services, connected) for _ in range(20)))

    asyncio.run(twenty())
    assert grants(emulator, "refresh_token") - before == 1
    # And when the hub itself sees the expiry coming, still one refresh for all.
    with hub_db.session() as session:
        session.execute(
            sa.update(Connection).values(
                access_expires_at=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
            )
        )
    emulator.control("POST", "clock", json={"advance_seconds": 2 * 3600})
    asyncio.run(twenty())
    assert grants(emulator, "refresh_token") - before == 2


def test_revoked_at_provider_needs_reconnect_then_reconnects(
    browser, connected, emulator, hub_services, hub_db
):
    realm = emulator.realm_id
    emulator.control("POST", f"companies/{realm}/revoke", json={})
    emulator.control("POST", "clock", json={"advance_seconds": 2 * 3600})
    with pytest.raises(AuthRevoked):
        asyncio.run(call_quickbooks(hub_services, connected))
    page = browser.get("/integrations").text
    assert "Reconnect needed" in page and ">Reconnect<" in page
    detail = browser.get("/integrations/quickbooks").text
    assert "Reconnect needed" in detail
    response = connect_quickbooks(browser)
    assert response.headers["location"] == "/integrations"
    assert "Reconnected to" in browser.get("/integrations").text
    with hub_db.read_session() as session:
        assert session.get(Connection, connected).status == "connected"
        kinds = session.exec(sa.select(Activity.kind)).scalars().all()
    assert {"connected", "reconnect_needed", "reconnected"} <= set(kinds)


def test_reconnect_to_another_company_is_refused(browser, connected, emulator, hub_db):
    other = emulator.control("POST", "companies", json={"name": "Second Company Pty Ltd"})
    with hub_db.session() as session:
        session.execute(sa.update(Connection).values(status="needs_reconnect"))
    connect_quickbooks(browser, company=str(other["realm_id"]))
    page = browser.get("/integrations").text
    assert "disconnect first" in page
    with hub_db.read_session() as session:
        assert session.get(Connection, connected).external_account_id == emulator.realm_id


def test_disconnect_revokes_at_quickbooks(browser, connected, emulator, hub_services, hub_db):
    with hub_db.read_session() as session:
        token = hub_services.vault.tokens(session.get(Connection, connected)).access_token
    token_form = csrf_from(browser.get("/integrations").text)
    browser.post("/integrations/quickbooks/disconnect", data={"csrf_token": token_form})
    page = browser.get("/integrations").text
    assert "Disconnected QuickBooks" in page and "Connect to QuickBooks" in page
    realm = emulator.realm_id
    answer = emulator.http.get(
        f"/v3/company/{realm}/companyinfo/{realm}",
        headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
    )
    assert answer.status_code == 401  # revoked at the provider
    # Connecting again, even to another company, is allowed after a disconnect.
    other = emulator.control("POST", "companies", json={"name": "Fresh Start Ltd"})
    connect_quickbooks(browser, company=str(other["realm_id"]))
    assert "Connected to Fresh Start Ltd" in browser.get("/integrations").text


def test_cancel_on_consent_page_explains(browser, emulator):
    from urllib.parse import parse_qsl, urlsplit

    import httpx

    token = csrf_from(browser.get("/integrations").text)
    authorize = browser.post(
        "/integrations/quickbooks/connect", data={"csrf_token": token}
    ).headers["location"]
    params = dict(parse_qsl(urlsplit(authorize).query))
    answer = httpx.post(authorize.split("?")[0], data={**params, "decision": "cancel"})
    callback = answer.headers["location"]
    browser.get(callback.removeprefix(str(browser.base_url).rstrip("/")))
    page = browser.get("/integrations").text
    assert "You cancelled at QuickBooks" in page


CALLER = """
import asyncio, datetime as dt, sys
from hub.services import Services
from hub.settings import Settings
from hub.context import connection_context, load_connection

services = Services.build(Settings.from_env())
connection_id = int(sys.argv[1])

async def call():
    connection = load_connection(services, connection_id)
    async with connection_context(services, connection) as ctx:
        await services.plugins.hook("quickbooks", "pull_changes")(
            ctx=ctx, since=dt.datetime.now(dt.UTC) - dt.timedelta(hours=1))

async def main():
    sys.stdin.readline()  # start together
    await asyncio.gather(*(call() for _ in range(10)))

asyncio.run(main())
print("done")
"""


def test_two_processes_using_an_expired_token_refresh_once(connected, emulator, hub_settings):
    import os
    import subprocess
    import sys

    emulator.control("POST", "clock", json={"advance_seconds": 2 * 3600})
    before = grants(emulator, "refresh_token")
    env = {**os.environ, **hub_settings.environ}
    callers = [
        subprocess.Popen(
            [sys.executable, "-c", CALLER, str(connected)],
            env=env,
            text=True,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for _ in range(2)
    ]
    for caller in callers:
        caller.stdin.write("go\n")
        caller.stdin.flush()
    for caller in callers:
        out, err = caller.communicate(timeout=60)
        assert caller.returncode == 0, err
        assert out.strip() == "done"
    assert grants(emulator, "refresh_token") - before == 1
