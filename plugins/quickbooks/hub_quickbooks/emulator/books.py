"""The books: QuickBooks Online's Accounting API v3 for many companies, with no web in it.

``Books.handle`` takes what follows ``/v3/company/{realmId}/`` and answers with the exact
bytes QuickBooks would send: entities, queries, batches, change data capture, company
info, ``requestid`` replays and every validation Fault. Committed writes are announced to
``listeners`` as ``Change``s (the webhook sender listens).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

from . import faults
from .batch import REQUEST_ID_LIMIT, run_batch
from .catalog import BY_LOWER, COUNTED, SPECS
from .company import Company, Replay
from .entities import company_info_body
from .feeds import change_data_capture, run_query
from .items import DEFAULT_ACCOUNTS
from .outcome import ApiResponse, Change
from .pdf import invoice_pdf
from .preferences import PREFERENCES_ID, CompanySetup, check_change, preferences_body
from .regions import REGIONS
from .rules import BookRules
from .taxlists import group_code_id, tax_lists
from .terms import DEFAULT_TERM, SEEDED_TERMS
from .values import (
    JSON_TYPE,
    JsonObject,
    copy_object,
    dump,
    envelope_time,
    load_body,
    stored_decimal,
    to_seconds,
)
from .writes import Writer

__all__ = ["ApiResponse", "Books", "Change", "CompanySetup"]

logger = logging.getLogger(__name__)


def _includes(params: Mapping[str, str]) -> frozenset[str]:
    raw = params.get("include") or ""
    return frozenset(part.strip().lower() for part in raw.split(",") if part.strip())


class Books:
    """Every company's books, and the Accounting API over them."""

    def __init__(self, clock: Callable[[], dt.datetime], rules: BookRules | None = None) -> None:
        self._clock = clock
        self.rules = rules or BookRules()
        self.listeners: list[Callable[[Change], None]] = []
        self._companies: dict[str, Company] = {}

    # --- companies ---------------------------------------------------------------------

    def add_company(
        self,
        realm_id: str,
        name: str,
        *,
        region: str = "AU",
        setup: CompanySetup | None = None,
    ) -> dict[str, Any]:
        """Open a company of a region with its chart of accounts, terms, tax lists and
        Preferences; returns its CompanyInfo."""
        if realm_id in self._companies:
            raise ValueError(f"company {realm_id} already exists")
        if region not in REGIONS:
            raise ValueError(f"unknown region {region!r}")
        company = Company(realm_id, region)
        writer = Writer(company, to_seconds(self._clock()), rules=self.rules)
        info = writer.create_company_info(
            company_info_body(name, company.country, writer.now.date())
        )
        for account_name, account_type, sub_type in DEFAULT_ACCOUNTS:
            body = {"Name": account_name, "AccountType": account_type, "AccountSubType": sub_type}
            writer.create("Account", body)
        _open_lists(writer, setup or CompanySetup())
        self._companies[realm_id] = company
        return copy_object(info)

    def summary(self, realm_id: str) -> dict[str, str]:
        """A company's region, CompanyInfo country and home currency."""
        company = self._companies[realm_id]
        return {
            "region": company.region,
            "country": company.country,
            "home_currency": company.currency,
        }

    def has_company(self, realm_id: str) -> bool:
        """Whether the books hold this realm."""
        return realm_id in self._companies

    def companies(self) -> list[dict[str, Any]]:
        """Every company's CompanyInfo."""
        return [
            copy_object(info)
            for company in self._companies.values()
            for info in company.live("CompanyInfo")
        ]

    def counts(self) -> dict[str, dict[str, int]]:
        """Live objects per company and entity."""
        return {
            realm_id: {
                entity: len(company.objects.get(entity, {}))
                for entity in (*COUNTED, *sorted(set(company.objects) - set(COUNTED)))
                if SPECS[entity].kind not in ("company", "settings")
            }
            for realm_id, company in self._companies.items()
        }

    def listing(self, realm_id: str, entity_name: str) -> list[dict[str, Any]] | None:
        """Every live object of an entity named in any case (None: no such entity)."""
        entity = BY_LOWER.get(entity_name.lower())
        return None if entity is None else self.entities(realm_id, entity)

    def entities(self, realm_id: str, entity: str) -> list[dict[str, Any]]:
        """Live objects of one kind, as QuickBooks JSON."""
        company = self._companies.get(realm_id)
        if company is None:
            return []
        return [copy_object(obj) for obj in company.live(entity)]

    # --- the API -------------------------------------------------------------------------

    def handle(
        self,
        realm_id: str,
        method: str,
        subpath: str,
        params: Mapping[str, str],
        body: bytes,
        content_type: str | None,
    ) -> ApiResponse:
        """Answer one Accounting API request; never raises for bad input.

        ``content_type`` is not consulted: QuickBooks reads a POSTed query as text and
        every other body as JSON, whatever the label says.
        """
        now = self._clock()
        changes: list[Change] = []
        request_id: str | None = None
        company = self._companies.get(realm_id)
        try:
            if company is None:
                raise faults.ApiError(
                    "3100",
                    "ApplicationAuthorizationFailed",
                    "The company is not known to QuickBooks",
                    status=403,
                    kind="AuthorizationFault",
                )
            method = method.upper()
            if method == "POST":
                request_id = params.get("requestid") or None
            if request_id is not None and len(request_id) > REQUEST_ID_LIMIT:
                raise faults.request_id_too_long(request_id)
            if request_id is not None:
                replay = company.replay(request_id, now)
                if replay is not None:
                    return ApiResponse(replay.status, replay.body, replay.content_type)
            response = self._route(company, method, subpath, params, body, now, changes, request_id)
        except faults.ApiError as err:
            response = _fault_response(err, now)
        except Exception:
            logger.exception("the books failed on %s %s", method, subpath)
            response = _fault_response(faults.system_failure(), now)
        if company is not None and request_id is not None and response.status < 500:
            company.remember(
                request_id,
                Replay(response.status, response.body, response.content_type, now),
            )
        self._emit(changes)
        return response

    def _route(
        self,
        company: Company,
        method: str,
        subpath: str,
        params: Mapping[str, str],
        body: bytes,
        now: dt.datetime,
        changes: list[Change],
        request_id: str | None,
    ) -> ApiResponse:
        parts = [part for part in subpath.split("/") if part]
        head = parts[0].lower() if parts else ""
        writer = Writer(company, to_seconds(now), _includes(params), changes, self.rules)
        if head == "query" and len(parts) == 1 and method in ("GET", "POST"):
            sql = self._sql(method, params, body)
            return _ok({"QueryResponse": run_query(company, sql)}, now)
        if head == "batch" and len(parts) == 1 and method == "POST":
            return _ok(run_batch(writer, load_body(body), request_id), now)
        if head == "cdc" and len(parts) == 1 and method == "GET":
            blocks = change_data_capture(company, params, now)
            return _ok({"CDCResponse": [{"QueryResponse": blocks}]}, now)
        if head == "preferences" and len(parts) == 1:
            # GET /preferences has no Id (python-quickbooks PrefMixin). QuickBooks takes a
            # POST for a few writable preferences; the emulator keeps them read-only (the
            # stricter reading) and answers as for any operation it does not offer.
            if method == "GET":
                return _ok({"Preferences": self._read(company, "Preferences", "1")}, now)
            raise faults.unsupported("Update")
        entity = BY_LOWER.get(head)
        if entity is None:
            raise faults.no_resource(method)
        if len(parts) == 1 and method == "POST":
            operation = _operation(params)
            return _ok({entity: writer.dispatch(entity, operation, load_body(body))}, now)
        if len(parts) == 2 and method == "GET":
            return _ok({entity: self._read(company, entity, parts[1])}, now)
        if len(parts) == 3 and entity == "Invoice":
            action = parts[2].lower()
            if action == "send" and method == "POST":
                return _ok({entity: writer.send(parts[1], params.get("sendTo"))}, now)
            if action == "pdf" and method == "GET":
                invoice = self._read(company, entity, parts[1])
                return ApiResponse(200, invoice_pdf(invoice, company), "application/pdf")
        raise faults.no_resource(method)

    @staticmethod
    def _sql(method: str, params: Mapping[str, str], body: bytes) -> str:
        if method == "GET" or not body:
            return params.get("query") or ""
        try:
            return body.decode("utf-8")
        except UnicodeDecodeError as err:
            raise faults.not_utf8() from err

    @staticmethod
    def _read(company: Company, entity: str, object_id: str) -> JsonObject:
        if entity == "CompanyInfo" and object_id == company.realm_id:
            object_id = "1"
        obj = company.get(entity, object_id)
        if obj is None:
            raise faults.not_found()
        return obj

    def _emit(self, changes: list[Change]) -> None:
        for change in changes:
            for listener in list(self.listeners):
                try:
                    listener(change)
                except Exception:
                    logger.exception("a books listener failed on %s", change)

    # --- what an accountant does in QuickBooks -------------------------------------------

    def record_payment(
        self,
        realm_id: str,
        invoice_id: str,
        amount: Decimal,
        *,
        txn_date: dt.date | None = None,
    ) -> dict[str, Any]:
        """Receive a payment against an invoice; returns the Payment's JSON."""
        company = self._companies[realm_id]
        invoice = company.get("Invoice", invoice_id)
        if invoice is None:
            raise KeyError(invoice_id)
        amount = Decimal(amount)
        if not amount.is_finite() or amount <= 0:
            raise ValueError("the amount must be positive")
        balance = stored_decimal(invoice.get("Balance"))
        if amount > balance:
            raise ValueError(f"the amount {amount} is more than the invoice balance {balance}")
        body: JsonObject = {
            "CustomerRef": {"value": invoice["CustomerRef"]["value"]},
            "TotalAmt": amount,
            "Line": [
                {"Amount": amount, "LinkedTxn": [{"TxnId": invoice_id, "TxnType": "Invoice"}]}
            ],
        }
        if txn_date is not None:
            body["TxnDate"] = txn_date.isoformat()
        writer = Writer(company, to_seconds(self._clock()), rules=self.rules)
        try:
            payment = writer.create("Payment", body)
        except faults.ApiError as err:
            raise ValueError(err.detail) from err
        self._emit(writer.changes)
        return copy_object(payment)

    def edit(
        self, realm_id: str, entity_name: str, object_id: str, changes: dict[str, Any]
    ) -> dict[str, Any]:
        """Change an object as a person in QuickBooks would; returns it.

        KeyError: no such company, entity or object. ValueError: QuickBooks refuses.
        """
        company = self._companies[realm_id]
        entity = BY_LOWER.get(entity_name.lower())
        if entity is None:
            raise KeyError(entity_name)
        if entity == "CompanyInfo" and object_id == realm_id:
            object_id = "1"
        if entity == "Preferences":
            check_change(company.get(entity, PREFERENCES_ID) or {}, changes)
        writer = Writer(company, to_seconds(self._clock()), rules=self.rules)
        try:
            obj = writer.edit(entity, object_id, changes)
        except faults.ApiError as err:
            raise ValueError(f"{err.code} {err.message}: {err.detail}") from err
        self._emit(writer.changes)
        return copy_object(obj)

    # --- persistence -------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """Everything, as JSON (requestid answers kept for their 24 hours)."""
        return {"companies": [company.to_dict() for company in self._companies.values()]}

    @classmethod
    def from_dict(
        cls,
        data: dict[str, Any],
        clock: Callable[[], dt.datetime],
        rules: BookRules | None = None,
    ) -> Books:
        """Books saved by ``to_dict``."""
        books = cls(clock, rules)
        for saved in data.get("companies", []):
            company = Company.from_dict(saved)
            if company.get("Preferences", PREFERENCES_ID) is None:
                # Saved before companies had terms, tax lists and Preferences.
                _open_lists(Writer(company, to_seconds(clock()), rules=books.rules),
                            CompanySetup())  # fmt: skip
            books._companies[company.realm_id] = company
        return books


