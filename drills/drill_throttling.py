"""Drill 4: a throttling storm: several companies' batches at once, at QuickBooks' limits.

The emulator enforces QuickBooks' published limits (500 requests a minute per
company, 10 a second and 10 at once per company and app, 40 batch requests a minute
per company and app, 120 per company) and, on top, answers a share of requests with
an injected 429. Several organizations, each connected to its own company, push
their batches at the same moment. Everything must sync, nothing twice.
"""

from __future__ import annotations

import argparse
import threading
import time

from checks import audit_push, make_batch, record_push_audit, wait_batches
from harness import Stack
from results import DrillResult, drill_main

NAME = "throttling"
TITLE = "Throttling storm over several companies"
QUICKBOOKS_LIMITS = {
    "enabled": True,
    "realm_per_minute": 500,
    "app_per_second": 10,
    "app_concurrent": 10,
    "batch_app_per_minute": 40,
    "batch_realm_per_minute": 120,
}


def run(result: DrillResult, args: argparse.Namespace) -> None:
    """Connect several companies, push everything at once under limits and 429s."""
    companies = 3 if args.quick else 4
    batches = 2 if args.quick else 3
    size = 100 if args.quick else 150
    storm = 20 if args.quick else 40
    result.done = (
        f"{companies} organizations, each connected to its own company, push {batches} "
        f"batches of {size} invoices each at the same moment "
        f"({companies * batches * size} invoices). The emulator enforces QuickBooks' "
        "limits (500/min and 10/s per company, 10 concurrent, 40 batch requests/min per "
        f"app, 120 per company) and for the first {storm} s answers a further 10% of "
        "requests with 429 (Retry-After: 1)."
    )
    with Stack(NAME, result, postgres=args.postgres, limits=True) as stack:
        stack.emulator.control("POST", "limits", json=QUICKBOOKS_LIMITS)
        stack.serve()
        stack.worker(concurrency=8)
        tenants = [(t.org, t.realm) for t in stack.tenants(companies, "Drill Throttle")]
        stack.emulator.control(
            "POST",
            "faults",
            json={"kind": "429", "share": 0.1, "path": "/v3/", "retry_after": 1,
                  "duration_seconds": storm},
        )
        ids: dict[int, list[int]] = {}
        go = threading.Barrier(companies)

        def push(index: int) -> None:
            org, _realm = tenants[index]
            go.wait()
            ids[index] = [org.push(make_batch(size, f"T{index}B{b}")) for b in range(batches)]

        started = time.monotonic()
        pushers = [threading.Thread(target=push, args=(n,)) for n in range(companies)]
        for thread in pushers:
            thread.start()
        for thread in pushers:
            thread.join()
        views = {n: wait_batches(org, ids[n], timeout=420) for n, (org, _) in enumerate(tenants)}
        result.recovery_seconds = time.monotonic() - started
        result.recovery_note = "from the pushes to the last batch synced (the whole storm)"
        stats = stack.emulator.stats()
        throttled = stats["throttled"]["total"]
        injected = stats["injected_faults"].get("429", 0)
        result.figures["requests throttled by the limits"] = throttled
        result.figures["throttled by company"] = stats["throttled"]["by_company"]
        result.figures["injected 429s"] = injected
        result.figures["peak concurrency by company"] = stats["peak_concurrency"]
        result.figures["invoices per second overall"] = round(
            companies * batches * size / result.recovery_seconds, 1
        )
        # QuickBooks sends no Retry-After with its own 429s; the hub then waits 60 s.
        result.figures["job retries that waited 60 s after a 429 without Retry-After"] = (
            stack.logs_containing("retries in 60.0s: QuickBooks is throttling")
        )
        result.check(injected > 0, f"429s were injected ({injected})")
        for n, (_org, realm) in enumerate(tenants):
            result.check(
                all(v["integrations"]["quickbooks"]["sync_state"] == "synced" for v in views[n]),
                f"company {n}: every batch is synced",
            )
            record_push_audit(result, audit_push(stack, realm, views[n]), label=f"company {n}: ")
        peaks = stats["peak_concurrency"]
        result.check(
            all(peaks.get(realm, 0) <= 10 for _, realm in tenants),
            f"no company saw more than 10 requests at once ({peaks})",
        )
        result.check(stack.job_states().get("dead", 0) == 0, "no job is dead")


if __name__ == "__main__":
    drill_main(NAME, TITLE, run)
