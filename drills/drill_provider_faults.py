"""Drill 3: QuickBooks fails a fifth of all requests for a minute while batches are pushed.

For the length of the window the emulator answers about 20% of Accounting API
requests with a 500, a 503, a hang longer than the hub's timeout, or a dropped
connection, in equal parts. Batches are pushed throughout the window. Every invoice
must end up in QuickBooks exactly once.
"""

from __future__ import annotations

import argparse
import time

from checks import audit_push, make_batch, record_push_audit, wait_batches
from harness import Stack
from results import DrillResult, drill_main

NAME = "provider_faults"
TITLE = "QuickBooks failing 20% of requests for a minute"
#: Four rules checked in turn: 1 - (1 - 0.054)^4 is about 20% of requests.
SHARE = 0.054


def run(result: DrillResult, args: argparse.Namespace) -> None:
    """Turn faults on for the window, push batches through it, check QuickBooks."""
    window = 30 if args.quick else 60
    spacing = 2.0
    batches = int(window / spacing)
    size = 40
    result.done = (
        f"For {window} s the emulator fails ~20% of `/v3/` requests (500, 503, a 3 s hang "
        f"against the hub's 2 s timeout, a dropped connection: {SHARE:.1%} each) and adds "
        f"20 ms to every request; {batches} batches of {size} invoices are pushed "
        f"{spacing:g} s apart during the window. `hub serve` with its in-process worker."
    )
    with Stack(NAME, result, postgres=args.postgres) as stack:
        realm = stack.emulator.first_realm()
        stack.serve()
        org = stack.org("Drill Provider Faults")
        stack.connect(org)
        stack.emulator.control("POST", "latency", json={"ms": 20})
        stack.emulator.control(
            "POST",
            "faults",
            json={
                "rules": [
                    {"kind": kind, "share": SHARE, "path": "/v3/", "duration_seconds": window,
                     "hang_seconds": 3}
                    for kind in ("500", "503", "timeout", "drop")
                ]
            },
        )
        window_ends = time.monotonic() + window
        batch_ids = []
        for n in range(batches):
            batch_ids.append(org.push(make_batch(size, f"PF{n}")))
            if n < batches - 1:
                time.sleep(spacing)
        views = wait_batches(org, batch_ids, timeout=window + 240)
        finished = time.monotonic()
        time.sleep(max(0.0, window_ends - time.monotonic()))  # audit once faults are over
        result.recovery_seconds = max(0.0, finished - window_ends)
        result.recovery_note = "from the end of the fault window to the last batch synced"
        if finished < window_ends:
            result.recovery_note += " (all synced before the window ended)"
        injected = stack.emulator.stats()["injected_faults"]
        result.figures["injected faults"] = dict(injected)
        requests = stack.emulator.stats()["requests"]
        result.figures["Accounting API requests"] = sum(
            sum(by_status.values()) for path, by_status in requests.items() if "/v3/" in path
        )
        result.check(
            all(injected.get(kind, 0) > 0 for kind in ("500", "503", "timeout", "drop")),
            f"every kind of fault was injected ({injected})",
        )
        result.check(
            all(v["integrations"]["quickbooks"]["sync_state"] == "synced" for v in views),
            "every batch is synced",
        )
        record_push_audit(result, audit_push(stack, realm, views))
        result.check(stack.job_states().get("dead", 0) == 0, "no job is dead")


if __name__ == "__main__":
    drill_main(NAME, TITLE, run)
