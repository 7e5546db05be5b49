"""Helpers the emulator's route modules share: the running emulator, templates, forms."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.templating import Jinja2Templates

from .runtime import Emulator

templates = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))


def emulator_of(request: Request) -> Emulator:
    """The emulator instance serving this request."""
    emulator: Emulator = request.app.state.emulator
    return emulator


def base_url(request: Request) -> str:
    """The emulator's own origin as clients should see it."""
    configured = emulator_of(request).settings.public_url
    if configured:
        return configured.rstrip("/")
    return str(request.base_url).rstrip("/")


def parse_form(body: bytes) -> dict[str, str] | None:
    """An ``application/x-www-form-urlencoded`` body, or None when it is not one."""
    try:
        text = body.decode("utf-8")
        return dict(parse_qsl(text, keep_blank_values=True, strict_parsing=False))
    except (UnicodeDecodeError, ValueError):
        return None


def parse_json_object(body: bytes) -> dict[str, Any] | None:
    """A JSON object body ({} when empty), or None when it is not one."""
    if not body.strip():
        return {}
    try:
        value = json.loads(body)
    except (UnicodeDecodeError, ValueError):
        return None
    return value if isinstance(value, dict) else None
