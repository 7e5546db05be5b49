"""Sales tax on invoices: the global model (AU, UK, CA) and the US model (QUICKBOOKS.md 12.2)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from books_support import REALM, Ledger
from hub_quickbooks.emulator.books import CompanySetup
from hub_quickbooks.emulator.rules import BookRules

BUSINESS = "A business validation error has occurred while processing your request"
TAX_TROUBLE = "QuickBooks encountered an error while calculating tax."


@pytest.fixture
def ledger() -> Ledger:
    return Ledger()


def coded_invoice(ledger: Ledger, *lines: tuple[float, str | None], **fields: Any) -> Any:
    """POST an invoice with one line per (amount, tax code name or None)."""
    customer = ledger.customer(f"Customer {len(ledger.changes)}")
    item = ledger.item(f"Item {len(ledger.changes)}")
    body = {
        "CustomerRef": {"value": customer["Id"]},
        "Line": [
            ledger.line(item["Id"], amount, ledger.tax_code(name) if name else None)
            for amount, name in lines
        ],
        **fields,
    }
    if any(name is None for _, name in lines):
        for line, (_, name) in zip(body["Line"], lines, strict=True):
            if name is None:
                line["SalesItemLineDetail"].pop("TaxCodeRef", None)
    return ledger.post("invoice", body)


def tax_lines(invoice: dict[str, Any]) -> list[tuple[str, float, float, float]]:
    """(rate Id, Amount, TaxPercent, NetAmountTaxable) of each TaxLine."""
    return [
        (
            line["TaxLineDetail"]["TaxRateRef"]["value"],
            line["Amount"],
            line["TaxLineDetail"]["TaxPercent"],
            line["TaxLineDetail"]["NetAmountTaxable"],
        )
        for line in invoice["TxnTaxDetail"].get("TaxLine", [])
    ]


# --- the missing code ----------------------------------------------------------------------


@pytest.mark.parametrize(("region", "word"), [("AU", "GST"), ("UK", "VAT"), ("CA", "GST/HST")])
def test_a_line_without_a_tax_code_refuses_the_whole_invoice(region: str, word: str) -> None:
    ledger = Ledger(region=region)
    customer, item = ledger.basics()
    body = ledger.invoice_body(customer["Id"], item["Id"], 10, 20)
    del body["Line"][1]["SalesItemLineDetail"]["TaxCodeRef"]
    answer = ledger.post("invoice", body)
    assert answer.status == 400
    assert answer.json == {
        "Fault": {
            "Error": [{
                "Message": BUSINESS,
                "Detail": f"Business Validation Error: Make sure all your transactions have a "
                          f"{word} rate before you save.",
                "code": "6000",
                "element": "",
            }],
            "type": "ValidationFault",
        },
        "time": answer.json["time"],
    }  # fmt: skip
    assert list(answer.json) == ["Fault", "time"]
    assert ledger.rows("SELECT * FROM Invoice") == []


def test_in_a_batch_only_the_uncoded_item_fails(ledger: Ledger) -> None:
    customer, item = ledger.basics()
    good = ledger.invoice_body(customer["Id"], item["Id"], 10)
    bad = ledger.invoice_body(customer["Id"], item["Id"], 10)
    del bad["Line"][0]["SalesItemLineDetail"]["TaxCodeRef"]
    answer = ledger.post("batch", {"BatchItemRequest": [
        {"bId": "good", "operation": "create", "Invoice": good},
        {"bId": "bad", "operation": "create", "Invoice": bad},
    ]})  # fmt: skip
    assert answer.status == 200
    ok, failed = answer.json["BatchItemResponse"]
    assert ok["Invoice"]["TotalAmt"] == 10.0
    assert failed["bId"] == "bad" and failed["Fault"]["type"] == "ValidationFault"
    assert failed["Fault"]["Error"][0]["code"] == "6000"
    assert "have a GST rate" in failed["Fault"]["Error"][0]["Detail"]


def test_unknown_inactive_and_purchase_only_codes(ledger: Ledger) -> None:
    customer, item = ledger.basics()
    for code in ("999999", "TAX", "NON"):
        answer = ledger.post("invoice", {"CustomerRef": {"value": customer["Id"]},
                                         "Line": [ledger.line(item["Id"], 10, code)]})  # fmt: skip
        assert answer.status == 400 and answer.code == "2500", code
        assert answer.fault()["Message"] == "Invalid Reference Id"
        assert answer.fault()["element"] == "Line.SalesItemLineDetail.TaxCodeRef"
    purchase_only = coded_invoice(ledger, (10, "GST on non-capital"))
    assert purchase_only.status == 400 and purchase_only.code == "6000"
    assert TAX_TROUBLE in purchase_only.fault()["Detail"]
    assert purchase_only.fault()["Detail"].startswith("Business Validation Error: We're sorry,")
    ledger.books.edit(REALM, "TaxCode", ledger.tax_code("GST"), {"Active": False})
    inactive = coded_invoice(ledger, (10, "GST"))
    assert inactive.status == 400 and inactive.code == "610"


# --- computing the tax ------------------------------------------------------------------------


def test_tax_excluded_rounds_each_line_then_adds(ledger: Ledger) -> None:
    invoice = ledger.ok(coded_invoice(ledger, (10.05, "GST"), (10.05, "GST")), "Invoice")
    # Each line's 1.005 rounds to 1.01 (half up): 2.02, where the sum's 2.01 would round
    # to 2.01 (12.2.2: "QuickBooks Online will always calculate line-by-line").
    assert invoice["TxnTaxDetail"]["TotalTax"] == 2.02
    gst = ledger.tax_rate("GST (sales)")["Id"]
    assert tax_lines(invoice) == [(gst, 2.02, 10, 20.1)]
    assert invoice["TotalAmt"] == 22.12 and invoice["Balance"] == 22.12
    assert invoice["GlobalTaxCalculation"] == "TaxExcluded"  # the default when omitted
    line = invoice["Line"][0]
    assert line["Amount"] == 10.05
    assert line["SalesItemLineDetail"]["TaxCodeRef"] == {"value": ledger.tax_code("GST")}
    assert line["SalesItemLineDetail"]["TaxInclusiveAmt"] == 11.06
    assert invoice["Line"][-1] == {"Amount": 20.1, "DetailType": "SubTotalLineDetail",
                                   "SubTotalLineDetail": {}}  # fmt: skip


def test_gst_free_and_gst_lines_as_in_the_reference(ledger: Ledger) -> None:
    invoice = ledger.ok(coded_invoice(ledger, (135.12, "GST-free"), (50, "GST")), "Invoice")
    free, gst = ledger.tax_rate("GST free (sales)")["Id"], ledger.tax_rate("GST (sales)")["Id"]
    assert invoice["TxnTaxDetail"] == {
        "TotalTax": 5.0,
        "TaxLine": [
            {"Amount": 0.0, "DetailType": "TaxLineDetail",
             "TaxLineDetail": {"TaxRateRef": {"value": free}, "PercentBased": True,
                               "TaxPercent": 0, "NetAmountTaxable": 135.12}},
            {"Amount": 5.0, "DetailType": "TaxLineDetail",
             "TaxLineDetail": {"TaxRateRef": {"value": gst}, "PercentBased": True,
                               "TaxPercent": 10, "NetAmountTaxable": 50.0}},
        ],
    }  # fmt: skip
    assert invoice["TotalAmt"] == 190.12


def test_zero_rate_tax_lines_can_be_switched_off() -> None:
    ledger = Ledger(rules=BookRules(zero_rate_tax_lines=False))
    invoice = ledger.ok(coded_invoice(ledger, (135.12, "GST-free")), "Invoice")
    assert invoice["TxnTaxDetail"] == {"TotalTax": 0.0}


def test_tax_inclusive_keeps_amount_net_and_takes_the_gross(ledger: Ledger) -> None:
    customer, item = ledger.basics()
    gst = ledger.tax_code("GST")
    line = ledger.line(item["Id"], 90.90, gst)
    line["SalesItemLineDetail"]["TaxInclusiveAmt"] = 99.99
    body = {"CustomerRef": {"value": customer["Id"]}, "Line": [line],
            "GlobalTaxCalculation": "TaxInclusive"}  # fmt: skip
    invoice = ledger.ok(ledger.post("invoice", body), "Invoice")
    assert invoice["GlobalTaxCalculation"] == "TaxInclusive"
    assert invoice["Line"][0]["Amount"] == 90.9
    assert invoice["Line"][0]["SalesItemLineDetail"]["TaxInclusiveAmt"] == 99.99
    assert invoice["TxnTaxDetail"]["TotalTax"] == 9.09 and invoice["TotalAmt"] == 99.99
    # A gross the rate cannot give is refused.
    line["SalesItemLineDetail"]["TaxInclusiveAmt"] = 101.0
    refused = ledger.post("invoice", body)
    assert refused.code == "6000" and TAX_TROUBLE in refused.fault()["Detail"]
    # Without a gross, the net is taxed as for TaxExcluded.
    del line["SalesItemLineDetail"]["TaxInclusiveAmt"]
    assert ledger.ok(ledger.post("invoice", body), "Invoice")["TotalAmt"] == 99.99


def test_not_applicable_computes_nothing_but_still_needs_codes(ledger: Ledger) -> None:
    invoice = ledger.ok(
        coded_invoice(ledger, (100, "GST"), GlobalTaxCalculation="NotApplicable"), "Invoice"
    )
    assert invoice["TxnTaxDetail"] == {"TotalTax": 0} and invoice["TotalAmt"] == 100.0
    assert invoice["GlobalTaxCalculation"] == "NotApplicable"
    uncoded = coded_invoice(ledger, (100, None), GlobalTaxCalculation="NotApplicable")
    assert uncoded.code == "6000"
    assert coded_invoice(ledger, (1, "GST"), GlobalTaxCalculation="TaxIncluded").code == "2170"


def test_a_discount_lowers_the_taxed_amounts_pro_rata(ledger: Ledger) -> None:
    customer, item = ledger.basics()
    gst = ledger.tax_code("GST")
    body = {
        "CustomerRef": {"value": customer["Id"]},
        "Line": [
            ledger.line(item["Id"], 33.33, gst),
            ledger.line(item["Id"], 66.67, gst),
            {"DetailType": "DiscountLineDetail", "Amount": 10,
             "DiscountLineDetail": {"PercentBased": False}},
        ],
    }  # fmt: skip
    invoice = ledger.ok(ledger.post("invoice", body), "Invoice")
    # 10.00 shared 3.33 / 6.67 (the odd cent to the larger remainder): 30.00 and 60.00.
    assert tax_lines(invoice) == [(ledger.tax_rate("GST (sales)")["Id"], 9.0, 10, 90.0)]
    assert invoice["TotalAmt"] == 99.0  # 100 - 10 + 9


def test_a_code_with_two_rates_splits_each_lines_tax() -> None:
    ledger = Ledger(region="CA")
    invoice = ledger.ok(coded_invoice(ledger, (0.25, "GST/PST BC"), (100, "GST/PST BC")),
                        "Invoice")  # fmt: skip
    gst, pst = ledger.tax_rate("GST (sales)")["Id"], ledger.tax_rate("PST BC (sales)")["Id"]
    # 0.25 at 12% is 0.03, split 0.01 + 0.02; 100 gives 5.00 + 7.00.
    assert tax_lines(invoice) == [(gst, 5.01, 5, 100.25), (pst, 7.02, 7, 100.25)]
    assert invoice["TxnTaxDetail"]["TotalTax"] == 12.03 and invoice["TotalAmt"] == 112.28
    uk = Ledger(region="UK")
    vat = ledger.ok(coded_invoice(uk, (19.99, "20.0% S")), "Invoice")
    assert vat["TxnTaxDetail"]["TotalTax"] == 4.0 and vat["TotalAmt"] == 23.99


def test_client_tax_detail_is_ignored_and_recomputed(ledger: Ledger) -> None:
    invoice = ledger.ok(coded_invoice(ledger, (100, "GST"), TxnTaxDetail={"TotalTax": 99}),
                        "Invoice")  # fmt: skip
    assert invoice["TxnTaxDetail"]["TotalTax"] == 10.0 and invoice["TotalAmt"] == 110.0


def test_honour_keeps_supplied_tax_lines() -> None:
    ledger = Ledger(rules=BookRules(tax_override="honour"))
    gst = ledger.tax_rate("GST (sales)")["Id"]
    supplied = {"TaxLine": [{"Amount": 9.99, "DetailType": "TaxLineDetail",
                             "TaxLineDetail": {"TaxRateRef": {"value": gst}}}]}  # fmt: skip
    invoice = ledger.ok(coded_invoice(ledger, (100, "GST"), TxnTaxDetail=supplied), "Invoice")
    tax_line = invoice["TxnTaxDetail"]["TaxLine"][0]
    assert tax_line["Amount"] == 9.99
    assert tax_line["TaxLineDetail"]["OverrideDeltaAmount"] == -0.01
    assert invoice["TxnTaxDetail"]["TotalTax"] == 9.99 and invoice["TotalAmt"] == 109.99
    other = ledger.tax_rate("GST free (sales)")["Id"]
    supplied["TaxLine"][0]["TaxLineDetail"]["TaxRateRef"]["value"] = other
    assert coded_invoice(ledger, (100, "GST"), TxnTaxDetail=supplied).code == "6000"


def test_updates_recompute_tax_and_sparse_ones_keep_it(ledger: Ledger) -> None:
    invoice = ledger.ok(coded_invoice(ledger, (100, "GST")), "Invoice")
    sparse = ledger.ok(ledger.post("invoice", {"Id": invoice["Id"], "SyncToken": "0",
                                               "sparse": True, "PrivateNote": "n"}),
                       "Invoice")  # fmt: skip
    assert sparse["TxnTaxDetail"] == invoice["TxnTaxDetail"] and sparse["TotalAmt"] == 110.0
    assert sparse["Line"] == invoice["Line"]
    # Re-sending the object read earlier with a new amount: the tax follows the lines.
    resent = dict(sparse)
    resent["Line"] = [dict(sparse["Line"][0], Amount=200)]
    full = ledger.ok(ledger.post("invoice", resent), "Invoice")
    assert full["TxnTaxDetail"]["TotalTax"] == 20.0 and full["TotalAmt"] == 220.0
    changed = ledger.ok(ledger.post("invoice", {
        "Id": invoice["Id"], "SyncToken": full["SyncToken"], "sparse": True,
        "Line": [ledger.line(invoice["Line"][0]["SalesItemLineDetail"]["ItemRef"]["value"],
                             50, ledger.tax_code("GST-free"))],
    }), "Invoice")  # fmt: skip
    assert changed["TxnTaxDetail"]["TotalTax"] == 0 and changed["TotalAmt"] == 50.0


def test_payments_void_and_delete_work_with_tax_inclusive_totals(ledger: Ledger) -> None:
    invoice = ledger.ok(coded_invoice(ledger, (100, "GST")), "Invoice")
    customer_id = invoice["CustomerRef"]["value"]
    with pytest.raises(ValueError):
        ledger.books.record_payment(REALM, invoice["Id"], Decimal("110.01"))
    ledger.books.record_payment(REALM, invoice["Id"], Decimal("60"))
    paid = ledger.ok(ledger.get(f"invoice/{invoice['Id']}"), "Invoice")
    assert paid["Balance"] == 50.0
    assert ledger.ok(ledger.get(f"customer/{customer_id}"), "Customer")["Balance"] == 50.0
    rest = {"CustomerRef": {"value": customer_id}, "TotalAmt": 50,
            "Line": [{"Amount": 50, "LinkedTxn": [{"TxnId": invoice["Id"],
                                                   "TxnType": "Invoice"}]}]}  # fmt: skip
    ledger.ok(ledger.post("payment", rest), "Payment")
    assert ledger.ok(ledger.get(f"invoice/{invoice['Id']}"), "Invoice")["Balance"] == 0
    other = ledger.ok(coded_invoice(ledger, (10, "GST")), "Invoice")
    voided = ledger.ok(ledger.post("invoice", {"Id": other["Id"], "SyncToken": "0"},
                                   operation="void"), "Invoice")  # fmt: skip
    assert voided["TotalAmt"] == 0 and voided["TxnTaxDetail"]["TotalTax"] == 0
    assert all(line["Amount"] == 0 for line in voided["TxnTaxDetail"]["TaxLine"])


# --- the US model and companies without sales tax ------------------------------------------


def test_us_lines_default_to_non_and_refuse_other_codes() -> None:
    ledger = Ledger(region="US")
    invoice = ledger.ok(coded_invoice(ledger, (100, None)), "Invoice")
    assert invoice["Line"][0]["SalesItemLineDetail"]["TaxCodeRef"] == {"value": "NON"}
    assert "TaxInclusiveAmt" not in invoice["Line"][0]["SalesItemLineDetail"]
    assert invoice["TxnTaxDetail"] == {"TotalTax": 0} and invoice["TotalAmt"] == 100.0
    taxed_without_group = ledger.ok(coded_invoice(ledger, (100, "TAX")), "Invoice")
    assert taxed_without_group["TxnTaxDetail"] == {"TotalTax": 0}
    group = ledger.tax_code("Tucson City")
    answer = ledger.post("invoice", {"CustomerRef": {"value": invoice["CustomerRef"]["value"]},
                                     "Line": [ledger.line(ledger.item("Other")["Id"], 5, group)]})
    assert answer.status == 400
    assert answer.json["Fault"]["Error"] == [{
        "Message": "Invalid Line TaxCode in the request",
        "Detail": f"Valid line TaxCodes for US should be TAX or NON. Supplied value: {group}",
        "code": "6100",
        "element": "Line.SalesItemLineDetail.TaxCodeRef",
    }]  # fmt: skip


def test_us_tax_comes_from_the_group_in_txn_tax_code_ref() -> None:
    ledger = Ledger(region="US")
    group = ledger.tax_code("Tucson City")
    detail = {"TxnTaxCodeRef": {"value": group}}
    invoice = ledger.ok(coded_invoice(ledger, (33.33, "TAX"), (50, "NON"), TxnTaxDetail=detail),
                        "Invoice")  # fmt: skip
    state, city = ledger.tax_rate("AZ State tax")["Id"], ledger.tax_rate("Tucson City")["Id"]
    # Each rate on the taxable subtotal (33.33): 2.03 + 0.63.
    assert invoice["TxnTaxDetail"]["TxnTaxCodeRef"] == {"value": group}
    assert tax_lines(invoice) == [(state, 2.03, 6.1, 33.33), (city, 0.63, 1.9, 33.33)]
    assert invoice["TxnTaxDetail"]["TotalTax"] == 2.66 and invoice["TotalAmt"] == 85.99
    # A sparse update keeps the group; a full update without it drops the tax.
    sparse = ledger.ok(ledger.post("invoice", {"Id": invoice["Id"], "SyncToken": "0",
                                               "sparse": True, "PrivateNote": "kept"}),
                       "Invoice")  # fmt: skip
    assert sparse["TxnTaxDetail"] == invoice["TxnTaxDetail"]
    full = {k: v for k, v in sparse.items() if k != "TxnTaxDetail"}
    assert ledger.ok(ledger.post("invoice", full), "Invoice")["TxnTaxDetail"] == {"TotalTax": 0}
    unknown = coded_invoice(ledger, (1, "TAX"), TxnTaxDetail={"TxnTaxCodeRef": {"value": "77"}})
    assert unknown.code == "2500" and unknown.fault()["element"] == "TxnTaxDetail.TxnTaxCodeRef"
    item = ledger.item("Taxable thing", Taxable=True)
    assert item["Taxable"] is True


def test_without_sales_tax_codes_are_neither_needed_nor_kept() -> None:
    ledger = Ledger(setup=CompanySetup(using_sales_tax=False))
    uncoded = ledger.ok(coded_invoice(ledger, (100, None)), "Invoice")
    assert uncoded["TxnTaxDetail"] == {"TotalTax": 0} and uncoded["TotalAmt"] == 100.0
    coded = ledger.ok(coded_invoice(ledger, (100, "GST"), GlobalTaxCalculation="TaxExcluded"),
                      "Invoice")  # fmt: skip
    detail = coded["Line"][0]["SalesItemLineDetail"]
    assert "TaxCodeRef" not in detail and "TaxInclusiveAmt" not in detail
    assert coded["TotalAmt"] == 100.0 and "GlobalTaxCalculation" not in coded


def test_items_carry_validated_tax_codes(ledger: Ledger) -> None:
    gst = ledger.tax_code("GST")
    item = ledger.item("Coded item", SalesTaxCodeRef={"value": gst},
                       PurchaseTaxCodeRef={"value": ledger.tax_code("GST on non-capital")})
    assert item["SalesTaxCodeRef"] == {"value": gst, "name": "GST"}
    assert item["PurchaseTaxCodeRef"]["name"] == "GST on non-capital"
    unknown = ledger.post("item", {"Name": "Bad code", "Type": "Service",
                                   "IncomeAccountRef": {"value": "1"},
                                   "SalesTaxCodeRef": {"value": "TAX"}})  # fmt: skip
    assert unknown.code == "2500" and unknown.fault()["element"] == "SalesTaxCodeRef"
