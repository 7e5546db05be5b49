"""The webhook inbox writer: verified deliveries stored with group commit.

Providers want an answer within seconds and send bursts. Each request hands its
delivery to the writer and waits; the writer stores everything that arrived
meanwhile in one transaction (with one job to process them) and only then lets
the requests answer 200. A delivery is never acknowledged before it is durable,
and a burst costs one commit instead of one per request.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections.abc import Sequence
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlmodel import Session, col, select

from hub.db import Database, utcnow
from hub.jobs import enqueue
from hub.models import Job, JobState, WebhookDelivery
from hub.types import ChangeEvent

log = logging.getLogger(__name__)

MAX_GROUP = 500
PROCESS_KIND = "process_inbox"


@dataclass
class _Pending:
    integration: str
    body: bytes
    events: list[dict[str, str]]
    done: asyncio.Future[None] = field(repr=False)


def event_to_json(event: ChangeEvent) -> dict[str, str]:
    """A change event as stored in the inbox."""
    return {
        "external_account_id": event.external_account_id,
        "entity": event.entity,
        "entity_id": event.entity_id,
        "operation": event.operation,
        "occurred_at": event.occurred_at.isoformat(),
        "dedupe_key": event.dedupe_key,
    }


def ensure_processing_job(session: Session) -> None:
    """Queue the inbox processor unless one is already waiting to run."""
    waiting = session.exec(
        select(Job.id).where(Job.kind == PROCESS_KIND, Job.state == JobState.queued.value)
    ).first()
    if waiting is None:
        enqueue(session, PROCESS_KIND, {}, priority=10)


class InboxWriter:
    """Collects deliveries from concurrent requests and stores them together."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._queues: weakref.WeakKeyDictionary[
            asyncio.AbstractEventLoop, asyncio.Queue[_Pending]
        ] = weakref.WeakKeyDictionary()
        self._tasks: set[asyncio.Task[None]] = set()

    async def store(
        self, integration: str, body: bytes, events: Sequence[ChangeEvent]
    ) -> None:
        """Store one verified delivery; returns once it is committed."""
        loop = asyncio.get_running_loop()
        queue = self._queues.get(loop)
        if queue is None:
            queue = self._queues[loop] = asyncio.Queue()
            task = loop.create_task(self._drain(queue), name="hub-inbox-writer")
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        pending = _Pending(integration, body, [event_to_json(e) for e in events],
                           loop.create_future())
        queue.put_nowait(pending)
        await pending.done

    async def _drain(self, queue: asyncio.Queue[_Pending]) -> None:
        while True:
            group = [await queue.get()]
            while len(group) < MAX_GROUP and not queue.empty():
                group.append(queue.get_nowait())
            try:
                await asyncio.to_thread(self._write, group)
            except Exception as err:
                log.exception("storing %s webhook deliveries failed", len(group))
                for item in group:
                    if not item.done.done():
                        item.done.set_exception(err)
            else:
                for item in group:
                    if not item.done.done():
                        item.done.set_result(None)

    def _write(self, group: list[_Pending]) -> None:
        now = utcnow()
        with self.db.session() as session:
            session.execute(
                sa.insert(WebhookDelivery),
                [
                    {
                        "integration": item.integration,
                        "state": "received" if item.events else "processed",
                        "received_at": now,
                        "processed_at": None if item.events else now,
                        "events": item.events,
                        "event_count": len(item.events),
                        "new_event_count": 0,
                        "unroutable_count": 0,
                        "body": item.body,
                    }
                    for item in group
                ],
            )
            if any(item.events for item in group):
                ensure_processing_job(session)


def claim_received(db: Database, session: Session, limit: int) -> list[WebhookDelivery]:
    """The oldest unprocessed deliveries (locked on PostgreSQL, skipping others' rows)."""
    statement = (
        select(WebhookDelivery)
        .where(WebhookDelivery.state == "received")
        .order_by(col(WebhookDelivery.id))
        .limit(limit)
    )
    if not db.is_sqlite:
        statement = statement.with_for_update(skip_locked=True)
    return list(session.exec(statement).all())
