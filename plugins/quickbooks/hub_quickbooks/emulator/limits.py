"""QuickBooks' per-company request limits, changeable at run time."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import asdict, dataclass, fields
from typing import Any

#: Keys of ``LimitSettings`` that hold a count; 0 or None turns that limit off.
LIMIT_FIELDS = (
    "realm_per_minute",
    "app_per_second",
    "app_concurrent",
    "batch_app_per_minute",
    "batch_realm_per_minute",
)


@dataclass
class LimitSettings:
    """The limits of Intuit's "limits and throttles" page, plus an added latency."""

    enabled: bool = True
    realm_per_minute: int | None = 500
    app_per_second: int | None = 10
    app_concurrent: int | None = 10
    batch_app_per_minute: int | None = 40
    batch_realm_per_minute: int | None = 120
    #: QuickBooks answers 429 in XML even to JSON clients; True sends the JSON Fault.
    json_body: bool = False
    #: Milliseconds every Accounting API request waits before it is answered.
    latency_ms: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        """JSON form (``body`` is "xml" or "json")."""
        data = asdict(self)
        data["body"] = "json" if data.pop("json_body") else "xml"
        return data

    def update(self, changes: dict[str, Any]) -> None:
        """Apply a control request; raises ValueError naming a bad field."""
        known = {f.name for f in fields(self)} | {"body"}
        for key, value in changes.items():
            if key not in known or key == "json_body":
                raise ValueError(f"unknown limit {key!r}")
            if key == "enabled":
                if not isinstance(value, bool):
                    raise ValueError("enabled must be true or false")
                self.enabled = value
            elif key == "body":
                if value not in ("xml", "json"):
                    raise ValueError('body must be "xml" or "json"')
                self.json_body = value == "json"
            elif key == "latency_ms":
                self.latency_ms = _non_negative(key, value)
            else:
                number = None if value is None else int(_non_negative(key, value))
                setattr(self, key, number or None)


def _non_negative(key: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise ValueError(f"{key} must be a non-negative number or null")
    return float(value)


class Throttle:
    """Sliding-window counters and in-flight counts per company and per app."""

    def __init__(self, settings: LimitSettings, monotonic: Callable[[], float]) -> None:
        self.settings = settings
        self.monotonic = monotonic
        self.windows: dict[tuple[str, ...], deque[float]] = {}
        self.in_flight: dict[tuple[str, str], int] = {}
        self.realm_in_flight: dict[str, int] = {}
        self.peak_concurrency: dict[str, int] = {}

    def acquire(self, realm_id: str, client_id: str, batch: bool) -> bool:
        """Admit one request (True) or refuse it as throttled (False)."""
        settings = self.settings
        key = (realm_id, client_id)
        if settings.enabled:
            concurrent = settings.app_concurrent
            if concurrent and self.in_flight.get(key, 0) >= concurrent:
                return False
            now = self.monotonic()
            checks: list[tuple[tuple[str, ...], int | None, float]] = [
                (("realm", realm_id), settings.realm_per_minute, 60.0),
                (("app", realm_id, client_id), settings.app_per_second, 1.0),
            ]
            if batch:
                checks.append(
                    (("batch-app", realm_id, client_id), settings.batch_app_per_minute, 60.0)
                )
                checks.append((("batch", realm_id), settings.batch_realm_per_minute, 60.0))
            admitted: list[deque[float]] = []
            for window_key, limit, span in checks:
                if not limit:
                    continue
                window = self.windows.setdefault(window_key, deque())
                while window and window[0] <= now - span:
                    window.popleft()
                if len(window) >= limit:
                    return False
                admitted.append(window)
            for window in admitted:
                window.append(now)
        self.in_flight[key] = self.in_flight.get(key, 0) + 1
        in_realm = self.realm_in_flight.get(realm_id, 0) + 1
        self.realm_in_flight[realm_id] = in_realm
        if in_realm > self.peak_concurrency.get(realm_id, 0):
            self.peak_concurrency[realm_id] = in_realm
        return True

    def release(self, realm_id: str, client_id: str) -> None:
        """A request admitted by ``acquire`` has been answered."""
        key = (realm_id, client_id)
        self.in_flight[key] = max(0, self.in_flight.get(key, 0) - 1)
        self.realm_in_flight[realm_id] = max(0, self.realm_in_flight.get(realm_id, 0) - 1)

    def clear(self) -> None:
        """Forget all counts (after a reset)."""
        self.windows.clear()
        self.peak_concurrency.clear()
