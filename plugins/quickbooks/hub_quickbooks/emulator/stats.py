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
    """Requests by path and status, throttling, token grants and injected faults."""

    def __init__(self) -> None:
        self.requests: Counter[tuple[str, str, int]] = Counter()
        self.throttled: Counter[str] = Counter()
        self.token_grants: Counter[str] = Counter()
        self.injected: Counter[str] = Counter()

    def record(self, method: str, path: str, status: int) -> None:
        """Count one answered request."""
        self.requests[(method, path_template(path), status)] += 1

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
        }

    def clear(self) -> None:
        """Start counting again."""
        self.requests.clear()
        self.throttled.clear()
        self.token_grants.clear()
        self.injected.clear()
