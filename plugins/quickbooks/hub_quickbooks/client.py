"""The QuickBooks Online Accounting API (v3), over the host's HTTP client.

Every request goes through the ``httpx.AsyncClient`` the host hands to hooks (it
applies the per-company limits), carries ``minorversion=75`` and an explicit timeout,
and turns every failure into an error from :mod:`hub.errors`.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import random
import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

import httpx

from hub.errors import AuthRevoked, RateLimited, Transient
from hub.types import ConnectionContext, PluginConfig
from hub_quickbooks.environment import api_base_for
from hub_quickbooks.errors import (
    QuickBooksRejected,
    error_for_fault,
    is_throttle,
    parse_fault,
    parse_xml_fault,
    retry_after_seconds,
)
from hub_quickbooks.mapping import JsonObject, decode_json, encode_json

log = logging.getLogger(__name__)

MINOR_VERSION = "75"
TIMEOUT = 30.0
#: Batches and change data capture do more work per request than a read.
LONG_TIMEOUT = 60.0
#: QuickBooks answers at most 1000 rows per query page.
PAGE_SIZE = 1000

_FROM = re.compile(r"\bFROM\s+(\w+)", re.I)

AccessToken = Callable[..., Awaitable[str]]


def configured_timeout(config: PluginConfig) -> float:
    """The longest a request may take: ``QUICKBOOKS_TIMEOUT_SECONDS``, else 60 s."""
    raw = config.get("TIMEOUT_SECONDS")
    try:
        value = float(raw) if raw else LONG_TIMEOUT
    except ValueError:
        value = LONG_TIMEOUT
    return value if value > 0 else LONG_TIMEOUT


#: Resends of a repeatable request inside one call, before the host's job retry.
QUICK_RETRIES = 2
QUICK_RETRY_DELAY = 0.25


class QuickBooksClient:
    """Requests to one company (realm) of QuickBooks Online."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        api_base: str,
        realm_id: str,
        access_token: AccessToken,
        can_refresh: bool = True,
        max_timeout: float = LONG_TIMEOUT,
    ) -> None:
        self.http = http
        #: No request waits longer than this (``QUICKBOOKS_TIMEOUT_SECONDS``).
        self.max_timeout = max_timeout
        self.realm_id = realm_id
        self.company_url = f"{api_base.rstrip('/')}/v3/company/{realm_id}"
        self._access_token = access_token
        self._can_refresh = can_refresh

    @classmethod
    def for_connection(cls, ctx: ConnectionContext) -> QuickBooksClient:
        """A client acting for one hub connection."""
        return cls(
            ctx.http,
            api_base=api_base_for(ctx.config, ctx.environment),
            realm_id=ctx.external_account_id,
            access_token=ctx.access_token,
            max_timeout=configured_timeout(ctx.config),
        )

    # --- the API ---------------------------------------------------------------------

    async def read(self, entity: str, entity_id: str, *, subject: str) -> JsonObject:
        """``GET /{entity}/{id}``: one object."""
        body = await self.request("GET", f"{entity.lower()}/{entity_id}", subject=subject)
        return _entity(body, entity, subject)

    async def create(
        self, entity: str, obj: Mapping[str, Any], *, subject: str, request_id: str | None = None
    ) -> JsonObject:
        """``POST /{entity}``: create an object (or update one, with Id and SyncToken)."""
        params = {"requestid": request_id} if request_id else None
        body = await self.request(
            "POST", entity.lower(), json_body=obj, params=params, subject=subject
        )
        return _entity(body, entity, subject)

    async def operation(
        self, entity: str, operation: str, obj: Mapping[str, Any], *, subject: str
    ) -> JsonObject:
        """``POST /{entity}?operation=...`` (void, delete)."""
        body = await self.request(
            "POST",
            entity.lower(),
            json_body=obj,
            params={"operation": operation},
            subject=subject,
        )
        return _entity(body, entity, subject)

    async def query(self, sql: str, *, subject: str) -> list[JsonObject]:
        """Run a query and return every row, following pages of 1000."""
        match = _FROM.search(sql)
        if match is None:
            raise ValueError(f"not a QuickBooks query: {sql!r}")
        entity = match.group(1)
        rows: list[JsonObject] = []
        start = 1
        while True:
            page_sql = f"{sql} STARTPOSITION {start} MAXRESULTS {PAGE_SIZE}"
            body = await self.request(
                "POST",
                "query",
                content=page_sql.encode(),
                content_type="application/text",
                subject=subject,
            )
            response = body.get("QueryResponse") or {}
            page = (response.get(entity) or []) if isinstance(response, Mapping) else []
            rows.extend(row for row in page if isinstance(row, dict))
            if len(page) < PAGE_SIZE:
                return rows
            start += PAGE_SIZE

    async def batch(
        self, items: Sequence[Mapping[str, Any]], *, request_id: str, subject: str
    ) -> tuple[dict[str, JsonObject], str | None]:
        """``POST /batch``: answers by ``bId``, and the response's ``intuit_tid``.

        QuickBooks answers 200 even when items fail; each failed item carries a Fault.
        """
        body, tid = await self._request(
            "POST",
            "batch",
            json_body={"BatchItemRequest": list(items)},
            params={"requestid": request_id},
            subject=subject,
            time_limit=LONG_TIMEOUT,
        )
        answers: dict[str, JsonObject] = {}
        for answer in body.get("BatchItemResponse") or []:
            if isinstance(answer, dict) and answer.get("bId") is not None:
                answers[str(answer["bId"])] = answer
        return answers, tid

    async def change_data_capture(
        self, entities: Sequence[str], since: dt.datetime, *, subject: str
    ) -> JsonObject:
        """``GET /cdc``: objects of ``entities`` changed since ``since``."""
        return await self.request(
            "GET",
            "cdc",
            params={
                "entities": ",".join(entities),
                "changedSince": since.astimezone(dt.UTC).isoformat(timespec="seconds"),
            },
            subject=subject,
            time_limit=LONG_TIMEOUT,
        )

    # --- transport -------------------------------------------------------------------

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        json_body: Any = None,
        content: bytes | None = None,
        content_type: str | None = None,
        subject: str,
        time_limit: float = TIMEOUT,
    ) -> JsonObject:
        """Send one request and return its decoded JSON body, or raise a hub error.

        ``subject`` names what the request is about ("the invoice INV-1001") for the
        messages a person reads.
        """
        body, _tid = await self._request(
            method,
            path,
            params=params,
            json_body=json_body,
            content=content,
            content_type=content_type,
            subject=subject,
            time_limit=time_limit,
        )
        return body

    async def _request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        json_body: Any = None,
        content: bytes | None = None,
        content_type: str | None = None,
        subject: str,
        time_limit: float = TIMEOUT,
    ) -> tuple[JsonObject, str | None]:
        url = f"{self.company_url}/{path}"
        query = {**(params or {}), "minorversion": MINOR_VERSION}
        headers = {"Accept": "application/json"}
        if json_body is not None:
            content = encode_json(json_body)
            content_type = "application/json"
        if content_type:
            headers["Content-Type"] = content_type
        # Reads, and writes QuickBooks deduplicates by requestid, are safe to send again.
        repeatable = method == "GET" or path == "query" or "requestid" in query
        response = await self._send_repeating(
            repeatable, method, url, query, headers, content, subject, time_limit
        )
        if response.status_code == 401 and self._can_refresh:
            # The host refreshes; one retry with the fresh token tells an expired
            # token from a revoked grant.
            token = await self._access_token(force_refresh=True)
            response = await self._send(
                method, url, query, headers, content, subject, time_limit, token=token
            )
        return _decode(response, subject), _tid(response)

    async def _send_repeating(
        self,
        repeatable: bool,
        method: str,
        url: str,
        params: Mapping[str, str],
        headers: Mapping[str, str],
        content: bytes | None,
        subject: str,
        time_limit: float,
    ) -> httpx.Response:
        """Send, and resend a repeatable request a few times after a passing failure.

        A lost answer or a 5xx on one of the many requests of a large push would
        otherwise throw the whole job back to the queue; throttling (429) is left to
        the host, which knows the company's limits.
        """
        for attempt in range(QUICK_RETRIES + 1):
            last = attempt == QUICK_RETRIES or not repeatable
            try:
                response = await self._send(
                    method, url, params, headers, content, subject, time_limit
                )
            except Transient:
                if last:
                    raise
            else:
                if response.status_code < 500 or last:
                    return response
            await asyncio.sleep(QUICK_RETRY_DELAY * 2**attempt * random.uniform(0.5, 1.5))
        raise AssertionError("unreachable")  # pragma: no cover

    async def _send(
        self,
        method: str,
        url: str,
        params: Mapping[str, str],
        headers: Mapping[str, str],
        content: bytes | None,
        subject: str,
        time_limit: float,
        *,
        token: str | None = None,
    ) -> httpx.Response:
        token = token or await self._access_token()
        try:
            response = await self.http.request(
                method,
                url,
                params=params,
                headers={**headers, "Authorization": f"Bearer {token}"},
                content=content,
                timeout=min(time_limit, self.max_timeout),
            )
        except httpx.TimeoutException as err:
            raise Transient(
                f"QuickBooks did not answer in time while handling {subject}; "
                "it will be tried again."
            ) from err
        except httpx.RequestError as err:
            raise Transient(
                f"Could not reach QuickBooks while handling {subject} ({type(err).__name__}); "
                "it will be tried again."
            ) from err
        log.debug(
            "QuickBooks %s %s -> %s (intuit_tid=%s)",
            method,
            httpx.URL(url).path,
            response.status_code,
            _tid(response),
        )
        return response


