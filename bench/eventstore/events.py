"""Realistic domain events: wallets of the two FROST schemes, spread over tenants and the
parties of four regions, and a signing ceremony's events as the coordinator writes them."""

from __future__ import annotations

import random
from dataclasses import dataclass

from storage.events import NewEvent
from storage.events.models import CeremonyStarted, SignatureProduced, to_new_event
from storage.events.port import canonical_json

PARTY_IDS: tuple[str, ...] = tuple(
    f"party-{region}-{zone}"
    for region in ("eu-west-1", "us-east-2", "ap-south-1", "sa-east-1")
    for zone in ("a", "b", "c")
)
# (scheme, ciphersuite / protocol id, message bytes, group key hex chars, signing key hex chars)
SCHEME_SHAPES: tuple[tuple[str, str, int, int, int], ...] = (
    ("bip340", "FROST-secp256k1-SHA256-TR-v1", 32, 66, 64),
    ("ed25519", "FROST-ED25519-SHA512-v1", 64, 64, 64),
)


@dataclass(frozen=True)
class WalletShape:
    wallet_id: str
    scheme: str
    ciphersuite: str
    message_bytes: int
    parties: tuple[str, ...]
    signers: tuple[str, ...]
    group_public_key: str
    public_key: str
    public_key_package: str
    tenant: str
    actor: str
    parties_json: str
    signers_json: str


def make_wallets(count: int, rng: random.Random) -> list[WalletShape]:
    wallets: list[WalletShape] = []
    for n in range(count):
        scheme, ciphersuite, message_bytes, group_hex, key_hex = SCHEME_SHAPES[n % 2]
        parties = tuple(rng.sample(PARTY_IDS, 5))
        signers = parties[:3]
        group = ("02" if group_hex == 66 else "") + rng.randbytes(32).hex()
        tenant = f"tenant-{n % 250:03d}"
        wallets.append(
            WalletShape(
                wallet_id=f"w{n:05d}",
                scheme=scheme,
                ciphersuite=ciphersuite,
                message_bytes=message_bytes,
                parties=parties,
                signers=signers,
                group_public_key=group,
                public_key=rng.randbytes(key_hex // 2).hex(),
                public_key_package=rng.randbytes(180).hex(),
                tenant=tenant,
                actor=f"api:{tenant}-ops",
                parties_json=canonical_json(list(parties)),
                signers_json=canonical_json(list(signers)),
            )
        )
    return wallets


def ceremony_events(
    wallet: WalletShape, ceremony_id: str, rng: random.Random
) -> tuple[NewEvent, NewEvent]:
    """A signing ceremony's CeremonyStarted and SignatureProduced, as the coordinator writes
    them (ceremony stream, ``<ceremony>/<Type>`` idempotency keys), with full metadata."""
    stream = f"ceremony-{ceremony_id}"
    metadata = {
        "actor": wallet.actor,
        "ceremony": ceremony_id,
        "correlation_id": f"req-{rng.randbytes(8).hex()}",
        "tenant": wallet.tenant,
    }
    started = to_new_event(
        CeremonyStarted(
            ceremony_id=ceremony_id,
            wallet_id=wallet.wallet_id,
            kind="sign",
            protocol=wallet.ciphersuite,
            parties=list(wallet.parties),
        ),
        stream_id=stream,
        idempotency_key=f"{ceremony_id}/CeremonyStarted",
        metadata=metadata,
    )
    produced = to_new_event(
        SignatureProduced(
            ceremony_id=ceremony_id,
            wallet_id=wallet.wallet_id,
            scheme=wallet.scheme,
            public_key=wallet.public_key,
            message=rng.randbytes(wallet.message_bytes).hex(),
            signature=rng.randbytes(64).hex(),
            signers=list(wallet.signers),
        ),
        stream_id=stream,
        idempotency_key=f"{ceremony_id}/SignatureProduced",
        metadata=metadata,
    )
    return started, produced


def event_bytes(event: NewEvent) -> int:
    return len(canonical_json(event.payload).encode()) + len(canonical_json(event.metadata))
