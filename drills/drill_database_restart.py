"""Drill 6: PostgreSQL restarts while a batch is pushed and payment webhooks arrive.

The hub runs on a fresh PostgreSQL database (web process and worker process). While
a batch is being pushed and payments recorded in QuickBooks come in as webhooks,
the PostgreSQL server is restarted, dropping every connection. The processes are
not restarted: they must ride it out, and everything must complete, exactly once.
Skipped (with a note) when no PostgreSQL server answers on 127.0.0.1:5432.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import threading
import time
from decimal import Decimal
from pathlib import Path

from checks import audit_push, make_batch, paid_shown, record_push_audit, remote_paid, wait_batches
from harness import Stack, postgres_available
from results import DrillResult, drill_main, wait_for

NAME = "database_restart"
TITLE = "PostgreSQL restarted under load"


def restart_postgres() -> float:
    """Restart the local cluster; returns how long the command took."""
    versions = sorted(p.name for p in Path("/etc/postgresql").iterdir())
    command = [
        shutil.which("pg_ctlcluster") or "pg_ctlcluster",
        "--skip-systemctl-redirect",
        versions[-1],
        "main",
        "restart",
    ]
    started = time.monotonic()
    subprocess.run(command, check=True, capture_output=True, timeout=120)  # noqa: S603
    return time.monotonic() - started


def run(result: DrillResult, args: argparse.Namespace) -> None:
    """Push and pay, restart PostgreSQL in the middle, check everything completed."""
    if not postgres_available() or not Path("/etc/postgresql").is_dir():
        result.skipped = (
            "no PostgreSQL server on 127.0.0.1:5432 (or no pg_ctlcluster): this drill needs "
            "one; on SQLite there is no database server to restart"
        )
        return
    count = 200 if args.quick else 400
    paid_count = 40 if args.quick else 80
    result.done = (
        f"On a fresh PostgreSQL database, {paid_count} invoices are pushed first; then a "
        f"batch of {count} is pushed (30 ms per request) while one payment per earlier "
        "invoice is recorded in QuickBooks (webhooks). Part-way, the PostgreSQL server is "
        "restarted with `pg_ctlcluster --skip-systemctl-redirect <version> main restart`. "
        "`hub serve --no-worker` and `hub worker` keep running throughout."
    )
    with Stack(NAME, result, postgres=True) as stack:
        realm = stack.emulator.first_realm()
        web = stack.serve(worker=False)
        worker = stack.worker()
        org = stack.org("Drill Database Restart")
        stack.connect(org)
        first = org.push(make_batch(paid_count, "DBP"))
        (first_view,) = wait_batches(org, [first], timeout=120)
        stack.emulator.control("POST", "webhooks", json={"retry_scale": 0.02})
        stack.emulator.control("POST", "latency", json={"ms": 30})
        second = org.push(make_batch(count, "DBR"))
        paid: dict[int, Decimal] = {}
        failures: list[str] = []

        def pay_all() -> None:
            for position, invoice in enumerate(first_view["invoices"]):
                amount = Decimal("30.00") + Decimal(position) / 100
                try:
                    stack.emulator.pay(
                        realm, invoice["integrations"]["quickbooks"]["remote_id"], amount
                    )
                    paid[invoice["id"]] = amount
                except Exception as err:
                    failures.append(f"{invoice['number']}: {err}")
                time.sleep(0.1)

        payer = threading.Thread(target=pay_all, name="payments")
        payer.start()
        wait_for(
            lambda: (
                stack.emulator.count("Invoice", realm) >= paid_count + count // 5
                and len(paid) >= paid_count // 4
            ),
            "the push and the payments under way",
            timeout=120,
            every=0.1,
        )
        result.figures["seconds the restart command took"] = round(restart_postgres(), 1)
        restarted = time.monotonic()
        payer.join()
        result.check(
            not failures,
            "every payment was recorded in QuickBooks" + (f": {failures[:3]}" if failures else ""),
        )

        def payments_shown() -> bool:
            shown = paid_shown(org, first)
            return all(shown.get(i) == amount for i, amount in paid.items())

        try:
            views = wait_batches(org, [first, second], timeout=240)
            wait_for(payments_shown, "every payment shown", timeout=120)
        finally:
            result.recovery_seconds = time.monotonic() - restarted
        result.recovery_note = "from the restarted server to the batch synced and payments shown"
        result.check(web.alive and worker.alive, "the web and worker processes kept running")
        result.check(
            all(v["integrations"]["quickbooks"]["sync_state"] == "synced" for v in views),
            "both batches are synced",
        )
        record_push_audit(result, audit_push(stack, realm, views))
        final = {i["id"]: i for i in org.batch(first)["invoices"]}
        quickbooks = remote_paid(stack, realm)
        missing = [i for i, a in paid.items() if Decimal(final[i]["amount_paid"]) < a]
        doubled = [i for i, a in paid.items() if Decimal(final[i]["amount_paid"]) > a]
        result.records += len(paid)
        result.lost = (result.lost or 0) + len(missing) + (paid_count - len(paid))
        result.duplicated = (result.duplicated or 0) + len(doubled)
        result.check(
            all(
                quickbooks[final[i]["integrations"]["quickbooks"]["remote_id"]]
                == Decimal(final[i]["amount_paid"])
                for i in paid
            ),
            f"{len(paid)} payments: each invoice's amount paid equals QuickBooks'",
        )
        result.figures["jobs left running until their lease ran out"] = stack.logs_containing(
            "taking it over"
        )
        webhooks = stack.emulator.stats()["webhooks"]
        result.figures["webhook outcomes"] = webhooks
        result.check(webhooks.get("given_up", 0) == 0, "QuickBooks gave up on no delivery")
        result.check(stack.job_states().get("dead", 0) == 0, "no job is dead")


if __name__ == "__main__":
    drill_main(NAME, TITLE, run)
