"""Values on QuickBooks' wire: timestamps, money, dates, and reading client JSON safely."""

from __future__ import annotations

import datetime as dt
import functools
import json
import math
import re
import zoneinfo
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from . import faults

#: QuickBooks stamps times in its data centre's local time (the samples show -07:00).
QBO_ZONE = zoneinfo.ZoneInfo("America/Los_Angeles")
JSON_TYPE = "application/json;charset=UTF-8"
CENT = Decimal("0.01")
#: Numbers at or beyond this are refused (QuickBooks stores amounts in 15 digits).
LARGEST = Decimal("1e15")
ZERO = Decimal("0")

JsonObject = dict[str, Any]

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}")
# node-quickbooks leaves '+' unencoded in query strings, so "+10:00" arrives as " 10:00".
_SPACE_OFFSET = re.compile(r"(?<=\d) (\d{2}:?\d{2})$")


def envelope_time(moment: dt.datetime) -> str:
    """The ``time`` at the end of a response: local offset, milliseconds."""
    return moment.astimezone(QBO_ZONE).isoformat(timespec="milliseconds")


def meta_time(moment: dt.datetime) -> str:
    """A ``MetaData`` timestamp: local offset, whole seconds."""
    return moment.astimezone(QBO_ZONE).isoformat(timespec="seconds")


def to_seconds(moment: dt.datetime) -> dt.datetime:
    """``moment`` in UTC without its fraction of a second, as MetaData keeps it."""
    return moment.astimezone(dt.UTC).replace(microsecond=0)


@functools.lru_cache(maxsize=4096)
def parse_datetime(text: str) -> dt.datetime | None:
    """An ISO date or date-time as aware UTC (naive values are taken as UTC), or None."""
    text = _SPACE_OFFSET.sub(r"+\1", text.strip())
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        if _DATE.match(text):
            moment = dt.datetime.combine(dt.date.fromisoformat(text), dt.time())
        elif _DATETIME.match(text):
            moment = dt.datetime.fromisoformat(text)
        else:
            return None
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(dt.UTC)


def looks_like_datetime(text: str) -> bool:
    """True for ``YYYY-MM-DDThh:mm...`` strings (MetaData times and the like)."""
    return bool(_DATETIME.match(text))


def dump(payload: JsonObject) -> bytes:
    """Compact JSON bytes, key order kept, ASCII-safe."""
    return json.dumps(payload, separators=(",", ":"), allow_nan=False).encode("ascii")


def copy_json(value: Any) -> Any:
    """A deep copy of a JSON value (dicts, lists and scalars only)."""
    if isinstance(value, dict):
        return {key: copy_json(item) for key, item in value.items()}
    if isinstance(value, list):
        return [copy_json(item) for item in value]
    return value


def copy_object(obj: JsonObject) -> JsonObject:
    """A deep copy of a JSON object."""
    return {key: copy_json(item) for key, item in obj.items()}


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def load_body(body: bytes) -> Any:
    """A request body as JSON (floats as Decimal), or the Fault QuickBooks answers."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as err:
        raise faults.not_utf8() from err
    try:
        return json.loads(text, parse_float=Decimal, parse_constant=_reject_constant)
    except (ValueError, RecursionError) as err:
        raise faults.invalid_property(f"Unreadable JSON ({_first_line(err)})") from err


def _first_line(err: BaseException) -> str:
    return str(err).splitlines()[0][:200] if str(err) else type(err).__name__


def clean(value: Any) -> Any:
    """A client value with "not provided" markers removed, or None if nothing is left.

    Clients such as python-quickbooks send every attribute, unset ones as ``""``, ``[]``
    or references like ``{"name": "", "type": "", "value": "1"}``; QuickBooks reads all
    of these as absent.
    """
    if value is None or value == "":
        return None
    if isinstance(value, dict):
        kept = {}
        for key, item in value.items():
            item = clean(item)
            if item is not None:
                kept[str(key)] = item
        return kept or None
    if isinstance(value, list):
        items = [item for item in (clean(item) for item in value) if item is not None]
        return items or None
    return value


def plain(value: Any) -> Any:
    """A cleaned client value made JSON-serialisable (Decimal to float)."""
    if isinstance(value, Decimal):
        number = float(value)
        if not math.isfinite(number):
            raise faults.invalid_property(str(value))
        return number
    if isinstance(value, dict):
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [plain(item) for item in value]
    return value


def round_cents(value: Decimal) -> Decimal:
    """A Decimal rounded to cents, half up."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def money(value: Decimal) -> float:
    """A Decimal amount as QuickBooks writes it (a JSON number with cents)."""
    return float(value.quantize(CENT, rounding=ROUND_HALF_UP))


