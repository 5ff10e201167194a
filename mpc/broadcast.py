"""Reliable broadcast over a single relay: signed messages and one echo round.

Threshold protocols assume a broadcast channel: every party receives the same message from
each sender in a broadcast round (a DKG round-1 package, CGGMP21's ``(K_i, G_i)``). Quorate
has no such channel, only a relay (the workflow) that hands each party its inputs, so a
sender colluding with the relay, or the relay alone, could give different parties
different messages. This module detects it, following *broadcast with abort* by echo of
Goldwasser and Lindell ("Secure Multi-Party Computation without Agreement", J. Cryptology
18(3), 2005): after a broadcast round every party tells every other what it received, and
a party goes on only if all of them received what it did.

What is signed (Ed25519, RFC 8032, through PyNaCl / libsodium), each field written as a
4-byte big-endian length and its bytes::

    payload_digest   = SHA-256(payload)
    broadcast_digest = SHA-256(BROADCAST_LABEL, session id, round label, sender,
                               payload_digest)
    echo_digest      = SHA-256(ECHO_LABEL, session id, round label, echoer, count,
                               then per sender in sorted order:
                               sender, payload_digest, sender's signature)

The sender signs ``broadcast_digest``; the echoer signs ``echo_digest``. An echo carries, per
sender, the payload digest it received and the sender's signature, so a verifier can tell
the two ways an echo can differ from what it received itself:

* the echoed signature is the sender's valid signature over another payload digest for this
  very session, round and sender: the sender signed two broadcasts for one round
  (:class:`BroadcastEquivocation`, naming the **sender**; two signatures prove it);
* the echoed signature is not a valid signature of the sender (or the echo's own signature
  fails, or it covers other senders): the echoer's message is false
  (:class:`InvalidEcho`, naming the **echoer**).

Identity comes from the keys, never from a field the sender fills in: a broadcast is the
sender's only if it verifies under the sender's key from the verifier's own directory.

What the caller must do, and what is assumed:

* Keys come from a directory the verifier trusts (its own provisioned copy), never from the
  relay; a relay that can choose the keys can forge everything.
* Naming an echoer for an invalid echo assumes the relay delivers echoes unchanged, as
  every other culprit of Quorate does (a relay that alters a message gets its sender
  named). An equivocation is named on two signatures of the sender and needs no such
  assumption.
* A sender must sign once per (session, round): store the signature with the message and
  answer a retry with the stored one, or an honest retry is an equivocation.
* Consistency is checked, agreement is not reached: a mismatch aborts the ceremony (no
  party can be made to continue on a different view), it does not repair it.
"""

from __future__ import annotations

import hashlib
import os
import struct
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from typing import Final, TypeAlias

from nacl import bindings as sodium
from nacl.exceptions import BadSignatureError
from nacl.signing import SigningKey, VerifyKey

from mpc.errors import InvalidSignature, MpcError

__all__ = [
    "BROADCAST_LABEL",
    "ECHO_LABEL",
    "MAX_PAYLOAD_SIZE",
    "BroadcastEquivocation",
    "BroadcastError",
    "Echo",
    "IncompleteBroadcast",
    "InvalidBroadcastInput",
    "InvalidBroadcastSignature",
    "InvalidEcho",
    "InvalidMessageSigningKey",
    "MessageSigningKeyPair",
    "MessageSigningPublicKey",
    "Received",
    "Rng",
    "SenderMismatch",
    "broadcast_digest",
    "check_echoes",
    "echo_digest",
    "make_echo",
    "payload_digest",
    "sign_broadcast",
    "verify_broadcasts",
]

Rng: TypeAlias = Callable[[int], bytes]
"""A source of randomness: called with ``n``, returns exactly ``n`` random bytes."""

BROADCAST_LABEL: Final = b"quorate/broadcast/v1"
ECHO_LABEL: Final = b"quorate/broadcast-echo/v1"

