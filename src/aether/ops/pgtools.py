"""PostgreSQL's own programs (from the wheel) for backups and restores, and scratch clusters.

When Aether runs as root, the server programs (initdb, pg_ctl, postgres) run as the unprivileged user
`aether-pg`, and every data directory they use is handed to that user first. Client programs
(pg_basebackup, pg_dump, pg_combinebackup ...) run as the calling user.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import psycopg

from aether.db import embedded
from aether.errors import OpsError


def server_user() -> pwd.struct_passwd | None:
    """The user PostgreSQL server processes run as: `aether-pg` when we are root, else ourselves (None)."""
    if os.geteuid() != 0:
        return None
    return embedded._ensure_system_user(embedded.SYSTEM_USER)


def give_to_server(path: Path, *, recursive: bool = True) -> None:
    """Hand `path` (a data directory, a socket directory) to the server's user; no-op unless root."""
    entry = server_user()
    if entry is None:
        return
    embedded._ensure_readable_install()
    targets = [path]
    if recursive and path.is_dir():
        targets.extend(path.rglob("*"))
    for target in targets:
        os.chown(target, entry.pw_uid, entry.pw_gid, follow_symlinks=False)
    parent = path.parent
    while parent != parent.parent:
        mode = parent.stat().st_mode
        if mode & 0o001 == 0:
            parent.chmod(mode | 0o001)  # traverse only
        parent = parent.parent


