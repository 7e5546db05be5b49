"""``POST /batch``: up to 30 operations and queries, each answered on its own."""

from __future__ import annotations

from typing import Any

from . import faults
from .catalog import BY_LOWER
from .feeds import run_query
from .values import JsonObject, plain
from .writes import Writer

#: Items QuickBooks takes in one batch request.
BATCH_LIMIT = 30
#: The longest ``requestid`` QuickBooks stores (12.4).
REQUEST_ID_LIMIT = 50
_BATCH_KEYS = frozenset({"bId", "operation", "optionsData"})


def run_batch(writer: Writer, data: Any, request_id: str | None) -> JsonObject:
    """The ``BatchItemResponse`` of one batch request (the whole request may be refused)."""
    if not isinstance(data, dict):
        raise faults.invalid_property("the request body must be a JSON object")
    items = data.get("BatchItemRequest")
    if items is None:
        raise faults.required("BatchItemRequest")
    if not isinstance(items, list):
        raise faults.invalid_property("BatchItemRequest", "BatchItemRequest")
    if len(items) > BATCH_LIMIT:
        raise faults.batch_too_large(len(items), BATCH_LIMIT)
    return {"BatchItemResponse": [_item(writer, item, request_id) for item in items]}


def _item(writer: Writer, item: Any, request_id: str | None) -> JsonObject:
    bid = item.get("bId") if isinstance(item, dict) else None
    try:
        bid = plain(bid)
    except faults.ApiError:
        bid = str(bid)
    try:
        if not isinstance(item, dict):
            raise faults.invalid_property("BatchItemRequest", "BatchItemRequest")
        if request_id is not None:
            # QuickBooks joins requestid and bId into one key (68 = 32 + 36 in the capture,
            # 12.4): an item whose key passes 50 characters fails alone.
            key = request_id + ("" if bid is None else str(bid))
            if len(key) > REQUEST_ID_LIMIT:
                raise faults.request_id_too_long(key)
        answer = _answer(writer, item)
    except faults.ApiError as err:
        fault: JsonObject = {"Fault": err.batch_fault()}
        if bid is not None:
            fault["bId"] = bid
        return fault
    return {"bId": bid, **answer} if bid is not None else answer


def _answer(writer: Writer, item: dict[str, Any]) -> JsonObject:
    if "Query" in item:
        sql = item["Query"]
        if not isinstance(sql, str):
            raise faults.invalid_property("Query", "Query")
        return {"QueryResponse": run_query(writer.company, sql)}
    keys = [key for key in item if key not in _BATCH_KEYS]
    entity = BY_LOWER.get(keys[0].lower()) if len(keys) == 1 else None
    if entity is None:
        raise faults.unsupported(f"batch item with {', '.join(keys) or 'no'} entity")
    operation = str(item.get("operation") or "").lower()
    options = str(item.get("optionsData") or "").lower()
    if operation == "update" and "void" in options:
        operation = "void"
    if operation not in ("create", "update", "delete", "void"):
        raise faults.unsupported(f"batch {operation or 'missing'} operation")
    return {entity: writer.dispatch(entity, operation, item[keys[0]])}
