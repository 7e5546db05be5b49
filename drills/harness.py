"""The hub and the QuickBooks emulator as real processes, for one drill.

A drill builds a :class:`Stack` (emulator process, fresh database, migrated schema,
organizations with users and API keys), starts ``hub serve`` and ``hub worker``
processes it can SIGKILL and restart, and connects QuickBooks through the same OAuth
redirects a browser follows. The end state is checked against the emulator through
an auditor app of the drill's own (``emulator.Auditor``), which reads the company as
an accountant's second app would, and against the hub's database.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from emulator import Auditor, Emulator
from portal import PASSWORD, Org
from results import DrillFailure, DrillResult

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

from common import HUB, free_port, hub_env, wait_http  # noqa: E402

POSTGRES_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


@dataclass(frozen=True)
class Tenant:
    """An organization connected to a QuickBooks company of its own."""

    org: Org
    realm: str
    connection_id: int


# --- processes -----------------------------------------------------------------------------


class Proc:
    """One hub or emulator process, logging to a file, that a drill can kill."""

    def __init__(self, name: str, args: list[str], env: dict[str, str], log_dir: Path) -> None:
        self.name = name
        self.args = args
        self.env = env
        self.log = log_dir / f"{name}.log"
        self.popen: subprocess.Popen[bytes] | None = None

    def start(self, ready_url: str | None = None, timeout: float = 30.0) -> Proc:
        """Start (again); wait until ``ready_url`` answers."""
        with self.log.open("ab") as out:
            out.write(f"--- start {' '.join(self.args[1:])}\n".encode())
            out.flush()
            self.popen = subprocess.Popen(  # noqa: S603  (our own commands, no shell)
                self.args,
                env={**os.environ, **self.env},
                stdout=out,
                stderr=subprocess.STDOUT,
                cwd=ROOT,
            )
        if ready_url:
            try:
                wait_http(ready_url, timeout=timeout)
            except RuntimeError:
                self.stop()
                raise DrillFailure(f"{self.name} did not start:\n{self.tail()}") from None
        return self

    @property
    def alive(self) -> bool:
        """Whether the process runs."""
        return self.popen is not None and self.popen.poll() is None

    def kill(self) -> None:
        """SIGKILL: no shutdown code runs, as when a machine dies."""
        if self.popen is not None and self.popen.poll() is None:
            self.popen.send_signal(signal.SIGKILL)
            self.popen.wait()

    def stop(self) -> None:
        """SIGTERM, then SIGKILL after 10 s."""
        if self.popen is not None and self.popen.poll() is None:
            self.popen.terminate()
            try:
                self.popen.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()

    def tail(self, chars: int = 3000) -> str:
        """The end of the process's log."""
        try:
            return self.log.read_text(errors="replace")[-chars:]
        except OSError:
            return ""


def postgres_available() -> bool:
    """Whether a PostgreSQL server answers on 127.0.0.1:5432 as postgres."""
    try:
        engine = sa.create_engine(POSTGRES_ADMIN_URL, connect_args={"connect_timeout": 3})
        with engine.connect() as connection:
            connection.execute(sa.text("SELECT 1"))
        engine.dispose()
        return True
    except Exception:
        return False


