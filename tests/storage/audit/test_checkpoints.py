"""Signed checkpoints: the writer (workers.checkpoints), the key (runtime.checkpoint_key) and
their verification (storage.audit.checkpoints), issue 11.

The attack: edit an event, re-hash every event after it and rewrite the index to match. The
chain, the index and every signature then verify; only a checkpoint signed before the edit,
by a key the intruder does not hold, shows it, without any manifest kept by the auditor.
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
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from nacl.signing import VerifyKey
from typer.testing import CliRunner, Result

from quorate.audit_cli import EXIT_ERROR, EXIT_TAMPERED, audit_app
from runtime.checkpoint_key import (
    CheckpointKeyError,
    LocalCheckpointKey,
    ensure_checkpoint_key,
    private_key_path,
    public_key_path,
)
from storage.audit import checkpoints as checkpoint_checks
from storage.audit.checkpoints import format_public_key, load_public_key, parse_public_key
from storage.audit.errors import AuditError
from storage.audit.export import export_events
from storage.audit.findings import Problem
from storage.audit.verify import Checks, VerifyReport, verify_export, verify_url
from storage.events.errors import IdempotencyConflict
from storage.events.models import (
    CHECKPOINT_STREAM,
    ChainCheckpoint,
    checkpoint_signed_message,
    checkpoint_to_new_event,
    parse_checkpoint,
    to_new_event,
    wallet_stream,
)
from storage.events.port import StoredEvent, open_event_store, open_event_store_read_only
from tests.storage.audit.support import (
    EVENT_COUNT,
    Backend,
    SQLiteBackend,
    populate,
    ticking_clock,
    wallet_created,
)
from workers.checkpoints import (
    CheckpointSignatureInvalid,
    interval_from_env,
    run_checkpoints,
    write_checkpoint,
)

SIGNED_AT = datetime(2024, 5, 2, 9, 30, tzinfo=UTC)
KEY = LocalCheckpointKey(bytes(range(32)))
INTRUDER = LocalCheckpointKey(bytes(range(32, 64)))
TRUSTED = Checks(checkpoint_keys=(KEY.public_key,), key_source="the test")
HEX_KEY = format_public_key(KEY.public_key).strip()


async def _checkpoint(url: str, signer: LocalCheckpointKey = KEY) -> StoredEvent:
    async with await open_event_store(url, clock=lambda: SIGNED_AT) as store:
        stored = await write_checkpoint(store, signer, interval_seconds=60.0, now=lambda: SIGNED_AT)
    assert stored is not None
    return stored


async def _checkpointed(backend: Backend) -> tuple[list[StoredEvent], StoredEvent]:
    """The fixture log (15 events) and a checkpoint of it at position 16."""
    stored = await backend.build()
    return stored, await _checkpoint(backend.url)


def _audit(*args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(audit_app, list(args), env=env)


def _assert_finding(report: VerifyReport, problem: Problem, position: int, *reasons: str) -> None:
    """The report's finding is ``problem`` at ``position``, and its reason says each of
    ``reasons``."""
    assert report.finding is not None
    assert (report.finding.problem, report.finding.position) == (problem, position)
    for reason in reasons:
        assert reason in report.finding.reason


# -- the writer ------------------------------------------------------------------------------


async def test_write_checkpoint_signs_the_head(sqlite_backend: SQLiteBackend) -> None:
    stored, event = await _checkpointed(sqlite_backend)
    assert (event.position, event.stream_id) == (EVENT_COUNT + 1, CHECKPOINT_STREAM)
    checkpoint = parse_checkpoint(event)
    assert (checkpoint.head_position, checkpoint.head_hash) == (EVENT_COUNT, stored[-1].hash)
    assert checkpoint.signed_at == SIGNED_AT
    assert checkpoint.public_key == KEY.public_key.hex()
    VerifyKey(KEY.public_key).verify(
        checkpoint.signed_message(), bytes.fromhex(checkpoint.signature)
    )
    # The head is a checkpoint now: nothing new to sign.
    async with await open_event_store(sqlite_backend.url) as store:
        assert await write_checkpoint(store, KEY) is None
        assert await store.head_position() == EVENT_COUNT + 1


async def test_write_checkpoint_of_an_empty_store_writes_nothing(tmp_path: Path) -> None:
    async with await open_event_store(f"sqlite:///{tmp_path}/e.sqlite3") as store:
        assert await write_checkpoint(store, KEY) is None
        assert await store.head_position() == 0


async def test_a_head_signed_twice_is_recorded_once(sqlite_backend: SQLiteBackend) -> None:
    """Two writers (or one retrying after a crash) signing the same head: the second is
    recognized by its idempotency key and records nothing."""
    await sqlite_backend.build()
    async with await open_event_store(sqlite_backend.url) as store:
        head = await store.head()
        assert head is not None
        first = await write_checkpoint(store, KEY, now=lambda: SIGNED_AT)
        assert first is not None
        message = checkpoint_signed_message(
            head_position=head.position,
            head_hash=head.hash,
            signed_at=SIGNED_AT + timedelta(seconds=1),
            interval_seconds=60.0,
        )
        other = ChainCheckpoint(
            head_position=head.position,
            head_hash=head.hash,
            signed_at=SIGNED_AT + timedelta(seconds=1),
            interval_seconds=60.0,
            public_key=KEY.public_key.hex(),
            signature=(await KEY.sign(message)).hex(),
        )
        with pytest.raises(IdempotencyConflict):
            await store.append(checkpoint_to_new_event(other))
        assert await store.count() == EVENT_COUNT + 1


async def test_events_appended_while_signing_are_covered_by_the_next_checkpoint(
    sqlite_backend: SQLiteBackend,
) -> None:
    """An append lands between the writer's read of the head and its own append: that
    checkpoint covers the head it read, and the next one signs over it."""
    await sqlite_backend.build()
    async with await open_event_store(sqlite_backend.url) as store:

        class Racing(LocalCheckpointKey):
            async def sign(self, message: bytes) -> bytes:
                await store.append(
                    to_new_event(
                        wallet_created("w9"),
                        stream_id=wallet_stream("w9"),
                        idempotency_key="w9/raced",
                    )
                )
                return await super().sign(message)

        first = await write_checkpoint(store, Racing(bytes(range(32))))
        assert first is not None
        assert (parse_checkpoint(first).head_position, first.position) == (15, 17)
        second = await write_checkpoint(store, KEY)
        assert second is not None
        assert (parse_checkpoint(second).head_position, second.position) == (17, 18)
        assert await write_checkpoint(store, KEY) is None
    report = await verify_url(sqlite_backend.url, checks=TRUSTED)
    assert report.ok, report.summary()
    assert "come after the last checkpoint" not in report.summary()


async def test_a_signer_that_returns_a_bad_signature_records_nothing(
    sqlite_backend: SQLiteBackend,
) -> None:
    class Broken(LocalCheckpointKey):
        async def sign(self, message: bytes) -> bytes:
            return bytes(64)

    await sqlite_backend.build()
    async with await open_event_store(sqlite_backend.url) as store:
        with pytest.raises(CheckpointSignatureInvalid):
            await write_checkpoint(store, Broken(bytes(32)))
        assert await store.count() == EVENT_COUNT


async def test_run_checkpoints_signs_new_events_each_interval_and_once_more_on_stop(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path}/events.sqlite3"
    stop = asyncio.Event()
    async with await open_event_store(url, clock=ticking_clock()) as store:
        await populate(store)
        runner = asyncio.create_task(run_checkpoints(store, KEY, 0.05, stop))

        async def checkpoints() -> list[StoredEvent]:
            return await store.read_stream(CHECKPOINT_STREAM)

        async def covered() -> bool:
            """Whether the head is a checkpoint: every event before it is signed for."""
            for _ in range(300):
                head = await store.head()
                if (
                    head is not None
                    and head.event_type == "ChainCheckpoint"
                    and parse_checkpoint(head).head_position == head.position - 1
                ):
                    return True
                await asyncio.sleep(0.01)
            return False

        assert await covered()  # At once, covering the fixture's 15 events.
        assert len(await checkpoints()) == 1
        await asyncio.sleep(0.2)  # Idle: the head is a checkpoint, nothing is re-signed.
        assert len(await checkpoints()) == 1
        await populate(store, repeat=2)  # New events (the second round, renamed).
        assert await covered()
        assert len(await checkpoints()) >= 2
        await populate(store, repeat=3)
        stop.set()
        written = await asyncio.wait_for(runner, 5)
        # The last one, on stop, covers the last events.
        assert written == len(await checkpoints())
        head = await store.head()
        assert head is not None
        assert head.event_type == "ChainCheckpoint"
    report = await verify_url(url, checks=TRUSTED)
    assert report.ok, report.summary()
    assert f"checkpoints: {written} verified" in report.summary()
    assert "come after the last checkpoint" not in report.summary()


async def test_run_checkpoints_survives_a_failing_write(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/events.sqlite3"
    stop = asyncio.Event()
    calls = 0

    class Flaky(LocalCheckpointKey):
        async def sign(self, message: bytes) -> bytes:
            nonlocal calls
            calls += 1
            if calls == 1:
                raise OSError("the KMS is unreachable")
            return await super().sign(message)

    async with await open_event_store(url, clock=ticking_clock()) as store:
        await populate(store)
        runner = asyncio.create_task(run_checkpoints(store, Flaky(bytes(range(32))), 0.05, stop))
        await asyncio.sleep(0.3)
        stop.set()
        assert await asyncio.wait_for(runner, 5) == 1
        assert len(await store.read_stream(CHECKPOINT_STREAM)) == 1


def test_the_interval_setting_fails_by_name() -> None:
    assert interval_from_env({}) == 60.0
    assert interval_from_env({"QUORATE_CHECKPOINT_INTERVAL": "2.5"}) == 2.5
    for bad in ("0", "-1", "soon"):
        with pytest.raises(ValueError, match="QUORATE_CHECKPOINT_INTERVAL"):
            interval_from_env({"QUORATE_CHECKPOINT_INTERVAL": bad})


# -- verification ------------------------------------------------------------------------------


async def test_an_intact_checkpointed_store_verifies(backend: Backend) -> None:
    await _checkpointed(backend)
    report = await verify_url(backend.url, checks=TRUSTED)
    assert report.ok, report.summary()
    assert f"checkpoints: 1 verified against {HEX_KEY}" in report.summary()
    assert f"covers positions up to {EVENT_COUNT}" in report.summary()


async def test_a_rehashed_chain_is_named_through_its_checkpoint(backend: Backend) -> None:
    """The issue's case: chain and index re-hashed after an edit pass everything else."""
    await _checkpointed(backend)
    # Who signed: the kind of edit that leaves every signature valid.
    await backend.rehash(8, signers=["us-1", "us-2", "apac-1"])
    without_key = await verify_url(backend.url)
    assert without_key.ok  # Chain, index and signatures all verify again...
    assert "NOT verified" in without_key.summary()  # ...and the report says what it lacks.
    report = await verify_url(backend.url, checks=TRUSTED, batch_size=4)
    _assert_finding(
        report,
        Problem.CHECKPOINT_MISMATCH,
        EVENT_COUNT + 1,
        f"rewritten at or before position {EVENT_COUNT}",
    )


