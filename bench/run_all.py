"""``make bench``: run every benchmark and write docs/BENCHMARKS.md.

Each benchmark saves its figures as JSON (``--json``); this script runs them one
after another (never in parallel: they would share the machine's two cores) and
renders one document with the machine, the command behind each figure, the
median of its runs and what it was compared with in the same run.

    .venv/bin/python bench/run_all.py [--only webhooks,sync] [--quick]
"""

from __future__ import annotations

import argparse
import ast
import datetime as dt
import json
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import PYTHON, ROOT, machine

RESULTS = ROOT / "bench" / "results"
DOC = ROOT / "docs" / "BENCHMARKS.md"

#: (name, script, arguments, quick arguments, title)
BENCHMARKS = [
    (
        "emulator",
        "bench_emulator.py",
        ["--seconds", "10"],
        ["--seconds", "3"],
        "The QuickBooks emulator's own speed",
    ),
    (
        "webhooks",
        "bench_webhooks.py",
        ["--seconds", "10", "--runs", "3"],
        ["--seconds", "3", "--runs", "2"],
        "Webhook ingress",
    ),
    ("sync", "bench_sync.py", [], ["--quick"], "Outbound sync to QuickBooks"),
    ("latency", "bench_latency.py", [], ["--quick"], "From a payment in QuickBooks to the portal"),
    ("growth", "bench_growth.py", [], ["--quick"], "Cost growth with batch size (SQLite)"),
    (
        "growth-postgres",
        "bench_growth.py",
        ["--postgres", "--runs", "2"],
        ["--quick", "--postgres"],
        "Cost growth with batch size (PostgreSQL)",
    ),
    ("scaleout", "bench_scaleout.py", [], ["--quick"], "Scale-out on PostgreSQL"),
]


def run(selected: set[str] | None, quick: bool) -> list[tuple[str, str, float]]:
    """Run the selected benchmarks; return (name, outcome, seconds) for each."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    outcomes = []
    for name, script, args, quick_args, _title in BENCHMARKS:
        if selected and name not in selected:
            continue
        if not (ROOT / "bench" / script).exists():
            outcomes.append((name, "missing", 0.0))
            continue
        started = time.monotonic()
        command = [
            PYTHON,
            str(ROOT / "bench" / script),
            *(quick_args if quick else args),
            "--json",
            str(RESULTS / f"{name}.json"),
        ]
        print(f"== {name}: {' '.join(command[1:])}", flush=True)
        result = subprocess.run(command, cwd=ROOT)
        outcome = "ok" if result.returncode == 0 else f"failed (exit {result.returncode})"
        outcomes.append((name, outcome, time.monotonic() - started))
    return outcomes


def render() -> str:
    """docs/BENCHMARKS.md from the saved figures."""
    lines = [
        "# Benchmarks",
        "",
        "Measured by `make bench` (`.venv/bin/python bench/run_all.py`), which runs every",
        "script in `bench/` one after another and rewrites this file. Every figure is the",
        "median of the runs listed, and is compared with a reference measured in the same",
        "run on the same machine. Nothing here is asserted by the test suite.",
        "",
        f"Machine: {machine()}.  ",
        f"Written: {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC.",
        "",
    ]
    for name, script, _args, _quick, title in BENCHMARKS:
        path = RESULTS / f"{name}.json"
        lines += [f"## {title}", "", *about(script)]
        if not path.exists():
            lines += ["Not measured in this run.", ""]
            continue
        figures = json.loads(path.read_text())
        commands = sorted({f["command"] for f in figures if f.get("command")})
        for command in commands:
            lines += [f"Command: `{command}`", ""]
        lines += [
            "| figure | median | runs | compared with (same run) | goal | met |",
            "|---|---|---|---|---|---|",
        ]
        for f in figures:
            runs = ", ".join(f"{r:.4g}" for r in f.get("runs", []))
            met = "" if f.get("met") is None else ("yes" if f["met"] else "**no**")
            lines.append(
                f"| {f['name']} | {f['value']:.4g} {f['unit']} | {runs} | "
                f"{f.get('reference', '')} | {f.get('goal', '')} | {met} |"
            )
        notes = [f"- {f['name']}: {f['notes']}" for f in figures if f.get("notes")]
        if notes:
            lines += ["", *notes]
        lines.append("")
    return "\n".join(lines)


def about(script: str) -> list[str]:
    """What a benchmark measures: its docstring, without the title line and "Run:"."""
    doc = ast.get_docstring(ast.parse((ROOT / "bench" / script).read_text())) or ""
    body = doc.split("\n\n", 1)[1] if "\n\n" in doc else ""
    kept = [part for part in body.split("\n\n") if not part.startswith("Run:")]
    return [*"\n\n".join(kept).splitlines(), ""] if kept else []


def main() -> None:
    """Run, then write the document."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--only", help="comma-separated benchmark names")
    parser.add_argument("--quick", action="store_true", help="smaller, faster runs")
    parser.add_argument("--render-only", action="store_true")
    args = parser.parse_args()
    outcomes = (
        []
        if args.render_only
        else run(set(args.only.split(",")) if args.only else None, args.quick)
    )
    DOC.write_text(render())
    for name, outcome, seconds in outcomes:
        print(f"{name}: {outcome} ({seconds:.0f} s)")
    print(f"wrote {DOC.relative_to(ROOT)}")
    if any(outcome != "ok" for _, outcome, _ in outcomes):
        sys.exit(1)


if __name__ == "__main__":
    main()
