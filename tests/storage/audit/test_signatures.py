"""Every recorded signature is re-verified against its wallet's key (issue 11).

The attack: whoever can append to the store appends a ``SignatureProduced`` that no
ceremony produced, through the store's own code, so its hash and link are valid. The chain
alone passes it; the verifier must name it, with its position and why.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest
from coincurve import PublicKeyXOnly
from typer.testing import CliRunner

from common.types import Scheme
from mpc.frost.taproot import output_key_x_only
from mpc.group import SECP256K1
from quorate.audit_cli import EXIT_TAMPERED, audit_app
from storage.audit.findings import Problem
from storage.audit.signatures import SECP256K1_ORDER, bip86_output_key
from storage.audit.verify import Checks, VerifyReport, verify_url
from storage.events.models import (
    CeremonyStarted,
    DomainEvent,
    SignatureProduced,
    ceremony_stream,
    to_new_event,
    wallet_stream,
)
from storage.events.port import open_event_store
from tests.storage.audit.keys import WALLETS, WalletKeys, bip340_wallet
from tests.storage.audit.support import (
    EVENT_COUNT,
    PARTIES,
    Backend,
    SQLiteBackend,
    signature_produced,
    ticking_clock,
    wallet_created,
)

SIGNERS = PARTIES[:3]
DIGEST = bytes(range(32))


def _keys(scheme: Scheme) -> WalletKeys:
    return WALLETS[scheme](f"wallet-{scheme}")


async def _append(url: str, *events: tuple[str, DomainEvent]) -> int:
    """Append through the store's own code (valid hashes); the last event's position."""
    position = 0
    async with await open_event_store(url, clock=ticking_clock()) as store:
        for stream_id, event in events:
            key = f"{stream_id}/{type(event).__name__}/{await store.head_position()}"
            stored = await store.append(
                to_new_event(event, stream_id=stream_id, idempotency_key=key)
            )
            position = stored.position
    return position


async def _with_wallets(url: str) -> None:
    """One wallet of each scheme, each with one genuine signature."""
    for scheme in ("bip340", "ed25519", "ecdsa-secp256k1"):
        keys = _keys(scheme)
        wallet = f"wallet-{scheme}"
        await _append(
            url,
            (wallet_stream(wallet), wallet_created(wallet, keys)),
            (
                ceremony_stream(f"genuine-{scheme}"),
                CeremonyStarted(
                    ceremony_id=f"genuine-{scheme}",
                    wallet_id=wallet,
                    kind="sign",
                    protocol="frost",
                    parties=SIGNERS,
                ),
            ),
            (
                ceremony_stream(f"genuine-{scheme}"),
                signature_produced(f"genuine-{scheme}", wallet, DIGEST, SIGNERS, keys),
            ),
        )


def _forged(
    scheme: Scheme, change: Callable[[SignatureProduced], SignatureProduced]
) -> DomainEvent:
    keys = _keys(scheme)
    genuine = signature_produced("forged", f"wallet-{scheme}", DIGEST[::-1], SIGNERS, keys)
    return change(genuine)


def _zero(event: SignatureProduced) -> SignatureProduced:
    return event.model_copy(update={"signature": "00" * 64})


def _bit_flipped(event: SignatureProduced) -> SignatureProduced:
    raw = bytearray.fromhex(event.signature)
    raw[40] ^= 0x01
    return event.model_copy(update={"signature": raw.hex()})


def _other_message(event: SignatureProduced) -> SignatureProduced:
    return event.model_copy(update={"message": DIGEST.hex()[:-2] + "ff"})


def _by_another_key(scheme: Scheme) -> Callable[[SignatureProduced], SignatureProduced]:
    """Signed by the intruder's own key, which it names as the public key."""

    def change(event: SignatureProduced) -> SignatureProduced:
        intruder = WALLETS[scheme]("intruder")
        message = bytes.fromhex(event.message)
        return event.model_copy(
            update={
                "public_key": intruder.public_key.hex(),
                "signature": intruder.sign(message).hex(),
            }
        )

    return change


