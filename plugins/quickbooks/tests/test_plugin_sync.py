"""sync_batch: customers, items and invoices pushed once, whatever happened before."""

from __future__ import annotations

import asyncio
import json
from decimal import Decimal

import httpx
import pytest
from hub_quickbooks import plugin
from plugin_support import (
    AU_MAPPING,
    GST_CODE,
    GST_FREE_CODE,
    FakeCompany,
    connection_context,
    invoice,
    participant,
)

from hub.errors import RateLimited, Transient
from hub.types import BatchPayload, BatchSyncResult, LinePayload, RemoteRef

ALEX_1 = participant("P-001", "Alex Chen", "alex@example.com")
ALEX_2 = participant("P-002", "Alex Chen")
SAM = participant("P-003", "Sam Lee")
TRAVEL = LinePayload("Travel", "07_799_0106_8_3", Decimal("12.5"), Decimal("0.97"))


def big_batch(count: int = 65) -> BatchPayload:
    people = [ALEX_1, ALEX_2, SAM]
    invoices = []
    for n in range(1, count + 1):
        lines = None if n % 2 else (invoice(0, SAM).lines[0], TRAVEL)
        invoices.append(invoice(n, people[n % 3], lines=lines, memo=f"memo {n}"))
    return BatchPayload(id=7, reference="2026-11 fortnight 2", invoices=tuple(invoices))


def run_sync(
    company: FakeCompany, batch: BatchPayload, links=None, **mapping: str
) -> BatchSyncResult:
    async def go() -> BatchSyncResult:
        async with company.client() as http:
            ctx = connection_context(http, links=links, mapping={**AU_MAPPING, **mapping})
            return await plugin.sync_batch(ctx, batch)

    return asyncio.run(go())


BY_NAME = {"customers": "name"}


def links_of(result: BatchSyncResult) -> dict[tuple[str, str], RemoteRef]:
    return {(link.kind, link.local_key): link.remote for link in result.links}


def test_a_new_batch_creates_customers_items_and_every_invoice_once():
    company = FakeCompany()
    batch = big_batch()

    result = run_sync(company, batch)

    assert [r.invoice_id for r in result.invoices] == [inv.id for inv in batch.invoices]
    assert all(r.error is None and r.remote is not None for r in result.invoices)
    assert len(company.live("Invoice")) == 65
    assert {r.remote_number for r in result.invoices} == {inv.number for inv in batch.invoices}
    # Every customer carries its participant's id, so none can collide.
    assert sorted(c["DisplayName"] for c in company.live("Customer")) == [
        "Alex Chen (P-001)",
        "Alex Chen (P-002)",
        "Sam Lee (P-003)",
    ]
    assert sorted(i["Name"] for i in company.live("Item")) == ["07_002_0106_8_3", "07_799_0106_8_3"]
    # New items earn into the mapping's income account.
    assert {i["IncomeAccountRef"]["value"] for i in company.live("Item")} == {"79"}
    links = links_of(result)
    assert set(links) == {
        ("customer", "P-001"),
        ("customer", "P-002"),
        ("customer", "P-003"),
        ("item", "07_002_0106_8_3"),
        ("item", "07_799_0106_8_3"),
    }
    # Invoices went in batches of at most 30: 30 + 30 + 5.
    invoice_batches = [
        b for b in company.batches() if "Invoice" in b["BatchItemRequest"][0]
    ]
    assert sorted(len(b["BatchItemRequest"]) for b in invoice_batches) == [5, 30, 30]
    assert company.peak_in_flight > 1  # independent requests ran side by side


def test_by_name_the_id_is_added_only_where_two_participants_share_a_name():
    company = FakeCompany()

    run_sync(company, big_batch(), **BY_NAME)

    assert sorted(c["DisplayName"] for c in company.live("Customer")) == [
        "Alex Chen (P-001)",
        "Alex Chen (P-002)",
        "Sam Lee",
    ]


