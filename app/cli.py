"""`relay dev | api | worker | keys create | keys list | keys revoke | migrate` (SPEC §5)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
from collections.abc import AsyncIterator
from pathlib import Path

from pydantic import ValidationError, model_validator
from sqlmodel.ext.asyncio.session import AsyncSession

from app.config import Settings, get_settings


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="relay", description="Relay: durable workflow automation on Temporal")
    commands = parser.add_subparsers(dest="command", required=True)

    dev = commands.add_parser("dev", help="Temporal dev server + migrations + worker + API, one process tree")
    dev.add_argument("--port", type=int, default=8000)
    dev.add_argument("--temporal-port", type=int, default=7233)
    dev.add_argument("--ui-port", type=int, default=8233)
    dev.add_argument("--data-dir", default=".relay")

    api = commands.add_parser("api", help="run the HTTP API")
    api.add_argument("--host", default="0.0.0.0")
    api.add_argument("--port", type=int, default=8000)
    api.add_argument("--workers", type=int, default=1, help="API processes (uvicorn workers) on the one port")
    api.add_argument("--with-worker", action="store_true", help="a worker in each API process: eager starts")

    commands.add_parser("worker", help="run a worker")
    commands.add_parser("migrate", help="apply the database migrations")

    keys = commands.add_parser("keys", help="API keys").add_subparsers(dest="keys_command", required=True)
    create = keys.add_parser("create", help="create a key (and its tenant if needed), or with --platform a "
                                            "platform key (SPEC §3.3); prints it once")
    create.add_argument("--tenant")
    create.add_argument("--scope", action="append", dest="scopes")
    create.add_argument("--platform", action="store_true", help="a platform key: it manages tenants")
    create.add_argument("--name", default="")
    create.add_argument("--data-dir", default=None,
                        help="the data dir of the `relay dev` to add the key to (default .relay, when "
                             "RELAY_DATABASE_URL is not set)")

    listing = keys.add_parser("list", help="the keys not revoked of a tenant (--tenant NAME) or the platform "
                                           "keys (--platform): id, name, prefix, created; never a key itself")
    owner = listing.add_mutually_exclusive_group(required=True)
    owner.add_argument("--tenant", help="the tenant's name (as keys create took it) or id")
    owner.add_argument("--platform", action="store_true")
    revoke = keys.add_parser("revoke", help="revoke a key (a tenant's or a platform key) by its id: it answers "
                                            "401 at once")
    revoke.add_argument("key_id", help="the key's id (key_…), as `relay keys list` shows it")
    for command in (listing, revoke):
        command.add_argument("--data-dir", default=None, help="as for keys create")
    return parser


def main(argv: list[str] | None = None) -> None:
    parser = _parser()
    args = parser.parse_args(argv)
    creating = args.command == "keys" and args.keys_command == "create"
    if creating and (args.platform == bool(args.tenant or args.scopes)
                     or (not args.platform and not (args.tenant and args.scopes))):
        parser.error("keys create takes --tenant NAME --scope SCOPE [...], or --platform --name NAME")
    if args.command == "dev":
        from app.dev import run_dev

        sys.exit(asyncio.run(run_dev(port=args.port, temporal_port=args.temporal_port, ui_port=args.ui_port,
                                     data_dir=Path(args.data_dir))))
    try:
        settings = _key_settings(args.data_dir) if args.command == "keys" else get_settings()
    except ValidationError as error:  # say what is wrong; never echo the values (they may be secrets)
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'settings'}: {e['msg']}" for e in error.errors())
        raise SystemExit(f"relay: invalid settings: {problems}") from None
    if args.command == "api":
        _run_api(settings, args.host, args.port, workers=args.workers, with_worker=args.with_worker)
    elif args.command == "worker":
        import worker

        worker.main()
    elif args.command == "migrate":
        from app.db.migrate import migrate

        migrate(settings.database_url)
        print("migrations applied")
    elif args.command == "keys" and args.keys_command == "list":
        print(asyncio.run(_list_keys(settings, None if args.platform else args.tenant)))
    elif args.command == "keys" and args.keys_command == "revoke":
        print(asyncio.run(_revoke_key(settings, args.key_id)))
    elif args.command == "keys":
        if args.platform:
            print(asyncio.run(_create_platform_key(settings, args.name)))
        else:
            print(asyncio.run(_create_key(settings, args.tenant, args.scopes, args.name)))


class _KeySettings(Settings):
    """Making a key encrypts nothing, so it needs no RELAY_SECRET_KEY (SPEC §5)."""

    @model_validator(mode="after")
    def _refuse_unsafe_defaults(self) -> _KeySettings:
        return self


def _key_settings(data_dir: str | None) -> Settings:
    """The API's settings; without RELAY_DATABASE_URL, the database of the `relay dev` data dir
    (`.relay`, or --data-dir), which must exist: a key in a database no server reads is useless."""
    settings = _KeySettings()
    if "database_url" in settings.model_fields_set and data_dir is None:  # RELAY_DATABASE_URL is set
        return settings
    database = Path(data_dir or ".relay") / "relay.db"
    if not database.exists():
        raise SystemExit(f"relay: no Relay database at {database}: run this where `relay dev` runs, give its "
                         "--data-dir, or set RELAY_DATABASE_URL to the API's database")
    return settings.model_copy(update={"database_url": f"sqlite:///{database.resolve()}"})


def _run_api(settings: Settings, host: str, port: int, *, workers: int = 1, with_worker: bool = False) -> None:
    import os

    import uvicorn

    from app.main import KEEP_ALIVE_SECONDS, create_app

    if with_worker:  # read again by each process's settings (one worker process per API process)
        os.environ["RELAY_API_WITH_WORKER"] = "true"
        settings = settings.model_copy(update={"api_with_worker": True})
    if workers > 1:  # each process builds its own app from the environment's settings
        uvicorn.run("app.main:create_app", factory=True, host=host, port=port, workers=workers,
                    log_level="warning", proxy_headers=True, timeout_keep_alive=KEEP_ALIVE_SECONDS)
        return
    uvicorn.run(create_app(settings), host=host, port=port, log_level="warning", proxy_headers=True,
                timeout_keep_alive=KEEP_ALIVE_SECONDS)


@contextlib.asynccontextmanager
async def _database(settings: Settings) -> AsyncIterator[AsyncSession]:
    """A session on the settings' database, migrated first (unless RELAY_AUTO_MIGRATE=false)."""
    from app.db.migrate import migrate
    from app.db.session import make_engine, make_sessionmaker

    if settings.auto_migrate:
        await asyncio.to_thread(migrate, settings.database_url)
    engine = make_engine(settings.database_url)
    try:
        async with make_sessionmaker(engine)() as session:
            yield session
    finally:
        await engine.dispose()