KEY_SIZE: Final = 32
SIGNATURE_SIZE: Final = 64
DIGEST_SIZE: Final = 32
MAX_SESSION_ID_SIZE: Final = 256
MAX_PARTY_ID_SIZE: Final = 256
MAX_ROUND_LABEL_SIZE: Final = 64
MAX_PAYLOAD_SIZE: Final = 1 << 20
"""One MiB: a DKG package is a few hundred bytes, a presigning broadcast a few kilobytes."""

_LENGTH = struct.Struct(">I")


class BroadcastError(MpcError):
    """Base class of :mod:`mpc.broadcast`'s errors; ``culprits`` names the parties at
    fault (party ids, in sorted order), if any."""

    def __init__(self, message: str, culprits: Collection[str] = ()) -> None:
        self.culprits: tuple[str, ...] = tuple(sorted(set(culprits)))
        if self.culprits:
            message = f"{message} (culprits: {', '.join(self.culprits)})"
        super().__init__(message)


class InvalidMessageSigningKey(BroadcastError):
    """Key bytes that are not a usable Ed25519 key (length, encoding, small order)."""


class InvalidBroadcastInput(BroadcastError):
    """An argument no protocol message explains: empty ids, oversized payloads, a sender
    or echoer without a key in the directory. Names nobody."""


class IncompleteBroadcast(BroadcastError):
    """A round's messages are not exactly one per expected party (one missing, one extra,
    a signature without its message). The relay decides what arrives, so nobody is named."""


class InvalidBroadcastSignature(BroadcastError, InvalidSignature):
    """A broadcast whose signature is not its sender's, for this session, round and
    payload (forged, replayed from another session or round, or altered); names the
    sender, as the relay is assumed to deliver faithfully."""


class InvalidEcho(BroadcastError):
    """An echo whose signature is not its echoer's, that covers other senders than ours, or
    that reports a sender's signature the sender never made: names the echoer."""


class BroadcastEquivocation(BroadcastError):
    """A sender signed two different broadcasts for one round, and different parties
    received different ones: names the sender."""


class SenderMismatch(BroadcastError):
    """A broadcast, validly signed by its sender, whose payload claims another sender (a
    DKG package carrying another party's identifier): names the signer."""


@dataclass(frozen=True, slots=True, repr=False)
class MessageSigningPublicKey:
    """A party's Ed25519 message-signing public key: 32 bytes, a canonical point of large
    order (libsodium's ``crypto_core_ed25519_is_valid_point``)."""

    raw: bytes

    def __post_init__(self) -> None:
        if not isinstance(self.raw, bytes) or len(self.raw) != KEY_SIZE:
            raise InvalidMessageSigningKey(f"an Ed25519 public key is {KEY_SIZE} bytes")
        if not sodium.crypto_core_ed25519_is_valid_point(self.raw):
            raise InvalidMessageSigningKey("not a canonical Ed25519 point of large order")

    def verify(self, message: bytes, signature: bytes) -> None:
        """Raises :class:`mpc.errors.InvalidSignature` unless ``signature`` is ours over
        ``message``; never returns a bool."""
        if not isinstance(signature, bytes) or len(signature) != SIGNATURE_SIZE:
            raise InvalidSignature(f"an Ed25519 signature is {SIGNATURE_SIZE} bytes")
        try:
            VerifyKey(self.raw).verify(message, signature)
        except BadSignatureError:
            raise InvalidSignature("the Ed25519 signature does not verify") from None

    def __repr__(self) -> str:
        return f"MessageSigningPublicKey({self.raw.hex()!r})"


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class MessageSigningKeyPair:
    """A party's Ed25519 message-signing key. Build it with :meth:`generate` or
    :meth:`from_private_bytes`; key pairs compare by identity."""

    _signing_key: SigningKey
    public_key: MessageSigningPublicKey = field(init=False)

    def __post_init__(self) -> None:
        if not isinstance(self._signing_key, SigningKey):
            raise InvalidMessageSigningKey("a message-signing key pair holds an Ed25519 key")
        public = MessageSigningPublicKey(bytes(self._signing_key.verify_key))
        object.__setattr__(self, "public_key", public)

    @classmethod
    def generate(cls, rng: Rng = os.urandom) -> MessageSigningKeyPair:
        """A fresh key from ``rng`` (the operating system's CSPRNG by default)."""
        seed = rng(KEY_SIZE)
        if not isinstance(seed, bytes) or len(seed) != KEY_SIZE:
            raise InvalidBroadcastInput(f"rng must return exactly {KEY_SIZE} bytes")
        return cls.from_private_bytes(seed)

    @classmethod
    def from_private_bytes(cls, seed: bytes) -> MessageSigningKeyPair:
        """The key whose RFC 8032 seed is these 32 bytes."""
        if not isinstance(seed, bytes) or len(seed) != KEY_SIZE:
            raise InvalidMessageSigningKey(f"an Ed25519 seed is {KEY_SIZE} bytes")
        return cls(SigningKey(seed))

    def unsafe_private_bytes(self) -> bytes:
        """Export the seed, for storage in the party's vault only. Never log or send it."""
        return bytes(self._signing_key)

    def sign(self, message: bytes) -> bytes:
        """The 64-byte Ed25519 signature of ``message`` (deterministic, RFC 8032)."""
        return bytes(self._signing_key.sign(message).signature)

    def __repr__(self) -> str:
        return f"MessageSigningKeyPair(public_key={self.public_key!r}, private_key=<redacted>)"


