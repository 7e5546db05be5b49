"""Pure translations between the hub's payloads and QuickBooks Online JSON."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from hub.types import (
    ChangeEvent,
    ChangeOperation,
    InvoicePayload,
    InvoiceStatus,
    InvoiceTotals,
    InvoiceUpdate,
    LinePayload,
    ParticipantPayload,
    RemoteRef,
)
from hub_quickbooks.profile import CompanyProfile

JsonObject = dict[str, Any]

#: QuickBooks' limits on name fields (Customer.DisplayName, Item.Name).
DISPLAY_NAME_MAX = 500
ITEM_NAME_MAX = 100
ZERO = Decimal("0")
CENT = Decimal("0.01")

# DisplayName and Item.Name may not contain a colon (it separates parent and child
# names), a tab or a newline.
_FORBIDDEN_IN_NAMES = re.compile(r"[:\t\r\n]+")
_SPACES = re.compile(r"\s+")
_OFFSET = re.compile(r"(?:(?<=\d) |([+-]))(\d{2}):?(\d{2})$")


# --- outgoing ------------------------------------------------------------------------


def display_name(name: str) -> str:
    """A participant name as a legal, tidy Customer.DisplayName."""
    cleaned = _SPACES.sub(" ", _FORBIDDEN_IN_NAMES.sub(" - ", name)).strip(" -")
    return cleaned[:DISPLAY_NAME_MAX] or "Unnamed participant"


def disambiguated_name(participant: ParticipantPayload) -> str:
    """The DisplayName used when another participant already has the plain one."""
    suffix = f" ({display_name(participant.id)})"
    return display_name(participant.name)[: DISPLAY_NAME_MAX - len(suffix)] + suffix


def item_name(code: str) -> str:
    """An item code as a legal Item.Name."""
    cleaned = _SPACES.sub(" ", _FORBIDDEN_IN_NAMES.sub("-", code)).strip()
    return cleaned[:ITEM_NAME_MAX] or "Unnamed item"


def customer_body(
    participant: ParticipantPayload, name: str, currency: str | None = None
) -> JsonObject:
    """A Customer create request for a participant under DisplayName ``name``.

    ``currency`` is set only in a multicurrency company, where a customer keeps the
    currency it is created with.
    """
    body: JsonObject = {
        "DisplayName": name,
        "Notes": f"Coordinoter participant {participant.id}",
    }
    if participant.email:
        body["PrimaryEmailAddr"] = {"Address": participant.email}
    if currency:
        body["CurrencyRef"] = {"value": currency.upper()}
    return body


def item_body(code: str, income_account_id: str) -> JsonObject:
    """A service Item create request for an item code."""
    return {
        "Name": item_name(code),
        "Type": "Service",
        "IncomeAccountRef": {"value": income_account_id},
    }


def line_amount(line: LinePayload) -> Decimal:
    """Quantity times unit price, rounded to the cent as QuickBooks rounds (half up).

    QuickBooks refuses a line whose Amount differs from its rounded Qty x UnitPrice
    (fault 6070), so the amount is computed here by its rule.
    """
    return (line.quantity * line.unit_price).quantize(CENT, rounding=ROUND_HALF_UP)


def invoice_lines(
    invoice: InvoicePayload, item_ids: Mapping[str, str], profile: CompanyProfile
) -> list[JsonObject]:
    """The invoice's lines as SalesItemLineDetail lines, each with its mapped tax code.

    Outside the US every sales line must carry a TaxCodeRef (fault 6000 otherwise,
    QUICKBOOKS.md 12.2.3); a company not set up for GST gets none, as QuickBooks
    ignores them there.
    """
    lines = []
    for line in invoice.lines:
        detail: JsonObject = {
            "ItemRef": {"value": item_ids[line.item_code]},
            "Qty": line.quantity,
            "UnitPrice": line.unit_price,
        }
        code = profile.tax_code(line.tax) if profile.tax_model != "none" else None
        if code is not None:
            detail["TaxCodeRef"] = {"value": code}
        lines.append(
            {
                "DetailType": "SalesItemLineDetail",
                "Amount": line_amount(line),
                "Description": line.description,
                "SalesItemLineDetail": detail,
            }
        )
    return lines


def invoice_body(
    invoice: InvoicePayload,
    customer_id: str,
    item_ids: Mapping[str, str],
    profile: CompanyProfile,
) -> JsonObject:
    """An Invoice create request: DocNumber is the hub's invoice number.

    Unit prices are before GST (``TaxExcluded``, sent explicitly), so QuickBooks adds
    the tax per line as Coordinoter does. ``TxnTaxDetail`` is never sent: QuickBooks
    computes it, and an old one sent back would keep stale tax (QUICKBOOKS.md 12.6.5).
    """
    body: JsonObject = {
        "DocNumber": invoice.number,
        "TxnDate": invoice.issue_date.isoformat(),
        "DueDate": invoice.due_date.isoformat(),
        "CustomerRef": {"value": customer_id},
        "Line": invoice_lines(invoice, item_ids, profile),
    }
    if profile.tax_model == "global":
        body["GlobalTaxCalculation"] = "TaxExcluded"
    # CurrencyRef "must be defined if multicurrency is enabled" and is left out
    # otherwise (QUICKBOOKS.md 12.3); without the company's facts, say it anyway.
    if profile.multicurrency or not profile.home_currency:
        body["CurrencyRef"] = {"value": invoice.currency.upper()}
    if invoice.memo:
        body["PrivateNote"] = invoice.memo
    if invoice.participant.email:
        body["BillEmail"] = {"Address": invoice.participant.email}
    return body


def invoice_sparse_update(
    invoice: InvoicePayload,
    ref: RemoteRef,
    customer_id: str,
    item_ids: Mapping[str, str],
    profile: CompanyProfile,
) -> JsonObject:
    """A sparse Invoice update carrying every field the hub owns."""
    body = invoice_body(invoice, customer_id, item_ids, profile)
    # The currency of an existing transaction cannot change; leave it out.
    body.pop("CurrencyRef", None)
    # A sparse update leaves absent fields alone, so clear a memo explicitly.
    body.setdefault("PrivateNote", "")
    return {"Id": ref.remote_id, "SyncToken": ref.remote_version or "0", "sparse": True, **body}


def void_body(ref: RemoteRef) -> JsonObject:
    """The body of ``POST invoice?operation=void``."""
    return {"Id": ref.remote_id, "SyncToken": ref.remote_version or "0"}


def encode_json(body: Any) -> bytes:
    """Serialise a request body; Decimals become JSON numbers with their exact digits."""
    return json.dumps(_numbers(body), ensure_ascii=False, separators=(",", ":")).encode()


def decode_json(content: bytes) -> Any:
    """Parse a response body, reading every JSON number with a fraction as a Decimal."""
    return json.loads(content, parse_float=Decimal)


def _numbers(value: Any) -> Any:
    if isinstance(value, Decimal):
        # float() of a money amount prints back the same digits (up to 15 significant
        # ones), which is all QuickBooks' number fields hold.
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, Mapping):
        return {key: _numbers(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_numbers(item) for item in value]
    return value


def query_literal(value: str) -> str:
    """A string as a quoted literal of QuickBooks' query language."""
    escaped = value.replace("\\", "\\\\").replace("'", "\\'")
    return f"'{escaped}'"


