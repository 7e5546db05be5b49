"""The durable job queue and the worker loop.

Jobs live in the hub's own database and are written in the same transaction as the
change that needs them. Workers claim jobs with a lease (``FOR UPDATE SKIP LOCKED``
on PostgreSQL; SQLite's write lock serialises claims), renew the lease while they
work, and a job whose worker died is claimed again when its lease runs out.
Failures are retried with exponential backoff and jitter, honouring a provider's
retry delay; after the last attempt a job is ``dead`` until retried by hand.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import datetime as dt
import logging
import os
import random
import socket
import traceback
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from hub import metrics
from hub.db import utcnow
from hub.errors import AuthRevoked, Conflict, RateLimited, Rejected, Transient
from hub.models import Connection, ConnectionStatus, Job, JobState, PeriodicRun

if TYPE_CHECKING:
    from hub.services import Services

log = logging.getLogger(__name__)

BACKOFF_BASE = 2.0
BACKOFF_CAP = 3600.0

Handler = Callable[["Services", Job], Awaitable[None]]
HANDLERS: dict[str, Handler] = {}


def handler(kind: str) -> Callable[[Handler], Handler]:
    """Register the coroutine that runs jobs of ``kind``."""

    def register(fn: Handler) -> Handler:
        HANDLERS[kind] = fn
        return fn

    return register


class Park(Exception):
    """Raised by a handler: put the job on hold (its connection needs reconnecting)."""


# --- enqueueing -----------------------------------------------------------------------


def enqueue(
    session: Session,
    kind: str,
    payload: dict[str, Any],
    *,
    connection_id: int | None = None,
    unique_key: str | None = None,
    run_at: dt.datetime | None = None,
    priority: int = 0,
    max_attempts: int = 12,
) -> Job | None:
    """Add a job in the caller's transaction; None when ``unique_key`` is already live.

    When the live job with that key is running, it is marked to run once more after
    it finishes, so a change made while it runs is never missed. A job for a
    connection that needs reconnecting is created parked.
    """
    if unique_key is not None:
        live = session.exec(
            select(Job).where(
                Job.unique_key == unique_key,
                col(Job.state).in_(
                    [JobState.queued.value, JobState.running.value, JobState.parked.value]
                ),
            )
        ).first()
        if live is not None:
            if live.state == JobState.running.value and not live.rerun:
                # It may have read its data before this change: run it once more after.
                live.rerun = True
                session.add(live)
            return None
    state = JobState.queued.value
    if connection_id is not None:
        connection = session.get(Connection, connection_id)
        if connection is not None and connection.status != ConnectionStatus.connected.value:
            state = JobState.parked.value
    job = Job(
        kind=kind,
        payload=payload,
        connection_id=connection_id,
        unique_key=unique_key,
        run_at=run_at or utcnow(),
        priority=priority,
        state=state,
        max_attempts=max_attempts,
    )
    if unique_key is None:
        session.add(job)
        session.flush()
        return job
    # Two processes may race past the check above; the partial unique index decides.
    try:
        with session.begin_nested():
            session.add(job)
            session.flush()
    except IntegrityError:
        return None
    return job


def backoff_seconds(attempts: int, *, retry_after: float | None = None) -> float:
    """Exponential backoff with full jitter, never shorter than the provider's delay."""
    ceiling = min(BACKOFF_CAP, BACKOFF_BASE * (2 ** max(0, attempts - 1)))
    delay: float = ceiling / 2 + random.uniform(0, ceiling / 2)
    return max(delay, float(retry_after or 0.0))


def retry_job(session: Session, job_id: int) -> bool:
    """Run a dead job again from its first attempt (the portal's retry button)."""
    job = session.get(Job, job_id)
    if job is None or job.state != JobState.dead.value:
        return False
    job.state = JobState.queued.value
    job.attempts = 0
    job.run_at = utcnow()
    job.updated_at = utcnow()
    session.add(job)
    return True


def schedule_once(session: Session, name: str, period: str) -> bool:
    """True exactly once per (name, period), however many workers ask."""
    try:
        with session.begin_nested():
            session.add(PeriodicRun(name=name, period=period))
            session.flush()
    except IntegrityError:
        return False
    return True


# --- claiming and finishing ---------------------------------------------------------------


