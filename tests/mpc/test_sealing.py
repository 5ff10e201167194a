"""Tests of mpc.sealing: party-to-party sealing of protocol messages."""

from __future__ import annotations

import dataclasses
import random
import struct
from collections.abc import Callable
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from hypothesis import given, settings
from hypothesis import strategies as st

from mpc.errors import MpcError
from mpc.sealing import (
    MAX_PARTY_ID_SIZE,
    MAX_PLAINTEXT_SIZE,
    MAX_SEALED_PAYLOAD_SIZE,
    MAX_SESSION_ID_SIZE,
    SEALING_VERSION,
    InvalidSealingInput,
    InvalidSealingKey,
    SealedPayload,
    SealedPayloadMalformed,
    SealedPayloadMismatch,
    SealedPayloadTampered,
    SealingError,
    SealingKeyPair,
    SealingPublicKey,
    open_sealed,
    seal,
)


def seeded_rng(seed: int) -> Callable[[int], bytes]:
    """A deterministic stand-in for os.urandom; for tests only."""
    return random.Random(seed).randbytes


def forbidden_rng(n: int) -> bytes:
    raise AssertionError("rng was called although the inputs should have been rejected first")


ALICE = SealingKeyPair.generate(seeded_rng(1))
BOB = SealingKeyPair.generate(seeded_rng(2))
CAROL = SealingKeyPair.generate(seeded_rng(3))
SESSION = b"dkg/session-0001"
PLAINTEXT = b"secret share f_alice(bob) = 0x" + bytes(range(32)).hex().encode()

# The u-coordinates of the canonical low-order points of Curve25519 (libsodium's blocklist):
# 0 and 1, the two points of order 8, and p - 1.
P = 2**255 - 19
LOW_ORDER_POINTS = [
    0,
    1,
    325606250916557431795983626356110631294008115727848805560023387167927233504,
    39382357235489614581723060781553021112529911719440698176882885853963445705823,
    P - 1,
]


# Alice seals to Bob in SESSION; Bob opens what he expects Alice to have sealed to him.
SEAL_ARGS: dict[str, Any] = {
    "session_id": SESSION,
    "sender": "alice",
    "sender_key": ALICE,
    "recipient": "bob",
    "recipient_public_key": BOB.public_key,
}
OPEN_ARGS: dict[str, Any] = {
    "session_id": SESSION,
    "sender": "alice",
    "sender_public_key": ALICE.public_key,
    "recipient": "bob",
    "recipient_key": BOB,
}
# The same roles the other way round: Bob seals to Alice.
BOB_TO_ALICE: dict[str, Any] = {
    "sender": "bob",
    "sender_key": BOB,
    "recipient": "alice",
    "recipient_public_key": ALICE.public_key,
}
ALICE_FROM_BOB: dict[str, Any] = {
    "sender": "bob",
    "sender_public_key": BOB.public_key,
    "recipient": "alice",
    "recipient_key": ALICE,
}


def seal_ab(
    plaintext: bytes = PLAINTEXT, rng: Callable[[int], bytes] | None = None, **changes: Any
) -> SealedPayload:
    """Alice seals to Bob in SESSION, unless ``changes`` say otherwise."""
    chosen = rng if rng is not None else seeded_rng(100)
    return seal(plaintext, **{**SEAL_ARGS, **changes, "rng": chosen})


def open_ab(payload: SealedPayload, **changes: Any) -> bytes:
    """Bob opens what he expects Alice to have sealed to him in SESSION, unless ``changes``
    say otherwise."""
    return open_sealed(payload, **{**OPEN_ARGS, **changes})


ENVELOPE = seal_ab().to_bytes()


def lp(*fields: bytes) -> bytes:
    """Each field preceded by its length as 4 big-endian bytes."""
    return b"".join(struct.pack(">I", len(f)) + f for f in fields)


def encode(*fields: bytes) -> bytes:
    """A version-1 envelope with these fields, written independently of to_bytes()."""
    return bytes([1]) + lp(*fields)


