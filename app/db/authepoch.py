"""The cache epoch: a value that changes after every commit that may change what the API caches.

A process may keep what it read of a key or session token (app/services/keys.py `AuthCache`) or of
a workflow and its version (app/db/repo/start_rows.py `WorkflowCache`) only while the epoch it read
before that read is still the current one. Whatever changes the tables those reads read (`api_keys`,
`sessions` (the session tokens), `tenants`: a key revoked, a session revoked, a tenant disabled, its
quotas changed, a tenant deleted; `workflows`, `workflow_versions`: a workflow created, updated,
disabled by its owner or its circuit breaker, a version published, a workflow deleted) marks its
ORM session;
once that session's commit has returned, the epoch moves on. Moving it after the commit, not
before, is what makes the rule hold across processes: a read that still saw the old row ran before
the commit, so before the move, so under the old epoch, and whatever it cached is dropped at the
next request's check. One epoch serves both caches: changes are rare beside requests, and a move
costs each cache one read again.

SQLite: every process that uses a database file is on the file's host, so the epoch is a file
beside it (`relay.db-auth`) holding a random value, replaced whole on each move; reading it costs
one open and read per request (8 µs here). An in-memory database lives in one process: a counter. PostgreSQL: no epoch
(the API processes may be on other hosts), so nothing is cached there (docs/decisions.md,
"The credentials' cache").
"""

from __future__ import annotations

import itertools
import os
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, Generic, TypeVar

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import ORMExecuteState, Session, UOWTransaction

from app.db.tables import ApiKey, SessionToken, Tenant, Workflow, WorkflowVersion

CACHED_ROWS = (ApiKey, SessionToken, Tenant, Workflow, WorkflowVersion)
CACHED_TABLES = frozenset(row.__tablename__ for row in CACHED_ROWS)
K = TypeVar("K")
V = TypeVar("V")
_CHANGED, _STAGED = "relay.cached_rows_changed", "relay.cache_epoch_staged"


