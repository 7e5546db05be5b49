"""The emulator's books, called directly: entities, updates, faults and changes."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import pytest
from books_support import ENVELOPE_TIME, META_TIME, REALM, START, Ledger
from hub_quickbooks.emulator.books import Books, CompanySetup
from quickbooks.objects.customer import Customer
from quickbooks.objects.detailline import SalesItemLine, SalesItemLineDetail
from quickbooks.objects.invoice import Invoice


@pytest.fixture
def ledger() -> Ledger:
    return Ledger()


# --- companies ------------------------------------------------------------------------


def test_new_company_has_info_and_a_chart_of_accounts(ledger: Ledger) -> None:
    info = ledger.ok(ledger.get(f"companyinfo/{REALM}"), "CompanyInfo")
    assert info["CompanyName"] == "Acme Pty Ltd"
    assert info["Id"] == "1" and info["SyncToken"] == "0" and info["Country"] == "AU"
    assert ledger.ok(ledger.get("companyinfo/1"), "CompanyInfo") == info
    assert ledger.books.companies() == [info]
    assert ledger.books.has_company(REALM) and not ledger.books.has_company("1")
    income = ledger.rows("SELECT * FROM Account WHERE AccountType = 'Income'")
    assert [a["Name"] for a in income] == ["Services", "Sales of Product Income"]
    assert ledger.books.counts()[REALM]["Customer"] == 0
    assert ledger.changes == []
    with pytest.raises(ValueError):
        ledger.books.add_company(REALM, "Again")


def test_responses_carry_quickbooks_timestamps_and_end_with_time(ledger: Ledger) -> None:
    answer = ledger.post("customer", {"DisplayName": "Acme"})
    assert answer.status == 200
    assert answer.content_type == "application/json;charset=UTF-8"
    body = answer.json
    assert list(body) == ["Customer", "time"]
    assert ENVELOPE_TIME.match(body["time"]) and body["time"].endswith(".250-08:00")
    customer = body["Customer"]
    assert customer["Id"] == "1" and customer["SyncToken"] == "0"
    assert customer["domain"] == "QBO" and customer["sparse"] is False
    meta = customer["MetaData"]
    assert META_TIME.match(meta["CreateTime"]) and meta["CreateTime"] == meta["LastUpdatedTime"]
    assert meta["CreateTime"] == "2025-03-01T04:00:00-08:00"


# --- customers ------------------------------------------------------------------------


def test_customer_create_fills_what_quickbooks_computes(ledger: Ledger) -> None:
    customer = ledger.customer(
        "King's Groceries",
        FullyQualifiedName="ignored",
        Balance=500,
        BillAddr={"Line1": "123 Main Street", "City": "Mountain View"},
        PrimaryEmailAddr={"Address": "jdrew@example.com"},
    )
    assert customer["FullyQualifiedName"] == "King's Groceries"
    assert customer["Balance"] == 0 and customer["Active"] is True
    assert customer["CurrencyRef"] == {"value": "AUD", "name": "Australian Dollar"}
    assert customer["BillAddr"]["Id"]  # addresses get Ids
    assert customer["PrintOnCheckName"] == "King's Groceries"
    assert ledger.ok(ledger.get("customer/1"), "Customer") == customer
    assert ledger.customer("Second")["Id"] == "2"


def test_customer_display_name_comes_from_name_parts(ledger: Ledger) -> None:
    body = {"GivenName": "James", "MiddleName": "B", "FamilyName": "King"}
    customer = ledger.ok(ledger.post("customer", body), "Customer")
    assert customer["DisplayName"] == "James B King"
    missing = ledger.post("customer", {"Notes": "no name"})
    assert missing.status == 400 and missing.code == "2020"
    assert "DisplayName" in missing.fault()["Detail"]


def test_duplicate_display_name_is_6240_naming_the_holder(ledger: Ledger) -> None:
    first = ledger.customer("Acme Corp")
    for name in ("Acme Corp", "  acme   CORP "):
        answer = ledger.post("customer", {"DisplayName": name})
        assert answer.status == 400 and answer.code == "6240"
        assert answer.fault()["Message"] == "Duplicate Name Exists Error"
        assert answer.fault()["Detail"] == f"The name supplied already exists. : Id={first['Id']}"
    # Vendors share the namespace.
    vendor = ledger.post("vendor", {"DisplayName": "ACME CORP"})
    assert vendor.code == "6240"
    # Inactive customers still hold their name.
    ledger.post("customer", {"Id": "1", "SyncToken": "0", "sparse": True, "Active": False})
    assert ledger.post("customer", {"DisplayName": "Acme Corp"}).code == "6240"
    assert ledger.books.counts()[REALM]["Customer"] == 1


def test_display_name_rules(ledger: Ledger) -> None:
    assert ledger.post("customer", {"DisplayName": "Parent:Child"}).code == "6000"
    assert ledger.post("customer", {"DisplayName": "x" * 501}).code == "2050"
    assert ledger.post("customer", {"DisplayName": {"a": 1}}).code == "2010"


def test_sparse_update_changes_only_what_is_sent(ledger: Ledger) -> None:
    ledger.customer("Acme", Notes="keep me", GivenName="Ann")
    ledger.advance(61)
    answer = ledger.post(
        "customer", {"Id": "1", "SyncToken": "0", "sparse": True, "MiddleName": "Mark"}
    )
    customer = ledger.ok(answer, "Customer")
    assert customer["MiddleName"] == "Mark" and customer["Notes"] == "keep me"
    assert customer["GivenName"] == "Ann" and customer["SyncToken"] == "1"
    assert customer["sparse"] is False
    meta = customer["MetaData"]
    assert meta["CreateTime"] == "2025-03-01T04:00:00-08:00"
    assert meta["LastUpdatedTime"] == "2025-03-01T04:01:01-08:00"


def test_full_update_clears_omitted_fields(ledger: Ledger) -> None:
    ledger.customer("Acme", Notes="gone soon", GivenName="Ann")
    customer = ledger.ok(
        ledger.post("customer", {"Id": "1", "SyncToken": "0", "DisplayName": "Acme Two"}),
        "Customer",
    )
    assert customer["DisplayName"] == "Acme Two" and "Notes" not in customer
    assert "GivenName" not in customer and customer["SyncToken"] == "1"
    # The old name is free again, the new one is taken.
    assert ledger.post("customer", {"DisplayName": "Acme"}).status == 200
    assert ledger.post("customer", {"DisplayName": "acme two"}).code == "6240"


def test_stale_sync_token_is_5010(ledger: Ledger) -> None:
    ledger.customer("Acme")
    assert ledger.post("customer", {"Id": "1", "SyncToken": 0, "sparse": True}).status == 200
    stale = ledger.post("customer", {"Id": "1", "SyncToken": "0", "sparse": True, "Notes": "x"})
    assert stale.status == 400 and stale.code == "5010"
    assert stale.fault()["Message"] == "Stale Object Error"
    assert stale.fault()["Detail"].startswith("Stale Object Error : ")
    assert ledger.post("customer", {"Id": "1", "sparse": True}).code == "2020"
    assert ledger.post("customer", {"Id": "77", "SyncToken": "0"}).code == "610"
    current = ledger.ok(ledger.get("customer/1"), "Customer")
    assert current["SyncToken"] == "1" and "Notes" not in current


def test_python_quickbooks_bodies_work_and_blanks_do_not_wipe(ledger: Ledger) -> None:
    customer = Customer()
    customer.DisplayName = "O'Brien & Sons"
    customer.Notes = "first"
    created = ledger.ok(
        ledger.call("POST", "customer", raw=customer.to_json().encode()), "Customer"
    )
    assert created["DisplayName"] == "O'Brien & Sons" and created["Notes"] == "first"
    assert "OpenBalanceDate" not in created and "Title" not in created
    again = Customer.from_json(created)
    again.sparse = True
    again.Notes = ""  # python sends unset strings as ""
    again.CompanyName = "Sons Ltd"
    updated = ledger.ok(ledger.call("POST", "customer", raw=again.to_json().encode()), "Customer")
    assert updated["Notes"] == "first" and updated["CompanyName"] == "Sons Ltd"
    assert updated["SyncToken"] == "1"


def test_name_lists_cannot_be_deleted_only_made_inactive(ledger: Ledger) -> None:
    ledger.customer("Acme")
    ledger.customer("Beta")
    answer = ledger.post("customer", {"Id": "1", "SyncToken": "0"}, operation="delete")
    assert answer.status == 400 and answer.code == "500"
    assert answer.fault()["Message"] == "Unsupported Operation"
    assert answer.fault()["Detail"] == "Operation Delete is not supported."
    ledger.post("customer", {"Id": "1", "SyncToken": "0", "sparse": True, "Active": False})
    assert [c["DisplayName"] for c in ledger.rows("SELECT * FROM Customer")] == ["Beta"]
    inactive = ledger.rows("SELECT * FROM Customer WHERE Active = false")
    assert [c["DisplayName"] for c in inactive] == ["Acme"]
    both = ledger.rows("SELECT * FROM Customer WHERE Active IN (true, false)")
    assert len(both) == 2
    assert ledger.get("customer/1").status == 200


# --- items ------------------------------------------------------------------------------


def test_item_rules(ledger: Ledger) -> None:
    item = ledger.item("Gardening", UnitPrice=25)
    assert item["IncomeAccountRef"] == {"value": "1", "name": "Services"}
    assert item["FullyQualifiedName"] == "Gardening" and item["UnitPrice"] == 25
    # Item.Taxable is US-only (12.2.5): an AU item neither shows nor keeps it.
    assert item["Active"] is True and "Taxable" not in item
    assert "Taxable" not in ledger.item("Sprinklers", Taxable=True)
    duplicate = ledger.post(
        "item", {"Name": "GARDENING", "Type": "Service", "IncomeAccountRef": {"value": "1"}}
    )
    assert duplicate.code == "6240" and duplicate.fault()["Detail"].endswith(f"Id={item['Id']}")
    no_account = ledger.post("item", {"Name": "Mowing", "Type": "Service"})
    assert no_account.code == "2020" and "IncomeAccountRef" in no_account.fault()["Detail"]
    unknown_account = ledger.post(
        "item", {"Name": "Mowing", "Type": "Service", "IncomeAccountRef": {"value": "999"}}
    )
    assert unknown_account.code == "2500"
    assert ledger.post("item", {"Name": "Mowing", "Type": "Gizmo"}).code == "2170"
    assert ledger.post("item", {"Type": "Service"}).code == "2020"
    assert ledger.post("item", {"Name": "x" * 101, "Type": "Category"}).code == "2050"
    category = ledger.ok(ledger.post("item", {"Name": "Trees", "Type": "Category"}), "Item")
    assert "IncomeAccountRef" not in category
    assert ledger.post("item", {"Id": "1", "SyncToken": "0"}, operation="delete").code == "500"


# --- invoices ----------------------------------------------------------------------------


def test_invoice_create_computes_totals_numbers_and_names() -> None:
    # With "Custom transaction numbers" off, QuickBooks numbers invoices itself.
    ledger = Ledger(setup=CompanySetup(custom_txn_numbers=False))
    customer, item = ledger.basics()
    body = ledger.invoice_body(customer["Id"], item["Id"], 100.0)
    body["Line"].append(
        {
            "DetailType": "SalesItemLineDetail",
            "SalesItemLineDetail": {"ItemRef": {"value": item["Id"]}, "Qty": 3, "UnitPrice": 12.5,
                                    "TaxCodeRef": {"value": ledger.line_code}},
        }
    )  # fmt: skip
    invoice = ledger.ok(ledger.post("invoice", body), "Invoice")
    assert invoice["DocNumber"] == "1001"
    assert invoice["TxnDate"] == "2025-03-01" and invoice["DueDate"] == "2025-03-31"
    assert invoice["CustomerRef"] == {"value": "1", "name": "Amy's Bird Sanctuary"}
    assert invoice["TotalAmt"] == 137.5 and invoice["Balance"] == 137.5
    lines = invoice["Line"]
    assert [line.get("Id") for line in lines] == ["1", "2", None]
    assert lines[0]["SalesItemLineDetail"]["ItemRef"] == {"value": item["Id"], "name": "Gardening"}
    assert lines[1]["Amount"] == 37.5
    assert lines[2] == {
        "Amount": 137.5,
        "DetailType": "SubTotalLineDetail",
        "SubTotalLineDetail": {},
    }
    assert invoice["CurrencyRef"]["value"] == "AUD" and invoice["LinkedTxn"] == []
    assert invoice["EmailStatus"] == "NotSet" and invoice["PrintStatus"] == "NeedToPrint"
    second = ledger.invoice(customer["Id"], item["Id"], 10)
    assert second["DocNumber"] == "1002" and second["Id"] == "2"
    refreshed = ledger.ok(ledger.get(f"customer/{customer['Id']}"), "Customer")
    assert refreshed["Balance"] == 147.5 and refreshed["SyncToken"] == "0"


def test_with_custom_numbers_an_invoice_has_only_the_number_sent(ledger: Ledger) -> None:
    # The default: "If no value is supplied, the resulting DocNumber is null" (D-REF).
    customer, item = ledger.basics()
    assert "DocNumber" not in ledger.invoice(customer["Id"], item["Id"], 10)
    numbered = ledger.invoice(customer["Id"], item["Id"], 10, DocNumber="NDIS-7")
    assert numbered["DocNumber"] == "NDIS-7"
    prefs = ledger.ok(ledger.get("preferences"), "Preferences")
    assert prefs["SalesFormsPrefs"]["CustomTxnNumbers"] is True


def test_invoice_faults(ledger: Ledger) -> None:
    customer, item = ledger.basics()
    base = ledger.invoice_body(customer["Id"], item["Id"], 10)
    assert ledger.post("invoice", {**base, "CustomerRef": None}).code == "2020"
    assert ledger.post("invoice", {**base, "Line": []}).code == "2020"
    assert ledger.post("invoice", {**base, "CustomerRef": {"value": "42"}}).code == "2500"
    bad_item = ledger.invoice_body(customer["Id"], "42", 10)
    assert ledger.post("invoice", bad_item).code == "2500"
    mismatch = ledger.invoice_body(customer["Id"], item["Id"], 10)
    mismatch["Line"][0]["SalesItemLineDetail"].update({"Qty": 2, "UnitPrice": 7})
    assert ledger.post("invoice", mismatch).code == "6070"
    no_amount = ledger.invoice_body(customer["Id"], item["Id"], 10)
    del no_amount["Line"][0]["Amount"]
    assert ledger.post("invoice", no_amount).code == "2020"
    assert ledger.post("invoice", {**base, "DocNumber": "x" * 22}).code == "2050"
    assert ledger.post("invoice", {**base, "PrintStatus": "Sometimes"}).code == "2170"
    assert ledger.post("invoice", {**base, "CurrencyRef": {"value": "USD"}}).code == "6000"
    ledger.post("customer", {"Id": customer["Id"], "SyncToken": "0", "sparse": True,
                             "Active": False})  # fmt: skip
    inactive = ledger.post("invoice", base)
    assert inactive.code == "610" and inactive.fault()["Message"] == "Object Not Found"
    assert ledger.books.counts()[REALM]["Invoice"] == 0


def test_duplicate_doc_number_is_6140_unless_allowed(ledger: Ledger) -> None:
    # Custom transaction numbers are on (the default), which 6140 needs (12.4).
    customer, item = ledger.basics()
    ledger.invoice(customer["Id"], item["Id"], 10, DocNumber="INV-1")
    body = ledger.invoice_body(customer["Id"], item["Id"], 10, DocNumber="INV-1")
    duplicate = ledger.post("invoice", body)
    assert duplicate.status == 400 and duplicate.code == "6140"
    assert duplicate.fault()["Message"] == "Duplicate Document Number Error"
    allowed = ledger.post("invoice", body, include="allowduplicatedocnum")
    assert ledger.ok(allowed, "Invoice")["DocNumber"] == "INV-1"
    # Renaming another invoice onto a used number is refused too.
    other = ledger.invoice(customer["Id"], item["Id"], 5)
    renamed = ledger.post(
        "invoice", {"Id": other["Id"], "SyncToken": "0", "sparse": True, "DocNumber": "INV-1"}
    )
    assert renamed.code == "6140"


def test_without_custom_numbers_a_sent_number_may_repeat() -> None:
    # "that value is stored even if it is a duplicate" (D-REF, older text).
    ledger = Ledger(setup=CompanySetup(custom_txn_numbers=False))
    customer, item = ledger.basics()
    ledger.invoice(customer["Id"], item["Id"], 10, DocNumber="INV-1")
    again = ledger.invoice(customer["Id"], item["Id"], 10, DocNumber="INV-1")
    assert again["DocNumber"] == "INV-1"


def test_doc_number_of_22_characters_is_2050(ledger: Ledger) -> None:
    customer, item = ledger.basics()
    answer = ledger.post("invoice", ledger.invoice_body(customer["Id"], item["Id"], 10,
                                                        DocNumber="D" * 22))  # fmt: skip
    assert answer.status == 400
    assert answer.json["Fault"] == {
        "Error": [{
            "Message": "String length is either shorter or longer than supported by "
                       "specification",
            "Detail": "String length specified does not match the supported length. "
                      "Min:0 Max:21 supported. Supplied length:22",
            "code": "2050",
            "element": "DocNumber",
        }],
        "type": "ValidationFault",
    }  # fmt: skip
    longest = ledger.invoice_body(customer["Id"], item["Id"], 10, DocNumber="D" * 21)
    assert ledger.post("invoice", longest).status == 200


def test_invoice_sparse_and_full_updates(ledger: Ledger) -> None:
    customer, item = ledger.basics()
    invoice = ledger.invoice(customer["Id"], item["Id"], 100, 50, PrivateNote="hello",
                             DocNumber="S-1")  # fmt: skip
    sparse = ledger.ok(
        ledger.post(
            "invoice",
            {"SyncToken": "0", "Id": invoice["Id"], "sparse": True, "DueDate": "2025-09-30"},
        ),
        "Invoice",
    )
    assert sparse["DueDate"] == "2025-09-30" and sparse["TotalAmt"] == 150.0
    assert sparse["PrivateNote"] == "hello" and sparse["SyncToken"] == "1"
    assert sparse["DocNumber"] == invoice["DocNumber"]
    # A full update keeps the Id of a line it names and numbers a new line afresh.
    kept = dict(sparse["Line"][1])
    kept["Amount"] = 70
    full = ledger.ok(
        ledger.post(
            "invoice",
            {
                "Id": invoice["Id"],
                "SyncToken": "1",
                "CustomerRef": {"value": customer["Id"]},
                "Line": [
                    kept,
                    ledger.line(item["Id"], 5),
                ],
            },
        ),
        "Invoice",
    )
    assert [line.get("Id") for line in full["Line"]] == ["2", "3", None]
    assert full["TotalAmt"] == 75.0 and "PrivateNote" not in full
    assert full["DueDate"] == "2025-03-31"  # back to the terms' default
    assert full["SalesTermRef"]["name"] == "Net 30"


def test_python_quickbooks_invoice_round_trip(ledger: Ledger) -> None:
    customer, item = ledger.basics()
    invoice = Invoice()
    line = SalesItemLine()
    line.Amount = 100
    line.SalesItemLineDetail = SalesItemLineDetail()
    line.SalesItemLineDetail.ItemRef = {"name": "", "type": "", "value": item["Id"]}
    line.SalesItemLineDetail.TaxCodeRef = {"name": "", "type": "", "value": ledger.line_code}
    invoice.Line.append(line)
    invoice.CustomerRef = {"name": "", "type": "", "value": customer["Id"]}
    invoice.DocNumber = "PY-1"
    # python-quickbooks sends GlobalTaxCalculation TaxExcluded, ExchangeRate 1 and line
    # TaxInclusiveAmt 0 (12.2.1): all must be accepted.
    sent = json.loads(invoice.to_json())
    assert sent["ExchangeRate"] == 1 and sent["GlobalTaxCalculation"] == "TaxExcluded"
    assert sent["Line"][0]["SalesItemLineDetail"]["TaxInclusiveAmt"] == 0
    created = ledger.ok(ledger.call("POST", "invoice", raw=invoice.to_json().encode()), "Invoice")
    assert created["TotalAmt"] == 100.0 and created["DocNumber"] == "PY-1"
    assert created["GlobalTaxCalculation"] == "TaxExcluded"
    assert "ExchangeRate" not in created  # multicurrency is off
    assert created["EmailStatus"] == "NotSet" and created["PrintStatus"] == "NotSet"
    again = Invoice.from_json(created)
    again.PrivateNote = "edited"
    updated = ledger.ok(ledger.call("POST", "invoice", raw=again.to_json().encode()), "Invoice")
    assert updated["PrivateNote"] == "edited" and updated["TotalAmt"] == 100.0
    assert [ln.get("Id") for ln in updated["Line"]] == ["1", None]


def test_void_zeroes_the_invoice(ledger: Ledger) -> None:
    customer, item = ledger.basics()
    invoice = ledger.invoice(customer["Id"], item["Id"], 100)
    voided = ledger.ok(
        ledger.post("invoice", {"Id": invoice["Id"], "SyncToken": "0"}, operation="void"),
        "Invoice",
    )
    assert voided["TotalAmt"] == 0 and voided["Balance"] == 0
    assert voided["PrivateNote"] == "Voided" and voided["SyncToken"] == "1"
    assert all(line["Amount"] == 0 for line in voided["Line"])
    assert ledger.ok(ledger.get(f"invoice/{invoice['Id']}"), "Invoice") == voided
    stale = ledger.post("invoice", {"Id": invoice["Id"], "SyncToken": "0"}, operation="void")
    assert stale.code == "5010"
    assert ledger.ok(ledger.get("customer/1"), "Customer")["Balance"] == 0


def test_delete_invoice_leaves_nothing_to_read(ledger: Ledger) -> None:
    customer, item = ledger.basics()
    invoice = ledger.invoice(customer["Id"], item["Id"], 100, DocNumber="D-1")
    answer = ledger.post("invoice", {"Id": invoice["Id"], "SyncToken": "0"}, operation="delete")
    assert answer.status == 200
    assert answer.json["Invoice"] == {"status": "Deleted", "domain": "QBO", "Id": invoice["Id"]}
    gone = ledger.get(f"invoice/{invoice['Id']}")
    assert gone.status == 400 and gone.code == "610"
    again = ledger.post("invoice", {"Id": invoice["Id"], "SyncToken": "0"}, operation="delete")
    assert again.code == "610" and "deleted" in again.fault()["Detail"]
    assert ledger.rows("SELECT * FROM Invoice") == []
    # Its number is free again.
    assert ledger.invoice(customer["Id"], item["Id"], 1, DocNumber="D-1")["Id"] == "2"


def test_send_and_pdf(ledger: Ledger) -> None:
    customer, item = ledger.basics()
    invoice = ledger.invoice(customer["Id"], item["Id"], 100, DocNumber="1001")
    assert ledger.post(f"invoice/{invoice['Id']}/send", None).code == "6000"
    sent = ledger.ok(
        ledger.call("POST", f"invoice/{invoice['Id']}/send", sendTo="amy@example.com"), "Invoice"
    )
    assert sent["EmailStatus"] == "EmailSent" and sent["SyncToken"] == "1"
    assert sent["BillEmail"] == {"Address": "amy@example.com"}
    assert ledger.changes[-1].operation == "Emailed"
    pdf = ledger.get(f"invoice/{invoice['Id']}/pdf")
    assert pdf.status == 200 and pdf.content_type == "application/pdf"
    assert pdf.raw.startswith(b"%PDF-1.4") and b"Invoice 1001" in pdf.raw


# --- payments ---------------------------------------------------------------------------


def _payment(customer_id: str, invoice_id: str, amount: float, total: float | None = None) -> dict:
    return {
        "CustomerRef": {"value": customer_id},
        "TotalAmt": amount if total is None else total,
        "Line": [{"Amount": amount, "LinkedTxn": [{"TxnId": invoice_id, "TxnType": "Invoice"}]}],
    }


def test_payments_lower_the_balance_and_deleting_restores_it(ledger: Ledger) -> None:
    customer, item = ledger.basics()
    invoice = ledger.invoice(customer["Id"], item["Id"], 100)
    payment = ledger.ok(ledger.post("payment", _payment("1", invoice["Id"], 30)), "Payment")
    assert payment["TotalAmt"] == 30 and payment["UnappliedAmt"] == 0
    assert payment["DepositToAccountRef"]["name"] == "Undeposited Funds"
    paid = ledger.ok(ledger.get(f"invoice/{invoice['Id']}"), "Invoice")
    assert paid["Balance"] == 70 and paid["SyncToken"] == "1"
    assert paid["LinkedTxn"] == [{"TxnId": payment["Id"], "TxnType": "Payment"}]
    assert ledger.ok(ledger.get("customer/1"), "Customer")["Balance"] == 70
    too_much = ledger.post("payment", _payment("1", invoice["Id"], 70.01))
    assert too_much.code == "6000"
    stranger = ledger.customer("Stranger")
    assert ledger.post("payment", _payment(stranger["Id"], invoice["Id"], 5)).code == "6000"
    assert ledger.post("payment", _payment("1", "99", 5)).code == "2500"
    assert ledger.post("payment", _payment("1", invoice["Id"], 50, total=40)).code == "6000"
    blocked = ledger.post("invoice", {"Id": invoice["Id"], "SyncToken": "1"}, operation="delete")
    assert blocked.code == "6000"
    deleted = ledger.post("payment", {"Id": payment["Id"], "SyncToken": "0"}, operation="delete")
    assert deleted.status == 200
    restored = ledger.ok(ledger.get(f"invoice/{invoice['Id']}"), "Invoice")
    assert restored["Balance"] == 100 and restored["LinkedTxn"] == []
    assert ledger.ok(ledger.get("customer/1"), "Customer")["Balance"] == 100


def test_voiding_a_payment_reopens_the_invoice(ledger: Ledger) -> None:
    customer, item = ledger.basics()
    invoice = ledger.invoice(customer["Id"], item["Id"], 100)
    payment = ledger.books.record_payment(REALM, invoice["Id"], Decimal("100"))
    assert ledger.ok(ledger.get(f"invoice/{invoice['Id']}"), "Invoice")["Balance"] == 0
    # python-quickbooks voids a payment with a sparse update and include=void.
    voided = ledger.ok(
        ledger.post(
            "payment",
            {"Id": payment["Id"], "SyncToken": "0", "sparse": True},
            operation="update",
            include="void",
        ),
        "Payment",
    )
    assert voided["TotalAmt"] == 0 and voided["PrivateNote"] == "Voided"
    assert ledger.ok(ledger.get(f"invoice/{invoice['Id']}"), "Invoice")["Balance"] == 100


def test_record_payment(ledger: Ledger) -> None:
    customer, item = ledger.basics()
    invoice = ledger.invoice(customer["Id"], item["Id"], 100)
    ledger.changes.clear()
    payment = ledger.books.record_payment(
        REALM, invoice["Id"], Decimal("40.50"), txn_date=dt.date(2025, 2, 27)
    )
    assert payment["TotalAmt"] == 40.5 and payment["TxnDate"] == "2025-02-27"
    assert payment["Line"][0]["LinkedTxn"] == [{"TxnId": invoice["Id"], "TxnType": "Invoice"}]
    assert [(c.entity, c.operation) for c in ledger.changes] == [
        ("Payment", "Create"),
        ("Invoice", "Update"),
    ]
    assert ledger.ok(ledger.get(f"invoice/{invoice['Id']}"), "Invoice")["Balance"] == 59.5
    with pytest.raises(KeyError):
        ledger.books.record_payment(REALM, "999", Decimal("1"))
    with pytest.raises(KeyError):
        ledger.books.record_payment("nope", invoice["Id"], Decimal("1"))
    for amount in ("0", "-5", "59.51", "NaN"):
        with pytest.raises(ValueError):
            ledger.books.record_payment(REALM, invoice["Id"], Decimal(amount))
    assert ledger.books.counts()[REALM]["Payment"] == 1


# --- changes ------------------------------------------------------------------------------


def test_changes_are_emitted_only_for_committed_writes(ledger: Ledger) -> None:
    customer, item = ledger.basics()
    invoice = ledger.invoice(customer["Id"], item["Id"], 100)
    ledger.advance(5)
    ledger.get(f"invoice/{invoice['Id']}")
    ledger.rows("SELECT * FROM Invoice")
    ledger.post("customer", {"DisplayName": "Amy's Bird Sanctuary"})  # refused
    ledger.post("invoice", {"Id": invoice["Id"], "SyncToken": "9", "sparse": True})  # stale
    updated = ledger.ok(
        ledger.post("invoice", {"Id": invoice["Id"], "SyncToken": "0", "sparse": True}),
        "Invoice",
    )
    ledger.post("invoice", {"Id": invoice["Id"], "SyncToken": "1"}, operation="void")
    seen = [(c.realm_id, c.entity, c.entity_id, c.operation) for c in ledger.changes]
    assert seen == [
        (REALM, "Customer", "1", "Create"),
        (REALM, "Item", item["Id"], "Create"),
        (REALM, "Invoice", "1", "Create"),
        (REALM, "Invoice", "1", "Update"),
        (REALM, "Invoice", "1", "Void"),
    ]
    change = ledger.changes[3]
    assert change.last_updated == START.replace(microsecond=0) + dt.timedelta(seconds=5)
    stamp = dt.datetime.fromisoformat(updated["MetaData"]["LastUpdatedTime"])
    assert change.last_updated == stamp and change.last_updated.tzinfo is not None


def test_a_failing_listener_does_not_undo_the_write(ledger: Ledger) -> None:
    def broken(change: object) -> None:
        raise RuntimeError("listener down")

    ledger.books.listeners.insert(0, broken)
    assert ledger.post("customer", {"DisplayName": "Acme"}).status == 200
    assert len(ledger.changes) == 1


# --- persistence ------------------------------------------------------------------------------


def test_to_dict_from_dict_round_trip(ledger: Ledger) -> None:
    customer, item = ledger.basics()
    invoice = ledger.invoice(customer["Id"], item["Id"], 100, DocNumber="R-1")
    ledger.books.record_payment(REALM, invoice["Id"], Decimal("25"))
    ledger.post("customer", {"DisplayName": "Replayed"}, requestid="rid-1")
    doomed = ledger.invoice(customer["Id"], item["Id"], 5)
    ledger.post("invoice", {"Id": doomed["Id"], "SyncToken": "0"}, operation="delete")
    saved = json.loads(json.dumps(ledger.books.to_dict()))
    restored = Books.from_dict(saved, lambda: ledger.now)
    assert restored.to_dict() == saved
    assert restored.counts() == ledger.books.counts()
    before = ledger.get(f"invoice/{invoice['Id']}").raw
    ledger.books = restored
    assert ledger.get(f"invoice/{invoice['Id']}").raw == before
    # Indexes came back: names, numbers, payments, Ids and replays.
    assert ledger.post("customer", {"DisplayName": "amy's bird sanctuary"}).code == "6240"
    dup = ledger.invoice_body(customer["Id"], item["Id"], 1, DocNumber="R-1")
    assert ledger.post("invoice", dup).code == "6140"
    assert ledger.post("invoice", {"Id": invoice["Id"], "SyncToken": "1"},
                       operation="delete").code == "6000"  # fmt: skip
    assert ledger.customer("New")["Id"] == "3"
    replay = ledger.post("customer", {"DisplayName": "Replayed"}, requestid="rid-1")
    assert replay.status == 200 and replay.json["Customer"]["Id"] == "2"
    cdc = ledger.get("cdc", entities="Invoice", changedSince="2025-03-01")
    rows = cdc.json["CDCResponse"][0]["QueryResponse"][0]["Invoice"]
    assert rows[-1]["status"] == "Deleted" and rows[-1]["Id"] == doomed["Id"]


def test_entities_returns_copies(ledger: Ledger) -> None:
    ledger.customer("Acme")
    listed = ledger.books.entities(REALM, "Customer")
    listed[0]["DisplayName"] = "changed"
    assert ledger.books.entities(REALM, "Customer")[0]["DisplayName"] == "Acme"
    assert ledger.books.entities("nope", "Customer") == []


def test_line_amount_may_round_a_half_cent_either_way(ledger: Ledger) -> None:
    customer, item = ledger.basics()
    for amount in ("12.12", "12.13"):
        body = ledger.invoice_body(customer["Id"], item["Id"], float(amount))
        body["Line"][0]["SalesItemLineDetail"].update({"Qty": 12.5, "UnitPrice": 0.97})
        assert ledger.ok(ledger.post("invoice", body), "Invoice")["TotalAmt"] == float(amount)
    body = ledger.invoice_body(customer["Id"], item["Id"], 12.11)
    body["Line"][0]["SalesItemLineDetail"].update({"Qty": 12.5, "UnitPrice": 0.97})
    assert ledger.post("invoice", body).code == "6070"


def test_company_info_can_be_renamed_but_not_created(ledger: Ledger) -> None:
    renamed = ledger.ok(
        ledger.post(
            "companyinfo",
            {"Id": "1", "SyncToken": "0", "sparse": True, "CompanyName": "Acme Two"},
            minorversion="75",
            format="json",
        ),
        "CompanyInfo",
    )
    assert renamed["CompanyName"] == "Acme Two" and renamed["Country"] == "AU"
    assert renamed["LegalName"] == "Acme Pty Ltd" and renamed["SyncToken"] == "1"
    assert ledger.post("companyinfo", {"Id": "1", "SyncToken": "1"}).code == "2020"
    assert ledger.rows("SELECT * FROM CompanyInfo")[0]["CompanyName"] == "Acme Two"
    # Intuit sends no webhook for CompanyInfo: the change is not announced.
    assert ledger.changes == []
