"""Malformed requests get QuickBooks' Faults, never a Python exception or a 500."""

from __future__ import annotations

import json
import random
from typing import Any

import pytest
from books_support import Ledger


@pytest.fixture
def ledger() -> Ledger:
    return Ledger()


def test_unreadable_bodies(ledger: Ledger) -> None:
    not_utf8 = ledger.call("POST", "customer", raw=b"\xff\xfe\x00")
    assert not_utf8.status == 400 and not_utf8.code == "500"
    assert "UTF-8" in not_utf8.fault()["Detail"]
    for raw in (b"{", b"", b"nul", b'{"DisplayName": NaN}', b"[" * 5000 + b"]" * 5000):
        answer = ledger.call("POST", "customer", raw=raw)
        assert answer.status == 400 and answer.code == "2010", raw[:20]
        assert answer.fault()["Message"] == "Request has invalid or unsupported property"
    assert ledger.call("POST", "customer", raw=b"[1]").code == "2010"
    assert ledger.books.counts()[ledger.realm]["Customer"] == 0


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "widget/1"),
        ("POST", "widget"),
        ("GET", ""),
        ("DELETE", "customer/1"),
        ("PUT", "customer"),
        ("GET", "customer"),
        ("POST", "customer/1"),
        ("GET", "customer/1/pdf"),
        ("GET", "batch"),
        ("POST", "cdc"),
        ("GET", "reports/ProfitAndLoss"),
    ],
)
def test_paths_and_methods_quickbooks_lacks(ledger: Ledger, method: str, path: str) -> None:
    answer = ledger.call(method, path, {})
    assert answer.status == 400 and answer.code == "500"
    assert answer.fault()["Message"] == "Unsupported Operation"


def test_unknown_ids_and_operations(ledger: Ledger) -> None:
    for path in ("customer/999", "invoice/abc", "companyinfo/42", "payment/0"):
        answer = ledger.get(path)
        assert answer.status == 400 and answer.code == "610", path
    assert ledger.post("customer", {"DisplayName": "A"}, operation="merge").code == "500"
    assert ledger.post("customer", {"DisplayName": "A"}, operation="void").code == "500"
    assert ledger.post("companyinfo", {"CompanyName": "B"}).code == "500"
    assert ledger.post("invoice", {"SyncToken": "0"}, operation="delete").code == "2020"


def test_wrongly_typed_fields(ledger: Ledger) -> None:
    customer, item = ledger.basics()
    cases: list[tuple[str, dict[str, Any]]] = [
        ("invoice", {"CustomerRef": {"value": "1"}, "Line": "x"}),
        ("invoice", {"CustomerRef": {"value": "1"}, "Line": [5]}),
        ("invoice", {"CustomerRef": [1], "Line": []}),
        ("invoice", {"CustomerRef": {"value": {"x": 1}}}),
        ("invoice", {**ledger.invoice_body("1", item["Id"], 1), "TxnDate": "01/02/2025"}),
        ("invoice", {**ledger.invoice_body("1", item["Id"], 1), "Deposit": "lots"}),
        ("invoice", {**ledger.invoice_body("1", item["Id"], 1), "BillEmail": "a@b"}),
        ("invoice", {"CustomerRef": {"value": "1"}, "Line": [
            {"DetailType": "SalesItemLineDetail", "Amount": "ten",
             "SalesItemLineDetail": {"ItemRef": {"value": item["Id"]}}}]}),
        ("invoice", {"CustomerRef": {"value": "1"}, "Line": [
            {"DetailType": "SalesItemLineDetail", "Amount": True,
             "SalesItemLineDetail": {"ItemRef": {"value": item["Id"]}}}]}),
        ("invoice", {"CustomerRef": {"value": "1"}, "Line": [
            {"DetailType": "SalesItemLineDetail", "Amount": 1,
             "SalesItemLineDetail": "x"}]}),
        ("customer", {"DisplayName": "A", "Active": "maybe"}),
        ("customer", {"DisplayName": "A", "BillAddr": "street"}),
        ("customer", {"DisplayName": ["A"]}),
        ("item", {"Name": "A", "Type": "Service", "IncomeAccountRef": {"value": "1"},
                  "UnitPrice": "cheap"}),
        ("payment", {"CustomerRef": {"value": "1"}, "TotalAmt": {}}),
        ("payment", {"CustomerRef": {"value": "1"}, "TotalAmt": 1, "Line": [{"Amount": 1,
                     "LinkedTxn": ["1"]}]}),
    ]  # fmt: skip
    for path, body in cases:
        answer = ledger.post(path, body)
        assert answer.status == 400, (path, body, answer.raw)
        assert answer.code in ("2010", "2020", "2170"), (path, body, answer.raw)
    update = ledger.post("customer", {"Id": customer["Id"], "SyncToken": [0]})
    assert update.code == "2010"


