"""Party-to-party sealing of threshold-protocol messages (DKG shares now, MtA messages later).

Every payload is sealed by one named party to one other named party, so that the relay that
carries it (the coordinator, a message queue, a database row) can neither read it nor alter it,
and so that the recipient knows which party sealed it.

Building blocks:

* X25519 key agreement, RFC 7748, through pyca/cryptography;
* HKDF with SHA-256, RFC 5869;
* AES-256-GCM, NIST SP 800-38D.

The construction borrows the idea of HPKE's authenticated mode (RFC 9180 §5.1.3, ``AuthEncap``):
the key is derived from two Diffie-Hellman values, one between a fresh ephemeral key and the
recipient's static key (confidentiality) and one between the sender's static key and the
recipient's static key (sender authentication)::

    ikm = X25519(eph_sk, recipient_pk) || X25519(sender_sk, recipient_pk)
    key = HKDF-SHA256(salt=label, ikm, info=label, version, session id, party ids,
                      eph_pk, sender_pk, recipient_pk)
    ct  = AES-256-GCM(key, nonce, plaintext,
                      aad=label, version, session id, sender id, recipient id, eph_pk)

It is **our own construction, not HPKE**: its key schedule, labels and wire format are not
RFC 9180's and it does not interoperate with any HPKE implementation.

What it guarantees, and what it leaves to the caller:

* Only the holder of the recipient's static secret can open a payload; the relay learns the
  header (version, session id, both party ids, the ephemeral key) and the plaintext's length.
* A payload opens only under the exact session id, sender, recipient and keys it was sealed
  with, so it cannot be replayed into another session or redirected to another party.
* It does **not** stop a replay of the same envelope within the same (session, sender,
  recipient): the protocol's state machine must accept each round's message once.
* Like HPKE's auth mode it is not resistant to key-compromise impersonation: whoever steals a
  party's static secret can forge payloads addressed *to* that party from any other party.
  Nor is it forward secret against the loss of the recipient's static secret.
* Python cannot wipe memory, so secrets live until the garbage collector frees them.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Final, TypeAlias

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from mpc.errors import MpcError

__all__ = [
    "MAX_PARTY_ID_SIZE",
    "MAX_PLAINTEXT_SIZE",
    "MAX_SEALED_PAYLOAD_SIZE",
    "MAX_SESSION_ID_SIZE",
    "PROTOCOL_LABEL",
    "SEALING_VERSION",
    "InvalidSealingInput",
    "InvalidSealingKey",
    "Rng",
    "SealedPayload",
    "SealedPayloadMalformed",
    "SealedPayloadMismatch",
    "SealedPayloadTampered",
    "SealingError",
    "SealingKeyPair",
    "SealingPublicKey",
    "open_sealed",
    "seal",
]

Rng: TypeAlias = Callable[[int], bytes]
"""A source of randomness: called with ``n``, returns exactly ``n`` random bytes."""

SEALING_VERSION: Final = 1
"""The only envelope version this module writes or accepts."""

PROTOCOL_LABEL: Final = b"quorate/sealing/v1"
"""Domain separation: keys and associated data of this construction are never those of another."""

KEY_SIZE: Final = 32
NONCE_SIZE: Final = 12
TAG_SIZE: Final = 16

MAX_SESSION_ID_SIZE: Final = 256
MAX_PARTY_ID_SIZE: Final = 256
"""Party ids are limited in their UTF-8 encoding, not in characters."""
MAX_PLAINTEXT_SIZE: Final = 1 << 20
"""One MiB: a DKG share is tens of bytes and an MtA message with its proofs tens of kilobytes."""

# Every field is written as a 4-byte big-endian length followed by its bytes.
_LENGTH = struct.Struct(">I")
_FIELD_COUNT: Final = 6
MAX_SEALED_PAYLOAD_SIZE: Final = (
    1
    + _FIELD_COUNT * _LENGTH.size
    + MAX_SESSION_ID_SIZE
    + 2 * MAX_PARTY_ID_SIZE
    + KEY_SIZE
    + NONCE_SIZE
    + MAX_PLAINTEXT_SIZE
    + TAG_SIZE
)
"""The largest serialized envelope; :meth:`SealedPayload.from_bytes` refuses anything longer."""

# The field p of Curve25519; a canonical u-coordinate is an integer in [0, p).
_P: Final = 2**255 - 19

# Any fixed scalar detects low-order points: X25519 clamps every scalar to a multiple of the
# cofactor 8, so a point of order dividing 8 always yields the all-zero shared secret. The value
# is public (the scalar of RFC 7748 §5.2's first test vector) and is used for nothing else.
_LOW_ORDER_PROBE: Final = X25519PrivateKey.from_private_bytes(
    bytes.fromhex("a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4")
)


class SealingError(MpcError):
    """Base class of every error raised by :mod:`mpc.sealing`.

    Messages name the field or check that failed; they never contain plaintext or key bytes.
    """


class InvalidSealingInput(SealingError):
    """An argument to :func:`seal` or :func:`open_sealed` is unusable (empty, too long, ...)."""


class InvalidSealingKey(SealingError):
    """Key bytes are not a usable X25519 key: wrong length, non-canonical or low-order."""


class SealedPayloadMalformed(SealingError):
    """An envelope does not parse, or a field is outside what any sealed payload can hold."""


class SealedPayloadMismatch(SealingError):
    """An envelope's header names a session, sender or recipient other than the expected one."""


