"""Every recorded signature re-verified against its wallet's group key, by libraries we did
not write: libsecp256k1 (coincurve) for BIP340 and ECDSA, libsodium (PyNaCl) for Ed25519.

A hash chain only says that nobody changed the log after the fact; whoever may append can
still append a ``SignatureProduced`` that no ceremony produced, with a valid hash. So each
one is checked as a relying party would check it:

==================  =================================================================
scheme              the check
==================  =================================================================
``bip340``          the event's ``public_key`` must be the wallet's BIP86 output key,
                    ``x(lift_x(P) + int(hash_TapTweak(x(P)))·G)`` for the group key
                    ``P`` of its ``WalletCreated`` (BIP341 ``taproot_tweak_pubkey`` with
                    no script tree; computed here with libsecp256k1, not with
                    :mod:`mpc.frost.taproot`, so the audit does not trust the code it
                    audits), and the signature must verify under it
                    (``PublicKeyXOnly.verify``, BIP340)
``ed25519``         ``public_key`` must be the wallet's group key; RFC 8032 verification
                    by libsodium, which also refuses non-canonical and small-order values
``ecdsa-secp256k1`` ``public_key`` must be the wallet's group key (compressed SEC1);
                    the signature is 64 bytes ``r || s`` over a 32-byte digest, with
                    ``0 < r < n`` and ``0 < s <= n/2`` (low s, EIP-2 / BIP146), verified by
                    libsecp256k1 with no further hashing
==================  =================================================================

The wallet must have been created earlier in the log with the same scheme. A signature of a
wallet whose creation is not in the source (a time-range export starting later) cannot be
checked; that is counted and said, not silently passed.

A BIP340 signature may also have been made for a taproot output with a script tree (a
``SignInput`` with ``taproot_merkle_root``): its output key is tweaked with the tree's root,
which ``SignatureProduced`` does not record, so it cannot be tied to the wallet. By default
that is a finding (the key is not the wallet's); ``allow_script_tree_keys`` turns it into a
counted note, the signature still checked against the key it names.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Final, TypeVar

from coincurve import PublicKey, PublicKeyXOnly
from coincurve.ecdsa import cdata_to_der, deserialize_compact
from nacl.exceptions import BadSignatureError, CryptoError
from nacl.signing import VerifyKey

from storage.audit.findings import CheckSummary, Flaw, Problem, VerifyMode
from storage.events.errors import EventStoreError
from storage.events.models import SignatureProduced, WalletCreated, parse_event
from storage.events.port import StoredEvent

SECP256K1_ORDER: Final = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
"""n, the order of secp256k1's group (SEC 2, §2.4.1)."""

_Parsed = TypeVar("_Parsed", WalletCreated, SignatureProduced)
_WALLET_CREATED = WalletCreated.__name__
_SIGNATURE_PRODUCED = SignatureProduced.__name__


class _Rejected(Exception):
    """Why a signature or key fails; carries the finding's problem."""

    def __init__(self, problem: Problem, reason: str) -> None:
        super().__init__(reason)
        self.problem = problem
        self.reason = reason


def tagged_hash(tag: str, data: bytes) -> bytes:
    """BIP340 ``hash_tag(x) = SHA256(SHA256(tag) || SHA256(tag) || x)``."""
    digest = hashlib.sha256(tag.encode("utf-8")).digest()
    return hashlib.sha256(digest + digest + data).digest()


def bip86_output_key(group_key: bytes) -> bytes:
    """The x-only BIP86 output key of a compressed secp256k1 key (BIP341, no script tree).

    Raises ``ValueError`` if ``group_key`` is not a point or the tweak is out of range.
    """
    point = PublicKey(group_key)
    x_only = point.format(compressed=True)[1:]
    # lift_x(x(P)): the point with P's x and even y.
    internal = PublicKey(b"\x02" + x_only)
    tweak = tagged_hash("TapTweak", x_only)
    if int.from_bytes(tweak, "big") >= SECP256K1_ORDER:
        raise ValueError("TapTweak is not below the group order")
    return internal.add(tweak).format(compressed=True)[1:]


@dataclass(frozen=True, slots=True)
class WalletKey:
    """What a wallet's signatures are checked against: its scheme and signing key."""

    scheme: str
    group_key: bytes
    signing_key: bytes
    """The key its signatures verify under: the BIP86 output key for ``bip340``, the group
    key itself otherwise."""


