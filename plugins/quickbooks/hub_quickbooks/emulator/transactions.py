"""Rules of QuickBooks' sales transactions: Invoice and Payment, and how payments settle
invoices (Balance, LinkedTxn) and customers' balances."""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal

from . import faults
from .company import Company, payment_links
from .entities import Context, copy_fields
from .values import (
    CENT,
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
    stored_decimal,
    text_of,
)

DEFAULT_TERMS = dt.timedelta(days=30)
PRINT_STATUSES = ("NotSet", "NeedToPrint", "PrintComplete")
EMAIL_STATUSES = ("NotSet", "NeedToSend", "EmailSent")
TAX_CALCULATIONS = ("TaxExcluded", "TaxInclusive", "NotApplicable")
VOIDED = "Voided"

_INVOICE_FIELDS = (
    ("BillEmail", "object"),
    ("BillEmailCc", "object"),
    ("BillEmailBcc", "object"),
    ("CustomerMemo", "object"),
    ("PrivateNote", "text:4000"),
    ("SalesTermRef", "ref"),
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
_PAYMENT_FIELDS = (
    ("PaymentRefNum", "text:21"),
    ("PrivateNote", "text:4000"),
    ("PaymentMethodRef", "ref"),
)


def _round(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def _positive(data: JsonObject, key: str) -> Decimal | None:
    """A number where QuickBooks reads 0 as "not set" (Qty, UnitPrice)."""
    if data.get(key) is None:
        return None
    number = decimal_of(data[key], key)
    return None if number == 0 else number


# --- Invoice -------------------------------------------------------------------------


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
            amount = _round(qty * price)
        elif qty is not None and price is not None:
            if _round(qty * price) != _round(amount):
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
            self.subtotal += _round(amount)
        # Without an ItemRef the line only documents; its amount does not count.
        if qty is not None:
            out["Qty"] = float(qty)
        if price is not None:
            out["UnitPrice"] = float(price)
        out.update(copy_fields(detail, (("ServiceDate", "date"), ("ClassRef", "ref"))))
        out["TaxCodeRef"] = {"value": ref_id(detail, "TaxCodeRef") or "NON"}
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
            amount = _round(self.subtotal * percent / 100)
        elif raw.get("Amount") is not None:
            amount = _round(decimal_of(raw["Amount"], "Line.Amount"))
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


def _doc_number(ctx: Context, data: JsonObject, existing: JsonObject | None) -> str:
    company = ctx.company
    number = text_of(data, "DocNumber", maximum=21)
    if number is None:
        if existing is not None and existing.get("DocNumber"):
            return str(existing["DocNumber"])
        while str(company.next_doc_number) in company.doc_numbers:
            company.next_doc_number += 1
        return str(company.next_doc_number)
    unchanged = existing is not None and existing.get("DocNumber") == number
    if not unchanged and "allowduplicatedocnum" not in ctx.include:
        holders = company.doc_numbers.get(number, set()) - {(existing or {}).get("Id")}
        if holders:
            raise faults.duplicate_doc_number()
    return number


def _currency(ctx: Context, data: JsonObject, customer: JsonObject,
              existing: JsonObject | None) -> JsonObject:
    sent = ref_id(data, "CurrencyRef")
    if existing is not None:
        current = existing["CurrencyRef"]
        if sent is not None and sent.upper() != current["value"]:
            raise faults.business("The currency of a transaction can't be changed.")
        return dict(current)
    customer_currency = (customer.get("CurrencyRef") or {}).get("value")
    code = (sent or customer_currency or ctx.company.currency).upper()
    if customer_currency and code != customer_currency:
        raise faults.business(
            f"The transaction currency ({code}) must match the customer's currency "
            f"({customer_currency})."
        )
    return ctx.currency_ref(code)


def build_invoice(ctx: Context, data: JsonObject, existing: JsonObject | None) -> JsonObject:
    """An Invoice: customer and lines required, totals and balance computed."""
    customer = ctx.lookup("Customer", data, "CustomerRef", required=True)
    assert customer is not None
    builder = _Lines(ctx, existing)
    for raw in list_of(data, "Line"):
        builder.add(raw)
    if not builder.lines:
        raise faults.required("Line")
    currency = _currency(ctx, data, customer, existing)
    txn_date = date_of(data, "TxnDate")
    if txn_date is None:
        txn_date = dt.date.fromisoformat(existing["TxnDate"]) if existing else ctx.today
    due_date = date_of(data, "DueDate") or txn_date + DEFAULT_TERMS
    total = builder.subtotal - builder.discount
    if total < 0:
        raise faults.business("The invoice total can't be negative.")
    deposit = ZERO if data.get("Deposit") is None else decimal_of(data["Deposit"], "Deposit")
    paid = ctx.company.paid(existing["Id"]) if existing else ZERO
    balance = total - deposit - paid
    if balance < 0:
        raise faults.business("The payments and deposit on this invoice exceed its total.")
    print_status = text_of(data, "PrintStatus") or "NeedToPrint"
    if print_status not in PRINT_STATUSES:
        raise faults.invalid_enum("PrintStatus", print_status)
    email_status = text_of(data, "EmailStatus") or "NotSet"
    if email_status not in EMAIL_STATUSES:
        raise faults.invalid_enum("EmailStatus", email_status)
    obj: JsonObject = {
        "DocNumber": _doc_number(ctx, data, existing),
        "TxnDate": txn_date.isoformat(),
        "DueDate": due_date.isoformat(),
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
        "TxnTaxDetail": {"TotalTax": 0},
        "TotalAmt": money(total),
        "Balance": money(balance),
        "Deposit": money(deposit),
        "ApplyTaxAfterDiscount": bool_of(data, "ApplyTaxAfterDiscount", False),
        "PrintStatus": print_status,
        "EmailStatus": email_status,
    }
    calculation = text_of(data, "GlobalTaxCalculation")
    if calculation is not None:
        if calculation not in TAX_CALCULATIONS:
            raise faults.invalid_enum("GlobalTaxCalculation", calculation)
        obj["GlobalTaxCalculation"] = calculation
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
    invoice["TotalAmt"] = 0.0
    invoice["Balance"] = 0.0
    invoice["Deposit"] = 0.0
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


# --- Payment -------------------------------------------------------------------------


def build_payment(ctx: Context, data: JsonObject, existing: JsonObject | None) -> JsonObject:
    """A Payment: customer and total required; lines apply it to the customer's invoices."""
    company = ctx.company
    customer = ctx.lookup("Customer", data, "CustomerRef", required=True)
    assert customer is not None
    if data.get("TotalAmt") is None:
        raise faults.required("TotalAmt")
    total = _round(decimal_of(data["TotalAmt"], "TotalAmt"))
    if total < 0:
        raise faults.business("A payment amount can't be negative.")
    lines: list[JsonObject] = []
    applied = ZERO
    per_invoice: dict[str, Decimal] = {}
    for raw in list_of(data, "Line"):
        if not isinstance(raw, dict):
            raise faults.invalid_property("Line", "Line")
        if raw.get("Amount") is None:
            raise faults.required("Line.Amount")
        amount = _round(decimal_of(raw["Amount"], "Line.Amount"))
        if amount <= 0:
            raise faults.business("Each payment line must have a positive amount.")
        linked: list[JsonObject] = []
        for txn in list_of(raw, "LinkedTxn"):
            invoice = _linked_invoice(ctx, txn, customer)
            per_invoice[invoice["Id"]] = per_invoice.get(invoice["Id"], ZERO) + amount
            linked.append({"TxnId": invoice["Id"], "TxnType": "Invoice"})
        if len(linked) != 1:
            raise faults.business("Each payment line must link exactly one invoice.")
        applied += amount
        lines.append({"Amount": money(amount), "LinkedTxn": linked})
    for invoice_id, amount in per_invoice.items():
        invoice = company.objects["Invoice"][invoice_id]
        open_amount = (
            stored_decimal(invoice.get("TotalAmt"))
            - stored_decimal(invoice.get("Deposit"))
            - company.paid(invoice_id, without=(existing or {}).get("Id"))
        )
        if amount > open_amount:
            raise faults.business(
                f"The amount applied to invoice {invoice.get('DocNumber') or invoice_id} "
                f"({amount}) is more than its open balance ({_round(open_amount)})."
            )
    if applied > total:
        raise faults.business("The amounts applied to invoices exceed the payment total.")
    txn_date = date_of(data, "TxnDate")
    if txn_date is None:
        txn_date = dt.date.fromisoformat(existing["TxnDate"]) if existing else ctx.today
    obj: JsonObject = {
        "CustomerRef": {"value": customer["Id"], "name": customer["DisplayName"]},
        "TxnDate": txn_date.isoformat(),
        "CurrencyRef": _currency(ctx, data, customer, existing),
        "TotalAmt": money(total),
        "UnappliedAmt": money(total - applied),
        "ProcessPayment": False,
        "Line": lines,
    }
    account = ctx.lookup("Account", data, "DepositToAccountRef") or _undeposited(company)
    if account is not None:
        obj["DepositToAccountRef"] = {"value": account["Id"], "name": account["Name"]}
    obj.update(copy_fields(data, _PAYMENT_FIELDS))
    return obj


def _linked_invoice(ctx: Context, txn: object, customer: JsonObject) -> JsonObject:
    if not isinstance(txn, dict):
        raise faults.invalid_property("LinkedTxn", "LinkedTxn")
    txn_type = text_of(txn, "TxnType")
    if txn_type != "Invoice":
        raise faults.invalid_enum("LinkedTxn.TxnType", txn_type)
    txn_id = text_of(txn, "TxnId")
    if txn_id is None:
        raise faults.required("LinkedTxn.TxnId")
    invoice = ctx.company.get("Invoice", txn_id)
    if invoice is None:
        if ctx.company.is_deleted("Invoice", txn_id):
            raise faults.deleted()
        raise faults.invalid_reference("LinkedTxn.TxnId", txn_id)
    if invoice["CustomerRef"]["value"] != customer["Id"]:
        raise faults.business(
            f"Invoice {invoice.get('DocNumber') or txn_id} belongs to another customer."
        )
    return invoice


def _undeposited(company: Company) -> JsonObject | None:
    for account in company.live("Account"):
        if account.get("AccountSubType") == "UndepositedFunds" and account.get("Active"):
            return account
    return None


def void_payment(payment: JsonObject) -> None:
    """Zero a payment as QuickBooks voids it; the invoices it paid reopen."""
    for line in payment.get("Line", []):
        line["Amount"] = 0.0
        line.pop("LinkedTxn", None)
    payment["TotalAmt"] = 0.0
    payment["UnappliedAmt"] = 0.0
    payment["PrivateNote"] = VOIDED


# --- settling --------------------------------------------------------------------------


def touch(obj: JsonObject, now: dt.datetime) -> None:
    """Count one more change on a stored object: SyncToken and LastUpdatedTime."""
    obj["SyncToken"] = str(int(obj.get("SyncToken") or 0) + 1)
    obj["MetaData"] = {**obj.get("MetaData", {}), "LastUpdatedTime": meta_time(now)}


def settle_invoices(company: Company, invoice_ids: set[str], now: dt.datetime) -> list[JsonObject]:
    """Bring invoices' Balance and LinkedTxn in line with their payments.

    Returns the invoices that changed (each counted as an update).
    """
    changed: list[JsonObject] = []
    for invoice_id in sorted(invoice_ids, key=lambda i: (len(i), i)):
        invoice = company.get("Invoice", invoice_id)
        if invoice is None:
            continue
        balance = money(
            stored_decimal(invoice.get("TotalAmt"))
            - stored_decimal(invoice.get("Deposit"))
            - company.paid(invoice_id)
        )
        linked = linked_payments(company, invoice_id)
        if invoice.get("Balance") == balance and invoice.get("LinkedTxn", []) == linked:
            continue
        invoice["Balance"] = balance
        invoice["LinkedTxn"] = linked
        touch(invoice, now)
        changed.append(invoice)
    return changed


def payment_invoices(payment: JsonObject | None) -> set[str]:
    """The invoices a payment applies to."""
    return set(payment_links(payment)) if payment else set()


def refresh_customer_balance(company: Company, customer_id: str | None) -> None:
    """A customer's Balance is what its invoices still await (not a change of its own)."""
    if not customer_id:
        return
    customer = company.get("Customer", customer_id)
    if customer is None:
        return
    total = sum(
        (
            stored_decimal(company.objects["Invoice"][invoice_id].get("Balance"))
            for invoice_id in company.invoices_of.get(customer_id, set())
            if invoice_id in company.objects.get("Invoice", {})
        ),
        ZERO,
    )
    customer["Balance"] = money(total)
    customer["BalanceWithJobs"] = money(total)
