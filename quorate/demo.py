"""``quorate demo``, in process: dealerless key generation and threshold signing.

Until the ceremony issue moves each party into its own Temporal worker, the demo runs
every party in this process, but keeps to the protocol's boundaries: each party has its
own sealing key, DKG round-2 shares travel only sealed to their recipient (the relay
here, like the workflow later, sees ciphertext), and every signature is checked by
libsecp256k1 (BIP340, against the taproot output key) or libsodium (Ed25519).
"""

from __future__ import annotations

import hashlib
import itertools
import time
from collections.abc import Sequence
from dataclasses import dataclass

from coincurve import PublicKeyXOnly
from nacl.signing import VerifyKey
from pydantic import BaseModel, ConfigDict
from rich.console import Console
from rich.table import Table

from mpc.errors import InvalidSignature
from mpc.frost import (
    FROST_ED25519,
    FROST_SECP256K1_TR,
    Ciphersuite,
    Identifier,
    KeyShare,
    PublicKeyPackage,
    SigningPackage,
    aggregate,
    commit,
    dkg,
    sign,
)
from mpc.frost.taproot import tweak_key_share, tweak_public_key_package
from mpc.group import Secp256k1Element
from mpc.sealing import SealedPayload, SealingKeyPair, open_sealed, seal
from quorate.topology import Topology


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