def _open_lists(writer: Writer, setup: CompanySetup) -> None:
    """A new company's terms, tax lists and Preferences."""
    terms = {name: writer.create("Term", {"Name": name, "DueDays": days})
             for name, days in SEEDED_TERMS}  # fmt: skip
    writer.changes.clear()  # nobody is connected to a company being opened
    seeds = tax_lists(writer.company.profile, writer.company.realm_id)
    for entity, object_id, body in seeds:
        writer.seed(entity, object_id, body)
    profile = writer.company.profile
    group = group_code_id(seeds) if profile.us_model else None
    body = preferences_body(profile, setup, terms[DEFAULT_TERM]["Id"], group)
    writer.seed("Preferences", PREFERENCES_ID, body)


def _operation(params: Mapping[str, str]) -> str:
    operation = (params.get("operation") or "").strip().lower()
    if operation == "update" and "void" in _includes(params):
        return "void"
    return operation


def _ok(payload: JsonObject, now: dt.datetime) -> ApiResponse:
    payload["time"] = envelope_time(now)
    return ApiResponse(200, dump(payload), JSON_TYPE)


def _fault_response(err: faults.ApiError, now: dt.datetime) -> ApiResponse:
    body = {"Fault": err.fault(), "time": envelope_time(now)}
    return ApiResponse(err.status, dump(body), JSON_TYPE)
