"""What a hook acting for one connection is given: the connection, its links, mapping
and token, and an HTTP client held to the account's limits."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

from sqlmodel import Session, col, select

from hub.errors import Transient
from hub.jobs import Park
from hub.models import Connection, ConnectionMapping, ConnectionStatus, SyncLink
from hub.ratelimit import account_key
from hub.types import ConnectionContext, RemoteRef

if TYPE_CHECKING:
    from hub.services import Services

INVOICE = "invoice"


def load_connection(services: Services, connection_id: int) -> Connection:
    """The connection a job acts for; parks the job when it is not usable."""
    with services.db.read_session() as session:
        connection = session.get(Connection, connection_id)
    if connection is None or connection.status == ConnectionStatus.disconnected.value:
        raise Park("the connection was disconnected")
    if connection.status != ConnectionStatus.connected.value:
        raise Park(connection.last_error or "the connection needs reconnecting")
    if connection.integration not in services.plugins:
        raise Transient(f"the {connection.integration} plugin is not loaded in this process")
    return connection


def known_links(session: Session, connection_id: int) -> dict[tuple[str, str], RemoteRef]:
    """Every non-invoice link of a connection (customers, items ...)."""
    rows = session.exec(
        select(SyncLink).where(
            SyncLink.connection_id == connection_id,
            SyncLink.kind != INVOICE,
            col(SyncLink.remote_id).is_not(None),
        )
    ).all()
    return {(r.kind, r.local_key): RemoteRef(r.remote_id or "", r.remote_version) for r in rows}


@contextlib.asynccontextmanager
async def connection_context(
    services: Services,
    connection: Connection,
    links: dict[tuple[str, str], RemoteRef] | None = None,
) -> AsyncIterator[ConnectionContext]:
    """A context for hooks acting for ``connection``, with a limited HTTP client."""
    integration = services.plugins.get(connection.integration)
    assert integration is not None and connection.id is not None
    connection_id = connection.id
    mapping = await services.db.read(lambda session: session.get(ConnectionMapping, connection_id))
    handed: dict[str, str | None] = {"token": None}

    async def access_token(*, force_refresh: bool = False) -> str:
        stale = handed["token"] if force_refresh else None
        token = await services.vault.access_token(connection_id, stale=stale)
        handed["token"] = token
        return token

    async with services.http.client(
        connection.integration,
        account_key=account_key(connection.integration, connection.external_account_id),
        limits=integration.info.rate_limits,
    ) as http:
        yield ConnectionContext(
            config=integration.config,
            info=integration.info,
            connection_id=connection_id,
            external_account_id=connection.external_account_id or "",
            environment="production" if connection.environment == "production" else "sandbox",
            access_token=access_token,
            http=http,
            links=links or {},
            mapping=dict(mapping.values) if mapping else {},
            account_facts=dict(mapping.facts) if mapping else {},
        )