def _by_another_key_same_public(scheme: Scheme) -> Callable[[SignatureProduced], SignatureProduced]:
    """Signed by the intruder's key, but naming the wallet's key."""

    def change(event: SignatureProduced) -> SignatureProduced:
        intruder = WALLETS[scheme]("intruder")
        return event.model_copy(
            update={"signature": intruder.sign(bytes.fromhex(event.message)).hex()}
        )

    return change


SCHEMES: list[Scheme] = ["bip340", "ed25519", "ecdsa-secp256k1"]


@pytest.mark.parametrize("scheme", SCHEMES)
@pytest.mark.parametrize(
    ("forgery", "problem", "why"),
    [
        (lambda s: _zero, Problem.BAD_SIGNATURE, "does not verify"),
        (lambda s: _bit_flipped, Problem.BAD_SIGNATURE, "does not verify"),
        (lambda s: _other_message, Problem.BAD_SIGNATURE, "does not verify"),
        (_by_another_key, Problem.KEY_MISMATCH, "is not wallet"),
        (_by_another_key_same_public, Problem.BAD_SIGNATURE, "does not verify"),
    ],
    ids=["all-zero", "bit-flipped", "other-message", "other-key", "other-key-same-name"],
)
async def test_a_forged_signature_with_a_valid_hash_is_named(
    backend: Backend,
    scheme: Scheme,
    forgery: Callable[[Scheme], Callable[[SignatureProduced], SignatureProduced]],
    problem: Problem,
    why: str,
) -> None:
    await _with_wallets(backend.url)
    assert (await verify_url(backend.url)).ok
    forged = _forged(scheme, forgery(scheme))
    position = await _append(backend.url, (ceremony_stream("forged"), forged))
    report = await verify_url(backend.url, batch_size=4)
    assert report.finding is not None, report.summary()
    assert (report.finding.problem, report.finding.position) == (problem, position)
    assert why in report.finding.reason
    assert report.events == position - 1


async def test_the_zero_signature_of_the_issue_is_named_by_the_cli(
    sqlite_backend: SQLiteBackend,
) -> None:
    await sqlite_backend.build()
    forged = signature_produced("c9", "w1", bytes(32), SIGNERS).model_copy(
        update={"signature": "00" * 64}
    )
    await _append(sqlite_backend.url, (ceremony_stream("c9"), forged))
    result = await asyncio.to_thread(
        CliRunner().invoke, audit_app, ["verify", "--url", sqlite_backend.url]
    )
    assert result.exit_code == EXIT_TAMPERED, result.output
    assert result.stdout.startswith("TAMPERED")
    assert f"position {EVENT_COUNT + 1}: bad-signature" in result.stdout
    assert "BIP340 signature does not verify" in result.stdout


async def test_an_intact_store_reports_every_signature_verified(backend: Backend) -> None:
    await _with_wallets(backend.url)
    report = await verify_url(backend.url)
    assert report.ok, report.summary()
    assert "signatures: 3 verified" in report.summary()


def _assert_finding(report: VerifyReport, problem: Problem, position: int, why: str) -> None:
    assert report.finding is not None
    assert (report.finding.problem, report.finding.position) == (problem, position)
    assert why in report.finding.reason


@pytest.mark.parametrize("scheme", SCHEMES)
async def test_a_signature_of_a_wallet_never_created_is_named(
    sqlite_backend: SQLiteBackend, scheme: Scheme
) -> None:
    keys = WALLETS[scheme]("ghost")
    event = signature_produced("c1", "ghost", DIGEST, SIGNERS, keys)
    position = await _append(sqlite_backend.url, (ceremony_stream("c1"), event))
    report = await verify_url(sqlite_backend.url)
    _assert_finding(report, Problem.KEY_MISMATCH, position, "no earlier WalletCreated")


async def test_a_signature_of_another_scheme_than_its_wallet_is_named(
    sqlite_backend: SQLiteBackend,
) -> None:
    await _with_wallets(sqlite_backend.url)
    # An Ed25519 signature recorded for the taproot wallet.
    ed = _keys("ed25519")
    event = signature_produced("c1", "wallet-bip340", DIGEST, SIGNERS, ed)
    position = await _append(sqlite_backend.url, (ceremony_stream("c1"), event))
    report = await verify_url(sqlite_backend.url)
    _assert_finding(report, Problem.KEY_MISMATCH, position, "bip340 wallet")


