"""Drill 2: the web process is SIGKILLed while QuickBooks sends payment webhooks.

Invoices are pushed first. Then payments are recorded in the emulator one after
another; a quarter of the way through, ``hub serve --no-worker`` (the process that
receives webhooks) is SIGKILLed and started again a few seconds later. QuickBooks
retries a delivery that got no 200 (the emulator on Intuit's schedule, scaled down),
so every payment must reach its invoice, and none may count twice.
"""

from __future__ import annotations

import argparse
import threading
import time
from decimal import Decimal

from checks import audit_push, make_batch, paid_shown, record_push_audit, remote_paid, wait_batches
from harness import Stack
from results import DrillResult, drill_main, wait_for

NAME = "web_kill"
TITLE = "SIGKILL of the web process while webhooks arrive"
DOWN_SECONDS = 4.0


def payment_for(position: int) -> Decimal:
    """A distinct partial amount per invoice, so a payment applied twice shows."""
    return Decimal("20.00") + Decimal(position) / 100


def run(result: DrillResult, args: argparse.Namespace) -> None:
    """Push, then pay every invoice while the web process dies and comes back."""
    count = 60 if args.quick else 100
    result.done = (
        f"{count} invoices are pushed; then one payment per invoice is recorded in the "
        f"emulator, about 12 a second. After a quarter of them, `hub serve --no-worker` is "
        f"SIGKILLed and restarted {DOWN_SECONDS:g} s later; a separate `hub worker` keeps "
        "running. The emulator retries undelivered webhooks (Intuit's schedule x 0.02)."
    )
    with Stack(NAME, result, postgres=args.postgres) as stack:
        realm = stack.emulator.first_realm()
        web = stack.serve(worker=False)
        stack.worker()
        org = stack.org("Drill Web Kill")
        stack.connect(org)
        batch_id = org.push(make_batch(count, "WEB"))
        (view,) = wait_batches(org, [batch_id], timeout=120)
        record_push_audit(result, audit_push(stack, realm, [view]), label="pushed first: ")
        invoices = view["invoices"]
        stack.emulator.control("POST", "webhooks", json={"retry_scale": 0.02})
        before = stack.emulator.stats()["webhooks"]

        paid: dict[int, Decimal] = {}
        failures: list[str] = []

        def pay_all() -> None:
            for position, invoice in enumerate(invoices):
                try:
                    stack.emulator.pay(
                        realm,
                        invoice["integrations"]["quickbooks"]["remote_id"],
                        payment_for(position),
                    )
                    paid[invoice["id"]] = payment_for(position)
                except Exception as err:
                    failures.append(f"{invoice['number']}: {err}")
                time.sleep(0.08)

        payer = threading.Thread(target=pay_all, name="payments")
        payer.start()
        wait_for(
            lambda: len(paid) >= count // 4, "a quarter of the payments", timeout=60, every=0.05
        )
        web.kill()
        time.sleep(DOWN_SECONDS)
        web.start(f"{stack.base_url}/healthz")
        restarted = time.monotonic()
        payer.join()
        result.check(
            not failures,
            "every payment was recorded in QuickBooks" + (f": {failures[:3]}" if failures else ""),
        )

        def all_shown() -> bool:
            shown = paid_shown(org, batch_id)
            return all(shown.get(i) == amount for i, amount in paid.items())

        try:
            wait_for(all_shown, "every payment shown on its invoice", timeout=120, every=0.5)
        finally:
            result.recovery_seconds = time.monotonic() - restarted
        result.recovery_note = "from the restarted web process to the last payment shown"
        final = {i["id"]: i for i in org.batch(batch_id)["invoices"]}
        quickbooks = remote_paid(stack, realm)
        missing = [i for i, amount in paid.items() if Decimal(final[i]["amount_paid"]) < amount]
        doubled = [i for i, amount in paid.items() if Decimal(final[i]["amount_paid"]) > amount]
        result.records = count  # payments; the push before them is checked above
        result.lost = (result.lost or 0) + len(missing) + (count - len(paid))
        result.duplicated = (result.duplicated or 0) + len(doubled)
        result.check(
            all(
                quickbooks[final[i]["integrations"]["quickbooks"]["remote_id"]]
                == Decimal(final[i]["amount_paid"])
                for i in paid
            ),
            "each invoice's amount paid equals what QuickBooks holds (total minus balance)",
        )
        result.check(
            all(final[i]["status"] == "partially_paid" for i in paid),
            "every paid invoice is partially_paid",
        )
        after = stack.emulator.stats()["webhooks"]
        failed = sum(
            after.get(k, 0) - before.get(k, 0) for k in ("unreachable", "rejected", "timeout")
        )
        result.figures["webhook attempts that failed while the web process was down"] = failed
        result.figures["webhook deliveries"] = after.get("delivered", 0) - before.get(
            "delivered", 0
        )
        result.check(failed > 0, f"deliveries failed while the web process was down ({failed})")
        result.check(after.get("given_up", 0) == 0, "QuickBooks gave up on no delivery")
        payments = stack.scalar(
            "SELECT count(*) FROM webhookevent WHERE entity = 'Payment' AND operation = 'create'"
        )
        result.check(
            payments == len(paid),
            f"one stored event per payment ({payments} Payment create events, {len(paid)} paid)",
        )
        result.check(stack.job_states().get("dead", 0) == 0, "no job is dead")


if __name__ == "__main__":
    drill_main(NAME, TITLE, run)
