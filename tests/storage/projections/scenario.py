"""Deterministic event histories for the projection tests, and helpers to compare results.

Events are built as domain events and wrapped with ``to_new_event`` exactly as the
coordinator does (``activities/recording.py``): the wallet stream holds ``WalletCreated``,
each ceremony's stream holds its other events, and idempotency keys are
``<ceremony>/<EventType>``. Transfers are recorded as the chain activities do
(``activities/chain.py``): stream ``transaction-<request_id>``, idempotency keys
``<request_id>/<EventType>``, and the chain adapter's unsigned transaction as built by
``chains.models.UnsignedTransaction``.
"""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta
from typing import Any

from chains.models import SigningPayload, UnsignedTransaction
from common.types import Scheme
from storage.events.models import (
    CeremonyFailed,
    CeremonyStarted,
    PartyMisbehaved,
    SignatureProduced,
    TransactionBroadcast,
    TransactionBuilt,
    TransactionConfirmed,
    WalletCreated,
    ceremony_stream,
    to_new_event,
    transaction_stream,
    wallet_stream,
)
from storage.events.port import NewEvent
from storage.projections.port import Projection, ProjectionDb, quote_identifier

START = datetime(2025, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)
PARTIES = ["us-1", "us-2", "eu-1", "eu-2", "apac-1", "apac-2"]
SCHEMES: list[tuple[Scheme, str]] = [
    ("bip340", "FROST-secp256k1-SHA256-TR-v1"),
    ("ed25519", "FROST-ED25519-SHA512-v1"),
    ("ecdsa-secp256k1", "GG20-CGGMP21-secp256k1"),
]
CHAINS: dict[Scheme, str] = {
    "bip340": "bitcoin",
    "ed25519": "solana",
    "ecdsa-secp256k1": "ethereum",
}
"""Which chain a wallet of each scheme transfers on in the random histories."""
WEI = 10**18
"""One ether in wei: a few of them already overflow a signed 64-bit integer."""


class SteppingClock:
    """A deterministic clock: ``start`` plus ``step`` per call."""

    def __init__(self, start: datetime = START, step: timedelta = timedelta(hours=3)) -> None:
        self.now = start
        self.step = step

    def __call__(self) -> datetime:
        self.now += self.step
        return self.now


def _hex(rng: random.Random, size: int) -> str:
    return rng.randbytes(size).hex()


def create_wallet(
    wallet_id: str,
    *,
    scheme: Scheme = "bip340",
    ciphersuite: str = "FROST-secp256k1-SHA256-TR-v1",
    parties: list[str] | None = None,
    threshold: int = 3,
    group_public_key: str = "02" + "11" * 32,
    metadata: dict[str, str] | None = None,
) -> list[NewEvent]:
    """A DKG ceremony: ``CeremonyStarted`` (create_wallet) then ``WalletCreated``."""
    parties = parties or PARTIES[:5]
    ceremony = f"dkg-{wallet_id}"
    return [
        to_new_event(
            CeremonyStarted(
                ceremony_id=ceremony,
                wallet_id=wallet_id,
                kind="create_wallet",
                protocol=ciphersuite,
                parties=parties,
            ),
            stream_id=ceremony_stream(ceremony),
            idempotency_key=f"{ceremony}/CeremonyStarted",
            metadata={"ceremony": ceremony, **(metadata or {})},
        ),
        to_new_event(
            WalletCreated(
                wallet_id=wallet_id,
                scheme=scheme,
                ciphersuite=ciphersuite,
                group_public_key=group_public_key,
                threshold=threshold,
                parties=parties,
                public_key_package="ab" * 40,
                ceremony_id=ceremony,
            ),
            stream_id=wallet_stream(wallet_id),
            idempotency_key=f"{ceremony}/WalletCreated",
            metadata={"ceremony": ceremony},
        ),
    ]


def start_signing(
    ceremony: str,
    wallet_id: str,
    signers: list[str],
    *,
    protocol: str = "FROST-secp256k1-SHA256-TR-v1",
    metadata: dict[str, str] | None = None,
) -> NewEvent:
    return to_new_event(
        CeremonyStarted(
            ceremony_id=ceremony,
            wallet_id=wallet_id,
            kind="sign",
            protocol=protocol,
            parties=signers,
        ),
        stream_id=ceremony_stream(ceremony),
        idempotency_key=f"{ceremony}/CeremonyStarted",
        metadata={"ceremony": ceremony, **(metadata or {})},
    )