async def test_a_high_s_ecdsa_signature_is_named(sqlite_backend: SQLiteBackend) -> None:
    """(r, n - s) verifies mathematically, but no relying chain accepts it (EIP-2, BIP146)."""
    await _with_wallets(sqlite_backend.url)

    def high_s(event: SignatureProduced) -> SignatureProduced:
        raw = bytes.fromhex(event.signature)
        s = int.from_bytes(raw[32:], "big")
        return event.model_copy(
            update={"signature": (raw[:32] + (SECP256K1_ORDER - s).to_bytes(32, "big")).hex()}
        )

    position = await _append(
        sqlite_backend.url, (ceremony_stream("c1"), _forged("ecdsa-secp256k1", high_s))
    )
    report = await verify_url(sqlite_backend.url)
    _assert_finding(report, Problem.BAD_SIGNATURE, position, "high s")


async def test_a_script_tree_key_is_named_unless_allowed(sqlite_backend: SQLiteBackend) -> None:
    """A BIP340 signature under a key tweaked with a script tree's root cannot be tied to
    the wallet (the root is not recorded): a finding by default, a listed note if allowed;
    its signature is verified either way."""
    await _with_wallets(sqlite_backend.url)
    other_output = bip340_wallet("tweaked-with-a-root")
    event = signature_produced("c1", "wallet-bip340", DIGEST, SIGNERS, _keys("bip340"))
    event = event.model_copy(
        update={
            "public_key": other_output.public_key.hex(),
            "signature": other_output.sign(DIGEST).hex(),
        }
    )
    position = await _append(sqlite_backend.url, (ceremony_stream("c1"), event))
    strict = await verify_url(sqlite_backend.url)
    assert strict.finding is not None
    assert (strict.finding.problem, strict.finding.position) == (Problem.KEY_MISMATCH, position)
    assert "script-tree" in strict.finding.reason
    allowed = await verify_url(sqlite_backend.url, checks=Checks(allow_script_tree_keys=True))
    assert allowed.ok, allowed.summary()
    assert f"at positions {position}" in allowed.summary()
    # Still verified: a forged signature under that key is named.
    bad = event.model_copy(update={"ceremony_id": "c2", "signature": "00" * 64})
    later = await _append(sqlite_backend.url, (ceremony_stream("c2"), bad))
    report = await verify_url(sqlite_backend.url, checks=Checks(allow_script_tree_keys=True))
    assert report.finding is not None
    assert (report.finding.problem, report.finding.position) == (Problem.BAD_SIGNATURE, later)


async def test_an_edited_public_key_in_wallet_created_fails_the_chain_first(
    sqlite_backend: SQLiteBackend,
) -> None:
    await sqlite_backend.build()
    await sqlite_backend.edit_payload(1, group_public_key=_keys("bip340").group_key.hex())
    report = await verify_url(sqlite_backend.url)
    assert report.finding is not None
    assert (report.finding.problem, report.finding.position) == (Problem.HASH_MISMATCH, 1)


def test_the_bip86_key_agrees_with_mpc_frost_taproot() -> None:
    """Two implementations of BIP341's tweak (libsecp256k1 point addition here, our group
    code there) agree, and the fixture's tweaked secret signs for that key."""
    for label in ("a", "b", "c", "d"):
        wallet = bip340_wallet(label)
        ours = bip86_output_key(wallet.group_key)
        theirs = output_key_x_only(SECP256K1.deserialize_element(wallet.group_key))
        assert ours == theirs == wallet.public_key
        assert PublicKeyXOnly(ours).verify(wallet.sign(DIGEST), DIGEST)


def test_bip86_output_key_matches_bip86s_test_vector() -> None:
    """BIP86, first receiving address of account 0 (m/86'/0'/0'/0/0)."""
    internal = bytes.fromhex("cc8a4bc64d897bddc5fbc2f670f7a8ba0b386779106cf1223c6fc5d7cd6fc115")
    expected = bytes.fromhex("a60869f0dbcf1dc659c9cecbaf8050135ea9e8cdc487053f1dc6880949dc684c")
    assert bip86_output_key(b"\x02" + internal) == expected
    assert bip86_output_key(b"\x03" + internal) == expected  # lift_x: the parity is dropped.