class Stack:
    """Emulator, database and hub processes for one drill; everything stops on exit."""

    def __init__(
        self,
        name: str,
        result: DrillResult,
        *,
        postgres: bool = False,
        limits: bool = False,
        extra_env: dict[str, str] | None = None,
    ) -> None:
        self.name = name
        self.result = result
        self.postgres = postgres
        self.limits = limits
        self.extra_env = extra_env or {}
        self.workdir = Path(tempfile.mkdtemp(prefix=f"drill-{name}-"))
        self.hub_port = free_port()
        self.emulator_port = free_port()
        self.base_url = f"http://127.0.0.1:{self.hub_port}"
        self.client_id = "ABdrill" + secrets.token_hex(21)
        self.client_secret = secrets.token_hex(20)
        self.verifier = "drill-verifier-" + secrets.token_hex(8)
        self.database_name: str | None = None
        self.procs: list[Proc] = []
        self.orgs: list[Org] = []
        self._engine: sa.Engine | None = None

    # --- life cycle ----------------------------------------------------------------------

    def __enter__(self) -> Stack:
        try:
            self._setup()
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def _setup(self) -> None:
        if self.postgres:
            self.result.database = "PostgreSQL"
            self.database_name = f"drill_{self.name}_{secrets.token_hex(4)}"
            admin = sa.create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
            with admin.connect() as connection:
                connection.execute(sa.text(f'CREATE DATABASE "{self.database_name}"'))
            admin.dispose()
            url = f"postgresql+psycopg://postgres@127.0.0.1:5432/{self.database_name}"
        else:
            url = f"sqlite:///{self.workdir / 'hub.db'}"
        self.database_url = url
        self.env = hub_env(
            self.workdir,
            database_url=url,
            HUB_LOG_LEVEL="INFO",
            HUB_BASE_URL=self.base_url,
            HUB_JOB_LEASE_SECONDS="5",
            QUICKBOOKS_TIMEOUT_SECONDS="2",
            QUICKBOOKS_CLIENT_ID=self.client_id,
            QUICKBOOKS_CLIENT_SECRET=self.client_secret,
            QUICKBOOKS_WEBHOOK_VERIFIER_TOKEN=self.verifier,
            QUICKBOOKS_ENVIRONMENT=f"http://127.0.0.1:{self.emulator_port}",
            **self.extra_env,
        )
        # No --webhook-url here: the hub's app is registered with its own, so the
        # auditor app (no webhook URL) gets no notifications of its own.
        args = [
            HUB,
            "emulator",
            "quickbooks",
            "--port",
            str(self.emulator_port),
            "--auto-consent",
            "--verifier-token",
            self.verifier,
            "--aggregation-seconds",
            "0",
        ]
        if not self.limits:
            args.append("--no-limits")
        self.emulator_proc = self.proc("emulator", args)
        self.emulator_proc.start(f"http://127.0.0.1:{self.emulator_port}/_emulator/stats")
        self.emulator = Emulator(f"http://127.0.0.1:{self.emulator_port}")
        self.emulator.control(
            "POST",
            "apps",
            json={
                "client_id": self.client_id,
                "client_secret": self.client_secret,
                "redirect_uris": [f"{self.base_url}/integrations/quickbooks/callback"],
                "webhook_url": f"{self.base_url}/webhooks/quickbooks",
                "verifier_token": self.verifier,
                "name": "Coordinoter Integration Hub",
            },
        )
        self.auditor = Auditor(self.emulator)
        self.hub("migrate")

    def __exit__(self, exc_type: object, *exc: object) -> None:
        for proc in reversed(self.procs):
            proc.stop()
        for org in self.orgs:
            org.close()
        if self._engine is not None:
            self._engine.dispose()
        keep = bool(os.environ.get("DRILL_KEEP"))
        if self.database_name and not keep:
            with contextlib.suppress(Exception):
                admin = sa.create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
                with admin.connect() as connection:
                    connection.execute(
                        sa.text(f'DROP DATABASE IF EXISTS "{self.database_name}" WITH (FORCE)')
                    )
                admin.dispose()
        if exc_type is None and self.result.passed and not keep:
            shutil.rmtree(self.workdir, ignore_errors=True)
        else:  # kept for a look at the processes' logs
            self.result.kept = str(self.workdir)

    # --- processes -----------------------------------------------------------------------

    def proc(self, name: str, args: list[str]) -> Proc:
        """A process of this stack (not started)."""
        proc = Proc(name, args, self.env, self.workdir)
        self.procs.append(proc)
        return proc

    def hub(self, *args: str) -> str:
        """Run a ``hub`` command to completion; returns its standard output."""
        done = subprocess.run(  # noqa: S603  (our own command, no shell)
            [HUB, *args],
            env={**os.environ, **self.env},
            capture_output=True,
            text=True,
            cwd=ROOT,
            check=False,
        )
        if done.returncode != 0:
            raise DrillFailure(f"hub {' '.join(args)} failed: {done.stderr[-2000:]}")
        return done.stdout

    def serve(self, *, worker: bool = True, name: str = "web", port: int | None = None) -> Proc:
        """Start ``hub serve`` (with its in-process worker or not).

        On the stack's port by default: the one OAuth redirects and webhooks reach.
        Another ``port`` adds a web process that shares the same database.
        """
        port = port or self.hub_port
        args = [HUB, "serve", "--port", str(port)]
        if not worker:
            args.append("--no-worker")
        return self.proc(name, args).start(f"http://127.0.0.1:{port}/healthz")

    def worker(self, name: str = "worker", concurrency: int = 4) -> Proc:
        """Start a ``hub worker`` process; wait until it says it runs."""
        args = [HUB, "worker", "--concurrency", str(concurrency)]
        proc = self.proc(name, args).start()
        deadline = time.monotonic() + 30
        while "started (concurrency" not in proc.tail(100_000):
            if time.monotonic() > deadline or not proc.alive:
                raise DrillFailure(f"{name} did not start:\n{proc.tail()}")
            time.sleep(0.05)
        return proc

    def org(self, name: str) -> Org:
        """An organization with an admin user and an API key (the web must be up to use it)."""
        email = f"admin-{len(self.orgs)}@{name.lower().replace(' ', '-')}.test"
        self.hub(
            "users", "create", "--org", name, "--email", email, "--admin", "--password", PASSWORD
        )
        key = self.hub("api-keys", "create", "--org", name).split()[0]
        org = Org(name, email, key, self.base_url)
        self.orgs.append(org)
        return org

    def connect(self, org: Org, realm: str | None = None) -> int:
        """Log in and connect ``org`` to a company; returns the connection id."""
        org.login()
        answer = org.connect(realm)
        if answer.headers.get("location") != "/integrations":
            raise DrillFailure(f"connecting ended at {answer.headers.get('location')}")
        row = self.row(
            "SELECT c.id, c.status, c.last_error FROM connection c "
            "JOIN organization o ON o.id = c.organization_id WHERE o.name = :name",
            name=org.name,
        )
        if row is None or row[1] != "connected":
            raise DrillFailure(f"the connection is not live after connecting: {row}")
        return int(row[0])

    def tenants(self, count: int, label: str) -> list[Tenant]:
        """``count`` organizations, each connected to a fresh company of its own."""
        made = []
        for n in range(count):
            realm = self.emulator.add_company(f"{label} Company {n:02d}")
            org = self.org(f"{label} Org {n:02d}")
            made.append(Tenant(org, realm, self.connect(org, realm)))
        return made

    # --- the hub's database --------------------------------------------------------------

    @property
    def engine(self) -> sa.Engine:
        """An engine on the hub's database, for checks only."""
        if self._engine is None:
            self._engine = sa.create_engine(self.database_url, pool_pre_ping=True)
        return self._engine

    def rows(self, sql: str, **params: Any) -> list[Any]:
        """Rows of a read-only query on the hub's database."""
        with self.engine.connect() as connection:
            return list(connection.execute(sa.text(sql), params).all())

    def row(self, sql: str, **params: Any) -> Any:
        """The first row of a query, or None."""
        found = self.rows(sql, **params)
        return found[0] if found else None

    def scalar(self, sql: str, **params: Any) -> Any:
        """The single value of a query."""
        found = self.row(sql, **params)
        return None if found is None else found[0]

    def batch_finished_at(self, batch_id: int) -> dt.datetime:
        """When the hub recorded a batch's push finished (not when a poll noticed)."""
        value = self.scalar(
            "SELECT finished_at FROM batchsync WHERE batch_id = :b AND finished_at IS NOT NULL",
            b=batch_id,
        )
        if value is None:
            raise DrillFailure(f"batch {batch_id} has not finished")
        moment = value if isinstance(value, dt.datetime) else dt.datetime.fromisoformat(str(value))
        return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)

    def job_states(self, kind: str | None = None) -> dict[str, int]:
        """Jobs by state (of one kind, or all)."""
        where = "WHERE kind = :kind" if kind else ""
        return {
            state: int(count)
            for state, count in self.rows(
                f"SELECT state, count(*) FROM job {where} GROUP BY state",  # noqa: S608
                kind=kind,
            )
        }

    def logs_containing(self, text: str) -> int:
        """How many lines of the stack's process logs contain ``text``."""
        return sum(
            line.count(text)
            for log in self.workdir.glob("*.log")
            for line in log.read_text(errors="replace").splitlines()
        )
