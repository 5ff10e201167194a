"""Threshold ECDSA through Temporal: aux-info setup, a DKG wallet, CGGMP21 signing.

The tests use 2048-bit Paillier moduli (QUORATE_ECDSA_MODULUS_BITS) to keep the suite
fast; the production size (3072) is exercised by the unit tests of mpc.ecdsa and by
`quorate demo`.
"""

from __future__ import annotations

import hashlib
import uuid

import pytest
from coincurve import PublicKey
from eth_account import Account
from eth_keys.datatypes import PublicKey as EthPublicKey

from activities.ecdsa_party import MODULUS_BITS_ENV
from activities.models import CreateWalletInput, EcdsaSetupInput, PresignInput, SignInput
from mpc.group.secp256k1 import ORDER as Q
from quorate.client import CeremonyFailed, create_wallet, presign, setup_ecdsa, sign
from storage.events.port import verify_chain
from tests.integration.conftest import System


async def test_ecdsa_setup_create_and_sign(system: System, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(MODULUS_BITS_ENV, "2048")
    setup = await setup_ecdsa(system.client, EcdsaSetupInput(session=f"s-{uuid.uuid4().hex[:6]}"))
    assert setup.modulus_bits == 2048
    assert len(setup.parties) == 6
    wallet = await create_wallet(
        system.client,
        CreateWalletInput(wallet_id=f"eth-{uuid.uuid4().hex[:8]}", scheme="ecdsa-secp256k1"),
    )
    key = bytes.fromhex(wallet.group_public_key)
    address = EthPublicKey(PublicKey(key).format(compressed=False)[1:]).to_checksum_address()
    for n, signers in enumerate([(), ("us-2", "eu-2", "apac-2")]):
        digest = hashlib.sha256(f"eth tx {n}".encode()).digest()
        result = await sign(
            system.client,
            SignInput(wallet_id=wallet.wallet_id, message=digest.hex(), signers=signers),
        )
        assert result.recovery_id is not None
        signature = bytes.fromhex(result.signature)
        r, s = int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")
        assert s <= Q // 2
        assert bytes.fromhex(result.public_key) == key
        recovered = Account._recover_hash(digest, vrs=(27 + result.recovery_id, r, s))
        assert recovered == address
    with pytest.raises(CeremonyFailed) as caught:
        await sign(system.client, SignInput(wallet_id=wallet.wallet_id, message="00" * 20))
    assert caught.value.kind == "InvalidMessage"

    # The offline phase ahead of time: two pooled presignatures, then signings that only
    # run the online round, each taking a different presignature.
    pooled = await presign(system.client, PresignInput(wallet_id=wallet.wallet_id, count=2))
    assert len(pooled.presign_ids) == 2
    for n in range(3):
        digest = hashlib.sha256(f"pooled {n}".encode()).digest()
        result = await sign(
            system.client, SignInput(wallet_id=wallet.wallet_id, message=digest.hex())
        )
        signature = bytes.fromhex(result.signature)
        assert result.recovery_id is not None
        recovered = Account._recover_hash(
            digest,
            vrs=(
                27 + result.recovery_id,
                int.from_bytes(signature[:32], "big"),
                int.from_bytes(signature[32:], "big"),
            ),
        )
        assert recovered == address
    events = await system.events.read_all()
    verify_chain(events)
    kinds = [e.event_type for e in events]
    assert kinds.count("SignatureProduced") == 5
    assert kinds.count("PresignatureAdded") == 2
    used = [e.payload["presign_id"] for e in events if e.event_type == "PresignatureUsed"]
    assert sorted(used) == sorted(pooled.presign_ids)  # the third signing presigned inline