def in_list(values: Iterable[str]) -> str:
    """``('a', 'b')`` for an ``IN`` clause."""
    return "(" + ", ".join(query_literal(value) for value in values) + ")"


def select_in(entity: str, field: str, values: Iterable[str]) -> str:
    """``SELECT * FROM entity WHERE field IN (...)`` with every value quoted."""
    # entity and field are this package's constants; values go through query_literal.
    return f"SELECT * FROM {entity} WHERE {field} IN {in_list(values)}"  # noqa: S608


def chunks(values: Sequence[Any], size: int) -> list[Sequence[Any]]:
    """Split ``values`` into consecutive slices of at most ``size``."""
    return [values[start : start + size] for start in range(0, len(values), size)]


# --- incoming ------------------------------------------------------------------------


def money(value: Any) -> Decimal:
    """A QuickBooks amount (number or string) as a Decimal; missing or blank is zero."""
    if value is None or value == "":
        return ZERO
    try:
        return Decimal(str(value))
    except InvalidOperation as err:
        raise ValueError(f"not an amount: {value!r}") from err


def parse_datetime(value: str) -> dt.datetime:
    """Parse a QuickBooks timestamp (any ISO-8601 form it uses) as an aware UTC datetime."""
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    # Offsets such as -0700 (webhooks) and a space for '+' (an unencoded query string).
    if "T" in text:
        text = _OFFSET.sub(_offset, text)
    # Python keeps at most microseconds; QuickBooks sends up to nanoseconds.
    text = re.sub(r"(\.\d{6})\d+", r"\1", text)
    parsed = dt.datetime.fromisoformat(text)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    return parsed.astimezone(dt.UTC)


def _offset(match: re.Match[str]) -> str:
    sign = match.group(1) or "+"
    return f"{sign}{match.group(2)}:{match.group(3)}"


def is_voided(invoice: Mapping[str, Any]) -> bool:
    """Whether an Invoice is voided: QuickBooks zeroes it and notes "Voided"."""
    note = str(invoice.get("PrivateNote") or "")
    return (
        note.strip().lower().startswith("voided")
        and money(invoice.get("TotalAmt")) == ZERO
        and money(invoice.get("Balance")) == ZERO
    )


def invoice_status(total: Decimal, balance: Decimal, *, voided: bool = False) -> InvoiceStatus:
    """The hub's status for an invoice with this total and open balance."""
    if voided:
        return "void"
    if total > ZERO and balance <= ZERO:
        return "paid"
    if ZERO < balance < total:
        return "partially_paid"
    return "open"


