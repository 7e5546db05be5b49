"""Engine, sessions and column types that behave the same on SQLite and PostgreSQL."""

from __future__ import annotations

import contextlib
import datetime as dt
import pathlib
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Dialect, Engine, make_url
from sqlalchemy.orm import sessionmaker
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool

T = TypeVar("T")


def utcnow() -> dt.datetime:
    """The current time, timezone-aware, in UTC."""
    return dt.datetime.now(dt.UTC)


class UTCDateTime(sa.types.TypeDecorator[dt.datetime]):
    """Aware UTC datetimes in, aware UTC datetimes out, on every database."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(dt.UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)  # type: ignore[no-any-return]
        return value.astimezone(dt.UTC)  # type: ignore[no-any-return]


class Money(sa.types.TypeDecorator[Decimal]):
    """Exact decimals: NUMERIC on PostgreSQL, text on SQLite (which has no decimal type)."""

    impl = sa.Numeric(18, 4)
    cache_ok = True

    def __init__(self, scale: int = 2) -> None:
        super().__init__()
        self.scale = scale
        self.quantum = Decimal(1).scaleb(-scale)

    def __repr__(self) -> str:  # how Alembic writes the type into migrations
        return f"{type(self).__name__}({self.scale})"

    def load_dialect_impl(self, dialect: Dialect) -> sa.types.TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(sa.String(40))
        return dialect.type_descriptor(sa.Numeric(18, self.scale, asdecimal=True))

    def process_bind_param(self, value: Decimal | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        value = Decimal(value).quantize(self.quantum)
        return str(value) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        return Decimal(str(value)).quantize(self.quantum)


def is_sqlite(url: str) -> bool:
    """Whether a database URL points at SQLite."""
    return make_url(url).get_backend_name() == "sqlite"


def create_db_engine(url: str, *, pool_size: int = 10) -> Engine:
    """Create the engine: WAL, foreign keys and immediate transactions on SQLite."""
    if is_sqlite(url):
        database = make_url(url).database
        if database and database != ":memory:":
            pathlib.Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": 30},
            pool_size=pool_size,
            max_overflow=20,
        )
        _configure_sqlite(engine)
        return engine
    return sa.create_engine(
        url, pool_size=pool_size, max_overflow=20, pool_pre_ping=True, pool_recycle=1800
    )


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy emit BEGIN itself (below) instead of pysqlite's implicit one.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: sa.Connection) -> None:
        # A deferred transaction that later writes fails at once with SQLITE_BUSY when
        # another process wrote meanwhile; IMMEDIATE takes the write lock up front and
        # waits (busy_timeout) instead. Read-only sessions ask for a deferred BEGIN.
        if connection.get_execution_options().get("sqlite_read_only"):
            connection.exec_driver_sql("BEGIN")
        else:
            connection.exec_driver_sql("BEGIN IMMEDIATE")


class Database:
    """The engine and its sessions; one per process."""

    def __init__(self, url: str, *, pool_size: int = 10) -> None:
        self.url = url
        self.engine = create_db_engine(url, pool_size=pool_size)
        self.is_sqlite = is_sqlite(url)
        self._sessions = sessionmaker(self.engine, class_=Session, expire_on_commit=False)
        readers = self.engine.execution_options(sqlite_read_only=True)
        self._read_sessions = sessionmaker(readers, class_=Session, expire_on_commit=False)
        # SQLite has one writer. Threads of this process take turns here instead of in
        # SQLite's busy handler, whose sleeps grow to 100 ms and ruin tail latency;
        # other processes still wait through busy_timeout.
        self._write_lock: contextlib.AbstractContextManager[Any] = (
            threading.RLock() if self.is_sqlite else contextlib.nullcontext()
        )

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A read-write session: committed on success, rolled back on error."""
        with self._write_lock, self._sessions() as session:
            try:
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                raise

    @contextmanager
    def read_session(self) -> Iterator[Session]:
        """A session for reading only (never takes SQLite's write lock)."""
        # Closing (not rolling back) ends the transaction without expiring the objects
        # read, so callers can use them after the session is gone.
        with self._read_sessions() as session:
            yield session

    async def run(self, fn: Callable[[Session], T]) -> T:
        """Run ``fn(session)`` in a read-write transaction, in the thread pool."""

        def work() -> T:
            with self.session() as session:
                return fn(session)

        return await run_in_threadpool(work)

    async def read(self, fn: Callable[[Session], T]) -> T:
        """Run ``fn(session)`` in a read-only transaction, in the thread pool."""

        def work() -> T:
            with self.read_session() as session:
                return fn(session)

        return await run_in_threadpool(work)

    def for_update(self, statement: Any) -> Any:
        """Add a row lock where the database has one (PostgreSQL); SQLite's write lock
        is already held by the IMMEDIATE transaction."""
        return statement if self.is_sqlite else statement.with_for_update()

    def dispose(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()