class SealedPayloadTampered(SealingError):
    """An envelope failed authentication.

    Either it was modified in transit, or it was sealed under other keys or another context
    than the opener expects (an impersonating sender, a rewritten header, a wrong key).
    """


@dataclass(frozen=True, slots=True, repr=False)
class SealingPublicKey:
    """A party's static X25519 public key: 32 bytes, canonical and not of low order."""

    raw: bytes

    def __post_init__(self) -> None:
        if not isinstance(self.raw, bytes):
            raise InvalidSealingKey("an X25519 public key must be bytes")
        if len(self.raw) != KEY_SIZE:
            raise InvalidSealingKey(
                f"an X25519 public key is {KEY_SIZE} bytes, got {len(self.raw)}"
            )
        # RFC 7748 lets a decoder accept u >= p and ignore the top bit, which gives one key many
        # encodings. The raw bytes are bound into the key derivation and compared for equality,
        # so only the single canonical encoding is accepted.
        if int.from_bytes(self.raw, "little") >= _P:
            raise InvalidSealingKey("X25519 public key is not canonically encoded")
        # A low-order point forces a shared secret that does not depend on the other party's
        # secret; RFC 7748 §6.1 allows (and we require) rejecting the all-zero result.
        _exchange(_LOW_ORDER_PROBE, X25519PublicKey.from_public_bytes(self.raw))

    def _key(self) -> X25519PublicKey:
        return X25519PublicKey.from_public_bytes(self.raw)

    def __repr__(self) -> str:
        return f"SealingPublicKey({self.raw.hex()!r})"


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class SealingKeyPair:
    """A party's static X25519 key pair.

    Build it with :meth:`generate` or :meth:`from_private_bytes`, not the constructor. Key pairs
    compare by identity: comparing secrets by value would be a timing side channel for no gain.
    """

    _private_key: X25519PrivateKey
    public_key: SealingPublicKey = field(init=False)

    def __post_init__(self) -> None:
        if not isinstance(self._private_key, X25519PrivateKey):
            raise InvalidSealingKey("a sealing key pair holds an X25519 private key")
        public = SealingPublicKey(self._private_key.public_key().public_bytes_raw())
        # The dataclass is frozen; the derived public key is cached once, at construction.
        object.__setattr__(self, "public_key", public)

    @classmethod
    def generate(cls, rng: Rng = os.urandom) -> SealingKeyPair:
        """A fresh key pair from ``rng`` (the operating system's CSPRNG by default)."""
        return cls.from_private_bytes(_draw(rng, KEY_SIZE))

    @classmethod
    def from_private_bytes(cls, private_bytes: bytes) -> SealingKeyPair:
        """The key pair whose X25519 secret is these 32 bytes (RFC 7748 encoding, unclamped)."""
        if not isinstance(private_bytes, bytes) or len(private_bytes) != KEY_SIZE:
            raise InvalidSealingKey(f"an X25519 private key is {KEY_SIZE} bytes")
        return cls(X25519PrivateKey.from_private_bytes(private_bytes))

    def unsafe_private_bytes(self) -> bytes:
        """Export the secret, for storage in a key vault only. Never log or transmit it."""
        return self._private_key.private_bytes_raw()

    def __repr__(self) -> str:
        return f"SealingKeyPair(public_key={self.public_key!r}, private_key=<redacted>)"


