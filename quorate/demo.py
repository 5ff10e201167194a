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
from decimal import Decimal

from coincurve import PrivateKey, PublicKey, PublicKeyXOnly
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from nacl.signing import SigningKey, VerifyKey
from pydantic import BaseModel, ConfigDict, Field
from rich.console import Console
from rich.table import Table

from activities.models import (
    CreateWalletInput,
    CreateWalletResult,
    EcdsaSetupInput,
    SignInput,
    SignResult,
    SignTransactionInput,
)
from chains.config import ChainsConfig
from chains.models import Prevout, TransferIntent
from common.types import Scheme
from mpc.ecdsa.params import PRODUCTION
from mpc.errors import InvalidSignature
from quorate.client import (
    address_balance,
    create_wallet,
    faucet,
    key_address,
    setup_ecdsa,
    sign,
    sign_transaction,
    wallet_address,
)
from runtime.provision import load_request_authorizer
from runtime.settings import Settings
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


class TransactionReport(BaseModel):
    """One transfer on one chain, as the chain's engine accepted it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    chain: str
    wallet_id: str
    from_: str = Field(alias="from")
    to: str
    amount: int
    fee: int
    raw_tx: str
    tx_hash: str
    status: str
    confirmations: int
    # Bitcoin: the spent outputs (scriptPubKey hex, amount in satoshi), in input order.
    prevouts: list[Prevout]
    # Balances read from the engine before and after, in base units.
    balances: dict[str, int]
    latency_ms: float


class EventStoreReport(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    url: str
    events: int
    head_hash: str | None


class DemoReport(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    wallets: list[WalletReport]
    signatures: list[SignatureReport]
    transactions: list[TransactionReport]
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
        # The embedded deployment's request-signing key, made when it was provisioned.
        authorizer=load_request_authorizer(topology.settings),
    )
    latency = (time.perf_counter() - started) * 1000
    verify_externally(
        result.scheme,
        bytes.fromhex(result.public_key),
        bytes.fromhex(result.message),
        bytes.fromhex(result.signature),
        result.recovery_id,
    )
    return SignatureReport(**result.model_dump(exclude={"version"}), latency_ms=round(latency, 2))


# One transfer per chain: (chain, wallet scheme, faucet amount, transfer amount), in base
# units (wei, satoshi, lamports). Recipients are fixed demo keys, so reruns pay the same
# addresses.
TRANSFERS: list[tuple[str, Scheme, int, int]] = [
    ("ethereum", "ecdsa-secp256k1", 10**19, 10**16),
    ("polygon", "ecdsa-secp256k1", 10**19, 10**16),
    ("arbitrum", "ecdsa-secp256k1", 10**19, 10**16),
    ("bitcoin-p2wpkh", "ecdsa-secp256k1", 10**8, 100_000),
    ("bitcoin-p2tr", "bip340", 10**8, 100_000),
    ("solana", "ed25519", 10**10, 10**7),
]


def demo_recipient_key(scheme: Scheme) -> bytes:
    """A fixed public key to pay: only its public half is ever used."""
    seed = hashlib.sha256(f"quorate demo recipient / {scheme}".encode()).digest()
    if scheme == "ed25519":
        return bytes(SigningKey(seed).verify_key)
    return bytes(PrivateKey(seed).public_key.format(compressed=True))


async def _transfer(
    topology: LocalTopology,
    wallet: CreateWalletResult,
    chain: str,
    funding: int,
    amount: int,
    run: str,
) -> TransactionReport:
    client = topology.client
    assert client is not None  # noqa: S101 - the topology is running
    source = await wallet_address(client, wallet.wallet_id, chain)
    funded = await faucet(client, chain, source.address, funding)
    recipient = await key_address(client, chain, demo_recipient_key(wallet.scheme))
    started = time.perf_counter()
    result = await sign_transaction(
        client,
        SignTransactionInput(
            wallet_id=wallet.wallet_id,
            intent=TransferIntent(chain=chain, to=recipient.address, amount=amount),
        ),
        idempotency_key=f"demo-{chain}-{run}-transfer",
        authorizer=load_request_authorizer(topology.settings),
    )
    latency = (time.perf_counter() - started) * 1000
    after_source = await address_balance(client, chain, source.address)
    after_recipient = await address_balance(client, chain, recipient.address)
    return TransactionReport.model_validate(
        {
            "chain": chain,
            "wallet_id": wallet.wallet_id,
            "from": result.from_address,
            "to": result.to,
            "amount": result.amount,
            "fee": result.fee,
            "raw_tx": result.raw_tx,
            "tx_hash": result.tx_hash,
            "status": result.status,
            "confirmations": result.confirmations,
            "prevouts": list(result.prevouts),
            "balances": {
                "from_before": funded.balance,
                "from_after": after_source.balance,
                "to_before": recipient.balance,
                "to_after": after_recipient.balance,
            },
            "latency_ms": round(latency, 2),
        }
    )


async def _transfers(
    topology: LocalTopology, wallets: list[CreateWalletResult], run: str, console: Console
) -> list[TransactionReport]:
    by_scheme = {w.scheme: w for w in wallets}
    reports: list[TransactionReport] = []
    with console.status("Funding the wallets on the embedded chains...") as status:
        for chain, scheme, funding, amount in TRANSFERS:
            wallet = by_scheme.get(scheme)
            if wallet is None:
                continue
            status.update(f"Transfer on {chain}: build, sign ({scheme}), broadcast, confirm...")
            reports.append(await _transfer(topology, wallet, chain, funding, amount, run))
    return reports


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
        # The session keeps its historical name: a data directory set up before keeps it.
        bits = PRODUCTION.modulus_bits
        with console.status(
            "ECDSA setup: Paillier keys, ring-Pedersen parameters and proofs for every "
            "party, verified by every other (first run only)..."
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
    transactions = await _transfers(topology, wallets, run, console)
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
        transactions=transactions,
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


def _short(text: str) -> str:
    return text if len(text) <= 16 else f"{text[:10]}…{text[-4:]}"


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
    if report.transactions:
        chains = ChainsConfig.load(settings.chains)
        transfers = Table(title="Transfers (built, threshold-signed, broadcast, confirmed)")
        for column in ("chain", "amount", "transaction", "status", "ms"):
            transfers.add_column(column)
        for t in report.transactions:
            config = chains.get(t.chain)
            amount = Decimal(t.amount).scaleb(-config.decimals).normalize()
            transfers.add_row(
                t.chain,
                f"{amount:f} {config.symbol}",
                _short(t.tx_hash),
                f"{t.status}, {t.confirmations} conf.",
                f"{t.latency_ms:.0f}",
            )
        console.print(transfers)
    console.print(f"Temporal UI: {settings.ui_url} (histories encrypted; see README for the codec)")
    console.print(f"Data directory: {settings.data_dir.resolve()}")
    console.print(
        f"Event store: {report.event_store.url}, {report.event_store.events} events, "
        f"head {report.event_store.head_hash}"
    )