def fields_of(payload: SealedPayload) -> list[bytes]:
    """The six fields of an envelope sealed by :func:`seal_ab`, in declaration order."""
    return [
        SESSION,
        b"alice",
        b"bob",
        payload.ephemeral_public_key,
        payload.nonce,
        payload.ciphertext,
    ]


# Round trips


def test_round_trip() -> None:
    payload = seal_ab()
    assert open_ab(payload) == PLAINTEXT
    assert payload.version == SEALING_VERSION
    assert payload.session_id == SESSION
    assert (payload.sender, payload.recipient) == ("alice", "bob")
    assert len(payload.ephemeral_public_key) == 32
    assert len(payload.nonce) == 12
    # AES-GCM adds exactly its 16-byte tag; nothing else is appended.
    assert len(payload.ciphertext) == len(PLAINTEXT) + 16


def test_empty_and_maximal_plaintexts_round_trip() -> None:
    assert open_ab(seal_ab(b"")) == b""
    big = bytes(range(256)) * (MAX_PLAINTEXT_SIZE // 256)
    assert len(big) == MAX_PLAINTEXT_SIZE
    payload = SealedPayload.from_bytes(seal_ab(big).to_bytes())
    assert open_ab(payload) == big


def test_plaintext_over_the_maximum_is_rejected() -> None:
    with pytest.raises(InvalidSealingInput):
        seal_ab(bytes(MAX_PLAINTEXT_SIZE + 1), rng=forbidden_rng)


def test_serialization_round_trip_and_layout() -> None:
    payload = seal_ab()
    data = payload.to_bytes()
    assert SealedPayload.from_bytes(data) == payload
    # A version byte, then six length-prefixed fields in declaration order.
    assert data == encode(*fields_of(payload))


def test_both_directions_work_in_one_session() -> None:
    to_alice = seal_ab(b"reply", rng=seeded_rng(5), **BOB_TO_ALICE)
    assert open_ab(to_alice, **ALICE_FROM_BOB) == b"reply"


party_ids = st.text(st.characters(codec="utf-8"), min_size=1, max_size=40)


@settings(max_examples=50, deadline=None)
@given(
    plaintext=st.binary(max_size=2048),
    session_id=st.binary(min_size=1, max_size=MAX_SESSION_ID_SIZE),
    sender=party_ids,
    recipient=party_ids,
    seed=st.integers(min_value=0, max_value=2**32),
)
def test_round_trip_property(
    plaintext: bytes, session_id: bytes, sender: str, recipient: str, seed: int
) -> None:
    if sender == recipient:
        recipient += "'"
    context = {"session_id": session_id, "sender": sender, "recipient": recipient}
    payload = seal_ab(plaintext, rng=seeded_rng(seed), **context)
    data = payload.to_bytes()
    parsed = SealedPayload.from_bytes(data)
    assert parsed == payload
    assert parsed.to_bytes() == data
    assert open_ab(parsed, **context) == plaintext


def test_construction_matches_the_documented_key_schedule() -> None:
    # An independent re-derivation from the primitives, following the module docstring, pins
    # every input of the key derivation and of the associated data (each is bound in both).
    payload = seal_ab(rng=seeded_rng(7))
    draws = seeded_rng(7)
    eph = X25519PrivateKey.from_private_bytes(draws(32))
    nonce = draws(12)
    eph_pk = eph.public_key().public_bytes_raw()
    bob_pk = X25519PublicKey.from_public_bytes(BOB.public_key.raw)
    alice_sk = X25519PrivateKey.from_private_bytes(ALICE.unsafe_private_bytes())
    ikm = eph.exchange(bob_pk) + alice_sk.exchange(bob_pk)
    label = b"quorate/sealing/v1"
    info = lp(
        label,
        b"aes-256-gcm key",
        b"\x01",
        SESSION,
        b"alice",
        b"bob",
        eph_pk,
        ALICE.public_key.raw,
        BOB.public_key.raw,
    )
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=label, info=info).derive(ikm)
    aad = lp(label, b"\x01", SESSION, b"alice", b"bob", eph_pk)
    assert payload.ephemeral_public_key == eph_pk
    assert payload.nonce == nonce
    assert payload.ciphertext == AESGCM(key).encrypt(nonce, PLAINTEXT, aad)


# Determinism and freshness