@dataclass(frozen=True, slots=True)
class Received:
    """What one party received from one sender in a broadcast round: the payload's digest
    and the sender's signature over it."""

    payload_digest: bytes
    signature: bytes

    def __post_init__(self) -> None:
        # Only the types: an echo is judged by check_echoes, which names whoever reported
        # a digest or signature of the wrong size, instead of failing on it here.
        if not isinstance(self.payload_digest, bytes) or not isinstance(self.signature, bytes):
            raise InvalidBroadcastInput("a payload digest and a signature are bytes")


@dataclass(frozen=True, slots=True)
class Echo:
    """One party's report of a broadcast round: per sender (itself included), what it
    received; signed by the echoer over :func:`echo_digest`."""

    received: Mapping[str, Received]
    signature: bytes


def payload_digest(payload: bytes) -> bytes:
    """SHA-256 of a broadcast's payload: what an echo reports instead of the payload."""
    if not isinstance(payload, bytes):
        raise InvalidBroadcastInput("a payload must be bytes")
    if len(payload) > MAX_PAYLOAD_SIZE:
        raise InvalidBroadcastInput(f"a payload is at most {MAX_PAYLOAD_SIZE} bytes")
    return hashlib.sha256(payload).digest()


def broadcast_digest(
    *, session_id: bytes, round_label: str, sender: str, payload_digest: bytes
) -> bytes:
    """What ``sender`` signs for a payload of this digest in this session and round."""
    if not isinstance(payload_digest, bytes) or len(payload_digest) != DIGEST_SIZE:
        raise InvalidBroadcastInput(f"a payload digest is {DIGEST_SIZE} bytes")
    return hashlib.sha256(
        _fields(
            BROADCAST_LABEL,
            _session(session_id),
            _round(round_label),
            _party(sender, "sender"),
            payload_digest,
        )
    ).digest()


def echo_digest(
    *, session_id: bytes, round_label: str, echoer: str, received: Mapping[str, Received]
) -> bytes:
    """What ``echoer`` signs for its echo of this session's round."""
    parts = [
        ECHO_LABEL,
        _session(session_id),
        _round(round_label),
        _party(echoer, "echoer"),
        len(received).to_bytes(4, "big"),
    ]
    for sender in sorted(received):
        entry = received[sender]
        if not isinstance(entry, Received):
            raise InvalidBroadcastInput("an echo's entries are Received values")
        parts += [_party(sender, "sender"), entry.payload_digest, entry.signature]
    return hashlib.sha256(_fields(*parts)).digest()


