"""Per-account request limits shared by every process (the provider's limits, kept).

Each request to a provider takes a *slot* for its external account. Slots are rows
in ``ratelimitslot``, so every web and worker process on the database sees the same
counts: at most ``max_concurrent`` open slots, ``per_second`` starts in the last
second, ``per_minute`` in the last minute, and each :class:`~hub.types.PathLimit`
per minute for matching paths. Taking a slot is serialised per account (PostgreSQL
advisory lock; SQLite's write lock), and a slot abandoned by a killed process
frees itself when its lease expires (twice the job lease, ``HUB_JOB_LEASE_SECONDS``,
so longer than any provider request may take).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import re
import weakref
import zlib
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache

import sqlalchemy as sa
from sqlmodel import Session, func, select

from hub.db import Database, utcnow
from hub.models import RateLimitSlot
from hub.types import RateLimits

#: Counting windows are a little wider than the provider's, so the time between
#: taking a slot and the request reaching the provider, which varies on a busy
#: machine, never pushes a request over the provider's own count.
SECOND = dt.timedelta(seconds=1.1)
MINUTE = dt.timedelta(seconds=61)
POLL = 0.02
#: A request that leaves this much after its slot was granted has its start moved.
RESTAMP_AFTER = dt.timedelta(milliseconds=10)


@lru_cache(maxsize=64)
def _compiled(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


def account_key(integration: str, external_account_id: str | None) -> str:
    """The key an external account's requests are counted under."""
    return f"{integration}:{external_account_id}"


@dataclass(frozen=True)
class Unlimited:
    """A request sent before its account was known (an OAuth callback's)."""

    started_at: dt.datetime
    path: str


def _bucket(path: str, limits: RateLimits) -> str:
    """The path limit a request to ``path`` also counts against ("" for none)."""
    return next((p.pattern for p in limits.paths if _compiled(p.pattern).search(path)), "")