@dataclass(frozen=True, slots=True, repr=False)
class SealedPayload:
    """One sealed message: a cleartext header and the AES-GCM ciphertext (tag included).

    Construction validates every field's type and size, so an instance is always structurally
    well formed; whether it is authentic is only known once :func:`open_sealed` succeeds.
    """

    version: int
    session_id: bytes
    sender: str
    recipient: str
    ephemeral_public_key: bytes
    nonce: bytes
    ciphertext: bytes

    def __post_init__(self) -> None:
        # bool is a subclass of int, and True == 1 would otherwise pass as version 1.
        if type(self.version) is not int or self.version != SEALING_VERSION:
            raise SealedPayloadMalformed("unsupported sealed payload version")
        _check_session_id(self.session_id, SealedPayloadMalformed)
        sender = _encode_party_id(self.sender, "sender", SealedPayloadMalformed)
        recipient = _encode_party_id(self.recipient, "recipient", SealedPayloadMalformed)
        if sender == recipient:
            raise SealedPayloadMalformed("sender and recipient are the same party")
        _check_bytes(self.ephemeral_public_key, "ephemeral public key", KEY_SIZE, KEY_SIZE)
        _check_bytes(self.nonce, "nonce", NONCE_SIZE, NONCE_SIZE)
        _check_bytes(self.ciphertext, "ciphertext", TAG_SIZE, MAX_PLAINTEXT_SIZE + TAG_SIZE)

    def to_bytes(self) -> bytes:
        """The canonical encoding: a version byte, then each field length-prefixed in order."""
        return bytes([self.version]) + _encode_fields(
            self.session_id,
            self.sender.encode("utf-8"),
            self.recipient.encode("utf-8"),
            self.ephemeral_public_key,
            self.nonce,
            self.ciphertext,
        )

    @classmethod
    def from_bytes(cls, data: bytes) -> SealedPayload:
        """Parse :meth:`to_bytes` output; anything else raises :class:`SealedPayloadMalformed`.

        The encoding is canonical: ``SealedPayload.from_bytes(b).to_bytes() == b`` whenever
        parsing succeeds.
        """
        if not isinstance(data, bytes):
            raise SealedPayloadMalformed("a sealed payload must be bytes")
        # The size check comes first so that no work is spent on an oversized input.
        if len(data) > MAX_SEALED_PAYLOAD_SIZE:
            raise SealedPayloadMalformed("sealed payload is larger than the maximum size")
        if not data:
            raise SealedPayloadMalformed("sealed payload is empty")
        if data[0] != SEALING_VERSION:
            raise SealedPayloadMalformed("unsupported sealed payload version")
        fields: list[bytes] = []
        offset = 1
        for _ in range(_FIELD_COUNT):
            if len(data) - offset < _LENGTH.size:
                raise SealedPayloadMalformed("sealed payload is truncated")
            (length,) = _LENGTH.unpack_from(data, offset)
            offset += _LENGTH.size
            if len(data) - offset < length:
                raise SealedPayloadMalformed("sealed payload is truncated")
            fields.append(data[offset : offset + length])
            offset += length
        if offset != len(data):
            raise SealedPayloadMalformed("sealed payload has trailing bytes")
        session_id, sender, recipient, ephemeral_public_key, nonce, ciphertext = fields
        return cls(
            version=data[0],
            session_id=session_id,
            sender=_decode_party_id(sender, "sender"),
            recipient=_decode_party_id(recipient, "recipient"),
            ephemeral_public_key=ephemeral_public_key,
            nonce=nonce,
            ciphertext=ciphertext,
        )

    def __repr__(self) -> str:
        # The ciphertext can be a megabyte; its length is all a log line needs.
        return (
            f"SealedPayload(version={self.version}, session_id={self.session_id.hex()!r}, "
            f"sender={self.sender!r}, recipient={self.recipient!r}, "
            f"ephemeral_public_key={self.ephemeral_public_key.hex()!r}, "
            f"nonce={self.nonce.hex()!r}, ciphertext=<{len(self.ciphertext)} bytes>)"
        )


