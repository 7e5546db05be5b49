"""Rules of QuickBooks' invoices: lines, totals, numbers, void, delete and send."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from . import faults
from .company import Company
from .currency import exchange_rate, set_home_amounts
from .entities import Context, copy_fields
from .preferences import custom_txn_numbers, default_terms, multicurrency
from .salestax import SalesLine, invoice_tax
from .terms import due_date
from .values import (
    ZERO,
    JsonObject,
    bool_of,
    date_of,
    decimal_of,
    list_of,
    meta_time,
    money,
    object_of,
    plain,
    ref_id,
    round_cents,
    text_of,
)

#: Days to pay when a company has no default term.
DEFAULT_TERMS = dt.timedelta(days=30)
PRINT_STATUSES = ("NotSet", "NeedToPrint", "PrintComplete")
EMAIL_STATUSES = ("NotSet", "NeedToSend", "EmailSent")
VOIDED = "Voided"
HALF_CENT = Decimal("0.005")

_INVOICE_FIELDS = (
    ("BillEmail", "object"),
    ("BillEmailCc", "object"),
    ("BillEmailBcc", "object"),
    ("CustomerMemo", "object"),
    ("PrivateNote", "text:4000"),
    ("ClassRef", "ref"),
    ("DepartmentRef", "ref"),
    ("ShipDate", "date"),
    ("TrackingNum", "text"),
    ("AllowIPNPayment", "bool"),
    ("AllowOnlinePayment", "bool"),
    ("AllowOnlineCreditCardPayment", "bool"),
    ("AllowOnlineACHPayment", "bool"),
    ("CustomField", "list"),
)


def _positive(data: JsonObject, key: str) -> Decimal | None:
    """A number where QuickBooks reads 0 as "not set" (Qty, UnitPrice)."""
    if data.get(key) is None:
        return None
    number = decimal_of(data[key], key)
    return None if number == 0 else number


class _Lines:
    """Builds an invoice's lines, keeping line Ids of the stored invoice."""

    def __init__(self, ctx: Context, existing: JsonObject | None) -> None:
        self.ctx = ctx
        self.known = {
            str(line["Id"]) for line in (existing or {}).get("Line", []) if line.get("Id")
        }
        self.used: set[str] = set()
        self.next_id = max((int(i) for i in self.known if i.isdigit()), default=0) + 1
        self.subtotal = ZERO
        self.discount = ZERO
        self.lines: list[JsonObject] = []
        self.sales: list[SalesLine] = []

    def _line_id(self, raw: JsonObject) -> str:
        wanted = raw.get("Id")
        if wanted is not None and str(wanted) in self.known and str(wanted) not in self.used:
            self.used.add(str(wanted))
            return str(wanted)
        while str(self.next_id) in self.known or str(self.next_id) in self.used:
            self.next_id += 1
        self.used.add(str(self.next_id))
        return str(self.next_id)

    def add(self, raw: object) -> None:
        if not isinstance(raw, dict):
            raise faults.invalid_property("Line", "Line")
        detail_type = text_of(raw, "DetailType")
        if detail_type is None:
            for key in ("SalesItemLineDetail", "DiscountLineDetail", "DescriptionLineDetail"):
                if raw.get(key) is not None:
                    detail_type = "DescriptionOnly" if key.startswith("Desc") else key
                    break
            else:
                raise faults.required("Line.DetailType")
        if detail_type == "SubTotalLineDetail":
            return  # QuickBooks computes the subtotal itself
        line: JsonObject = {"Id": self._line_id(raw), "LineNum": len(self.lines) + 1}
        description = text_of(raw, "Description", maximum=4000)
        if description is not None:
            line["Description"] = description
        if detail_type == "SalesItemLineDetail":
            self._sales_line(raw, line)
        elif detail_type == "DiscountLineDetail":
            self._discount_line(raw, line)
        elif detail_type == "DescriptionOnly":
            detail = object_of(raw, "DescriptionLineDetail") or {}
            line["DetailType"] = "DescriptionOnly"
            line["DescriptionLineDetail"] = copy_fields(
                detail, (("ServiceDate", "date"), ("TaxCodeRef", "ref"))
            )
        elif detail_type == "GroupLineDetail":
            raise faults.business("Bundles (GroupLineDetail) are not enabled for this company.")
        else:
            raise faults.invalid_enum("Line.DetailType", detail_type)
        self.lines.append(line)

    def _sales_line(self, raw: JsonObject, line: JsonObject) -> None:
        detail = object_of(raw, "SalesItemLineDetail") or {}
        item = self.ctx.lookup("Item", detail, "ItemRef")
        qty = _positive(detail, "Qty")
        price = _positive(detail, "UnitPrice")
        amount = None if raw.get("Amount") is None else decimal_of(raw["Amount"], "Line.Amount")
        if amount is None:
            if qty is None or price is None:
                raise faults.required("Line.Amount")
            amount = round_cents(qty * price)
        elif qty is not None and price is not None:
            # Either way of rounding a half cent is accepted; more than that is not.
            if abs(qty * price - amount) > HALF_CENT:
                raise faults.amount_mismatch(raw["Amount"])
        elif qty is not None:
            price = amount / qty
        elif price is not None:
            qty = amount / price
        out: JsonObject = {}
        if item is not None:
            if item.get("Type") == "Category":
                raise faults.business(
                    f"{item['Name']} is a category; categories can't be used on transactions."
                )
            out["ItemRef"] = {"value": item["Id"], "name": item["Name"]}
            if item.get("IncomeAccountRef"):
                out["ItemAccountRef"] = dict(item["IncomeAccountRef"])
            self.subtotal += round_cents(amount)
        # Without an ItemRef the line only documents; its amount does not count.
        if qty is not None:
            out["Qty"] = float(qty)
        if price is not None:
            out["UnitPrice"] = float(price)
        out.update(copy_fields(detail, (("ServiceDate", "date"), ("ClassRef", "ref"))))
        gross = _positive(detail, "TaxInclusiveAmt")  # python-quickbooks always sends 0
        net = round_cents(amount)
        code_id = ref_id(detail, "TaxCodeRef")
        self.sales.append(SalesLine(out, net, item is not None, code_id, gross))
        line["Amount"] = money(amount)
        line["DetailType"] = "SalesItemLineDetail"
        line["SalesItemLineDetail"] = out

    def _discount_line(self, raw: JsonObject, line: JsonObject) -> None:
        detail = object_of(raw, "DiscountLineDetail") or {}
        percent_based = bool_of(detail, "PercentBased", False)
        out: JsonObject = {"PercentBased": percent_based}
        if percent_based:
            if detail.get("DiscountPercent") is None:
                raise faults.required("DiscountLineDetail.DiscountPercent")
            percent = decimal_of(detail["DiscountPercent"], "DiscountPercent")
            out["DiscountPercent"] = float(percent)
            amount = round_cents(self.subtotal * percent / 100)
        elif raw.get("Amount") is not None:
            amount = round_cents(decimal_of(raw["Amount"], "Line.Amount"))
        else:
            raise faults.required("Line.Amount")
        if amount < 0:
            raise faults.business("A discount can't be negative.")
        account = self.ctx.lookup("Account", detail, "DiscountAccountRef")
        if account is not None:
            out["DiscountAccountRef"] = {"value": account["Id"], "name": account["Name"]}
        self.discount += amount
        line["Amount"] = money(amount)
        line["DetailType"] = "DiscountLineDetail"
        line["DiscountLineDetail"] = out


