"""Drill 1: the job worker is SIGKILLed in the middle of pushing a batch.

``hub serve --no-worker`` takes the batch; a ``hub worker`` pushes it against an
emulator that answers every request 50 ms late, and is killed with SIGKILL once part
of the batch is in QuickBooks. A new worker must take the abandoned job over when its
lease (5 s here) runs out and finish: every invoice in QuickBooks exactly once.
"""

from __future__ import annotations

import argparse
import time

from checks import audit_push, make_batch, record_push_audit, wait_batches
from harness import Stack
from results import DrillResult, drill_main, wait_for

NAME = "worker_kill"
TITLE = "SIGKILL of the worker mid-batch"


def run(result: DrillResult, args: argparse.Namespace) -> None:
    """Push, kill the worker part-way, start another, check QuickBooks."""
    count = 300 if args.quick else 500
    result.done = (
        f"A batch of {count} invoices is pushed by a `hub worker` while the emulator adds "
        "50 ms to every request; the worker is SIGKILLed once a fifth of the invoices are "
        "in QuickBooks, and a new worker is started at once (job lease 5 s)."
    )
    with Stack(NAME, result, postgres=args.postgres) as stack:
        realm = stack.emulator.first_realm()
        stack.serve(worker=False)
        org = stack.org("Drill Worker Kill")
        stack.connect(org)
        stack.emulator.control("POST", "latency", json={"ms": 50})
        batch_id = org.push(make_batch(count, "WK"))
        first = stack.worker("worker-1")
        wait_for(
            lambda: stack.emulator.count("Invoice", realm) >= count // 5,
            "a fifth of the batch in QuickBooks",
            timeout=180,
            every=0.1,
        )
        first.kill()
        killed_at = time.monotonic()
        in_quickbooks = stack.emulator.count("Invoice", realm)
        states = stack.job_states("push_batch")
        result.figures["invoices in QuickBooks when the worker died"] = in_quickbooks
        result.check(
            states.get("running") == 1,
            f"the push job was left running, leased to the dead worker ({states})",
        )
        stack.worker("worker-2")
        views = wait_batches(org, [batch_id], timeout=300)
        result.recovery_seconds = time.monotonic() - killed_at
        result.recovery_note = "from the SIGKILL to the batch synced, including the 5 s lease"
        result.check(
            views[0]["integrations"]["quickbooks"]["sync_state"] == "synced",
            f"the batch is synced ({views[0]['integrations']['quickbooks']['sync_state']})",
        )
        record_push_audit(result, audit_push(stack, realm, views))
        result.check(
            stack.emulator.count("Invoice", realm) == count,
            f"the emulator holds exactly {count} invoices "
            f"({stack.emulator.count('Invoice', realm)})",
        )
        result.check(
            stack.logs_containing("taking it over") >= 1,
            "the new worker took the abandoned job over after its lease ran out",
        )
        result.check(stack.job_states().get("dead", 0) == 0, "no job is dead")


if __name__ == "__main__":
    drill_main(NAME, TITLE, run)