def test_seeded_rng_gives_identical_envelopes() -> None:
    assert seal_ab(rng=seeded_rng(7)).to_bytes() == seal_ab(rng=seeded_rng(7)).to_bytes()


def test_ephemeral_key_and_nonce_come_from_rng_in_order() -> None:
    payload = seal_ab(rng=seeded_rng(7))
    draws = seeded_rng(7)
    ephemeral = SealingKeyPair.from_private_bytes(draws(32))
    assert payload.ephemeral_public_key == ephemeral.public_key.raw
    assert payload.nonce == draws(12)


def test_each_seal_uses_fresh_randomness() -> None:
    first, second = seal_ab(rng=seeded_rng(7)), seal_ab(rng=seeded_rng(8))
    assert first.ephemeral_public_key != second.ephemeral_public_key
    assert first.nonce != second.nonce
    # Equal plaintexts give unrelated ciphertexts, so a relay cannot link them.
    assert first.ciphertext != second.ciphertext
    assert open_ab(first) == open_ab(second) == PLAINTEXT


def test_default_rng_is_the_os() -> None:
    payload = seal(PLAINTEXT, **SEAL_ARGS)
    assert payload.to_bytes() != ENVELOPE
    assert open_ab(payload) == PLAINTEXT


@pytest.mark.parametrize("returned", [b"", bytes(31), bytes(33), bytearray(32), "x" * 32])
def test_misbehaving_rng_is_rejected(returned: object) -> None:
    def rng(n: int) -> bytes:
        return returned  # type: ignore[return-value]

    with pytest.raises(InvalidSealingInput):
        seal_ab(rng=rng)
    with pytest.raises(InvalidSealingInput):
        SealingKeyPair.generate(rng)


# What a relay sees


def test_relay_sees_no_plaintext() -> None:
    data = ENVELOPE
    assert PLAINTEXT not in data
    # Not even a fragment: no 8-byte window of the plaintext appears in the envelope.
    assert not any(PLAINTEXT[i : i + 8] in data for i in range(len(PLAINTEXT) - 7))
    # Nor any key material of either party.
    for secret in (ALICE.unsafe_private_bytes(), BOB.unsafe_private_bytes()):
        assert secret not in data


def test_relay_with_its_own_key_cannot_open() -> None:
    # The relay (Carol) holds the envelope, both parties' public keys and a key pair of its own;
    # answering for Bob with its own key is the best it can do, and authentication fails.
    with pytest.raises(SealedPayloadTampered):
        open_ab(SealedPayload.from_bytes(ENVELOPE), recipient_key=CAROL)


def test_relay_cannot_redirect_to_itself() -> None:
    rewritten = dataclasses.replace(SealedPayload.from_bytes(ENVELOPE), recipient="carol")
    with pytest.raises(SealedPayloadTampered):
        open_ab(rewritten, recipient="carol", recipient_key=CAROL)


# Opening under another context


@pytest.mark.parametrize(
    "changes",
    [
        {"session_id": b"dkg/session-0002"},
        {"session_id": SESSION + b"\x00"},
        {"sender": "carol"},
        {"sender": "Alice"},
        {"recipient": "carol"},
        {"recipient": "bob "},
    ],
    ids=["session", "session-suffix", "sender", "sender-case", "recipient", "recipient-space"],
)
def test_header_mismatch_is_rejected_before_crypto(changes: dict[str, Any]) -> None:
    with pytest.raises(SealedPayloadMismatch):
        open_ab(seal_ab(), **changes)


@pytest.mark.parametrize(
    "changes",
    [{"recipient_key": CAROL}, {"sender_public_key": CAROL.public_key}],
    ids=["recipient-key", "sender-key"],
)
def test_wrong_key_fails_authentication(changes: dict[str, Any]) -> None:
    with pytest.raises(SealedPayloadTampered):
        open_ab(seal_ab(), **changes)


