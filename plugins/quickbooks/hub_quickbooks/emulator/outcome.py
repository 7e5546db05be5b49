"""What the books hand back: an HTTP answer, and the changes committed on the way."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass


@dataclass(frozen=True)
class ApiResponse:
    """One Accounting API answer, ready to send."""

    status: int
    body: bytes
    content_type: str


@dataclass(frozen=True)
class Change:
    """One committed change, for webhooks. Emitted after the write is done."""

    realm_id: str
    entity: str
    entity_id: str
    operation: str  # "Create" | "Update" | "Delete" | "Void" | "Merge" | "Emailed"
    last_updated: dt.datetime  # aware UTC; equals the entity's MetaData.LastUpdatedTime
