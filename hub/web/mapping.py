"""A connection's mapping, in the portal and through the API."""

from __future__ import annotations

import logging
from typing import Any

from sqlmodel import Session
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from hub.batches import InputError, StrictModel, parse
from hub.connections import live_connection
from hub.errors import IntegrationError
from hub.mapping import MappingView, mapping_view, refresh_choices, save_values
from hub.models import Connection, ConnectionMapping, ConnectionStatus
from hub.plugins import Integration
from hub.web.api import api_key_required
from hub.web.api_invoices import read_body
from hub.web.common import (
    api_error,
    checked_form,
    flash,
    hub_state,
    redirect,
    render,
    require_viewer,
    wake_worker,
)

log = logging.getLogger(__name__)

#: Form fields carry a mapping key after this prefix (``value.tax.gst``).
FIELD_PREFIX = "value."


def _integration(request: Request) -> Integration:
    integration = hub_state(request).plugins.get(request.path_params["slug"])
    if integration is None:
        raise HTTPException(404, "There is no such integration.")
    return integration


def _load(session: Session, org_id: int, slug: str) -> tuple[Connection | None, MappingView]:
    connection = live_connection(session, org_id, slug)
    row = session.get(ConnectionMapping, connection.id) if connection is not None else None
    return connection, mapping_view(row)


async def _refresh(
    request: Request, integration: Integration, connection: Connection
) -> str | None:
    """Read the account's choices now; a sentence saying why not, if it failed."""
    name = integration.info.name
    if connection.status != ConnectionStatus.connected.value:
        return f"Reconnect {name} first: the choices are read from {name}."
    try:
        await refresh_choices(hub_state(request).services, connection)
    except IntegrationError as err:
        log.warning("reading mapping choices for connection %s failed: %s", connection.id, err)
        return f"Could not read the choices from {name}: {err.message}"
    return None


# --- portal ------------------------------------------------------------------------------


async def mapping_page(request: Request) -> Response:
    """The mapping page: what each of Coordinoter's words becomes in the provider."""
    viewer = await require_viewer(request)
    integration = _integration(request)
    state = hub_state(request)
    connection, view = await state.db.read(
        lambda session: _load(session, viewer.org_id, integration.slug)
    )
    if connection is None:
        flash(request, f"Connect {integration.info.name} first.", level="error")
        return redirect(f"/integrations/{integration.slug}")
    problem = None
    if not view.loaded and state.plugins.has_hook(integration.slug, "mapping_choices"):
        problem = await _refresh(request, integration, connection)
        connection, view = await state.db.read(
            lambda session: _load(session, viewer.org_id, integration.slug)
        )
    return render(
        request,
        "mapping.html",
        {
            "viewer": viewer,
            "active": "integrations",
            "integration": integration,
            "connection": connection,
            "mapping": view,
            "problem": problem,
            "prefix": FIELD_PREFIX,
        },
    )


async def save_mapping(request: Request) -> Response:
    """An admin saves the mapping; held invoices are checked and pushed again."""
    viewer = await require_viewer(request, admin=True)
    form = await checked_form(request)
    integration = _integration(request)
    submitted = {
        key.removeprefix(FIELD_PREFIX): value
        for key, value in form.items()
        if key.startswith(FIELD_PREFIX)
    }
    try:
        requeued = await _save(request, viewer.org_id, integration, submitted, viewer.user.id)
    except InputError as err:
        flash(request, _form_error(err), level="error")
        return redirect(f"/integrations/{integration.slug}/mapping")
    message = "Mapping saved."
    if requeued:
        message += f" {requeued} held invoice(s) will be checked and pushed again."
        wake_worker(request)
    flash(request, message, level="success")
    return redirect(f"/integrations/{integration.slug}/mapping")