def seal(
    plaintext: bytes,
    *,
    session_id: bytes,
    sender: str,
    sender_key: SealingKeyPair,
    recipient: str,
    recipient_public_key: SealingPublicKey,
    rng: Rng = os.urandom,
) -> SealedPayload:
    """Seal ``plaintext`` from ``sender`` to ``recipient`` within one protocol session.

    ``rng`` supplies the ephemeral secret (32 bytes, drawn first) and the GCM nonce (12 bytes,
    drawn second); pass a seeded source only in tests.
    """
    if not isinstance(plaintext, bytes):
        raise InvalidSealingInput("plaintext must be bytes")
    if len(plaintext) > MAX_PLAINTEXT_SIZE:
        raise InvalidSealingInput(f"plaintext is longer than {MAX_PLAINTEXT_SIZE} bytes")
    _check_context(session_id, sender, recipient)
    if not isinstance(sender_key, SealingKeyPair):
        raise InvalidSealingInput("sender_key must be a SealingKeyPair")
    if not isinstance(recipient_public_key, SealingPublicKey):
        raise InvalidSealingInput("recipient_public_key must be a SealingPublicKey")
    _check_distinct_keys(sender_key.public_key, recipient_public_key)

    ephemeral = SealingKeyPair.generate(rng)
    nonce = _draw(rng, NONCE_SIZE)
    recipient_pk = recipient_public_key._key()
    ikm = _exchange(ephemeral._private_key, recipient_pk) + _exchange(
        sender_key._private_key, recipient_pk
    )
    key = _derive_key(
        ikm,
        session_id=session_id,
        sender=sender,
        recipient=recipient,
        ephemeral_public_key=ephemeral.public_key.raw,
        sender_public_key=sender_key.public_key,
        recipient_public_key=recipient_public_key,
    )
    aad = _associated_data(session_id, sender, recipient, ephemeral.public_key.raw)
    ciphertext = AESGCM(key).encrypt(nonce, plaintext, aad)
    return SealedPayload(
        version=SEALING_VERSION,
        session_id=session_id,
        sender=sender,
        recipient=recipient,
        ephemeral_public_key=ephemeral.public_key.raw,
        nonce=nonce,
        ciphertext=ciphertext,
    )


def open_sealed(
    payload: SealedPayload,
    *,
    session_id: bytes,
    sender: str,
    sender_public_key: SealingPublicKey,
    recipient: str,
    recipient_key: SealingKeyPair,
) -> bytes:
    """Open ``payload``, which the caller expects ``sender`` to have sealed to ``recipient``.

    The arguments state what the opener expects, from its own protocol state; the envelope's
    header is only compared against them (:class:`SealedPayloadMismatch`), never trusted. Any
    authentication failure raises :class:`SealedPayloadTampered`.
    """
    if not isinstance(payload, SealedPayload):
        raise InvalidSealingInput("payload must be a SealedPayload")
    _check_context(session_id, sender, recipient)
    if not isinstance(sender_public_key, SealingPublicKey):
        raise InvalidSealingInput("sender_public_key must be a SealingPublicKey")
    if not isinstance(recipient_key, SealingKeyPair):
        raise InvalidSealingInput("recipient_key must be a SealingKeyPair")
    _check_distinct_keys(sender_public_key, recipient_key.public_key)

    # The header is cleartext and public, so plain comparisons leak nothing. Checking it first
    # gives a precise error for a misrouted message; the same values are bound into the key and
    # the associated data below, so a header rewritten to pass these checks still fails.
    if payload.version != SEALING_VERSION:
        raise SealedPayloadMalformed("unsupported sealed payload version")
    if payload.session_id != session_id:
        raise SealedPayloadMismatch("sealed payload belongs to another session")
    if payload.sender != sender:
        raise SealedPayloadMismatch("sealed payload names another sender")
    if payload.recipient != recipient:
        raise SealedPayloadMismatch("sealed payload is addressed to another recipient")

    try:
        ephemeral_pk = SealingPublicKey(payload.ephemeral_public_key)
    except InvalidSealingKey:
        raise SealedPayloadTampered("ephemeral public key is not a usable X25519 key") from None
    recipient_sk = recipient_key._private_key
    ikm = _exchange(recipient_sk, ephemeral_pk._key()) + _exchange(
        recipient_sk, sender_public_key._key()
    )
    key = _derive_key(
        ikm,
        session_id=session_id,
        sender=sender,
        recipient=recipient,
        ephemeral_public_key=payload.ephemeral_public_key,
        sender_public_key=sender_public_key,
        recipient_public_key=recipient_key.public_key,
    )
    aad = _associated_data(session_id, sender, recipient, payload.ephemeral_public_key)
    try:
        return AESGCM(key).decrypt(payload.nonce, payload.ciphertext, aad)
    except InvalidTag:
        raise SealedPayloadTampered("sealed payload failed authentication") from None