def _mutations(rng: random.Random, value: Any, depth: int = 0) -> Any:
    """A randomly damaged copy of a JSON value."""
    junk = [None, "", "x", 0, -1, 1e308, True, [], {}, [None], {"value": None}, "2025-13-45"]
    if depth > 3 or rng.random() < 0.15:
        return rng.choice(junk)
    if isinstance(value, dict):
        out = {k: _mutations(rng, v, depth + 1) for k, v in value.items() if rng.random() > 0.1}
        if rng.random() < 0.2:
            out[rng.choice(["Id", "SyncToken", "sparse", "Line", "Amount"])] = rng.choice(junk)
        return out
    if isinstance(value, list):
        return [_mutations(rng, v, depth + 1) for v in value]
    return value


def test_random_damage_never_breaks_the_books(ledger: Ledger) -> None:
    customer, item = ledger.basics()
    invoice = ledger.invoice(customer["Id"], item["Id"], 100)
    templates: list[tuple[str, dict[str, str], dict[str, Any]]] = [
        ("invoice", {}, ledger.invoice_body(customer["Id"], item["Id"], 10, DocNumber="F1")),
        ("invoice", {}, {"Id": invoice["Id"], "SyncToken": "0", "sparse": True,
                         "Line": invoice["Line"]}),
        ("invoice", {"operation": "void"}, {"Id": invoice["Id"], "SyncToken": "0"}),
        ("customer", {}, {"DisplayName": "Fuzz", "BillAddr": {"Line1": "1 Road"},
                          "ParentRef": {"value": "1"}}),
        ("item", {}, {"Name": "Fuzz", "Type": "Inventory", "IncomeAccountRef": {"value": "1"},
                      "ExpenseAccountRef": {"value": "5"}, "AssetAccountRef": {"value": "6"},
                      "TrackQtyOnHand": True, "QtyOnHand": 3, "InvStartDate": "2025-01-01"}),
        ("payment", {}, {"CustomerRef": {"value": "1"}, "TotalAmt": 5, "Line": [
            {"Amount": 5, "LinkedTxn": [{"TxnId": invoice["Id"], "TxnType": "Invoice"}]}]}),
        ("account", {}, {"Name": "Fuzz", "AccountType": "Income"}),
        ("batch", {}, {"BatchItemRequest": [
            {"bId": "1", "operation": "create", "Customer": {"DisplayName": "B"}},
            {"bId": "2", "Query": "SELECT * FROM Invoice WHERE TotalAmt > '1'"}]}),
    ]  # fmt: skip
    rng = random.Random(20250301)
    for _ in range(600):
        path, params, body = rng.choice(templates)
        damaged = _mutations(rng, body)
        answer = ledger.post(path, damaged, **params)
        assert answer.status in (200, 400), (path, damaged, answer.raw)
        json.loads(answer.raw)
    for text in ["SELECT", "SELECT * FROM Invoice WHERE Line = '1'", "' OR 1=1 --",
                 "SELECT * FROM Invoice ORDER BY MetaData", "\x00", "SELECT * FROM Invoice "
                 "WHERE TotalAmt > 'x' AND Id IN (1, '2', true)"]:  # fmt: skip
        answer = ledger.query(text)
        assert answer.status in (200, 400)
    # The books still balance after all that.
    for row in ledger.rows("SELECT * FROM Invoice MAXRESULTS 1000"):
        assert row["Balance"] <= row["TotalAmt"]
