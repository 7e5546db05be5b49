"""Cost growth: time and memory for one batch of 100, 1,000 and 10,000 invoices.

What grows here is the hub's own work (validating and storing the batch, building
payloads, recording results, answering the polls), so the emulator runs without
QuickBooks' limits and without added latency: with them, every size would simply
take as long as the limits say. ``hub serve --no-worker`` answers the API and a
separate ``hub worker`` pushes; each run starts a fresh worker, so its peak memory
(VmHWM) belongs to that batch alone. Every run pushes to a fresh company.

Growth is linear when the time per invoice and the memory per invoice do not rise
with the size: the figures compare 10,000 with 1,000 invoices.

Run: ``.venv/bin/python bench/bench_growth.py [--quick] [--postgres]``
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(1, str(HERE.parent / "drills"))

from checks import make_batch, wait_batches  # noqa: E402
from common import Figure, median, print_figures, rss_peak_kib, write_json  # noqa: E402
from harness import Stack  # noqa: E402
from results import DrillResult  # noqa: E402

#: Allowed rise of the per-invoice cost from 1,000 to 10,000 invoices before the
#: growth counts as worse than linear (fixed costs make small batches dearer per
#: invoice, never cheaper, so a linear cost stays under 1).
LINEAR_SLACK = 1.25


def one_run(stack: Stack, size: int, n: int) -> dict[str, float]:
    """Push one batch of ``size`` invoices with a fresh worker; time and memory."""
    [tenant] = stack.tenants(1, f"Growth {size}-{n}")
    org, realm = tenant.org, tenant.realm
    document = make_batch(size, f"G{size}-{n}", participants=100)
    worker = stack.worker(f"worker-{size}-{n}", concurrency=4)
    assert worker.popen is not None
    try:
        started = dt.datetime.now(dt.UTC)
        posted = time.perf_counter()
        batch_id = org.push(document)
        post_seconds = time.perf_counter() - posted
        wait_batches(org, [batch_id], timeout=1800)
        seconds = (stack.batch_finished_at(batch_id) - started).total_seconds()
        worker_peak = rss_peak_kib(worker.popen.pid) / 1024
    finally:
        worker.stop()
    if stack.emulator.count("Invoice", realm) != size:
        raise RuntimeError(f"the company does not hold exactly {size} invoices")
    return {"seconds": seconds, "post": post_seconds, "worker_mib": worker_peak}


def run(sizes: list[int], runs: int, postgres: bool) -> list[Figure]:
    """Every size, ``runs`` times, on one stack."""
    command = (
        f".venv/bin/python bench/bench_growth.py --sizes {','.join(map(str, sizes))} "
        f"--runs {runs}" + (" --postgres" if postgres else "")
    )
    database = "PostgreSQL" if postgres else "SQLite"
    figures: list[Figure] = []
    per_invoice: dict[int, float] = {}
    memory: dict[int, float] = {}
    result = DrillResult("bench_growth", "cost growth")
    with Stack(
        "bench-growth", result, postgres=postgres, extra_env={"QUICKBOOKS_RATE_LIMITS": "off"}
    ) as stack:
        web = stack.serve(worker=False)
        assert web.popen is not None
        for size in sizes:
            measured = [one_run(stack, size, n) for n in range(runs)]
            seconds = [m["seconds"] for m in measured]
            per_invoice[size] = median(seconds) / size
            memory[size] = median([m["worker_mib"] for m in measured])
            figures += [
                Figure(
                    f"{size:,} invoices: POST to all synced ({database})",
                    median(seconds),
                    "s",
                    seconds,
                    f"{size / median(seconds):.0f} invoices/s; "
                    f"{per_invoice[size] * 1000:.2f} ms per invoice; the POST alone "
                    f"{median([m['post'] for m in measured]):.2f} s",
                    command=command,
                ),
                Figure(
                    f"{size:,} invoices: `hub worker` peak memory",
                    memory[size],
                    "MiB",
                    [m["worker_mib"] for m in measured],
                    "fresh worker process per run (VmHWM)",
                    command=command,
                ),
            ]
        web_peak = rss_peak_kib(web.popen.pid) / 1024
    figures.append(
        Figure(
            "`hub serve` peak memory over all sizes",
            web_peak,
            "MiB",
            [web_peak],
            f"the API took every batch, up to {max(sizes):,} invoices in one POST",
            command=command,
        )
    )
    if len(sizes) >= 2:
        small, large = sizes[-2], sizes[-1]
        time_ratio = per_invoice[large] / per_invoice[small]
        memory_ratio = memory[large] / memory[small]
        figures += [
            Figure(
                f"time per invoice, {large:,} vs {small:,}",
                time_ratio,
                "x",
                [time_ratio],
                f"{per_invoice[large] * 1000:.2f} vs {per_invoice[small] * 1000:.2f} ms",
                goal=f"<= {LINEAR_SLACK} (linear)",
                met=time_ratio <= LINEAR_SLACK,
                command=command,
            ),
            Figure(
                f"worker peak memory, {large:,} vs {small:,}",
                memory_ratio,
                "x",
                [memory_ratio],
                f"{memory[large]:.0f} vs {memory[small]:.0f} MiB for {large // small}x "
                "the invoices (pushed 500 at a time)",
                goal=f"<= {large // small} (linear)",
                met=memory_ratio <= large / small,
                command=command,
            ),
        ]
    return figures


def main() -> None:
    """Run and print."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="100,1000,10000")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--postgres", action="store_true")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    if args.quick:
        sizes, args.runs = [100, 1000], 1
    figures = run(sizes, args.runs, args.postgres)
    print_figures("Cost growth", figures)
    if args.json:
        write_json(args.json, figures)


if __name__ == "__main__":
    main()