def signed(
    ceremony: str,
    wallet_id: str,
    signers: list[str],
    *,
    scheme: Scheme = "bip340",
    message: str = "00" * 32,
    signature: str = "cd" * 64,
    public_key: str = "11" * 32,
) -> NewEvent:
    return to_new_event(
        SignatureProduced(
            ceremony_id=ceremony,
            wallet_id=wallet_id,
            scheme=scheme,
            public_key=public_key,
            message=message,
            signature=signature,
            signers=signers,
        ),
        stream_id=ceremony_stream(ceremony),
        idempotency_key=f"{ceremony}/SignatureProduced",
        metadata={"ceremony": ceremony},
    )


def misbehaved(ceremony: str, wallet_id: str, party: str, reason: str) -> NewEvent:
    return to_new_event(
        PartyMisbehaved(ceremony_id=ceremony, wallet_id=wallet_id, party=party, reason=reason),
        stream_id=ceremony_stream(ceremony),
        idempotency_key=f"{ceremony}/PartyMisbehaved/{party}",
        metadata={"ceremony": ceremony},
    )


def failed(
    ceremony: str, wallet_id: str, reason: str, culprits: list[str] | None = None
) -> NewEvent:
    return to_new_event(
        CeremonyFailed(
            ceremony_id=ceremony, wallet_id=wallet_id, reason=reason, culprits=culprits or []
        ),
        stream_id=ceremony_stream(ceremony),
        idempotency_key=f"{ceremony}/CeremonyFailed",
        metadata={"ceremony": ceremony},
    )


def built(
    request_id: str,
    wallet_id: str,
    *,
    chain: str = "ethereum",
    scheme: Scheme = "ecdsa-secp256k1",
    from_address: str = "0x" + "aa" * 20,
    to: str = "0x" + "bb" * 20,
    amount: int = 12 * WEI,
    fee: int = 21_000 * 30 * 10**9,
    idempotency_key: str | None = None,
) -> NewEvent:
    """``TransactionBuilt``: the request's unsigned transaction, as the chain adapter
    serializes it (``UnsignedTransaction.model_dump(mode="json")``)."""
    transaction = UnsignedTransaction(
        chain=chain,
        public_key="02" + "11" * 32,
        from_address=from_address,
        to=to,
        amount=amount,
        fee=fee,
        payload="02" + "ef" * 40,
        signing_payloads=(SigningPayload(message="5a" * 32, scheme=scheme),),
        details={"nonce": 7, "gas": 21_000},
    )
    return to_new_event(
        TransactionBuilt(
            request_id=request_id,
            wallet_id=wallet_id,
            chain=chain,
            intent={"chain": chain, "to": to, "amount": amount, "asset": "native"},
            transaction=transaction.model_dump(mode="json"),
        ),
        stream_id=transaction_stream(request_id),
        idempotency_key=idempotency_key or f"{request_id}/TransactionBuilt",
        metadata={"ceremony": request_id},
    )


def broadcast(
    request_id: str, wallet_id: str, tx_hash: str, *, chain: str = "ethereum"
) -> NewEvent:
    return to_new_event(
        TransactionBroadcast(
            request_id=request_id,
            wallet_id=wallet_id,
            chain=chain,
            tx_hash=tx_hash,
            raw_tx="02" + "fe" * 50,
        ),
        stream_id=transaction_stream(request_id),
        idempotency_key=f"{request_id}/TransactionBroadcast",
        metadata={"ceremony": request_id},
    )


def confirmed(
    request_id: str,
    wallet_id: str,
    tx_hash: str,
    *,
    chain: str = "ethereum",
    confirmations: int = 12,
    block: int | None = 19_000_000,
    idempotency_key: str | None = None,
) -> NewEvent:
    return to_new_event(
        TransactionConfirmed(
            request_id=request_id,
            wallet_id=wallet_id,
            chain=chain,
            tx_hash=tx_hash,
            confirmations=confirmations,
            block=block,
        ),
        stream_id=transaction_stream(request_id),
        idempotency_key=idempotency_key or f"{request_id}/TransactionConfirmed",
        metadata={"ceremony": request_id},
    )


def unknown(key: str, event_type: str = "NoncesCommitted") -> NewEvent:
    """An event type this code does not know (a future pool event)."""
    return NewEvent(
        stream_id=f"pool-{key}",
        event_type=event_type,
        payload={"wallet_id": "w0", "party": "us-1", "count": 100},
        metadata={"actor": "system"},
        idempotency_key=f"{key}/{event_type}",
    )


