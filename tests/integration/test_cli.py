"""The client commands, as another service or an operator would use them."""

from __future__ import annotations

import asyncio
import hashlib
import json
import uuid

import pytest
from coincurve import PublicKeyXOnly
from solders.pubkey import Pubkey
from typer.testing import CliRunner

from quorate.cli import app
from tests.integration.conftest import System


def _env(system: System) -> dict[str, str]:
    return {key: value for key, value in system.settings.to_env().items()}


async def _invoke(system: System, *args: str) -> tuple[int, str, str]:
    # The workers run on this event loop, so the command runs in a thread meanwhile.
    result = await asyncio.to_thread(CliRunner().invoke, app, list(args), env=_env(system))
    return result.exit_code, result.stdout, result.stderr


async def test_wallet_create_and_sign_commands(system: System) -> None:
    wallet_id = f"cli-{uuid.uuid4().hex[:8]}"
    code, out, err = await _invoke(
        system, "wallet", "create", "--wallet-id", wallet_id, "--scheme", "bip340"
    )
    assert code == 0, err
    assert json.loads(out)["wallet_id"] == wallet_id
    digest = hashlib.sha256(b"cli").hexdigest()
    code, out, err = await _invoke(
        system, "sign", "--wallet-id", wallet_id, "--message", digest, "--idempotency-key", "k1"
    )
    assert code == 0, err
    signed = json.loads(out)
    assert PublicKeyXOnly(bytes.fromhex(signed["public_key"])).verify(
        bytes.fromhex(signed["signature"]), bytes.fromhex(digest)
    )
    code, again, _ = await _invoke(
        system, "sign", "--wallet-id", wallet_id, "--message", digest, "--idempotency-key", "k1"
    )
    assert json.loads(again) == signed


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("sign", "--wallet-id", "nope", "--message", "00" * 32), "UnknownWallet"),
        (
            ("wallet", "create", "--wallet-id", "x", "--scheme", "bip340", "--threshold", "9"),
            "InvalidThreshold",
        ),
    ],
    ids=["unknown-wallet", "threshold-above-parties"],
)
async def test_refusals_exit_2_with_the_error_type(
    system: System, args: tuple[str, ...], expected: str
) -> None:
    code, _, err = await _invoke(system, *args)
    assert code == 2
    assert expected in err


async def test_wallet_address_faucet_transfer_and_balance_commands(system: System) -> None:
    wallet_id = f"cli-sol-{uuid.uuid4().hex[:8]}"
    code, _, err = await _invoke(
        system, "wallet", "create", "--wallet-id", wallet_id, "--scheme", "ed25519"
    )
    assert code == 0, err
    code, out, err = await _invoke(
        system, "wallet", "address", "--wallet-id", wallet_id, "--chain", "solana"
    )
    assert code == 0, err
    source = json.loads(out)
    assert source["balance"] == 0
    code, out, err = await _invoke(
        system,
        *("chain", "faucet", "--chain", "solana", "--address", source["address"]),
        *("--amount", str(10**9)),
    )
    assert code == 0, err
    assert json.loads(out)["balance"] == 10**9
    recipient = str(Pubkey(hashlib.sha256(b"cli recipient").digest()))
    code, out, err = await _invoke(
        system,
        *("transfer", "--wallet-id", wallet_id, "--chain", "solana", "--to", recipient),
        *("--amount", str(10**7), "--idempotency-key", f"cli-{wallet_id}"),
    )
    assert code == 0, err
    sent = json.loads(out)
    assert sent["status"] == "confirmed"
    assert sent["from_address"] == source["address"]
    code, out, err = await _invoke(
        system, "chain", "balance", "--chain", "solana", "--address", recipient
    )
    assert code == 0, err
    assert json.loads(out)["balance"] == 10**7
    # Bad input: a typed refusal, exit code 2, nothing signed.
    code, _, err = await _invoke(
        system,
        *("transfer", "--wallet-id", wallet_id, "--chain", "solana", "--to", "0x1234"),
        *("--amount", "5"),
    )
    assert code == 2
    assert "InvalidAddress" in err
