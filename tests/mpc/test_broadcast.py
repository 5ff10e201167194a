"""Signed broadcasts with an echo round (mpc.broadcast): what passes and who is named.

Four parties run one broadcast round and its echo, in process, with the relay played by
the test: it can hand different parties different messages, as a relay colluding with a
sender (or a compromised one) could.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mpc.broadcast import (
    BroadcastEquivocation,
    Echo,
    IncompleteBroadcast,
    InvalidBroadcastInput,
    InvalidBroadcastSignature,
    InvalidEcho,
    InvalidMessageSigningKey,
    MessageSigningKeyPair,
    MessageSigningPublicKey,
    Received,
    broadcast_digest,
    check_echoes,
    make_echo,
    payload_digest,
    sign_broadcast,
    verify_broadcasts,
)
from mpc.errors import InvalidSignature
from tests.helpers.rng import DeterministicRng

PARTIES = ("alice", "bob", "carol", "dave")
SESSION = b"session-1"
ROUND = "test/round1"
KEYS = {p: MessageSigningKeyPair.generate(DeterministicRng(f"key/{p}")) for p in PARTIES}
DIRECTORY = {p: k.public_key for p, k in KEYS.items()}

Views = dict[str, dict[str, bytes]]


def _payload(sender: str, variant: str = "") -> bytes:
    return f"broadcast of {sender}{variant}".encode()


def _sign(sender: str, payload: bytes, session: bytes = SESSION, label: str = ROUND) -> bytes:
    return sign_broadcast(
        KEYS[sender], session_id=session, round_label=label, sender=sender, payload=payload
    )


def _honest() -> tuple[Views, Views]:
    """What every party receives when nobody cheats: (payloads, signatures) per receiver."""
    payloads = {p: _payload(p) for p in PARTIES}
    signatures = {p: _sign(p, payloads[p]) for p in PARTIES}
    return (
        {r: dict(payloads) for r in PARTIES},
        {r: dict(signatures) for r in PARTIES},
    )


def _round(
    payloads: Views, signatures: Views
) -> tuple[dict[str, dict[str, Received]], dict[str, Echo]]:
    """Each party verifies what it received and echoes it."""
    received = {
        r: verify_broadcasts(
            payloads[r],
            signatures[r],
            DIRECTORY,
            session_id=SESSION,
            round_label=ROUND,
            senders=PARTIES,
        )
        for r in PARTIES
    }
    echoes = {
        r: make_echo(KEYS[r], session_id=SESSION, round_label=ROUND, echoer=r, received=received[r])
        for r in PARTIES
    }
    return received, echoes


def _check(me: str, own: dict[str, Received], echoes: dict[str, Echo]) -> None:
    check_echoes(
        own,
        {j: e for j, e in echoes.items() if j != me},
        DIRECTORY,
        session_id=SESSION,
        round_label=ROUND,
        me=me,
    )


def test_consistent_broadcasts_pass_at_every_party() -> None:
    received, echoes = _round(*_honest())
    for me in PARTIES:
        _check(me, received[me], echoes)
    # Every party saw the same digests.
    assert len({tuple(sorted(r.items())) for r in received.values()}) == 1


def test_an_equivocating_sender_is_named_by_every_party() -> None:
    payloads, signatures = _honest()
    # carol signs a second payload for the same round, and the relay gives it to bob alone.
    other = _payload("carol", " (second version)")
    payloads["bob"]["carol"] = other
    signatures["bob"]["carol"] = _sign("carol", other)
    # Each message verifies on its own: nobody can tell in the broadcast round.
    received, echoes = _round(payloads, signatures)
    for me in PARTIES:
        with pytest.raises(BroadcastEquivocation) as caught:
            _check(me, received[me], echoes)
        assert caught.value.culprits == ("carol",)


def test_an_echoer_that_reports_a_forged_message_is_named() -> None:
    received, echoes = _round(*_honest())
    # dave's echo claims he got another payload from bob, with a signature bob never made;
    # dave signs his echo (he is the liar, not the relay).
    forged = dict(received["dave"])
    forged["bob"] = Received(payload_digest(b"not what bob sent"), bytes(64))
    echoes["dave"] = make_echo(
        KEYS["dave"], session_id=SESSION, round_label=ROUND, echoer="dave", received=forged
    )
    for me in ("alice", "bob", "carol"):
        with pytest.raises(InvalidEcho) as caught:
            _check(me, received[me], echoes)
        assert caught.value.culprits == ("dave",)


def test_an_echo_altered_after_signing_names_its_echoer() -> None:
    received, echoes = _round(*_honest())
    entries = dict(echoes["bob"].received)
    entries["alice"] = Received(payload_digest(b"other"), entries["alice"].signature)
    echoes["bob"] = Echo(entries, echoes["bob"].signature)
    with pytest.raises(InvalidEcho) as caught:
        _check("carol", received["carol"], echoes)
    assert caught.value.culprits == ("bob",)


def test_an_echo_reusing_a_signature_from_another_session_names_the_echoer() -> None:
    """A sender's signature of another session's (or round's) payload is no proof that it
    equivocated in this one: the echoer that reports it is the one named."""
    received, echoes = _round(*_honest())
    old = _payload("alice", " (last session)")
    entries = dict(received["dave"])
    entries["alice"] = Received(payload_digest(old), _sign("alice", old, session=b"session-0"))
    echoes["dave"] = make_echo(
        KEYS["dave"], session_id=SESSION, round_label=ROUND, echoer="dave", received=entries
    )
    with pytest.raises(InvalidEcho) as caught:
        _check("bob", received["bob"], echoes)
    assert caught.value.culprits == ("dave",)


def test_equivocation_is_named_before_a_false_echo() -> None:
    payloads, signatures = _honest()
    other = _payload("carol", "!")
    payloads["bob"]["carol"] = other
    signatures["bob"]["carol"] = _sign("carol", other)
    received, echoes = _round(payloads, signatures)
    echoes["dave"] = Echo(echoes["dave"].received, bytes(64))
    with pytest.raises(BroadcastEquivocation) as caught:
        _check("alice", received["alice"], echoes)
    assert caught.value.culprits == ("carol",)


@pytest.mark.parametrize(
    ("session", "label"),
    [(b"another-session", ROUND), (SESSION, "test/round2")],
    ids=["other-session", "other-round"],
)
def test_a_replayed_broadcast_is_refused_naming_its_sender(session: bytes, label: str) -> None:
    payloads, signatures = _honest()
    signatures["alice"]["bob"] = _sign("bob", payloads["alice"]["bob"], session, label)
    with pytest.raises(InvalidBroadcastSignature) as caught:
        verify_broadcasts(
            payloads["alice"],
            signatures["alice"],
            DIRECTORY,
            session_id=SESSION,
            round_label=ROUND,
            senders=PARTIES,
        )
    assert caught.value.culprits == ("bob",)
    # It is also an mpc.errors.InvalidSignature, as every failed verify is.
    assert isinstance(caught.value, InvalidSignature)


def test_a_replayed_echo_is_refused() -> None:
    received, echoes = _round(*_honest())
    stale = make_echo(
        KEYS["bob"], session_id=b"old", round_label=ROUND, echoer="bob", received=received["bob"]
    )
    echoes["bob"] = stale
    with pytest.raises(InvalidEcho) as caught:
        _check("alice", received["alice"], echoes)
    assert caught.value.culprits == ("bob",)


def test_a_broadcast_signed_with_another_key_is_refused_naming_the_claimed_sender() -> None:
    payloads, signatures = _honest()
    # dave signs a message under carol's name: it is not carol's, whatever it says.
    signatures["alice"]["carol"] = sign_broadcast(
        KEYS["dave"],
        session_id=SESSION,
        round_label=ROUND,
        sender="carol",
        payload=payloads["alice"]["carol"],
    )
    with pytest.raises(InvalidBroadcastSignature) as caught:
        verify_broadcasts(
            payloads["alice"],
            signatures["alice"],
            DIRECTORY,
            session_id=SESSION,
            round_label=ROUND,
            senders=PARTIES,
        )
    assert caught.value.culprits == ("carol",)


def test_a_sender_without_a_known_key_is_refused() -> None:
    payloads, signatures = _honest()
    stranger = MessageSigningKeyPair.generate(DeterministicRng("stranger"))
    payloads["alice"]["eve"] = b"hello"
    signatures["alice"]["eve"] = sign_broadcast(
        stranger, session_id=SESSION, round_label=ROUND, sender="eve", payload=b"hello"
    )
    with pytest.raises(InvalidBroadcastInput, match="no message-signing key"):
        verify_broadcasts(
            payloads["alice"],
            signatures["alice"],
            DIRECTORY,
            session_id=SESSION,
            round_label=ROUND,
            senders=(*PARTIES, "eve"),
        )


def test_missing_or_extra_messages_are_refused_before_any_signature() -> None:
    payloads, signatures = _honest()
    del signatures["alice"]["dave"]
    with pytest.raises(IncompleteBroadcast, match="missing: dave") as caught:
        verify_broadcasts(
            payloads["alice"],
            signatures["alice"],
            DIRECTORY,
            session_id=SESSION,
            round_label=ROUND,
            senders=PARTIES,
        )
    # The relay decides what arrives: nobody is named.
    assert caught.value.culprits == ()
    received, echoes = _round(*_honest())
    del echoes["carol"]
    with pytest.raises(IncompleteBroadcast, match="missing: carol"):
        _check("alice", received["alice"], echoes)


def test_an_echo_over_other_senders_names_its_echoer() -> None:
    received, echoes = _round(*_honest())
    partial = {s: r for s, r in received["bob"].items() if s != "dave"}
    partial["bob"] = received["bob"]["bob"]
    echoes["bob"] = make_echo(
        KEYS["bob"], session_id=SESSION, round_label=ROUND, echoer="bob", received=partial
    )
    with pytest.raises(InvalidEcho) as caught:
        _check("alice", received["alice"], echoes)
    assert caught.value.culprits == ("bob",)


def test_digests_bind_every_field_unambiguously() -> None:
    base = {
        "session_id": SESSION,
        "round_label": ROUND,
        "sender": "alice",
        "payload_digest": payload_digest(b"m"),
    }
    digests = {broadcast_digest(**base)}  # type: ignore[arg-type]
    for field, value in [
        ("session_id", b"session-2"),
        ("round_label", "test/round2"),
        ("sender", "bob"),
        ("payload_digest", payload_digest(b"n")),
    ]:
        digests.add(broadcast_digest(**{**base, field: value}))  # type: ignore[arg-type]
    assert len(digests) == 5
    # Length prefixes: moving a byte from one field to the next changes the digest.
    assert broadcast_digest(
        session_id=b"ab", round_label="c", sender="d", payload_digest=payload_digest(b"")
    ) != broadcast_digest(
        session_id=b"a", round_label="bc", sender="d", payload_digest=payload_digest(b"")
    )


@settings(max_examples=25, deadline=None)
@given(data=st.binary(min_size=1, max_size=64), position=st.integers(min_value=0))
def test_any_change_to_a_signed_payload_fails_verification(data: bytes, position: int) -> None:
    signature = _sign("alice", data)
    changed = bytearray(data)
    changed[position % len(data)] ^= 1
    payloads = {p: _payload(p) for p in PARTIES} | {"alice": bytes(changed)}
    signatures = {p: _sign(p, payloads[p]) for p in PARTIES} | {"alice": signature}
    with pytest.raises(InvalidBroadcastSignature):
        verify_broadcasts(
            payloads,
            signatures,
            DIRECTORY,
            session_id=SESSION,
            round_label=ROUND,
            senders=PARTIES,
        )


def test_keys_refuse_bad_encodings_and_redact_their_secret() -> None:
    with pytest.raises(InvalidMessageSigningKey):
        MessageSigningPublicKey(bytes(32))  # the identity: small order
    with pytest.raises(InvalidMessageSigningKey):
        MessageSigningPublicKey(b"\x01" * 31)
    with pytest.raises(InvalidMessageSigningKey):
        MessageSigningKeyPair.from_private_bytes(b"short")
    key = KEYS["alice"]
    assert "redacted" in repr(key)
    assert key.unsafe_private_bytes().hex() not in repr(key)
    again = MessageSigningKeyPair.from_private_bytes(key.unsafe_private_bytes())
    assert again.public_key == key.public_key
    with pytest.raises(InvalidSignature):
        key.public_key.verify(b"message", bytes(64))
    # Signatures are deterministic (RFC 8032): a retry that signs again signs the same.
    assert _sign("alice", b"m") == _sign("alice", b"m")
