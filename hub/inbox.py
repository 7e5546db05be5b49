"""The webhook inbox: verified deliveries and their events, stored with group commit.

Providers want an answer within seconds and send bursts. Each request hands its
verified delivery to the writer and waits; the writer stores everything that
arrived meanwhile in one transaction: the deliveries, each event once (by its
dedupe key, so repeats and reorders cost nothing), routed by external account to
its connection (or marked unroutable), and one ``apply_events`` job per connection
touched. Only then do the requests answer 200: a delivery is never acknowledged
before it is durable, and a burst costs one commit instead of one per request.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, col, select

from hub.db import Database, utcnow
from hub.jobs import enqueue
from hub.models import Connection, ConnectionStatus, Job, JobState, WebhookDelivery, WebhookEvent
from hub.types import ChangeEvent

log = logging.getLogger(__name__)

MAX_GROUP = 500
_INSERT_CHUNK = 500


@dataclass
class _Pending:
    integration: str
    body: bytes
    events: Sequence[ChangeEvent]
    done: asyncio.Future[None] = field(repr=False)


@dataclass(frozen=True)
class Stored:
    """What storing a set of events did."""

    #: New events per connection id.
    per_connection: dict[int, int]
    #: New events for accounts no organization has connected.
    unroutable: int


def coalesced_enqueue(session: Session, kind: str, connection_id: int) -> None:
    """Queue a per-connection job unless one is already waiting to run."""
    waiting = session.exec(
        select(Job.id).where(
            Job.kind == kind,
            Job.connection_id == connection_id,
            col(Job.state).in_([JobState.queued.value, JobState.parked.value]),
        )
    ).first()
    if waiting is None:
        enqueue(session, kind, {"connection_id": connection_id}, connection_id=connection_id)


def _routes(session: Session, integration: str, accounts: set[str]) -> dict[str, int]:
    """Live connections holding these external accounts, in one query."""
    rows = session.exec(
        select(Connection.external_account_id, Connection.id).where(
            Connection.integration == integration,
            col(Connection.external_account_id).in_(accounts),
            Connection.status != ConnectionStatus.disconnected.value,
        )
    ).all()
    return {account: cid for account, cid in rows if account and cid}


def _insert_ignoring_duplicates(session: Session, rows: list[dict[str, Any]]) -> list[Any]:
    """Insert event rows; a row whose dedupe key exists already is skipped, not an error."""
    insert = sqlite_insert if session.get_bind().dialect.name == "sqlite" else postgresql_insert
    statement = (
        insert(WebhookEvent)
        .on_conflict_do_nothing(index_elements=["integration", "dedupe_key"])
        .returning(col(WebhookEvent.connection_id))
    )
    returned: list[Any] = []
    for offset in range(0, len(rows), _INSERT_CHUNK):
        returned.extend(session.execute(statement, rows[offset : offset + _INSERT_CHUNK]).all())
    return returned


def store_events(
    session: Session,
    integration: str,
    events: Sequence[tuple[ChangeEvent, int | None]],
    *,
    source: str,
    connection: Connection | None = None,
) -> Stored:
    """Store (event, delivery id) pairs not seen before, routed to their connections.

    Routing is by external account id unless ``connection`` is given. Events whose
    dedupe key is already stored (a repeated or reordered delivery, or a change that
    reconciliation found first) are skipped; so are repeats within ``events``.
    """
    if connection is not None:
        routes = {e.external_account_id: connection.id or 0 for e, _ in events}
    else:
        routes = _routes(session, integration, {e.external_account_id for e, _ in events})
    rows: list[dict[str, Any]] = []
    seen: set[str] = set()
    now = utcnow()
    for event, delivery_id in events:
        if event.dedupe_key in seen:
            continue
        seen.add(event.dedupe_key)
        target = routes.get(event.external_account_id)
        rows.append(
            {
                "delivery_id": delivery_id,
                "integration": integration,
                "connection_id": target,
                "external_account_id": event.external_account_id,
                "entity": event.entity,
                "entity_id": event.entity_id,
                "operation": event.operation,
                "occurred_at": event.occurred_at,
                "dedupe_key": event.dedupe_key,
                "source": source,
                "state": "pending" if target else "unroutable",
                "error": None,
                "created_at": now,
                "processed_at": None,
            }
        )
    per_connection: dict[int, int] = {}
    unroutable = 0
    for (connection_id,) in _insert_ignoring_duplicates(session, rows) if rows else []:
        if connection_id is None:
            unroutable += 1
        else:
            per_connection[connection_id] = per_connection.get(connection_id, 0) + 1
    if unroutable:
        log.info("%s new %s event(s) for accounts no organization has connected",
                 unroutable, integration)
    return Stored(per_connection, unroutable)


class InboxWriter:
    """Collects deliveries from concurrent requests and stores them together."""

    def __init__(self, db: Database) -> None:
        self.db = db
        #: Called (in the event loop) after a group queued work, e.g. to wake a worker.
        self.on_work_queued: Callable[[], None] | None = None
        self._queues: weakref.WeakKeyDictionary[
            asyncio.AbstractEventLoop, asyncio.Queue[_Pending]
        ] = weakref.WeakKeyDictionary()
        self._tasks: set[asyncio.Task[None]] = set()

    async def store(self, integration: str, body: bytes, events: Sequence[ChangeEvent]) -> None:
        """Store one verified delivery; returns once it is committed."""
        loop = asyncio.get_running_loop()
        queue = self._queues.get(loop)
        if queue is None:
            queue = self._queues[loop] = asyncio.Queue()
            task = loop.create_task(self._drain(queue), name="hub-inbox-writer")
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        pending = _Pending(integration, body, events, loop.create_future())
        queue.put_nowait(pending)
        await pending.done

    async def _drain(self, queue: asyncio.Queue[_Pending]) -> None:
        while True:
            group = [await queue.get()]
            while len(group) < MAX_GROUP and not queue.empty():
                group.append(queue.get_nowait())
            try:
                queued = await asyncio.to_thread(self._write, group)
            except Exception as err:
                log.exception("storing %s webhook deliveries failed", len(group))
                for item in group:
                    if not item.done.done():
                        item.done.set_exception(err)
            else:
                for item in group:
                    if not item.done.done():
                        item.done.set_result(None)
                if queued and self.on_work_queued is not None:
                    self.on_work_queued()

    def _write(self, group: list[_Pending]) -> bool:
        """Store a group in one transaction; return whether it queued any job."""
        now = utcnow()
        queued = False
        with self.db.session() as session:
            ids = session.execute(
                sa.insert(WebhookDelivery).returning(
                    col(WebhookDelivery.id), sort_by_parameter_order=True
                ),
                [
                    {
                        "integration": item.integration,
                        "state": "processed",
                        "received_at": now,
                        "processed_at": now,
                        "event_count": len(item.events),
                        "body": item.body,
                    }
                    for item in group
                ],
            ).scalars().all()
            by_integration: dict[str, list[tuple[ChangeEvent, int | None]]] = {}
            for item, delivery_id in zip(group, ids, strict=True):
                by_integration.setdefault(item.integration, []).extend(
                    (event, delivery_id) for event in item.events
                )
            for integration, events in by_integration.items():
                stored = store_events(session, integration, events, source="webhook")
                for connection_id in stored.per_connection:
                    coalesced_enqueue(session, "apply_events", connection_id)
                    queued = True
        return queued
