"""Intuit's App Partner Program classes of Accounting API calls (QUICKBOOKS.md 12.5).

CorePlus calls ("data-out": reads, queries, company info, reports) are metered; Core
calls ("data-in": creating or updating) are not. How CDC, batches and send are classed is
unverified; the emulator's reading: CDC and every GET are CorePlus, a batch with any Query
item is CorePlus, other writes (void and send included) are Core.
"""

from __future__ import annotations

import json
from typing import Literal

MeterClass = Literal["coreplus", "core"]


def meter_class(method: str, subpath: str, body: bytes) -> MeterClass:
    """The class of one Accounting API call."""
    head = subpath.strip("/").split("/")[0].lower()
    if method.upper() == "GET" or head == "query":
        return "coreplus"
    if head == "batch" and _batch_queries(body):
        return "coreplus"
    return "core"


def _batch_queries(body: bytes) -> bool:
    try:
        data = json.loads(body)
    except (UnicodeDecodeError, ValueError):
        return False
    items = data.get("BatchItemRequest") if isinstance(data, dict) else None
    return isinstance(items, list) and any(
        isinstance(item, dict) and "Query" in item for item in items
    )