@pytest.mark.parametrize(
    ("field", "value"),
    [("session_id", b"dkg/session-0002"), ("sender", "dave"), ("recipient", "erin")],
)
def test_rewritten_header_fails_authentication(field: str, value: object) -> None:
    # The relay rewrites the header so that it matches what the opener expects; the values are
    # bound into the key and the associated data, so the envelope still does not open.
    changes: dict[str, Any] = {field: value}
    rewritten = dataclasses.replace(seal_ab(), **changes)
    with pytest.raises(SealedPayloadTampered):
        open_ab(rewritten, **{field: value})


def test_replay_into_another_session_fails() -> None:
    payload = seal_ab()
    with pytest.raises(SealedPayloadMismatch):
        open_ab(payload, session_id=b"dkg/session-0002")
    with pytest.raises(SealedPayloadTampered):
        open_ab(
            dataclasses.replace(payload, session_id=b"dkg/session-0002"),
            session_id=b"dkg/session-0002",
        )


def test_replay_to_another_recipient_fails() -> None:
    payload = seal_ab()
    carol = {"recipient": "carol", "recipient_key": CAROL}
    with pytest.raises(SealedPayloadMismatch):
        open_ab(payload, **carol)
    with pytest.raises(SealedPayloadTampered):
        open_ab(dataclasses.replace(payload, recipient="carol"), **carol)


def test_reflection_back_to_the_sender_fails() -> None:
    # The static-static DH value is symmetric, so reflecting Alice's envelope back to her as if
    # Bob had sent it must fail on the ephemeral DH and on the ordered key derivation.
    reflected = dataclasses.replace(seal_ab(), sender="bob", recipient="alice")
    with pytest.raises(SealedPayloadTampered):
        open_ab(reflected, **ALICE_FROM_BOB)


def test_impersonated_sender_fails() -> None:
    # Carol seals to Bob with her own key but claims to be Alice.
    forged = seal_ab(b"a forged share", rng=seeded_rng(9), sender_key=CAROL)
    with pytest.raises(SealedPayloadTampered):
        open_ab(forged)


def test_forger_without_the_senders_secret_fails() -> None:
    # Carol binds Alice's public key into the key derivation but can only use her own secret
    # for the static Diffie-Hellman; the static-static term is what authenticates the sender.
    liar = SealingKeyPair.from_private_bytes(CAROL.unsafe_private_bytes())
    object.__setattr__(liar, "public_key", ALICE.public_key)
    forged = seal_ab(b"a forged share", rng=seeded_rng(9), sender_key=liar)
    with pytest.raises(SealedPayloadTampered):
        open_ab(forged)


# Tampering with the envelope


@pytest.mark.parametrize("field", ["ephemeral_public_key", "nonce", "ciphertext"])
def test_every_byte_of_the_cryptographic_fields_is_authenticated(field: str) -> None:
    payload = seal_ab()
    original: bytes = getattr(payload, field)
    for index in range(len(original)):
        for mask in (0x01, 0x80):
            changed = bytearray(original)
            changed[index] ^= mask
            changes: dict[str, Any] = {field: bytes(changed)}
            tampered = dataclasses.replace(payload, **changes)
            with pytest.raises(SealedPayloadTampered):
                open_ab(tampered)


@pytest.mark.parametrize("u", LOW_ORDER_POINTS)
def test_low_order_ephemeral_key_is_rejected(u: int) -> None:
    tampered = dataclasses.replace(seal_ab(), ephemeral_public_key=u.to_bytes(32, "little"))
    with pytest.raises(SealedPayloadTampered):
        open_ab(tampered)


def test_truncated_or_extended_ciphertext_fails() -> None:
    payload = seal_ab()
    for ciphertext in (payload.ciphertext[:-1], payload.ciphertext + b"\x00"):
        with pytest.raises(SealedPayloadTampered):
            open_ab(dataclasses.replace(payload, ciphertext=ciphertext))


def flip(data: bytes, index: int, mask: int) -> bytes:
    changed = bytearray(data)
    changed[index] ^= mask
    return bytes(changed)


def assert_rejected(data: bytes) -> None:
    try:
        payload = SealedPayload.from_bytes(data)
    except SealedPayloadMalformed:
        return
    # A parse that succeeds must re-encode to exactly the input (the encoding is canonical),
    # and the envelope must then fail to open: never may it yield a plaintext.
    assert payload.to_bytes() == data
    with pytest.raises(SealingError):
        open_ab(payload)


