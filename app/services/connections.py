"""Connections (SPEC §3.2): a tenant's credentials, secrets encrypted at rest and write-only.

Views carry the config and the *names* of the secrets. Secrets are decrypted in one
place only, `DatabaseConnectionStore`, which the worker's activities use.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from activities.connections import ResolvedConnection
from app.config import Settings
from app.crypto import decrypt_json, encrypt_json
from app.db.repo import connections as connection_rows
from app.db.tables import Connection
from workflows.problems import shorten
from app.services.errors import Conflict, InvalidInput
from app.ids import new_id
from app.services import audit
from app.services.audit import Actor
from activities.addresses import host_refusal
from activities.outbound import url_refusal

_HEADER_NAME = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")
_SECRET_NAME = re.compile(r"^[A-Za-z0-9_.\-]+$")  # what `{{secrets.NAME}}` can name


@dataclass(frozen=True)
class TypeRules:
    """What one connection type accepts: key → kind, and which keys it needs."""

    config: dict[str, str]
    secrets: dict[str, str]
    required_config: tuple[str, ...] = ()
    required_secrets: tuple[str, ...] = ()
    one_of_config: tuple[str, ...] = ()  # at least one of these
    one_of_secrets: tuple[str, ...] = ()
    pair: tuple[str, str] | None = None  # two secrets given together or not at all


TYPES: dict[str, TypeRules] = {
    "smtp": TypeRules(config={"host": "host", "port": "port", "starttls": "bool", "tls": "bool", "from": "email"},
                      secrets={"username": "token", "password": "token"},
                      required_config=("host",), pair=("username", "password")),
    "slack": TypeRules(config={"api_url": "url"}, secrets={"webhook_url": "url", "bot_token": "token"},
                       one_of_secrets=("webhook_url", "bot_token")),
    "teams": TypeRules(config={}, secrets={"webhook_url": "url"}, required_secrets=("webhook_url",)),
    "discord": TypeRules(config={}, secrets={"webhook_url": "url"}, required_secrets=("webhook_url",)),
    "http": TypeRules(config={"base_url": "url"},
                      secrets={"headers": "headers", "bearer_token": "token", "username": "token", "password": "token"},
                      one_of_secrets=("headers", "bearer_token", "username"), pair=("username", "password")),
    "connector": TypeRules(config={"url": "url"}, secrets={"signing_secret": "token"},
                           required_config=("url",), required_secrets=("signing_secret",)),
    "alert": TypeRules(config={"url": "url", "email": "email"}, secrets={}, one_of_config=("url", "email")),
    "secret": TypeRules(config={}, secrets={"value": "text"}, required_secrets=("value",)),
}


def validate(*, name: str, type: str, config: dict[str, Any], secrets: dict[str, Any],
             settings: Settings) -> list[dict[str, str]]:
    """The problems of a new connection, each `{"path", "message"}`; never echoes a value."""
    problems: list[dict[str, str]] = []

    def problem(path: str, message: str) -> None:
        problems.append({"path": path, "message": message})

    if not name.strip() or any(ord(c) < 32 for c in name):
        problem("name", f"must be 1-120 printable characters; got {shorten(name)}")
    rules = TYPES.get(type)
    if rules is None:
        problem("type", f"unknown connection type {shorten(type)}; one of {', '.join(TYPES)}")
        return problems
    if type == "secret" and not _SECRET_NAME.match(name):
        problem("name", "a secret's name may use only letters, digits, '_', '-' and '.' (it is used as "
                        "{{secrets.NAME}})")
    allow = settings.outbound_allow_list
    for section, values, kinds in (("config", config, rules.config), ("secrets", secrets, rules.secrets)):
        for key, value in values.items():
            kind = kinds.get(key)
            if kind is None:
                known = ", ".join(kinds) or "none"
                problem(f"{section}.{key}", f"not a {section} key of a {type} connection (known: {known})")
                continue
            for path, message in _check(kind, value, f"{section}.{key}", allow, secret=section == "secrets"):
                # a config value is named; a secret's never is
                problem(path, message if section == "secrets" else f"{message}; got {shorten(value)}")
    for section, values, required, one_of in (("config", config, rules.required_config, rules.one_of_config),
                                              ("secrets", secrets, rules.required_secrets, rules.one_of_secrets)):
        for key in required:
            if values.get(key) in (None, ""):
                problem(f"{section}.{key}", f"required for a {type} connection")
        if one_of and not any(values.get(key) not in (None, "") for key in one_of):
            problem(section, f"a {type} connection needs one of: {', '.join(one_of)}")
    if rules.pair:
        first, second = rules.pair
        if (secrets.get(first) is None) != (secrets.get(second) is None):
            missing = second if secrets.get(second) is None else first
            problem(f"secrets.{missing}", f"{first} and {second} go together")
    return problems


def _check(kind: str, value: Any, path: str, allow: list[str], *, secret: bool) -> list[tuple[str, str]]:
    if kind == "bool":
        return [] if isinstance(value, bool) else [(path, "must be true or false")]
    if kind == "port":
        ok = isinstance(value, int) and not isinstance(value, bool) and 0 < value < 65536
        return [] if ok else [(path, "must be a port number (1-65535)")]
    if kind == "headers":
        if not isinstance(value, dict) or not value:
            return [(path, "must be an object of header names to values")]
        found = []
        for header, text in value.items():
            if not _HEADER_NAME.match(header):
                found.append((f"{path}.{header}", "not a valid header name"))
            elif not isinstance(text, str) or "\r" in text or "\n" in text:
                found.append((f"{path}.{header}", "must be a string without CR or LF"))
        return found
    if not isinstance(value, str) or not value:
        return [(path, "must be a non-empty string")]
    if kind == "text":
        return []
    if "\r" in value or "\n" in value:
        return [(path, "must not contain CR or LF")]
    if kind == "email":
        return [] if "@" in value else [(path, "must be an email address")]
    if kind == "host":
        if any(c in value for c in "/ \t@"):
            return [(path, "must be a host name or IP address")]
        why = host_refusal(value, allow)
        return [(path, f"refused address {value!r}: {why}")] if why else []
    if kind == "url":
        found = [message for message in url_refusal(value, allow) if not message.startswith("a webhook action")]
        if found and secret:  # the reason names the host: not even that of a secret is echoed
            found = [m if m.startswith("must be") else "refused address: a private, loopback, link-local, "
                     "reserved or metadata address" for m in found]
        return [(path, message) for message in found]
    return []  # "token": a non-empty single-line string


async def create_connection(session: AsyncSession, *, tenant_id: str, settings: Settings, name: str, type: str,
                            config: dict[str, Any], secrets: dict[str, Any], default: bool = False,
                            actor: Actor | None = None) -> Connection:
    problems = validate(name=name, type=type, config=config, secrets=secrets, settings=settings)
    if problems:
        raise InvalidInput("the connection is not valid", details=problems)
    if await connection_rows.named(session, tenant_id=tenant_id, name=name) is not None:
        raise _duplicate(name)
    values = dict(id=new_id("conn"), tenant_id=tenant_id, name=name, type=type, config=config,
                  secret_names=sorted(secrets), secrets_encrypted=encrypt_json(settings, secrets) if secrets else "",
                  is_default=default)
    for attempt in range(3):
        try:  # one transaction: the old default is unset only if this one is stored (and its audit entry)
            audit.note(session, actor, "connection.created", "connection", values["id"])
            return await connection_rows.add_connection(session, row=Connection(**values))
        except IntegrityError:
            await session.rollback()
            if (await connection_rows.named(session, tenant_id=tenant_id, name=name) is not None
                    or not default or attempt == 2):
                raise _duplicate(name) from None
            # another default of this type was stored meanwhile: unset it and try again (the newest wins)
    raise _duplicate(name)


def connection_view(row: Connection) -> dict[str, Any]:
    return {
        "id": row.id,
        "name": row.name,
        "type": row.type,
        "config": row.config,
        "secrets": list(row.secret_names),
        "default": row.is_default,
        "created_at": row.created_at,
    }


def _duplicate(name: str) -> Conflict:
    return Conflict("duplicate_name", f"a connection named {name!r} already exists")


class DatabaseConnectionStore:
    """`activities.connections.ConnectionStore` over the connections table: the one place secrets are decrypted."""

    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession], settings: Settings) -> None:
        self._sessionmaker = sessionmaker
        self._settings = settings

    async def get_connection(self, tenant_id: str, type: str, ref: str | None) -> ResolvedConnection | None:
        async with self._sessionmaker() as session:
            rows = await connection_rows.by_type(session, tenant_id=tenant_id, type=type, ref=ref)
        if not rows:
            return None
        row = next((r for r in rows if r.id == ref), rows[0])  # an id wins over a name
        return self._resolved(row)

    async def get_secret(self, tenant_id: str, name: str) -> str | None:
        async with self._sessionmaker() as session:
            rows = await connection_rows.by_type(session, tenant_id=tenant_id, type="secret", ref=name)
        row = next((r for r in rows if r.name == name), None)
        if row is None:
            return None
        value = self._resolved(row).secrets.get("value")
        return None if value is None else str(value)

    def _resolved(self, row: Connection) -> ResolvedConnection:
        return ResolvedConnection(id=row.id, name=row.name, type=row.type, config=dict(row.config),
                                  secrets=decrypt_json(self._settings, row.secrets_encrypted))
