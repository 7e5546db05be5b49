"""The organization's settings (the default tax treatment), in the portal and the API."""

from __future__ import annotations

from typing import Any, Literal

from sqlmodel import Session
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from hub.batches import InputError, StrictModel, parse
from hub.models import Organization
from hub.types import TAX_TREATMENTS
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
)

TAX_LABELS = {
    "gst_free": "GST-free",
    "gst": "GST (10% added to the unit price)",
}


class SettingsPatch(StrictModel):
    """The body of ``PATCH /api/v1/settings``."""

    default_tax: Literal["gst", "gst_free"] | None = None


def _settings_json(organization: Organization) -> dict[str, Any]:
    return {"organization": organization.name, "default_tax": organization.default_tax}


def _organization(session: Session, org_id: int) -> Organization:
    organization = session.get(Organization, org_id)
    assert organization is not None  # the API key or session names an existing one
    return organization


def _update(session: Session, org_id: int, default_tax: str | None) -> Organization:
    organization = _organization(session, org_id)
    if default_tax is not None:
        organization.default_tax = default_tax
        session.add(organization)
    return organization


async def settings_page(request: Request) -> Response:
    """The organization's settings; admins may change them."""
    viewer = await require_viewer(request)
    return render(
        request,
        "settings.html",
        {
            "viewer": viewer,
            "active": "settings",
            "organization": viewer.organization,
            "tax_labels": TAX_LABELS,
        },
    )


async def save_settings(request: Request) -> Response:
    """An admin changes the organization's settings."""
    viewer = await require_viewer(request, admin=True)
    form = await checked_form(request)
    default_tax = form.get("default_tax")
    if default_tax not in TAX_TREATMENTS:
        flash(request, "Choose GST-free or GST as the default.", level="error")
        return redirect("/settings")
    await hub_state(request).db.run(
        lambda session: _update(session, viewer.org_id, str(default_tax))
    )
    flash(
        request,
        f"Saved. Invoice lines that do not say otherwise are now {TAX_LABELS[str(default_tax)]}; "
        "invoices already created keep their lines as they were.",
        level="success",
    )
    return redirect("/settings")


@api_key_required
async def api_settings(request: Request, org_id: int) -> Response:
    """GET the organization's settings; PATCH ``{"default_tax": "gst"|"gst_free"}``."""
    state = hub_state(request)
    if request.method == "PATCH":
        try:
            patch = parse(SettingsPatch, await read_body(request, limit=16 * 1024))
        except InputError as err:
            return api_error(err.status, err.code, err.message, err.details)
        organization = await state.db.run(
            lambda session: _update(session, org_id, patch.default_tax)
        )
    else:
        organization = await state.db.read(lambda session: _organization(session, org_id))
    return JSONResponse(_settings_json(organization))


routes = [
    Route("/settings", settings_page, methods=["GET"]),
    Route("/settings", save_settings, methods=["POST"]),
    Route("/api/v1/settings", api_settings, methods=["GET", "PATCH"]),
]