def wallet_key(created: WalletCreated) -> WalletKey:
    """The key ``created``'s signatures must verify under; raises :class:`_Rejected` for a
    group key that is no valid key of the wallet's scheme."""
    group_key = bytes.fromhex(created.group_public_key)
    try:
        if created.scheme == "bip340":
            return WalletKey(created.scheme, group_key, bip86_output_key(group_key))
        if created.scheme == "ecdsa-secp256k1":
            PublicKey(group_key)
        elif len(group_key) != 32:
            raise ValueError("an Ed25519 key is 32 bytes")
    except ValueError as exc:
        raise _Rejected(
            Problem.KEY_MISMATCH,
            f"wallet {created.wallet_id!r}'s group key is not a valid {created.scheme} key: {exc}",
        ) from None
    return WalletKey(created.scheme, group_key, group_key)


def verify_bip340(public_key: bytes, message: bytes, signature: bytes) -> None:
    """BIP340 verification by libsecp256k1; raises :class:`_Rejected`."""
    if len(public_key) != 32 or len(signature) != 64:
        raise _Rejected(Problem.BAD_SIGNATURE, "a BIP340 key is 32 bytes and a signature 64 bytes")
    try:
        valid = PublicKeyXOnly(public_key).verify(signature, message)
    except ValueError as exc:
        raise _Rejected(Problem.BAD_SIGNATURE, f"libsecp256k1 refuses it: {exc}") from None
    if not valid:
        raise _Rejected(
            Problem.BAD_SIGNATURE,
            "the BIP340 signature does not verify (libsecp256k1) under the wallet's output key",
        )


def verify_ed25519(public_key: bytes, message: bytes, signature: bytes) -> None:
    """RFC 8032 verification by libsodium; raises :class:`_Rejected`."""
    if len(public_key) != 32 or len(signature) != 64:
        raise _Rejected(
            Problem.BAD_SIGNATURE, "an Ed25519 key is 32 bytes and a signature 64 bytes"
        )
    try:
        VerifyKey(public_key).verify(message, signature)
    except (BadSignatureError, CryptoError, ValueError, TypeError):
        raise _Rejected(
            Problem.BAD_SIGNATURE,
            "the Ed25519 signature does not verify (libsodium) under the wallet's key",
        ) from None


def verify_ecdsa(public_key: bytes, digest: bytes, signature: bytes) -> None:
    """ECDSA verification of ``r || s`` over a 32-byte digest by libsecp256k1, low s."""
    if len(digest) != 32:
        raise _Rejected(Problem.BAD_SIGNATURE, "an ECDSA signature is over a 32-byte digest")
    if len(signature) != 64:
        raise _Rejected(Problem.BAD_SIGNATURE, "an ECDSA signature is 64 bytes r || s")
    r = int.from_bytes(signature[:32], "big")
    s = int.from_bytes(signature[32:], "big")
    if not (0 < r < SECP256K1_ORDER and 0 < s < SECP256K1_ORDER):
        raise _Rejected(
            Problem.BAD_SIGNATURE, "the ECDSA signature does not verify: r and s must be in 1..n-1"
        )
    if s > SECP256K1_ORDER // 2:
        raise _Rejected(
            Problem.BAD_SIGNATURE,
            "the ECDSA signature does not verify: high s (it is not low-s normalized)",
        )
    try:
        der = cdata_to_der(deserialize_compact(signature))
        valid = PublicKey(public_key).verify(der, digest, hasher=None)
    except ValueError as exc:
        raise _Rejected(Problem.BAD_SIGNATURE, f"libsecp256k1 refuses it: {exc}") from None
    if not valid:
        raise _Rejected(
            Problem.BAD_SIGNATURE,
            "the ECDSA signature does not verify (libsecp256k1) under the wallet's key",
        )


_VERIFIERS = {
    "bip340": verify_bip340,
    "ed25519": verify_ed25519,
    "ecdsa-secp256k1": verify_ecdsa,
}