def run(
    program: str,
    args: Sequence[str],
    *,
    as_server: bool = False,
    timeout: float = 6 * 3600,
    env: Mapping[str, str] | None = None,
    what: str | None = None,
) -> str:
    """Run a PostgreSQL program; its stdout on success, else an OpsError with its last error line."""
    uid: int | None = None
    gid: int | None = None
    groups: list[int] | None = None
    if as_server:
        entry = server_user()
        if entry is not None:
            embedded._ensure_readable_install()
            uid, gid, groups = entry.pw_uid, entry.pw_gid, []
    full_env = dict(os.environ)
    full_env.update(env or {})
    full_env.setdefault("LC_ALL", "C.UTF-8")
    label = what or program
    # Output goes to files, never pipes: pg_ctl's daemon would keep inherited pipes open.
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        try:
            completed = subprocess.run(
                [str(embedded.pg_binary(program)), *args],
                stdout=out,
                stderr=err,
                stdin=subprocess.DEVNULL,
                cwd="/",
                env=full_env,
                user=uid,
                group=gid,
                extra_groups=groups,
                timeout=timeout,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise OpsError(f"{label} did not finish within {timeout:.0f} s") from None
        except OSError as exc:
            raise OpsError(f"{label} could not be started: {exc.strerror or exc}") from None
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    if completed.returncode != 0:
        lines = [line for line in (stderr or stdout).strip().splitlines() if line.strip()]
        if completed.returncode < 0:
            reason = f"killed by signal {-completed.returncode}"
        else:
            reason = lines[-1] if lines else f"exit status {completed.returncode}"
        raise OpsError(f"{label} failed: {reason}")
    return stdout


def program_works(program: str) -> bool:
    """Whether a program of the wheel runs at all (`--version`)."""
    try:
        run(program, ["--version"], timeout=30)
    except OpsError:
        return False
    return True


def copy_tree(source: Path, target: Path) -> None:
    """Copy a data directory (symlinks kept as links); target must not exist."""
    shutil.copytree(source, target, symlinks=True)


def dir_size(path: Path) -> int:
    total = 0
    for item in path.rglob("*"):
        try:
            if item.is_file() and not item.is_symlink():
                total += item.stat().st_size
        except OSError:
            continue
    return total


def log_tail(path: Path, limit: int = 1500) -> str:
    try:
        return path.read_text(errors="replace")[-limit:].strip()
    except OSError:
        return ""


@dataclass
class ScratchCluster:
    """A data directory started on a private Unix socket, never on TCP, never archiving.

    `settings` go to a configuration file that includes the directory's own postgresql.conf and then
    overrides it; the few that must win over postgresql.auto.conf go on the command line.
    """

    pgdata: Path
    settings: dict[str, str] = field(default_factory=dict)
    socket_dir: Path = field(init=False)
    _work: Path = field(init=False)

    def __post_init__(self) -> None:
        self._work = Path(tempfile.mkdtemp(prefix="aether-scratch-"))
        self.socket_dir = self._work

    @property
    def logfile(self) -> Path:
        return self._work / "server.log"

    def url(self, database: str = embedded.DATABASE) -> str:
        return f"postgresql://{embedded.SUPERUSER}@/{database}?host={self.socket_dir}"

    def start(self, *, timeout: float = 6 * 3600) -> None:
        """Start and wait until it accepts connections (after any recovery and promotion)."""
        conf = self._work / "scratch.conf"
        lines = []
        if (self.pgdata / "postgresql.conf").exists():
            lines.append(f"include '{self.pgdata / 'postgresql.conf'}'")
        lines += [f"{key} = {value}" for key, value in self.settings.items()]
        conf.write_text("\n".join(lines) + "\n")
        self.pgdata.chmod(0o700)
        give_to_server(self.pgdata)
        give_to_server(self._work)
        options = (
            f"-c config_file={conf} -c listen_addresses= -c unix_socket_directories={self.socket_dir} "
            "-c archive_mode=off -c logging_collector=off -c hot_standby=off"
        )
        run(
            "pg_ctl",
            ["-D", str(self.pgdata), "-l", str(self.logfile), "-o", options, "-W", "start"],
            as_server=True,
            timeout=120,
        )
        self._wait_ready(timeout)

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        launch_deadline = time.monotonic() + 60
        seen = False
        while True:
            try:
                with psycopg.connect(self.url("postgres"), connect_timeout=5, autocommit=True) as conn:
                    row = conn.execute("SELECT pg_is_in_recovery()").fetchone()
                    if row is not None and not row[0]:
                        return
            except psycopg.OperationalError:
                pass
            alive = self._alive()
            seen = seen or alive
            # before the postmaster has written its pid file, only its log can tell it failed
            if not alive and (seen or time.monotonic() > launch_deadline or "FATAL" in log_tail(self.logfile)):
                raise OpsError(f"the restored server stopped: {self._why()}")
            if time.monotonic() > deadline:
                raise OpsError(f"the restored server was not ready within {timeout:.0f} s: {self._why()}")
            time.sleep(0.1)

    def _why(self) -> str:
        tail = log_tail(self.logfile, 4000).splitlines()
        important = [line for line in tail if any(k in line for k in ("FATAL", "PANIC", "ERROR"))]
        return (important[-1] if important else (tail[-1] if tail else "no log output")).strip()

    def _alive(self) -> bool:
        pidfile = self.pgdata / "postmaster.pid"
        try:
            pid = int(pidfile.read_text().splitlines()[0])
        except (OSError, ValueError, IndexError):
            return False
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True

    def stop(self) -> None:
        if self._alive():
            give_to_server(self.pgdata, recursive=False)  # parents may have been closed meanwhile
            run("pg_ctl", ["-D", str(self.pgdata), "-m", "fast", "-w", "-t", "120", "stop"], as_server=True)

    def cleanup(self) -> None:
        shutil.rmtree(self._work, ignore_errors=True)


@contextmanager
def started(cluster: ScratchCluster, *, timeout: float = 6 * 3600) -> Iterator[ScratchCluster]:
    try:
        cluster.start(timeout=timeout)
        yield cluster
    finally:
        try:
            cluster.stop()
        finally:
            cluster.cleanup()


def initdb(pgdata: Path) -> None:
    """A new, empty cluster in `pgdata` (trust authentication on the Unix socket only)."""
    pgdata.mkdir(mode=0o700, parents=True, exist_ok=False)
    give_to_server(pgdata)
    run(
        "initdb",
        ["--auth=trust", "--encoding=UTF8", "--locale=C.UTF-8", "-U", embedded.SUPERUSER, "-D", str(pgdata)],
        as_server=True,
        timeout=300,
    )