def _doc_number(ctx: Context, data: JsonObject, existing: JsonObject | None) -> str | None:
    """DocNumber as Preferences.CustomTxnNumbers decides (D-REF Invoice.DocNumber)."""
    company = ctx.company
    custom = custom_txn_numbers(company)
    number = text_of(data, "DocNumber", maximum=21)
    if number is None:
        if existing is not None and existing.get("DocNumber"):
            return str(existing["DocNumber"])
        if custom:
            # "If no value is supplied, the resulting DocNumber is null."
            return None
        # "system generated by incrementing the last number by 1"
        while str(company.next_doc_number) in company.doc_numbers:
            company.next_doc_number += 1
        return str(company.next_doc_number)
    unchanged = existing is not None and existing.get("DocNumber") == number
    # 6140 needs CustomTxnNumbers on (and "warn if duplicate", which the emulator assumes
    # on, 12.4); with it off a sent number "is stored even if it is a duplicate".
    if custom and not unchanged and "allowduplicatedocnum" not in ctx.include:
        holders = company.doc_numbers.get(number.casefold(), set()) - {(existing or {}).get("Id")}
        if holders:
            raise faults.duplicate_doc_number()
    return number


def transaction_currency(
    ctx: Context, data: JsonObject, customer: JsonObject, existing: JsonObject | None
) -> JsonObject:
    """A transaction's CurrencyRef: the customer's currency, and never changed later."""
    sent = ref_id(data, "CurrencyRef")
    if existing is not None:
        current = existing["CurrencyRef"]
        if sent is not None and sent.upper() != current["value"]:
            raise faults.business("The currency of a transaction can't be changed.")
        return dict(current)
    customer_currency = (customer.get("CurrencyRef") or {}).get("value")
    ref = ctx.currency_ref(sent or customer_currency)  # 6000 without multicurrency
    if customer_currency and ref["value"] != customer_currency:
        raise faults.business(
            f"The transaction currency ({ref['value']}) must match the customer's currency "
            f"({customer_currency})."
        )
    return ref