def test_every_single_byte_change_of_the_envelope_is_rejected() -> None:
    for index in range(len(ENVELOPE)):
        for mask in (0x01, 0x80, 0xFF):
            assert_rejected(flip(ENVELOPE, index, mask))


@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_any_single_byte_change_of_the_envelope_is_rejected(data: st.DataObject) -> None:
    index = data.draw(st.integers(min_value=0, max_value=len(ENVELOPE) - 1))
    mask = data.draw(st.integers(min_value=1, max_value=255))
    assert_rejected(flip(ENVELOPE, index, mask))


# Parsing


def test_every_truncation_is_malformed() -> None:
    for length in range(len(ENVELOPE)):
        with pytest.raises(SealedPayloadMalformed):
            SealedPayload.from_bytes(ENVELOPE[:length])


@pytest.mark.parametrize("suffix", [b"\x00", b"\x00\x00\x00\x00", ENVELOPE])
def test_trailing_bytes_are_malformed(suffix: bytes) -> None:
    with pytest.raises(SealedPayloadMalformed, match="trailing"):
        SealedPayload.from_bytes(ENVELOPE + suffix)


def test_oversized_input_is_malformed() -> None:
    with pytest.raises(SealedPayloadMalformed, match="maximum size"):
        SealedPayload.from_bytes(bytes(MAX_SEALED_PAYLOAD_SIZE + 1))


def test_length_prefix_beyond_the_input_is_malformed() -> None:
    data = bytes([1]) + struct.pack(">I", 0xFFFFFFFF) + b"session"
    with pytest.raises(SealedPayloadMalformed, match="truncated"):
        SealedPayload.from_bytes(data)


@pytest.mark.parametrize("version", [0, 2, 255])
def test_unknown_version_is_malformed(version: int) -> None:
    with pytest.raises(SealedPayloadMalformed, match="version"):
        SealedPayload.from_bytes(bytes([version]) + ENVELOPE[1:])


@pytest.mark.parametrize("data", [bytearray(ENVELOPE), memoryview(ENVELOPE), ENVELOPE.hex()])
def test_non_bytes_input_is_malformed(data: object) -> None:
    with pytest.raises(SealedPayloadMalformed):
        SealedPayload.from_bytes(data)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("position", "value"),
    [
        (0, b""),  # empty session id
        (0, bytes(MAX_SESSION_ID_SIZE + 1)),
        (1, b""),  # empty sender
        (1, b"\xff"),  # not UTF-8
        (1, b"\xc0\xaf"),  # overlong UTF-8
        (1, b"\xed\xa0\x80"),  # an encoded surrogate
        (1, b"a" * (MAX_PARTY_ID_SIZE + 1)),
        (2, b""),  # empty recipient
        (2, b"alice"),  # recipient == sender
        (3, bytes(31)),  # short ephemeral key
        (3, bytes(33)),
        (4, bytes(11)),  # short nonce
        (4, bytes(13)),
        (5, bytes(15)),  # shorter than a GCM tag
    ],
)
def test_out_of_range_fields_are_malformed(position: int, value: bytes) -> None:
    fields = fields_of(seal_ab())
    fields[position] = value
    with pytest.raises(SealedPayloadMalformed):
        SealedPayload.from_bytes(encode(*fields))


@pytest.mark.parametrize(
    "changes",
    [
        {"version": 2},
        {"version": True},
        {"session_id": "session"},
        {"sender": b"alice"},
        {"recipient": "alice"},
        {"nonce": bytearray(12)},
        {"ciphertext": b""},
    ],
)
def test_constructor_validates_fields(changes: dict[str, Any]) -> None:
    with pytest.raises(SealedPayloadMalformed):
        dataclasses.replace(seal_ab(), **changes)


def test_payload_repr_summarises_the_ciphertext() -> None:
    payload = seal_ab()
    text = repr(payload)
    assert "sender='alice'" in text
    assert f"ciphertext=<{len(payload.ciphertext)} bytes>" in text
    assert payload.ciphertext.hex() not in text


# Keys


