"""Example Ledger integration for the Integration Hub."""

from __future__ import annotations

__version__ = "0.1.0"
