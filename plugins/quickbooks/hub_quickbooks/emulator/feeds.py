"""Reading many objects at once: the query endpoint and change data capture."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from . import faults, matching, query
from .catalog import BY_LOWER, CDC_ENTITIES, PROPERTIES, SPECS
from .company import PARTY_ENTITIES, Company, name_key
from .values import JsonObject, parse_datetime

#: CDC looks back at most this far.
CDC_WINDOW = dt.timedelta(days=30)
#: Objects in one CDC answer, all entities together.
CDC_LIMIT = 1000


def run_query(company: Company, sql: str) -> JsonObject:
    """The ``QueryResponse`` of one query, or the 4000/4001 Fault for a bad one."""
    parsed = query.parse(sql)
    entity = BY_LOWER.get(parsed.entity.lower())
    if entity is None:
        # As QuickBooks words it for "Custmoer" (QBOAPI-VCR 400.yml, 12.4).
        raise faults.query_invalid(f"invalid context declaration: {parsed.entity}")
    known = PROPERTIES[entity]
    for path in parsed.paths():
        if path[0].lower() not in known:
            raise faults.query_error(
                f"QueryValidationError: property '{'.'.join(path)}' is not queryable"
            )
    visible = None
    if SPECS[entity].hides_inactive and not matching.names_active(parsed):
        # Inactive name-list objects show only when the query asks about Active.
        def visible(obj: dict[str, Any]) -> bool:
            return obj.get("Active") is not False

    candidates = _candidates(company, entity, parsed)
    objects = company.live(entity) if candidates is None else candidates
    total, rows = matching.run(parsed, objects, visible)
    if parsed.count:
        return {"totalCount": total}
    if not rows:
        return {}
    return {entity: rows, "startPosition": parsed.start, "maxResults": len(rows)}


def _candidates(
    company: Company, entity: str, parsed: query.Query
) -> list[JsonObject] | None:
    """Objects an indexed ``=``/``IN`` condition narrows the query to (None: scan all).

    Always a superset of the matches; the conditions still run on every candidate.
    """
    best: dict[str, JsonObject] | None = None
    for condition in parsed.where:
        if condition.op not in ("=", "IN") or len(condition.path) != 1:
            continue
        if any(isinstance(value, bool) for value in condition.values):
            continue
        prop = condition.path[0].lower()
        keys = [str(value).strip() for value in condition.values]
        found: dict[str, JsonObject] | None = None
        if prop == "id":
            found = _by_ids(company, entity, keys)
        elif prop == "docnumber" and entity == "Invoice":
            found = {}
            for key in keys:
                for object_id in company.doc_numbers.get(key.casefold(), ()):
                    found[object_id] = company.objects["Invoice"][object_id]
        elif prop == "displayname" and entity in PARTY_ENTITIES:
            found = {}
            for key in keys:
                holder = company.party_names.get(name_key(key))
                if holder is not None and holder[0] == entity:
                    found[holder[1]] = company.objects[entity][holder[1]]
        if found is not None and (best is None or len(found) < len(best)):
            best = found
    return None if best is None else list(best.values())


def _by_ids(company: Company, entity: str, keys: list[str]) -> dict[str, JsonObject]:
    table = company.objects.get(entity, {})
    found: dict[str, JsonObject] = {}
    for key in keys:
        if key in table:  # the US pseudo tax codes have Ids like "TAX"
            found[key] = table[key]
            continue
        try:
            number = Decimal(key)
        except InvalidOperation:
            continue
        if number.is_finite() and number == number.to_integral_value():
            obj = table.get(str(int(number)))
            if obj is not None:
                found[obj["Id"]] = obj
    return found


def _updated(obj: JsonObject) -> dt.datetime:
    moment = parse_datetime(str(obj.get("MetaData", {}).get("LastUpdatedTime", "")))
    return moment or dt.datetime.min.replace(tzinfo=dt.UTC)


def _id_order(object_id: str) -> tuple[int, str]:
    return (len(object_id), object_id)


def change_data_capture(
    company: Company, params: Mapping[str, str], now: dt.datetime
) -> list[JsonObject]:
    """The ``QueryResponse`` blocks of ``/cdc``: one per entity asked for, in order."""
    names = params.get("entities")
    if not names or not names.strip():
        raise faults.required("entities")
    since_text = params.get("changedSince")
    if not since_text or not since_text.strip():
        raise faults.required("changedSince")
    since = parse_datetime(since_text)
    if since is None:
        raise faults.invalid_property(f"changedSince={since_text}", "changedSince")
    if since < now - CDC_WINDOW:
        raise faults.unsupported(
            f"cdc with changedSince date {since_text} which is older than fixed days"
        )
    entities: list[str] = []
    for name in names.split(","):
        entity = BY_LOWER.get(name.strip().lower())
        if entity is None or entity not in CDC_ENTITIES:
            raise faults.unsupported(f"cdc for entity {name.strip()}")
        if entity not in entities:
            entities.append(entity)
    budget = CDC_LIMIT
    blocks: list[JsonObject] = []
    for entity in entities:
        live = [(obj, _updated(obj)) for obj in company.live(entity)]
        changed = sorted(
            ((obj, when) for obj, when in live if when >= since),
            key=lambda pair: (pair[1], _id_order(pair[0]["Id"])),
        )
        gone = []
        for object_id, stamp in company.tombstones.get(entity, {}).items():
            when = parse_datetime(stamp)
            if when is not None and when >= since:
                gone.append((when, object_id, stamp))
        gone.sort(key=lambda item: (item[0], _id_order(item[1])))
        rows: list[JsonObject] = [obj for obj, _ in changed]
        rows += [
            {
                "domain": "QBO",
                "status": "Deleted",
                "Id": object_id,
                "MetaData": {"LastUpdatedTime": stamp},
            }
            for _, object_id, stamp in gone
        ]
        rows = rows[:budget]
        budget -= len(rows)
        if rows:
            blocks.append({entity: rows, "startPosition": 1, "maxResults": len(rows)})
        else:
            blocks.append({})
    return blocks
