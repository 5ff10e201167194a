"""Wallet creation and FROST signing through Temporal, end to end, on real workers."""

from __future__ import annotations

import hashlib
import uuid

import pytest
from coincurve import PublicKeyXOnly
from nacl.signing import VerifyKey

from activities.models import CreateWalletInput, SignInput
from quorate.client import CeremonyFailed, create_wallet, sign
from storage.events.port import verify_chain
from tests.integration.conftest import System


def _id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


async def test_create_wallets_and_sign_with_both_schemes(system: System) -> None:
    taproot = await create_wallet(
        system.client, CreateWalletInput(wallet_id=_id("tap"), scheme="bip340")
    )
    solana = await create_wallet(
        system.client, CreateWalletInput(wallet_id=_id("sol"), scheme="ed25519")
    )
    assert taproot.parties == tuple(p.id for p in system.topology.parties)
    assert taproot.threshold == 3
    for n in range(3):
        digest = hashlib.sha256(f"tx {n}".encode()).digest()
        result = await sign(
            system.client,
            SignInput(wallet_id=taproot.wallet_id, message=digest.hex()),
            authorizer=system.authorizer,
        )
        assert len(result.signers) == 3
        assert "apac-2" not in result.signers  # the backup is not asked while primaries are up
        assert PublicKeyXOnly(bytes.fromhex(result.public_key)).verify(
            bytes.fromhex(result.signature), digest
        )
        message = f"solana tx {n}".encode()
        result = await sign(
            system.client,
            SignInput(
                wallet_id=solana.wallet_id,
                message=message.hex(),
                signers=("us-2", "eu-2", "apac-2"),
            ),
            authorizer=system.authorizer,
        )
        assert result.signers == ("us-2", "eu-2", "apac-2")
        VerifyKey(bytes.fromhex(result.public_key)).verify(message, bytes.fromhex(result.signature))
    events = await system.events.read_all()
    verify_chain(events)
    kinds = [e.event_type for e in events]
    assert kinds.count("WalletCreated") == 2
    assert kinds.count("SignatureProduced") == 6
    assert kinds.count("CeremonyStarted") == 8
    assert "CeremonyFailed" not in kinds


async def test_taproot_signing_with_a_script_tree_commits_to_it(system: System) -> None:
    wallet = await create_wallet(
        system.client, CreateWalletInput(wallet_id=_id("tr"), scheme="bip340")
    )
    digest = hashlib.sha256(b"script tree").digest()
    root = hashlib.sha256(b"a tapscript merkle root").hexdigest()
    plain = await sign(
        system.client,
        SignInput(wallet_id=wallet.wallet_id, message=digest.hex()),
        authorizer=system.authorizer,
    )
    tweaked = await sign(
        system.client,
        SignInput(wallet_id=wallet.wallet_id, message=digest.hex(), taproot_merkle_root=root),
        authorizer=system.authorizer,
    )
    assert plain.public_key != tweaked.public_key  # a different output key
    assert PublicKeyXOnly(bytes.fromhex(tweaked.public_key)).verify(
        bytes.fromhex(tweaked.signature), digest
    )


async def test_same_idempotency_key_never_signs_twice(system: System) -> None:
    wallet = await create_wallet(
        system.client, CreateWalletInput(wallet_id=_id("idem"), scheme="ed25519")
    )
    request = SignInput(wallet_id=wallet.wallet_id, message=b"once".hex())
    key = _id("request")
    first = await sign(system.client, request, idempotency_key=key, authorizer=system.authorizer)
    again = await sign(system.client, request, idempotency_key=key, authorizer=system.authorizer)
    assert again == first
    produced = [e for e in await system.events.read_all() if e.event_type == "SignatureProduced"]
    assert len(produced) == 1


@pytest.mark.parametrize(
    ("request_factory", "kind"),
    [
        (lambda w: SignInput(wallet_id="no-such-wallet", message="00" * 32), "UnknownWallet"),
        (lambda w: SignInput(wallet_id=w, message="00" * 31), "InvalidMessage"),
        (lambda w: SignInput(wallet_id=w, message="00" * 33), "InvalidMessage"),
        (
            lambda w: SignInput(wallet_id=w, message="00" * 32, signers=("us-1", "us-2")),
            "InvalidSigners",
        ),
        (
            lambda w: SignInput(wallet_id=w, message="00" * 32, signers=("us-1", "us-1", "eu-1")),
            "DuplicateParty",
        ),
        (
            lambda w: SignInput(wallet_id=w, message="00" * 32, signers=("us-1", "eu-1", "mars-1")),
            "InvalidSigners",
        ),
    ],
    ids=[
        "unknown-wallet",
        "short-digest",
        "long-digest",
        "too-few-signers",
        "duplicate-signer",
        "stranger",
    ],
)
async def test_bad_sign_requests_get_typed_errors_and_append_nothing(
    system: System, request_factory, kind: str
) -> None:
    wallet = await create_wallet(
        system.client, CreateWalletInput(wallet_id=_id("bad"), scheme="bip340")
    )
    before = await system.events.count()
    with pytest.raises(CeremonyFailed) as caught:
        await sign(system.client, request_factory(wallet.wallet_id), authorizer=system.authorizer)
    assert caught.value.kind == kind
    assert await system.events.count() == before


@pytest.mark.parametrize(
    ("request_factory", "kind"),
    [
        (
            lambda: CreateWalletInput(wallet_id=_id("w"), scheme="bip340", threshold=7),
            "InvalidThreshold",
        ),
        (
            lambda: CreateWalletInput(
                wallet_id=_id("w"), scheme="bip340", parties=("us-1", "us-1", "eu-1")
            ),
            "DuplicateParty",
        ),
        (
            lambda: CreateWalletInput(
                wallet_id=_id("w"), scheme="ed25519", parties=("us-1", "eu-1", "mars-1")
            ),
            "UnknownParty",
        ),
    ],
    ids=["threshold-above-parties", "duplicate-party", "party-not-in-topology"],
)
async def test_bad_wallet_requests_get_typed_errors_and_append_nothing(
    system: System, request_factory, kind: str
) -> None:
    before = await system.events.count()
    with pytest.raises(CeremonyFailed) as caught:
        await create_wallet(system.client, request_factory())
    assert caught.value.kind == kind
    assert await system.events.count() == before


async def test_existing_wallet_id_is_refused(system: System) -> None:
    wallet_id = _id("dup")
    await create_wallet(system.client, CreateWalletInput(wallet_id=wallet_id, scheme="ed25519"))
    before = await system.events.count()
    with pytest.raises(CeremonyFailed) as caught:
        await create_wallet(system.client, CreateWalletInput(wallet_id=wallet_id, scheme="ed25519"))
    assert caught.value.kind == "WalletExists"
    assert await system.events.count() == before
