"""The JSON API (``/api/v1``), authenticated by organization API keys."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import Any

from sqlmodel import Session
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from hub.accounts import find_api_key
from hub.db import utcnow
from hub.listing import integration_listing
from hub.openapi import openapi_document
from hub.web.common import api_error, hub_state

ApiHandler = Callable[[Request, int], Awaitable[Response]]


def api_key_required(handler: ApiHandler) -> Callable[[Request], Awaitable[Response]]:
    """Resolve ``Authorization: Bearer <key>`` to its organization, or answer 401."""

    @functools.wraps(handler)
    async def wrapper(request: Request) -> Response:
        header = request.headers.get("authorization", "")
        scheme, _, key = header.partition(" ")
        if scheme.lower() != "bearer" or not key.strip():
            return api_error(
                401,
                "unauthorized",
                "Send an organization API key as 'Authorization: Bearer <key>' "
                "(create one with `hub api-keys create --org NAME`).",
                headers={"WWW-Authenticate": "Bearer"},
            )

        def lookup(session: Session) -> int | None:
            found = find_api_key(session, key.strip())
            if found is None:
                return None
            found.last_used_at = utcnow()
            session.add(found)
            return found.organization_id

        org_id = await hub_state(request).db.run(lookup)
        if org_id is None:
            return api_error(
                401,
                "unauthorized",
                "This API key is not valid or was revoked.",
                headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
            )
        return await handler(request, org_id)

    return wrapper


@api_key_required
async def list_integrations(request: Request, org_id: int) -> Response:
    """Every installed integration with this organization's connection state."""
    state = hub_state(request)
    listing = await state.db.read(
        lambda session: integration_listing(session, state.plugins, org_id)
    )
    return JSONResponse({"integrations": listing})


async def openapi(request: Request) -> Response:
    """The API's OpenAPI 3.1 description."""
    document: dict[str, Any] = openapi_document(hub_state(request).settings.base_url)
    return JSONResponse(document)


routes = [
    Route("/api/v1/integrations", list_integrations, methods=["GET"]),
    Route("/api/v1/openapi.json", openapi, methods=["GET"]),
]
