"""Run the emulator with uvicorn (the command line and ``hub demo`` use this)."""

from __future__ import annotations

from typing import Any

import uvicorn

from .app import create_app


def run(*, host: str = "127.0.0.1", port: int = 8765, log_level: str = "info",
        **options: Any) -> None:
    """Serve an emulator built with ``create_app(**options)`` until interrupted."""
    app = create_app(**options)
    uvicorn.run(app, host=host, port=port, log_level=log_level, lifespan="on")
