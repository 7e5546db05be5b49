"""Sales terms: the Term entity and the due dates it gives invoices (QUICKBOOKS.md 12.4)."""

from __future__ import annotations

import pytest
from books_support import Ledger


@pytest.fixture
def ledger() -> Ledger:
    return Ledger()


def term_id(ledger: Ledger, name: str) -> str:
    return str(ledger.rows(f"SELECT * FROM Term WHERE Name = '{name}'")[0]["Id"])


def test_seeded_terms(ledger: Ledger) -> None:
    terms = {t["Name"]: t for t in ledger.rows("SELECT * FROM Term")}
    assert {name: t.get("DueDays") for name, t in terms.items()} == {
        "Due on receipt": 0, "Net 15": 15, "Net 30": 30, "Net 60": 60,
    }  # fmt: skip
    assert all(t["Type"] == "STANDARD" and t["Active"] is True for t in terms.values())


def test_term_create_update_and_delete(ledger: Ledger) -> None:
    created = ledger.ok(ledger.post("term", {"Name": "Net 7", "DueDays": 7,
                                             "DiscountPercent": 2, "DiscountDays": 3}),
                        "Term")  # fmt: skip
    assert created["Type"] == "STANDARD" and created["DueDays"] == 7
    assert created["DiscountPercent"] == 2 and created["SyncToken"] == "0"
    assert ledger.ok(ledger.get(f"term/{created['Id']}"), "Term") == created
    updated = ledger.ok(ledger.post("term", {"Id": created["Id"], "SyncToken": "0",
                                             "sparse": True, "DueDays": 10}), "Term")
    assert updated["DueDays"] == 10 and updated["SyncToken"] == "1"
    # "Delete" answers the Term made inactive, SyncToken + 1.
    deleted = ledger.ok(ledger.post("term", {"Id": created["Id"], "SyncToken": "1"},
                                    operation="delete"), "Term")  # fmt: skip
    assert deleted["Active"] is False and deleted["SyncToken"] == "2"
    assert [t["Name"] for t in ledger.rows("SELECT * FROM Term WHERE Active = false")] == [
        "Net 7"
    ]
    assert ledger.changes[-1].entity == "Term" and ledger.changes[-1].operation == "Delete"


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"DueDays": 5}, "2020"),
        ({"Name": "x" * 32, "DueDays": 5}, "2050"),
        ({"Name": "Net 30", "DueDays": 30}, "6240"),
        ({"Name": "Nothing"}, "2020"),
        ({"Name": "Both", "DueDays": 5, "DayOfMonthDue": 3}, "6000"),
        ({"Name": "Odd", "DueDays": 1.5}, "6000"),
        ({"Name": "Far", "DayOfMonthDue": 32}, "6000"),
    ],
)
def test_term_faults(ledger: Ledger, body: dict[str, object], code: str) -> None:
    assert ledger.post("term", body).code == code


def test_due_dates_come_from_the_term(ledger: Ledger) -> None:
    customer, item = ledger.basics()
    net15 = term_id(ledger, "Net 15")
    invoice = ledger.invoice(customer["Id"], item["Id"], 10, TxnDate="2025-03-10",
                             SalesTermRef={"value": net15})  # fmt: skip
    assert invoice["DueDate"] == "2025-03-25"
    assert invoice["SalesTermRef"] == {"value": net15, "name": "Net 15"}
    # No term: the company's default (Net 30); a DueDate sent wins.
    default = ledger.invoice(customer["Id"], item["Id"], 10, TxnDate="2025-03-10")
    assert default["DueDate"] == "2025-04-09" and default["SalesTermRef"]["name"] == "Net 30"
    fixed = ledger.invoice(customer["Id"], item["Id"], 10, TxnDate="2025-03-10",
                           DueDate="2025-03-12", SalesTermRef={"value": net15})  # fmt: skip
    assert fixed["DueDate"] == "2025-03-12"
    # A customer's own term comes before the company's.
    receipt = term_id(ledger, "Due on receipt")
    prompt = ledger.customer("Prompt Payer", SalesTermRef={"value": receipt})
    on_receipt = ledger.invoice(prompt["Id"], item["Id"], 10, TxnDate="2025-03-10")
    assert on_receipt["DueDate"] == "2025-03-10"


def test_date_driven_terms(ledger: Ledger) -> None:
    customer, item = ledger.basics()
    monthly = ledger.ok(ledger.post("term", {"Name": "15th next", "DayOfMonthDue": 15,
                                             "DueNextMonthDays": 10}), "Term")  # fmt: skip
    assert monthly["Type"] == "DATE_DRIVEN" and "DueDays" not in monthly
    ref = {"value": monthly["Id"]}
    early = ledger.invoice(customer["Id"], item["Id"], 1, TxnDate="2025-03-01", SalesTermRef=ref)
    assert early["DueDate"] == "2025-03-15"
    late = ledger.invoice(customer["Id"], item["Id"], 1, TxnDate="2025-12-10", SalesTermRef=ref)
    assert late["DueDate"] == "2026-01-15"


def test_inactive_and_unknown_terms_are_refused(ledger: Ledger) -> None:
    customer, item = ledger.basics()
    unknown = ledger.post("invoice", ledger.invoice_body(customer["Id"], item["Id"], 1,
                                                         SalesTermRef={"value": "999"}))
    assert unknown.code == "2500" and unknown.fault()["element"] == "SalesTermRef"
    net60 = ledger.rows("SELECT * FROM Term WHERE Name = 'Net 60'")[0]
    ledger.post("term", {"Id": net60["Id"], "SyncToken": "0"}, operation="delete")
    inactive = ledger.post("invoice", ledger.invoice_body(customer["Id"], item["Id"], 1,
                                                          SalesTermRef={"value": net60["Id"]}))
    assert inactive.code == "610"
