"""The ceremonies with the production event store: the real PostgreSQL on 127.0.0.1."""

from __future__ import annotations

import hashlib
import uuid

import pytest
from coincurve import PublicKeyXOnly

from activities.models import CreateWalletInput, SignInput
from quorate.client import CeremonyFailed, create_wallet, sign
from storage.events.port import verify_chain
from tests.integration.conftest import System


async def test_ceremonies_record_to_postgres(postgres_system: System) -> None:
    system = postgres_system
    assert system.events.url.startswith("postgresql://")
    wallet = await create_wallet(
        system.client, CreateWalletInput(wallet_id=f"pg-{uuid.uuid4().hex[:8]}", scheme="bip340")
    )
    digest = hashlib.sha256(b"postgres").digest()
    key = f"pg-sign-{uuid.uuid4().hex[:8]}"
    result = await sign(
        system.client,
        SignInput(wallet_id=wallet.wallet_id, message=digest.hex()),
        idempotency_key=key,
        authorizer=system.authorizer,
    )
    again = await sign(
        system.client,
        SignInput(wallet_id=wallet.wallet_id, message=digest.hex()),
        idempotency_key=key,
        authorizer=system.authorizer,
    )
    assert again == result
    assert PublicKeyXOnly(bytes.fromhex(result.public_key)).verify(
        bytes.fromhex(result.signature), digest
    )
    before = await system.events.count()
    with pytest.raises(CeremonyFailed) as caught:
        await sign(
            system.client,
            SignInput(wallet_id="missing", message=digest.hex()),
            authorizer=system.authorizer,
        )
    assert caught.value.kind == "UnknownWallet"
    events = await system.events.read_all()
    assert len(events) == before
    verify_chain(events)
    assert [e.event_type for e in events] == [
        "CeremonyStarted",
        "WalletCreated",
        "CeremonyStarted",
        "SignatureProduced",
    ]
