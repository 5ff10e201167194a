"""``quorate demo``: the whole system on the embedded defaults, start to finish.

It provisions the reference parties, starts the Temporal dev server and one worker
process per party plus the coordinator, creates a FROST taproot (BIP340) wallet and a
FROST Ed25519 wallet by dealerless DKG, signs messages with each through SignWorkflow,
verifies every signature with libsecp256k1 or libsodium, and reports what it did.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
import uuid

from coincurve import PublicKey, PublicKeyXOnly
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from nacl.signing import VerifyKey
from pydantic import BaseModel, ConfigDict
from rich.console import Console
from rich.table import Table

from activities.ecdsa_party import ecdsa_parameters
from activities.models import (
    CreateWalletInput,
    CreateWalletResult,
    EcdsaSetupInput,
    Scheme,
    SignInput,
    SignResult,
)
from mpc.errors import InvalidSignature
from quorate.client import create_wallet, setup_ecdsa, sign
from quorate.settings import Settings
from storage.events.port import open_event_store
from workers.runner import LocalTopology


class WalletReport(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    wallet_id: str
    scheme: str
    group_public_key: str
    threshold: int
    parties: list[str]


class SignatureReport(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    wallet_id: str
    scheme: str
    public_key: str
    message: str
    signature: str
    signers: list[str]
    ceremony_id: str
    latency_ms: float
    recovery_id: int | None = None


class EventStoreReport(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    url: str
    events: int
    head_hash: str | None


class DemoReport(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    wallets: list[WalletReport]
    signatures: list[SignatureReport]
    event_store: EventStoreReport


def verify_externally(
    scheme: str, public_key: bytes, message: bytes, signature: bytes, recovery_id: int | None = None
) -> None:
    """Verification by libraries we did not write: libsecp256k1 and libsodium."""
    if scheme == "bip340":
        if not PublicKeyXOnly(public_key).verify(signature, message):
            raise InvalidSignature("libsecp256k1 rejected a BIP340 signature")
    elif scheme == "ecdsa-secp256k1":
        if recovery_id is None:
            raise InvalidSignature("an ECDSA signature comes with its recovery id")
        der = encode_dss_signature(
            int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")
        )
        if not PublicKey(public_key).verify(der, message, hasher=None):
            raise InvalidSignature("libsecp256k1 rejected an ECDSA signature")
        recovered = PublicKey.from_signature_and_message(
            signature + bytes([recovery_id]), message, hasher=None
        )
        if recovered.format() != public_key:
            raise InvalidSignature("the recovery id does not recover the wallet's key")
    else:
        VerifyKey(public_key).verify(message, signature)


def demo_message(wallet: CreateWalletResult, n: int) -> bytes:
    text = f"{wallet.wallet_id} payment #{n}".encode()
    # BIP340 and ECDSA sign a 32-byte digest (a sighash or transaction hash, later);
    # Ed25519 signs the message itself.
    return text if wallet.scheme == "ed25519" else hashlib.sha256(text).digest()


async def _signed(topology: LocalTopology, wallet: CreateWalletResult, n: int) -> SignatureReport:
    assert topology.client is not None  # noqa: S101 - the topology is running
    message = demo_message(wallet, n)
    started = time.perf_counter()
    result: SignResult = await sign(
        topology.client,
        SignInput(wallet_id=wallet.wallet_id, message=message.hex()),
        idempotency_key=f"{wallet.wallet_id}-sign-{n}",
    )
    latency = (time.perf_counter() - started) * 1000
    verify_externally(
        result.scheme,
        bytes.fromhex(result.public_key),
        bytes.fromhex(result.message),
        bytes.fromhex(result.signature),
        result.recovery_id,
    )
    return SignatureReport(
        wallet_id=result.wallet_id,
        scheme=result.scheme,
        public_key=result.public_key,
        message=result.message,
        signature=result.signature,
        signers=list(result.signers),
        ceremony_id=result.ceremony_id,
        latency_ms=round(latency, 2),
        recovery_id=result.recovery_id,
    )


async def run_demo_on(
    topology: LocalTopology, messages_per_wallet: int, console: Console, ecdsa_signatures: int = 5
) -> DemoReport:
    """Creates the wallets and signs with each, on a running topology."""
    assert topology.client is not None  # noqa: S101 - the topology is running
    run = uuid.uuid4().hex[:8]
    schemes: list[tuple[str, Scheme]] = [("taproot", "bip340"), ("solana", "ed25519")]
    with console.status("Creating wallets by DKG across the party workers..."):
        wallets = list(
            await asyncio.gather(
                *(
                    create_wallet(
                        topology.client,
                        CreateWalletInput(wallet_id=f"demo-{name}-{run}", scheme=scheme),
                        idempotency_key=f"demo-{name}-{run}-create",
                    )
                    for name, scheme in schemes
                )
            )
        )
    signatures: list[SignatureReport] = []
    with console.status(f"Signing {messages_per_wallet} messages per wallet...") as status:
        for wallet in wallets:
            for n in range(messages_per_wallet):
                signatures.append(await _signed(topology, wallet, n))
                status.update(f"Signed {len(signatures)} of {2 * messages_per_wallet}...")
    if ecdsa_signatures:
        bits = ecdsa_parameters().modulus_bits
        with console.status(
            f"ECDSA setup: {bits}-bit Paillier keys, ring-Pedersen parameters and proofs for "
            "every party, verified by every other (first run only)..."
        ):
            await setup_ecdsa(
                topology.client,
                EcdsaSetupInput(session=f"demo-{bits}"),
                idempotency_key=f"demo-ecdsa-setup-{bits}",
            )
            ethereum = await create_wallet(
                topology.client,
                CreateWalletInput(wallet_id=f"demo-ethereum-{run}", scheme="ecdsa-secp256k1"),
                idempotency_key=f"demo-ethereum-{run}-create",
            )
        wallets.append(ethereum)
        with console.status(
            "Signing with the ECDSA wallet (CGGMP21 presigning + signing)..."
        ) as status:
            for n in range(ecdsa_signatures):
                signatures.append(await _signed(topology, ethereum, n))
                status.update(f"ECDSA signature {n + 1} of {ecdsa_signatures}...")
    events = await open_event_store(topology.settings.events_url)
    try:
        head = await events.head()
        store = EventStoreReport(
            url=events.url, events=await events.count(), head_hash=head.hash if head else None
        )
    finally:
        await events.close()
    return DemoReport(
        wallets=[
            WalletReport(
                wallet_id=w.wallet_id,
                scheme=w.scheme,
                group_public_key=w.group_public_key,
                threshold=w.threshold,
                parties=list(w.parties),
            )
            for w in wallets
        ],
        signatures=signatures,
        event_store=store,
    )


async def run_demo(
    settings: Settings, messages_per_wallet: int, keep_running: bool, console: Console
) -> DemoReport:
    topology = LocalTopology(settings)
    with console.status("Starting the Temporal dev server and one worker per party..."):
        await topology.start()
    try:
        report = await run_demo_on(topology, messages_per_wallet, console)
        print_report(report, settings, console)
        if keep_running:
            console.print("Still running (--keep-running); press Ctrl-C to stop.")
            await asyncio.Event().wait()
        return report
    finally:
        topology.stop()


def print_report(report: DemoReport, settings: Settings, console: Console) -> None:
    parties = report.wallets[0].parties
    console.print(
        f"[bold]Quorate demo[/bold]: {len(parties)} party workers ({', '.join(parties)}), each "
        f"its own process on its own task queue; threshold {report.wallets[0].threshold}."
    )
    wallets = Table(title="Wallets (dealerless DKG, shares sealed party to party)")
    for column in ("wallet", "scheme", "group public key"):
        wallets.add_column(column)
    for w in report.wallets:
        wallets.add_row(w.wallet_id, w.scheme, w.group_public_key)
    console.print(wallets)
    table = Table(title="Signatures (each verified by libsecp256k1 or libsodium)")
    for column in ("wallet", "scheme", "signers", "latency (ms)"):
        table.add_column(column)
    for s in report.signatures:
        table.add_row(s.wallet_id, s.scheme, ", ".join(s.signers), f"{s.latency_ms:.1f}")
    console.print(table)
    latencies = sorted(s.latency_ms for s in report.signatures)
    console.print(
        f"{len(latencies)} signatures, median {latencies[len(latencies) // 2]:.1f} ms "
        "end to end through Temporal."
    )
    console.print(f"Temporal UI: {settings.ui_url} (histories encrypted; see README for the codec)")
    console.print(f"Data directory: {settings.data_dir.resolve()}")
    console.print(
        f"Event store: {report.event_store.url}, {report.event_store.events} events, "
        f"head {report.event_store.head_hash}"
    )
