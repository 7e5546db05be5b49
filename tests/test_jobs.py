"""The durable job queue: enqueueing, leases, retries, dead jobs, periodic work."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest
import sqlalchemy as sa

from hub import jobs
from hub.errors import AuthRevoked, RateLimited, Rejected, Transient
from hub.jobs import Queue, Worker, backoff_seconds, enqueue, retry_job, schedule_once
from hub.models import Job
from hub.periodic import run_due

CALLS: list[tuple[str, int]] = []


@pytest.fixture(autouse=True)
def test_handlers(monkeypatch):
    """Handlers whose behaviour a test chooses through the job payload."""
    CALLS.clear()

    async def behave(services, job):  # type: ignore[no-untyped-def]
        CALLS.append((job.payload["do"], job.attempts))
        outcome = job.payload["do"]
        if outcome == "fail_once" and job.attempts == 1:
            raise Transient("provider hiccup")
        if outcome == "throttled":
            raise RateLimited("slow down", retry_after=120)
        if outcome == "refused":
            raise Rejected("the provider refused this")
        if outcome == "revoked":
            raise AuthRevoked("access ended")
        if outcome == "always_fails":
            raise Transient("still down")
        if outcome == "crash":
            raise KeyError("a bug")

    monkeypatch.setitem(jobs.HANDLERS, "test", behave)
    monkeypatch.setattr(jobs, "BACKOFF_BASE", 0.0)


def add(services, do: str, **kwargs) -> int:
    with services.db.session() as session:
        job = enqueue(session, "test", {"do": do}, **kwargs)
        return job.id if job else 0


def state_of(services, job_id: int) -> Job:
    with services.db.read_session() as session:
        return session.get(Job, job_id)


def run(services, **kwargs) -> None:
    asyncio.run(Worker(services, periodic=False, **kwargs).run_until_idle(timeout=30))


def test_a_job_runs_once_and_succeeds(hub_services):
    job_id = add(hub_services, "ok")
    run(hub_services)
    assert CALLS == [("ok", 1)]
    assert state_of(hub_services, job_id).state == "succeeded"


def test_unique_key_keeps_one_live_job(hub_services):
    first = add(hub_services, "ok", unique_key="k")
    assert add(hub_services, "ok", unique_key="k") == 0
    run(hub_services)
    assert state_of(hub_services, first).state == "succeeded"
    assert add(hub_services, "ok", unique_key="k") != 0  # done jobs do not block


def test_a_change_while_running_runs_the_job_again(hub_services):
    job_id = add(hub_services, "ok", unique_key="k")
    queue = Queue(hub_services, "w1")
    [claimed] = queue.claim(1)
    assert add(hub_services, "ok", unique_key="k") == 0  # live: marked to run again
    queue.finish(claimed, jobs.JobState.succeeded)
    job = state_of(hub_services, job_id)
    assert (job.state, job.rerun, job.attempts) == ("queued", False, 0)
    run(hub_services)
    assert state_of(hub_services, job_id).state == "succeeded"


def test_passing_failures_are_retried(hub_services):
    job_id = add(hub_services, "fail_once")
    run(hub_services)
    assert CALLS == [("fail_once", 1), ("fail_once", 2)]
    job = state_of(hub_services, job_id)
    assert job.state == "succeeded" and job.last_error is None


def test_the_providers_retry_delay_is_honoured(hub_services):
    job_id = add(hub_services, "throttled")
    run(hub_services)
    job = state_of(hub_services, job_id)
    assert job.state == "queued" and "slow down" in job.last_error
    assert job.run_at > dt.datetime.now(dt.UTC) + dt.timedelta(seconds=110)


def test_backoff_grows_with_jitter_and_is_capped(monkeypatch):
    monkeypatch.setattr(jobs, "BACKOFF_BASE", 2.0)
    assert 1 <= backoff_seconds(1) <= 2
    assert 8 <= backoff_seconds(4) <= 16
    assert backoff_seconds(30) <= jobs.BACKOFF_CAP
    assert backoff_seconds(1, retry_after=60) == 60
    assert len({backoff_seconds(5) for _ in range(20)}) > 1


def test_after_the_last_attempt_a_job_is_dead_until_retried(hub_services):
    job_id = add(hub_services, "always_fails", max_attempts=3)
    run(hub_services)
    job = state_of(hub_services, job_id)
    assert job.state == "dead" and job.attempts == 3 and "still down" in job.last_error
    with hub_services.db.session() as session:
        assert retry_job(session, job_id)
    assert state_of(hub_services, job_id).state == "queued"


@pytest.mark.parametrize(("do", "state"), [("refused", "dead"), ("revoked", "parked")])
def test_refusals_die_and_lost_access_parks(hub_services, do, state):
    job_id = add(hub_services, do)
    run(hub_services)
    assert state_of(hub_services, job_id).state == state
    assert len(CALLS) == 1  # neither is retried


def test_a_bug_in_a_handler_is_retried_not_lost(hub_services):
    job_id = add(hub_services, "crash", max_attempts=2)
    run(hub_services)
    job = state_of(hub_services, job_id)
    assert job.state == "dead" and "KeyError" in job.last_error


def test_an_abandoned_lease_is_taken_over(hub_services):
    job_id = add(hub_services, "ok")
    dead_worker = Queue(hub_services, "dead-worker")
    assert [j.id for j in dead_worker.claim(1)] == [job_id]
    assert Queue(hub_services, "other").claim(1) == []  # leased: not claimable
    with hub_services.db.session() as session:
        session.execute(
            sa.update(Job).values(
                lease_expires_at=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
            )
        )
    run(hub_services)
    job = state_of(hub_services, job_id)
    assert job.state == "succeeded" and job.attempts == 2
    # The dead worker's late report changes nothing.
    dead_worker.finish(job, jobs.JobState.dead, error="too late")
    assert state_of(hub_services, job_id).state == "succeeded"


def test_periodic_work_is_scheduled_once_per_period(hub_services):
    with hub_services.db.session() as session:
        assert schedule_once(session, "x", "1")
    with hub_services.db.session() as session:
        assert not schedule_once(session, "x", "1")
    now = dt.datetime.now(dt.UTC)
    first = run_due(hub_services, now)
    assert set(first) == {"token_keepalive", "reconcile", "prune"}
    assert run_due(hub_services, now) == {}  # a second worker in the same period