class FileEpoch:
    """The epoch of an SQLite database file: the random value in a file beside it."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def read(self) -> Any:
        # its content, a random value: a stat() would be cheaper (3 µs against 8 here), but an inode
        # freed by one move can come back with the next, within one tick of the file system's clock
        try:
            descriptor = os.open(self.path, os.O_RDONLY)
        except FileNotFoundError:
            return None
        except OSError:  # unreadable: a value equal to no other, so nothing is kept
            return object()
        try:
            return os.read(descriptor, 64)
        finally:
            os.close(descriptor)

    def stage(self) -> Path:
        """The next value, written beside the current one (before the commit: if the disk refuses
        it, the commit fails instead of the move)."""
        staged = self.path.with_name(f"{self.path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}")
        staged.write_text(uuid.uuid4().hex)
        return staged

    def move(self, staged: Path | None = None) -> None:
        os.replace(staged or self.stage(), self.path)  # atomic: a reader reads the old value or the new one, whole


class LocalEpoch:
    """The epoch of an in-memory database: one process, so a counter."""

    _counter = itertools.count(1)

    def __init__(self) -> None:
        self.value = 0

    def read(self) -> Any:
        return self.value

    def stage(self) -> None:
        return None

    def move(self, staged: None = None) -> None:
        self.value = next(self._counter)


Epoch = FileEpoch | LocalEpoch
_IN_MEMORY = LocalEpoch()


def epoch_for(url: str) -> Epoch | None:
    """The epoch of the database at `url`; None where there is none (PostgreSQL; an SQLite `file:`
    URI, whose path is not read here: nothing is cached for it)."""
    parsed = make_url(url)
    if not parsed.drivername.startswith("sqlite"):
        return None
    database = parsed.database
    if not database or database == ":memory:":
        return _IN_MEMORY
    if database.startswith("file:"):
        return _IN_MEMORY if "mode=memory" in str(parsed) or database.startswith("file::memory:") else None
    path = Path(database).resolve()
    return FileEpoch(path.with_name(path.name + "-auth"))


def _mark(session: Session) -> None:
    session.info[_CHANGED] = True


def _mark_changed_rows(session: Session) -> None:
    # a revoke sets revoked_at on the loaded row; a tenant's update sets disabled or quotas; a
    # workflow's update sets enabled, active_version, max_triggers_per_day…; a new workflow may
    # match an event whose (empty) list of workflows is kept. Other new rows change nothing
    # cached (what was not found is not kept): a new key or session token moves nothing.
    if any(isinstance(row, CACHED_ROWS) for row in (*session.dirty, *session.deleted)) \
            or any(isinstance(row, Workflow) for row in session.new):
        _mark(session)


@event.listens_for(Session, "before_flush")
def _changes_by_unit_of_work(session: Session, _flush: UOWTransaction, _instances: Any) -> None:
    _mark_changed_rows(session)


@event.listens_for(Session, "do_orm_execute")
def _changes_by_statement(state: ORMExecuteState) -> None:
    # DELETE / UPDATE statements: a session revoked, a tenant and all it owns deleted, a workflow
    # disabled by its circuit breaker; INSERT statements into `workflows` (as new rows above)
    table = getattr(state.statement, "table", None)
    if table is None:
        return
    if ((state.is_update or state.is_delete) and table.name in CACHED_TABLES) \
            or (state.is_insert and table.name == Workflow.__tablename__):
        _mark(state.session)


def _epoch_of(session: Session) -> Epoch | None:
    return epoch_for(str(session.get_bind().engine.url))


@event.listens_for(Session, "before_commit")
def _stage_before_commit(session: Session) -> None:
    # before the commit's own flush: the rows it is about to write count (a savepoint's release fires
    # these events too: only the outermost commit moves the epoch)
    _mark_changed_rows(session)
    if session.info.get(_CHANGED) and not session.in_nested_transaction():
        epoch = _epoch_of(session)
        session.info[_STAGED] = (epoch, epoch.stage() if epoch is not None else None)


@event.listens_for(Session, "after_commit")
def _move_after_commit(session: Session) -> None:
    if session.in_nested_transaction() or not session.info.pop(_CHANGED, False):
        return
    epoch, staged = session.info.pop(_STAGED, None) or (_epoch_of(session), None)
    if epoch is not None:
        epoch.move(staged)


@event.listens_for(Session, "after_rollback")
def _forget_on_rollback(session: Session) -> None:
    if session.in_nested_transaction():  # a savepoint rolled back: what the transaction changed before it stays
        return
    session.info.pop(_CHANGED, None)
    _, staged = session.info.pop(_STAGED, (None, None))
    if isinstance(staged, Path):
        staged.unlink(missing_ok=True)


class EpochCache(Generic[K, V]):
    """Values read from the database, each kept while the epoch read before its read stands (see
    above), for `ttl` seconds at most (a hand edit of the database moves no epoch: it is seen
    after that), `max_entries` at most (the oldest goes). Without an epoch (PostgreSQL) nothing is
    kept.

    Use: `await cache.read(key, load)`, or step by step: `epoch = cache.current()` before the read
    (it empties the cache if the epoch moved), then `cache.get(key)`, and after a read
    `cache.keep(key, value, epoch)`, which keeps it only if the epoch did not move meanwhile (a read
    that raced a change is not kept). What the rule leans on:
    the read sees the database as it is after the epoch was read, which holds for a read outside
    any transaction (SQLite's driver begins one only before a write); a read later in a
    transaction that had read before could see an older snapshot and must not be kept."""

    def __init__(self, epoch: Epoch | None, *, ttl: float = 60.0, max_entries: int = 10_000) -> None:
        self.epoch, self.ttl, self.max_entries = epoch, ttl, max_entries
        self._seen: object = None
        self._entries: dict[K, tuple[V, float]] = {}

    def current(self) -> Any:
        assert self.epoch is not None, "no epoch: nothing is kept (check cache.epoch first)"
        epoch = self.epoch.read()
        if epoch != self._seen:
            self._entries.clear()
            self._seen = epoch
        return epoch

    def get(self, key: K) -> V | None:
        hit = self._entries.get(key)
        return hit[0] if hit is not None and hit[1] > time.monotonic() else None

    def keep(self, key: K, value: V, epoch: Any) -> None:
        assert self.epoch is not None
        if self.epoch.read() != epoch or epoch != self._seen:
            return
        if len(self._entries) >= self.max_entries:
            del self._entries[next(iter(self._entries))]  # the oldest
        self._entries[key] = (value, time.monotonic() + self.ttl)

    async def read(self, key: K, load: Callable[[], Awaitable[V | None]],
                   worth_keeping: Callable[[V], bool] = lambda value: True) -> V | None:
        """The value kept under `key`, or `load()`'s, kept if it is not None and `worth_keeping`."""
        if self.epoch is None:
            return await load()
        epoch = self.current()
        found = self.get(key)
        if found is None:
            found = await load()
            if found is not None and worth_keeping(found):
                self.keep(key, found, epoch)
        return found
