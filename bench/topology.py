"""The system under test of the Temporal benchmarks, and what they do with it.

What ``quorate up`` starts, in a fresh temporary data directory and on free ports (so that
it never collides with a running ``quorate up`` on 7233/8233): the embedded Temporal dev
server (``temporal server start-dev``, persisting to a SQLite file) and one operating-system
process per party worker plus the coordinator. Then, from the client's side: wallets by DKG,
``Sign`` series timed from client start to result (every signature verified afterwards,
outside the timed region), the ECDSA setup and presignature pool, and a guard that abandons
a workflow which cannot finish.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import shutil
import signal
import socket
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from temporalio.api.failure.v1 import Failure
from temporalio.client import Client

from activities.models import (
    CreateWalletInput,
    CreateWalletResult,
    EcdsaSetupInput,
    PresignInput,
    SignInput,
    SignResult,
)
from bench.report import Stats, finish, note
from bench.signatures import verify_sign_result
from common.types import Scheme
from mpc.ecdsa.params import FAST_TESTS, PRODUCTION
from quorate.client import create_wallet, presign, setup_ecdsa, sign
from runtime.authorization import RequestAuthorizer
from runtime.provision import load_request_authorizer
from runtime.settings import Settings
from workers.runner import LocalTopology

T = TypeVar("T")

WEAK_PARTY_MODULE = "bench.weak_party"  # the party workers on 2048-bit moduli
MAX_PRESIGN_BATCH = 100  # presignatures per Presign workflow (PresignInput.count's bound)


# -- the processes -------------------------------------------------------------------------


def free_ports(count: int) -> list[int]:
    """Distinct free loopback ports (re-drawn until distinct)."""
    ports: list[int] = []
    while len(ports) < count:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port: int = probe.getsockname()[1]
        if port not in ports:
            ports.append(port)
    return ports


def fresh_system(prefix: str) -> Settings:
    """Settings for a topology in a new temporary directory, on two free ports."""
    data_dir = Path(tempfile.mkdtemp(prefix=prefix))
    temporal_port, ui_port = free_ports(2)
    return Settings(data_dir=data_dir, temporal_port=temporal_port, temporal_ui_port=ui_port)


def described(system: Settings) -> str:
    """What the system under test is, for a report's heading."""
    return (
        "Real system on one machine over loopback: `temporal server start-dev` (SQLite file in "
        f"a fresh temporary data directory, ports {system.temporal_port}/"
        f"{system.temporal_ui_port})"
    )


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process, from /proc (0 if it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def wait_until_idle(pids: Sequence[int], limit: float, window: float = 5.0) -> float:
    """Waits until the processes together use under 10% of a core over ``window`` seconds
    (party workers fill their safe-prime pools in the background, which would otherwise
    compete with what is timed); returns the seconds waited."""
    start = time.perf_counter()
    while time.perf_counter() - start < limit:
        before = sum(_cpu_seconds(pid) for pid in pids)
        await asyncio.sleep(window)
        if sum(_cpu_seconds(pid) for pid in pids) - before < 0.1 * window:
            break
    return time.perf_counter() - start


def print_logs(data_dir: Path, lines: int = 40) -> None:
    """The tail of every process log: what failed, before the directory goes."""
    for log in sorted((data_dir / "logs").glob("*.log")):
        tail = log.read_text(errors="replace").splitlines()[-lines:]
        print(f"\n==> {log} (last {len(tail)} lines) <==", file=sys.stderr)
        print("\n".join(tail), file=sys.stderr)


def run_in(system: Settings, keep_data: bool, main: Coroutine[Any, Any, T]) -> T:
    """Runs ``main``, which starts the local topology of ``system``: if it fails, the process
    logs are printed first; the data directory is removed afterwards unless ``keep_data``.
    A SIGTERM still stops the topology's processes (``finally`` blocks run on exit)."""
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(128 + signal.SIGTERM))
    try:
        return asyncio.run(main)
    except BaseException:
        print_logs(system.data_dir)
        raise
    finally:
        if keep_data:
            print(f"\nData directory kept: {system.data_dir}", file=sys.stderr)
        else:
            shutil.rmtree(system.data_dir, ignore_errors=True)


def run_and_report(
    system: Settings,
    args: argparse.Namespace,
    wall_start: float,
    main: Coroutine[Any, Any, T],
    report: Callable[[T], None],
    results: Callable[[T, float], dict[str, Any]],
) -> int:
    """The rest of a Temporal benchmark's ``main``, once its heading is printed: ``main``
    run (:func:`run_in`, ``--keep-data``), its results printed by ``report``, then the total
    time and, with ``--json``, ``results(measured, elapsed seconds)``."""
    sys.stdout.flush()
    measured = run_in(system, args.keep_data, main)
    report(measured)
    return finish(wall_start, args.json, lambda elapsed: results(measured, elapsed))


