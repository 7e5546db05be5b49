"""``/v3/company/{realmId}/...``: bearer auth, limits and latency, then the books."""

from __future__ import annotations

import asyncio
import logging

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from .metering import meter_class
from .oauth import ACCOUNTING_SCOPE
from .web import emulator_of
from .wire import QBO_JSON, auth_fault, system_fault, throttle_body, wrong_realm_fault

logger = logging.getLogger(__name__)

_WHY_UNAUTHORIZED = {
    "missing": "Authorization header is missing or is not a Bearer token",
    "unknown": "Token invalid",
    "revoked": "Token revoked",
    "expired": "Token expired",
}


async def company_api(request: Request) -> Response:
    """One Accounting API request, answered by the books once it may be."""
    emulator = emulator_of(request)
    realm_id: str = request.path_params["realm_id"]
    subpath: str = request.path_params["subpath"]
    now = emulator.clock.now()
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    value = value.strip()
    if scheme.lower() != "bearer" or not value:
        return auth_fault(401, now, _WHY_UNAUTHORIZED["missing"])
    grant, reason = emulator.tokens.authenticate(value)
    if grant is None:
        detail = _WHY_UNAUTHORIZED.get(reason, "Token invalid")
        return auth_fault(401, now, f"{detail}: {value[:12]}...")
    if grant.realm_id != realm_id or not emulator.books.has_company(realm_id):
        return wrong_realm_fault(now)
    if ACCOUNTING_SCOPE not in grant.scopes:
        return auth_fault(403, now, None)
    client_id = grant.client_id
    is_batch = subpath.strip("/").lower() == "batch"
    if not emulator.throttle.acquire(realm_id, client_id, is_batch):
        emulator.stats.throttled[realm_id] += 1
        body, content_type = throttle_body(now, emulator.limits.json_body)
        return Response(body, status_code=429, media_type=content_type)
    try:
        if emulator.limits.latency_ms > 0:
            await asyncio.sleep(emulator.limits.latency_ms / 1000)
        payload = await request.body()
        # Calls that reach the service count, faults included; throttled ones do not.
        emulator.stats.meter(realm_id, client_id, meter_class(request.method, subpath, payload))
        try:
            result = await asyncio.to_thread(
                emulator.with_books,
                lambda books: books.handle(
                    realm_id,
                    request.method,
                    subpath,
                    request.query_params,
                    payload,
                    request.headers.get("content-type"),
                ),
            )
        except Exception:
            # What QuickBooks shows for its own failures: a SystemFault, no traceback.
            logger.exception("books failed on %s %s", request.method, subpath)
            return Response(system_fault(now), status_code=500, media_type=QBO_JSON)
    finally:
        emulator.throttle.release(realm_id, client_id)
    return Response(result.body, status_code=result.status, media_type=result.content_type)


routes = [
    Route("/v3/company/{realm_id}/{subpath:path}", company_api, methods=["GET", "POST"]),
]
