"""Drill 7: storms of repeated and reordered webhook deliveries.

Payments recorded in QuickBooks reach the hub through a relay that keeps a copy of
every delivery. Then every delivery is sent again several times, newest first, by
concurrent senders, while more payments are recorded; finally everything is replayed
once more in reverse. Each delivery is correctly signed (they are QuickBooks' own
bytes and signature). Amounts must stay right, and each change must be stored as
one event, however often it arrived.
"""

from __future__ import annotations

import argparse
import threading
import time
from decimal import Decimal

from checks import make_batch, paid_shown, remote_paid, wait_batches
from harness import Stack
from portal import Org
from results import DrillResult, drill_main, wait_for
from webhooks import Relay, changes_in, send_all, sign

NAME = "duplicate_webhooks"
TITLE = "Duplicate and reordered webhook storms"
AMOUNTS = (Decimal("11.00"), Decimal("7.25"), Decimal("3.10"))


def run(result: DrillResult, args: argparse.Namespace) -> None:
    """Pay through a recording relay, replay everything many times in reverse."""
    count = 15 if args.quick else 30
    repeats = 4 if args.quick else 6
    result.done = (
        f"{count} invoices are pushed; two payments per invoice are recorded in QuickBooks "
        "(50 ms apart) and delivered through a relay that keeps each delivery. Every "
        "delivery is then "
        f"replayed {repeats} times in reverse order by 8 concurrent senders while a third "
        "payment per invoice is recorded, and everything is replayed once more, newest first."
    )
    with Stack(NAME, result, postgres=args.postgres) as stack:
        realm = stack.emulator.first_realm()
        stack.serve()
        org = stack.org("Drill Duplicate Webhooks")
        stack.connect(org)
        (view,) = wait_batches(org, [org.push(make_batch(count, "DW"))], timeout=120)
        invoices = view["invoices"]
        hub_url = f"{stack.base_url}/webhooks/quickbooks"
        relay = Relay(hub_url)
        try:
            stack.emulator.control(
                "POST", "apps", json={"client_id": stack.client_id, "webhook_url": relay.url}
            )
            settled = wait_for(
                lambda: (
                    stack.emulator.control("GET", "webhooks")["pending"] == 0
                    and _pending_events(stack) == 0
                    and _events(stack)
                ),
                "the push's own notifications processed",
                timeout=60,
            )
            before = int(settled)
            expected: dict[int, Decimal] = {}

            def pay(amount: Decimal) -> None:
                for invoice in invoices:
                    stack.emulator.pay(
                        realm, invoice["integrations"]["quickbooks"]["remote_id"], amount
                    )
                    expected[invoice["id"]] = expected.get(invoice["id"], Decimal(0)) + amount
                    time.sleep(0.05)  # mostly one delivery per payment, not one for many

            pay(AMOUNTS[0])
            pay(AMOUNTS[1])
            _wait_amounts(org, view["id"], expected)
            first = relay.captured()
            storm = [
                (body, {"intuit-signature": signature, "content-type": "application/json"})
                for body, signature in reversed(first)
                for _ in range(repeats)
            ]
            result.check(
                all(sign(stack.verifier, body) == signature for body, signature in first),
                f"the {len(first)} captured deliveries carry QuickBooks' correct signature",
            )
            third = threading.Thread(target=pay, args=(AMOUNTS[2],))
            storm_started = time.monotonic()
            third.start()
            statuses = send_all(hub_url, storm)
            third.join()
            everything = relay.captured()
            statuses += send_all(
                hub_url,
                [
                    (body, {"intuit-signature": signature, "content-type": "application/json"})
                    for body, signature in reversed(everything)
                ],
            )
            storm_ended = time.monotonic()
            result.figures["deliveries captured"] = len(everything)
            result.figures["replayed deliveries sent"] = len(statuses)
            result.figures["storm seconds"] = round(storm_ended - storm_started, 1)
            result.check(
                all(status == 200 for status in statuses),
                f"every replay was answered 200 ({_tally(statuses)})",
            )
            _wait_amounts(org, view["id"], expected)
            wait_for(lambda: _pending_events(stack) == 0, "no event left pending", timeout=60)
            result.recovery_seconds = time.monotonic() - storm_ended
            result.recovery_note = "from the end of the storm to every amount right"
        finally:
            relay.close()
        changes = set().union(*(changes_in(body) for body, _ in everything))
        stored = _events(stack) - before
        final = {i["id"]: i for i in org.batch(view["id"])["invoices"]}
        quickbooks = remote_paid(stack, realm)
        result.records = len(changes)
        result.lost = sum(1 for i, a in expected.items() if Decimal(final[i]["amount_paid"]) < a)
        result.duplicated = sum(
            1 for i, a in expected.items() if Decimal(final[i]["amount_paid"]) > a
        ) + max(0, stored - len(changes))
        result.check(
            stored == len(changes),
            f"one stored event per change: {stored} events for {len(changes)} distinct changes "
            f"in {len(everything)} deliveries, sent {len(statuses) + len(everything)} times",
        )
        result.check(
            all(
                quickbooks[final[i]["integrations"]["quickbooks"]["remote_id"]]
                == Decimal(final[i]["amount_paid"])
                == expected[i]
                for i in expected
            ),
            "every invoice's amount paid is the sum of its payments, as in QuickBooks",
        )
        result.check(stack.job_states().get("dead", 0) == 0, "no job is dead")


def _events(stack: Stack) -> int:
    return int(stack.scalar("SELECT count(*) FROM webhookevent"))


def _pending_events(stack: Stack) -> int:
    return int(stack.scalar("SELECT count(*) FROM webhookevent WHERE state = 'pending'"))


def _tally(statuses: list[int]) -> dict[int, int]:
    tally: dict[int, int] = {}
    for status in statuses:
        tally[status] = tally.get(status, 0) + 1
    return tally


def _wait_amounts(org: Org, batch_id: int, expected: dict[int, Decimal]) -> None:
    def right() -> bool:
        shown = paid_shown(org, batch_id)
        return all(shown.get(i) == amount for i, amount in expected.items())

    wait_for(right, "every payment shown", timeout=90)


if __name__ == "__main__":
    drill_main(NAME, TITLE, run)
