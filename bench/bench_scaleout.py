"""Scale-out on PostgreSQL: two ``hub serve`` and one to three ``hub worker`` processes.

One PostgreSQL database; two web processes (``--no-worker``) share the API calls,
and 1, 2 and then 3 worker processes push. Each round connects fresh companies
and pushes one batch to each of them at once, through both web processes, with
the emulator at QuickBooks' real limits and 150 ms added to every request. Per
round it records:

* throughput, from the first POST to the moment the hub recorded the last batch
  synced, and how many of the machine's cores were busy meanwhile (everything:
  hub, emulator, PostgreSQL, this script);
* that every company's limits held across the processes: no request throttled,
  and the emulator's peak of concurrent requests per company within 10;
* that no job ran twice (each push job finished after exactly one claim, with
  no lease taken over) and every company holds exactly one invoice each.

Run: ``.venv/bin/python bench/bench_scaleout.py [--quick]``
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
from pathlib import Path
from typing import Any

import httpx

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(1, str(HERE.parent / "drills"))

from bench_sync import LATENCY_MS  # noqa: E402
from checks import make_batch, wait_batches  # noqa: E402
from common import Figure, free_port, median, print_figures, rss_peak_kib, write_json  # noqa: E402
from harness import Stack  # noqa: E402
from results import DrillFailure, DrillResult  # noqa: E402

CORES = os.cpu_count() or 1


def busy_and_total() -> tuple[int, int]:
    """The machine's CPU time so far, busy and in all (jiffies, every core)."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle, iowait
    return sum(fields) - idle, sum(fields)


def one_round(
    stack: Stack, webs: list[str], workers: int, companies: int, per_company: int, tag: str
) -> dict[str, Any]:
    """Push one batch to each of ``companies`` fresh companies with ``workers`` workers."""
    tenants = stack.tenants(companies, f"Scale {tag}")
    connections = [t.connection_id for t in tenants]
    # Each organization's API calls go to one of the web processes, in turn.
    members = [
        (
            t.org,
            t.realm,
            httpx.Client(base_url=webs[c % len(webs)], timeout=120, headers=t.org.api.headers),
        )
        for c, t in enumerate(tenants)
    ]
    procs = [stack.worker(f"worker-{tag}-{n}", concurrency=8) for n in range(workers)]
    busy_before, total_before = busy_and_total()
    started = dt.datetime.now(dt.UTC)
    ids = []
    for c, (_org, _realm, api) in enumerate(members):
        answer = api.post(
            "/api/v1/invoice-batches", json=make_batch(per_company, f"SC{tag}-{c:02d}")
        )
        if answer.status_code != 201:
            raise DrillFailure(f"batch refused: {answer.status_code} {answer.text[:300]}")
        ids.append(int(answer.json()["id"]))
    for (org, _realm, _api), batch_id in zip(members, ids, strict=True):
        wait_batches(org, [batch_id], timeout=900)
    finished = max(stack.batch_finished_at(batch_id) for batch_id in ids)
    seconds = (finished - started).total_seconds()
    busy_after, total_after = busy_and_total()
    # Every process counts: hub, emulator, PostgreSQL and the benchmark itself.
    cores = (busy_after - busy_before) / (total_after - total_before) * CORES
    worker_peak = max(rss_peak_kib(p.popen.pid) for p in procs if p.popen) / 1024
    for proc in procs:
        proc.stop()
    for _org, _realm, api in members:
        api.close()

    realms = [realm for _org, realm, _api in members]
    stats = stack.emulator.stats()
    jobs = stack.rows(
        "SELECT attempts, state FROM job WHERE kind = 'push_batch' AND connection_id = ANY(:ids)",
        ids=connections,
    )
    return {
        "seconds": seconds,
        "rate": companies * per_company / seconds,
        "cores": cores,
        "worker_mib": worker_peak,
        "throttled": sum(stats["throttled"]["by_company"].get(r, 0) for r in realms),
        "peak": max(stats["peak_concurrency"].get(r, 0) for r in realms),
        "exact": all(stack.emulator.count("Invoice", r) == per_company for r in realms),
        "jobs": len(jobs),
        "claimed_once": all(attempts == 1 and state == "succeeded" for attempts, state in jobs),
        "taken_over": stack.logs_containing("taking it over"),
    }


def run(companies: int, per_company: int, max_workers: int, runs: int) -> list[Figure]:
    """Rounds with 1 .. ``max_workers`` workers, ``runs`` times each."""
    command = (
        f".venv/bin/python bench/bench_scaleout.py --companies {companies} "
        f"--per-company {per_company} --workers {max_workers} --runs {runs}"
    )
    figures: list[Figure] = []
    result = DrillResult("bench_scaleout", "scale-out")
    with Stack("bench-scaleout", result, postgres=True, limits=True) as stack:
        stack.emulator.control("POST", "latency", json={"ms": LATENCY_MS})
        second_port = free_port()
        stack.serve(worker=False, name="web-1")
        stack.serve(worker=False, name="web-2", port=second_port)
        webs = [stack.base_url, f"http://127.0.0.1:{second_port}"]
        rounds: dict[int, list[dict[str, Any]]] = {}
        for workers in range(1, max_workers + 1):
            rounds[workers] = [
                one_round(stack, webs, workers, companies, per_company, f"{workers}w{n}")
                for n in range(runs)
            ]
    base = median([r["rate"] for r in rounds[1]])
    for workers, measured in rounds.items():
        rates = [r["rate"] for r in measured]
        safe = all(
            r["throttled"] == 0
            and r["peak"] <= 10
            and r["exact"]
            and r["claimed_once"]
            and r["jobs"] == companies
            and r["taken_over"] == 0
            for r in measured
        )
        figures.append(
            Figure(
                f"{workers} worker{'s' if workers > 1 else ''}: {companies} companies x "
                f"{per_company} invoices",
                median(rates),
                "invoices/s",
                rates,
                f"{median(rates) / base:.2f}x one worker; machine's cores busy "
                f"{median([r['cores'] for r in measured]):.2f} of {CORES}; worker peak "
                f"{max(r['worker_mib'] for r in measured):.0f} MiB; throttled "
                f"{sum(r['throttled'] for r in measured)}; peak concurrency per company "
                f"{max(r['peak'] for r in measured)}; push jobs claimed once "
                f"{sum(r['jobs'] for r in measured if r['claimed_once'])}/"
                f"{sum(r['jobs'] for r in measured)}; exact counts "
                f"{all(r['exact'] for r in measured)}",
                goal="limits hold, no job twice",
                met=safe,
                command=command,
            )
        )
    return figures


def main() -> None:
    """Run and print."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--companies", type=int, default=12)
    parser.add_argument("--per-company", type=int, default=300)
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    if args.quick:
        args.companies, args.per_company, args.runs = 6, 100, 1
    figures = run(args.companies, args.per_company, args.workers, args.runs)
    print_figures("Scale-out on PostgreSQL", figures)
    if args.json:
        write_json(args.json, figures)


if __name__ == "__main__":
    main()