def _decode(response: httpx.Response, subject: str) -> JsonObject:
    """The JSON body of a successful response, or the hub error its failure means."""
    tid = _tid(response)
    status = response.status_code
    text = response.text
    body: Any = None
    try:
        body = decode_json(response.content) if response.content else None
    except ValueError:
        body = None
    fault = parse_fault(body)
    if fault is None and body is None and text.lstrip().startswith("<"):
        fault = parse_xml_fault(text)
    if status == 429 or is_throttle(fault, text if status >= 400 else ""):
        raise RateLimited(
            f"QuickBooks is throttling requests for this company while handling {subject}; "
            "the hub will try again after a pause.",
            retry_after=retry_after_seconds(response.headers.get("Retry-After")),
            support_reference=tid,
        )
    if status == 401:
        raise AuthRevoked(
            "QuickBooks no longer accepts this connection's access (HTTP 401). "
            "Reconnect QuickBooks from Manage Integrations.",
            support_reference=tid,
        )
    if status == 403:
        reason = f" ({fault.describe()})" if fault is not None else ""
        raise AuthRevoked(
            f"QuickBooks does not allow the hub to use this company's accounting data{reason}. "
            "Check that the app has the accounting scope and reconnect QuickBooks from "
            "Manage Integrations.",
            support_reference=tid,
        )
    if status >= 500:
        reason = f": {fault.describe()}" if fault is not None else ""
        raise Transient(
            f"QuickBooks had a problem (HTTP {status}) while handling {subject}{reason}; "
            "it will be tried again.",
            support_reference=tid,
        )
    if fault is not None:
        # A fault decides even on HTTP 200 (some QuickBooks paths answer faults that way).
        raise error_for_fault(fault, subject=subject, status_code=status, support_reference=tid)
    if status >= 400:
        raise QuickBooksRejected(
            f"QuickBooks refused {subject} (HTTP {status}) without saying why.",
            fault=None,
            support_reference=tid,
        )
    if not isinstance(body, dict):
        raise Transient(
            f"QuickBooks answered {subject} with something that is not JSON "
            f"(HTTP {status}); it will be tried again.",
            support_reference=tid,
        )
    return body


def _entity(body: JsonObject, entity: str, subject: str) -> JsonObject:
    obj = body.get(entity)
    if not isinstance(obj, dict):
        raise Transient(f"QuickBooks' answer about {subject} has no {entity} in it.")
    return obj


def _tid(response: httpx.Response) -> str | None:
    tid: str | None = response.headers.get("intuit_tid")
    return tid
