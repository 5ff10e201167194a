"""Request authorizations: what proves to a party that a signing request was authorized.

A party releases a nonce commitment or a signature share only for a request that carries
an authorization signed (Ed25519, libsodium) by the deployment's request-signing key, whose
public half every party knows from its topology (``request_signing_public_key``, beside
each party's sealing key). The private half stays with whoever accepts requests: the
client in the embedded deployment (``request-signing.key`` in the data directory, mode
0600, made by ``runtime.provision.provision_local``), the API later.

An authorization binds (``AuthorizationClaims``): the request id (the workflow id, which
is the idempotency key), the wallet, what may be signed (for ``sign``, the SHA-256 of the
one message and the taproot merkle root; for ``transfer``, the transfer intent: chain,
recipient, amount, asset and fee policy), the signer set when the request named one, and
a validity window (``issued_at`` .. ``expires_at``, Unix seconds). What is signed is
``canonical_claims``: a domain-separation prefix, the format version, then every field in
a fixed order, each named and length-prefixed, so no two claims share an encoding.

Each party checks an authorization in its own activity (``RequestVerifier.authorize``),
against its own clock, before it makes or uses a nonce; a refusal is ``Unauthorized``,
naming why (``missing``, ``bad-signature``, ``expired``, ``wrong-wallet``,
``wrong-request``, ``wrong-message``, ``wrong-signers``, ``wrong-transaction``...). For a
transfer, the party also decodes the unsigned transaction it is asked to sign with the
chain's own serialization code (``chains/``), recomputes the signing payload from it and
checks that it pays what the intent says (``check_transfer``).
"""

from __future__ import annotations

import hashlib
import os
import stat
import struct
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Final, Literal

from nacl.exceptions import BadSignatureError
from nacl.signing import SigningKey, VerifyKey
from pydantic import BaseModel, ConfigDict, Field

from chains.config import ChainConfig, ChainsConfig
from chains.models import TransferIntent, UnsignedTransaction
from common.types import Hex, PartyId, WalletId
from runtime.names import RESERVED_ID_PREFIX

AUTHORIZATION_DOMAIN: Final = b"quorate/request-authorization"
AUTHORIZATION_VERSION: Final = 1
KEY_ID_DOMAIN: Final = b"quorate/request-signing-key"
REQUEST_SIGNING_KEY_FILE: Final = "request-signing.key"

# How long an authorization made by the client lasts: a signing ceremony takes well under
# a minute (an inline ECDSA presignature a few); a transfer may wait up to 45 minutes for
# its wallet's lock and then signs within 20 (workflows/sign_transaction.py).
SIGN_TTL: Final = 15 * 60
TRANSFER_TTL: Final = 90 * 60
# Parties refuse windows longer than this, and tolerate this much clock skew for
# ``issued_at`` (never for ``expires_at``: a party's own clock decides expiry).
MAX_LIFETIME: Final = 2 * 60 * 60
MAX_CLOCK_SKEW: Final = 60

# Ceremony and request ids are at most 128 characters in the event store.
MAX_CEREMONY_ID: Final = 128
TRANSFER_CEREMONY_PREFIX: Final = f"{RESERVED_ID_PREFIX}tx:"
HASHED_TRANSFER_CEREMONY_PREFIX: Final = f"{RESERVED_ID_PREFIX}tx#"

Operation = Literal["sign", "transfer"]
UnauthorizedReason = Literal[
    "missing",
    "no-key",
    "bad-signature",
    "expired",
    "not-yet-valid",
    "too-long",
    "wrong-wallet",
    "wrong-request",
    "wrong-message",
    "wrong-signers",
    "wrong-transaction",
    "unknown-chain",
]


def transfer_ceremony_id(request_id: str, index: int) -> str:
    """The id of the signing ceremony (the child Sign workflow) of a transfer's payload.

    It lives under ``RESERVED_ID_PREFIX``, which no idempotency key may start with, so no
    request can take the id before the transfer does. A request id too long to fit is
    replaced by its hash (under its own prefix, so the two forms never meet).
    """
    if index < 0:
        raise ValueError("a payload index is not negative")
    plain = f"{TRANSFER_CEREMONY_PREFIX}{request_id}.sign-{index}"
    if len(plain) <= MAX_CEREMONY_ID:
        return plain
    digest = hashlib.sha256(request_id.encode()).hexdigest()[:40]
    return f"{HASHED_TRANSFER_CEREMONY_PREFIX}{digest}.sign-{index}"


