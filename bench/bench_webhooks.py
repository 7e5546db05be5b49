"""Webhook ingress: signed QuickBooks deliveries into one ``hub serve`` process.

Compared in the same run with ``bench/reference_webhook.py`` (a bare Starlette app
that verifies the same HMAC and inserts one SQLite row). Goal: the hub reaches at
least 60% of the reference's deliveries per second, with p99 under 50 ms, at 32
concurrent senders.

Run: ``.venv/bin/python bench/bench_webhooks.py [--deliveries 2000] [--runs 3]``
"""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import hashlib
import hmac
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import (
    HUB,
    PYTHON,
    ROOT,
    Figure,
    free_port,
    hub_env,
    median,
    print_figures,
    process,
    rss_peak_kib,
    wait_http,
    wrk_load,
)

TOKEN = "bench-verifier-token"
CONCURRENCY = 32


def deliveries(count: int, realm: str = "9341453474484455") -> list[tuple[bytes, dict[str, str]]]:
    """Distinct signed legacy-format deliveries, as QuickBooks sends them."""
    base = dt.datetime(2026, 11, 23, tzinfo=dt.UTC)
    prepared = []
    for n in range(count):
        when = (base + dt.timedelta(seconds=n)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
        body = json.dumps(
            {
                "eventNotifications": [
                    {
                        "realmId": realm,
                        "dataChangeEvent": {
                            "entities": [
                                {
                                    "name": "Invoice",
                                    "id": str(1000 + n),
                                    "operation": "Update",
                                    "lastUpdated": when,
                                }
                            ]
                        },
                    }
                ]
            },
            separators=(",", ":"),
        ).encode()
        signature = base64.b64encode(hmac.new(TOKEN.encode(), body, hashlib.sha256).digest())
        prepared.append(
            (body, {"intuit-signature": signature.decode(), "Content-Type": "application/json"})
        )
    return prepared


def run(seconds: float, runs: int) -> list[Figure]:
    """Measure both endpoints ``runs`` times, alternating, and return the figures."""
    work = Path(tempfile.mkdtemp(prefix="bench-webhooks-"))
    prepared = deliveries(2000)
    env = hub_env(work, QUICKBOOKS_WEBHOOK_VERIFIER_TOKEN=TOKEN)
    subprocess.run([HUB, "migrate"], env={**os.environ, **env}, check=True, capture_output=True)
    hub_port, ref_port = free_port(), free_port()
    hub_url = f"http://127.0.0.1:{hub_port}/webhooks/quickbooks"
    ref_url = f"http://127.0.0.1:{ref_port}/webhooks/quickbooks"
    hub_runs: list[dict[str, Any]] = []
    ref_runs: list[dict[str, Any]] = []
    with (
        process(
            [HUB, "serve", "--port", str(hub_port)],
            env=env,
            url=f"http://127.0.0.1:{hub_port}/healthz",
        ) as hub,
        process(
            [
                PYTHON,
                str(ROOT / "bench" / "reference_webhook.py"),
                "--port",
                str(ref_port),
                "--db",
                str(work / "ref.db"),
                "--token",
                TOKEN,
            ]
        ),
    ):
        wait_http(f"http://127.0.0.1:{ref_port}/")
        for url in (ref_url, hub_url):  # warm up
            wrk_load(url, prepared[:100], concurrency=4, seconds=1)
        for _ in range(runs):
            ref_runs.append(wrk_load(ref_url, prepared, concurrency=CONCURRENCY, seconds=seconds))
            hub_runs.append(wrk_load(hub_url, prepared, concurrency=CONCURRENCY, seconds=seconds))
        peak = rss_peak_kib(hub.pid)
    for result in hub_runs + ref_runs:
        if result["errors"]:
            raise RuntimeError(f"non-200 answers during the benchmark:\n{result['raw']}")
    hub_rates = [r["per_second"] for r in hub_runs]
    ref_rates = [r["per_second"] for r in ref_runs]
    hub_p99 = [r["p99_ms"] for r in hub_runs]
    ratio = median(hub_rates) / median(ref_rates)
    command = f".venv/bin/python bench/bench_webhooks.py --seconds {seconds:g} --runs {runs}"
    reference = (
        f"reference endpoint {median(ref_rates):.0f}/s, "
        f"p50 {median([r['p50_ms'] for r in ref_runs]):.1f} ms, "
        f"p99 {median([r['p99_ms'] for r in ref_runs]):.1f} ms"
    )
    return [
        Figure(
            "webhook ingress, one `hub serve` process, 32 senders",
            median(hub_rates),
            "deliveries/s",
            hub_rates,
            reference,
            command=command,
        ),
        Figure(
            "webhook ingress, share of the reference",
            ratio * 100,
            "%",
            [h / r * 100 for h, r in zip(hub_rates, ref_rates, strict=True)],
            reference,
            goal=">= 60%",
            met=ratio >= 0.6,
            command=command,
        ),
        Figure(
            "webhook ingress p50 latency",
            median([r["p50_ms"] for r in hub_runs]),
            "ms",
            [r["p50_ms"] for r in hub_runs],
            reference,
            command=command,
        ),
        Figure(
            "webhook ingress p99 latency",
            median(hub_p99),
            "ms",
            hub_p99,
            reference,
            goal="< 50 ms",
            met=median(hub_p99) < 50,
            command=command,
        ),
        Figure(
            "`hub serve` peak memory (webhook load)",
            peak / 1024,
            "MiB",
            [peak / 1024],
            command=command,
        ),
    ]


def main() -> None:
    """Run and print."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    figures = run(args.seconds, args.runs)
    print_figures("Webhook ingress", figures)
    if args.json:
        from common import write_json

        write_json(args.json, figures)


if __name__ == "__main__":
    main()