def test_every_line_carries_its_mapped_tax_code_and_quickbooks_adds_gst():
    company = FakeCompany()
    gst = LinePayload("Plan review", "15_622_0128_1_3", Decimal("1"), Decimal("193.99"), "gst")
    lines = (invoice(0, SAM).lines[0], gst)
    batch = BatchPayload(id=1, reference="r", invoices=(invoice(1, SAM, lines=lines),))
    result = run_sync(company, batch)

    sent = company.live("Invoice")[0]
    assert sent["GlobalTaxCalculation"] == "TaxExcluded"
    codes = [line["SalesItemLineDetail"]["TaxCodeRef"]["value"] for line in sent["Line"][:2]]
    assert codes == [GST_FREE_CODE, GST_CODE]
    assert "TxnTaxDetail" not in company.requests[-1].content.decode()
    totals = result.invoices[0].totals
    assert totals is not None
    assert (totals.subtotal, totals.tax, totals.total) == (
        Decimal("394.27"), Decimal("19.40"), Decimal("413.67")
    )


def test_invoice_json_carries_the_hub_invoice():
    company = FakeCompany()
    two_lines = (invoice(0, SAM).lines[0], TRAVEL)
    batch = BatchPayload(
        id=1,
        reference="r",
        invoices=(invoice(1, ALEX_1), invoice(2, ALEX_2, lines=two_lines, memo="memo 2")),
    )
    run_sync(company, batch)

    by_number = {i["DocNumber"]: i for i in company.live("Invoice")}
    second = by_number["INV-1002"]
    customer = company.objects["Customer"][second["CustomerRef"]["value"]]
    assert customer["DisplayName"] == "Alex Chen (P-002)"
    assert customer["Notes"] == "Coordinoter participant P-002"
    assert second["TxnDate"] == "2026-11-23"
    assert second["DueDate"] == "2026-12-07"
    # One currency in the company: QuickBooks' own, so none is named (QUICKBOOKS.md 12.3).
    assert "CurrencyRef" not in second
    assert second["PrivateNote"] == "memo 2"
    assert "BillEmail" not in second
    first_line, travel, _subtotal = second["Line"]
    assert first_line["Amount"] == Decimal("200.28")
    assert first_line["Description"] == "Support coordination"
    assert first_line["SalesItemLineDetail"]["Qty"] == 2
    assert first_line["SalesItemLineDetail"]["UnitPrice"] == Decimal("100.14")
    assert travel["Amount"] == Decimal("12.13")  # 12.5 x 0.97 = 12.125, rounded half up
    first = by_number["INV-1001"]
    assert first["BillEmail"] == {"Address": "alex@example.com"}
    assert "PrivateNote" not in first


def test_pushing_again_with_the_links_creates_nothing():
    company = FakeCompany()
    batch = big_batch()
    first = run_sync(company, batch)
    writes_before = len(company.batches())

    second = run_sync(company, batch, links=links_of(first))

    assert len(company.live("Invoice")) == 65
    assert len(company.batches()) == writes_before  # found by DocNumber, nothing sent
    assert [ids(r.remote) for r in second.invoices] == [ids(r.remote) for r in first.invoices]
    # Created: the state QuickBooks made from the payload, and when. Found: not seen.
    assert all(r.remote and r.remote.remote_updated_at for r in first.invoices)
    assert not any(r.remote and r.remote.remote_updated_at for r in second.invoices)


def ids(ref):
    return (ref.remote_id, ref.remote_version)


def test_pushing_again_without_links_finds_customers_by_name():
    company = FakeCompany()
    batch = big_batch(6)
    first = run_sync(company, batch)

    second = run_sync(company, batch)

    assert len(company.live("Customer")) == 3
    assert len(company.live("Item")) == 2
    assert len(company.live("Invoice")) == 6
    assert links_of(second) == links_of(first)


