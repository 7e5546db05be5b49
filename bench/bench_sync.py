"""Outbound sync: invoices pushed to QuickBooks at QuickBooks' real limits.

The emulator enforces QuickBooks' limits (10 concurrent and 10 a second per app and
company, 500 a minute per company, 40 batch requests a minute) and adds 150 ms to
every request. Measured in one run:

1. the hub pushing one 1,000-invoice batch to one company, from the POST to the
   moment the hub recorded the batch synced, against the ceiling those limits allow
   for the requests the hub needed;
2. a straightforward python-quickbooks loop saving one invoice at a time (customers
   and items cached in dictionaries, as a careful script would) on a fresh company;
3. twenty companies with 200 invoices each, pushed in parallel, with no company
   throttled.

Each part runs several times, each time on fresh companies. The ceiling is the
least time those limits allow for the requests the push made: with R requests, B
of them to ``/batch``, at least R / 10 seconds, (R - 500) / 500 minutes beyond
the first minute's 500, (B - 40) / 40 minutes beyond the first 40 batch requests,
and never less than one request's 150 ms. The requests per invoice are shown
beside it: the hub keeps them low (lookups 30 names a query, creations 30 a
``/batch`` request, no reads for the webhooks that echo its own writes), which makes
the push faster and the ceiling stricter.

Run: ``.venv/bin/python bench/bench_sync.py [--quick]``
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(1, str(HERE.parent / "drills"))

from checks import make_batch, wait_batches  # noqa: E402
from common import (  # noqa: E402
    PROVIDER_LATENCY_MS,
    Figure,
    median,
    print_figures,
    write_json,
)
from harness import Stack  # noqa: E402
from results import DrillResult  # noqa: E402

LATENCY_MS = PROVIDER_LATENCY_MS
PER_SECOND = 10
PER_MINUTE = 500
BATCH_PER_MINUTE = 40


def requests_by_kind(stats: dict[str, Any]) -> tuple[int, int]:
    """(all API requests, batch requests) answered 200 so far."""
    total = batch = 0
    for path, statuses in stats["requests"].items():
        if "/v3/company/" not in path:
            continue
        count = sum(n for status, n in statuses.items() if status == "200")
        total += count
        if path.rstrip("/").endswith("/batch"):
            batch += count
    return total, batch


def ceiling_seconds(total: int, batch: int) -> float:
    """The least time QuickBooks' limits allow for these requests (one company).

    At most 10 a second and 500 a minute overall, at most 40 batch requests a minute,
    each taking at least the added latency: the tightest of these bounds.
    """
    bounds = [total / PER_SECOND, LATENCY_MS / 1000]
    if total > PER_MINUTE:
        bounds.append((total - PER_MINUTE) / PER_MINUTE * 60)
    if batch > BATCH_PER_MINUTE:
        bounds.append((batch - BATCH_PER_MINUTE) / BATCH_PER_MINUTE * 60)
    return max(bounds)


def python_quickbooks_loop(stack: Stack, n: int, count: int) -> float:
    """Save ``count`` invoices one at a time with python-quickbooks; invoices/s."""
    from intuitlib.client import AuthClient
    from intuitlib.enums import Scopes
    from quickbooks import QuickBooks
    from quickbooks.objects.customer import Customer
    from quickbooks.objects.detailline import SalesItemLine, SalesItemLineDetail
    from quickbooks.objects.invoice import Invoice
    from quickbooks.objects.item import Item
    from quickbooks.objects.taxcode import TaxCode

    os.environ["OAUTHLIB_INSECURE_TRANSPORT"] = "1"
    realm = stack.emulator.add_company(f"Script Company {n} Pty Ltd")
    redirect = "http://localhost/script/callback"
    client_id = f"ABscript{n}"
    stack.emulator.control(
        "POST",
        "apps",
        json={
            "client_id": client_id,
            "client_secret": "script-secret",
            "redirect_uris": [redirect],
        },
    )
    base = stack.emulator.base_url
    auth = AuthClient(
        client_id, "script-secret", redirect, f"{base}/.well-known/openid_sandbox_configuration/"
    )
    url = auth.get_authorization_url([Scopes.ACCOUNTING])
    params = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
    answer = httpx.post(
        url.split("?")[0], data={**params, "realm_id": realm, "decision": "connect"}
    )
    code = parse_qs(urlsplit(answer.headers["location"]).query)["code"][0]
    auth.get_bearer_token(code, realm_id=realm)
    qb = QuickBooks(
        auth_client=auth, refresh_token=auth.refresh_token, company_id=realm, minorversion=75
    )
    qb.api_url_v3 = qb.sandbox_api_url_v3 = f"{base}/v3"
    batch = make_batch(count, f"PQB{n}", participants=100)
    # An Australian company refuses a line without a tax code: read the company's own
    # GST-free code once, as a careful script would.
    [gst_free] = TaxCode.filter(Name="GST-free", qb=qb)
    customers: dict[str, Any] = {}
    items: dict[str, Any] = {}
    started = time.perf_counter()
    for data in batch["invoices"]:
        person = data["participant"]
        if person["id"] not in customers:
            customer = Customer()
            customer.DisplayName = person["name"]
            customers[person["id"]] = customer.save(qb=qb)
        invoice = Invoice()
        invoice.DocNumber = data["number"]
        invoice.CustomerRef = customers[person["id"]].to_ref()
        for line_data in data["lines"]:
            code_ = line_data["item_code"]
            if code_ not in items:
                item = Item()
                item.Name = code_
                item.Type = "Service"
                item.IncomeAccountRef = {"value": "1"}
                items[code_] = item.save(qb=qb)
            line = SalesItemLine()
            line.Description = line_data["description"]
            qty, price = float(line_data["quantity"]), float(line_data["unit_price"])
            line.Amount = round(qty * price, 2)
            line.SalesItemLineDetail = SalesItemLineDetail()
            line.SalesItemLineDetail.ItemRef = items[code_].to_ref()
            line.SalesItemLineDetail.Qty = qty
            line.SalesItemLineDetail.UnitPrice = price
            line.SalesItemLineDetail.TaxCodeRef = gst_free.to_ref()
            invoice.Line.append(line)
        while True:
            try:
                invoice.save(qb=qb)
                break
            except Exception as err:  # a plain script waits out throttling and goes on
                if "429" in str(err) or "Throttle" in str(err) or "json" in str(err).lower():
                    time.sleep(1)
                    continue
                raise
    elapsed = time.perf_counter() - started
    assert stack.emulator.count("Invoice", realm) == count
    return count / elapsed


def push_one_company(stack: Stack, n: int, size: int) -> dict[str, float]:
    """Push one ``size``-invoice batch to a fresh company; its time and requests."""
    [tenant] = stack.tenants(1, f"Sync Benchmark {n}")
    org, realm = tenant.org, tenant.realm
    before = requests_by_kind(stack.emulator.stats())
    document = make_batch(size, f"ONE{n}", participants=100)
    started = dt.datetime.now(dt.UTC)
    batch_id = org.push(document)
    wait_batches(org, [batch_id], timeout=900)
    seconds = (stack.batch_finished_at(batch_id) - started).total_seconds()
    after = requests_by_kind(stack.emulator.stats())
    total, batch = after[0] - before[0], after[1] - before[1]
    if stack.emulator.count("Invoice", realm) != size:
        raise RuntimeError("the company does not hold exactly one invoice each")
    return {
        "seconds": seconds,
        "requests": total,
        "batch_requests": batch,
        "floor": ceiling_seconds(total, batch),
        "throttled": stack.emulator.stats()["throttled"]["by_company"].get(realm, 0),
    }


def push_in_parallel(stack: Stack, n: int, companies: int, per_company: int) -> dict[str, Any]:
    """Push ``per_company`` invoices to each of ``companies`` fresh companies at once."""
    orgs = [(t.org, t.realm) for t in stack.tenants(companies, f"Parallel {n}")]
    started = dt.datetime.now(dt.UTC)
    ids = [
        (member, company, member.push(make_batch(per_company, f"PAR{n}-{c:02d}")))
        for c, (member, company) in enumerate(orgs)
    ]
    for member, _company, batch_id in ids:
        wait_batches(member, [batch_id], timeout=900)
    finished = max(stack.batch_finished_at(batch_id) for _, _, batch_id in ids)
    stats = stack.emulator.stats()
    return {
        "seconds": (finished - started).total_seconds(),
        "throttled": sum(stats["throttled"]["by_company"].get(c, 0) for _, c, _ in ids),
        "peak": max((stats["peak_concurrency"].get(c, 0) for _, c, _ in ids), default=0),
        "exact": all(stack.emulator.count("Invoice", c) == per_company for _, c, _ in ids),
    }


def run(size: int, companies: int, per_company: int, loop_size: int, runs: int) -> list[Figure]:
    """All three parts, ``runs`` times each, in one run on one machine."""
    result = DrillResult("bench_sync", "outbound sync")
    command = (
        f".venv/bin/python bench/bench_sync.py --size {size} --companies {companies} "
        f"--per-company {per_company} --loop {loop_size} --runs {runs}"
    )
    with Stack("bench-sync", result, limits=True) as stack:
        stack.emulator.control("POST", "latency", json={"ms": LATENCY_MS})
        stack.serve(worker=True)
        singles = [push_one_company(stack, n, size) for n in range(runs)]
        loops = [python_quickbooks_loop(stack, n, loop_size) for n in range(runs)]
        parallel = [push_in_parallel(stack, n, companies, per_company) for n in range(runs)]

    rates = [size / s["seconds"] for s in singles]
    shares = [s["floor"] / s["seconds"] * 100 for s in singles]
    typical = sorted(singles, key=lambda s: s["seconds"])[len(singles) // 2]
    speedups = [rate / loop for rate, loop in zip(rates, loops, strict=True)]
    parallel_rates = [companies * per_company / p["seconds"] for p in parallel]
    throttled = sum(s["throttled"] for s in singles) + sum(p["throttled"] for p in parallel)
    return [
        Figure(
            f"one company, {size}-invoice batch, POST to all synced",
            median(rates),
            "invoices/s",
            rates,
            f"{typical['seconds']:.1f} s (median run); throttled "
            f"{sum(s['throttled'] for s in singles)}",
            command=command,
        ),
        Figure(
            "share of the ceiling QuickBooks' limits allow",
            median(shares),
            "%",
            shares,
            f"ceiling {size / typical['floor']:.1f} invoices/s",
            goal=">= 80%",
            met=median(shares) >= 80,
            command=command,
            notes=(
                f"the push took {typical['requests']} requests ({typical['batch_requests']} "
                f"of them /batch), {typical['requests'] / size:.3f} per invoice; at 10 a "
                f"second, 500 a minute, 40 batch requests a minute and {LATENCY_MS} ms "
                f"each, they need at least {typical['floor']:.1f} s"
            ),
        ),
        Figure(
            "python-quickbooks loop, one invoice at a time",
            median(loops),
            "invoices/s",
            loops,
            f"{loop_size} invoices on a fresh company",
            command=command,
        ),
        Figure(
            "hub speed-up over the loop",
            median(speedups),
            "x",
            speedups,
            "same limits and latency",
            goal=">= 3x",
            met=median(speedups) >= 3,
            command=command,
        ),
        Figure(
            f"{companies} companies x {per_company} invoices in parallel",
            median(parallel_rates),
            "invoices/s",
            parallel_rates,
            f"throttled {sum(p['throttled'] for p in parallel)}; peak concurrency per "
            f"company {max(p['peak'] for p in parallel)}; exact counts "
            f"{all(p['exact'] for p in parallel)}",
            goal="no company throttled",
            met=throttled == 0 and all(p["exact"] for p in parallel),
            command=command,
        ),
    ]


def main() -> None:
    """Run and print."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--size", type=int, default=1000)
    parser.add_argument("--companies", type=int, default=20)
    parser.add_argument("--per-company", type=int, default=200)
    parser.add_argument("--loop", type=int, default=100)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    if args.quick:
        args.size, args.companies, args.per_company, args.loop, args.runs = 300, 5, 60, 30, 1
    figures = run(args.size, args.companies, args.per_company, args.loop, args.runs)
    print_figures("Outbound sync", figures)
    if args.json:
        write_json(args.json, figures)


if __name__ == "__main__":
    main()
