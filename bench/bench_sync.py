"""Outbound sync: invoices pushed to QuickBooks at QuickBooks' real limits.

The emulator enforces QuickBooks' limits (10 concurrent and 10 a second per app and
company, 500 a minute per company, 40 batch requests a minute) and adds 50 ms to
every request. Measured in one run:

1. the hub pushing one 1,000-invoice batch to one company, against the ceiling
   those limits allow for the requests the hub needed;
2. a straightforward python-quickbooks loop saving one invoice at a time (customers
   and items cached in dictionaries, as a careful script would) on a fresh company;
3. twenty companies with 200 invoices each, pushed in parallel, with no company
   throttled.

Run: ``.venv/bin/python bench/bench_sync.py [--quick]``
"""

from __future__ import annotations

import argparse
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
from common import Figure, print_figures, write_json  # noqa: E402
from harness import Stack  # noqa: E402
from results import DrillResult  # noqa: E402

LATENCY_MS = 50
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


def python_quickbooks_loop(stack: Stack, count: int) -> float:
    """Save ``count`` invoices one at a time with python-quickbooks; invoices/s."""
    from intuitlib.client import AuthClient
    from intuitlib.enums import Scopes
    from quickbooks import QuickBooks
    from quickbooks.objects.customer import Customer
    from quickbooks.objects.detailline import SalesItemLine, SalesItemLineDetail
    from quickbooks.objects.invoice import Invoice
    from quickbooks.objects.item import Item

    os.environ["OAUTHLIB_INSECURE_TRANSPORT"] = "1"
    realm = stack.emulator.add_company("Script Company Pty Ltd")
    redirect = "http://localhost/script/callback"
    stack.emulator.control(
        "POST",
        "apps",
        json={
            "client_id": "ABscript",
            "client_secret": "script-secret",
            "redirect_uris": [redirect],
        },
    )
    base = stack.emulator.base_url
    auth = AuthClient(
        "ABscript", "script-secret", redirect, f"{base}/.well-known/openid_sandbox_configuration/"
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
    batch = make_batch(count, "PQB", participants=100)
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


def run(size: int, companies: int, per_company: int, loop_size: int) -> list[Figure]:
    """All three parts, in one run on one machine."""
    result = DrillResult("bench_sync", "outbound sync")
    command = (
        f".venv/bin/python bench/bench_sync.py --size {size} --companies {companies} "
        f"--per-company {per_company} --loop {loop_size}"
    )
    figures: list[Figure] = []
    with Stack("bench-sync", result, limits=True) as stack:
        stack.emulator.control("POST", "latency", json={"ms": LATENCY_MS})
        stack.serve(worker=True)
        org = stack.org("Sync Benchmark")
        realm = stack.emulator.first_realm()
        stack.connect(org, realm)
        before = requests_by_kind(stack.emulator.stats())
        started = time.perf_counter()
        batch_id = org.push(make_batch(size, "ONE", participants=100))
        wait_batches(org, [batch_id], timeout=900)
        hub_seconds = time.perf_counter() - started
        after = requests_by_kind(stack.emulator.stats())
        total, batch = after[0] - before[0], after[1] - before[1]
        floor = ceiling_seconds(total, batch)
        assert stack.emulator.count("Invoice", realm) == size, "duplicates or losses"
        throttled = stack.emulator.stats()["throttled"]["by_company"].get(realm, 0)
        hub_rate = size / hub_seconds
        figures += [
            Figure(
                f"one company, {size}-invoice batch, POST to all synced",
                hub_rate,
                "invoices/s",
                [hub_rate],
                f"{hub_seconds:.1f} s; throttled {throttled}",
                command=command,
            ),
            Figure(
                "share of the ceiling QuickBooks' limits allow",
                floor / hub_seconds * 100,
                "%",
                [floor / hub_seconds * 100],
                f"ceiling {size / floor:.1f} invoices/s",
                goal=">= 80%",
                met=floor / hub_seconds >= 0.8,
                command=command,
                notes=(
                    f"the push took {total} requests ({batch} of them /batch); at 10 a "
                    f"second, 500 a minute, 40 batch requests a minute and {LATENCY_MS} "
                    f"ms each, they need at least {floor:.1f} s"
                ),
            ),
        ]
        loop_rate = python_quickbooks_loop(stack, loop_size)
        figures.append(
            Figure(
                "python-quickbooks loop, one invoice at a time",
                loop_rate,
                "invoices/s",
                [loop_rate],
                f"{loop_size} invoices on a fresh company",
                command=command,
            )
        )
        figures.append(
            Figure(
                "hub speed-up over the loop",
                hub_rate / loop_rate,
                "x",
                [hub_rate / loop_rate],
                "same limits and latency",
                goal=">= 3x",
                met=hub_rate / loop_rate >= 3,
                command=command,
            )
        )
        orgs = []
        for n in range(companies):
            company = stack.emulator.add_company(f"Parallel Company {n:02d}")
            member = stack.org(f"Parallel Org {n:02d}")
            stack.connect(member, company)
            orgs.append((member, company))
        started = time.perf_counter()
        ids = [
            (member, company, member.push(make_batch(per_company, f"PAR{n:02d}")))
            for n, (member, company) in enumerate(orgs)
        ]
        for member, _company, batch_id in ids:
            wait_batches(member, [batch_id], timeout=900)
        parallel_seconds = time.perf_counter() - started
        stats = stack.emulator.stats()
        throttled = sum(stats["throttled"]["by_company"].get(c, 0) for _, c, _ in ids)
        peak = max(stats["peak_concurrency"].get(c, 0) for _, c, _ in ids) if ids else 0
        exact = all(stack.emulator.count("Invoice", c) == per_company for _, c, _ in ids)
        rate = companies * per_company / parallel_seconds
        figures.append(
            Figure(
                f"{companies} companies x {per_company} invoices in parallel",
                rate,
                "invoices/s",
                [rate],
                f"{parallel_seconds:.1f} s; throttled {throttled}; peak concurrency per "
                f"company {peak}; exact counts {exact}",
                goal="no company throttled",
                met=throttled == 0 and exact,
                command=command,
            )
        )
    return figures


def main() -> None:
    """Run and print."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--size", type=int, default=1000)
    parser.add_argument("--companies", type=int, default=20)
    parser.add_argument("--per-company", type=int, default=200)
    parser.add_argument("--loop", type=int, default=200)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    if args.quick:
        args.size, args.companies, args.per_company, args.loop = 300, 5, 60, 60
    figures = run(args.size, args.companies, args.per_company, args.loop)
    print_figures("Outbound sync", figures)
    if args.json:
        write_json(args.json, figures)


if __name__ == "__main__":
    main()
