"""Periodic work, scheduled through the job queue at most once per period."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlmodel import Session, select

from hub.db import utcnow
from hub.jobs import enqueue, schedule_once
from hub.models import Connection, ConnectionStatus

if TYPE_CHECKING:
    from hub.services import Services

log = logging.getLogger(__name__)

TICK_SECONDS = 30.0


@dataclass(frozen=True)
class Periodic:
    """A task that runs once per ``period`` (a whole number of seconds)."""

    name: str
    period: dt.timedelta
    schedule: Callable[[Services, Session], int]

    def period_key(self, now: dt.datetime) -> str:
        """Names the current period; equal for every worker within it."""
        return str(int(now.timestamp() // self.period.total_seconds()))


def _live_connections(session: Session) -> list[Connection]:
    return list(
        session.exec(
            select(Connection).where(Connection.status == ConnectionStatus.connected.value)
        ).all()
    )


def schedule_keepalive(services: Services, session: Session) -> int:
    """Refresh every connection's tokens: refresh tokens die when left unused."""
    count = 0
    for connection in _live_connections(session):
        if enqueue(
            session,
            "refresh_tokens",
            {"connection_id": connection.id},
            connection_id=connection.id,
            unique_key=f"refresh_tokens:{connection.id}",
        ):
            count += 1
    return count


def schedule_reconcile(services: Services, session: Session) -> int:
    """Pull changes the webhooks may have missed, for every connection that can."""
    count = 0
    for connection in _live_connections(session):
        if not services.plugins.has_hook(connection.integration, "pull_changes"):
            continue
        if enqueue(
            session,
            "reconcile",
            {"connection_id": connection.id},
            connection_id=connection.id,
            unique_key=f"reconcile:{connection.id}",
        ):
            count += 1
    return count


def schedule_prune(services: Services, session: Session) -> int:
    """Drop rate-limit bookkeeping too old to matter."""
    return 1 if enqueue(session, "prune", {}, unique_key="prune") else 0


TASKS = (
    Periodic("token_keepalive", dt.timedelta(hours=6), schedule_keepalive),
    Periodic("reconcile", dt.timedelta(minutes=15), schedule_reconcile),
    Periodic("prune", dt.timedelta(minutes=10), schedule_prune),
)


def run_due(services: Services, now: dt.datetime | None = None) -> dict[str, int]:
    """Schedule every task whose period has not been scheduled yet."""
    now = now or utcnow()
    scheduled: dict[str, int] = {}
    for task in TASKS:
        with services.db.session() as session:
            if schedule_once(session, task.name, task.period_key(now)):
                scheduled[task.name] = task.schedule(services, session)
    return scheduled


async def scheduler_loop(services: Services, stopping: asyncio.Event) -> None:
    """Check for due periodic tasks every few seconds until ``stopping`` is set."""
    while not stopping.is_set():
        try:
            scheduled = await asyncio.to_thread(run_due, services)
            if scheduled:
                log.info("scheduled periodic work: %s", scheduled)
        except Exception:
            log.exception("scheduling periodic work failed")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stopping.wait(), timeout=TICK_SECONDS)
