"""Database plumbing: the ORM base, a UTC timestamp type, engines and transactions.

The edge (a request handler, a CLI command, a worker job) opens a transaction with
`Database.transaction()`; services only flush. On SQLite every write transaction starts
with BEGIN IMMEDIATE so that writers queue on the database lock instead of failing when
a reader upgrades; read-only transactions use a plain BEGIN.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import asyncpg
import orjson
from sqlalchemy import BigInteger, DateTime, Dialect, Integer, MetaData, event
from sqlalchemy.dialects.postgresql.asyncpg import dialect as asyncpg_dialect
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.sql.expression import ClauseElement
from sqlalchemy.types import TypeDecorator

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class UtcDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes on both databases (SQLite keeps naive UTC text)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


# SQLite's INTEGER PRIMARY KEY is its rowid; BIGINT would not autoincrement there.
BigIntPk = BigInteger().with_variant(Integer(), "sqlite")


def create_engine(
    url: str, *, pool_size: int = 10, max_overflow: int = 20, lock_timeout_ms: int = 5000
) -> AsyncEngine:
    """An async engine set up for PayGov on SQLite (WAL, FKs, queued writers) or PostgreSQL.

    `lock_timeout_ms` bounds every wait for a lock (a row, a unique key another
    transaction is inserting, SQLite's write lock): past it the statement fails
    instead of queueing for ever.
    """
    if url.startswith("sqlite"):
        engine = create_async_engine(url, connect_args={"timeout": lock_timeout_ms / 1000})
        _prepare_sqlite(engine, lock_timeout_ms)
        return engine
    # No pre-ping: it costs three round trips per checkout; a dropped connection fails its
    # transaction instead (503, retried by the caller) and recycling retires old ones.
    return create_async_engine(
        url,
        pool_size=pool_size,
        max_overflow=max_overflow,
        pool_recycle=1800,
        json_serializer=_json_dumps,
        connect_args={
            "server_settings": {
                "application_name": "paygov",
                "lock_timeout": str(int(lock_timeout_ms)),
            }
        },
    )


def _json_dumps(value: Any) -> str:
    return orjson.dumps(value).decode()


def _prepare_sqlite(engine: AsyncEngine, busy_timeout_ms: int) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we emit BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Connection) -> None:
        readonly = conn.get_execution_options().get("paygov_readonly", False)
        conn.exec_driver_sql("BEGIN" if readonly else "BEGIN IMMEDIATE")


class Database:
    """Engine and session factories; the unit of work for every edge."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self.dialect = engine.dialect.name
        self._writer = async_sessionmaker(engine, expire_on_commit=False, autoflush=False)
        self._single = (
            async_sessionmaker(
                engine.execution_options(isolation_level="AUTOCOMMIT"),
                expire_on_commit=False,
                autoflush=False,
            )
            if self.dialect == "postgresql"
            else self._writer
        )
        self._reader = async_sessionmaker(
            engine.execution_options(paygov_readonly=True),
            expire_on_commit=False,
            autoflush=False,
        )

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """A write transaction: committed when the block ends, rolled back on error."""
        async with self._writer() as session, session.begin():
            yield session

    @asynccontextmanager
    async def single_write(self) -> AsyncIterator[AsyncSession]:
        """For an edge whose only write is ONE statement (reads before it may see a moment
        older than the write). PostgreSQL runs it without BEGIN/COMMIT round trips: a
        single statement is atomic by itself. SQLite gets an ordinary write transaction,
        since its repositories may split that write into several statements."""
        async with self._single() as session, session.begin():
            yield session

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncSession]:
        """A read-only transaction (never takes SQLite's write lock)."""
        async with self._reader() as session, session.begin():
            yield session

    async def dispose(self) -> None:
        await self.engine.dispose()


def is_unique_violation(exc: BaseException) -> bool:
    return isinstance(exc, IntegrityError)


def is_lock_timeout(exc: BaseException) -> bool:
    """PostgreSQL's lock_timeout (55P03) or SQLite's 'database is locked'."""
    if not isinstance(exc, DBAPIError):
        return False
    orig = exc.orig
    sqlstate = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
    return sqlstate == "55P03" or "database is locked" in str(orig)


@dataclass(frozen=True)
class DriverStatement:
    """A statement compiled once for asyncpg: `$n` SQL and the names of its parameters."""

    sql: str
    names: tuple[str, ...]

    @classmethod
    def of(cls, statement: ClauseElement) -> DriverStatement:
        compiled = statement.compile(dialect=asyncpg_dialect())  # type: ignore[no-untyped-call]
        return cls(str(compiled), tuple(getattr(compiled, "positiontup", None) or ()))


async def driver_fetch(
    session: AsyncSession, statement: DriverStatement, params: Mapping[str, Any]
) -> list[Any]:
    """Run a prebuilt statement on the session's asyncpg connection, skipping SQLAlchemy's
    per-statement work (measured in docs/benchmarks.md); only the create path's two
    statements use it. Errors come back as SQLAlchemy's, so callers handle one kind."""
    connection = await session.connection()
    driver: Any = (await connection.get_raw_connection()).driver_connection
    args = [params[name] for name in statement.names]
    try:
        return list(await driver.fetch(statement.sql, *args))
    except asyncpg.IntegrityConstraintViolationError as error:
        raise IntegrityError(statement.sql, args, error) from error
    except (asyncpg.PostgresError, OSError) as error:
        raise OperationalError(statement.sql, args, error) from error
