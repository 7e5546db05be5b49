"""What every route module shares: the hub's state, sessions, CSRF, pages, errors."""

from __future__ import annotations

import hmac
import pathlib
import secrets
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import httpx
from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from hub.db import Database
from hub.models import Organization, User
from hub.plugins import PluginHost
from hub.settings import Settings
from hub.vault import Vault

if TYPE_CHECKING:
    from hub.services import Services

TEMPLATES = pathlib.Path(__file__).resolve().parent.parent / "templates"
HTTP_TIMEOUT = httpx.Timeout(30.0, connect=10.0)


@dataclass
class HubState:
    """Everything a request handler needs, built once by ``create_app``."""

    settings: Settings
    db: Database
    plugins: PluginHost
    vault: Vault
    services: Services
    templates: Environment = field(
        default_factory=lambda: Environment(
            loader=FileSystemLoader(TEMPLATES),
            autoescape=select_autoescape(default=True),
            trim_blocks=True,
            lstrip_blocks=True,
        )
    )


def hub_state(request: Request) -> HubState:
    """The hub's state for this request."""
    state: HubState = request.app.state.hub
    return state


# --- sessions -----------------------------------------------------------------------


def session_id(request: Request) -> str:
    """A random id for this browser session (OAuth states are bound to it)."""
    sid = request.session.get("sid")
    if not sid:
        sid = request.session["sid"] = secrets.token_urlsafe(24)
    return str(sid)


def csrf_token(request: Request) -> str:
    """This session's CSRF token, created on first use."""
    token = request.session.get("csrf")
    if not token:
        token = request.session["csrf"] = secrets.token_urlsafe(32)
    return str(token)


async def checked_form(request: Request) -> FormData:
    """The request's form, after checking its CSRF token (403 when wrong or missing)."""
    form = await request.form()
    sent = form.get("csrf_token")
    expected = request.session.get("csrf")
    if not isinstance(sent, str) or not expected or not hmac.compare_digest(sent, expected):
        raise HTTPException(
            403,
            "The form expired or did not come from this site. "
            "Go back, reload the page and try again.",
        )
    return form


def flash(request: Request, message: str, *, level: str = "info", **extra: str) -> None:
    """Show ``message`` once on the next page."""
    messages = list(request.session.get("flash", []))
    messages.append({"level": level, "message": message, **extra})
    request.session["flash"] = messages[-5:]


def pop_flashes(request: Request) -> list[dict[str, str]]:
    """Messages to show now (then forgotten)."""
    return list(request.session.pop("flash", []))


@dataclass(frozen=True)
class Viewer:
    """The logged-in user and their organization."""

    user: User
    organization: Organization

    @property
    def org_id(self) -> int:
        """The organization's id."""
        assert self.organization.id is not None
        return self.organization.id


async def current_viewer(request: Request) -> Viewer | None:
    """The logged-in user, or None."""
    user_id = request.session.get("user_id")
    if not isinstance(user_id, int):
        return None
    state = hub_state(request)

    def load(session: Any) -> Viewer | None:
        user = session.get(User, user_id)
        if user is None or user.session_epoch != request.session.get("epoch"):
            return None  # logged out since this cookie was issued
        org = session.get(Organization, user.organization_id)
        return Viewer(user, org) if org is not None else None

    viewer: Viewer | None = await state.db.read(load)
    return viewer


class LoginRequired(Exception):
    """Raised by a page that needs a logged-in user; answered with a redirect."""


async def require_viewer(request: Request, *, admin: bool = False) -> Viewer:
    """The logged-in user; redirect to login when absent, 403 when not an admin."""
    viewer = await current_viewer(request)
    if viewer is None:
        raise LoginRequired
    if admin and not viewer.user.is_admin:
        raise HTTPException(403, "Only an administrator of your organization can do this.")
    return viewer


def render(
    request: Request, name: str, context: dict[str, Any], *, status_code: int = 200
) -> HTMLResponse:
    """Render a page with the common context (viewer, flashes, CSRF token)."""
    state = hub_state(request)
    template = state.templates.get_template(name)
    html = template.render(
        request=request,
        csrf_token=csrf_token(request),
        flashes=pop_flashes(request),
        **context,
    )
    return HTMLResponse(html, status_code=status_code)


def wake_worker(request: Request) -> None:
    """Tell this process's job worker (if it runs one) that there is work now."""
    worker = getattr(request.app.state, "worker", None)
    if worker is not None:
        worker.wake()


def redirect(url: str) -> RedirectResponse:
    """A 303 See Other, the right answer to a form POST."""
    return RedirectResponse(url, status_code=303)


def api_error(
    status: int, code: str, message: str, details: Any = None, headers: dict[str, str] | None = None
) -> JSONResponse:
    """The JSON API's error shape."""
    return JSONResponse(
        {"error": {"code": code, "message": message, "details": details}},
        status_code=status,
        headers=headers,
    )


def int_param(request: Request, name: str) -> int:
    """A path parameter that must be a positive integer (404 otherwise)."""
    raw = str(request.path_params.get(name, ""))
    number = digits(raw)
    if number is None or number > MAX_ID:
        raise HTTPException(404, "Not found")
    return number


def digits(raw: str | None, *, most: int = 17) -> int | None:
    """``raw`` as a non-negative integer if it is only ASCII digits (and not too long).

    ``str.isdigit`` alone also accepts characters such as "²" that ``int`` refuses.
    """
    if raw is None or not raw.isascii() or not raw.isdigit() or len(raw) > most:
        return None
    return int(raw)


#: The largest id a table holds (32-bit integer keys).
MAX_ID = 2**31 - 1


def plain(status: int, text: str) -> Response:
    """A short plain-text answer."""
    return Response(text, status_code=status, media_type="text/plain; charset=utf-8")