class AccountLimiter:
    """Hands out request slots per external account, within its ``RateLimits``."""

    def __init__(
        self,
        db: Database,
        clock: Callable[[], dt.datetime] = utcnow,
        *,
        slot_lease: dt.timedelta = dt.timedelta(seconds=120),
    ) -> None:
        self.db = db
        self.clock = clock
        self.slot_lease = slot_lease
        self._local: weakref.WeakKeyDictionary[
            asyncio.AbstractEventLoop, dict[str, asyncio.Semaphore]
        ] = weakref.WeakKeyDictionary()

    def _semaphore(self, account_key: str, limits: RateLimits) -> asyncio.Semaphore:
        # A first, in-process gate so one process does not poll the database with
        # more waiters than the account could ever serve at once.
        loop = asyncio.get_running_loop()
        per_loop = self._local.setdefault(loop, {})
        sem = per_loop.get(account_key)
        if sem is None:
            sem = per_loop[account_key] = asyncio.Semaphore(limits.max_concurrent)
        return sem

    @contextlib.asynccontextmanager
    async def slot(self, account_key: str, path: str, limits: RateLimits) -> AsyncIterator[None]:
        """Wait for a slot for one request, hold it while the request runs."""
        bucket = _bucket(path, limits)
        async with self._semaphore(account_key, limits):
            slot_id, granted_at = await self._acquire(account_key, bucket, limits)
            # The request leaves now. On a busy process, "now" can be well after the
            # slot was granted; the provider counts the request when it arrives, so
            # the slot's start moves to now, at once, before other processes count on
            # the earlier time (and again, for good, when the slot is released).
            sent_at = self.clock()
            restamp = None
            if sent_at - granted_at > RESTAMP_AFTER:
                restamp = asyncio.create_task(asyncio.to_thread(self._restamp, slot_id, sent_at))
            try:
                yield
            finally:
                if restamp is not None:
                    await asyncio.shield(restamp)
                await asyncio.shield(self._release(slot_id, sent_at))

    async def _acquire(
        self, account_key: str, bucket: str, limits: RateLimits
    ) -> tuple[int, dt.datetime]:
        while True:
            slot_id, wait, now = await asyncio.to_thread(self._try, account_key, bucket, limits)
            if slot_id is not None:
                return slot_id, now
            await asyncio.sleep(max(POLL, min(wait, 1.0)))

    def _try(
        self, account_key: str, bucket: str, limits: RateLimits
    ) -> tuple[int | None, float, dt.datetime]:
        """Take a slot if the limits allow: (slot id, 0, now) or (None, seconds to wait, now)."""
        with self.db.session() as session:
            if self.db.is_sqlite:
                session.connection()  # begins the transaction: takes the write lock
            else:
                # Slots matter for a minute at most: waiting for their commit to
                # reach the disk would only delay the request the slot is for.
                session.execute(sa.text("SET LOCAL synchronous_commit TO OFF"))
                session.execute(
                    sa.text("SELECT pg_advisory_xact_lock(:k)"),
                    {"k": zlib.crc32(account_key.encode())},
                )
            # Read the clock once the account is ours: time spent waiting for the
            # lock must not count as time the request was already under way.
            now = self.clock()
            wait = self._wait_needed(session, account_key, bucket, limits, now)
            if wait > 0:
                return None, wait, now
            slot = RateLimitSlot(
                account_key=account_key,
                bucket=bucket,
                started_at=now,
                lease_expires_at=now + self.slot_lease,
            )
            session.add(slot)
            session.flush()
            assert slot.id is not None
            return slot.id, 0.0, now

    def _wait_needed(
        self, session: Session, key: str, bucket: str, limits: RateLimits, now: dt.datetime
    ) -> float:
        rows = RateLimitSlot
        open_count = session.exec(
            select(func.count()).where(
                rows.account_key == key,
                rows.finished_at.is_(None),  # type: ignore[union-attr]
                rows.lease_expires_at > now,
            )
        ).one()
        if open_count >= limits.max_concurrent:
            return POLL
        checks: list[tuple[dt.timedelta, int, str | None]] = [(MINUTE, limits.per_minute, None)]
        if limits.per_second:
            checks.append((SECOND, limits.per_second, None))
            # Spread over the second rather than sent in bursts: a burst arrives
            # unevenly (some of it late), and a late request counts in the
            # provider's next second.
            checks.append((dt.timedelta(seconds=1) / limits.per_second, 1, None))
        for path_limit in limits.paths:
            if path_limit.pattern == bucket:
                checks.append((MINUTE, path_limit.per_minute, bucket))
        wait = 0.0
        for window, allowed, only_bucket in checks:
            query = select(rows.started_at).where(
                rows.account_key == key, rows.started_at > now - window
            )
            if only_bucket is not None:
                query = query.where(rows.bucket == only_bucket)
            count = session.exec(select(func.count()).select_from(query.subquery())).one()
            if count >= allowed:
                # The window frees up when its oldest counted start leaves it.
                oldest = session.exec(
                    query.order_by(rows.started_at.desc())  # type: ignore[attr-defined]
                    .offset(allowed - 1)
                    .limit(1)
                ).first()
                if oldest is not None:
                    wait = max(wait, (oldest + window - now).total_seconds())
                else:
                    wait = max(wait, POLL)
        return wait

    async def count_past(
        self, account_key: str, requests: Sequence[Unlimited], limits: RateLimits
    ) -> None:
        """Count requests already sent for ``account_key`` against its windows."""
        if not requests:
            return

        def count() -> None:
            with self.db.session() as session:
                for request in requests:
                    session.add(
                        RateLimitSlot(
                            account_key=account_key,
                            bucket=_bucket(request.path, limits),
                            started_at=request.started_at,
                            finished_at=request.started_at,
                            lease_expires_at=request.started_at,
                        )
                    )

        await asyncio.to_thread(count)

    def _restamp(self, slot_id: int, sent_at: dt.datetime) -> None:
        with self.db.session() as session:
            session.execute(
                sa.update(RateLimitSlot)
                .where(RateLimitSlot.id == slot_id)  # type: ignore[arg-type]
                .values(started_at=sent_at)
            )

    async def _release(self, slot_id: int, sent_at: dt.datetime) -> None:
        def release() -> None:
            with self.db.session() as session:
                session.execute(
                    sa.update(RateLimitSlot)
                    .where(RateLimitSlot.id == slot_id)  # type: ignore[arg-type]
                    .values(started_at=sent_at, finished_at=self.clock())
                )

        await asyncio.to_thread(release)

    def prune(self, older_than: dt.timedelta = dt.timedelta(minutes=5)) -> int:
        """Delete slots too old to count for any window; return how many."""
        with self.db.session() as session:
            result = session.execute(
                sa.delete(RateLimitSlot).where(
                    RateLimitSlot.started_at < self.clock() - older_than  # type: ignore[arg-type]
                )
            )
            return int(getattr(result, "rowcount", 0) or 0)