class Queue:
    """Claims, renews and finishes jobs for one worker."""

    def __init__(self, services: Services, worker_id: str) -> None:
        self.services = services
        self.db = services.db
        self.worker_id = worker_id
        self.lease = dt.timedelta(seconds=services.settings.job_lease_seconds)

    def claim(self, limit: int, kinds: list[str] | None = None) -> list[Job]:
        """Lease up to ``limit`` runnable jobs (queued and due, or abandoned)."""
        now = utcnow()
        with self.db.session() as session:
            runnable = sa.or_(
                sa.and_(col(Job.state) == JobState.queued.value, col(Job.run_at) <= now),
                sa.and_(col(Job.state) == JobState.running.value, col(Job.lease_expires_at) < now),
            )
            statement = (
                select(Job)
                .where(runnable)
                .order_by(col(Job.priority).desc(), col(Job.run_at), col(Job.id))
                .limit(limit)
            )
            if kinds:
                statement = statement.where(col(Job.kind).in_(kinds))
            if not self.db.is_sqlite:
                statement = statement.with_for_update(skip_locked=True)
            jobs = list(session.exec(statement).all())
            for job in jobs:
                if job.state == JobState.running.value:
                    log.warning("job %s abandoned by %s; taking it over", job.id, job.locked_by)
                job.state = JobState.running.value
                job.locked_by = self.worker_id
                job.lease_expires_at = now + self.lease
                job.attempts += 1
                job.rerun = False  # this run sees everything committed until now
                job.updated_at = now
                session.add(job)
            return jobs

    def renew(self, job_ids: list[int]) -> None:
        """Extend the leases of jobs this worker is still running."""
        if not job_ids:
            return
        with self.db.session() as session:
            session.execute(
                sa.update(Job)
                .where(
                    col(Job.id).in_(job_ids),
                    col(Job.locked_by) == self.worker_id,
                    col(Job.state) == JobState.running.value,
                )
                .values(lease_expires_at=utcnow() + self.lease)
            )

    def finish(
        self,
        job: Job,
        state: JobState,
        *,
        error: str | None = None,
        run_at: dt.datetime | None = None,
    ) -> None:
        """Record a job's outcome, unless another worker has taken it over meanwhile."""
        now = utcnow()
        values: dict[str, Any] = {
            "state": state.value,
            "updated_at": now,
            "last_error": error,
            "lease_expires_at": None,
            "locked_by": None,
        }
        if state in (JobState.succeeded, JobState.dead):
            values["finished_at"] = now
        if run_at is not None:
            values["run_at"] = run_at
        with self.db.session() as session:
            mine = col(Job.id) == job.id, col(Job.locked_by) == self.worker_id
            if state == JobState.succeeded:
                # Asked to run again while it ran: back to the queue instead of done.
                again = session.execute(
                    sa.update(Job)
                    .where(*mine, col(Job.rerun).is_(True))
                    .values(
                        state=JobState.queued.value,
                        rerun=False,
                        attempts=0,
                        run_at=now,
                        updated_at=now,
                        last_error=None,
                        lease_expires_at=None,
                        locked_by=None,
                    )
                )
                if getattr(again, "rowcount", 0):
                    return
            session.execute(sa.update(Job).where(*mine).values(**values))


# --- the worker ---------------------------------------------------------------------------


