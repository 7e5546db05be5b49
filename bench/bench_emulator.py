"""Requests per second of the QuickBooks emulator on one core.

The emulator runs in its own process (uvicorn, limits off) pinned to one CPU; the load
generator (httpx.AsyncClient, many concurrent requests over keep-alive connections)
runs in another process pinned to a different CPU when there is one, so it does not
steal the emulator's core. Prints a Markdown table row.

    .venv/bin/python bench/bench_emulator.py [--seconds 10] [--concurrency 32]
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import statistics
import sys
import time
from multiprocessing.connection import Connection
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import httpx

CLIENT_ID = "ABbenchclient"
CLIENT_SECRET = "bench-secret"
REDIRECT_URI = "http://localhost/bench/callback"


def _pin(cpu: int) -> None:
    cpus = sorted(os.sched_getaffinity(0))
    os.sched_setaffinity(0, {cpus[cpu % len(cpus)]})


def _serve(port: int) -> None:
    _pin(0)
    import uvicorn
    from hub_quickbooks.emulator import create_app

    app = create_app(
        limits=False,
        auto_consent=True,
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        redirect_uris=[REDIRECT_URI],
    )
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


def _connect(base_url: str, server: multiprocessing.Process) -> tuple[str, str]:
    """Go through the OAuth flow once; returns (access token, realm id)."""
    deadline = time.monotonic() + 30
    with httpx.Client(base_url=base_url, timeout=10) as http:
        while True:
            try:
                http.get("/.well-known/openid_configuration")
                break
            except httpx.TransportError:
                if not server.is_alive():
                    sys.exit("the emulator did not start (see its error above)")
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        consent = http.get(
            "/connect/oauth2",
            params={
                "client_id": CLIENT_ID,
                "response_type": "code",
                "scope": "com.intuit.quickbooks.accounting",
                "redirect_uri": REDIRECT_URI,
                "state": "bench",
            },
        )
        query = parse_qs(urlparse(consent.headers["location"]).query)
        tokens = http.post(
            "/oauth2/v1/tokens/bearer",
            data={
                "grant_type": "authorization_code",
                "code": query["code"][0],
                "redirect_uri": REDIRECT_URI,
            },
            auth=(CLIENT_ID, CLIENT_SECRET),
        )
        tokens.raise_for_status()
        return str(tokens.json()["access_token"]), query["realmId"][0]


async def _load(
    url: str, token: str, concurrency: int, seconds: float
) -> tuple[int, list[float], int]:
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
    # httpcore scans its whole pool on every request; several small pools keep the load
    # generator from becoming the bottleneck.
    per_client = 4
    clients = [
        httpx.AsyncClient(
            headers=headers,
            limits=httpx.Limits(max_connections=per_client, max_keepalive_connections=per_client),
            timeout=30,
        )
        for _ in range((concurrency + per_client - 1) // per_client)
    ]
    latencies: list[float] = []
    errors = 0
    warm_until = time.perf_counter() + 1.0
    end = warm_until + seconds

    async def worker(client: httpx.AsyncClient) -> None:
        nonlocal errors
        while True:
            started = time.perf_counter()
            if started >= end:
                return
            response = await client.get(url)
            finished = time.perf_counter()
            if started >= warm_until:
                if response.status_code == 200:
                    latencies.append(finished - started)
                else:
                    errors += 1

    try:
        await asyncio.gather(*(worker(clients[i // per_client]) for i in range(concurrency)))
    finally:
        for client in clients:
            await client.aclose()
    return len(latencies), latencies, errors


def _generate(url: str, token: str, concurrency: int, seconds: float, out: Connection) -> None:
    _pin(1)
    count, latencies, errors = asyncio.run(_load(url, token, concurrency, seconds))
    out.send((count, latencies, errors))
    out.close()


def main() -> None:
    """Run the benchmark and print one Markdown table row."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--json", type=Path, help="also save the figure for docs/BENCHMARKS.md")
    args = parser.parse_args()

    from hub.servers import free_port

    port = args.port or free_port()
    base_url = f"http://127.0.0.1:{port}"
    server = multiprocessing.Process(target=_serve, args=(port,), daemon=True)
    server.start()
    try:
        token, realm = _connect(base_url, server)
        url = f"{base_url}/v3/company/{realm}/companyinfo/{realm}?minorversion=75"
        receiving, sending = multiprocessing.Pipe(duplex=False)
        loader = multiprocessing.Process(
            target=_generate, args=(url, token, args.concurrency, args.seconds, sending)
        )
        loader.start()
        count, latencies, errors = receiving.recv()
        loader.join()
    finally:
        server.terminate()
        server.join(5)
    if not latencies:
        sys.exit("no successful requests")
    latencies.sort()
    p50 = statistics.median(latencies) * 1000
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000
    rate = count / args.seconds
    print("| benchmark | concurrency | requests | errors | requests/s | p50 ms | p99 ms |")
    print("|---|---|---|---|---|---|---|")
    print(
        f"| emulator GET companyinfo (1 core, limits off) | {args.concurrency} | {count} "
        f"| {errors} | {rate:.0f} | {p50:.1f} | {p99:.1f} |"
    )
    if args.json:
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        from common import Figure, write_json

        write_json(
            args.json,
            [
                Figure(
                    "emulator, simple API reads (1 core, limits off, 32 concurrent)",
                    rate,
                    "requests/s",
                    [rate],
                    reference=f"p50 {p50:.1f} ms, p99 {p99:.1f} ms, {errors} errors",
                    goal=">= 1,000/s",
                    met=rate >= 1000,
                    command=f".venv/bin/python bench/bench_emulator.py --seconds {args.seconds:g}",
                )
            ],
        )


if __name__ == "__main__":
    main()
