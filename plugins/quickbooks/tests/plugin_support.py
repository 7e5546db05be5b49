"""Test helpers for the QuickBooks plugin: contexts, payloads and a small fake company.

``FakeCompany`` answers the handful of Accounting API calls the plugin makes (query,
batch create, read, sparse update, void, CDC) through ``httpx.MockTransport``, with
QuickBooks' own rules where the plugin depends on them: unique customer and item
names (6240 naming the existing Id), unique DocNumbers (6140), SyncToken checks
(5010), inactive objects hidden from queries, and ``requestid`` replay.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import re
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import httpx
from hub_quickbooks.info import integration_info
from hub_quickbooks.mapping import decode_json

from hub.types import (
    ConnectionContext,
    InvoicePayload,
    LinePayload,
    ParticipantPayload,
    PluginConfig,
    RemoteRef,
)

REALM = "9130357766900456"
API = "https://sandbox-quickbooks.api.intuit.com"
COMPANY = f"{API}/v3/company/{REALM}"
NOW = "2026-11-23T10:00:00-08:00"

Json = dict[str, Any]


def plugin_config(**values: str) -> PluginConfig:
    """A QuickBooks plugin configuration (``QUICKBOOKS_*`` without the prefix)."""
    return PluginConfig(slug="quickbooks", values=values, base_url="http://127.0.0.1:8000")


class TokenSource:
    """``ctx.access_token``: hands out ``tokens`` in turn and records refresh requests."""

    def __init__(self, *tokens: str) -> None:
        self.tokens = list(tokens or ("access-1",))
        self.calls: list[bool] = []

    async def __call__(self, *, force_refresh: bool = False) -> str:
        self.calls.append(force_refresh)
        if force_refresh and len(self.tokens) > 1:
            self.tokens.pop(0)
        return self.tokens[0]


#: The fake company's tax codes (an Australian company's, with its own Ids).
GST_CODE = "10"
GST_FREE_CODE = "12"
#: The mapping an admin would have saved for the fake company.
AU_MAPPING = {
    "tax.gst": GST_CODE,
    "tax.gst_free": GST_FREE_CODE,
    "income_account": "79",
    "customers": "participant_id",
}
AU_FACTS = {
    "company_name": "Coordinoter Test Co",
    "tax_model": "global",
    "home_currency": "AUD",
    "multicurrency": "false",
}


def connection_context(
    http: httpx.AsyncClient,
    *,
    links: dict[tuple[str, str], RemoteRef] | None = None,
    tokens: TokenSource | None = None,
    config: PluginConfig | None = None,
    realm: str = REALM,
    mapping: dict[str, str] | None = None,
    facts: dict[str, str] | None = None,
) -> ConnectionContext:
    """A hub ConnectionContext for the test company, with its mapping in force."""
    config = config or plugin_config(CLIENT_ID="cid", CLIENT_SECRET="secret")
    return ConnectionContext(
        config=config,
        info=integration_info(config),
        connection_id=1,
        external_account_id=realm,
        environment="sandbox",
        access_token=tokens or TokenSource(),
        http=http,
        links=links or {},
        mapping=AU_MAPPING if mapping is None else mapping,
        account_facts=AU_FACTS if facts is None else facts,
    )


def participant(pid: str, name: str, email: str | None = None) -> ParticipantPayload:
    """A participant payload."""
    return ParticipantPayload(id=pid, name=name, email=email)


def invoice(
    invoice_id: int,
    who: ParticipantPayload,
    *,
    number: str | None = None,
    lines: tuple[LinePayload, ...] | None = None,
    memo: str | None = None,
    voided: bool = False,
    remote: RemoteRef | None = None,
) -> InvoicePayload:
    """An invoice payload with sensible lines."""
    return InvoicePayload(
        id=invoice_id,
        number=number or f"INV-{1000 + invoice_id}",
        participant=who,
        issue_date=dt.date(2026, 11, 23),
        due_date=dt.date(2026, 12, 7),
        currency="AUD",
        lines=lines
        or (
            LinePayload("Support coordination", "07_002_0106_8_3", Decimal("2"), Decimal("100.14")),
        ),
        idempotency_key=f"hub-1-{invoice_id}",
        memo=memo,
        voided=voided,
        remote=remote,
    )


def fault(code: str, message: str, detail: str = "", status: str = "ValidationFault") -> Json:
    """A QuickBooks Fault body."""
    return {
        "Fault": {
            "Error": [{"Message": message, "Detail": detail, "code": code, "element": ""}],
            "type": status,
        },
        "time": NOW,
    }


class FakeCompany:
    """One QuickBooks company behind ``httpx.MockTransport``."""

    def __init__(self, realm: str = REALM) -> None:
        self.realm = realm
        self.objects: dict[str, dict[str, Json]] = {
            "Customer": {},
            "Item": {},
            "Invoice": {},
            "Payment": {},
            "Account": {
                "80": {"Id": "80", "Name": "Sales", "AccountType": "Income", "SyncToken": "0"},
                "79": {"Id": "79", "Name": "Services", "AccountType": "Income", "SyncToken": "0"},
            },
        }
        self.next_id = 100
        self.requests: list[httpx.Request] = []
        self.replies: dict[str, tuple[int, bytes]] = {}
        self.in_flight = 0
        self.peak_in_flight = 0
        #: Called with each request before it is handled; may return a response.
        self.intercept: Callable[[httpx.Request], httpx.Response | None] | None = None
        #: Invoices whose DocNumber is in here are refused with a 6000 fault.
        self.refuse_numbers: set[str] = set()

    # --- set-up ------------------------------------------------------------------------

    def add(self, entity: str, **fields: Any) -> Json:
        """Store an object as if someone made it in QuickBooks."""
        self.next_id += 1
        obj: Json = {"Id": str(self.next_id), "SyncToken": "0", "Active": True, **fields}
        obj.setdefault("MetaData", {"LastUpdatedTime": NOW})
        self.objects[entity][obj["Id"]] = obj
        return obj

    def live(self, entity: str) -> list[Json]:
        """Objects of one kind, inactive ones included."""
        return list(self.objects[entity].values())

    def client(self) -> httpx.AsyncClient:
        """An HTTP client whose requests reach this company."""
        return httpx.AsyncClient(transport=httpx.MockTransport(self.handle))

    def batches(self) -> list[Json]:
        """The bodies of every /batch request so far."""
        return [json.loads(r.content) for r in self.requests if r.url.path.endswith("/batch")]

    # --- the API -----------------------------------------------------------------------

    async def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        self.in_flight += 1
        self.peak_in_flight = max(self.peak_in_flight, self.in_flight)
        try:
            await asyncio.sleep(0.001)  # let concurrent requests overlap
            if self.intercept is not None:
                response = self.intercept(request)
                if response is not None:
                    return response
            return self._route(request)
        finally:
            self.in_flight -= 1

    def _route(self, request: httpx.Request) -> httpx.Response:
        prefix = f"/v3/company/{self.realm}/"
        assert request.url.path.startswith(prefix), request.url
        assert request.url.params.get("minorversion") == "75"
        assert request.headers["authorization"].startswith("Bearer ")
        path = request.url.path[len(prefix) :]
        rid = request.url.params.get("requestid")
        if rid and rid in self.replies:
            status, body = self.replies[rid]
            return httpx.Response(status, content=body, headers=_headers())
        status, reply = self._answer(request, path)
        content = json.dumps(reply, default=json_default).encode()
        if rid:
            self.replies[rid] = (status, content)
        return httpx.Response(status, content=content, headers=_headers())

    def _answer(self, request: httpx.Request, path: str) -> tuple[int, Json]:
        if path == "query":
            return 200, self._query(request.content.decode())
        if path == "batch":
            return 200, self._batch(decode_json(request.content)["BatchItemRequest"])
        if path == "cdc":
            return 200, self._cdc(request.url.params)
        entity, _, obj_id = path.partition("/")
        name = {"invoice": "Invoice", "payment": "Payment", "companyinfo": "CompanyInfo"}[entity]
        if name == "CompanyInfo":
            return 200, {"CompanyInfo": {"CompanyName": "Coordinoter Test Co"}, "time": NOW}
        if request.method == "GET":
            obj = self.objects[name].get(obj_id)
            if obj is None:
                return 400, fault("610", "Object Not Found", "Object Not Found : deleted")
            return 200, {name: obj, "time": NOW}
        body = decode_json(request.content)
        return self._write(name, body, request.url.params.get("operation"))

    def _query(self, sql: str) -> Json:
        linked = re.match(
            r"SELECT \* FROM (\w+) WHERE Active IN \(true, false\) AND Id IN (.*?) STARTPOSITION",
            sql,
        )
        if linked:  # inactive objects too, by Id
            entity, raw = linked.groups()
            ids = set(re.findall(r"'([^']*)'", raw))
            rows = [obj for obj in self.objects[entity].values() if obj["Id"] in ids]
            return {"QueryResponse": {entity: rows} if rows else {}, "time": NOW}
        match = re.match(r"SELECT \* FROM (\w+) WHERE (\w+) (IN|=) (.*?) STARTPOSITION", sql)
        assert match, sql
        entity, field, _op, raw = match.groups()
        wanted = {v.replace("\\'", "'") for v in re.findall(r"'((?:\\.|[^'\\])*)'", raw)}
        rows = [
            obj
            for obj in self.objects[entity].values()
            if obj.get("Active", True)
            and (str(obj.get(field)).casefold() in {w.casefold() for w in wanted})
        ]
        return {"QueryResponse": {entity: rows} if rows else {}, "time": NOW}

    def _batch(self, items: list[Json]) -> Json:
        answers = []
        for item in items:
            assert item["operation"] == "create"
            entity = next(k for k in item if k not in {"bId", "operation"})
            _status, reply = self._create(entity, item[entity])
            answers.append({"bId": item["bId"], **reply})
        return {"BatchItemResponse": answers, "time": NOW}

    def _create(self, entity: str, body: Json) -> tuple[int, Json]:
        if entity in {"Customer", "Item"}:
            key = "DisplayName" if entity == "Customer" else "Name"
            for obj in self.objects[entity].values():
                if str(obj[key]).casefold() == str(body[key]).casefold():
                    detail = f"The name supplied already exists. : Id={obj['Id']}"
                    return 400, fault("6240", "Duplicate Name Exists Error", detail)
        if entity == "Invoice":
            if body["DocNumber"] in self.refuse_numbers:
                return 400, fault("6000", "A business validation error has occurred", "Bad line")
            for obj in self.objects["Invoice"].values():
                if obj["DocNumber"] == body["DocNumber"]:
                    detail = "Duplicate Document Number Error : Use a different number."
                    return 400, fault("6140", "Duplicate Document Number Error", detail)
            details = [line.get("SalesItemLineDetail") or {} for line in body["Line"]]
            codes = [detail.get("TaxCodeRef") for detail in details]
            if not all(codes):
                detail = (
                    "Business Validation Error: Make sure all your transactions have a "
                    "GST rate before you save."
                )
                return 400, fault("6000", "A business validation error has occurred", detail)
            subtotal = sum((Decimal(str(line["Amount"])) for line in body["Line"]), Decimal(0))
            tax = sum(
                (
                    (Decimal(str(line["Amount"])) / 10).quantize(Decimal("0.01"))
                    for line, code in zip(body["Line"], codes, strict=True)
                    if code["value"] == GST_CODE
                ),
                Decimal(0),
            )
            total = subtotal + tax
            body = {
                **body,
                "Line": [
                    *body["Line"],
                    {"Amount": subtotal, "DetailType": "SubTotalLineDetail"},
                ],
                "TxnTaxDetail": {"TotalTax": tax},
                "TotalAmt": total,
                "Balance": total,
            }
        obj = self.add(entity, **body)
        return 200, {entity: obj}

    def _write(self, entity: str, body: Json, operation: str | None) -> tuple[int, Json]:
        obj = self.objects[entity].get(str(body["Id"]))
        if obj is None:
            return 400, fault("610", "Object Not Found", "Object Not Found : deleted")
        if str(body["SyncToken"]) != obj["SyncToken"]:
            return 400, fault("5010", "Stale Object Error", "Stale Object Error : changed")
        if operation == "void":
            obj.update(TotalAmt=0, Balance=0, PrivateNote="Voided")
        else:
            assert body.get("sparse") is True
            obj.update({k: v for k, v in body.items() if k not in {"Id", "SyncToken", "sparse"}})
        obj["SyncToken"] = str(int(obj["SyncToken"]) + 1)
        return 200, {entity: obj, "time": NOW}

    def _cdc(self, params: httpx.QueryParams) -> Json:
        blocks = [
            {entity: list(self.objects[entity].values())}
            for entity in params["entities"].split(",")
        ]
        return {"CDCResponse": [{"QueryResponse": blocks}], "time": NOW}


def _headers() -> dict[str, str]:
    return {"content-type": "application/json;charset=UTF-8", "intuit_tid": "1-fake-tid"}


def json_default(value: Any) -> Any:
    """Encode Decimals the fake stores as JSON numbers."""
    if isinstance(value, Decimal):
        return float(value)
    raise TypeError(value)
