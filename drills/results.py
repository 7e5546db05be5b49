"""A drill's result, the checks it records, and waiting for a state to be reached."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import httpx
import sqlalchemy as sa

T = TypeVar("T")


class DrillFailure(Exception):
    """The drill could not reach the state it waited for."""


# --- results -------------------------------------------------------------------------------


@dataclass
class DrillResult:
    """What one drill did and found; saved as JSON and rendered into RELIABILITY.md."""

    name: str
    title: str
    done: str = ""
    command: str = ""
    records: int = 0
    lost: int | None = None
    duplicated: int | None = None
    recovery_seconds: float | None = None
    recovery_note: str = ""
    checks: list[tuple[bool, str]] = field(default_factory=list)
    figures: dict[str, Any] = field(default_factory=dict)
    database: str = "SQLite"
    skipped: str | None = None
    error: str | None = None
    seconds: float = 0.0
    kept: str | None = None

    def check(self, ok: bool, description: str) -> bool:
        """Record one check of the end state; a false one fails the drill."""
        self.checks.append((bool(ok), description))
        print(f"  [{'ok' if ok else 'FAILED'}] {description}", flush=True)
        return bool(ok)

    @property
    def passed(self) -> bool:
        """Nothing lost, nothing duplicated, every check held, no error."""
        if self.skipped:
            return True
        return (
            self.error is None
            and self.lost == 0
            and self.duplicated == 0
            and all(ok for ok, _ in self.checks)
        )


Drill = Callable[["DrillResult", argparse.Namespace], None]


def drill_main(name: str, title: str, run: Drill) -> None:
    """Command-line entry of one drill module: run it, print, save JSON, exit 1 on failure."""
    parser = argparse.ArgumentParser(description=title)
    parser.add_argument("--quick", action="store_true", help="smaller, shorter drill")
    parser.add_argument("--postgres", action="store_true", help="run on a fresh PostgreSQL db")
    parser.add_argument("--json", type=Path, help="save the result here")
    parser.add_argument("--keep", action="store_true", help="keep the work directory and logs")
    args = parser.parse_args()
    if args.keep:
        os.environ["DRILL_KEEP"] = "1"
    flags = " --quick" if args.quick else ""
    flags += " --postgres" if args.postgres else ""
    result = DrillResult(
        name, title, command=f".venv/bin/python drills/run_all.py --only {name}{flags}"
    )
    started = time.monotonic()
    print(f"== drill {name}: {title}", flush=True)
    try:
        run(result, args)
    except Exception as err:
        result.error = f"{type(err).__name__}: {err}"
        traceback.print_exc()
    result.seconds = time.monotonic() - started
    verdict = "skipped" if result.skipped else ("passed" if result.passed else "FAILED")
    print(
        f"== drill {name} {verdict} in {result.seconds:.0f} s: records {result.records}, "
        f"lost {result.lost}, duplicated {result.duplicated}, "
        f"recovery {_seconds(result.recovery_seconds)}",
        flush=True,
    )
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(asdict(result), indent=2, default=str))
    sys.exit(0 if result.passed else 1)


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f} s"


# --- waiting -------------------------------------------------------------------------------


def wait_for(
    check: Callable[[], T], what: str, *, timeout: float, every: float = 0.5
) -> T:
    """Poll ``check`` until it returns something truthy; raise DrillFailure on timeout."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while True:
        try:
            value = check()
        except (httpx.TransportError, sa.exc.OperationalError) as err:
            last = f"{type(err).__name__}: {err}"  # a process or the database is restarting
        else:
            if value:
                return value
            last = value
        if time.monotonic() > deadline:
            raise DrillFailure(f"{what}: not reached within {timeout:.0f} s (last: {last!r:.300})")
        time.sleep(every)