def test_a_retry_after_a_lost_answer_does_not_duplicate():
    company = FakeCompany()
    batch = big_batch(40)
    seen = []

    def lose_answers(request: httpx.Request) -> httpx.Response | None:
        if request.url.path.endswith("/batch") and b'"Invoice"' in request.content:
            seen.append(request)
            if len(seen) == 1:
                company._route(request)  # QuickBooks did the work...
                raise httpx.ReadTimeout("no answer", request=request)  # ...the answer is lost
            return httpx.Response(503, text="Service Unavailable")  # this one did nothing
        return None

    company.intercept = lose_answers
    with pytest.raises(Transient) as caught:
        run_sync(company, batch)
    assert "tried again" in caught.value.message
    assert len(company.live("Invoice")) in {10, 30}  # one chunk of 30 + 10 went through

    company.intercept = None
    result = run_sync(company, batch)

    assert len(company.live("Invoice")) == 40
    assert all(r.remote is not None for r in result.invoices)
    assert len({r.remote.remote_id for r in result.invoices if r.remote}) == 40


def test_the_same_request_replays_with_the_same_requestid():
    company = FakeCompany()
    batch = big_batch(3)
    run_sync(company, batch)
    company2 = FakeCompany()
    run_sync(company2, batch)
    first_ids = [r.url.params.get("requestid") for r in company.requests]
    second_ids = [r.url.params.get("requestid") for r in company2.requests]
    first_ids = [rid for rid in first_ids if rid]
    second_ids = [rid for rid in second_ids if rid]

    assert sorted(first_ids) == sorted(second_ids)
    assert all(len(rid) <= 36 for rid in first_ids)


def test_a_refused_invoice_does_not_block_the_others():
    company = FakeCompany()
    company.refuse_numbers = {"INV-1002"}
    batch = big_batch(3)

    result = run_sync(company, batch)

    refused = result.invoices[1]
    assert refused.remote is None and refused.error is not None
    assert refused.error.code == "6000"
    assert refused.error.retryable is False
    assert refused.error.message.startswith("QuickBooks refused the invoice INV-1002: ")
    assert "Bad line" in refused.error.message
    assert refused.error.support_reference == "1-fake-tid"
    assert [r.error for r in (result.invoices[0], result.invoices[2])] == [None, None]
    assert len(company.live("Invoice")) == 2


def test_an_invoice_already_pushed_is_not_sent_again():
    company = FakeCompany()
    done = invoice(1, SAM, remote=RemoteRef("555", "3"))
    batch = BatchPayload(id=1, reference="r", invoices=(done,))

    result = run_sync(company, batch)

    assert result.invoices[0].remote == RemoteRef("555", "3")
    assert company.requests == []


def test_a_duplicate_docnumber_answer_resolves_to_the_existing_invoice():
    company = FakeCompany()
    batch = big_batch(1)
    first = run_sync(company, batch)
    existing = company.live("Invoice")[0]
    # The lookup misses it (as if it were created a moment later); QuickBooks says 6140.
    real_query = company._query

    def blind_query(sql: str):
        return {"QueryResponse": {}} if "DocNumber" in sql else real_query(sql)

    company._query = blind_query  # type: ignore[method-assign]
    second = run_sync(company, batch, links=links_of(first))

    assert ids(second.invoices[0].remote) == (existing["Id"], existing["SyncToken"])
    assert len(company.live("Invoice")) == 1


def test_a_docnumber_used_by_another_customer_is_refused():
    company = FakeCompany()
    stranger = company.add("Customer", DisplayName="Someone Else")
    company.add(
        "Invoice",
        DocNumber="INV-1001",
        CustomerRef={"value": stranger["Id"], "name": "Someone Else"},
        TotalAmt=10,
        Balance=10,
    )

    result = run_sync(company, BatchPayload(id=1, reference="r", invoices=(invoice(1, SAM),)))

    error = result.invoices[0].error
    assert error is not None and error.code == "6140"
    assert "another customer (Someone Else)" in error.message
    assert len(company.live("Invoice")) == 1