class DemoReport(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    wallets: list[WalletReport]
    signatures: list[SignatureReport]


@dataclass(frozen=True, slots=True)
class _Wallet:
    wallet_id: str
    scheme: str
    ciphersuite: Ciphersuite
    names: dict[Identifier, str]
    key_shares: dict[str, KeyShare]
    public: PublicKeyPackage


def _create_wallet(wallet_id: str, scheme: str, cs: Ciphersuite, topology: Topology) -> _Wallet:
    """A 3-of-6 DKG among the topology's parties; round-2 shares travel sealed."""
    names = [p.id for p in topology.parties]
    ids = {name: Identifier.derive(cs, name.encode()) for name in names}
    sealing = {name: SealingKeyPair.generate() for name in names}
    session = f"{wallet_id}/dkg".encode()
    round1 = {name: dkg.part1(cs, ids[name], len(names), topology.threshold) for name in names}
    mailbox: dict[str, list[tuple[str, bytes]]] = {name: [] for name in names}
    round2_secrets = {}
    for name in names:
        peers = [round1[other][1] for other in names if other != name]
        round2_secrets[name], outgoing = dkg.part2(round1[name][0], peers)
        for recipient in names:
            if recipient == name:
                continue
            sealed = seal(
                outgoing[ids[recipient]].signing_share.to_bytes(),
                session_id=session,
                sender=name,
                sender_key=sealing[name],
                recipient=recipient,
                recipient_public_key=sealing[recipient].public_key,
            )
            mailbox[recipient].append((name, sealed.to_bytes()))
    key_shares: dict[str, KeyShare] = {}
    publics = []
    for name in names:
        incoming = []
        for sender, envelope in mailbox[name]:
            plaintext = open_sealed(
                SealedPayload.from_bytes(envelope),
                session_id=session,
                sender=sender,
                sender_public_key=sealing[sender].public_key,
                recipient=name,
                recipient_key=sealing[name],
            )
            incoming.append(
                dkg.Round2SecretShare(
                    cs, ids[sender], ids[name], cs.group.deserialize_scalar(plaintext)
                )
            )
        key_shares[name], public = dkg.part3(round2_secrets[name], incoming)
        publics.append(public)
    if any(p != publics[0] for p in publics):
        raise RuntimeError("parties disagree on the group key; the DKG must be rerun")
    return _Wallet(wallet_id, scheme, cs, {v: k for k, v in ids.items()}, key_shares, publics[0])


def _verify_externally(scheme: str, public_key: bytes, message: bytes, signature: bytes) -> None:
    """Verification by libraries we did not write."""
    if scheme == "bip340":
        if not PublicKeyXOnly(public_key).verify(signature, message):
            raise InvalidSignature("libsecp256k1 rejected a BIP340 signature")
    else:
        VerifyKey(public_key).verify(message, signature)


def _sign(
    wallet: _Wallet, signers: Sequence[str], message: bytes, ceremony_id: str
) -> SignatureReport:
    started = time.perf_counter()
    shares = [wallet.key_shares[name] for name in signers]
    public = wallet.public
    if wallet.scheme == "bip340":
        # Key-path spend of a BIP86 output: the output key commits to no script tree.
        shares = [tweak_key_share(share, None) for share in shares]
        public = tweak_public_key_package(public, None)
    round1 = [commit(share) for share in shares]
    package = SigningPackage(wallet.ciphersuite, [c for _, c in round1], message)
    signature_shares = [
        sign(package, nonces, share) for (nonces, _), share in zip(round1, shares, strict=True)
    ]
    signature = aggregate(package, signature_shares, public).to_bytes()
    key = public.verifying_key
    public_key = key.x_only() if isinstance(key, Secp256k1Element) else key.to_bytes()
    _verify_externally(wallet.scheme, public_key, message, signature)
    latency_ms = (time.perf_counter() - started) * 1000
    return SignatureReport(
        wallet_id=wallet.wallet_id,
        scheme=wallet.scheme,
        public_key=public_key.hex(),
        message=message.hex(),
        signature=signature.hex(),
        signers=list(signers),
        ceremony_id=ceremony_id,
        latency_ms=round(latency_ms, 3),
    )


def run_demo(messages_per_wallet: int = 10, topology: Topology | None = None) -> DemoReport:
    topology = topology or Topology.load()
    wallets = [
        _create_wallet("wallet-taproot-1", "bip340", FROST_SECP256K1_TR, topology),
        _create_wallet("wallet-ed25519-1", "ed25519", FROST_ED25519, topology),
    ]
    # Signer sets rotate over the primaries' t-subsets; the backup signs only on failover.
    signer_sets = list(
        itertools.combinations([p.id for p in topology.primaries], topology.threshold)
    )
    signatures = []
    for wallet in wallets:
        for n in range(messages_per_wallet):
            text = f"{wallet.wallet_id} payment #{n}".encode()
            # BIP340 signs a 32-byte digest (a sighash); Ed25519 signs the message itself.
            message = hashlib.sha256(text).digest() if wallet.scheme == "bip340" else text
            signers = signer_sets[n % len(signer_sets)]
            signatures.append(_sign(wallet, signers, message, f"{wallet.wallet_id}/sign/{n}"))
    return DemoReport(
        wallets=[
            WalletReport(
                wallet_id=w.wallet_id,
                scheme=w.scheme,
                group_public_key=w.public.verifying_key.to_bytes().hex(),
                threshold=topology.threshold,
                parties=[p.id for p in topology.parties],
            )
            for w in wallets
        ],
        signatures=signatures,
    )


def print_report(report: DemoReport, console: Console | None = None) -> None:
    console = console or Console()
    console.print(
        "[bold]Quorate demo[/bold]: dealerless DKG among "
        f"{', '.join(report.wallets[0].parties)} (threshold {report.wallets[0].threshold}); "
        "round-2 shares sealed party to party; every signature verified by "
        "libsecp256k1 (BIP340) or libsodium (Ed25519)."
    )
    table = Table(title="Signatures")
    for column in ("wallet", "scheme", "signers", "latency (ms)"):
        table.add_column(column)
    for s in report.signatures:
        table.add_row(s.wallet_id, s.scheme, ", ".join(s.signers), f"{s.latency_ms:.2f}")
    console.print(table)
    console.print(
        "Everything ran in this process. The Temporal ceremonies (a worker per party, "
        "UI on http://127.0.0.1:8233) arrive with the ceremony issue."
    )