def sign_broadcast(
    key: MessageSigningKeyPair,
    *,
    session_id: bytes,
    round_label: str,
    sender: str,
    payload: bytes,
) -> bytes:
    """``sender``'s signature of ``payload`` as its broadcast in this session and round.

    Sign once per round and keep the signature with the message (see the module's notes).
    """
    if not isinstance(key, MessageSigningKeyPair):
        raise InvalidBroadcastInput("key must be a MessageSigningKeyPair")
    digest = broadcast_digest(
        session_id=session_id,
        round_label=round_label,
        sender=sender,
        payload_digest=payload_digest(payload),
    )
    return key.sign(digest)


def verify_broadcasts(
    payloads: Mapping[str, bytes],
    signatures: Mapping[str, bytes],
    keys: Mapping[str, MessageSigningPublicKey],
    *,
    session_id: bytes,
    round_label: str,
    senders: Collection[str],
) -> dict[str, Received]:
    """Checks one broadcast round as a party received it; returns what it received, per
    sender, for its echo.

    ``senders`` are every party of the round (the verifier too, whose own message and
    signature the caller includes from its own records); ``keys`` the verifier's
    directory. The counts come first (:class:`IncompleteBroadcast`), then every signature
    (:class:`InvalidBroadcastSignature`, naming each sender whose signature fails).
    """
    expected = _expected(senders)
    if set(payloads) != expected or set(signatures) != expected:
        missing = sorted(expected - set(payloads).intersection(signatures))
        extra = sorted((set(payloads) | set(signatures)) - expected)
        raise IncompleteBroadcast(
            "a broadcast round needs exactly one signed message from each party"
            + (f"; missing: {', '.join(missing)}" if missing else "")
            + (f"; unexpected: {', '.join(extra)}" if extra else "")
        )
    _check_keys(keys, expected, "sender")
    received: dict[str, Received] = {}
    forged: list[str] = []
    for sender in sorted(expected):
        digest = payload_digest(payloads[sender])
        signature = signatures[sender]
        message = broadcast_digest(
            session_id=session_id,
            round_label=round_label,
            sender=sender,
            payload_digest=digest,
        )
        try:
            keys[sender].verify(message, signature)
        except InvalidSignature:
            forged.append(sender)
            continue
        received[sender] = Received(digest, signature)
    if forged:
        raise InvalidBroadcastSignature(
            f"a broadcast of round {round_label!r} is not signed by its sender", forged
        )
    return received


def make_echo(
    key: MessageSigningKeyPair,
    *,
    session_id: bytes,
    round_label: str,
    echoer: str,
    received: Mapping[str, Received],
) -> Echo:
    """``echoer``'s signed report of what it received (from :func:`verify_broadcasts`)."""
    if not isinstance(key, MessageSigningKeyPair):
        raise InvalidBroadcastInput("key must be a MessageSigningKeyPair")
    if echoer not in received:
        raise InvalidBroadcastInput("an echo reports the echoer's own broadcast too")
    entries = dict(sorted(received.items()))
    digest = echo_digest(
        session_id=session_id, round_label=round_label, echoer=echoer, received=entries
    )
    return Echo(entries, key.sign(digest))