class Unauthorized(ValueError):
    """A request whose authorization is missing, forged, expired or for something else."""

    def __init__(self, reason: UnauthorizedReason, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason: UnauthorizedReason = reason


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class AuthorizationClaims(_Model):
    """What the request-signing key vouches for. Public: it travels in workflow inputs."""

    version: Literal[1] = 1
    operation: Operation
    request_id: str = Field(min_length=1, max_length=MAX_CEREMONY_ID)
    wallet_id: WalletId
    # sign: SHA-256 of the one message (a digest, or an Ed25519 message of up to 64 KiB),
    # and the BIP341 merkle root the key is tweaked with (none: key path only).
    message_sha256: Hex | None = None
    taproot_merkle_root: Hex | None = None
    # transfer: what the transaction must do.
    intent: TransferIntent | None = None
    # The signer set the request named; empty: the coordinator chooses.
    signers: tuple[PartyId, ...] = ()
    issued_at: int = Field(ge=0)
    expires_at: int = Field(ge=0)
    # Names the key that signed (a hash of its public key), for rotation; never trusted.
    key_id: str = Field(min_length=16, max_length=16)


class RequestAuthorization(_Model):
    claims: AuthorizationClaims
    # Ed25519 over canonical_claims(claims).
    signature: Hex


class TransferPayload(_Model):
    """The transaction a transfer's signing payload comes from, and which payload it is."""

    transaction: UnsignedTransaction
    index: int = Field(ge=0)


# -- the canonical encoding --------------------------------------------------------------


def _lp(data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + data


def _value(value: str | int | Sequence[str] | None) -> bytes:
    """One typed value: 0 none, 1 text, 2 integer (decimal), 3 list of texts."""
    if value is None:
        return b"\x00"
    if isinstance(value, bool):
        raise TypeError("no booleans in claims")
    if isinstance(value, int):
        return b"\x02" + _lp(str(value).encode())
    if isinstance(value, str):
        return b"\x01" + _lp(value.encode())
    items = list(value)
    return b"\x03" + struct.pack(">I", len(items)) + b"".join(_lp(i.encode()) for i in items)


def canonical_claims(claims: AuthorizationClaims) -> bytes:
    """The bytes the request-signing key signs: domain, version, then named fields."""
    intent = claims.intent
    fields: list[tuple[str, str | int | Sequence[str] | None]] = [
        ("operation", claims.operation),
        ("request_id", claims.request_id),
        ("wallet_id", claims.wallet_id),
        ("message_sha256", claims.message_sha256),
        ("taproot_merkle_root", claims.taproot_merkle_root),
        ("intent.chain", intent.chain if intent else None),
        ("intent.to", intent.to if intent else None),
        ("intent.amount", intent.amount if intent else None),
        ("intent.asset", intent.asset if intent else None),
        ("intent.fee.speed", intent.fee.speed if intent else None),
        ("intent.fee.max_fee", intent.fee.max_fee if intent else None),
        ("signers", list(claims.signers)),
        ("issued_at", claims.issued_at),
        ("expires_at", claims.expires_at),
        ("key_id", claims.key_id),
    ]
    out = [_lp(AUTHORIZATION_DOMAIN), bytes([claims.version]), struct.pack(">I", len(fields))]
    out += [_lp(name.encode()) + _value(value) for name, value in fields]
    return b"".join(out)


def key_id(public_key: bytes) -> str:
    return hashlib.sha256(KEY_ID_DOMAIN + public_key).hexdigest()[:16]


def message_digest(message: bytes) -> str:
    return hashlib.sha256(message).hexdigest()


# -- the client's side: the private key --------------------------------------------------


class RequestAuthorizer:
    """Holds the request-signing private key and signs authorizations with it."""

    def __init__(self, signing_key: SigningKey, *, clock: Callable[[], float] = time.time) -> None:
        self._key = signing_key
        self._clock = clock

    @classmethod
    def generate(cls, *, clock: Callable[[], float] = time.time) -> RequestAuthorizer:
        return cls(SigningKey.generate(), clock=clock)

    @classmethod
    def load(cls, path: Path, *, clock: Callable[[], float] = time.time) -> RequestAuthorizer:
        """The key file made by provisioning; refused if others may read it."""
        mode = path.stat().st_mode
        if mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise PermissionError(
                f"{path} is readable by others (mode {mode & 0o777:o}); chmod 600"
            )
        seed = bytes.fromhex(path.read_text().strip())
        if len(seed) != 32:
            raise ValueError(f"{path} does not hold a 32-byte Ed25519 seed")
        return cls(SigningKey(seed), clock=clock)

    @staticmethod
    def create_file(path: Path) -> None:
        """A new private key in ``path`` (mode 0600); an existing file is kept."""
        try:
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            return
        with os.fdopen(descriptor, "w") as handle:
            handle.write(bytes(SigningKey.generate()).hex() + "\n")

    @property
    def public_key(self) -> bytes:
        return bytes(self._key.verify_key)

    def __repr__(self) -> str:
        return f"RequestAuthorizer(key_id={key_id(self.public_key)}, <redacted>)"

    def authorize_sign(
        self,
        request_id: str,
        wallet_id: str,
        message: bytes,
        *,
        taproot_merkle_root: str | None = None,
        signers: Iterable[str] = (),
        ttl: int = SIGN_TTL,
    ) -> RequestAuthorization:
        return self._sign(
            operation="sign",
            request_id=request_id,
            wallet_id=wallet_id,
            message_sha256=message_digest(message),
            taproot_merkle_root=taproot_merkle_root,
            signers=tuple(signers),
            ttl=ttl,
        )

    def authorize_transfer(
        self,
        request_id: str,
        wallet_id: str,
        intent: TransferIntent,
        *,
        signers: Iterable[str] = (),
        ttl: int = TRANSFER_TTL,
    ) -> RequestAuthorization:
        return self._sign(
            operation="transfer",
            request_id=request_id,
            wallet_id=wallet_id,
            intent=intent,
            signers=tuple(signers),
            ttl=ttl,
        )

    def _sign(self, *, ttl: int, **fields: object) -> RequestAuthorization:
        now = int(self._clock())
        claims = AuthorizationClaims.model_validate(
            {
                **fields,
                "issued_at": now,
                "expires_at": max(now + ttl, 0),
                "key_id": key_id(self.public_key),
            }
        )
        signature = self._key.sign(canonical_claims(claims)).signature
        return RequestAuthorization(claims=claims, signature=signature.hex())


# -- the party's side: checks ------------------------------------------------------------

# Decodes a transfer's unsigned transaction, checks that it pays what the intent says from
# the wallet's key, and returns the signing payloads recomputed from it (in order).
TransferDecoder = Callable[[ChainConfig, TransferIntent, UnsignedTransaction, bytes], list[bytes]]


class RequestVerifier:
    """A party's check of requests: the request-signing public key from its topology, its
    own clock, and the chains it can decode transactions of."""

    def __init__(
        self,
        public_key: bytes | None,
        chains: ChainsConfig | None = None,
        *,
        decoders: Mapping[str, TransferDecoder] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._key = VerifyKey(public_key) if public_key is not None else None
        self._key_id = key_id(public_key) if public_key is not None else None
        self._chains = chains
        # Per chain name: decoders that take precedence over the family's (a test's fake).
        self._decoders = dict(decoders or {})
        self._clock = clock

    def authorize(
        self,
        authorization: RequestAuthorization | None,
        *,
        wallet_id: str,
        ceremony_id: str,
        message: bytes | None,
        taproot_merkle_root: str | None,
        transfer: TransferPayload | None,
        wallet_public_key: Callable[[], bytes],
    ) -> AuthorizationClaims:
        """The claims, once everything this request asks is what they authorize.

        ``message`` is what this party is asked to sign (None only where the round does
        not know it yet, which no caller of ours does); ``wallet_public_key`` the wallet's
        group key from the party's own vault, read only for a transfer.
        """
        claims = self.verified_claims(authorization)
        if claims.wallet_id != wallet_id:
            raise Unauthorized(
                "wrong-wallet", f"the authorization is for wallet {claims.wallet_id}"
            )
        if message is None:
            raise Unauthorized("wrong-message", "the request does not say what is signed")
        if claims.operation == "sign":
            if transfer is not None:
                raise Unauthorized(
                    "wrong-request", "a sign authorization does not cover a transfer payload"
                )
            if ceremony_id != claims.request_id:
                raise Unauthorized(
                    "wrong-request", f"the authorization is for request {claims.request_id}"
                )
            if message_digest(message) != claims.message_sha256:
                raise Unauthorized(
                    "wrong-message", "the message differs from the one the request authorized"
                )
            if taproot_merkle_root != claims.taproot_merkle_root:
                raise Unauthorized(
                    "wrong-message", "the taproot merkle root differs from the authorized one"
                )
            return claims
        if transfer is None or claims.intent is None:
            raise Unauthorized(
                "wrong-message", "a transfer authorization signs its transaction's payloads only"
            )
        if ceremony_id != transfer_ceremony_id(claims.request_id, transfer.index):
            raise Unauthorized(
                "wrong-request",
                f"ceremony {ceremony_id} is not payload {transfer.index} of request "
                f"{claims.request_id}",
            )
        expected = check_transfer(
            self._chain(claims.intent.chain),
            claims.intent,
            transfer.transaction,
            wallet_public_key(),
            self._decoders.get(claims.intent.chain),
        )
        if transfer.index >= len(expected):
            raise Unauthorized(
                "wrong-transaction", f"the transaction has no payload {transfer.index}"
            )
        payload = transfer.transaction.signing_payloads[transfer.index]
        if message != expected[transfer.index] or payload.message != message.hex():
            raise Unauthorized(
                "wrong-message",
                f"the message is not payload {transfer.index} of the authorized transaction",
            )
        if taproot_merkle_root != payload.taproot_merkle_root:
            raise Unauthorized("wrong-message", "the taproot merkle root is not the payload's")
        # The wallet's own outputs are key-path only (BIP86): a transfer never signs under
        # a script tree, which would commit the key to a tree the intent did not name.
        if taproot_merkle_root is not None:
            raise Unauthorized("wrong-message", "a transfer signs with no taproot merkle root")
        return claims

    def verified_claims(self, authorization: RequestAuthorization | None) -> AuthorizationClaims:
        """The claims of a genuine, current authorization (signature and time checked)."""
        if authorization is None:
            raise Unauthorized("missing", "the request carries no authorization")
        if self._key is None:
            raise Unauthorized("no-key", "this party has no request-signing key configured")
        claims = authorization.claims
        try:
            self._key.verify(canonical_claims(claims), bytes.fromhex(authorization.signature))
        except (BadSignatureError, ValueError):
            raise Unauthorized(
                "bad-signature",
                "the authorization is not signed by the request-signing key"
                + (f" (key id {claims.key_id})" if claims.key_id != self._key_id else ""),
            ) from None
        now = self._clock()
        if now > claims.expires_at:
            raise Unauthorized(
                "expired", f"the authorization expired at {claims.expires_at} (now {int(now)})"
            )
        if claims.issued_at > now + MAX_CLOCK_SKEW:
            raise Unauthorized(
                "not-yet-valid", f"the authorization is issued at {claims.issued_at}, in the future"
            )
        if claims.expires_at - claims.issued_at > MAX_LIFETIME:
            raise Unauthorized("too-long", f"an authorization lasts at most {MAX_LIFETIME} seconds")
        return claims

    @staticmethod
    def check_signers(claims: AuthorizationClaims, signers: Iterable[str]) -> None:
        """The signer set, when the request named one, is the one that signs."""
        actual = sorted(set(signers))
        if claims.signers and sorted(set(claims.signers)) != actual:
            raise Unauthorized(
                "wrong-signers",
                f"the request named {', '.join(sorted(claims.signers))}, not {', '.join(actual)}",
            )

    def _chain(self, name: str) -> ChainConfig:
        if self._chains is None or name not in self._chains.chains:
            raise Unauthorized("unknown-chain", f"this party cannot check {name} transactions")
        return self._chains.chains[name]


# -- transfers: what a co-signer checks --------------------------------------------------


def check_transfer(
    config: ChainConfig,
    intent: TransferIntent,
    transaction: UnsignedTransaction,
    wallet_public_key: bytes,
    decoder: TransferDecoder | None = None,
) -> list[bytes]:
    """The signing payloads of ``transaction``, recomputed, once it is shown to be the
    intent's transfer from the wallet's key; Unauthorized("wrong-transaction") otherwise."""
    if transaction.chain != intent.chain or config.name != intent.chain:
        raise Unauthorized(
            "wrong-transaction", f"a {transaction.chain} transaction for a {intent.chain} transfer"
        )
    if transaction.public_key != wallet_public_key.hex():
        raise Unauthorized("wrong-transaction", "the transaction is not from the wallet's key")
    if any(p.scheme != config.scheme for p in transaction.signing_payloads):
        raise Unauthorized("wrong-transaction", f"{config.name} signs with {config.scheme}")
    if intent.asset != "native":
        raise Unauthorized("wrong-transaction", f"unsupported asset {intent.asset}")
    decode = decoder or _FAMILY_DECODERS[config.family]
    try:
        expected = decode(config, intent, transaction, wallet_public_key)
    except Unauthorized:
        raise
    except Exception as error:
        # Bytes the family's own decoder cannot read (RLP, a Bitcoin or Solana message)
        # are refused like any other transaction that is not the intent's.
        raise Unauthorized(
            "wrong-transaction", f"the transaction does not decode: {error}"
        ) from None
    if [bytes.fromhex(p.message) for p in transaction.signing_payloads] != expected:
        raise Unauthorized(
            "wrong-transaction", "the signing payloads are not the transaction's own"
        )
    return expected


def _refuse(detail: str) -> Unauthorized:
    return Unauthorized("wrong-transaction", detail)


def _check_fee(intent: TransferIntent, fee: int) -> None:
    if fee < 0:
        raise _refuse("the transaction's outputs exceed its inputs")
    if intent.fee.max_fee is not None and fee > intent.fee.max_fee:
        raise _refuse(
            f"the transaction's fee {fee} exceeds the authorized cap {intent.fee.max_fee}"
        )


def _evm_payloads(
    config: ChainConfig, intent: TransferIntent, tx: UnsignedTransaction, wallet_key: bytes
) -> list[bytes]:
    """EIP-1559: decode the type-2 payload (the same RLP library that made it), check the
    chain id, recipient, value, empty data and access list, and the fee cap; the payload
    is keccak256 of the unsigned envelope."""
    import rlp
    from eth_utils.crypto import keccak

    from chains.evm.transaction import TYPE_EIP1559

    payload = bytes.fromhex(tx.payload)
    if not payload or payload[0] != TYPE_EIP1559:
        raise _refuse("not an EIP-1559 (type 2) transaction")
    fields = rlp.decode(payload[1:])
    if not isinstance(fields, list) or len(fields) != 9:
        raise _refuse("a type-2 payload has 9 fields")
    chain_id, _nonce, _tip, max_fee_per_gas, gas, to, value, data, access_list = fields
    number = [int.from_bytes(f, "big") for f in (chain_id, max_fee_per_gas, gas, value)]
    if number[0] != config.chain_id:
        raise _refuse(f"chain id {number[0]} is not {config.name}'s {config.chain_id}")
    recipient = intent.to.lower()
    if not (recipient.startswith("0x") and len(recipient) == 42):
        raise _refuse(f"not an EVM recipient: {intent.to!r}")
    if to != bytes.fromhex(recipient[2:]):
        raise _refuse("the transaction pays another recipient")
    if number[3] != intent.amount:
        raise _refuse(f"the transaction moves {number[3]}, not {intent.amount}")
    if data != b"" or access_list != []:
        raise _refuse("a native transfer carries no data and no access list")
    _check_fee(intent, number[1] * number[2])
    return [keccak(payload)]


def _bitcoin_payloads(
    config: ChainConfig, intent: TransferIntent, tx: UnsignedTransaction, wallet_key: bytes
) -> list[bytes]:
    """BIP143 / BIP341: parse the unsigned transaction; every input spends an output of the
    wallet's own script; output 0 pays the recipient the amount, any other output is change
    to the wallet; the fee (inputs minus outputs) is within the cap. The sighashes commit
    to the spent amounts (BIP143 each input's own, BIP341 all of them), so amounts claimed
    wrongly make the signatures invalid; the same transaction is pinned for every payload
    of a request by the party (a mix of two claims across payloads is refused)."""
    from chains.bitcoin.address import hash160, parse_address, wallet_script
    from chains.bitcoin.network import network_params
    from chains.bitcoin.transaction import (
        SIGHASH_ALL,
        SIGHASH_DEFAULT,
        OutPoint,
        Transaction,
        TxOut,
        bip143_sighash,
        bip341_sighash,
        p2wpkh_script_code,
    )

    if config.network is None or config.output is None:
        raise _refuse(f"{config.name} is not a bitcoin chain")
    unsigned = Transaction.parse(bytes.fromhex(tx.payload))
    if unsigned.has_witness:
        raise _refuse("an unsigned transaction carries no witness")
    own = wallet_script(config.output, wallet_key)
    if len(unsigned.inputs) != len(tx.prevouts) or not unsigned.inputs:
        raise _refuse("one prevout per input")
    for txin, prevout in zip(unsigned.inputs, tx.prevouts, strict=True):
        if txin.prevout != OutPoint(bytes.fromhex(prevout.txid), prevout.vout):
            raise _refuse("the prevouts are not the transaction's inputs")
        if bytes.fromhex(prevout.script_pubkey) != own or txin.script_sig:
            raise _refuse("an input does not spend the wallet's own output")
    recipient = parse_address(network_params(config.network), intent.to).script_pubkey
    if not unsigned.outputs or unsigned.outputs[0] != TxOut(intent.amount, recipient):
        raise _refuse("output 0 does not pay the recipient the authorized amount")
    if any(out.script_pubkey != own for out in unsigned.outputs[1:]) or len(unsigned.outputs) > 2:
        raise _refuse("an output other than the payment is not change to the wallet")
    _check_fee(intent, sum(p.amount for p in tx.prevouts) - sum(o.amount for o in unsigned.outputs))
    if config.output == "p2wpkh":
        script_code = p2wpkh_script_code(hash160(wallet_key))
        return [
            bip143_sighash(unsigned, index, script_code, prevout.amount, SIGHASH_ALL)
            for index, prevout in enumerate(tx.prevouts)
        ]
    spent = [TxOut(p.amount, own) for p in tx.prevouts]
    return [bip341_sighash(unsigned, i, spent, SIGHASH_DEFAULT) for i in range(len(spent))]


# The system program's Transfer instruction: u32 LE index 2, then u64 LE lamports.
SYSTEM_TRANSFER = 2


def _solana_payloads(
    config: ChainConfig, intent: TransferIntent, tx: UnsignedTransaction, wallet_key: bytes
) -> list[bytes]:
    """A v0 message with the wallet as fee payer and only signer, no address lookup table,
    and exactly one instruction: the system program's Transfer of the amount from the
    wallet to the recipient. Ed25519 signs the message itself. The fee is the network's
    per-signature fee (one signature, no compute-budget instruction)."""
    from solders.message import MessageV0, from_bytes_versioned, to_bytes_versioned
    from solders.pubkey import Pubkey
    from solders.system_program import ID as SYSTEM_PROGRAM

    payload = bytes.fromhex(tx.payload)
    message = from_bytes_versioned(payload)
    if not isinstance(message, MessageV0) or to_bytes_versioned(message) != payload:
        raise _refuse("not a canonical v0 message")
    keys = list(message.account_keys)
    if message.header.num_required_signatures != 1 or keys[0] != Pubkey.from_bytes(wallet_key):
        raise _refuse("the wallet is not the fee payer and only signer")
    if list(message.address_table_lookups):
        raise _refuse("a transfer uses no address lookup table")
    instructions = list(message.instructions)
    if len(instructions) != 1:
        raise _refuse("a transfer is exactly one instruction")
    instruction = instructions[0]
    accounts = list(instruction.accounts)
    if keys[instruction.program_id_index] != SYSTEM_PROGRAM or len(accounts) != 2:
        raise _refuse("the instruction is not a system transfer")
    if bytes(instruction.data) != struct.pack("<IQ", SYSTEM_TRANSFER, intent.amount):
        raise _refuse("the instruction does not transfer the authorized amount")
    if accounts[0] != 0 or keys[accounts[1]] != Pubkey.from_string(intent.to):
        raise _refuse("the transfer is not from the wallet to the recipient")
    return [payload]


_FAMILY_DECODERS: Final[dict[str, TransferDecoder]] = {
    "evm": _evm_payloads,
    "bitcoin": _bitcoin_payloads,
    "solana": _solana_payloads,
}
