"""From a payment recorded in QuickBooks to the invoice showing it in Coordinoter.

The QuickBooks emulator (webhook aggregation window 0, limits off, 150 ms added to
every API request) and one `hub serve` process (with its in-process worker) run as
real processes, on the drills' harness. A batch is pushed, then payments are
recorded one at a time in QuickBooks; each is timed until
`GET /api/v1/invoices/{id}` shows the new status.
Goal: p95 under 2 seconds.

Run: ``.venv/bin/python bench/bench_latency.py [--payments 30]``
"""

from __future__ import annotations

import argparse
import sys
import time
from decimal import Decimal
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(1, str(HERE.parent / "drills"))

from checks import make_batch, wait_batches  # noqa: E402
from common import (  # noqa: E402
    PROVIDER_LATENCY_MS,
    Figure,
    median,
    percentile,
    print_figures,
    rss_peak_kib,
    write_json,
)
from harness import Stack  # noqa: E402
from results import DrillResult  # noqa: E402


def run(payments: int) -> list[Figure]:
    """Push a batch, record payments, time each until the portal shows it."""
    result = DrillResult("bench_latency", "payment to portal")
    latencies: list[float] = []
    with Stack("bench-latency", result) as stack:
        web = stack.serve(worker=True)
        org = stack.org("Latency Benchmark")
        stack.connect(org)
        # The hub reads the invoice and the payment back after each webhook: at Intuit's
        # real distance, that is where the time goes.
        stack.emulator.control("POST", "latency", json={"ms": PROVIDER_LATENCY_MS})
        realm = stack.emulator.first_realm()
        batch_id = org.push(make_batch(payments, "LAT", participants=10))
        [batch] = wait_batches(org, [batch_id], timeout=120)
        for invoice in batch["invoices"]:
            remote = invoice["integrations"]["quickbooks"]["remote_id"]
            half = (Decimal(invoice["total"]) / 2).quantize(Decimal("0.01"))
            started = time.perf_counter()
            stack.emulator.pay(realm, remote, half)
            deadline = started + 30
            while time.perf_counter() < deadline:
                view = org.api.get(f"/api/v1/invoices/{invoice['id']}").json()
                if view["status"] == "partially_paid":
                    latencies.append(time.perf_counter() - started)
                    break
                time.sleep(0.01)
            else:
                raise RuntimeError(f"invoice {invoice['number']} never showed its payment")
        peak = rss_peak_kib(web.popen.pid)
    p50, p95 = median(latencies), percentile(latencies, 95)
    command = f".venv/bin/python bench/bench_latency.py --payments {payments}"
    note = (
        "Each payment makes QuickBooks send its webhook at once (aggregation window 0); the "
        "hub stores it, its worker fetches the invoice and payment (150 ms a request to "
        "QuickBooks), and the API shows it. Polled every 10 ms."
    )
    figures = [
        Figure(
            "payment in QuickBooks to invoice shown paid, p50",
            p50,
            "s",
            latencies,
            f"{len(latencies)} payments",
            command=command,
            notes=note,
        ),
        Figure(
            "payment in QuickBooks to invoice shown paid, p95",
            p95,
            "s",
            [p95],
            f"{len(latencies)} payments",
            goal="< 2 s",
            met=p95 < 2.0,
            command=command,
        ),
    ]
    if peak:
        figures.append(
            Figure(
                "`hub serve` peak memory (payments)",
                peak / 1024,
                "MiB",
                [peak / 1024],
                command=command,
            )
        )
    return figures


def main() -> None:
    """Run and print."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--payments", type=int, default=30)
    parser.add_argument("--quick", action="store_true", help="10 payments")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    figures = run(10 if args.quick else args.payments)
    print_figures("Payment to portal", figures)
    if args.json:
        write_json(args.json, figures)


if __name__ == "__main__":
    main()
