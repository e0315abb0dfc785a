"""Engines and sessions: one code path for SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event, exc, text
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlmodel.ext.asyncio.session import AsyncSession

from app.db import authepoch, onehop  # noqa: F401  (authepoch: its listeners move the credentials' epoch)


def async_url(url: str) -> str:
    if url.startswith("sqlite:"):
        return "sqlite+aiosqlite:" + url[len("sqlite:"):]
    if url.startswith(("postgresql://", "postgres://")):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def sync_url(url: str) -> str:
    if url.startswith("sqlite+aiosqlite:"):
        return "sqlite:" + url[len("sqlite+aiosqlite:"):]
    if url.startswith(("postgresql://", "postgres://")):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def make_engine(url: str) -> AsyncEngine:
    """hide_parameters: a database error's text never carries a bound value (a hook token, a key hash)."""
    url = async_url(url)
    if url.startswith("sqlite"):
        engine = create_async_engine(url, connect_args={"timeout": 30}, hide_parameters=True)

        @event.listens_for(engine.sync_engine, "connect")
        def _pragmas(dbapi_connection: Any, _record: Any) -> None:
            onehop.install(dbapi_connection)  # a statement is one trip to aiosqlite's thread, not four
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.close()

        return engine
    return create_async_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20, hide_parameters=True)


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, class_=AsyncSession, expire_on_commit=False)


async def ping(engine: AsyncEngine) -> None:
    """Raises when the database does not answer (readiness)."""
    async with engine.connect() as connection:
        await connection.execute(text("SELECT 1"))


def unreachable(error: BaseException) -> bool:
    """The database is away (restarting, crashed, refusing connections, pool exhausted), as opposed
    to a bug: the API answers 503 `database_unavailable` for this and the client retries."""
    if isinstance(error, exc.DBAPIError):
        return error.connection_invalidated or isinstance(error, (exc.OperationalError, exc.InterfaceError))
    return isinstance(error, (exc.TimeoutError, ConnectionError))