def check_echoes(
    own: Mapping[str, Received],
    echoes: Mapping[str, Echo],
    keys: Mapping[str, MessageSigningPublicKey],
    *,
    session_id: bytes,
    round_label: str,
    me: str,
) -> None:
    """Checks that every other party received, in this round, what this party did.

    ``own`` is this party's record of the round (what it echoed), ``echoes`` every other
    party's echo, by echoer. Every echo is judged before anything is raised, so all
    culprits are named at once: :class:`BroadcastEquivocation` (senders that signed two
    broadcasts) takes precedence, as it rests on the senders' own signatures; otherwise
    :class:`InvalidEcho` names the echoers whose reports are false.
    """
    parties = _expected(own)
    if me not in parties:
        raise InvalidBroadcastInput("a party checks echoes of a round it took part in")
    others = parties - {me}
    if set(echoes) != others:
        missing = sorted(others - set(echoes))
        extra = sorted(set(echoes) - others)
        raise IncompleteBroadcast(
            "an echo round needs exactly one echo from each other party"
            + (f"; missing: {', '.join(missing)}" if missing else "")
            + (f"; unexpected: {', '.join(extra)}" if extra else "")
        )
    _check_keys(keys, parties, "party")
    equivocators: set[str] = set()
    false_echoers: set[str] = set()
    for echoer in sorted(others):
        echo = echoes[echoer]
        if not isinstance(echo, Echo) or not _echo_is_signed(
            echo, keys[echoer], session_id, round_label, echoer
        ):
            false_echoers.add(echoer)
            continue
        if set(echo.received) != parties:
            # Signed by the echoer (for this session and round, which its signature binds)
            # over other senders than the round's: the echoer's own doing.
            false_echoers.add(echoer)
            continue
        for sender in sorted(parties):
            theirs = echo.received[sender]
            if theirs.payload_digest == own[sender].payload_digest:
                continue
            if len(theirs.payload_digest) != DIGEST_SIZE:
                false_echoers.add(echoer)
                continue
            message = broadcast_digest(
                session_id=session_id,
                round_label=round_label,
                sender=sender,
                payload_digest=theirs.payload_digest,
            )
            try:
                keys[sender].verify(message, theirs.signature)
            except InvalidSignature:
                # The sender never signed what the echo reports: the echoer made it up.
                false_echoers.add(echoer)
            else:
                # Two payloads of one round, each under the sender's signature.
                equivocators.add(sender)
    if equivocators:
        raise BroadcastEquivocation(
            f"a sender signed two different broadcasts of round {round_label!r}",
            equivocators,
        )
    if false_echoers:
        raise InvalidEcho(f"an echo of round {round_label!r} is false", false_echoers)


def _echo_is_signed(
    echo: Echo,
    key: MessageSigningPublicKey,
    session_id: bytes,
    round_label: str,
    echoer: str,
) -> bool:
    try:
        digest = echo_digest(
            session_id=session_id, round_label=round_label, echoer=echoer, received=echo.received
        )
        key.verify(digest, echo.signature)
    except (InvalidSignature, InvalidBroadcastInput):
        return False
    return True


def _expected(senders: Collection[str]) -> set[str]:
    expected = set(senders)
    if len(expected) < 2:
        raise InvalidBroadcastInput("a broadcast round has at least two parties")
    for sender in expected:
        _party(sender, "party")
    return expected


def _check_keys(
    keys: Mapping[str, MessageSigningPublicKey], parties: Collection[str], what: str
) -> None:
    unknown = sorted(p for p in parties if not isinstance(keys.get(p), MessageSigningPublicKey))
    if unknown:
        raise InvalidBroadcastInput(
            f"no message-signing key is known for {what} {', '.join(unknown)}"
        )


def _fields(*fields: bytes) -> bytes:
    # A length before every field makes the concatenation injective: no two field lists
    # share an encoding, so one context can never be read as another.
    return b"".join(_LENGTH.pack(len(f)) + f for f in fields)


def _session(session_id: bytes) -> bytes:
    if not isinstance(session_id, bytes) or not 1 <= len(session_id) <= MAX_SESSION_ID_SIZE:
        raise InvalidBroadcastInput(f"a session id is 1 to {MAX_SESSION_ID_SIZE} bytes")
    return session_id


def _round(round_label: str) -> bytes:
    if not isinstance(round_label, str):
        raise InvalidBroadcastInput("a round label is a str")
    encoded = round_label.encode("utf-8")
    if not 1 <= len(encoded) <= MAX_ROUND_LABEL_SIZE:
        raise InvalidBroadcastInput(f"a round label is 1 to {MAX_ROUND_LABEL_SIZE} bytes")
    return encoded


def _party(party: str, what: str) -> bytes:
    if not isinstance(party, str):
        raise InvalidBroadcastInput(f"a {what} id is a str")
    try:
        encoded = party.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidBroadcastInput(f"a {what} id is not encodable as UTF-8") from None
    if not 1 <= len(encoded) <= MAX_PARTY_ID_SIZE:
        raise InvalidBroadcastInput(f"a {what} id is 1 to {MAX_PARTY_ID_SIZE} bytes of UTF-8")
    return encoded
