"""Real servers for tests, benchmarks and local runs: mosquitto and PostgreSQL from Debian's packages.

Each server runs on a free loopback port in a temporary folder and is stopped (and the folder
removed) when the context ends. When the tests run as root (CI does), PostgreSQL runs as the
``postgres`` system user and mosquitto as ``mosquitto``: neither server accepts running as root.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path


class ServerUnavailable(RuntimeError):
    pass


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_for_port(port: int, proc: subprocess.Popen[bytes], what: str, log: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise ServerUnavailable(f"{what} exited with {proc.returncode}: {log.read_text()[-2000:]}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return
        time.sleep(0.05)
    raise ServerUnavailable(f"{what} did not listen on {port} within 30 s")


def _as_user(name: str, path: Path) -> str | None:
    """When root, hand ``path`` to system user ``name`` and return it for Popen(user=...)."""
    if os.geteuid() != 0:
        return None
    entry = pwd.getpwnam(name)
    for root, dirs, files in os.walk(path):
        for item in [root, *(os.path.join(root, d) for d in dirs), *(os.path.join(root, f) for f in files)]:
            os.chown(item, entry.pw_uid, entry.pw_gid)
    return name


@dataclass(frozen=True, slots=True)
class Mosquitto:
    port: int
    proc: subprocess.Popen[bytes]
    folder: Path

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}"

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    def kill(self) -> None:
        self.proc.kill()
        self.proc.wait()


def start_mosquitto(folder: Path, port: int | None = None, extra: str = "") -> Mosquitto:
    binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    if not os.path.exists(binary):
        raise ServerUnavailable("mosquitto is not installed (apt-get install mosquitto)")
    port = port or free_port()
    folder.mkdir(parents=True, exist_ok=True)
    conf = folder / "mosquitto.conf"
    conf.write_text(
        f"listener {port} 127.0.0.1\n"
        "allow_anonymous true\n"
        "persistence true\n"
        f"persistence_location {folder}/\n"
        # An offline persistent session must hold every alarm: the default (1000) would drop.
        "max_queued_messages 1000000\n"
        "log_dest stderr\n"
        + extra
    )
    user = _as_user("mosquitto", folder)
    log = folder / "mosquitto.log"
    with log.open("ab") as out:
        proc = subprocess.Popen([binary, "-c", str(conf)], stdout=out, stderr=out)
    _wait_for_port(port, proc, "mosquitto", log)
    del user  # mosquitto drops to its own user itself when started as root
    return Mosquitto(port=port, proc=proc, folder=folder)


def _pg_bin(tool: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{tool}"), key=lambda p: int(p.split("/")[4]))
    if found:
        return found[-1]
    path = shutil.which(tool)
    if path is None:
        raise ServerUnavailable(f"PostgreSQL's {tool} not found (apt-get install postgresql)")
    return path


@dataclass(frozen=True, slots=True)
class Postgres:
    port: int
    proc: subprocess.Popen[bytes]
    folder: Path

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def stop(self) -> None:
        self.proc.terminate()  # SIGTERM: "smart" shutdown
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def start_postgres(folder: Path, port: int | None = None, *, durable: bool = False) -> Postgres:
    port = port or free_port()
    data = folder / "data"
    if not (data / "PG_VERSION").exists():
        data.mkdir(parents=True, exist_ok=True)
        user = _as_user("postgres", folder)
        subprocess.run(
            [_pg_bin("initdb"), "-D", str(data), "-U", "postgres", "--auth=trust",
             "--encoding=UTF8", "--locale=C.UTF-8"],
            check=True, capture_output=True, user=user,
        )
    user = _as_user("postgres", folder)
    log = folder / "postgres.log"
    options = ["-c", "listen_addresses=127.0.0.1", "-c", f"unix_socket_directories={folder}",
               "-c", "max_connections=200"]
    if not durable:
        # Tests throw the data away: skip the flushes that make commits durable.
        options += ["-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off"]
    with log.open("ab") as out:
        proc = subprocess.Popen(
            [_pg_bin("postgres"), "-D", str(data), "-p", str(port), *options],
            stdout=out, stderr=out, user=user,
        )
    _wait_for_port(port, proc, "postgres", log)
    import psycopg  # local: this module is also imported where psycopg is not needed

    deadline = time.monotonic() + 30
    while True:
        try:
            psycopg.connect(f"postgresql://postgres@127.0.0.1:{port}/postgres").close()
            break
        except psycopg.OperationalError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)
    return Postgres(port=port, proc=proc, folder=folder)


@contextlib.contextmanager
def temporary_folder(prefix: str) -> Iterator[Path]:
    folder = Path(tempfile.mkdtemp(prefix=prefix))
    os.chmod(folder, 0o755)
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)