def decimal_of(value: Any, element: str) -> Decimal:
    """A client number as Decimal; 2010 for anything that is not a finite number."""
    if isinstance(value, bool):
        raise faults.invalid_property(element, element)
    if isinstance(value, int | Decimal):
        number = Decimal(value)
    elif isinstance(value, float):
        number = Decimal(str(value))
    elif isinstance(value, str):
        try:
            number = Decimal(value.strip())
        except InvalidOperation as err:
            raise faults.invalid_property(element, element) from err
    else:
        raise faults.invalid_property(element, element)
    if not number.is_finite() or abs(number) >= LARGEST:
        raise faults.invalid_property(element, element)
    return number


def stored_decimal(value: Any) -> Decimal:
    """A number already stored by the books as Decimal (0 when absent)."""
    if value is None or isinstance(value, bool):
        return ZERO
    if isinstance(value, float):
        return Decimal(str(value))
    if isinstance(value, int | Decimal):
        return Decimal(value)
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return ZERO


def text_of(data: JsonObject, key: str, *, maximum: int | None = None) -> str | None:
    """A string field (stripped), None when absent; 2010/2050 when unusable."""
    value = data.get(key)
    if value is None:
        return None
    if isinstance(value, bool | dict | list):
        raise faults.invalid_property(key, key)
    text = str(value).strip() if not isinstance(value, Decimal) else str(value)
    if maximum is not None and len(text) > maximum:
        raise faults.string_length(key, maximum, len(text))
    return text or None


def bool_of(data: JsonObject, key: str, default: bool) -> bool:
    """A boolean field; accepts true/false strings too."""
    value = data.get(key)
    if value is None:
        return default
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise faults.invalid_property(key, key)


def object_of(data: JsonObject, key: str) -> JsonObject | None:
    """A nested object field, None when absent; 2010 when not an object."""
    value = data.get(key)
    if value is None:
        return None
    if not isinstance(value, dict):
        raise faults.invalid_property(key, key)
    return value


def list_of(data: JsonObject, key: str) -> list[Any]:
    """A list field ([] when absent); 2010 when not a list."""
    value = data.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise faults.invalid_property(key, key)
    return value


def date_of(data: JsonObject, key: str) -> dt.date | None:
    """A ``YYYY-MM-DD`` field, None when absent; 2010 when not a date.

    A date-time is taken too, keeping its date part as written.
    """
    value = data.get(key)
    if value is None:
        return None
    if isinstance(value, str):
        text = value.strip()
        if _DATE.match(text[:10]) and (len(text) == 10 or parse_datetime(text) is not None):
            try:
                return dt.date.fromisoformat(text[:10])
            except ValueError:
                pass
    raise faults.invalid_property(key, key)


def ref_id(data: JsonObject, key: str) -> str | None:
    """The ``value`` of a reference field (``{"value": "1"}``), None when absent."""
    ref = data.get(key)
    if ref is None:
        return None
    if isinstance(ref, str | int) and not isinstance(ref, bool):
        return str(ref)  # a bare Id, as some clients send
    if not isinstance(ref, dict):
        raise faults.invalid_property(key, key)
    value = ref.get("value")
    if value is None:
        return None
    if isinstance(value, bool | dict | list):
        raise faults.invalid_property(f"{key}.value", key)
    text = str(value).strip()
    return text or None


def sync_token_of(data: JsonObject) -> str | None:
    """The SyncToken sent (string or number), normalised to QuickBooks' string form."""
    value = data.get("SyncToken")
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | Decimal):
        raise faults.invalid_property("SyncToken", "SyncToken")
    text = str(value).strip()
    if isinstance(value, Decimal) and value == value.to_integral_value():
        text = str(int(value))
    return text