def invoice_totals(invoice: Mapping[str, Any]) -> InvoiceTotals:
    """Subtotal, tax and total of a QuickBooks Invoice, as QuickBooks computed them."""
    subtotal = ZERO
    found = False
    for line in invoice.get("Line") or []:
        if isinstance(line, Mapping) and line.get("DetailType") == "SubTotalLineDetail":
            subtotal, found = money(line.get("Amount")), True
            break
    if not found:
        subtotal = sum(
            (
                money(line.get("Amount"))
                for line in invoice.get("Line") or []
                if isinstance(line, Mapping) and line.get("DetailType") == "SalesItemLineDetail"
            ),
            ZERO,
        )
    detail = invoice.get("TxnTaxDetail")
    tax = money(detail.get("TotalTax")) if isinstance(detail, Mapping) else ZERO
    return InvoiceTotals(
        subtotal=subtotal.quantize(CENT),
        tax=tax.quantize(CENT),
        total=money(invoice.get("TotalAmt")).quantize(CENT),
    )


def invoice_update(invoice: Mapping[str, Any]) -> InvoiceUpdate:
    """The hub's view of one QuickBooks Invoice."""
    voided = is_voided(invoice)
    total = money(invoice.get("TotalAmt"))
    balance = money(invoice.get("Balance"))
    meta = invoice.get("MetaData") or {}
    updated = meta.get("LastUpdatedTime") if isinstance(meta, Mapping) else None
    return InvoiceUpdate(
        remote_id=str(invoice["Id"]),
        status=invoice_status(total, balance, voided=voided),
        amount_paid=ZERO if voided else max(total - balance, ZERO),
        balance=balance,
        remote_version=_optional_text(invoice.get("SyncToken")),
        remote_updated_at=parse_datetime(updated) if updated else None,
        total=total,
        totals=None if voided else invoice_totals(invoice),
    )


def remote_ref(obj: Mapping[str, Any]) -> RemoteRef:
    """The id, SyncToken and last-change time of a QuickBooks object."""
    meta = obj.get("MetaData") or {}
    updated = meta.get("LastUpdatedTime") if isinstance(meta, Mapping) else None
    return RemoteRef(
        str(obj["Id"]),
        _optional_text(obj.get("SyncToken")),
        parse_datetime(str(updated)) if updated else None,
    )


def deleted_invoice_update(remote_id: str, occurred_at: dt.datetime | None = None) -> InvoiceUpdate:
    """An update saying the invoice no longer exists in QuickBooks."""
    return InvoiceUpdate(
        remote_id=remote_id,
        status="open",
        amount_paid=ZERO,
        balance=ZERO,
        remote_updated_at=occurred_at,
        deleted=True,
    )


def linked_invoice_ids(payment: Mapping[str, Any]) -> list[str]:
    """Ids of the invoices a Payment pays (its lines' LinkedTxn of type Invoice)."""
    ids: list[str] = []
    for line in payment.get("Line") or []:
        if not isinstance(line, Mapping):
            continue
        for linked in line.get("LinkedTxn") or []:
            if isinstance(linked, Mapping) and linked.get("TxnType") == "Invoice":
                txn_id = _optional_text(linked.get("TxnId"))
                if txn_id and txn_id not in ids:
                    ids.append(txn_id)
    return ids


def dedupe_key(
    realm_id: str, entity: str, entity_id: str, operation: str, occurred_at: dt.datetime
) -> str:
    """The key that makes a webhook and a reconciliation of one change the same event.

    Times are cut to whole seconds: MetaData.LastUpdatedTime (what reconciliation
    sees) has no fraction, while webhooks sometimes add milliseconds.
    """
    moment = occurred_at.astimezone(dt.UTC).replace(microsecond=0)
    return f"{realm_id}:{entity}:{entity_id}:{operation}:{moment.isoformat()}"


def change_event(
    realm_id: str,
    entity: str,
    entity_id: str,
    operation: ChangeOperation,
    occurred_at: dt.datetime,
) -> ChangeEvent:
    """A ChangeEvent with the shared dedupe formula."""
    return ChangeEvent(
        external_account_id=realm_id,
        entity=entity,
        entity_id=entity_id,
        operation=operation,
        occurred_at=occurred_at,
        dedupe_key=dedupe_key(realm_id, entity, entity_id, operation, occurred_at),
    )


def _optional_text(value: Any) -> str | None:
    return None if value is None or value == "" else str(value)


def request_id(kind: str, keys: Iterable[str], body: Any, day: dt.date) -> str:
    """A ``requestid`` for a write: the same for a retry of the same request that day.

    QuickBooks replays its first answer to a repeated requestid, so a retry after a
    lost response cannot create twice. The day is part of it so that a refusal is
    not replayed forever once the cause has been fixed in QuickBooks.
    """
    digest = hashlib.sha256()
    digest.update(kind.encode())
    digest.update(b"\0" + "\0".join(keys).encode())
    digest.update(b"\0" + encode_json(body))
    digest.update(b"\0" + day.isoformat().encode())
    # At most 36 characters for a batch request.
    return f"{kind[:3]}-{digest.hexdigest()[:32]}"