@dataclass
class Running:
    """A started topology, seen from the benchmark's client."""

    topology: LocalTopology
    client: Client
    startup_seconds: float
    idle_waits: list[float] = field(default_factory=list)  # seconds, per wait for idle

    @property
    def authorizer(self) -> RequestAuthorizer:
        """The key this deployment's client signs its requests' authorizations with."""
        return load_request_authorizer(self.topology.settings)

    def primaries(self, count: int) -> tuple[str, ...]:
        """The first ``count`` primary parties (the reference topology has five, and a
        backup that would make wallets 3-of-6 by default)."""
        assert self.topology.topology is not None  # noqa: S101 - start() sets it
        return tuple(p.id for p in self.topology.topology.primaries)[:count]

    async def idle(self, why: str, limit: float) -> None:
        """Waits (at most ``limit`` seconds) until the workers are idle; the wait is kept."""
        note(f"waiting for the workers to go idle ({why})")
        workers = self.topology.workers.values()
        pids = [w.process.pid for w in workers if w.process is not None]
        self.idle_waits.append(await wait_until_idle(pids, limit))


@asynccontextmanager
async def running(system: Settings, modulus_bits: int | None = None) -> AsyncIterator[Running]:
    """The local topology, started (with the party workers' Paillier modulus size, if given)
    and stopped on exit."""
    # Production sizes unless the run asks for 2048-bit moduli: then each party process
    # runs bench.weak_party, the same worker with the test-only sizes.
    party_module = None
    if modulus_bits is not None and modulus_bits != PRODUCTION.modulus_bits:
        if modulus_bits != FAST_TESTS.modulus_bits:
            raise ValueError(
                f"the workers run {PRODUCTION.modulus_bits}-bit moduli, or "
                f"{FAST_TESTS.modulus_bits} through bench.weak_party; not {modulus_bits}"
            )
        party_module = WEAK_PARTY_MODULE
    topology = LocalTopology(system, party_module=party_module)
    note("starting the Temporal dev server and one worker process per party + coordinator")
    started = time.perf_counter()
    try:
        await topology.start()
        assert topology.client is not None  # noqa: S101 - start() sets it
        yield Running(topology, topology.client, time.perf_counter() - started)
    finally:
        note("stopping the topology")
        topology.stop()


