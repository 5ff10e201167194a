"""The ``quorate`` executable as its own process, as an operator runs it (issue 11):

* it exits with its own status after printing its result, 200 times out of 200: no
  ``Fatal Python error: PyGILState_Release`` (exit 134) from Temporal's runtime threads
  at interpreter shutdown (quorate.cli.QuorateApp);
* under ``umask 000``, ``quorate up`` with a wallet created and a message signed leaves
  every directory under the data directory 0700 and every file 0600 (runtime.files);
* a client waiting for a result while the Temporal server restarts reconnects, says so,
  and ends with the ceremony's answer, not a traceback.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import stat
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Mapping
from pathlib import Path

import pytest
from temporalio.client import Client
from temporalio.service import RPCError

from runtime.connection import connect
from runtime.provision import provision_local
from runtime.settings import Settings
from runtime.temporal_server import DevServer
from tests.integration.conftest import System, free_port, process_env, start_system

RUNS = 200
CONCURRENT_RUNS = 3
ADDRESS = "11111111111111111111111111111111"  # Solana's system program: always there


def _quorate() -> list[str]:
    """The console script the project installs, as operators call it."""
    script = Path(sys.executable).parent / "quorate"
    return [str(script)] if script.exists() else [sys.executable, "-m", "quorate"]


async def _run(
    args: list[str], env: Mapping[str, str], *, umask: int = -1, timeout: float = 120
) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        *_quorate(),
        *args,
        env=dict(env),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        umask=umask,
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


@pytest.mark.timeout(1800)
async def test_200_cli_runs_end_with_their_own_exit_status(system: System) -> None:
    env = {**os.environ, **system.settings.to_env()}
    limit = asyncio.Semaphore(CONCURRENT_RUNS)

    async def one() -> tuple[int, str, str]:
        async with limit:
            return await _run(["chain", "balance", "--chain", "solana", "--address", ADDRESS], env)

    started = time.monotonic()
    runs = await asyncio.gather(*(one() for _ in range(RUNS)))
    codes = Counter(code for code, _, _ in runs)
    crashed = [err for _, _, err in runs if "Fatal Python error" in err]
    print(f"{RUNS} runs in {time.monotonic() - started:.0f} s; exit codes {dict(codes)}")
    assert not crashed, crashed[0]
    assert codes == Counter({0: RUNS}), [err for code, _, err in runs if code][:3]
    for _, out, err in runs:
        assert json.loads(out)["address"] == ADDRESS
        assert err == ""


async def _connect_when_ready(settings: Settings) -> Client:
    """A client, once the (re)started dev server's frontend reports healthy."""
    for _ in range(300):
        try:
            return await connect(settings)
        except RuntimeError:  # "Frontend is not healthy yet"
            await asyncio.sleep(0.2)
    return await connect(settings)


def _not_private(data_dir: Path) -> list[str]:
    """Every path under ``data_dir`` whose mode is not 0700 (directories) or 0600."""
    wrong = []
    for root, dirs, files in os.walk(data_dir):
        for name in dirs + files:
            path = Path(root) / name
            mode = path.lstat().st_mode
            expected = 0o700 if stat.S_ISDIR(mode) else 0o600
            if stat.S_IMODE(mode) != expected:
                wrong.append(f"{path.relative_to(data_dir)}: {stat.S_IMODE(mode):04o}")
    return wrong


@pytest.mark.timeout(900)
async def test_everything_under_the_data_dir_is_private_under_umask_000(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    env = process_env(data_dir)
    up = subprocess.Popen(  # noqa: S603 - our own executable
        [*_quorate(), "up"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, umask=0
    )
    try:
        assert up.stdout is not None
        said = ""
        deadline = time.monotonic() + 600
        # `quorate up` says it is up, then, plainly, that embedded chains start empty.
        while "start empty on every start" not in said and time.monotonic() < deadline:
            line = await asyncio.to_thread(up.stdout.readline)
            if not line:
                break
            said = " ".join((said + " " + line.decode()).split())
        assert "Ctrl-C stops" in said, said
        assert "start empty on every start" in said, said

        code, out, err = await _run(
            ["wallet", "create", "--wallet-id", "perms", "--scheme", "ed25519"], env, umask=0
        )
        assert code == 0, err
        code, out, err = await _run(
            ["sign", "--wallet-id", "perms", "--message", "00ff"], env, umask=0
        )
        assert code == 0, err
        code, out, err = await _run(["audit", "verify"], env, umask=0)
        assert code == 0, out + err
        # While everything runs: the SQLite -wal and -shm files exist now.
        names = {p.name for p in data_dir.rglob("*")}
        assert {"events.sqlite3-wal", "events.sqlite3-shm", "temporal.log"} <= names, names
        assert _not_private(data_dir) == []
    finally:
        up.send_signal(signal.SIGINT)
        await asyncio.to_thread(up.wait, 120)
    assert up.returncode == 0
    assert _not_private(data_dir) == []
    assert stat.S_IMODE(data_dir.stat().st_mode) == 0o700


@pytest.mark.timeout(600)
async def test_a_waiting_client_rides_out_a_server_restart(tmp_path: Path) -> None:
    """A signing request is sent with no worker running, so the client waits; the server
    stops, stays away for a while and comes back (persisted to SQLite, as `quorate up`
    runs it); then the workers start and the ceremony answers (UnknownWallet). The client
    reports the lost connection, retries, and prints that answer: exit 2, one line."""
    settings = Settings(
        data_dir=tmp_path / "data", temporal_port=free_port(), temporal_ui_port=free_port()
    )
    provision_local(settings)
    env = {
        **{k: v for k, v in os.environ.items() if k != "QUORATE_TEMPORAL_ADDRESS"},
        "QUORATE_DATA_DIR": str(settings.data_dir),
        "QUORATE_TEMPORAL_PORT": str(settings.temporal_port),
    }
    server = DevServer(settings)
    server.start()
    try:
        key = "restart-1"
        waiting = asyncio.create_task(
            _run(
                ["sign", "--wallet-id", "nope", "--message", "00" * 32, "--idempotency-key", key],
                env,
                timeout=300,
            )
        )
        client = await _connect_when_ready(settings)
        handle = client.get_workflow_handle(key)
        for _ in range(600):
            try:
                await handle.describe()
                break
            except RPCError:  # not started yet
                await asyncio.sleep(0.1)
        await asyncio.sleep(1)  # the client is in its long poll for the result
        server.stop()
        await asyncio.sleep(20)  # longer than the SDK's own retries of one call
        assert not waiting.done()
        server.start()
        async for _ in start_system(settings, await _connect_when_ready(settings)):
            code, out, err = await asyncio.wait_for(waiting, 240)
    finally:
        server.stop()
    print(err)
    assert "Traceback" not in out + err
    assert code == 2, err
    lines = err.splitlines()
    assert lines[-1].startswith("error: UnknownWallet"), err
    assert any("lost Temporal" in line and "retrying" in line for line in lines[:-1]), err
