"""Connect, the OAuth callback, and disconnect."""

from __future__ import annotations

import logging

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from hub.mapping import read_after_connect
from hub.oauth import ConnectError
from hub.plugins import Integration
from hub.web.common import (
    checked_form,
    flash,
    hub_state,
    redirect,
    require_viewer,
    session_id,
)

log = logging.getLogger(__name__)


def _integration(request: Request) -> Integration:
    integration = hub_state(request).plugins.get(request.path_params["slug"])
    if integration is None:
        raise HTTPException(404, "There is no such integration.")
    return integration


def _flash_error(request: Request, integration: Integration, err: ConnectError) -> None:
    flash(
        request,
        err.message,
        level="error",
        help_url=integration.info.help_url or integration.info.docs_url,
        support_reference=err.support_reference or "",
    )


async def connect(request: Request) -> Response:
    """Start connecting: a single-use state, then off to the provider."""
    viewer = await require_viewer(request, admin=True)
    await checked_form(request)
    integration = _integration(request)
    state = hub_state(request)
    try:
        url = await state.services.oauth.start(
            integration,
            organization_id=viewer.org_id,
            user_id=viewer.user.id or 0,
            session_id=session_id(request),
        )
    except ConnectError as err:
        _flash_error(request, integration, err)
        return redirect("/integrations")
    return redirect(url)


async def callback(request: Request) -> Response:
    """The provider sends the browser back here, with a code or an error."""
    viewer = await require_viewer(request, admin=True)
    integration = _integration(request)
    state = hub_state(request)
    params = {key: value for key, value in request.query_params.items()}
    try:
        connected = await state.services.oauth.finish(
            integration, params, session_id=session_id(request)
        )
    except ConnectError as err:
        _flash_error(request, integration, err)
        return redirect("/integrations")
    log.info("organization %s connected %s", viewer.org_id, integration.slug)
    verb = "Reconnected" if connected.reconnected else "Connected"
    flash(
        request,
        f"{verb} to {connected.account_name}. New invoice batches will be pushed to "
        f"{integration.info.name}; batches created before now are not pushed unless you "
        "push them yourself.",
        level="success",
    )
    mapping = await read_after_connect(state.services, connected.connection_id)
    if mapping is not None and not mapping.complete:
        flash(
            request,
            f"One more step: choose the {mapping.missing_phrase} on the mapping page. "
            f"{integration.info.name} has no option that clearly fits, and invoices that "
            "need it wait until you choose.",
            level="warning",
            action_url=f"/integrations/{integration.slug}/mapping",
            action_label="Open the mapping",
        )
    return redirect("/integrations")


async def disconnect(request: Request) -> Response:
    """Revoke at the provider, forget the tokens, keep the history."""
    viewer = await require_viewer(request, admin=True)
    await checked_form(request)
    integration = _integration(request)
    warning = await hub_state(request).services.oauth.disconnect(integration, viewer.org_id)
    if warning:
        flash(
            request,
            f"Disconnected {integration.info.name}. {warning}",
            level="warning",
            help_url=integration.info.help_url or integration.info.docs_url,
        )
    else:
        flash(request, f"Disconnected {integration.info.name}.", level="success")
    return redirect("/integrations")


routes = [
    Route("/integrations/{slug}/connect", connect, methods=["POST"]),
    Route("/integrations/{slug}/callback", callback, methods=["GET"]),
    Route("/integrations/{slug}/disconnect", disconnect, methods=["POST"]),
]