def _derive_key(
    ikm: bytes,
    *,
    session_id: bytes,
    sender: str,
    recipient: str,
    ephemeral_public_key: bytes,
    sender_public_key: SealingPublicKey,
    recipient_public_key: SealingPublicKey,
) -> bytes:
    # Binding both static keys and the ephemeral key follows HPKE's kem_context: without them a
    # shared secret could be reused under a substituted key. The party ids and session id are
    # bound here as well as in the associated data, so the key itself is specific to one
    # (session, sender, recipient) and can never decrypt anything sealed for another.
    info = _encode_fields(
        PROTOCOL_LABEL,
        b"aes-256-gcm key",
        bytes([SEALING_VERSION]),
        session_id,
        sender.encode("utf-8"),
        recipient.encode("utf-8"),
        ephemeral_public_key,
        sender_public_key.raw,
        recipient_public_key.raw,
    )
    hkdf = HKDF(algorithm=hashes.SHA256(), length=KEY_SIZE, salt=PROTOCOL_LABEL, info=info)
    return hkdf.derive(ikm)


def _associated_data(
    session_id: bytes, sender: str, recipient: str, ephemeral_public_key: bytes
) -> bytes:
    return _encode_fields(
        PROTOCOL_LABEL,
        bytes([SEALING_VERSION]),
        session_id,
        sender.encode("utf-8"),
        recipient.encode("utf-8"),
        ephemeral_public_key,
    )


def _encode_fields(*fields: bytes) -> bytes:
    # A length before every field makes the concatenation injective: no two field lists share
    # an encoding, so one context can never be read as another.
    return b"".join(_LENGTH.pack(len(f)) + f for f in fields)


def _exchange(private_key: X25519PrivateKey, public_key: X25519PublicKey) -> bytes:
    # OpenSSL refuses an all-zero X25519 output with a bare ValueError; the explicit comparison
    # keeps the check even if a backend stops doing so.
    try:
        shared = private_key.exchange(public_key)
    except ValueError:
        raise InvalidSealingKey("X25519 public key is a low-order point") from None
    if shared == bytes(KEY_SIZE):
        raise InvalidSealingKey("X25519 public key is a low-order point")
    return shared


def _draw(rng: Rng, n: int) -> bytes:
    out = rng(n)
    if not isinstance(out, bytes) or len(out) != n:
        raise InvalidSealingInput(f"rng must return exactly {n} bytes")
    return out


def _check_context(session_id: bytes, sender: str, recipient: str) -> None:
    _check_session_id(session_id, InvalidSealingInput)
    sender_bytes = _encode_party_id(sender, "sender", InvalidSealingInput)
    recipient_bytes = _encode_party_id(recipient, "recipient", InvalidSealingInput)
    if sender_bytes == recipient_bytes:
        raise InvalidSealingInput("sender and recipient must be different parties")


def _check_distinct_keys(sender: SealingPublicKey, recipient: SealingPublicKey) -> None:
    # With one key on both ends the static-static DH authenticates nothing: either holder could
    # have sealed the payload. Parties never share a key, so this is a configuration error.
    if sender.raw == recipient.raw:
        raise InvalidSealingInput("sender and recipient must have different static keys")


def _check_session_id(session_id: bytes, error: type[SealingError]) -> None:
    if not isinstance(session_id, bytes):
        raise error("session id must be bytes")
    if not 1 <= len(session_id) <= MAX_SESSION_ID_SIZE:
        raise error(f"session id must be 1 to {MAX_SESSION_ID_SIZE} bytes")


def _encode_party_id(party: str, what: str, error: type[SealingError]) -> bytes:
    if not isinstance(party, str):
        raise error(f"{what} party id must be a str")
    try:
        encoded = party.encode("utf-8")
    except UnicodeEncodeError:
        raise error(f"{what} party id is not encodable as UTF-8") from None
    if not 1 <= len(encoded) <= MAX_PARTY_ID_SIZE:
        raise error(f"{what} party id must be 1 to {MAX_PARTY_ID_SIZE} bytes of UTF-8")
    return encoded


def _decode_party_id(raw: bytes, what: str) -> str:
    # Python's strict UTF-8 decoder rejects overlong forms and surrogates, so a decoded id
    # re-encodes to exactly these bytes and the wire format stays canonical.
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise SealedPayloadMalformed(f"{what} party id is not valid UTF-8") from None


def _check_bytes(value: bytes, what: str, minimum: int, maximum: int) -> None:
    if not isinstance(value, bytes):
        raise SealedPayloadMalformed(f"{what} must be bytes")
    if not minimum <= len(value) <= maximum:
        raise SealedPayloadMalformed(f"{what} has an invalid length")