class Ids:
    """Fresh idempotency keys (the workflow ids), one per request of this run."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.run = uuid.uuid4().hex[:8]
        self.counter = 0

    def __call__(self, kind: str) -> str:
        self.counter += 1
        return f"{self.prefix}-{self.run}-{kind}-{self.counter}"


# -- workflows that cannot finish ----------------------------------------------------------


class Abandoned(Exception):
    """A workflow did not finish in time, or cannot progress; the text says why."""


async def _failure_text(client: Client, failure: Failure) -> str:
    """A failure's message, decoded (Quorate's codec encrypts failure attributes)."""
    copy = type(failure)()
    copy.CopyFrom(failure)
    try:
        text = str(await client.data_converter.decode_failure(copy))
    except Exception:
        text = failure.message
    lines = text.strip().splitlines()
    return lines[-1][:300] if lines else "no message"


async def _stuck(client: Client, workflow_id: str) -> str | None:
    """Why a running workflow cannot progress, if it cannot: its workflow task or one of
    its activities has failed 3 times or more (a build without the path measured, or one
    caught mid-edit, retries such failures until a deadline or forever)."""
    handle = client.get_workflow_handle(workflow_id)
    try:
        described = (await handle.describe()).raw_description
    except Exception:  # not started yet, or a transient error
        return None
    for pending in described.pending_activities:
        if pending.attempt >= 3 and pending.HasField("last_failure"):
            message = await _failure_text(client, pending.last_failure)
            return (
                f"activity {pending.activity_type.name} keeps failing (attempt "
                f"{pending.attempt}): {message}"
            )
    if described.HasField("pending_workflow_task"):
        attempt = described.pending_workflow_task.attempt
        if attempt >= 3:
            message = "no failure recorded"
            with contextlib.suppress(Exception):
                async for event in handle.fetch_history_events():
                    if event.HasField("workflow_task_failed_event_attributes"):
                        failure = event.workflow_task_failed_event_attributes.failure
                        message = await _failure_text(client, failure)
            return (
                f"the workflow task of {workflow_id} keeps failing (attempt {attempt}): {message}"
            )
    return None


async def watched(client: Client, workflow_id: str, call: Awaitable[T], timeout: float | None) -> T:
    """``call`` (a workflow run through quorate.client), abandoned (and the workflow
    terminated) if it exceeds ``timeout`` or is stuck (see :func:`_stuck`); with no
    ``timeout``, simply awaited."""
    if timeout is None:
        return await call
    task = asyncio.ensure_future(call)
    deadline = time.perf_counter() + timeout
    reason: str | None = None
    # No look at the workflow in the first seconds: a request that finishes in them (every
    # timed one, normally) runs exactly as it would unwatched.
    wait = min(10.0, timeout)
    try:
        while reason is None:
            done, _ = await asyncio.wait({task}, timeout=wait)
            wait = 2.0
            if done:
                return task.result()
            if time.perf_counter() > deadline:
                reason = f"{workflow_id} did not complete within {timeout:.0f} s"
            else:
                reason = await _stuck(client, workflow_id)
    finally:
        if not task.done():
            task.cancel()
    with contextlib.suppress(Exception):  # already closed
        await client.get_workflow_handle(workflow_id).terminate(reason="bench: abandoned")
    raise Abandoned(reason)


# -- what the benchmarks run ---------------------------------------------------------------


async def new_wallet(
    client: Client,
    wallet_id: str,
    scheme: Scheme,
    parties: tuple[str, ...] = (),
    threshold: int | None = None,
    timeout: float | None = None,
) -> tuple[CreateWalletResult, float]:
    """A wallet by DKG (every party of the topology unless ``parties``); the seconds taken."""
    request = CreateWalletInput(
        wallet_id=wallet_id, scheme=scheme, parties=parties, threshold=threshold
    )
    key = f"{wallet_id}-create"
    start = time.perf_counter()
    wallet = await watched(client, key, create_wallet(client, request, key), timeout)
    return wallet, time.perf_counter() - start


@dataclass
class Signed:
    message: bytes
    result: SignResult
    seconds: float  # client start -> result


async def sign_once(
    client: Client,
    key: str,
    wallet: CreateWalletResult,
    message_bytes: int = 32,
    timeout: float | None = None,
    *,
    authorizer: RequestAuthorizer,
) -> Signed:
    """``Sign`` of a fresh random message, timed from client start to result (the
    authorization is signed inside the timed region, as every client does)."""
    message = os.urandom(message_bytes)
    request = SignInput(wallet_id=wallet.wallet_id, message=message.hex())
    start = time.perf_counter()
    call = sign(client, request, key, authorizer=authorizer)
    result = await watched(client, key, call, timeout)
    return Signed(message, result, time.perf_counter() - start)


def verify_all(wallet: CreateWalletResult, signed: Sequence[Signed]) -> int:
    """Every result checked by libsecp256k1 / libsodium; how many."""
    for s in signed:
        verify_sign_result(wallet, s.message, s.result)
    return len(signed)


@dataclass(frozen=True)
class Series:
    stats: Stats
    seconds: list[float]  # the timed runs
    verified: int  # signatures verified, the warm-ups' included


async def sign_series(
    client: Client,
    ids: Ids,
    wallet: CreateWalletResult,
    *,
    runs: int,
    warmup: int,
    message_bytes: int = 32,
    timeout: float | None = None,
    authorizer: RequestAuthorizer,
) -> Series:
    """``warmup`` + ``runs`` sequential ``Sign`` requests, the last ``runs`` timed; every
    signature verified after the clock stopped."""
    signed = [
        await sign_once(
            client,
            ids(f"sign-{wallet.scheme}"),
            wallet,
            message_bytes,
            timeout,
            authorizer=authorizer,
        )
        for _ in range(warmup + runs)
    ]
    seconds = [s.seconds for s in signed[warmup:]]
    return Series(Stats.from_seconds(seconds), seconds, verify_all(wallet, signed))


async def setup_all_parties(client: Client, ids: Ids, timeout: float | None) -> float:
    """``SetupEcdsa``: every party's auxiliary information, cross-verified; the seconds."""
    key = ids("setup")
    start = time.perf_counter()
    await watched(client, key, setup_ecdsa(client, EcdsaSetupInput(session=key), key), timeout)
    return time.perf_counter() - start


async def fill_presignature_pool(
    client: Client, ids: Ids, wallet_id: str, count: int, timeout: float | None
) -> float:
    """``count`` presignatures into the wallet's pool (Presign workflows of at most
    :data:`MAX_PRESIGN_BATCH`, ``timeout`` per presignature); the seconds taken."""
    start = time.perf_counter()
    for offset in range(0, count, MAX_PRESIGN_BATCH):
        batch = min(MAX_PRESIGN_BATCH, count - offset)
        key = ids("presign")
        request = PresignInput(wallet_id=wallet_id, count=batch)
        limit = timeout * batch if timeout is not None else None
        await watched(client, key, presign(client, request, key), limit)
    return time.perf_counter() - start
