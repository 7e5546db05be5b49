"""Counters that tests and benchmarks read through ``GET /_emulator/stats``."""

from __future__ import annotations

from collections import Counter
from typing import Any


def path_template(path: str) -> str:
    """A request path with company and object ids replaced by placeholders."""
    parts = path.split("/")
    if len(parts) > 3 and parts[1] == "v3" and parts[2] == "company":
        parts[3] = "{realmId}"
    return "/".join("{id}" if part.isdigit() else part for part in parts)


class Stats:
    """Requests by path and status, throttling, grants, injected faults, metered calls."""

    def __init__(self) -> None:
        self.requests: Counter[tuple[str, str, int]] = Counter()
        self.throttled: Counter[str] = Counter()
        self.token_grants: Counter[str] = Counter()
        self.injected: Counter[str] = Counter()
        #: (realm id, client id, "coreplus" | "core") -> calls.
        self.metered: Counter[tuple[str, str, str]] = Counter()

    def record(self, method: str, path: str, status: int) -> None:
        """Count one answered request."""
        self.requests[(method, path_template(path), status)] += 1

    def meter(self, realm_id: str, client_id: str, meter_class: str) -> None:
        """Count one Accounting API call an app made to a company (``metering``)."""
        self.metered[(realm_id, client_id, meter_class)] += 1

    def metered_json(self) -> dict[str, Any]:
        """``{realm: {"coreplus": n, "core": n, "apps": {client_id: {...}}}}``."""
        out: dict[str, Any] = {}
        for (realm_id, client_id, meter_class), count in sorted(self.metered.items()):
            company = out.setdefault(realm_id, {"coreplus": 0, "core": 0, "apps": {}})
            company[meter_class] += count
            app = company["apps"].setdefault(client_id, {"coreplus": 0, "core": 0})
            app[meter_class] += count
        return out

    def requests_json(self) -> dict[str, dict[str, int]]:
        """``{"GET /v3/company/{realmId}/invoice/{id}": {"200": 3}}``."""
        out: dict[str, dict[str, int]] = {}
        for (method, path, status), count in sorted(self.requests.items()):
            out.setdefault(f"{method} {path}", {})[str(status)] = count
        return out

    def to_json(self) -> dict[str, Any]:
        """The counters kept here (the caller adds the rest)."""
        return {
            "requests": self.requests_json(),
            "requests_total": sum(self.requests.values()),
            "throttled": {
                "total": sum(self.throttled.values()),
                "by_company": dict(self.throttled),
            },
            "token_grants": dict(self.token_grants),
            "injected_faults": dict(self.injected),
            "metered": self.metered_json(),
        }

    def clear(self) -> None:
        """Start counting again."""
        self.requests.clear()
        self.throttled.clear()
        self.token_grants.clear()
        self.injected.clear()
        self.metered.clear()
