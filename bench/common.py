"""Shared pieces of the benchmarks: processes, load generation, figures and reports."""

from __future__ import annotations

import contextlib
import json
import os
import platform
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import httpx
from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
#: Milliseconds the QuickBooks emulator adds to every API request in benchmarks: what
#: an Australian client waits for Intuit's US-hosted API at the fast end (round trip
#: plus server time is 150-300 ms), the same value `hub demo` uses.
PROVIDER_LATENCY_MS = 150
HUB = str(Path(PYTHON).parent / "hub")


@dataclass
class Figure:
    """One measured figure, with what it is compared against."""

    name: str
    value: float
    unit: str
    runs: list[float] = field(default_factory=list)
    reference: str = ""
    goal: str = ""
    met: bool | None = None
    command: str = ""
    notes: str = ""


def median(values: Sequence[float]) -> float:
    """The median (0 for nothing)."""
    return statistics.median(values) if values else 0.0


def percentile(values: Sequence[float], pct: float) -> float:
    """The pct-th percentile by nearest rank."""
    if not values:
        return 0.0
    ordered = sorted(values)
    index = max(0, min(len(ordered) - 1, round(pct / 100 * len(ordered) + 0.5) - 1))
    return ordered[index]


def free_port() -> int:
    """A TCP port free on 127.0.0.1."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_http(url: str, timeout: float = 30.0) -> None:
    """Wait until ``url`` answers."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            httpx.get(url, timeout=1.0)
            return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not come up")


@contextlib.contextmanager
def process(
    args: list[str],
    *,
    env: dict[str, str] | None = None,
    url: str | None = None,
    cwd: Path | None = None,
) -> Iterator[subprocess.Popen[bytes]]:
    """Run a process for the duration of the block (terminated after)."""
    log = tempfile.NamedTemporaryFile(prefix="bench-", suffix=".log", delete=False)  # noqa: SIM115
    proc = subprocess.Popen(
        args,
        env={**os.environ, **(env or {})},
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=cwd or ROOT,
    )
    try:
        if url:
            try:
                wait_http(url)
            except RuntimeError:
                proc.kill()
                raise RuntimeError(
                    f"{' '.join(args)} failed to start:\n{Path(log.name).read_text()[-3000:]}"
                ) from None
        yield proc
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        log.close()


def hub_env(workdir: Path, *, database_url: str | None = None, **extra: str) -> dict[str, str]:
    """Environment for a hub process with fresh secrets and its own database."""
    return {
        "HUB_DATABASE_URL": database_url or f"sqlite:///{workdir / 'hub.db'}",
        "HUB_SECRET_KEY": secrets.token_urlsafe(32),
        "HUB_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
        "HUB_LOG_LEVEL": "WARNING",
        **extra,
    }


def rss_peak_kib(pid: int) -> int:
    """A process's peak resident memory (VmHWM) in KiB, from /proc."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        return 0
    return 0


def machine() -> str:
    """A one-line description of this machine."""
    cpu = "unknown CPU"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    mem = 0
    with contextlib.suppress(OSError):
        mem = int(Path("/proc/meminfo").read_text().split()[1]) // (1024 * 1024)
    return f"{os.cpu_count()} cores ({cpu}), {mem} GiB RAM, Python {platform.python_version()}"


def lua_string(value: str) -> str:
    """A Lua string literal."""
    return "[==[" + value + "]==]"


def ensure_wrk() -> str:
    """The wrk load generator (Debian package), installed when missing and possible."""
    found = shutil.which("wrk")
    if found:
        return found
    if os.geteuid() == 0 and shutil.which("apt-get"):
        subprocess.run(
            ["apt-get", "install", "-y", "-qq", "wrk"],
            check=True,
            capture_output=True,
            env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"},
        )
        found = shutil.which("wrk")
    if not found:
        raise RuntimeError("the benchmarks need wrk: sudo apt-get install wrk")
    return found


def wrk_load(
    url: str,
    requests: Sequence[tuple[bytes, dict[str, str]]],
    *,
    concurrency: int,
    seconds: float,
    threads: int = 1,
) -> dict[str, Any]:
    """POST the prepared requests in a loop with wrk; rate, latency percentiles, errors."""
    script = tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False)  # noqa: SIM115
    entries = []
    for body, headers in requests:
        header_table = ", ".join(
            f"[ {lua_string(k)} ] = {lua_string(v)}" for k, v in headers.items()
        )
        entries.append(f"{{{lua_string(body.decode())}, {{{header_table}}}}}")
    script.write(
        "local items = {" + ",\n".join(entries) + "}\n"
        "local i = 0\n"
        "request = function()\n"
        "  i = i % #items + 1\n"
        "  return wrk.format('POST', nil, items[i][2], items[i][1])\n"
        "end\n"
    )
    script.close()
    out = subprocess.run(
        [
            ensure_wrk(),
            f"-t{threads}",
            f"-c{concurrency}",
            f"-d{max(1, round(seconds))}s",
            "--latency",
            "-s",
            script.name,
            url,
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    result: dict[str, Any] = {"raw": out, "errors": 0}
    units = {"us": 0.001, "ms": 1.0, "s": 1000.0}
    for line in out.splitlines():
        parts = line.split()
        if line.startswith("Requests/sec:"):
            result["per_second"] = float(parts[1])
        elif len(parts) == 2 and parts[0] in ("50%", "99%"):
            number = parts[1].rstrip("usm")
            unit = parts[1][len(number) :]
            result[f"p{parts[0][:-1]}_ms"] = float(number) * units[unit]
        elif line.strip().startswith("Non-2xx or 3xx responses:"):
            result["errors"] += int(parts[-1])
        elif line.strip().startswith("Socket errors:"):
            result["errors"] += sum(int(p.strip(",")) for p in parts[3::2])
        elif "requests in" in line:
            result["sent"] = int(parts[0])
    return result


def write_json(path: Path, figures: list[Figure]) -> None:
    """Save figures for the report writer."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps([asdict(f) for f in figures], indent=2))


def print_figures(title: str, figures: list[Figure]) -> None:
    """Print figures as a Markdown table."""
    print(f"\n### {title}\n")
    print("| figure | median | runs | reference (same run) | goal | met |")
    print("|---|---|---|---|---|---|")
    for f in figures:
        runs = ", ".join(f"{r:.4g}" for r in f.runs)
        met = "" if f.met is None else ("yes" if f.met else "**no**")
        print(f"| {f.name} | {f.value:.4g} {f.unit} | {runs} | {f.reference} | {f.goal} | {met} |")