class Worker:
    """Runs jobs concurrently within one event loop, and schedules periodic work."""

    def __init__(
        self,
        services: Services,
        *,
        concurrency: int = 8,
        name: str = "worker",
        poll_seconds: float = 0.25,
        periodic: bool = True,
    ) -> None:
        self.services = services
        self.concurrency = concurrency
        self.poll_seconds = poll_seconds
        self.periodic = periodic
        self.worker_id = f"{name}:{socket.gethostname()}:{os.getpid()}:{id(self):x}"
        self.queue = Queue(services, self.worker_id)
        self._running: dict[int, asyncio.Task[None]] = {}
        self._stopping = asyncio.Event()
        self._wake = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._heartbeat_thread = concurrent.futures.ThreadPoolExecutor(
            max_workers=1, thread_name_prefix="hub-heartbeat"
        )

    async def start(self) -> None:
        """Start the loop in the background."""
        import hub.handlers  # noqa: F401  (registers the job handlers)

        self._tasks = [
            asyncio.create_task(self._loop(), name="hub-worker"),
            asyncio.create_task(self._heartbeat(), name="hub-worker-heartbeat"),
        ]
        if self.periodic:
            from hub.periodic import scheduler_loop

            self._tasks.append(
                asyncio.create_task(scheduler_loop(self.services, self._stopping), name="hub-cron")
            )
        log.info("worker %s started (concurrency %s)", self.worker_id, self.concurrency)

    def wake(self) -> None:
        """Look for work now instead of at the next poll."""
        self._wake.set()

    async def stop(self, timeout: float = 10.0) -> None:
        """Stop claiming, let running jobs finish (or leave them to their leases)."""
        self._stopping.set()
        self._wake.set()
        if self._running:
            await asyncio.wait(list(self._running.values()), timeout=timeout)
        for task in [*self._tasks, *self._running.values()]:
            task.cancel()
        await asyncio.gather(*self._tasks, *self._running.values(), return_exceptions=True)
        self._heartbeat_thread.shutdown(wait=False)
        log.info("worker %s stopped", self.worker_id)

    async def run_until_idle(self, timeout: float = 60.0) -> None:
        """Run jobs until none is runnable (tests and one-off commands)."""
        import hub.handlers  # noqa: F401

        deadline = asyncio.get_running_loop().time() + timeout
        while asyncio.get_running_loop().time() < deadline:
            jobs = await asyncio.to_thread(self.queue.claim, self.concurrency)
            if not jobs:
                if not self._running:
                    return
                await asyncio.wait(list(self._running.values()), timeout=0.5)
                continue
            for job in jobs:
                self._spawn(job)
            await asyncio.wait(list(self._running.values()), return_when=asyncio.FIRST_COMPLETED)
        raise TimeoutError("jobs were still running when the timeout passed")

    async def _loop(self) -> None:
        while not self._stopping.is_set():
            free = self.concurrency - len(self._running)
            jobs: list[Job] = []
            if free > 0:
                try:
                    jobs = await asyncio.to_thread(self.queue.claim, free)
                except Exception:
                    log.exception("claiming jobs failed; retrying shortly")
                    await asyncio.sleep(1.0)
            for job in jobs:
                self._spawn(job)
            if jobs and len(self._running) < self.concurrency:
                continue  # more may be waiting
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self.poll_seconds)

    def _spawn(self, job: Job) -> None:
        assert job.id is not None
        task = asyncio.create_task(self._run(job), name=f"job-{job.id}-{job.kind}")
        self._running[job.id] = task
        job_id = job.id
        task.add_done_callback(lambda _task: self._done(job_id))

    def _done(self, job_id: int) -> None:
        self._running.pop(job_id, None)
        self._wake.set()

    async def _heartbeat(self) -> None:
        # Renew well before the lease runs out, so a slow database never loses a job.
        every = self.queue.lease.total_seconds() / 4
        while not self._stopping.is_set():
            await asyncio.sleep(every)
            try:
                # A thread of its own: when every shared thread is busy with the
                # jobs' work, the heartbeat must still get through in time.
                await asyncio.get_running_loop().run_in_executor(
                    self._heartbeat_thread, self.queue.renew, list(self._running)
                )
            except Exception:
                log.exception("renewing leases failed")

    async def _run(self, job: Job) -> None:
        run = HANDLERS.get(job.kind)
        if run is None:
            await self._record(job, JobState.dead, error=f"no handler for job kind {job.kind}")
            return
        try:
            await run(self.services, job)
        except Park as err:
            await self._outcome(job, "parked", JobState.parked, str(err))
        except AuthRevoked as err:
            await self._outcome(job, "parked", JobState.parked, err.message)
        except RateLimited as err:
            await self._retry(job, err.message, retry_after=err.retry_after)
        except (Transient, Conflict) as err:
            await self._retry(job, err.message)
        except Rejected as err:
            await self._outcome(job, "dead", JobState.dead, err.message)
        except asyncio.CancelledError:
            raise  # shutting down: the lease brings the job back
        except Exception as err:
            log.exception("job %s (%s) failed", job.id, job.kind)
            detail = "".join(traceback.format_exception_only(type(err), err)).strip()
            await self._retry(job, f"unexpected error: {detail}")
        else:
            await self._outcome(job, "succeeded", JobState.succeeded, None)

    async def _outcome(self, job: Job, label: str, state: JobState, error: str | None) -> None:
        metrics.JOBS.labels(job.kind, label).inc()
        await self._record(job, state, error=error)

    async def _record(
        self, job: Job, state: JobState, *, error: str | None, run_at: dt.datetime | None = None
    ) -> None:
        """Save a job's outcome, waiting out a database outage instead of dropping it.

        Until it is saved the job stays leased (the heartbeat keeps renewing it), so
        no other worker runs it meanwhile.
        """
        delay = 0.5
        while True:
            try:
                await asyncio.to_thread(self.queue.finish, job, state, error=error, run_at=run_at)
                return
            except Exception:
                if self._stopping.is_set():
                    raise  # the lease brings the job back to another worker
                log.exception("saving the outcome of job %s failed; trying again", job.id)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 10.0)

    async def _retry(self, job: Job, error: str, *, retry_after: float | None = None) -> None:
        if job.attempts >= job.max_attempts:
            log.error(
                "job %s (%s) is dead after %s attempts: %s", job.id, job.kind, job.attempts, error
            )
            await self._outcome(job, "dead", JobState.dead, error)
            return
        delay = backoff_seconds(job.attempts, retry_after=retry_after)
        metrics.JOBS.labels(job.kind, "retried").inc()
        log.info("job %s (%s) retries in %.1fs: %s", job.id, job.kind, delay, error)
        await self._record(
            job, JobState.queued, error=error, run_at=utcnow() + dt.timedelta(seconds=delay)
        )