def test_rfc7748_section_6_1_key_pairs() -> None:
    # Alice's and Bob's key pairs from RFC 7748 §6.1: the wrapper reads the secret and writes
    # the public key in the RFC's little-endian encoding.
    alice = SealingKeyPair.from_private_bytes(
        bytes.fromhex("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a")
    )
    bob = SealingKeyPair.from_private_bytes(
        bytes.fromhex("5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb")
    )
    assert alice.public_key.raw.hex() == (
        "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a"
    )
    assert bob.public_key.raw.hex() == (
        "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f"
    )


def test_private_bytes_round_trip() -> None:
    raw = ALICE.unsafe_private_bytes()
    assert raw == seeded_rng(1)(32)
    restored = SealingKeyPair.from_private_bytes(raw)
    assert restored.public_key == ALICE.public_key
    assert restored.unsafe_private_bytes() == raw


def test_generate_is_deterministic_under_a_seeded_rng() -> None:
    assert SealingKeyPair.generate(seeded_rng(1)).public_key == ALICE.public_key
    assert SealingKeyPair.generate(seeded_rng(2)).public_key != ALICE.public_key
    assert SealingKeyPair.generate().public_key != SealingKeyPair.generate().public_key


def test_key_pair_repr_redacts_the_secret() -> None:
    secret = ALICE.unsafe_private_bytes()
    for text in (repr(ALICE), str(ALICE), f"{ALICE}", repr([ALICE])):
        assert "<redacted>" in text
        assert secret.hex() not in text
        assert repr(secret) not in text
        assert ALICE.public_key.raw.hex() in text


def test_key_pairs_compare_by_identity() -> None:
    clone = SealingKeyPair.from_private_bytes(ALICE.unsafe_private_bytes())
    assert clone != ALICE
    assert clone.public_key == ALICE.public_key


@pytest.mark.parametrize("raw", [b"", bytes(31), bytes(33), bytearray(32), "00" * 32])
def test_private_key_bytes_are_validated(raw: object) -> None:
    with pytest.raises(InvalidSealingKey):
        SealingKeyPair.from_private_bytes(raw)  # type: ignore[arg-type]


def test_key_pair_constructor_requires_an_x25519_key() -> None:
    with pytest.raises(InvalidSealingKey):
        SealingKeyPair(ALICE.unsafe_private_bytes())  # type: ignore[arg-type]


@pytest.mark.parametrize("raw", [b"", bytes(31), bytes(33), bytearray(32), "00" * 32])
def test_public_key_length_and_type_are_validated(raw: object) -> None:
    with pytest.raises(InvalidSealingKey):
        SealingPublicKey(raw)  # type: ignore[arg-type]


@pytest.mark.parametrize("u", LOW_ORDER_POINTS)
def test_low_order_public_keys_are_rejected(u: int) -> None:
    with pytest.raises(InvalidSealingKey, match="low-order"):
        SealingPublicKey(u.to_bytes(32, "little"))


@pytest.mark.parametrize("u", [P, P + 1, P + 9, 2**255 - 1])
def test_non_canonical_public_keys_are_rejected(u: int) -> None:
    with pytest.raises(InvalidSealingKey, match="canonical"):
        SealingPublicKey(u.to_bytes(32, "little"))


def test_public_key_with_high_bit_set_is_rejected() -> None:
    # RFC 7748 decoders ignore bit 255, so this would otherwise be a second name for Bob's key.
    raw = bytearray(BOB.public_key.raw)
    raw[31] |= 0x80
    with pytest.raises(InvalidSealingKey, match="canonical"):
        SealingPublicKey(bytes(raw))


def test_public_key_round_trips_through_raw_bytes() -> None:
    key = SealingPublicKey(BOB.public_key.raw)
    assert key == BOB.public_key
    assert hash(key) == hash(BOB.public_key)
    assert repr(key) == f"SealingPublicKey({BOB.public_key.raw.hex()!r})"


# Input validation


