"""Start Debian's ``clickhouse-server`` for the tests: private config, data and free ports.

Debian bookworm packages ClickHouse 18.16.1. The package is installed on demand when the
tests run as root (non-interactively, with service start-up suppressed so no system-wide
server is left behind); otherwise the fixture fails with the command to run.
"""

from __future__ import annotations

import ctypes
import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import escape

import pytest

PACKAGES = ("clickhouse-server", "clickhouse-client")
INSTALL_HINT = "apt-get install -y clickhouse-server clickhouse-client"
START_TIMEOUT_SECONDS = 60.0
# Not UTC on purpose: the projection must not depend on the server's time zone.
SERVER_TIMEZONE = "Pacific/Chatham"


@dataclass
class ClickHouseServer:
    """A running server: ``url`` is ``clickhouse://127.0.0.1:PORT`` (no database)."""

    url: str
    process: subprocess.Popen[bytes] | None
    log_dir: Path | None = None

    def stop(self) -> None:
        """Stop the server this fixture started (and only that one)."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=30)


def _die_with_parent() -> None:
    # PR_SET_PDEATHSIG: if pytest is killed outright, the kernel sends SIGTERM to the
    # server, so even an aborted run leaves no ClickHouse server behind.
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(1, signal.SIGTERM, 0, 0, 0)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _server_command() -> list[str] | None:
    """How to run the server binary: Debian's ``clickhouse-server``, or ``clickhouse server``."""
    for name in ("clickhouse-server", "/usr/sbin/clickhouse-server", "/usr/bin/clickhouse-server"):
        found = shutil.which(name)
        if found:
            return [found]
    single = shutil.which("clickhouse")
    return [single, "server"] if single else None


def _apt_get(*arguments: str) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    return subprocess.run(  # noqa: S603 - fixed program, fixed arguments
        ["apt-get", "-o", "DPkg::Lock::Timeout=300", *arguments],  # noqa: S607
        capture_output=True,
        text=True,
        env=environment,
        check=False,
        timeout=900,
    )


def install_debian_server() -> None:
    """``apt-get install`` the server and client, without starting the system service."""
    if os.geteuid() != 0:
        pytest.fail(
            "clickhouse-server is not installed and the tests are not running as root, so "
            f"they cannot install it; run `{INSTALL_HINT}` (as root) first"
        )
    # policy-rc.d exit status 101 tells invoke-rc.d not to start services during the
    # install (Debian policy); only ours is removed afterwards, an existing one is kept.
    policy = Path("/usr/sbin/policy-rc.d")
    created_policy = not policy.exists()
    if created_policy:
        policy.write_text("#!/bin/sh\nexit 101\n")
        policy.chmod(0o755)
    try:
        install = ("install", "-y", "--no-install-recommends", *PACKAGES)
        result = _apt_get(*install)
        if result.returncode != 0:
            # A fresh machine may have no package lists yet.
            _apt_get("update")
            result = _apt_get(*install)
        if result.returncode != 0:
            pytest.fail(f"`{INSTALL_HINT}` failed:\n{result.stdout[-2000:]}{result.stderr[-2000:]}")
    finally:
        if created_policy:
            policy.unlink(missing_ok=True)


def _config(root: Path, http_port: int, tcp_port: int) -> str:
    def path(name: str) -> str:
        return escape(str(root / name)) + "/"

    return f"""<?xml version="1.0"?>
<yandex>
    <logger>
        <level>warning</level>
        <log>{escape(str(root / "log" / "server.log"))}</log>
        <errorlog>{escape(str(root / "log" / "error.log"))}</errorlog>
        <console>0</console>
    </logger>
    <listen_host>127.0.0.1</listen_host>
    <http_port>{http_port}</http_port>
    <tcp_port>{tcp_port}</tcp_port>
    <path>{path("data")}</path>
    <tmp_path>{path("tmp")}</tmp_path>
    <user_files_path>{path("user_files")}</user_files_path>
    <format_schema_path>{path("format_schemas")}</format_schema_path>
    <timezone>{SERVER_TIMEZONE}</timezone>
    <mark_cache_size>536870912</mark_cache_size>
    <max_concurrent_queries>100</max_concurrent_queries>
    <default_profile>default</default_profile>
    <default_database>default</default_database>
    <users_config>users.xml</users_config>
</yandex>
"""


USERS = """<?xml version="1.0"?>
<yandex>
    <profiles><default><max_memory_usage>2000000000</max_memory_usage></default></profiles>
    <users>
        <default>
            <password></password>
            <networks><ip>127.0.0.1</ip></networks>
            <profile>default</profile>
            <quota>default</quota>
        </default>
    </users>
    <quotas><default></default></quotas>
</yandex>
"""


def _log_tail(root: Path) -> str:
    parts = []
    for name in ("stdout.log", "log/error.log"):
        file = root / name
        if file.exists():
            parts.append(f"--- {name}\n" + file.read_text(errors="replace")[-3000:])
    return "\n".join(parts)


def start_debian_server(root: Path) -> ClickHouseServer:
    """Start ``clickhouse-server`` under ``root``; fails the test session if it cannot."""
    command = _server_command()
    if command is None:
        install_debian_server()
        command = _server_command()
        if command is None:
            pytest.fail(f"`{INSTALL_HINT}` succeeded but no clickhouse-server binary was found")
    for name in ("log", "data", "tmp", "user_files", "format_schemas"):
        (root / name).mkdir(parents=True, exist_ok=True)
    http_port, tcp_port = _free_port(), _free_port()
    (root / "config.xml").write_text(_config(root, http_port, tcp_port))
    (root / "users.xml").write_text(USERS)
    with (root / "stdout.log").open("wb") as output:
        process = subprocess.Popen(  # noqa: S603 - the binary found above, our own config
            [*command, f"--config-file={root / 'config.xml'}"],
            cwd=root,
            stdout=output,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            preexec_fn=_die_with_parent,  # async-signal-safe: one prctl call
        )
    server = ClickHouseServer(
        url=f"clickhouse://127.0.0.1:{http_port}", process=process, log_dir=root
    )
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"clickhouse-server exited with {process.returncode}:\n{_log_tail(root)}")
        try:
            with urllib.request.urlopen(
                f"http://127.0.0.1:{http_port}/ping", timeout=2
            ) as response:
                if response.read().strip() == b"Ok.":
                    return server
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.2)
    server.stop()
    pytest.fail(
        f"clickhouse-server did not answer within {START_TIMEOUT_SECONDS}s:\n{_log_tail(root)}"
    )