def _sales_term(ctx: Context, data: JsonObject, customer: JsonObject) -> JsonObject | None:
    """The invoice's term: the one sent, else the customer's, else the company default
    (SalesFormsPrefs.DefaultTerms). That a customer's term applies through the API, as it
    does on QuickBooks' invoice form, is an inference."""
    term = ctx.lookup("Term", data, "SalesTermRef")
    if term is not None:
        return term
    for term_id in ((customer.get("SalesTermRef") or {}).get("value"), default_terms(ctx.company)):
        found = ctx.company.get("Term", str(term_id)) if term_id else None
        if found is not None and found.get("Active") is not False:
            return found
    return None


def _statuses(data: JsonObject) -> tuple[str, str]:
    print_status = text_of(data, "PrintStatus") or "NeedToPrint"
    if print_status not in PRINT_STATUSES:
        raise faults.invalid_enum("PrintStatus", print_status)
    email_status = text_of(data, "EmailStatus") or "NotSet"
    if email_status not in EMAIL_STATUSES:
        raise faults.invalid_enum("EmailStatus", email_status)
    return print_status, email_status


def build_invoice(ctx: Context, data: JsonObject, existing: JsonObject | None) -> JsonObject:
    """An Invoice: customer and lines required; tax, totals and balance computed."""
    customer = ctx.lookup("Customer", data, "CustomerRef", required=True)
    assert customer is not None
    builder = _Lines(ctx, existing)
    for raw in list_of(data, "Line"):
        builder.add(raw)
    if not builder.lines:
        raise faults.required("Line")
    currency = transaction_currency(ctx, data, customer, existing)
    txn_date = date_of(data, "TxnDate")
    if txn_date is None:
        txn_date = dt.date.fromisoformat(existing["TxnDate"]) if existing else ctx.today
    term = _sales_term(ctx, data, customer)
    due = date_of(data, "DueDate")
    if due is None:
        due = due_date(term, txn_date) if term is not None else txn_date + DEFAULT_TERMS
    if builder.subtotal - builder.discount < 0:
        raise faults.business("The invoice total can't be negative.")
    tax = invoice_tax(ctx, data, builder.sales, builder.discount)
    # TotalAmt holds "all the charges, allowances, and taxes" (12.2.2).
    total = builder.subtotal - builder.discount + tax.total
    deposit = ZERO if data.get("Deposit") is None else decimal_of(data["Deposit"], "Deposit")
    paid = ctx.company.paid(existing["Id"]) if existing else ZERO
    balance = total - deposit - paid
    if balance < 0:
        raise faults.business("The payments and deposit on this invoice exceed its total.")
    print_status, email_status = _statuses(data)
    obj: JsonObject = {}
    number = _doc_number(ctx, data, existing)
    if number is not None:
        obj["DocNumber"] = number
    obj.update(
        {
            "TxnDate": txn_date.isoformat(),
            "DueDate": due.isoformat(),
            "CurrencyRef": currency,
            "CustomerRef": {"value": customer["Id"], "name": customer["DisplayName"]},
            "Line": [
                *builder.lines,
                {
                    "Amount": money(builder.subtotal),
                    "DetailType": "SubTotalLineDetail",
                    "SubTotalLineDetail": {},
                },
            ],
            "TxnTaxDetail": tax.detail,
            "TotalAmt": money(total),
            "Balance": money(balance),
            "Deposit": money(deposit),
            "ApplyTaxAfterDiscount": bool_of(data, "ApplyTaxAfterDiscount", False),
            "PrintStatus": print_status,
            "EmailStatus": email_status,
        }
    )
    if term is not None:
        obj["SalesTermRef"] = {"value": term["Id"], "name": term["Name"]}
    if tax.calculation is not None:
        obj["GlobalTaxCalculation"] = tax.calculation
    if multicurrency(ctx.company):
        # ExchangeRate, HomeTotalAmt and HomeBalance are "valid only" with multicurrency.
        obj["ExchangeRate"] = float(exchange_rate(ctx.company, data, currency["value"]))
        set_home_amounts(obj)
    else:
        exchange_rate(ctx.company, data, currency["value"])  # 1, or refused
    obj.update(copy_fields(data, _INVOICE_FIELDS))
    for key in ("BillAddr", "ShipAddr"):
        address = object_of(data, key) or customer.get("BillAddr")
        if address is not None:
            obj[key] = plain(address)
    if "BillEmail" not in obj and customer.get("PrimaryEmailAddr"):
        obj["BillEmail"] = dict(customer["PrimaryEmailAddr"])
    obj["LinkedTxn"] = linked_payments(ctx.company, existing["Id"]) if existing else []
    if existing is not None and existing.get("DeliveryInfo"):
        obj["DeliveryInfo"] = dict(existing["DeliveryInfo"])
    return obj


