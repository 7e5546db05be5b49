"""Running a parsed query over QuickBooks JSON objects: filter, order and page."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable
from decimal import Decimal, InvalidOperation
from typing import Any

from .query import Condition, Literal, Path, Query
from .values import looks_like_datetime, parse_datetime


def resolve(obj: dict[str, Any], path: Path) -> Any:
    """The value at a dotted path, keys matched case-insensitively; refs give their value."""
    value: Any = obj
    for segment in path:
        if not isinstance(value, dict):
            return None
        if segment in value:
            value = value[segment]
            continue
        lowered = segment.lower()
        for key, item in value.items():
            if key.lower() == lowered:
                value = item
                break
        else:
            return None
    if isinstance(value, dict) and "value" in value:
        return value["value"]
    return value


def _number(value: Any) -> Decimal | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | Decimal):
        return Decimal(value)
    if isinstance(value, float):
        return Decimal(str(value))
    if isinstance(value, str):
        try:
            number = Decimal(value.strip())
        except InvalidOperation:
            return None
        return number if number.is_finite() else None
    return None


def _comparable(field: Any, literal: Literal, numeric: bool) -> tuple[Any, Any] | None:
    """Field and literal brought to one comparable type, or None when they cannot be.

    ``numeric``: the property holds Ids (``Id``, ``CustomerRef``), compared as numbers.
    """
    if field is None or isinstance(field, dict | list):
        return None
    if isinstance(field, bool):
        if isinstance(literal, bool):
            return field, literal
        if isinstance(literal, str) and literal.lower() in ("true", "false"):
            return field, literal.lower() == "true"
        return None
    if isinstance(field, int | float | Decimal):
        number = _number(literal)
        return None if number is None else (_number(field), number)
    text = str(field)
    if isinstance(literal, str) and looks_like_datetime(text):
        left, right = parse_datetime(text), parse_datetime(literal)
        if left is not None and right is not None:
            return left, right
    if numeric and text.isdigit():
        right_number = _number(literal)
        if right_number is not None:
            return Decimal(text), right_number
    if isinstance(literal, bool):
        return text.lower(), str(literal).lower()
    return text.casefold(), str(literal).casefold()


@functools.lru_cache(maxsize=256)
def _like_pattern(pattern: str) -> re.Pattern[str]:
    regex = ".*".join(re.escape(part) for part in pattern.casefold().split("%"))
    return re.compile(regex, re.DOTALL)


def _like(field: Any, pattern: str) -> bool:
    if field is None or isinstance(field, dict | list | bool):
        return False
    return _like_pattern(pattern).fullmatch(str(field).casefold()) is not None


def _holds(pair: tuple[Any, Any], op: str) -> bool:
    left, right = pair
    if op == "=":
        return bool(left == right)
    if op == "<":
        return bool(left < right)
    if op == ">":
        return bool(left > right)
    if op == "<=":
        return bool(left <= right)
    return bool(left >= right)


def matches(obj: dict[str, Any], condition: Condition) -> bool:
    """Whether one object satisfies one condition."""
    field = resolve(obj, condition.path)
    if condition.op == "LIKE":
        return _like(field, str(condition.values[0]))
    numeric = condition.path[-1].lower().endswith(("id", "ref"))
    if condition.op == "IN":
        return any(
            pair is not None and _holds(pair, "=")
            for pair in (_comparable(field, value, numeric) for value in condition.values)
        )
    pair = _comparable(field, condition.values[0], numeric)
    return pair is not None and _holds(pair, condition.op)


def _sort_value(value: Any) -> tuple[Any, ...]:
    if value is None or isinstance(value, dict | list):
        return (0,)
    if isinstance(value, bool):
        return (1, int(value))
    if isinstance(value, int | float | Decimal):
        return (2, _number(value))
    text = str(value)
    if text.isdigit():
        return (2, Decimal(text))
    if looks_like_datetime(text):
        moment = parse_datetime(text)
        if moment is not None:
            return (3, moment)
    return (4, text.casefold())


def _id_key(obj: dict[str, Any]) -> tuple[Any, ...]:
    return _sort_value(obj.get("Id"))


def _path_key(path: Path) -> Callable[[dict[str, Any]], tuple[Any, ...]]:
    def key(obj: dict[str, Any]) -> tuple[Any, ...]:
        return _sort_value(resolve(obj, path))

    return key


def run(
    query: Query,
    objects: Iterable[dict[str, Any]],
    visible: Callable[[dict[str, Any]], bool] | None = None,
) -> tuple[int, list[dict[str, Any]]]:
    """Filter, order and page ``objects``: (number matching, the page)."""
    rows = [
        obj
        for obj in objects
        if (visible is None or visible(obj)) and all(matches(obj, c) for c in query.where)
    ]
    if query.count:
        return len(rows), []
    rows.sort(key=_id_key)
    for path, descending in reversed(query.order):
        rows.sort(key=_path_key(path), reverse=descending)
    page = rows[query.start - 1 : query.start - 1 + query.limit]
    return len(rows), page


def names_active(query: Query) -> bool:
    """Whether the WHERE clause filters on ``Active`` (so inactive rows may show)."""
    return any(len(c.path) == 1 and c.path[0].lower() == "active" for c in query.where)
