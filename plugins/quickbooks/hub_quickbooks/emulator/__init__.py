"""A local QuickBooks Online: OAuth server, Accounting API v3 and webhooks.

``create_app()`` returns the ASGI app; ``hub emulator quickbooks`` and ``hub demo`` run it.
"""

from __future__ import annotations

from .app import create_app
from .settings import EmulatorSettings

__all__ = ["EmulatorSettings", "create_app"]