def test_the_cli_names_a_rehashed_chain(sqlite_backend: SQLiteBackend, tmp_path: Path) -> None:
    asyncio.run(_checkpointed(sqlite_backend))
    asyncio.run(sqlite_backend.rehash(3, protocol="frost-but-not-really"))
    key_file = tmp_path / "auditor.pub"
    key_file.write_text(format_public_key(KEY.public_key))
    for key in (HEX_KEY, KEY.public_key.hex(), str(key_file)):
        result = _audit("verify", "--url", sqlite_backend.url, "--checkpoint-key", key)
        assert result.exit_code == EXIT_TAMPERED, result.output
        assert f"position {EVENT_COUNT + 1}: checkpoint-mismatch" in result.stdout
    unchecked = _audit("verify", "--url", sqlite_backend.url)
    assert unchecked.exit_code == 0
    assert "checkpoints: 1 found, NOT verified: no checkpoint public key" in unchecked.stdout


def test_the_cli_uses_the_data_directorys_key_for_the_deployments_store(
    sqlite_backend: SQLiteBackend, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    public = ensure_checkpoint_key(data)
    signer = LocalCheckpointKey.load(private_key_path(data))
    assert signer.public_key == public

    async def build() -> None:
        await sqlite_backend.build()
        await _checkpoint(sqlite_backend.url, signer)

    asyncio.run(build())
    env = {"QUORATE_DATA_DIR": str(data), "QUORATE_EVENT_STORE_URL": sqlite_backend.url}
    result = _audit("verify", env=env)
    assert result.exit_code == 0, result.output
    assert f"checkpoints: 1 verified against ed25519:{public.hex()}" in result.stdout
    assert str(public_key_path(data)) in result.stdout
    asyncio.run(sqlite_backend.rehash(5, reason="nothing happened"))
    result = _audit("verify", "--json", env=env)
    assert result.exit_code == EXIT_TAMPERED
    assert json.loads(result.stdout)["finding"]["problem"] == "checkpoint-mismatch"
    # Another store (--url) is not the data directory's: its key is not assumed.
    other = _audit("verify", "--url", sqlite_backend.url, env=env)
    assert "NOT verified" in other.stdout


async def test_a_rehash_that_drops_the_checkpoints_is_named(backend: Backend) -> None:
    """Removing the checkpoints with the edit leaves a log no checkpoint covers at all."""
    await _checkpointed(backend)
    await backend.delete_with_index(EVENT_COUNT + 1)
    await backend.rehash(8, signers=["us-1", "us-2", "apac-1"])
    report = await verify_url(backend.url, checks=TRUSTED)
    _assert_finding(report, Problem.CHECKPOINT_MISSING, 1, "nothing vouches")


async def _checkpoint_then_more(url: str, step: timedelta) -> None:
    """The fixture (1..15), a checkpoint of it (16), then 15 more events (17..31), ``step``
    apart, that no checkpoint covers."""
    async with await open_event_store(url, clock=ticking_clock()) as store:
        await populate(store)
    await _checkpoint(url)
    async with await open_event_store(url, clock=ticking_clock(SIGNED_AT, step)) as store:
        # Round one repeats the fixture's keys (recognized, not stored again); round two
        # appends 15 new events.
        await populate(store, repeat=2)


async def test_a_log_still_being_written_names_what_no_checkpoint_covers_yet(
    sqlite_backend: SQLiteBackend,
) -> None:
    """Events that came within two intervals of the newest one: not yet due a checkpoint."""
    await _checkpoint_then_more(sqlite_backend.url, timedelta(seconds=1))
    report = await verify_url(sqlite_backend.url, checks=TRUSTED)
    assert report.ok, report.summary()
    assert report.last_position == 31
    assert "positions 17..31 come after the last checkpoint" in report.summary()


async def test_events_long_after_the_last_checkpoint_are_named(
    sqlite_backend: SQLiteBackend,
) -> None:
    """An intruder who keeps the checkpoints below the edit and drops those above leaves
    events the writer would have covered long ago: named, with what nothing vouches for."""
    await _checkpoint_then_more(sqlite_backend.url, timedelta(minutes=1))
    report = await verify_url(sqlite_backend.url, checks=TRUSTED)
    _assert_finding(
        report,
        Problem.CHECKPOINT_MISSING,
        17,
        "no checkpoint covers the events after position 15",
        "the log goes on for 840 s after position 17",
        "nothing vouches for positions 17..31",
    )


async def test_a_young_log_without_a_checkpoint_yet_is_not_a_finding(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/events.sqlite3"
    async with await open_event_store(
        url, clock=ticking_clock(SIGNED_AT, timedelta(seconds=2))
    ) as store:
        await populate(store)  # 15 events over 28 seconds
    report = await verify_url(url, checks=TRUSTED)
    assert report.ok, report.summary()
    assert "checkpoints: none verified" in report.summary()
    assert "positions 1..15 come after the last checkpoint" in report.summary()


async def test_a_checkpoint_signed_by_another_key_is_named(backend: Backend) -> None:
    """Whoever re-hashed signs a checkpoint of their own: not a trusted key."""
    await backend.build()
    await backend.rehash(4, signers=["us-1", "eu-1", "apac-1"])
    forged = await _checkpoint(backend.url, INTRUDER)
    report = await verify_url(backend.url, checks=TRUSTED)
    _assert_finding(
        report,
        Problem.CHECKPOINT_INVALID,
        forged.position,
        f"signed by ed25519:{INTRUDER.public_key.hex()}, which is not a trusted",
    )


async def test_a_checkpoint_whose_signature_was_altered_is_named(
    sqlite_backend: SQLiteBackend,
) -> None:
    await sqlite_backend.build()
    async with await open_event_store(sqlite_backend.url) as store:
        head = await store.head()
        assert head is not None
        message = checkpoint_signed_message(
            head_position=head.position,
            head_hash=head.hash,
            signed_at=SIGNED_AT,
            interval_seconds=60.0,
        )
        signature = bytearray(await KEY.sign(message))
        signature[0] ^= 1
        stored = await store.append(
            checkpoint_to_new_event(
                ChainCheckpoint(
                    head_position=head.position,
                    head_hash=head.hash,
                    signed_at=SIGNED_AT,
                    interval_seconds=60.0,
                    public_key=KEY.public_key.hex(),
                    signature=signature.hex(),
                )
            )
        )
    report = await verify_url(sqlite_backend.url, checks=TRUSTED)
    _assert_finding(
        report, Problem.CHECKPOINT_INVALID, stored.position, "signature does not verify"
    )


async def _append_signed(url: str, head_position: int, head_hash: str) -> StoredEvent:
    message = checkpoint_signed_message(
        head_position=head_position,
        head_hash=head_hash,
        signed_at=SIGNED_AT,
        interval_seconds=60.0,
    )
    checkpoint = ChainCheckpoint(
        head_position=head_position,
        head_hash=head_hash,
        signed_at=SIGNED_AT,
        interval_seconds=60.0,
        public_key=KEY.public_key.hex(),
        signature=(await KEY.sign(message)).hex(),
    )
    async with await open_event_store(url) as store:
        return await store.append(checkpoint_to_new_event(checkpoint))


async def test_a_checkpoint_of_a_head_not_before_it_is_named(
    sqlite_backend: SQLiteBackend,
) -> None:
    await sqlite_backend.build()
    stored = await _append_signed(sqlite_backend.url, EVENT_COUNT + 1, "ab" * 32)
    report = await verify_url(sqlite_backend.url, checks=TRUSTED)
    _assert_finding(report, Problem.CHECKPOINT_INVALID, stored.position, "which is not before it")


async def test_a_checkpoint_of_a_head_too_far_back_is_named(
    sqlite_backend: SQLiteBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Events inserted under an old checkpoint push its head out of the verifier's window:
    refused, not left unchecked."""
    stored = await sqlite_backend.build()
    monkeypatch.setattr(checkpoint_checks, "CHECKPOINT_WINDOW", 5)
    late = await _append_signed(sqlite_backend.url, 3, stored[2].hash)
    report = await verify_url(sqlite_backend.url, checks=TRUSTED)
    _assert_finding(report, Problem.CHECKPOINT_INVALID, late.position, "positions before it")


async def test_an_export_is_verified_against_its_checkpoints(
    sqlite_backend: SQLiteBackend, tmp_path: Path
) -> None:
    await _checkpointed(sqlite_backend)
    out = tmp_path / "all.jsonl"
    async with await open_event_store(sqlite_backend.url) as store:
        await export_events(store, out)
    report = verify_export(out, checks=TRUSTED)
    assert report.ok, report.summary()
    assert "checkpoints: 1 verified" in report.summary()
    # Re-hashed in the file, and the manifest made again to match: the checkpoint objects.
    await sqlite_backend.rehash(8, signers=["us-1", "us-2", "apac-1"])
    rewritten = tmp_path / "rewritten.jsonl"
    async with await open_event_store(sqlite_backend.url) as store:
        await export_events(store, rewritten)
    assert verify_export(rewritten).ok
    report = verify_export(rewritten, checks=TRUSTED)
    assert report.finding is not None
    assert report.finding.problem is Problem.CHECKPOINT_MISMATCH
    assert report.finding.line == EVENT_COUNT + 1


def test_a_bad_checkpoint_key_argument_is_an_error(sqlite_backend: SQLiteBackend) -> None:
    asyncio.run(sqlite_backend.build())
    result = _audit("verify", "--url", sqlite_backend.url, "--checkpoint-key", "ed25519:zz")
    assert result.exit_code == EXIT_ERROR
    assert result.stderr.startswith("error: checkpoint key 'ed25519:zz' is neither")
    assert len(result.stderr.strip().splitlines()) == 1


# -- the key -----------------------------------------------------------------------------------


def test_the_local_key_is_private_and_never_replaced(tmp_path: Path) -> None:
    path = tmp_path / "checkpoint-key"
    key = LocalCheckpointKey.create(path, seed=bytes(range(32)))
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert LocalCheckpointKey.load(path).public_key == key.public_key == KEY.public_key
    with pytest.raises(CheckpointKeyError, match="already exists"):
        LocalCheckpointKey.create(path)
    assert "<redacted>" not in repr(key)  # Only the public key is shown...
    assert bytes(range(32)).hex() not in repr(key)  # ...never the seed.
    os.chmod(path, 0o644)
    with pytest.raises(CheckpointKeyError, match="chmod 600"):
        LocalCheckpointKey.load(path)
    with pytest.raises(CheckpointKeyError, match="no checkpoint key"):
        LocalCheckpointKey.load(tmp_path / "absent")


def test_provisioning_the_key_is_idempotent(tmp_path: Path) -> None:
    first = ensure_checkpoint_key(tmp_path)
    public = public_key_path(tmp_path)
    assert public.read_text() == f"ed25519:{first.hex()}\n"
    public.write_text("ed25519:" + "00" * 32 + "\n")  # A stale or tampered public file.
    assert ensure_checkpoint_key(tmp_path) == first
    assert load_public_key(str(public)) == first


def test_public_key_spellings() -> None:
    key = KEY.public_key
    assert parse_public_key(f"ed25519:{key.hex()}\n") == parse_public_key(key.hex()) == key
    for bad in ("", "ed25519:", key.hex()[:-2], key.hex().upper(), "ed25519:" + "zz" * 32):
        with pytest.raises(ValueError, match="64 lowercase hex"):
            parse_public_key(bad)
    with pytest.raises(AuditError, match="neither"):
        load_public_key("/nonexistent/key.pub")


# -- the worker process --------------------------------------------------------------------------


@pytest.mark.timeout(120)
def test_the_checkpoint_worker_process_checkpoints_until_sigterm(tmp_path: Path) -> None:
    """``python -m workers.checkpoints`` as the local topology would run it: the data
    directory's key, the settings' store; SIGTERM leaves the log covered to its end."""
    data = tmp_path / "data"
    ensure_checkpoint_key(data)
    backend = SQLiteBackend(data)
    asyncio.run(backend.build())
    env = {
        **os.environ,
        "QUORATE_DATA_DIR": str(data),
        "QUORATE_EVENT_STORE_URL": backend.url,
        "QUORATE_CHECKPOINT_INTERVAL": "0.2",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "workers.checkpoints"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:

        async def checkpoints() -> int:
            async with await open_event_store_read_only(backend.url) as store:
                return len(await store.read_stream(CHECKPOINT_STREAM))

        deadline = time.monotonic() + 60
        while asyncio.run(checkpoints()) == 0 and time.monotonic() < deadline:
            assert process.poll() is None, process.stdout.read() if process.stdout else ""
            time.sleep(0.1)
        assert asyncio.run(checkpoints()) >= 1

        async def more() -> None:
            async with await open_event_store(backend.url, clock=ticking_clock()) as store:
                await populate(store, repeat=2)

        asyncio.run(more())
    finally:
        process.send_signal(signal.SIGTERM)
        output = process.communicate(timeout=30)[0].decode()
    assert process.returncode == 0, output
    result = _audit(
        "verify", env={"QUORATE_DATA_DIR": str(data), "QUORATE_EVENT_STORE_URL": backend.url}
    )
    assert result.exit_code == 0, result.output
    assert "come after the last checkpoint" not in result.stdout
    assert "checkpoints: " in result.stdout
    assert " verified against ed25519:" in result.stdout
