"""The small HTML pages of the emulator: companies, and one company's books."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from .web import emulator_of, parse_form, templates


def _money(value: Any) -> Decimal:
    try:
        return Decimal(str(value if value not in (None, "") else 0))
    except InvalidOperation:
        return Decimal(0)


def invoice_status(invoice: dict[str, Any], today: dt.date) -> str:
    """How QuickBooks' invoice list would describe an invoice."""
    total = _money(invoice.get("TotalAmt"))
    balance = _money(invoice.get("Balance"))
    if total == 0 and balance == 0 and "void" in str(invoice.get("PrivateNote", "")).lower():
        return "Voided"
    if balance <= 0:
        return "Paid"
    if balance < total:
        return "Partially paid"
    due = invoice.get("DueDate")
    try:
        if due and dt.date.fromisoformat(str(due)) < today:
            return "Overdue"
    except ValueError:
        pass
    return "Open"


def _subtotal(invoice: dict[str, Any]) -> Decimal:
    """The SubTotalLineDetail amount, less discounts: what the tax is charged on."""
    lines = invoice.get("Line") or []
    subtotal = sum(
        (_money(line.get("Amount")) for line in lines
         if line.get("DetailType") == "SubTotalLineDetail"),
        Decimal(0),
    )  # fmt: skip
    discount = sum(
        (_money(line.get("Amount")) for line in lines
         if line.get("DetailType") == "DiscountLineDetail"),
        Decimal(0),
    )  # fmt: skip
    return subtotal - discount


async def index(request: Request) -> Response:
    """``GET /_emulator/``: the companies, with object counts."""
    emulator = emulator_of(request)
    counts, summaries = emulator.with_books(
        lambda books: (
            books.counts(),
            {realm: books.summary(realm) for realm in emulator.registry.companies},
        )
    )
    companies = [
        {"realm_id": realm, "name": name, "counts": counts.get(realm, {}), **summaries[realm]}
        for realm, name in emulator.registry.companies.items()
    ]
    context = {
        "companies": companies,
        "apps": list(emulator.registry.apps.values()),
        "now": emulator.clock.now(),
    }
    return templates.TemplateResponse(request, "index.html", context)


async def company(request: Request) -> Response:
    """``GET /_emulator/companies/{realm}``: customers, invoices and payments."""
    emulator = emulator_of(request)
    realm_id = request.path_params["realm_id"]
    if realm_id not in emulator.registry.companies:
        return templates.TemplateResponse(
            request,
            "oauth_error.html",
            {"title": "No such company", "detail": f"There is no company {realm_id}."},
            status_code=404,
        )
    customers, invoice_rows, payment_rows = emulator.with_books(
        lambda books: tuple(
            books.entities(realm_id, entity) for entity in ("Customer", "Invoice", "Payment")
        )
    )
    summary = emulator.with_books(lambda books: books.summary(realm_id))
    today = emulator.clock.now().date()
    names = {str(c.get("Id")): c.get("DisplayName", "") for c in customers}
    invoices = []
    numbers: dict[str, str] = {}
    for invoice in invoice_rows:
        ref = invoice.get("CustomerRef") or {}
        status = invoice_status(invoice, today)
        numbers[str(invoice.get("Id"))] = str(invoice.get("DocNumber") or invoice.get("Id"))
        invoices.append(
            {
                "id": invoice.get("Id"),
                "number": invoice.get("DocNumber") or "",
                "customer": ref.get("name") or names.get(str(ref.get("value")), ""),
                "date": invoice.get("TxnDate", ""),
                "due": invoice.get("DueDate", ""),
                "subtotal": _subtotal(invoice),
                "tax": _money((invoice.get("TxnTaxDetail") or {}).get("TotalTax")),
                "total": _money(invoice.get("TotalAmt")),
                "balance": _money(invoice.get("Balance")),
                "status": status,
                "open": status in ("Open", "Overdue", "Partially paid"),
            }
        )
    payments = []
    for payment in payment_rows:
        ref = payment.get("CustomerRef") or {}
        linked = [
            numbers.get(str(txn.get("TxnId")), str(txn.get("TxnId")))
            for line in payment.get("Line") or []
            for txn in line.get("LinkedTxn") or []
            if txn.get("TxnType") == "Invoice"
        ]
        payments.append(
            {
                "id": payment.get("Id"),
                "date": payment.get("TxnDate", ""),
                "customer": ref.get("name") or names.get(str(ref.get("value")), ""),
                "amount": _money(payment.get("TotalAmt")),
                "invoices": ", ".join(linked),
            }
        )
    context = {
        "realm_id": realm_id,
        "name": emulator.registry.companies[realm_id],
        **summary,
        "customers": customers,
        "invoices": invoices,
        "payments": payments,
        "message": request.query_params.get("message"),
        "error": request.query_params.get("error"),
    }
    return templates.TemplateResponse(request, "company.html", context)


async def pay_invoice(request: Request) -> Response:
    """The payment form: record the payment, then back to the company page."""
    emulator = emulator_of(request)
    realm_id = request.path_params["realm_id"]
    invoice_id = request.path_params["invoice_id"]
    page = request.url_for("emulator_company", realm_id=realm_id).path
    form = parse_form(await request.body()) or {}
    try:
        amount = Decimal(form.get("amount", "").strip())
        if not amount.is_finite():
            raise InvalidOperation
        emulator.with_books(lambda books: books.record_payment(realm_id, invoice_id, amount))
    except InvalidOperation:
        outcome = {"error": "Enter the amount as a number, for example 50.00."}
    except KeyError:
        outcome = {"error": f"There is no invoice {invoice_id} in this company."}
    except ValueError as err:
        outcome = {"error": str(err)}
    else:
        outcome = {"message": f"Recorded a payment of {amount:.2f} against invoice {invoice_id}."}
    return RedirectResponse(f"{page}?{urlencode(outcome)}", status_code=303)


routes = [
    Route("/_emulator/", index, methods=["GET"], name="emulator_index"),
    Route("/_emulator/companies/{realm_id}", company, methods=["GET"], name="emulator_company"),
    Route(
        "/_emulator/companies/{realm_id}/invoices/{invoice_id}/pay",
        pay_invoice,
        methods=["POST"],
    ),
]
