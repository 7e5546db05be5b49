"""A small stand-in for Example Ledger's servers: OAuth, the API and signed webhooks.

TODO: replace with an emulator of your provider, built from its documentation, so
tests, demos and benchmarks never need an account there.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import itertools
import json
import logging
import secrets
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

import httpx
from hub import EmulatorOptions
from starlette.applications import Starlette
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

log = logging.getLogger(__name__)

LEDGER_ID = "ledger-1"
#: The ledger's tax rates: each line of an invoice names one.
TAX_RATES = [
    {"id": "tr-10", "name": "GST on Income", "rate": "10"},
    {"id": "tr-0", "name": "GST Free Income", "rate": "0"},
    {"id": "tr-x", "name": "BAS Excluded", "rate": "0"},
]
EDITABLE = ("number", "customer_id", "issue_date", "due_date", "currency", "memo", "lines")
Handler = Callable[[Request], Awaitable[Response]]


def create_app(options: EmulatorOptions) -> Starlette:
    """An ASGI app with one ledger; ``options.extra`` may set client_id, client_secret."""
    client_id = str(options.extra.get("client_id", "demo-client"))
    client_secret = str(options.extra.get("client_secret", "demo-secret"))
    webhook_secret = (options.verifier_token or "demo-webhook-secret").encode()
    page_size = int(options.extra.get("page_size", 50))
    codes: dict[str, tuple[str, str]] = {}  # code -> (redirect_uri, PKCE challenge)
    access: set[str] = set()
    refresh: set[str] = set()
    objects: dict[str, dict[str, Any]] = {}  # customers and invoices by id
    idempotency: dict[str, str] = {}  # Idempotency-Key -> object id
    changes: list[dict[str, Any]] = []
    outbox: list[dict[str, str]] = []
    ids = itertools.count(1)

    def now() -> str:
        return dt.datetime.now(dt.UTC).isoformat()

    def error(status: int, code: str, message: str) -> JSONResponse:
        body = {"error": {"code": code, "message": message}}
        return JSONResponse(body, status, headers={"x-request-id": secrets.token_hex(8)})

    def client_ok(request: Request) -> bool:
        expected = base64.b64encode(f"{client_id}:{client_secret}".encode()).decode()
        given = request.headers.get("authorization", "")
        return hmac.compare_digest(given.encode(), f"Basic {expected}".encode())

    async def deliver(body: bytes, signature: str) -> None:
        assert options.webhook_url is not None
        headers = {"x-example-signature": signature, "content-type": "application/json"}
        try:
            async with httpx.AsyncClient(timeout=5) as http:
                await http.post(options.webhook_url, content=body, headers=headers)
        except httpx.HTTPError as err:
            log.warning("webhook to %s failed: %r", options.webhook_url, err)

    def changed(obj: dict[str, Any], action: str) -> BackgroundTask | None:
        """Record a change for the feed and sign a webhook for it."""
        obj["updated_at"] = now()
        record = {"ledger_id": LEDGER_ID, "entity": obj["entity"], "entity_id": obj["id"],
                  "action": action, "version": obj["version"], "occurred_at": obj["updated_at"]}
        changes.append(record)
        body = json.dumps({"events": [record]}).encode()
        signature = hmac.new(webhook_secret, body, hashlib.sha256).hexdigest()
        outbox.append({"body": body.decode(), "signature": signature})
        return BackgroundTask(deliver, body, signature) if options.webhook_url else None

    async def authorize(request: Request) -> Response:
        query = request.query_params
        if query.get("client_id") != client_id or not query.get("redirect_uri"):
            return error(400, "invalid_request", "unknown client_id or no redirect_uri")
        code = secrets.token_urlsafe(16)
        codes[code] = (query["redirect_uri"], query.get("code_challenge", ""))
        back = {"code": code, "state": query.get("state", ""), "ledger_id": LEDGER_ID}
        return RedirectResponse(f"{query['redirect_uri']}?{urlencode(back)}", 302)

    async def token(request: Request) -> Response:
        if not client_ok(request):
            return JSONResponse({"error": "invalid_client"}, 401)
        form = {key: str(value) for key, value in (await request.form()).items()}
        if form.get("grant_type") == "authorization_code":
            redirect_uri, challenge = codes.pop(form.get("code", ""), ("", ""))
            digest = hashlib.sha256(form.get("code_verifier", "").encode()).digest()
            computed = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
            verified = not challenge or hmac.compare_digest(computed.encode(), challenge.encode())
            if not redirect_uri or redirect_uri != form.get("redirect_uri") or not verified:
                return JSONResponse({"error": "invalid_grant"}, 400)
        elif form.get("grant_type") == "refresh_token" and form.get("refresh_token") in refresh:
            refresh.discard(form["refresh_token"])  # rotated: each refresh token works once
        else:
            return JSONResponse({"error": "invalid_grant"}, 400)
        tokens = {"access_token": secrets.token_urlsafe(24),
                  "refresh_token": secrets.token_urlsafe(24)}
        access.add(tokens["access_token"])
        refresh.add(tokens["refresh_token"])
        return JSONResponse({**tokens, "token_type": "bearer", "expires_in": 3600,
                             "refresh_token_expires_in": 8_640_000, "scope": "invoices customers"})

    async def revoke(request: Request) -> Response:
        if not client_ok(request):
            return JSONResponse({"error": "invalid_client"}, 401)
        revoked = str((await request.form()).get("token", ""))
        access.discard(revoked)
        refresh.discard(revoked)
        return Response(status_code=200)

    def api(handler: Handler) -> Handler:
        async def guarded(request: Request) -> Response:
            bearer = request.headers.get("authorization", "").removeprefix("Bearer ")
            if bearer not in access:
                return error(401, "unauthorized", "the access token is invalid or expired")
            if request.path_params["ledger"] != LEDGER_ID:
                return error(404, "not_found", "no such ledger")
            return await handler(request)

        return guarded

    rates = {rate["id"]: Decimal(rate["rate"]) for rate in TAX_RATES}

    def priced(lines: list[dict[str, str]], paid: Decimal) -> dict[str, Any]:
        """Totals with tax worked out per line, or a KeyError naming an unknown rate."""
        cents = Decimal("0.01")
        amounts = [(Decimal(ln["quantity"]) * Decimal(ln["unit_price"])).quantize(cents)
                   for ln in lines]
        taxes = [(amount * rates[str(ln.get("tax_rate_id"))] / 100).quantize(cents)
                 for amount, ln in zip(amounts, lines, strict=True)]
        subtotal, tax = sum(amounts, Decimal(0)), sum(taxes, Decimal(0))
        total = subtotal + tax
        return {"lines": lines, "subtotal": str(subtotal), "tax": str(tax), "total": str(total),
                "balance": str(total - paid)}

    def found(entity: str, object_id: str) -> dict[str, Any] | None:
        obj = objects.get(object_id)
        return obj if obj and obj["entity"] == entity else None

    async def ledger(request: Request) -> Response:
        return JSONResponse({"id": LEDGER_ID, "name": "Example Ledger Demo Company"})

    async def tax_rates(request: Request) -> Response:
        return JSONResponse({"tax_rates": TAX_RATES})

    async def create(request: Request) -> Response:
        entity = request.url.path.rsplit("/", 1)[-1].rstrip("s")
        key = request.headers.get("idempotency-key")
        if key in idempotency:  # a repeated request: the same object, nothing new
            return JSONResponse(objects[idempotency[key]], 200)
        data = await request.json()
        if entity == "invoice":
            if not found("customer", str(data.get("customer_id"))):
                return error(422, "unknown_customer", "customer_id names no customer")
            if not data.get("lines"):
                return error(422, "no_lines", "an invoice needs at least one line")
            if any(ln.get("tax_rate_id") not in rates for ln in data["lines"]):
                return error(422, "unknown_tax_rate", "every line needs a known tax_rate_id")
            data |= {"status": "open", "amount_paid": "0.00", **priced(data["lines"], Decimal(0))}
        obj = {**data, "entity": entity, "id": f"{entity[:3]}-{next(ids)}", "version": "1"}
        objects[obj["id"]] = obj
        if key:
            idempotency[key] = obj["id"]
        task = changed(obj, "created")
        return JSONResponse(obj, 201, background=task)

    async def listing(request: Request) -> Response:
        entity = request.url.path.rsplit("/", 1)[-1].rstrip("s")
        return JSONResponse({f"{entity}s": [o for o in objects.values() if o["entity"] == entity]})

    async def invoice(request: Request) -> Response:
        obj = found("invoice", request.path_params["id"])
        if obj is None:
            return error(404, "not_found", "no such invoice")
        if request.method == "GET":
            return JSONResponse(obj)
        if request.method == "DELETE":
            del objects[obj["id"]]
            obj["version"] = str(int(obj["version"]) + 1)
            return Response(status_code=204, background=changed(obj, "deleted"))
        data = await request.json()
        if str(data.get("version")) != obj["version"]:
            return error(409, "stale_version", f"the invoice is at version {obj['version']}")
        voiding = request.url.path.endswith("/void")
        if voiding:
            data = {"status": "void", "balance": "0.00"}
        else:
            data = {k: v for k, v in data.items() if k in EDITABLE}
            if any(ln.get("tax_rate_id") not in rates for ln in data.get("lines", [])):
                return error(422, "unknown_tax_rate", "every line needs a known tax_rate_id")
            data |= priced(data["lines"], Decimal(obj["amount_paid"])) if "lines" in data else {}
        obj |= data
        obj["version"] = str(int(obj["version"]) + 1)
        return JSONResponse(obj, background=changed(obj, "voided" if voiding else "updated"))

    async def feed(request: Request) -> Response:
        since = dt.datetime.fromisoformat(request.query_params["since"])
        recent = [c for c in changes if dt.datetime.fromisoformat(c["occurred_at"]) >= since]
        start = int(request.query_params.get("page_token", "0"))
        more = start + page_size < len(recent)
        return JSONResponse({"changes": recent[start : start + page_size], "as_of": now(),
                             "next_page_token": str(start + page_size) if more else None})

    async def payment(request: Request) -> Response:
        """What an accountant does in Example Ledger: record a payment."""
        obj = found("invoice", request.path_params["id"])
        if obj is None:
            return error(404, "not_found", "no such invoice")
        paid = Decimal(obj["amount_paid"]) + Decimal((await request.json())["amount"])
        balance = Decimal(obj["total"]) - paid
        obj |= {"amount_paid": str(paid), "balance": str(balance),
                "status": "paid" if balance <= 0 else "partially_paid",
                "version": str(int(obj["version"]) + 1)}
        return JSONResponse(obj, background=changed(obj, "paid"))

    async def expire_tokens(request: Request) -> Response:
        access.clear()
        return Response(status_code=204)

    async def webhooks(request: Request) -> Response:
        return JSONResponse(outbox)

    ledger_path = "/v1/ledgers/{ledger}"
    return Starlette(routes=[
        Route("/oauth/authorize", authorize),
        Route("/oauth/token", token, methods=["POST"]),
        Route("/oauth/revoke", revoke, methods=["POST"]),
        Route(ledger_path, api(ledger)),
        Route(f"{ledger_path}/tax-rates", api(tax_rates)),
        Route(f"{ledger_path}/customers", api(create), methods=["POST"]),
        Route(f"{ledger_path}/customers", api(listing)),
        Route(f"{ledger_path}/invoices", api(create), methods=["POST"]),
        Route(f"{ledger_path}/invoices", api(listing)),
        Route(f"{ledger_path}/invoices/{{id}}", api(invoice), methods=["GET", "PUT", "DELETE"]),
        Route(f"{ledger_path}/invoices/{{id}}/void", api(invoice), methods=["POST"]),
        Route(f"{ledger_path}/changes", api(feed)),
        Route("/_emulator/invoices/{id}/payments", payment, methods=["POST"]),
        Route("/_emulator/expire-tokens", expire_tokens, methods=["POST"]),
        Route("/_emulator/webhooks", webhooks),
    ])
