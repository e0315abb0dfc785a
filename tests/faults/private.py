"""A PostgreSQL cluster and a Redis server of the drill's own, on free loopback ports, that a drill
may restart or stop. The machine's shared PostgreSQL (5432) and Redis (6379) are never touched.

    async with PrivatePostgres(tmp_path) as pg:   # initdb (as `postgres` when run as root), pg_ctl start
        pg.url                                    # postgresql://postgres@127.0.0.1:<port>/relay
        pg.restart("fast")                        # the drill's `pg_ctlcluster <v> main restart`
    with PrivateRedis(tmp_path) as redis: redis.url; redis.stop(); redis.start()

redis-server dies with the test process (PR_SET_PDEATHSIG). A PostgreSQL cluster is a daemon
(`pg_ctl start`): a test run that is itself SIGKILLed leaves it running, in /tmp/relay-pg-*.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from app.devserver import free_port
from tests.faults.harness import _die_with_parent


def postgres_bin() -> Path | None:
    """The directory of initdb/pg_ctl, or None when PostgreSQL's server binaries are not installed."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    if found:
        return Path(found[-1]).parent
    pg_ctl = shutil.which("pg_ctl")
    return Path(pg_ctl).parent if pg_ctl else None


class PrivatePostgres:
    def __init__(self, tmp: Path, database: str = "relay") -> None:
        self.bin = postgres_bin()
        assert self.bin is not None, "PostgreSQL's server binaries are not installed"
        self.port = free_port()
        self.database = database
        # its own directory outside tmp_path: the server runs as `postgres`, which must own it
        self.root = Path(tempfile.mkdtemp(prefix="relay-pg-"))
        self.data = self.root / "data"
        self.log = tmp / "postgresql.log"
        self.as_root = os.geteuid() == 0

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{self.database}"

    def _run(self, *args: str, check: bool = True, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        command = [str(self.bin / args[0]), *args[1:]]
        if self.as_root:
            command = ["runuser", "-u", "postgres", "--", *command]
        return subprocess.run(command, capture_output=True, text=True, check=check, timeout=timeout, cwd=self.root)

    def _pg_ctl(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return self._run("pg_ctl", "-D", str(self.data), "-l", str(self.root / "server.log"), "-w", "-t", "30",
                         *args, check=check)

    def start(self) -> None:
        self._pg_ctl("-o", f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off", "start")

    def restart(self, mode: str = "fast") -> None:
        """What `pg_ctlcluster <version> main restart` does to a Debian cluster: pg_ctl restart -m <mode>
        (`fast`: sessions are disconnected and the server shuts down cleanly; `immediate`: no clean
        shutdown, crash recovery at start)."""
        self._pg_ctl("-m", mode, "-o", f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off",
                     "restart")

    def stop(self, mode: str = "fast") -> None:
        self._pg_ctl("-m", mode, "stop", check=False)

    def psql(self, sql: str, database: str | None = None) -> str:
        done = self._run("psql", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "-d",
                         database or self.database, "-XAtc", sql)
        return done.stdout.strip()

    def dump(self, name: str = "relay.dump") -> Path:
        """`pg_dump -Fc` of the database, as an operator's backup job takes it (the server keeps serving)."""
        path = self.root / name
        self._run("pg_dump", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "-Fc", "-f", str(path),
                  self.database)
        return path

    def restore(self, dump: Path) -> None:
        """The database lost and restored: dropped (its sessions cut), created empty, `pg_restore`d."""
        self.psql(f"DROP DATABASE {self.database} WITH (FORCE)", database="postgres")
        self.psql(f"CREATE DATABASE {self.database}", database="postgres")
        self._run("pg_restore", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "-d", self.database,
                  "--no-owner", str(dump))

    def __enter__(self) -> PrivatePostgres:
        if self.as_root:
            shutil.chown(self.root, "postgres", "postgres")
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync")
        self.start()
        self.psql(f"CREATE DATABASE {self.database}", database="postgres")
        return self

    def __exit__(self, *exc: object) -> None:
        self._pg_ctl("-m", "immediate", "stop", check=False)
        try:
            with open(self.log, "a") as log:
                log.write((self.root / "server.log").read_text(errors="replace"))
        except OSError:
            pass
        shutil.rmtree(self.root, ignore_errors=True)


class PrivateRedis:
    def __init__(self, tmp: Path) -> None:
        self.port = free_port()
        self.tmp = tmp
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        with open(self.tmp / "redis.log", "ab") as log:
            self.process = subprocess.Popen(
                ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
                stdout=log, stderr=subprocess.STDOUT, cwd=self.tmp, preexec_fn=_die_with_parent)
        deadline = time.monotonic() + 10
        while subprocess.run(["redis-cli", "-p", str(self.port), "ping"], capture_output=True,
                             text=True).stdout.strip() != "PONG":
            assert time.monotonic() < deadline, "redis-server did not answer PING"
            time.sleep(0.05)

    def keys(self, pattern: str) -> int:
        """How many keys match `pattern` (redis-cli --scan)."""
        done = subprocess.run(["redis-cli", "-p", str(self.port), "--scan", "--pattern", pattern],
                              capture_output=True, text=True, check=True)
        return len(done.stdout.split())

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)

    def __enter__(self) -> PrivateRedis:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
