"""``make drills``: run the fault drills and write docs/RELIABILITY.md.

Each drill is its own script (``drills/drill_*.py``) run in a process group of its
own, one after another, under a time limit: a drill that hangs is killed with
everything it started and recorded as failed. Results are kept as JSON under
``var/drills/`` so that ``--only`` re-runs one drill and the document still shows
the others' latest results, each with the time it ran.

    .venv/bin/python drills/run_all.py [--only worker_kill,revoked] [--quick] [--postgres]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))

from common import PYTHON, ROOT, machine

RESULTS = ROOT / "var" / "drills"
DOC = ROOT / "docs" / "RELIABILITY.md"

#: (name, script, title, time limit in seconds: quick, full)
DRILLS = [
    ("worker_kill", "drill_worker_kill.py", "SIGKILL of the worker mid-batch", 240, 420),
    ("web_kill", "drill_web_kill.py", "SIGKILL of the web process while webhooks arrive",
     240, 420),
    ("provider_faults", "drill_provider_faults.py",
     "QuickBooks failing 20% of requests for a minute", 300, 480),
    ("throttling", "drill_throttling.py", "Throttling storm over several companies", 420, 600),
    ("revoked", "drill_revoked.py", "Access revoked at QuickBooks mid-batch, then reconnected",
     240, 420),
    ("database_restart", "drill_database_restart.py", "PostgreSQL restarted under load",
     300, 420),
    ("duplicate_webhooks", "drill_duplicate_webhooks.py",
     "Duplicate and reordered webhook storms", 240, 420),
    ("bad_webhooks", "drill_bad_webhooks.py",
     "1,000 malformed or unsigned deliveries mixed with good ones", 240, 420),
]


def run_one(name: str, script: str, title: str, limit: int, args: argparse.Namespace) -> bool:
    """Run one drill under its time limit; True when it passed (or was skipped)."""
    out = RESULTS / f"{name}.json"
    out.unlink(missing_ok=True)
    command = [PYTHON, str(ROOT / "drills" / script), "--json", str(out)]
    command += ["--quick"] if args.quick else []
    command += ["--postgres"] if args.postgres else []
    print(f"\n== {name}: {' '.join(command[1:])}", flush=True)
    started = time.monotonic()
    # A session of its own, so a hung drill is killed with every process it started.
    proc = subprocess.Popen(command, cwd=ROOT, start_new_session=True)  # noqa: S603
    try:
        code = proc.wait(timeout=limit)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        code = None
    seconds = time.monotonic() - started
    result: dict[str, Any]
    if out.exists():
        result = json.loads(out.read_text())
    else:
        flags = (" --quick" if args.quick else "") + (" --postgres" if args.postgres else "")
        reason = (
            f"hung: killed after {limit} s" if code is None else f"crashed (exit {code})"
        )
        result = {
            "name": name, "title": title, "error": reason, "checks": [], "figures": {},
            "command": f".venv/bin/python drills/run_all.py --only {name}{flags}",
            "seconds": seconds,
        }
    result["passed"] = code == 0
    result["mode"] = _mode(args, result.get("database"))
    result["ran_at"] = f"{dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC"
    out.write_text(json.dumps(result, indent=2))
    return code == 0


def _mode(args: argparse.Namespace, database: str | None) -> str:
    size = "quick" if args.quick else "full"
    return f"{size}, hub on {database or ('PostgreSQL' if args.postgres else 'SQLite')}"


def _seconds(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f} s"


def _count(value: int | None) -> str:
    return "—" if value is None else str(value)


def _verdict(result: dict[str, Any]) -> str:
    if result.get("skipped"):
        return "skipped"
    return "pass" if result.get("passed") else "**FAIL**"


def render(results: dict[str, dict[str, Any]]) -> str:
    """docs/RELIABILITY.md from the saved results."""
    lines = [
        "# Reliability drills",
        "",
        "Written by `make drills` (`.venv/bin/python drills/run_all.py`), which runs each",
        "drill in `drills/` against real processes — `hub serve`, `hub worker` and the",
        "QuickBooks emulator (`hub emulator quickbooks`) — breaks something on purpose, and",
        "then checks the end state against what QuickBooks holds (read through an app of the",
        "drill's own) and against the hub's database. A drill passes only when nothing was",
        "lost, nothing was duplicated in QuickBooks, and every check listed held. Drills use",
        "a 5 s job lease (`HUB_JOB_LEASE_SECONDS`) and a 2 s QuickBooks timeout",
        "(`QUICKBOOKS_TIMEOUT_SECONDS`) to stay short.",
        "",
        f"Machine: {machine()}.  ",
        f"Written: {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC.",
        "",
        "| drill | result | records | lost | duplicated | time to recover | run |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, _script, title, _quick, _full in DRILLS:
        result = results.get(name)
        if result is None:
            lines.append(f"| {title} | not run | | | | | |")
            continue
        lines.append(
            f"| [{title}](#{_anchor(title)}) | {_verdict(result)} | "
            f"{_count(result.get('records'))} | {_count(result.get('lost'))} | "
            f"{_count(result.get('duplicated'))} | {_seconds(result.get('recovery_seconds'))} "
            f"| {result.get('ran_at', '')}, {result.get('mode', '')} |"
        )
    lines.append("")
    for name, _script, title, _quick, _full in DRILLS:
        lines += [f"## {title}", ""]
        result = results.get(name)
        if result is None:
            lines += ["Not run yet.", ""]
            continue
        lines += _section(result)
    return "\n".join(lines)


def _anchor(title: str) -> str:
    kept = "".join(c for c in title.lower() if c.isalnum() or c in " -")
    return kept.replace(" ", "-")


def _section(result: dict[str, Any]) -> list[str]:
    lines = [f"**Result: {_verdict(result)}** ({result.get('ran_at', '')}, "
             f"{result.get('mode', '')}, {result.get('seconds', 0):.0f} s)", ""]
    if result.get("skipped"):
        return [*lines, f"Skipped: {result['skipped']}.", ""]
    if result.get("done"):
        lines += [f"What was done: {result['done']}", ""]
    lines += [f"Command: `{result.get('command', '')}`", ""]
    recovery = _seconds(result.get("recovery_seconds"))
    if result.get("recovery_note"):
        recovery += f" ({result['recovery_note']})"
    lines += [
        f"- Records involved: {_count(result.get('records'))}",
        f"- Lost: {_count(result.get('lost'))}",
        f"- Duplicated in QuickBooks: {_count(result.get('duplicated'))}",
        f"- Time to recover: {recovery}",
    ]
    for key, value in result.get("figures", {}).items():
        lines.append(f"- {key[:1].upper() + key[1:]}: {_figure(value)}")
    lines.append("")
    if result.get("error"):
        lines += [f"**The drill did not complete:** {result['error']}", ""]
    if result.get("checks"):
        lines += ["Checks:", ""]
        for ok, description in result["checks"]:
            lines.append(f"- {'ok' if ok else '**FAILED**'}: {description}")
        lines.append("")
    if result.get("kept") and not result.get("passed"):
        lines += [f"Process logs were kept in `{result['kept']}`.", ""]
    return lines


def _figure(value: Any) -> str:
    if isinstance(value, dict):
        return ", ".join(f"{k}: {v}" for k, v in value.items()) or "none"
    return str(value)


def main() -> None:
    """Run the selected drills, then write the document; exit 1 if any failed."""
    parser = argparse.ArgumentParser(description="Run the fault drills.")
    parser.add_argument("--only", help="comma-separated drill names")
    parser.add_argument("--quick", action="store_true", help="smaller, shorter drills")
    parser.add_argument("--postgres", action="store_true",
                        help="run every drill's hub on a fresh PostgreSQL database")
    parser.add_argument("--render-only", action="store_true")
    args = parser.parse_args()
    known = {name for name, *_ in DRILLS}
    selected = set(args.only.split(",")) if args.only else known
    if selected - known:
        parser.error(f"unknown drill(s): {', '.join(sorted(selected - known))}; "
                     f"known: {', '.join(name for name, *_ in DRILLS)}")
    RESULTS.mkdir(parents=True, exist_ok=True)
    outcomes: list[tuple[str, bool, float]] = []
    if not args.render_only:
        for name, script, title, quick_limit, full_limit in DRILLS:
            if name in selected:
                started = time.monotonic()
                ok = run_one(name, script, title, quick_limit if args.quick else full_limit,
                             args)
                outcomes.append((name, ok, time.monotonic() - started))
    results = {
        path.stem: json.loads(path.read_text()) for path in sorted(RESULTS.glob("*.json"))
    }
    DOC.write_text(render(results))
    print("\nSummary:")
    for name, ok, seconds in outcomes:
        result = results.get(name, {})
        verdict = "skipped" if result.get("skipped") else ("passed" if ok else "FAILED")
        print(
            f"  {name:20} {verdict:8} {seconds:5.0f} s  records {result.get('records')}, "
            f"lost {result.get('lost')}, duplicated {result.get('duplicated')}, "
            f"recovery {_seconds(result.get('recovery_seconds'))}"
        )
    print(f"wrote {DOC.relative_to(ROOT)}")
    if not all(ok for _, ok, _ in outcomes):
        sys.exit(1)


if __name__ == "__main__":
    main()
