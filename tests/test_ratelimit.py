"""Per-account request limits, counted in the database that every process shares."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest
from sqlmodel import select

from hub.models import RateLimitSlot
from hub.ratelimit import SECOND, AccountLimiter, Unlimited, _bucket
from hub.types import PathLimit, RateLimits

START = dt.datetime(2026, 11, 24, 9, 0, tzinfo=dt.UTC)
LIMITS = RateLimits(
    max_concurrent=3, per_minute=20, per_second=5, paths=(PathLimit(r"/batch$", 2),)
)


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += dt.timedelta(seconds=seconds)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def limiter(hub_db, clock) -> AccountLimiter:
    return AccountLimiter(hub_db, clock)


def take(limiter: AccountLimiter, path: str = "/query", account: str = "ledger:1"):
    """One attempt to start a request: (slot id, None) or (None, seconds to wait)."""
    slot_id, wait, _now = limiter._try(account, _bucket(path, LIMITS), LIMITS)
    return slot_id, wait


def finish(limiter: AccountLimiter, slot_id: int) -> None:
    """The request is answered (it left when its slot was granted)."""
    with limiter.db.read_session() as session:
        slot = session.get(RateLimitSlot, slot_id)
        assert slot is not None
    asyncio.run(limiter._release(slot_id, slot.started_at))


def test_per_second_starts_wait_until_the_window_moves_on(limiter, clock):
    for _ in range(5):
        slot_id, _wait = take(limiter)
        assert slot_id is not None
        finish(limiter, slot_id)
        clock.advance(0.2)

    slot_id, wait = take(limiter)

    assert slot_id is None
    # The first start (1.0 s ago) leaves the window SECOND after it began.
    assert wait == pytest.approx(SECOND.total_seconds() - 1.0)
    clock.advance(wait + 0.001)
    assert take(limiter)[0] is not None


def test_starts_are_spread_over_the_second_not_sent_in_a_burst(limiter, clock):
    assert take(limiter)[0] is not None

    slot_id, wait = take(limiter)

    assert slot_id is None and wait == pytest.approx(0.2)  # five a second: one each 0.2 s
    clock.advance(0.2)
    assert take(limiter)[0] is not None


def test_open_requests_are_capped_and_finished_ones_free_their_place(limiter, clock):
    open_ids = []
    for _ in range(3):
        slot_id, _wait = take(limiter)
        open_ids.append(slot_id)
        clock.advance(0.3)
    assert take(limiter)[0] is None

    finish(limiter, open_ids[0])

    assert take(limiter)[0] is not None


def test_a_slot_abandoned_by_a_killed_process_frees_itself_when_its_lease_ends(hub_db, clock):
    short = AccountLimiter(hub_db, clock, slot_lease=dt.timedelta(seconds=30))
    for _ in range(3):
        assert take(short)[0] is not None
        clock.advance(1.5)
    assert take(short)[0] is None

    clock.advance(30)

    assert take(short)[0] is not None


def test_every_process_sees_the_same_counts(hub_db, clock):
    # Two limiters on one database stand for two worker processes.
    first, second = AccountLimiter(hub_db, clock), AccountLimiter(hub_db, clock)
    for _ in range(3):
        assert take(first)[0] is not None
        clock.advance(0.25)

    assert take(second)[0] is None
    assert take(second, account="ledger:2")[0] is not None  # another account's own limits


def test_a_path_limit_counts_only_its_own_requests(limiter, clock):
    for _ in range(2):
        slot_id, _wait = take(limiter, "/v3/company/1/batch")
        finish(limiter, slot_id)
        clock.advance(1.2)

    slot_id, wait = take(limiter, "/v3/company/1/batch")

    assert slot_id is None and wait > 50  # two a minute: the first leaves after 61 s
    assert take(limiter, "/v3/company/1/query")[0] is not None


def test_the_per_minute_limit_holds_over_many_seconds(limiter, clock):
    taken = 0
    for _ in range(40):
        slot_id, _wait = take(limiter)
        if slot_id is not None:
            taken += 1
            finish(limiter, slot_id)
        clock.advance(0.5)

    assert taken == 20


@pytest.mark.anyio
async def test_requests_sent_before_the_account_was_known_are_counted(limiter, clock):
    earlier = [Unlimited(START - dt.timedelta(seconds=0.2), "/v3/company/1/companyinfo/1")] * 5

    await limiter.count_past("ledger:1", earlier, LIMITS)

    slot_id, wait = take(limiter)
    assert slot_id is None
    assert wait == pytest.approx(SECOND.total_seconds() - 0.2)


@pytest.mark.anyio
async def test_a_request_that_leaves_late_is_counted_from_when_it_left(limiter, clock, hub_db):
    granted = limiter._try

    def busy_process(*args):
        found = granted(*args)
        clock.advance(0.3)  # the process was busy before the request could leave
        return found

    limiter._try = busy_process
    left = START + dt.timedelta(seconds=0.3)

    def start_of_slot(session):
        return session.exec(select(RateLimitSlot.started_at)).one()

    async with limiter.slot("ledger:1", "/query", LIMITS):
        # Moved while the request runs, before other processes count on it.
        for _ in range(200):
            if await hub_db.read(start_of_slot) == left:
                break
            await asyncio.sleep(0.01)
        assert await hub_db.read(start_of_slot) == left
    assert await hub_db.read(start_of_slot) == left