@dataclass(slots=True)
class SignatureCheck:
    """The :class:`~storage.audit.findings.EventCheck` of every ``SignatureProduced``.

    Memory: one key per wallet created in the source.
    """

    allow_script_tree_keys: bool = False
    wallets: dict[str, WalletKey] = field(default_factory=dict)
    verified: int = 0
    uncheckable: int = 0
    """Signatures of wallets created before the source's first event (slices, subsets)."""
    script_tree: list[int] = field(default_factory=list)
    """Positions of BIP340 signatures under a key that is not the wallet's BIP86 key."""

    def observe(self, event: StoredEvent, mode: VerifyMode) -> Flaw | None:
        try:
            if event.event_type == _WALLET_CREATED:
                created = _parse(WalletCreated, event)
                self.wallets[created.wallet_id] = wallet_key(created)
            elif event.event_type == _SIGNATURE_PRODUCED:
                self._check(_parse(SignatureProduced, event), event, mode)
        except _Rejected as rejected:
            return Flaw(rejected.problem, rejected.reason)
        return None

    def _check(self, produced: SignatureProduced, event: StoredEvent, mode: VerifyMode) -> None:
        wallet = self.wallets.get(produced.wallet_id)
        if wallet is None:
            if mode is VerifyMode.LOG:
                raise _Rejected(
                    Problem.KEY_MISMATCH,
                    f"a signature of wallet {produced.wallet_id!r}, which no earlier "
                    "WalletCreated created",
                )
            self.uncheckable += 1
            return
        if produced.scheme != wallet.scheme:
            raise _Rejected(
                Problem.KEY_MISMATCH,
                f"a {produced.scheme} signature of wallet {produced.wallet_id!r}, which is a "
                f"{wallet.scheme} wallet",
            )
        public_key = bytes.fromhex(produced.public_key)
        if public_key != wallet.signing_key:
            if not (self.allow_script_tree_keys and wallet.scheme == "bip340"):
                expected = "BIP86 output key" if wallet.scheme == "bip340" else "group key"
                raise _Rejected(
                    Problem.KEY_MISMATCH,
                    f"public key {produced.public_key} is not wallet "
                    f"{produced.wallet_id!r}'s {expected} {wallet.signing_key.hex()}"
                    + (
                        " (a script-tree output key cannot be tied to the wallet: the event "
                        "does not record the tree's root)"
                        if wallet.scheme == "bip340"
                        else ""
                    ),
                )
            self.script_tree.append(event.position)
        _VERIFIERS[wallet.scheme](
            public_key, bytes.fromhex(produced.message), bytes.fromhex(produced.signature)
        )
        self.verified += 1

    def finish(self, mode: VerifyMode) -> Flaw | None:
        return None

    def summary(self) -> CheckSummary:
        notes: list[str] = []
        if self.uncheckable:
            notes.append(
                f"{self.uncheckable} signatures of wallets created before this source's first "
                "event could not be checked (their WalletCreated is not in it)"
            )
        if self.script_tree:
            shown = ", ".join(str(p) for p in self.script_tree[:10])
            more = "..." if len(self.script_tree) > 10 else ""
            notes.append(
                f"{len(self.script_tree)} BIP340 signatures verify under a key that is not "
                f"their wallet's BIP86 output key (script-tree keys?), at positions "
                f"{shown}{more}: not tied to their wallets"
            )
        return CheckSummary(
            name="signatures",
            text=f"signatures: {self.verified} verified against their wallets' keys "
            "(libsecp256k1, libsodium)",
            data={
                "verified": self.verified,
                "uncheckable": self.uncheckable,
                "script_tree_keys": list(self.script_tree),
            },
            notes=tuple(notes),
        )


def _parse(cls: type[_Parsed], event: StoredEvent) -> _Parsed:
    """``event`` as ``cls`` (through :func:`~storage.events.models.parse_event`), or
    :class:`_Rejected`."""
    try:
        parsed = parse_event(event)
    except EventStoreError as exc:
        raise _Rejected(Problem.MALFORMED, _first_line(exc)) from None
    if not isinstance(parsed, cls):  # Unreachable: dispatched on the same event type.
        raise _Rejected(Problem.MALFORMED, f"not a {cls.__name__} event")
    return parsed


def _first_line(exc: Exception) -> str:
    lines = str(exc).splitlines()
    return " ".join(line.strip() for line in lines[:3]) if lines else type(exc).__name__