def test_a_name_linked_to_another_participant_gets_the_participant_id():
    company = FakeCompany()
    taken = company.add("Customer", DisplayName="Alex Chen")
    links = {("customer", "P-001"): RemoteRef(taken["Id"], "0")}
    batch = BatchPayload(id=1, reference="r", invoices=(invoice(1, ALEX_2),))

    result = run_sync(company, batch, links=links)

    customer_id = links_of(result)[("customer", "P-002")].remote_id
    assert company.objects["Customer"][customer_id]["DisplayName"] == "Alex Chen (P-002)"


def test_by_name_an_existing_customer_with_the_name_is_reused():
    company = FakeCompany()
    existing = company.add("Customer", DisplayName="Sam Lee")

    result = run_sync(
        company, BatchPayload(id=1, reference="r", invoices=(invoice(1, SAM),)), **BY_NAME
    )

    assert links_of(result)[("customer", "P-003")].remote_id == existing["Id"]
    assert len(company.live("Customer")) == 1


def test_by_participant_id_a_customer_with_only_the_name_is_left_alone():
    company = FakeCompany()
    company.add("Customer", DisplayName="Sam Lee")

    result = run_sync(company, BatchPayload(id=1, reference="r", invoices=(invoice(1, SAM),)))

    customer_id = links_of(result)[("customer", "P-003")].remote_id
    assert company.objects["Customer"][customer_id]["DisplayName"] == "Sam Lee (P-003)"


def test_by_participant_id_the_customer_with_the_id_is_found_again():
    company = FakeCompany()
    existing = company.add("Customer", DisplayName="Sam Lee (P-003)")

    result = run_sync(company, BatchPayload(id=1, reference="r", invoices=(invoice(1, SAM),)))

    assert links_of(result)[("customer", "P-003")].remote_id == existing["Id"]
    assert len(company.live("Customer")) == 1


def test_a_name_held_by_an_inactive_customer_falls_back_to_the_id():
    company = FakeCompany()
    company.add("Customer", DisplayName="Sam Lee", Active=False)

    result = run_sync(
        company, BatchPayload(id=1, reference="r", invoices=(invoice(1, SAM),)), **BY_NAME
    )

    assert result.invoices[0].error is None
    customer_id = links_of(result)[("customer", "P-003")].remote_id
    assert company.objects["Customer"][customer_id]["DisplayName"] == "Sam Lee (P-003)"


def test_a_voided_invoice_never_pushed_is_created_then_voided():
    company = FakeCompany()
    batch = BatchPayload(id=1, reference="r", invoices=(invoice(1, SAM, voided=True),))

    result = run_sync(company, batch)

    stored = company.live("Invoice")[0]
    assert stored["PrivateNote"] == "Voided"
    assert result.invoices[0].remote == RemoteRef(stored["Id"], "1")


def test_without_an_income_account_new_items_and_their_invoices_fail_clearly():
    company = FakeCompany()

    result = run_sync(
        company,
        BatchPayload(id=1, reference="r", invoices=(invoice(1, SAM),)),
        income_account="",
    )

    error = result.invoices[0].error
    assert error is not None and error.code == "income_account_not_mapped"
    assert error.fix_in == "mapping"
    assert "INV-1001" in error.message and "income account" in error.message
    assert company.live("Invoice") == []


def test_throttling_stops_the_whole_call():
    company = FakeCompany()

    def throttle_batches(request: httpx.Request) -> httpx.Response | None:
        if request.url.path.endswith("/batch"):
            return httpx.Response(429, text="<IntuitResponse/>", headers={"Retry-After": "30"})
        return None

    company.intercept = throttle_batches
    with pytest.raises(RateLimited) as caught:
        run_sync(company, big_batch(2))
    assert caught.value.retry_after == 30


def test_batch_requests_name_each_item():
    company = FakeCompany()
    run_sync(company, big_batch(2))

    for body in company.batches():
        for item in body["BatchItemRequest"]:
            assert len(item["bId"]) <= 10
            assert item["operation"] == "create"
    assert json.dumps(company.batches())  # plain JSON, numbers included
