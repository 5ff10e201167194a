"""Threshold ECDSA through Temporal: aux-info setup, a DKG wallet, CGGMP21 signing.

The tests use 2048-bit Paillier moduli (FAST_TESTS, which the conftest gives the
in-process workers) to keep the suite fast; the production size (3072) is exercised by
the unit tests of mpc.ecdsa and by `quorate demo`.
"""

from __future__ import annotations

import asyncio
import hashlib
import uuid

import pytest
from coincurve import PublicKey
from eth_account import Account
from eth_keys.datatypes import PublicKey as EthPublicKey
from temporalio.client import WorkflowFailureError
from temporalio.exceptions import ApplicationError

from activities.models import (
    CreateWalletInput,
    EcdsaSetupInput,
    EcdsaSetupResult,
    PresignInput,
    SignInput,
)
from mpc.group.secp256k1 import ORDER as Q
from quorate.client import CeremonyFailed, create_wallet, presign, setup_ecdsa, sign
from runtime.names import COORDINATOR_TASK_QUEUE
from storage.events.port import verify_chain
from tests.integration.conftest import System
from workflows.sign import SignWorkflow


async def test_ecdsa_setup_create_and_sign(system: System) -> None:
    # Two setups in flight under one key with different sessions: one runs, one is refused.
    session = f"s-{uuid.uuid4().hex[:6]}"
    setup_key = f"setup-{uuid.uuid4().hex[:8]}"
    racing = await asyncio.gather(
        *(
            setup_ecdsa(system.client, EcdsaSetupInput(session=s), setup_key)
            for s in (session, f"{session}-other")
        ),
        return_exceptions=True,
    )
    refused = [r for r in racing if isinstance(r, CeremonyFailed)]
    assert [r.kind for r in refused] == ["RequestConflict"]
    (setup,) = [r for r in racing if isinstance(r, EcdsaSetupResult)]
    # Afterwards: the same request gets the same result, another one is refused.
    assert await setup_ecdsa(system.client, EcdsaSetupInput(session=setup.session), setup_key) == (
        setup
    )
    with pytest.raises(CeremonyFailed) as conflict:
        await setup_ecdsa(system.client, EcdsaSetupInput(session="another"), setup_key)
    assert conflict.value.kind == "RequestConflict"
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
            authorizer=system.authorizer,
        )
        assert result.recovery_id is not None
        signature = bytes.fromhex(result.signature)
        r, s = int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")
        assert s <= Q // 2
        assert bytes.fromhex(result.public_key) == key
        recovered = Account._recover_hash(digest, vrs=(27 + result.recovery_id, r, s))
        assert recovered == address
    with pytest.raises(CeremonyFailed) as caught:
        await sign(
            system.client,
            SignInput(wallet_id=wallet.wallet_id, message="00" * 20),
            authorizer=system.authorizer,
        )
    assert caught.value.kind == "InvalidMessage"

    # The offline phase ahead of time: two pooled presignatures, then signings that only
    # run the online round, each taking a different presignature.
    presign_key = f"presign-{uuid.uuid4().hex[:8]}"
    pooled = await presign(
        system.client, PresignInput(wallet_id=wallet.wallet_id, count=2), presign_key
    )
    assert len(pooled.presign_ids) == 2
    with pytest.raises(CeremonyFailed) as conflict:
        await presign(system.client, PresignInput(wallet_id=wallet.wallet_id, count=1), presign_key)
    assert conflict.value.kind == "RequestConflict"
    for n in range(3):
        digest = hashlib.sha256(f"pooled {n}".encode()).digest()
        result = await sign(
            system.client,
            SignInput(wallet_id=wallet.wallet_id, message=digest.hex()),
            authorizer=system.authorizer,
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

    # A request without an authorization gets a pooled presignature reserved, and every
    # signer refuses the online round: no share, and the presignature is destroyed.
    (extra,) = (
        await presign(system.client, PresignInput(wallet_id=wallet.wallet_id, count=1))
    ).presign_ids
    ceremony_id = f"unauthorized-{uuid.uuid4().hex[:8]}"
    unauthorized = hashlib.sha256(b"unauthorized").hexdigest()
    with pytest.raises(WorkflowFailureError) as refusal:
        await system.client.execute_workflow(
            SignWorkflow.run,
            SignInput(wallet_id=wallet.wallet_id, message=unauthorized),
            id=ceremony_id,
            task_queue=COORDINATOR_TASK_QUEUE,
        )
    assert isinstance(refusal.value.cause, ApplicationError)
    assert refusal.value.cause.type == "Unauthorized"
    events = await system.events.read_all()
    (reserved,) = [
        e.payload
        for e in events
        if e.event_type == "PresignatureUsed" and e.payload["ceremony_id"] == ceremony_id
    ]
    assert reserved["presign_id"] == extra
    (failed,) = [
        e.payload["reason"]
        for e in events
        if e.event_type == "CeremonyFailed" and e.payload["ceremony_id"] == ceremony_id
    ]
    assert failed.startswith("Unauthorized: missing:")
    (started,) = [
        e.payload["parties"]
        for e in events
        if e.event_type == "CeremonyStarted" and e.payload["ceremony_id"] == ceremony_id
    ]
    named = ", ".join(sorted(started))
    assert failed.endswith(f"[cleanup: presignature {extra}: destroyed 3 ({named})]")
    for party in started:
        assert system.vaults[party].nonce_state(wallet.wallet_id, f"presign/{extra}") == "consumed"
    assert [e.event_type for e in events].count("SignatureProduced") == 5