def _one_line(what: str, required: str, *optional: str) -> None:
    from workflows.definition import has_control_characters

    texts = (required, *optional)
    if not required.strip() or has_control_characters("".join(texts)):
        raise SystemExit(f"relay: {what} must be one line of text: {', '.join(map(repr, texts))}")


async def _create_key(settings: Settings, tenant: str, scopes: list[str], name: str) -> str:
    _one_line("a tenant or key name", tenant, name)
    from app.services.keys import create_key, ensure_tenant

    async with _database(settings) as session:
        row = await ensure_tenant(session, name=tenant)
        try:
            _, key = await create_key(session, tenant_id=row.id, scopes=scopes, name=name)
        except ValueError as error:
            raise SystemExit(f"relay: {error}") from None
    print(f"tenant {tenant} ({row.id}); scopes {', '.join(sorted(set(scopes)))}; the key is shown only now:")
    return key


async def _create_platform_key(settings: Settings, name: str) -> str:
    _one_line("a platform key's --name", name)
    from app.services.keys import PLATFORM, create_key

    async with _database(settings) as session:
        _, key = await create_key(session, tenant_id=None, scopes=[PLATFORM], name=name)
    print(f"platform key {name}: it manages tenants and acts for them (Relay-Tenant); shown only now:")
    return key


async def _list_keys(settings: Settings, tenant: str | None) -> str:
    """One line per key: id, name, prefix, created (tab-separated), after a header line."""
    from app.db.repo import keys as key_rows

    async with _database(settings) as session:
        tenant_id = None
        if tenant is not None:
            tenant_id = await key_rows.tenant_id_by_name(session, name_or_id=tenant)
            if tenant_id is None:
                raise SystemExit(f"relay: no tenant named {tenant!r}")
        rows = await key_rows.live_keys(session, tenant_id=tenant_id)
    lines = ["id\tname\tprefix\tcreated_at"]
    lines += [f"{row.id}\t{row.name}\t{row.prefix}\t{row.created_at.isoformat()}" for row in rows]
    return "\n".join(lines)


async def _revoke_key(settings: Settings, key_id: str) -> str:
    from app.db.repo import keys as key_rows

    async with _database(settings) as session:
        row = await key_rows.revoke_any_key(session, key_id=key_id)
    if row is None:
        raise SystemExit(f"relay: no key {key_id!r} that is not revoked already (see relay keys list)")
    owner = "platform key" if row.platform else f"key of tenant {row.tenant_id}"
    return f"revoked {owner} {row.id} ({row.name or 'no name'}): it answers 401 from now on"


if __name__ == "__main__":
    main()