def linked_payments(company: Company, invoice_id: str) -> list[JsonObject]:
    """An invoice's ``LinkedTxn``: the payments applied to it."""
    links = company.applied.get(invoice_id, {})
    return [
        {"TxnId": payment_id, "TxnType": "Payment"}
        for payment_id in sorted(links, key=lambda i: (len(i), i))
    ]


def void_invoice(invoice: JsonObject, company: Company) -> None:
    """Zero an invoice as QuickBooks voids it; refused while payments apply to it."""
    if company.paid(invoice["Id"]) > 0:
        raise faults.business(
            "This invoice has payments applied. Delete or void the payments first."
        )
    for line in invoice.get("Line", []):
        if "Amount" in line:
            line["Amount"] = 0.0
        detail = line.get("SalesItemLineDetail")
        if isinstance(detail, dict) and "Qty" in detail:
            detail["Qty"] = 0.0
        if isinstance(detail, dict) and "TaxInclusiveAmt" in detail:
            detail["TaxInclusiveAmt"] = 0.0
    tax = invoice.get("TxnTaxDetail") or {}
    tax["TotalTax"] = 0.0
    for tax_line in tax.get("TaxLine") or []:
        tax_line["Amount"] = 0.0
        tax_line.get("TaxLineDetail", {}).pop("OverrideDeltaAmount", None)
    invoice["TotalAmt"] = 0.0
    invoice["Balance"] = 0.0
    invoice["Deposit"] = 0.0
    set_home_amounts(invoice)
    invoice["PrivateNote"] = VOIDED


def check_deletable_invoice(invoice: JsonObject, company: Company) -> None:
    """QuickBooks keeps an invoice while payments apply to it."""
    if company.paid(invoice["Id"]) > 0:
        raise faults.business(
            "This invoice has payments applied. Delete or void the payments first."
        )


def send_invoice(invoice: JsonObject, send_to: str | None, now: dt.datetime) -> None:
    """Mark an invoice as emailed to ``send_to`` or its BillEmail."""
    address = send_to or (invoice.get("BillEmail") or {}).get("Address")
    if not address or "@" not in address:
        raise faults.business("An email address is needed to send this invoice.")
    if send_to:
        invoice["BillEmail"] = {"Address": send_to}
    invoice["EmailStatus"] = "EmailSent"
    invoice["DeliveryInfo"] = {"DeliveryType": "Email", "DeliveryTime": meta_time(now)}