BAD_CONTEXTS: list[dict[str, Any]] = [
    {"session_id": b""},
    {"session_id": "dkg/session-0001"},
    {"session_id": bytes(MAX_SESSION_ID_SIZE + 1)},
    {"sender": ""},
    {"recipient": ""},
    {"sender": "bob"},  # sender == recipient
    {"recipient": "alice"},
    {"sender": b"alice"},
    {"sender": "\udc80"},  # a lone surrogate has no UTF-8 encoding
    {"recipient": "é" * (MAX_PARTY_ID_SIZE // 2 + 1)},  # 129 characters, 258 bytes
]


@pytest.mark.parametrize("changes", BAD_CONTEXTS)
def test_seal_validates_its_context(changes: dict[str, Any]) -> None:
    with pytest.raises(InvalidSealingInput):
        seal_ab(rng=forbidden_rng, **changes)


@pytest.mark.parametrize("changes", BAD_CONTEXTS)
def test_open_validates_its_context(changes: dict[str, Any]) -> None:
    with pytest.raises(InvalidSealingInput):
        open_ab(seal_ab(), **changes)


@pytest.mark.parametrize(
    "changes",
    [
        {"sender_key": BOB},  # the same static key on both ends
        {"recipient_public_key": ALICE.public_key},
        {"sender_key": ALICE.public_key},
        {"recipient_public_key": BOB},
        {"recipient_public_key": BOB.public_key.raw},
    ],
)
def test_seal_validates_its_keys(changes: dict[str, Any]) -> None:
    with pytest.raises(InvalidSealingInput):
        seal_ab(rng=forbidden_rng, **changes)


@pytest.mark.parametrize(
    "changes",
    [
        {"recipient_key": ALICE},  # the same static key on both ends
        {"sender_public_key": BOB.public_key},
        {"sender_public_key": ALICE},
        {"recipient_key": BOB.public_key},
    ],
)
def test_open_validates_its_keys(changes: dict[str, Any]) -> None:
    with pytest.raises(InvalidSealingInput):
        open_ab(seal_ab(), **changes)


@pytest.mark.parametrize("plaintext", ["text", bytearray(b"share"), None])
def test_plaintext_must_be_bytes(plaintext: object) -> None:
    with pytest.raises(InvalidSealingInput):
        seal_ab(plaintext, rng=forbidden_rng)  # type: ignore[arg-type]


def test_open_requires_a_sealed_payload() -> None:
    with pytest.raises(InvalidSealingInput):
        open_sealed(ENVELOPE, **OPEN_ARGS)  # type: ignore[arg-type]


def test_unicode_party_ids_are_compared_exactly() -> None:
    # "é" precomposed and decomposed are different ids; no normalisation happens here.
    payload = seal_ab(rng=seeded_rng(4), sender="jos\u00e9")
    with pytest.raises(SealedPayloadMismatch):
        open_ab(payload, sender="jose\u0301")
    assert open_ab(payload, sender="jos\u00e9") == PLAINTEXT


# Errors


def test_error_hierarchy() -> None:
    for error in (
        InvalidSealingInput,
        InvalidSealingKey,
        SealedPayloadMalformed,
        SealedPayloadMismatch,
        SealedPayloadTampered,
    ):
        assert issubclass(error, SealingError)
    assert issubclass(SealingError, MpcError)


def test_error_messages_carry_no_secrets() -> None:
    secrets = [
        PLAINTEXT,
        PLAINTEXT.hex().encode(),
        ALICE.unsafe_private_bytes().hex().encode(),
        BOB.unsafe_private_bytes().hex().encode(),
    ]
    payload = seal_ab()
    failures: list[Callable[[], object]] = [
        lambda: open_ab(payload, recipient_key=CAROL),
        lambda: open_ab(dataclasses.replace(payload, nonce=bytes(12))),
        lambda: open_ab(payload, session_id=b"other"),
        lambda: SealedPayload.from_bytes(ENVELOPE[:-1]),
        lambda: seal(PLAINTEXT + bytes(MAX_PLAINTEXT_SIZE), **SEAL_ARGS),
    ]
    for failure in failures:
        with pytest.raises(SealingError) as caught:
            failure()
        message = str(caught.value).encode()
        assert not any(secret in message for secret in secrets)
        # Errors are raised "from None", so no underlying exception drags context along.
        assert caught.value.__cause__ is None
        assert caught.value.__suppress_context__ or caught.value.__context__ is None
