"""The token vault: encryption at rest, refresh, single flight, lost access, key rotation."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest
import sqlalchemy as sa
from cryptography.fernet import Fernet

from hub.errors import AuthRevoked, StartupError
from hub.jobs import enqueue
from hub.models import Activity, Connection, Job
from hub.types import TokenSet
from hub.vault import TokenCipher, Vault
from tests.fakeplugin import TOKEN_URL


def make_connection(services, org_id, *, expires_in: float = 3600) -> int:
    now = dt.datetime.now(dt.UTC)
    with services.db.session() as session:
        connection = Connection(
            organization_id=org_id,
            integration="fakeledger",
            status="connected",
            external_account_id="acct-1",
            external_account_name="Fake Co",
            environment="sandbox",
            connected_at=now,
        )
        services.vault.store(
            connection,
            TokenSet("AT-old", "RT-old", now + dt.timedelta(seconds=expires_in)),
        )
        session.add(connection)
        session.flush()
        return connection.id


def refreshed(httpx_mock, access="AT-new", refresh="RT-new", **extra):
    httpx_mock.add_response(
        url=TOKEN_URL,
        method="POST",
        json={
            "access_token": access,
            "refresh_token": refresh,
            "expires_in": 3600,
            "token_type": "bearer",
            **extra,
        },
    )


@pytest.mark.anyio
async def test_fresh_token_is_returned_without_refresh(hub_services, hub_org, httpx_mock):
    cid = make_connection(hub_services, hub_org["id"])
    assert await hub_services.vault.access_token(cid) == "AT-old"
    assert httpx_mock.get_requests() == []


@pytest.mark.anyio
async def test_token_near_expiry_is_refreshed_and_rotation_kept(hub_services, hub_org, httpx_mock):
    cid = make_connection(hub_services, hub_org["id"], expires_in=60)
    refreshed(httpx_mock, refresh_token_expires_in=8726400)
    assert await hub_services.vault.access_token(cid) == "AT-new"
    request = httpx_mock.get_requests(url=TOKEN_URL)[0]
    assert b"grant_type=refresh_token" in request.content
    assert b"refresh_token=RT-old" in request.content
    with hub_services.db.session() as session:
        row = session.get(Connection, cid)
        tokens = hub_services.vault.tokens(row)
        assert tokens.refresh_token == "RT-new"
        assert row.last_refresh_at is not None
        assert row.refresh_expires_at > dt.datetime.now(dt.UTC) + dt.timedelta(days=99)


@pytest.mark.anyio
async def test_concurrent_callers_share_one_refresh(hub_services, hub_org, httpx_mock):
    cid = make_connection(hub_services, hub_org["id"], expires_in=-5)
    refreshed(httpx_mock)
    tokens = await asyncio.gather(*(hub_services.vault.access_token(cid) for _ in range(20)))
    assert set(tokens) == {"AT-new"}
    assert len(httpx_mock.get_requests(url=TOKEN_URL)) == 1


@pytest.mark.anyio
async def test_refused_token_refreshes_once_for_all_holders(hub_services, hub_org, httpx_mock):
    cid = make_connection(hub_services, hub_org["id"])
    refreshed(httpx_mock)
    # Two callers both got 401 with AT-old: only the first refreshes.
    first, second = await asyncio.gather(
        hub_services.vault.access_token(cid, stale="AT-old"),
        hub_services.vault.access_token(cid, stale="AT-old"),
    )
    assert first == second == "AT-new"
    assert len(httpx_mock.get_requests(url=TOKEN_URL)) == 1


@pytest.mark.anyio
async def test_invalid_grant_needs_reconnect_and_parks_jobs(hub_services, hub_org, httpx_mock):
    cid = make_connection(hub_services, hub_org["id"], expires_in=-5)
    with hub_services.db.session() as session:
        enqueue(session, "push_batch", {"batch_id": 1, "connection_id": cid}, connection_id=cid)
    httpx_mock.add_response(
        url=TOKEN_URL,
        method="POST",
        status_code=400,
        json={"error": "invalid_grant", "error_description": "Incorrect or invalid refresh token"},
    )
    with pytest.raises(AuthRevoked):
        await hub_services.vault.access_token(cid)
    with hub_services.db.session() as session:
        row = session.get(Connection, cid)
        assert row.status == "needs_reconnect"
        assert "reconnect" in row.last_error.lower()
        assert session.exec(sa.select(Job.state)).scalar_one() == "parked"
        assert "reconnect_needed" in session.exec(sa.select(Activity.kind)).scalars().all()
    # Later callers fail fast without asking the provider again.
    with pytest.raises(AuthRevoked):
        await hub_services.vault.access_token(cid)
    assert len(httpx_mock.get_requests(url=TOKEN_URL)) == 1


def test_tokens_are_encrypted_at_rest(hub_services, hub_org):
    cid = make_connection(hub_services, hub_org["id"])
    with hub_services.db.engine.connect() as raw:
        row = raw.execute(
            sa.text("SELECT access_token_enc, refresh_token_enc FROM connection WHERE id = :i"),
            {"i": cid},
        ).one()
    assert "AT-old" not in row[0] and "RT-old" not in row[1]


def test_key_rotation_reencrypts_under_newest_key(hub_services, hub_org, hub_settings):
    cid = make_connection(hub_services, hub_org["id"])
    old_key = hub_settings.encryption_keys[0]
    new_key = Fernet.generate_key().decode()
    rotated = Vault(hub_services.db, TokenCipher([new_key, old_key]), hub_services.plugins)
    with hub_services.db.session() as session:
        assert rotated.rotate_keys(session) == 1
    only_new = Vault(hub_services.db, TokenCipher([new_key]), hub_services.plugins)
    with hub_services.db.session() as session:
        row = session.get(Connection, cid)
        assert only_new.tokens(row).access_token == "AT-old"
        with pytest.raises(StartupError):
            hub_services.vault.tokens(row)  # the old key alone no longer reads it


def test_bad_encryption_key_is_a_clear_startup_error():
    with pytest.raises(StartupError, match="not a Fernet key"):
        TokenCipher(["not-a-key"])


def test_token_set_never_prints_tokens():
    tokens = TokenSet("AT-visible?", "RT-visible?", None)
    assert "visible" not in repr(tokens) and "visible" not in str(tokens)