def random_history(seed: int, *, wallets: int = 3, ceremonies: int = 40) -> list[NewEvent]:
    """A mixed history: wallet creations, then signing ceremonies that sign, fail with a
    named cheater, fail unattributed, or stay pending, with unknown event types in between.

    About half the ceremonies sign a transfer: ``TransactionBuilt`` comes before the
    ceremony; a signed one is usually broadcast right after it and often confirmed a few
    ceremonies later; the others stay built. Ethereum amounts are wei, mostly above 2^63.
    Transfers draw from their own generator, so the ceremonies are those of the same seed
    without transfers.
    """
    rng = random.Random(seed)
    transfers = random.Random(f"transfers-{seed}")
    # Confirmations waiting to be recorded: (ceremony number to record them after, event).
    pending: list[tuple[int, NewEvent]] = []
    events: list[NewEvent] = []
    created: list[tuple[str, Scheme, list[str], int]] = []
    for index in range(wallets):
        scheme, ciphersuite = SCHEMES[index % len(SCHEMES)]
        parties = rng.sample(PARTIES, rng.randint(3, len(PARTIES)))
        threshold = rng.randint(2, len(parties))
        wallet_id = f"w{seed}-{index}"
        events += create_wallet(
            wallet_id,
            scheme=scheme,
            ciphersuite=ciphersuite,
            parties=parties,
            threshold=threshold,
            group_public_key=_hex(rng, 33),
            metadata={"tenant": f"tenant-{index % 2}", "actor": "api:alice"},
        )
        created.append((wallet_id, scheme, parties, threshold))
    for number in range(ceremonies):
        wallet_id, scheme, parties, threshold = rng.choice(created)
        signers = rng.sample(parties, threshold)
        ceremony = f"sign-{seed}-{number}"
        request = f"tx-{seed}-{number}" if transfers.random() < 0.5 else None
        chain = CHAINS[scheme]
        if request is not None:
            large = chain == "ethereum" or transfers.random() < 0.2
            events.append(
                built(
                    request,
                    wallet_id,
                    chain=chain,
                    scheme=scheme,
                    from_address=f"{chain}:{wallet_id}",
                    to=f"{chain}:{_hex(transfers, 20)}",
                    amount=transfers.randint(2**63, 1000 * WEI)
                    if large
                    else transfers.randint(1, 10**8),
                    fee=transfers.randint(1, 10**15),
                )
            )
        events.append(
            start_signing(
                ceremony, wallet_id, signers, metadata={"correlation_id": f"req-{number}"}
            )
        )
        if rng.random() < 0.15:
            events.append(unknown(ceremony, rng.choice(["NoncesCommitted", "PresignaturesAdded"])))
        outcome = rng.random()
        if outcome < 0.6:
            events.append(
                signed(
                    ceremony,
                    wallet_id,
                    signers,
                    scheme=scheme,
                    message=_hex(rng, 32),
                    signature=_hex(rng, 64),
                    public_key=_hex(rng, 32),
                )
            )
        elif outcome < 0.8:
            cheater = rng.choice(signers)
            events.append(misbehaved(ceremony, wallet_id, cheater, "InvalidSignatureShare"))
            events.append(failed(ceremony, wallet_id, "invalid signature share", [cheater]))
        elif outcome < 0.9:
            events.append(failed(ceremony, wallet_id, "timed out waiting for round 2"))
        # else: still pending.
        if request is not None and outcome < 0.6 and transfers.random() < 0.8:
            tx_hash = _hex(transfers, 32)
            events.append(broadcast(request, wallet_id, tx_hash, chain=chain))
            if transfers.random() < 0.6:
                event = confirmed(
                    request,
                    wallet_id,
                    tx_hash,
                    chain=chain,
                    confirmations=transfers.randint(1, 12),
                    block=transfers.choice([None, transfers.randint(1, 30_000_000)]),
                )
                pending.append((number + transfers.randint(0, 3), event))
        events += [event for due, event in pending if due <= number]
        pending = [(due, event) for due, event in pending if due > number]
    events += [event for _, event in pending]
    return events


async def dump(db: ProjectionDb, projection: Projection) -> dict[str, list[dict[str, Any]]]:
    """Every row of every table ``projection`` owns, in a canonical order, for comparisons."""
    tables: dict[str, list[dict[str, Any]]] = {}
    async with db.read() as tx:
        for table in projection.tables:
            # Table names come from the projection's constant list, checked and quoted.
            rows = await tx.fetch("SELECT * FROM " + quote_identifier("table", table))  # noqa: S608
            tables[table] = sorted(
                rows, key=lambda row: json.dumps(row, sort_keys=True, default=str)
            )
    return tables


async def dump_all(
    db: ProjectionDb, projections: list[Projection]
) -> dict[str, dict[str, list[dict[str, Any]]]]:
    return {projection.name: await dump(db, projection) for projection in projections}
