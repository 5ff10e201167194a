"""Request authorizations (runtime.authorization): the format, every refusal a party makes,
the transfer ceremonies' reserved ids, and the co-signer's check of real transactions.

Transactions are built by the chain adapters themselves on their embedded engines
(py-evm, the Bitcoin ledger, LiteSVM), then tampered with the way a malicious
orchestration would: each tampering is refused with ``wrong-transaction``.
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
import rlp
from coincurve import PrivateKey
from eth_utils.crypto import keccak
from nacl.signing import SigningKey

from chains.config import ChainsConfig
from chains.models import FeePolicy, SigningPayload, TransferIntent, UnsignedTransaction
from chains.port import ChainAdapter
from chains.registry import ChainRegistry
from runtime.authorization import (
    AUTHORIZATION_DOMAIN,
    MAX_CEREMONY_ID,
    AuthorizationClaims,
    RequestAuthorization,
    RequestAuthorizer,
    RequestVerifier,
    TransferPayload,
    Unauthorized,
    canonical_claims,
    check_transfer,
    transfer_ceremony_id,
)
from runtime.names import RESERVED_ID_PREFIX

NOW = 1_800_000_000
WALLET = "wallet-1"
REQUEST = "request-1"
MESSAGE = hashlib.sha256(b"pay").digest()


def _authorizer(now: float = NOW) -> RequestAuthorizer:
    return RequestAuthorizer(SigningKey(b"\x01" * 32), clock=lambda: now)


def _verifier(
    authorizer: RequestAuthorizer, now: float = NOW, chains: ChainsConfig | None = None
) -> RequestVerifier:
    return RequestVerifier(authorizer.public_key, chains, clock=lambda: now)


def _check(
    verifier: RequestVerifier,
    authorization: RequestAuthorization | None,
    *,
    wallet_id: str = WALLET,
    ceremony_id: str = REQUEST,
    message: bytes | None = MESSAGE,
    root: str | None = None,
) -> AuthorizationClaims:
    return verifier.authorize(
        authorization,
        wallet_id=wallet_id,
        ceremony_id=ceremony_id,
        message=message,
        taproot_merkle_root=root,
        transfer=None,
        wallet_public_key=lambda: b"",
    )


def _refused(call: Callable[[], object]) -> str:
    with pytest.raises(Unauthorized) as caught:
        call()
    return caught.value.reason


# -- the format ------------------------------------------------------------------------


def test_the_canonical_bytes_are_domain_separated_versioned_and_stable() -> None:
    authorization = _authorizer().authorize_sign(REQUEST, WALLET, MESSAGE)
    encoded = canonical_claims(authorization.claims)
    assert encoded.startswith(struct.pack(">I", len(AUTHORIZATION_DOMAIN)) + AUTHORIZATION_DOMAIN)
    assert encoded[4 + len(AUTHORIZATION_DOMAIN)] == 1  # the version
    # A snapshot: the encoding may never change under version 1.
    assert hashlib.sha256(encoded).hexdigest() == (
        "411648191c9a8ca7ed5016df69f7c4cae4f8133f0809039cb6b0abcb1764334e"
    )


def test_every_field_changes_the_signed_bytes() -> None:
    base = _authorizer().authorize_sign(REQUEST, WALLET, MESSAGE).claims
    variants: list[dict[str, object]] = [
        {"request_id": "request-2"},
        {"wallet_id": "wallet-2"},
        {"message_sha256": "00" * 32},
        {"taproot_merkle_root": "11" * 32},
        {"signers": ("us-1", "eu-1", "apac-1")},
        {"issued_at": base.issued_at + 1},
        {"expires_at": base.expires_at + 1},
        {"operation": "transfer"},
        {"intent": TransferIntent(chain="solana", to="x", amount=1)},
    ]
    encodings = {canonical_claims(base)}
    encodings |= {canonical_claims(base.model_copy(update=v)) for v in variants}
    assert len(encodings) == len(variants) + 1
    # Length prefixes: moving a character from one field to the next is another encoding.
    shifted = base.model_copy(update={"request_id": REQUEST + "w", "wallet_id": "allet-1"})
    assert canonical_claims(shifted) != canonical_claims(base)


def test_the_private_key_file_is_0600_and_refused_when_readable(tmp_path: Path) -> None:
    path = tmp_path / "request-signing.key"
    RequestAuthorizer.create_file(path)
    assert path.stat().st_mode & 0o777 == 0o600
    key = RequestAuthorizer.load(path)
    RequestAuthorizer.create_file(path)  # an existing key is kept
    assert RequestAuthorizer.load(path).public_key == key.public_key
    assert "redacted" in repr(key)
    assert path.read_text().strip() not in repr(key)
    path.chmod(0o644)
    with pytest.raises(PermissionError):
        RequestAuthorizer.load(path)


# -- what a party refuses --------------------------------------------------------------


def test_a_genuine_authorization_passes() -> None:
    authorizer = _authorizer()
    claims = _check(_verifier(authorizer), authorizer.authorize_sign(REQUEST, WALLET, MESSAGE))
    assert (claims.request_id, claims.wallet_id) == (REQUEST, WALLET)


def test_a_missing_forged_or_tampered_authorization_is_refused() -> None:
    authorizer = _authorizer()
    verifier = _verifier(authorizer)
    assert _refused(lambda: _check(verifier, None)) == "missing"
    forged = RequestAuthorizer(SigningKey(b"\x02" * 32), clock=lambda: NOW)
    assert _refused(lambda: _check(verifier, forged.authorize_sign(REQUEST, WALLET, MESSAGE))) == (
        "bad-signature"
    )
    genuine = authorizer.authorize_sign(REQUEST, WALLET, MESSAGE)
    # The claims changed after signing (another wallet), with the original signature.
    tampered = genuine.model_copy(
        update={"claims": genuine.claims.model_copy(update={"wallet_id": "wallet-2"})}
    )
    assert _refused(lambda: _check(verifier, tampered, wallet_id="wallet-2")) == "bad-signature"
    no_key = RequestVerifier(None)
    assert _refused(lambda: _check(no_key, genuine)) == "no-key"


def test_time_is_the_partys_own_clock() -> None:
    authorizer = _authorizer()
    authorization = authorizer.authorize_sign(REQUEST, WALLET, MESSAGE, ttl=60)
    assert _check(_verifier(authorizer, NOW + 60), authorization)
    assert _refused(lambda: _check(_verifier(authorizer, NOW + 61), authorization)) == "expired"
    assert (
        _refused(lambda: _check(_verifier(authorizer, NOW - 3600), authorization))
        == "not-yet-valid"
    )
    long_lived = authorizer.authorize_sign(REQUEST, WALLET, MESSAGE, ttl=3 * 3600)
    assert _refused(lambda: _check(_verifier(authorizer), long_lived)) == "too-long"


def test_another_wallet_request_message_or_root_is_refused() -> None:
    authorizer = _authorizer()
    verifier = _verifier(authorizer)
    authorization = authorizer.authorize_sign(REQUEST, WALLET, MESSAGE)
    assert _refused(lambda: _check(verifier, authorization, wallet_id="w2")) == "wrong-wallet"
    assert _refused(lambda: _check(verifier, authorization, ceremony_id="r2")) == "wrong-request"
    assert _refused(lambda: _check(verifier, authorization, message=b"x" * 32)) == ("wrong-message")
    assert _refused(lambda: _check(verifier, authorization, root="22" * 32)) == "wrong-message"
    # A sign authorization does not cover a transfer payload, nor one with no message.
    assert _refused(lambda: _check(verifier, authorization, message=None)) == "wrong-message"


def test_a_named_signer_set_binds() -> None:
    authorizer = _authorizer()
    claims = authorizer.authorize_sign(REQUEST, WALLET, MESSAGE, signers=("us-1", "eu-1")).claims
    RequestVerifier.check_signers(claims, ["eu-1", "us-1"])
    assert _refused(lambda: RequestVerifier.check_signers(claims, ["us-1", "us-2"])) == (
        "wrong-signers"
    )
    free = authorizer.authorize_sign(REQUEST, WALLET, MESSAGE).claims
    RequestVerifier.check_signers(free, ["us-2", "eu-2", "apac-2"])  # the coordinator chose


# -- transfer ceremony ids -------------------------------------------------------------


def test_transfer_ceremony_ids_are_reserved_bounded_and_distinct() -> None:
    short = transfer_ceremony_id("tr-b", 0)
    assert short == f"{RESERVED_ID_PREFIX}tx:tr-b.sign-0"
    long_key = "k" * 120
    ids = {transfer_ceremony_id(key, i) for key in ("tr-b", long_key, "k" * 119) for i in (0, 1)}
    assert len(ids) == 6
    assert all(i.startswith(RESERVED_ID_PREFIX) and len(i) <= MAX_CEREMONY_ID for i in ids)
    assert transfer_ceremony_id(long_key, 7) == transfer_ceremony_id(long_key, 7)


# -- the co-signer's check of real transactions ----------------------------------------


def _secp(name: bytes) -> bytes:
    return bytes(PrivateKey(hashlib.sha256(name).digest()).public_key.format())


def _ed(name: bytes) -> bytes:
    return bytes(SigningKey(hashlib.sha256(name).digest()).verify_key)


SECP_KEYS = (_secp(b"wallet"), _secp(b"recipient"), _secp(b"someone else"))
ED_KEYS = (_ed(b"wallet"), _ed(b"recipient"), _ed(b"someone else"))
# chain, (wallet key, recipient's key, a third party's key), funding, amount (base units)
CHAINS = [
    ("ethereum", SECP_KEYS, 10**19, 10**16),
    ("bitcoin-p2wpkh", SECP_KEYS, 10**8, 100_000),
    ("bitcoin-p2tr", SECP_KEYS, 10**8, 100_000),
    ("solana", ED_KEYS, 10**10, 10**7),
]


@pytest.fixture(scope="module")
async def registry() -> AsyncIterator[ChainRegistry]:
    chains = ChainRegistry(ChainsConfig.load())
    yield chains
    await chains.close()


async def _built(
    adapter: ChainAdapter, key: bytes, other: bytes, funding: int, amount: int
) -> tuple[TransferIntent, UnsignedTransaction, str]:
    """An intent to pay ``other``, the adapter's own transaction for it, and its address."""
    await adapter.fund(adapter.address(key), funding)
    # Twice on Bitcoin: two coins, so the transaction has two inputs and change.
    if adapter.config.family == "bitcoin":
        await adapter.fund(adapter.address(key), funding)
        amount = funding + funding // 2
    await adapter.advance(1)
    recipient = adapter.address(other)
    intent = TransferIntent(chain=adapter.name, to=recipient, amount=amount)
    return intent, await adapter.build(intent, key), recipient


