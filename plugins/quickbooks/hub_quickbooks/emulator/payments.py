"""Rules of QuickBooks' payments, and how they settle invoices and customers' balances."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from . import faults
from .company import Company, payment_links
from .currency import set_home_amounts
from .entities import Context, copy_fields
from .invoices import VOIDED, linked_payments, transaction_currency
from .values import (
    ZERO,
    JsonObject,
    date_of,
    decimal_of,
    list_of,
    meta_time,
    money,
    round_cents,
    stored_decimal,
    text_of,
)

_PAYMENT_FIELDS = (
    ("PaymentRefNum", "text:21"),
    ("PrivateNote", "text:4000"),
    ("PaymentMethodRef", "ref"),
)


def build_payment(ctx: Context, data: JsonObject, existing: JsonObject | None) -> JsonObject:
    """A Payment: customer and total required; lines apply it to the customer's invoices."""
    company = ctx.company
    customer = ctx.lookup("Customer", data, "CustomerRef", required=True)
    assert customer is not None
    if data.get("TotalAmt") is None:
        raise faults.required("TotalAmt")
    total = round_cents(decimal_of(data["TotalAmt"], "TotalAmt"))
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
        amount = round_cents(decimal_of(raw["Amount"], "Line.Amount"))
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
                f"({amount}) is more than its open balance ({round_cents(open_amount)})."
            )
    if applied > total:
        raise faults.business("The amounts applied to invoices exceed the payment total.")
    txn_date = date_of(data, "TxnDate")
    if txn_date is None:
        txn_date = dt.date.fromisoformat(existing["TxnDate"]) if existing else ctx.today
    obj: JsonObject = {
        "CustomerRef": {"value": customer["Id"], "name": customer["DisplayName"]},
        "TxnDate": txn_date.isoformat(),
        "CurrencyRef": transaction_currency(ctx, data, customer, existing),
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
        invoice = {**invoice, "Balance": balance, "LinkedTxn": linked}
        set_home_amounts(invoice)
        touch(invoice, now)
        company.put("Invoice", invoice)
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
    total = money(company.open_balances.get(customer_id, ZERO))
    if customer.get("Balance") != total or customer.get("BalanceWithJobs") != total:
        company.put("Customer", {**customer, "Balance": total, "BalanceWithJobs": total})
