"""A private MariaDB for Trillian, the storage under the kit's Rekor and CT logs.

Debian's `mariadb-server` (tools/apt-packages.txt) is used as a program, not as a service: a
fresh data directory in the kit's state directory, its own socket, TCP on loopback only, no
system configuration files (`--no-defaults`), so it never meets a system MariaDB.
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from wasmgate_kit.errors import KitError
from wasmgate_kit.net import LOOPBACK, free_port
from wasmgate_kit.process import ManagedProcess
from wasmgate_kit.wait import wait_for

START_TIMEOUT = 60.0
INSTALL_TIMEOUT = 120.0
APT_HINT = "install Debian's mariadb-server (`make apt`, tools/apt-packages.txt)"


@dataclass(frozen=True)
class MariaDB:
    """How to reach the kit's database server."""

    port: int
    socket: Path

    def dsn(self, database: str) -> str:
        """A Go MySQL driver DSN for `database` (root over loopback TCP, no password)."""
        return f"root@tcp({LOOPBACK}:{self.port})/{database}"


def _program(name: str) -> str:
    path = shutil.which(name) or shutil.which(name, path="/usr/sbin:/usr/bin")
    if path is None:
        raise KitError(f"{name} not found; {APT_HINT}")
    return path


def _install(datadir: Path, log: Path) -> None:
    argv = [
        _program("mariadb-install-db"),
        "--no-defaults",
        f"--datadir={datadir}",
        "--user=root",
        "--auth-root-authentication-method=normal",
        "--skip-test-db",
    ]
    with log.open("ab") as out:
        done = subprocess.run(argv, stdout=out, stderr=subprocess.STDOUT, timeout=INSTALL_TIMEOUT)
    if done.returncode != 0:
        raise KitError(f"mariadb-install-db failed (exit {done.returncode}); see {log}")


def start_mariadb(state_dir: Path) -> tuple[MariaDB, ManagedProcess]:
    """Initialise a data directory and start the server; return once it answers queries."""
    root = state_dir / "mariadb"
    datadir = root / "data"
    datadir.mkdir(parents=True, exist_ok=True)
    log = state_dir / "logs" / "mariadb.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    _install(datadir, log)
    server = MariaDB(port=free_port(), socket=root / "mariadb.sock")
    process = ManagedProcess(
        "mariadb",
        [
            _program("mariadbd"),
            "--no-defaults",
            f"--datadir={datadir}",
            f"--socket={server.socket}",
            f"--pid-file={root / 'mariadb.pid'}",
            f"--port={server.port}",
            f"--bind-address={LOOPBACK}",
            "--user=root",
            "--skip-name-resolve",
            "--innodb-buffer-pool-size=32M",
            "--max-connections=200",
        ],
        log,
    )
    process.start()
    wait_for(
        lambda: sql(server, "SELECT 1") is not None,
        what="mariadb to accept connections",
        timeout=START_TIMEOUT,
        alive=process.check_alive,
    )
    return server, process


def sql(server: MariaDB, statements: str, database: str | None = None) -> str:
    """Run SQL through the socket as root; raise KitError with the server's message on failure."""
    argv = [_program("mariadb"), "--no-defaults", f"--socket={server.socket}", "-uroot", "-N"]
    if database:
        argv.append(database)
    done = subprocess.run(argv, input=statements, capture_output=True, text=True, timeout=60)
    if done.returncode != 0:
        raise KitError(f"mariadb: {done.stderr.strip() or done.stdout.strip()}")
    return done.stdout
