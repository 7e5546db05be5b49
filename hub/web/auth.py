"""Logging in and out."""

from __future__ import annotations

from urllib.parse import urlsplit

from sqlmodel import Session
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from hub.accounts import authenticate
from hub.models import User
from hub.web.common import checked_form, current_viewer, flash, hub_state, redirect, render


def _safe_next(target: str | None) -> str:
    # Only same-site paths: an open redirect after login is a phishing aid.
    if not target:
        return "/integrations"
    parts = urlsplit(target)
    if (
        parts.scheme
        or parts.netloc
        or not target.startswith("/")
        or target.startswith("//")
        or "\\" in target
        or any(ord(c) < 32 for c in target)
    ):
        return "/integrations"
    return target


async def login_page(request: Request) -> Response:
    """The login form."""
    if await current_viewer(request) is not None:
        return redirect(_safe_next(request.query_params.get("next")))
    return render(request, "login.html", {"next": request.query_params.get("next", "")})


async def login(request: Request) -> Response:
    """Check the credentials; start a fresh session on success."""
    form = await checked_form(request)
    email = str(form.get("email") or "")
    password = str(form.get("password") or "")
    target = _safe_next(str(form.get("next") or ""))
    state = hub_state(request)
    user = await state.db.run(lambda session: authenticate(session, email, password))
    if user is None:
        return render(
            request,
            "login.html",
            {
                "error": "That email and password do not match an account.",
                "email": email,
                "next": target,
            },
            status_code=400,
        )
    # A new session on login: nothing set before it (a planted session id) survives.
    request.session.clear()
    request.session["user_id"] = user.id
    request.session["epoch"] = user.session_epoch
    return redirect(target)


async def logout(request: Request) -> Response:
    """End the session, and every other copy of it."""
    await checked_form(request)
    user_id = request.session.get("user_id")
    if isinstance(user_id, int):

        def bump(session: Session) -> None:
            user = session.get(User, user_id)
            if user is not None:
                user.session_epoch += 1
                session.add(user)

        await hub_state(request).db.run(bump)
    request.session.clear()
    flash(request, "You are logged out.")
    return redirect("/login")


routes = [
    Route("/login", login_page, methods=["GET"]),
    Route("/login", login, methods=["POST"]),
    Route("/logout", logout, methods=["POST"]),
]
