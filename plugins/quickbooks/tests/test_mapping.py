"""Pure translations between hub payloads and QuickBooks JSON."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from hub_quickbooks.mapping import (
    customer_body,
    decode_json,
    dedupe_key,
    disambiguated_name,
    display_name,
    encode_json,
    invoice_body,
    invoice_sparse_update,
    invoice_status,
    invoice_update,
    is_voided,
    item_body,
    item_name,
    line_amount,
    linked_invoice_ids,
    parse_datetime,
    query_literal,
    request_id,
    select_in,
    void_body,
)
from hub_quickbooks.profile import CompanyProfile, profile_from
from plugin_support import AU_FACTS, AU_MAPPING, GST_CODE, GST_FREE_CODE, invoice, participant

from hub.types import LinePayload, RemoteRef

AU = profile_from(AU_MAPPING, AU_FACTS)

UTC = dt.UTC
ITEMS = {"07_002_0106_8_3": "19", "07_799_0106_8_3": "20"}
ALEX = participant("P-001", "Alex Chen", "alex@example.com")

# The void sample of Intuit's Invoice reference, trimmed to the fields that matter.
VOIDED = {
    "Id": "129",
    "SyncToken": "1",
    "DocNumber": "1070",
    "TotalAmt": 0,
    "Balance": 0,
    "PrivateNote": "Voided",
    "Line": [{"Amount": 0, "SalesItemLineDetail": {"Qty": 0}}],
    "MetaData": {"LastUpdatedTime": "2015-07-24T10:35:08-07:00"},
}


def qbo_invoice(total: str, balance: str, **extra) -> dict:
    return {
        "Id": "238",
        "SyncToken": "2",
        "TotalAmt": Decimal(total),
        "Balance": Decimal(balance),
        "MetaData": {"LastUpdatedTime": "2015-07-24T10:33:39-07:00"},
        **extra,
    }


def test_invoice_body_has_the_numbers_dates_and_lines():
    two_lines = (
        LinePayload("Support coordination", "07_002_0106_8_3", Decimal("2"), Decimal("100.14")),
        LinePayload("Travel", "07_799_0106_8_3", Decimal("1.5"), Decimal("0.99"), "gst"),
    )
    payload = invoice(1, ALEX, lines=two_lines, memo="Fortnight 2")

    body = invoice_body(payload, "58", ITEMS, AU)

    assert body["DocNumber"] == "INV-1001"
    assert body["TxnDate"] == "2026-11-23"
    assert body["DueDate"] == "2026-12-07"
    assert body["CustomerRef"] == {"value": "58"}
    assert "CurrencyRef" not in body  # one currency in the company: its own
    assert body["GlobalTaxCalculation"] == "TaxExcluded"  # unit prices are before GST
    assert "TxnTaxDetail" not in body  # QuickBooks computes it
    assert body["PrivateNote"] == "Fortnight 2"
    assert body["BillEmail"] == {"Address": "alex@example.com"}
    assert body["Line"] == [
        {
            "DetailType": "SalesItemLineDetail",
            "Amount": Decimal("200.28"),
            "Description": "Support coordination",
            "SalesItemLineDetail": {
                "ItemRef": {"value": "19"},
                "Qty": Decimal("2"),
                "UnitPrice": Decimal("100.14"),
                "TaxCodeRef": {"value": GST_FREE_CODE},
            },
        },
        {
            "DetailType": "SalesItemLineDetail",
            "Amount": Decimal("1.49"),  # 1.485 rounded half up
            "Description": "Travel",
            "SalesItemLineDetail": {
                "ItemRef": {"value": "20"},
                "Qty": Decimal("1.5"),
                "UnitPrice": Decimal("0.99"),
                "TaxCodeRef": {"value": GST_CODE},
            },
        },
    ]


@pytest.mark.parametrize(
    ("quantity", "price", "amount"),
    [
        ("12.5", "0.97", "12.13"),
        ("2", "100.14", "200.28"),
        ("0.333", "1", "0.33"),
        ("3", "0.005", "0.02"),
    ],
)
def test_line_amounts_round_half_up_as_quickbooks_checks_them(quantity, price, amount):
    line = LinePayload("x", "code", Decimal(quantity), Decimal(price))
    assert line_amount(line) == Decimal(amount)


def test_a_multicurrency_company_is_told_the_currency():
    profile = profile_from(AU_MAPPING, {**AU_FACTS, "multicurrency": "true"})
    body = invoice_body(invoice(1, ALEX), "58", ITEMS, profile)
    assert body["CurrencyRef"] == {"value": "AUD"}


def test_a_company_without_gst_gets_no_tax_codes():
    profile = profile_from(AU_MAPPING, {**AU_FACTS, "tax_model": "none"})
    body = invoice_body(invoice(1, ALEX), "58", ITEMS, profile)
    assert "TaxCodeRef" not in body["Line"][0]["SalesItemLineDetail"]
    assert "GlobalTaxCalculation" not in body


def test_a_us_company_gets_its_pseudo_codes_and_no_global_calculation():
    profile = CompanyProfile(tax_model="us", home_currency="USD", tax_codes={"gst_free": "NON"})
    body = invoice_body(invoice(1, ALEX), "58", ITEMS, profile)
    assert body["Line"][0]["SalesItemLineDetail"]["TaxCodeRef"] == {"value": "NON"}
    assert "GlobalTaxCalculation" not in body


def test_invoice_body_leaves_out_empty_memo_and_email():
    body = invoice_body(invoice(1, participant("P-9", "No Mail")), "58", ITEMS, AU)

    assert "PrivateNote" not in body
    assert "BillEmail" not in body


def test_sparse_update_names_the_version_and_keeps_the_currency():
    profile = profile_from(AU_MAPPING, {**AU_FACTS, "multicurrency": "true"})
    body = invoice_sparse_update(invoice(1, ALEX), RemoteRef("238", "4"), "58", ITEMS, profile)

    assert body["Id"] == "238"
    assert body["SyncToken"] == "4"
    assert body["sparse"] is True
    assert "CurrencyRef" not in body
    assert body["PrivateNote"] == ""  # a removed memo is cleared, not kept
    assert body["DueDate"] == "2026-12-07"
    assert len(body["Line"]) == 1


def test_void_body_is_id_and_synctoken():
    assert void_body(RemoteRef("129", "0")) == {"Id": "129", "SyncToken": "0"}


def test_json_numbers_keep_their_exact_digits():
    body = {"a": Decimal("100.14"), "b": Decimal("2"), "c": [Decimal("0.10")], "d": "x"}

    encoded = encode_json(body)

    assert encoded == b'{"a":100.14,"b":2,"c":[0.1],"d":"x"}'
    assert decode_json(encoded)["a"] == Decimal("100.14")
    assert isinstance(decode_json(b'{"TotalAmt": 100.0}')["TotalAmt"], Decimal)


def test_names_are_made_legal_for_quickbooks():
    assert display_name("Alex:Chen\tJr\n") == "Alex - Chen - Jr"
    assert display_name("  Sam   Lee ") == "Sam Lee"
    assert display_name("") == "Unnamed participant"
    assert len(display_name("x" * 600)) == 500
    long = participant("P-001", "y" * 600)
    assert len(disambiguated_name(long)) == 500
    assert disambiguated_name(long).endswith(" (P-001)")
    assert disambiguated_name(ALEX) == "Alex Chen (P-001)"
    assert item_name("07:002") == "07-002"
    assert len(item_name("z" * 200)) == 100


def test_customer_and_item_bodies():
    assert customer_body(ALEX, "Alex Chen (P-001)") == {
        "DisplayName": "Alex Chen (P-001)",
        "Notes": "Coordinoter participant P-001",
        "PrimaryEmailAddr": {"Address": "alex@example.com"},
    }
    assert customer_body(participant("P-2", "B"), "B", "NZD") == {
        "DisplayName": "B",
        "Notes": "Coordinoter participant P-2",
        "CurrencyRef": {"value": "NZD"},
    }
    assert item_body("07_002", "79") == {
        "Name": "07_002",
        "Type": "Service",
        "IncomeAccountRef": {"value": "79"},
    }


def test_query_literals_escape_quotes():
    assert query_literal("O'Brien") == "'O\\'Brien'"
    assert select_in("Customer", "DisplayName", ["O'Brien", "Sam"]) == (
        "SELECT * FROM Customer WHERE DisplayName IN ('O\\'Brien', 'Sam')"
    )


@pytest.mark.parametrize(
    ("total", "balance", "voided", "status"),
    [
        ("100", "100", False, "open"),
        ("100", "40", False, "partially_paid"),
        ("100", "0", False, "paid"),
        ("0", "0", False, "open"),
        ("0", "0", True, "void"),
        ("100", "100", True, "void"),
    ],
)
def test_status_from_total_and_balance(total, balance, voided, status):
    assert invoice_status(Decimal(total), Decimal(balance), voided=voided) == status


def test_invoice_update_for_a_partly_paid_invoice():
    update = invoice_update(qbo_invoice("200.28", "150.28"))

    assert update.remote_id == "238"
    assert update.status == "partially_paid"
    assert update.amount_paid == Decimal("50.00")
    assert update.balance == Decimal("150.28")
    assert update.total == Decimal("200.28")
    assert update.remote_version == "2"
    assert update.remote_updated_at == dt.datetime(2015, 7, 24, 17, 33, 39, tzinfo=UTC)
    assert update.deleted is False


def test_invoice_update_for_paid_and_open_invoices():
    assert invoice_update(qbo_invoice("200.28", "0")).status == "paid"
    assert invoice_update(qbo_invoice("200.28", "0")).amount_paid == Decimal("200.28")
    assert invoice_update(qbo_invoice("200.28", "200.28")).status == "open"
    assert invoice_update(qbo_invoice("200.28", "200.28")).amount_paid == Decimal("0")


def test_a_voided_invoice_is_recognised():
    assert is_voided(VOIDED)
    update = invoice_update(VOIDED)
    assert update.status == "void"
    assert update.amount_paid == Decimal("0")
    assert update.remote_version == "1"
    # A note alone, or zero amounts alone, do not make an invoice void.
    assert not is_voided(qbo_invoice("10", "10", PrivateNote="Voided"))
    assert not is_voided(qbo_invoice("0", "0"))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2015-07-24T10:33:39-07:00", dt.datetime(2015, 7, 24, 17, 33, 39, tzinfo=UTC)),
        ("2015-10-05T14:42:19-0700", dt.datetime(2015, 10, 5, 21, 42, 19, tzinfo=UTC)),
        ("2016-10-05T03:09:04.000Z", dt.datetime(2016, 10, 5, 3, 9, 4, tzinfo=UTC)),
        (
            "2025-09-10T21:31:25.179851517Z",
            dt.datetime(2025, 9, 10, 21, 31, 25, 179851, tzinfo=UTC),
        ),
        ("2024-01-01T00:00:00 08:00", dt.datetime(2023, 12, 31, 16, 0, tzinfo=UTC)),
        ("2024-01-01T00:00:00", dt.datetime(2024, 1, 1, tzinfo=UTC)),
    ],
)
def test_quickbooks_timestamps_become_aware_utc(text, expected):
    parsed = parse_datetime(text)
    assert parsed == expected
    assert parsed.utcoffset() == dt.timedelta(0)


def test_payment_lines_name_the_invoices_they_pay():
    payment = {
        "Id": "7",
        "Line": [
            {"Amount": 50, "LinkedTxn": [{"TxnId": "238", "TxnType": "Invoice"}]},
            {"Amount": 5, "LinkedTxn": [{"TxnId": "9", "TxnType": "CreditMemo"}]},
            {"Amount": 10, "LinkedTxn": [{"TxnId": "239", "TxnType": "Invoice"}]},
            {"Amount": 1, "LinkedTxn": [{"TxnId": "238", "TxnType": "Invoice"}]},
        ],
    }
    assert linked_invoice_ids(payment) == ["238", "239"]
    assert linked_invoice_ids({"Id": "8"}) == []


def test_dedupe_key_ignores_fractions_and_offsets():
    from_webhook = parse_datetime("2015-07-24T17:33:39.657Z")
    from_cdc = parse_datetime("2015-07-24T10:33:39-07:00")

    key = dedupe_key("123", "Invoice", "238", "update", from_webhook)

    assert key == dedupe_key("123", "Invoice", "238", "update", from_cdc)
    assert key == "123:Invoice:238:update:2015-07-24T17:33:39+00:00"
    assert key != dedupe_key("123", "Invoice", "238", "void", from_cdc)


def test_request_ids_are_stable_short_and_content_bound():
    day = dt.date(2026, 11, 23)
    rid = request_id("Invoice", ["hub-1-1", "hub-1-2"], [{"a": Decimal("1.5")}], day)

    assert rid == request_id("Invoice", ["hub-1-1", "hub-1-2"], [{"a": Decimal("1.5")}], day)
    assert len(rid) <= 36
    assert rid != request_id("Invoice", ["hub-1-1"], [{"a": Decimal("1.5")}], day)
    assert rid != request_id("Invoice", ["hub-1-1", "hub-1-2"], [{"a": Decimal("2")}], day)
    assert rid != request_id(
        "Invoice", ["hub-1-1", "hub-1-2"], [{"a": Decimal("1.5")}], day + dt.timedelta(days=1)
    )