@pytest.mark.parametrize(("chain", "keys", "funding", "amount"), CHAINS)
async def test_the_transaction_built_from_the_intent_passes_and_any_other_is_refused(
    registry: ChainRegistry, chain: str, keys: tuple[bytes, bytes, bytes], funding: int, amount: int
) -> None:
    adapter = registry.get(chain)
    config = registry.config.get(chain)
    key, other, third = keys
    intent, tx, _ = await _built(adapter, key, other, funding, amount)
    expected = check_transfer(config, intent, tx, key)
    assert expected == [bytes.fromhex(p.message) for p in tx.signing_payloads]

    def refused(intent: TransferIntent, tx: UnsignedTransaction, key: bytes = key) -> str:
        return _refused(lambda: check_transfer(config, intent, tx, key))

    # The intent says otherwise: another amount, another recipient, a lower fee cap.
    assert refused(intent.model_copy(update={"amount": intent.amount + 1}), tx) == (
        "wrong-transaction"
    )
    elsewhere = adapter.address(third)
    assert refused(intent.model_copy(update={"to": elsewhere}), tx) == "wrong-transaction"
    if chain != "solana":  # a Solana fee is the network's, not in the message
        capped = intent.model_copy(update={"fee": FeePolicy(max_fee=tx.fee - 1)})
        assert refused(capped, tx) == "wrong-transaction"
    # The transaction is another key's, or another chain's.
    assert refused(intent, tx, other) == "wrong-transaction"
    assert refused(intent.model_copy(update={"chain": "polygon"}), tx) == "wrong-transaction"
    # Payloads that are not the transaction's own (a digest of something else).
    forged = tx.signing_payloads[0].model_copy(update={"message": "ab" * 32})
    swapped = tx.model_copy(update={"signing_payloads": (forged, *tx.signing_payloads[1:])})
    assert refused(intent, swapped) == "wrong-transaction"
    # The unsigned bytes changed: a byte of the payload flipped is never the intent's.
    raw = bytearray(bytes.fromhex(tx.payload))
    raw[len(raw) // 2] ^= 0x01
    assert refused(intent, tx.model_copy(update={"payload": raw.hex()})) == "wrong-transaction"


async def test_evm_a_transaction_for_another_chain_id_or_with_data_is_refused(
    registry: ChainRegistry,
) -> None:
    adapter = registry.get("ethereum")
    config = registry.config.get("ethereum")
    intent, tx, _ = await _built(adapter, SECP_KEYS[0], SECP_KEYS[1], 10**19, 10**16)
    fields = rlp.decode(bytes.fromhex(tx.payload)[1:])

    def rebuilt(index: int, value: object) -> UnsignedTransaction:
        changed = [*fields]
        changed[index] = value
        payload = b"\x02" + rlp.encode(changed)
        return tx.model_copy(
            update={
                "payload": payload.hex(),
                "signing_payloads": (
                    tx.signing_payloads[0].model_copy(update={"message": keccak(payload).hex()}),
                ),
            }
        )

    for index, value in ((0, 137), (7, b"\x01"), (6, intent.amount * 2)):
        with pytest.raises(Unauthorized) as caught:
            check_transfer(config, intent, rebuilt(index, value), SECP_KEYS[0])
        assert caught.value.reason == "wrong-transaction"


async def test_bitcoin_inputs_must_be_the_wallets_and_outputs_payment_or_change(
    registry: ChainRegistry,
) -> None:
    adapter = registry.get("bitcoin-p2wpkh")
    config = registry.config.get("bitcoin-p2wpkh")
    intent, tx, _ = await _built(adapter, SECP_KEYS[0], SECP_KEYS[1], 10**8, 0)
    assert len(tx.prevouts) == 2
    # A prevout claimed to be someone else's script, or a different amount than spent.
    foreign = tx.prevouts[0].model_copy(update={"script_pubkey": "0014" + "00" * 20})
    lied = tx.prevouts[1].model_copy(update={"amount": tx.prevouts[1].amount + 10**6})
    for prevouts in ((foreign, tx.prevouts[1]), (tx.prevouts[0], lied)):
        changed = tx.model_copy(update={"prevouts": prevouts})
        with pytest.raises(Unauthorized):
            check_transfer(config, intent, changed, SECP_KEYS[0])


def test_a_transfer_authorization_binds_the_ceremony_to_its_payload() -> None:
    authorizer = _authorizer()
    verifier = _verifier(authorizer, chains=ChainsConfig.load())
    intent = TransferIntent(chain="solana", to="11111111111111111111111111111112", amount=5)
    authorization = authorizer.authorize_transfer(REQUEST, WALLET, intent)
    tx = UnsignedTransaction(
        chain="solana",
        public_key=ED_KEYS[0].hex(),
        from_address="x",
        to=intent.to,
        amount=5,
        fee=5000,
        payload="00",
        signing_payloads=(SigningPayload(message="00", scheme="ed25519"),),
    )

    def check(ceremony_id: str, transfer: TransferPayload | None) -> str:
        return _refused(
            lambda: verifier.authorize(
                authorization,
                wallet_id=WALLET,
                ceremony_id=ceremony_id,
                message=b"\x00",
                taproot_merkle_root=None,
                transfer=transfer,
                wallet_public_key=lambda: ED_KEYS[0],
            )
        )

    payload = TransferPayload(transaction=tx, index=0)
    # Not under the request's own ceremony id for that payload (the request's key itself,
    # or the old squattable id): refused before the transaction is even decoded.
    assert check(REQUEST, payload) == "wrong-request"
    assert check(f"{REQUEST}.sign-0", payload) == "wrong-request"
    assert check(transfer_ceremony_id(REQUEST, 1), payload) == "wrong-request"
    # Without the transaction a transfer authorization signs nothing.
    assert check(transfer_ceremony_id(REQUEST, 0), None) == "wrong-message"
    # Under the right id the transaction is checked (and this one is not a v0 message).
    assert check(transfer_ceremony_id(REQUEST, 0), payload) == "wrong-transaction"
    unknown = RequestVerifier(authorizer.public_key, None, clock=lambda: NOW)
    assert (
        _refused(
            lambda: unknown.authorize(
                authorization,
                wallet_id=WALLET,
                ceremony_id=transfer_ceremony_id(REQUEST, 0),
                message=b"\x00",
                taproot_merkle_root=None,
                transfer=payload,
                wallet_public_key=lambda: ED_KEYS[0],
            )
        )
        == "unknown-chain"
    )


async def test_a_transfer_never_signs_under_a_taproot_merkle_root(registry: ChainRegistry) -> None:
    """The wallet's outputs are key-path only: a coordinator that names a script tree for a
    payload (and the same root in the request) is refused, or the party would sign with a
    key tweaked to a tree the intent never named."""
    adapter = registry.get("bitcoin-p2tr")
    key, other, _ = SECP_KEYS
    intent, tx, _ = await _built(adapter, key, other, 10**8, 100_000)
    authorizer = _authorizer()
    verifier = _verifier(authorizer, chains=ChainsConfig.load())
    authorization = authorizer.authorize_transfer(REQUEST, WALLET, intent)
    first = tx.signing_payloads[0]

    def check(root: str | None) -> str | None:
        payload = first.model_copy(update={"taproot_merkle_root": root})
        rooted = tx.model_copy(update={"signing_payloads": (payload, *tx.signing_payloads[1:])})
        try:
            verifier.authorize(
                authorization,
                wallet_id=WALLET,
                ceremony_id=transfer_ceremony_id(REQUEST, 0),
                message=bytes.fromhex(first.message),
                taproot_merkle_root=root,
                transfer=TransferPayload(transaction=rooted, index=0),
                wallet_public_key=lambda: key,
            )
        except Unauthorized as refusal:
            return str(refusal)
        return None

    assert check(None) is None
    refusal = check("11" * 32)
    assert refusal is not None
    assert "merkle root" in refusal
