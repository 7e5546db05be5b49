"""QuickBooks Online for the Integration Hub: invoices out, payments back."""

from __future__ import annotations

__version__ = "0.1.0"