async def refresh_mapping(request: Request) -> Response:
    """Read the provider's lists again (after a tax code or account was added there)."""
    viewer = await require_viewer(request, admin=True)
    await checked_form(request)
    integration = _integration(request)
    connection = await hub_state(request).db.read(
        lambda session: live_connection(session, viewer.org_id, integration.slug)
    )
    if connection is None:
        raise HTTPException(409, "This integration is not connected.")
    problem = await _refresh(request, integration, connection)
    if problem:
        flash(request, problem, level="error")
    else:
        flash(request, f"Choices read again from {integration.info.name}.", level="success")
    return redirect(f"/integrations/{integration.slug}/mapping")


async def _save(
    request: Request,
    org_id: int,
    integration: Integration,
    submitted: dict[str, Any],
    user_id: int | None,
) -> int:
    def save(session: Session) -> int:
        connection = live_connection(session, org_id, integration.slug)
        if connection is None:
            raise InputError(409, "not_connected", f"{integration.info.name} is not connected.")
        return save_values(
            session, connection, submitted, user_id=user_id, name=integration.info.name
        )

    requeued: int = await hub_state(request).db.run(save)
    return requeued


def _form_error(err: InputError) -> str:
    if isinstance(err.details, list) and err.details:
        return "Not saved: " + "; ".join(
            f"{item.get('label') or item['field']}: {item['message']}" for item in err.details
        )
    return f"Not saved: {err.message}"


# --- API ---------------------------------------------------------------------------------


def _api_integration(request: Request) -> Integration | None:
    return hub_state(request).plugins.get(request.path_params["slug"])


@api_key_required
async def api_mapping(request: Request, org_id: int) -> Response:
    """GET the mapping in force and its choices; PATCH ``{"values": {...}}`` to change it."""
    integration = _api_integration(request)
    if integration is None:
        return api_error(404, "not_found", "There is no such integration.")
    state = hub_state(request)
    if request.method == "PATCH":
        try:
            patch = parse(MappingPatch, await read_body(request, limit=64 * 1024))
            await _save(request, org_id, integration, dict(patch.values), None)
        except InputError as err:
            return api_error(err.status, err.code, err.message, err.details)
        wake_worker(request)
    connection, view = await state.db.read(
        lambda session: _load(session, org_id, integration.slug)
    )
    if connection is None:
        return api_error(409, "not_connected", f"{integration.info.name} is not connected.")
    return JSONResponse({"integration": integration.slug, **view.to_json()})


@api_key_required
async def api_refresh_mapping(request: Request, org_id: int) -> Response:
    """Read the provider's choices again and answer the mapping."""
    integration = _api_integration(request)
    if integration is None:
        return api_error(404, "not_found", "There is no such integration.")
    state = hub_state(request)
    connection = await state.db.read(
        lambda session: live_connection(session, org_id, integration.slug)
    )
    if connection is None:
        return api_error(409, "not_connected", f"{integration.info.name} is not connected.")
    if connection.status != ConnectionStatus.connected.value:
        return api_error(
            409, "needs_reconnect", f"Reconnect {integration.info.name} first, then refresh."
        )
    problem = await _refresh(request, integration, connection)
    if problem:
        return api_error(502, "provider_unavailable", problem)
    _, view = await state.db.read(lambda session: _load(session, org_id, integration.slug))
    return JSONResponse({"integration": integration.slug, **view.to_json()})


class MappingPatch(StrictModel):
    """The body of ``PATCH /api/v1/integrations/{slug}/mapping``."""

    values: dict[str, str | None]


routes = [
    Route("/integrations/{slug}/mapping", mapping_page, methods=["GET"]),
    Route("/integrations/{slug}/mapping", save_mapping, methods=["POST"]),
    Route("/integrations/{slug}/mapping/refresh", refresh_mapping, methods=["POST"]),
    Route("/api/v1/integrations/{slug}/mapping", api_mapping, methods=["GET", "PATCH"]),
    Route(
        "/api/v1/integrations/{slug}/mapping/refresh", api_refresh_mapping, methods=["POST"]
    ),
]
