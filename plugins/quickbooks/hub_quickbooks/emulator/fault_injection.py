"""Injected failures: a share of requests answered with an error, a hang or a drop."""

from __future__ import annotations

import itertools
import random
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

FaultKind = Literal["500", "503", "429", "timeout", "drop"]
FAULT_KINDS: tuple[FaultKind, ...] = ("500", "503", "429", "timeout", "drop")


@dataclass
class FaultRule:
    """Answer a share of matching requests with one kind of failure."""

    rule_id: int
    kind: FaultKind
    share: float
    path: re.Pattern[str] | None
    remaining: int | None
    until: float | None
    hang_seconds: float | None
    #: For 429s: send ``Retry-After`` with this many seconds (QuickBooks may not).
    retry_after: float | None = None
    injected: int = 0

    def to_dict(self, now: float) -> dict[str, Any]:
        """JSON form for the faults control."""
        return {
            "id": self.rule_id,
            "kind": self.kind,
            "share": self.share,
            "path": self.path.pattern if self.path else None,
            "remaining": self.remaining,
            "seconds_left": None if self.until is None else max(0.0, self.until - now),
            "hang_seconds": self.hang_seconds,
            "retry_after": self.retry_after,
            "injected": self.injected,
        }


class FaultInjector:
    """The active rules; the first that matches and fires decides a request's fate."""

    def __init__(self, monotonic: Callable[[], float]) -> None:
        self.monotonic = monotonic
        self.rules: list[FaultRule] = []
        self._ids = itertools.count(1)

    def add(self, spec: dict[str, Any]) -> FaultRule:
        """Add a rule from a control request; raises ValueError naming a bad field."""
        kind = next((k for k in FAULT_KINDS if k == spec.get("kind")), None)
        if kind is None:
            raise ValueError(f"kind must be one of {', '.join(FAULT_KINDS)}")
        share = spec.get("share", 1.0)
        if isinstance(share, bool) or not isinstance(share, int | float) or not 0 < share <= 1:
            raise ValueError("share must be a number in (0, 1]")
        pattern = spec.get("path")
        try:
            path = re.compile(pattern) if pattern else None
        except (re.error, TypeError) as err:
            raise ValueError(f"path is not a valid regular expression: {err}") from err
        count = _optional_number(spec, "count")
        duration = _optional_number(spec, "duration_seconds")
        hang = _optional_number(spec, "hang_seconds")
        retry_after = _optional_number(spec, "retry_after")
        rule = FaultRule(
            rule_id=next(self._ids),
            kind=kind,
            share=float(share),
            path=path,
            remaining=None if count is None else int(count),
            until=None if duration is None else self.monotonic() + duration,
            hang_seconds=hang,
            retry_after=retry_after,
        )
        self.rules.append(rule)
        return rule

    def pick(self, path: str) -> FaultRule | None:
        """The rule that fires for this request, if any (counts it as used)."""
        if not self.rules:
            return None
        now = self.monotonic()
        self.rules = [
            r
            for r in self.rules
            if (r.until is None or r.until > now) and (r.remaining is None or r.remaining > 0)
        ]
        for rule in self.rules:
            if rule.path is not None and not rule.path.search(path):
                continue
            if random.random() >= rule.share:
                continue
            rule.injected += 1
            if rule.remaining is not None:
                rule.remaining -= 1
            return rule
        return None

    def describe(self) -> list[dict[str, Any]]:
        """The active rules as JSON."""
        now = self.monotonic()
        return [rule.to_dict(now) for rule in self.rules]

    def clear(self) -> None:
        """Remove every rule."""
        self.rules.clear()


def _optional_number(spec: dict[str, Any], key: str) -> float | None:
    value = spec.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise ValueError(f"{key} must be a positive number")
    return float(value)
