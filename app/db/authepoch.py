"""The credentials' epoch: a value that changes after every commit that may take a credential away.

A process may keep what it read of a key or session token (app/services/keys.py `AuthCache`) only
while the epoch it read before that lookup is still the current one. Whatever changes the tables a
lookup reads (`api_keys`, `session_tokens`, `tenants`: a key revoked, a session revoked, a tenant
disabled, its quotas changed, a tenant deleted) marks its ORM session; once that session's commit
has returned, the epoch moves on. Moving it after the commit, not before, is what makes the rule
hold across processes: a lookup that still saw the credential ran before the commit, so before the
move, so under the old epoch, and whatever it cached is dropped at the next request's check.

SQLite: every process that uses a database file is on the file's host, so the epoch is a file
beside it (`relay.db-auth`), replaced on each move (a new inode each time); reading it is one
stat() per request. An in-memory database lives in one process: a counter. PostgreSQL: no epoch
(the API processes may be on other hosts), so nothing is cached there (docs/decisions.md,
"The credentials' cache").
"""

from __future__ import annotations

import itertools
import os
import uuid
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import ORMExecuteState, Session, UOWTransaction

from app.db.tables import ApiKey, SessionToken, Tenant

CREDENTIAL_TABLES = frozenset({ApiKey.__tablename__, SessionToken.__tablename__, Tenant.__tablename__})
_CHANGED = "relay.credentials_changed"


class FileEpoch:
    """The epoch of an SQLite database file: the identity of a file beside it."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def read(self) -> Any:
        try:
            stat = os.stat(self.path)
        except FileNotFoundError:
            return None
        return stat.st_ino, stat.st_mtime_ns, stat.st_size

    def move(self) -> None:
        staged = self.path.with_name(f"{self.path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}")
        staged.write_text(uuid.uuid4().hex)
        os.replace(staged, self.path)  # atomic: a reader sees the old file or the new one


class LocalEpoch:
    """The epoch of an in-memory database: one process, so a counter."""

    _counter = itertools.count(1)

    def __init__(self) -> None:
        self.value = 0

    def read(self) -> Any:
        return self.value

    def move(self) -> None:
        self.value = next(self._counter)


Epoch = FileEpoch | LocalEpoch
_IN_MEMORY = LocalEpoch()


def epoch_for(url: str) -> Epoch | None:
    """The epoch of the database at `url`; None where there is none (PostgreSQL)."""
    parsed = make_url(url)
    if not parsed.drivername.startswith("sqlite"):
        return None
    database = parsed.database
    if not database or database == ":memory:" or database.startswith("file:"):
        return _IN_MEMORY
    path = Path(database).resolve()
    return FileEpoch(path.with_name(path.name + "-auth"))


def _mark(session: Session) -> None:
    session.info[_CHANGED] = True


@event.listens_for(Session, "before_flush")
def _changes_by_unit_of_work(session: Session, _flush: UOWTransaction, _instances: Any) -> None:
    # a revoke sets revoked_at on the loaded row; a tenant's update sets disabled or quotas
    if any(isinstance(row, (ApiKey, SessionToken, Tenant)) for row in (*session.dirty, *session.deleted)):
        _mark(session)


@event.listens_for(Session, "do_orm_execute")
def _changes_by_statement(state: ORMExecuteState) -> None:
    # DELETE / UPDATE statements: a session revoked, a tenant and all it owns deleted
    if (state.is_update or state.is_delete) and getattr(state.statement, "table", None) is not None \
            and state.statement.table.name in CREDENTIAL_TABLES:  # type: ignore[attr-defined]
        _mark(state.session)


@event.listens_for(Session, "after_commit")
def _move_after_commit(session: Session) -> None:
    if session.info.pop(_CHANGED, False):
        bind = session.get_bind()
        epoch = epoch_for(str(bind.engine.url))
        if epoch is not None:
            epoch.move()


@event.listens_for(Session, "after_rollback")
def _forget_on_rollback(session: Session) -> None:
    session.info.pop(_CHANGED, None)
