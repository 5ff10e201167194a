"""``quorate demo --json`` as a newcomer runs it: embedded dev server, SQLite, one process
per worker. Every signature it prints verifies with libsecp256k1 / libsodium."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from coincurve import PublicKey, PublicKeyXOnly
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from nacl.signing import VerifyKey

from chains.config import ChainsConfig
from chains.models import Prevout
from mpc.group.secp256k1 import ORDER
from storage.events.port import open_event_store, verify_chain
from tests.chains.engine_checks import (
    EngineRefusedError,
    bitcoin_accepts,
    evm_accepts,
    flip_signature_bit,
    solana_accepts,
)
from tests.integration.conftest import process_env


async def test_demo_json_signatures_verify(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    env = process_env(data_dir)
    done = subprocess.run(
        [sys.executable, "-m", "tests.helpers.weak_quorate", "demo", "--messages", "10", "--json"],
        env=env,
        capture_output=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr.decode()[-3000:]
    report = json.loads(done.stdout.decode().strip().splitlines()[-1])
    assert {w["scheme"] for w in report["wallets"]} == {"bip340", "ed25519", "ecdsa-secp256k1"}
    assert len(report["signatures"]) == 25
    for entry in report["signatures"]:
        key = bytes.fromhex(entry["public_key"])
        message = bytes.fromhex(entry["message"])
        signature = bytes.fromhex(entry["signature"])
        assert len(entry["signers"]) == 3
        if entry["scheme"] == "ecdsa-secp256k1":
            assert len(key) == 33
            assert len(message) == 32
            der = encode_dss_signature(
                int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")
            )
            assert PublicKey(key).verify(der, message, hasher=None)
            assert int.from_bytes(signature[32:], "big") <= ORDER // 2
            recovered = PublicKey.from_signature_and_message(
                signature + bytes([entry["recovery_id"]]), message, hasher=None
            )
            assert recovered.format() == key
        elif entry["scheme"] == "bip340":
            assert len(key) == 32
            assert len(message) == 32
            assert PublicKeyXOnly(key).verify(signature, message)
            assert not PublicKeyXOnly(key).verify(
                bytes([signature[0] ^ 1]) + signature[1:], message
            )
        else:
            VerifyKey(key).verify(message, signature)
    # The event store the demo reports is real and its hash chain holds.
    store = report["event_store"]
    events = await open_event_store(store["url"])
    try:
        stored = await events.read_all()
    finally:
        await events.close()
    transfers = report["transactions"]
    assert {t["chain"] for t in transfers} == {
        "ethereum",
        "polygon",
        "arbitrum",
        "bitcoin-p2wpkh",
        "bitcoin-p2tr",
        "solana",
    }
    chains = ChainsConfig.load()
    payloads = 0
    for t in transfers:
        config = chains.get(t["chain"])
        raw = bytes.fromhex(t["raw_tx"])
        assert t["status"] == "confirmed"
        assert t["confirmations"] >= config.confirmations
        # Balances moved on the engine.
        balances = t["balances"]
        assert balances["to_after"] - balances["to_before"] == t["amount"]
        paid = balances["from_before"] - balances["from_after"]
        assert t["amount"] < paid <= t["amount"] + t["fee"]
        # The raw bytes are accepted by a fresh engine of the chain, and one flipped
        # signature bit makes that engine refuse them.
        flipped = flip_signature_bit(config.family, raw, config.output)
        if config.family == "evm":
            assert config.chain_id is not None
            await evm_accepts(raw, t["from"], config.chain_id)
            with pytest.raises(EngineRefusedError):
                await evm_accepts(flipped, t["from"], config.chain_id)
            payloads += 1
        elif config.family == "bitcoin":
            prevouts = [Prevout.model_validate(p) for p in t["prevouts"]]
            assert prevouts
            assert all({"script_pubkey", "amount"} <= set(p) for p in t["prevouts"])
            bitcoin_accepts(raw, prevouts)
            with pytest.raises(EngineRefusedError):
                bitcoin_accepts(flipped, prevouts)
            payloads += len(prevouts)
        else:
            solana_accepts(raw, balances["from_before"])
            with pytest.raises(EngineRefusedError):
                solana_accepts(flipped, balances["from_before"])
            payloads += 1
    # Per transfer: built, broadcast, confirmed; per signing payload: a ceremony started
    # and its signature produced.
    # The checkpoint signer adds ChainCheckpoint events: now and then, and one over the final
    # head when the demo stops it (after the report was taken), unless a periodic one already
    # covered that head.
    domain = [e for e in stored if e.event_type != "ChainCheckpoint"]
    assert len(domain) == 3 + 3 + 25 + 25 + 3 * len(transfers) + 2 * payloads
    after_report = stored[store["events"] :]
    assert len(after_report) <= 1
    assert all(e.event_type == "ChainCheckpoint" for e in after_report)
    assert stored[store["events"] - 1].hash == store["head_hash"]
    assert stored[-1].event_type == "ChainCheckpoint"
    verify_chain(stored)
    # Histories persist in the data directory's SQLite file, and the stderr names the UI.
    assert (data_dir / "temporal.sqlite").stat().st_size > 0
    assert "Temporal UI: http://127.0.0.1:" in done.stderr.decode()
