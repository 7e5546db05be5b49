"""A connection's life: connect, lose access, reconnect, disconnect; and its history."""

from __future__ import annotations

import logging

import sqlalchemy as sa
from sqlmodel import Session, select

from hub.db import utcnow
from hub.errors import Rejected
from hub.models import (
    Activity,
    Connection,
    ConnectionMapping,
    ConnectionStatus,
    Job,
    JobState,
    SyncLink,
)
from hub.types import ConnectedAccount

log = logging.getLogger(__name__)


def record_activity(
    session: Session,
    connection: Connection,
    kind: str,
    message: str,
    *,
    level: str = "info",
    support_reference: str | None = None,
) -> None:
    """Add an entry to the connection's history."""
    assert connection.id is not None
    session.add(
        Activity(
            organization_id=connection.organization_id,
            connection_id=connection.id,
            integration=connection.integration,
            kind=kind,
            level=level,
            message=message,
            support_reference=support_reference,
        )
    )


def find_connection(session: Session, organization_id: int, slug: str) -> Connection | None:
    """The organization's connection to an integration (in any state), or None."""
    return session.exec(
        select(Connection).where(
            Connection.organization_id == organization_id, Connection.integration == slug
        )
    ).first()


def live_connection(session: Session, organization_id: int, slug: str) -> Connection | None:
    """The connection unless it is disconnected."""
    connection = find_connection(session, organization_id, slug)
    if connection is None or connection.status == ConnectionStatus.disconnected.value:
        return None
    return connection


def connection_for_account(session: Session, slug: str, account_id: str) -> Connection | None:
    """The live connection holding an external account (how webhooks find a tenant)."""
    return session.exec(
        select(Connection).where(
            Connection.integration == slug,
            Connection.external_account_id == account_id,
            Connection.status != ConnectionStatus.disconnected.value,
        )
    ).first()


def mark_needs_reconnect(
    session: Session, connection: Connection, reason: str, *, support_reference: str | None = None
) -> None:
    """Access ended: park the connection's work and tell the user to reconnect."""
    if connection.status == ConnectionStatus.needs_reconnect.value:
        return
    now = utcnow()
    connection.status = ConnectionStatus.needs_reconnect.value
    connection.last_error = reason
    connection.last_error_at = now
    connection.support_reference = support_reference
    connection.updated_at = now
    session.add(connection)
    parked = park_jobs(session, connection)
    record_activity(
        session,
        connection,
        "reconnect_needed",
        f"Reconnect needed: {reason}"
        + (f" {parked} pending task(s) are on hold until then." if parked else ""),
        level="error",
        support_reference=support_reference,
    )
    log.warning("connection %s needs reconnect: %s", connection.id, reason)


def park_jobs(session: Session, connection: Connection) -> int:
    """Put the connection's queued jobs on hold; they resume after a reconnect."""
    result = session.execute(
        sa.update(Job)
        .where(Job.connection_id == connection.id, Job.state == JobState.queued.value)  # type: ignore[arg-type]
        .values(state=JobState.parked.value, updated_at=utcnow())
    )
    return int(getattr(result, "rowcount", 0) or 0)


def resume_jobs(session: Session, connection: Connection) -> int:
    """Release the connection's parked jobs to run now."""
    now = utcnow()
    result = session.execute(
        sa.update(Job)
        .where(Job.connection_id == connection.id, Job.state == JobState.parked.value)  # type: ignore[arg-type]
        .values(state=JobState.queued.value, run_at=now, updated_at=now)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def check_can_connect(
    session: Session, organization_id: int, slug: str, account: ConnectedAccount, name: str
) -> Connection | None:
    """Refuse a connection that would mix companies; return the existing row if any."""
    existing = find_connection(session, organization_id, slug)
    if (
        existing is not None
        and existing.status != ConnectionStatus.disconnected.value
        and existing.external_account_id != account.external_account_id
    ):
        raise Rejected(
            f"This organization is connected to {existing.external_account_name!r} in {name}, "
            f"but you signed in to {account.display_name!r}. To switch companies, "
            "disconnect first, then connect again.",
            code="different_account",
        )
    holder = connection_for_account(session, slug, account.external_account_id)
    if holder is not None and holder.organization_id != organization_id:
        raise Rejected(
            f"{account.display_name!r} is already connected to another Coordinoter "
            f"organization. A {name} company can be connected to one organization only.",
            code="account_taken",
        )
    return existing


def forget_account(session: Session, connection: Connection) -> None:
    """Drop what a connection learnt about its previous account: links and mapping.

    Invoice links stay: they record what was pushed to that account.
    """
    session.execute(
        sa.delete(SyncLink).where(
            SyncLink.connection_id == connection.id,  # type: ignore[arg-type]
            SyncLink.kind != "invoice",  # type: ignore[arg-type]
        )
    )
    mapping = session.get(ConnectionMapping, connection.id)
    if mapping is not None:
        session.delete(mapping)
