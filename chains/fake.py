"""An in-memory chain for fast unit tests: the whole port, no engine.

It behaves like a small account-based chain with a fixed fee: addresses are
``fake:<hex of the key's hash>``, a transaction's signing payload is the SHA-256 of its
canonical JSON, and signatures are verified with libsecp256k1 (ECDSA, BIP340 on the
BIP86-tweaked key) or libsodium (Ed25519). It passes the same contract suite as the real
adapters, so tests of the workflow layer can use it without a node.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field

from coincurve import PublicKey, PublicKeyXOnly
from nacl.exceptions import BadSignatureError
from nacl.signing import VerifyKey

from chains.config import ChainConfig
from chains.errors import (
    BroadcastRejected,
    DustOutput,
    FeeTooHigh,
    InsufficientFunds,
    InvalidAddress,
)
from chains.models import (
    ChainSignature,
    SignedTransaction,
    SigningPayload,
    TransferIntent,
    TxStatus,
    UnsignedTransaction,
)
from chains.port import ChainAdapter
from chains.taproot import taproot_output_key

FAKE_FEE = 1_000
FAKE_DUST = 546


@dataclass
class _Ledger:
    balances: dict[str, int] = field(default_factory=dict)
    nonces: dict[str, int] = field(default_factory=dict)
    mined: dict[str, int] = field(default_factory=dict)  # tx hash -> block height
    height: int = 0


class FakeChain(ChainAdapter):
    def __init__(self, config: ChainConfig) -> None:
        super().__init__(config)
        self._ledger = _Ledger()

    def address(self, public_key: bytes) -> str:
        return "fake:" + hashlib.sha256(public_key).hexdigest()[:40]

    def validate_address(self, address: str) -> str:
        prefix, _, body = address.partition(":")
        if prefix != "fake" or len(body) != 40:
            raise InvalidAddress(f"not a fake-chain address: {address!r}")
        try:
            bytes.fromhex(body)
        except ValueError:
            raise InvalidAddress(f"not a fake-chain address: {address!r}") from None
        return "fake:" + body.lower()

    async def build(self, intent: TransferIntent, public_key: bytes) -> UnsignedTransaction:
        to = self.check_intent(intent, public_key)
        sender = self.address(public_key)
        if intent.amount < FAKE_DUST:
            raise DustOutput(f"{intent.amount} is below the dust limit {FAKE_DUST}")
        if intent.fee.max_fee is not None and intent.fee.max_fee < FAKE_FEE:
            raise FeeTooHigh(f"fee {FAKE_FEE} exceeds the cap {intent.fee.max_fee}")
        balance = self._ledger.balances.get(sender, 0)
        if intent.amount + FAKE_FEE > balance:
            raise InsufficientFunds(f"{intent.amount} + fee {FAKE_FEE} exceeds balance {balance}")
        body = {
            "from": sender,
            "to": to,
            "amount": intent.amount,
            "fee": FAKE_FEE,
            "nonce": self._ledger.nonces.get(sender, 0),
        }
        payload = json.dumps(body, sort_keys=True).encode()
        return UnsignedTransaction(
            chain=self.name,
            public_key=public_key.hex(),
            from_address=sender,
            to=to,
            amount=intent.amount,
            fee=FAKE_FEE,
            payload=payload.hex(),
            signing_payloads=(
                SigningPayload(message=self._message(payload).hex(), scheme=self.scheme),
            ),
            details={"nonce": body["nonce"]},
        )

    def _message(self, payload: bytes) -> bytes:
        return hashlib.sha256(payload).digest()

    def verify_signature(
        self, tx: UnsignedTransaction, payload: SigningPayload, signature: ChainSignature
    ) -> bool:
        return self._valid(bytes.fromhex(tx.public_key), bytes.fromhex(payload.message), signature)

    def _valid(self, public_key: bytes, message: bytes, signature: ChainSignature) -> bool:
        raw = bytes.fromhex(signature.signature)
        if len(raw) != 64:
            return False
        if self.scheme == "ed25519":
            try:
                VerifyKey(public_key).verify(message, raw)
            except (BadSignatureError, ValueError):
                return False
            return True
        if self.scheme == "bip340":
            return bool(PublicKeyXOnly(taproot_output_key(public_key)).verify(raw, message))
        if signature.recovery_id is None:
            return False
        try:
            recovered = PublicKey.from_signature_and_message(
                raw + bytes([signature.recovery_id]), message, hasher=None
            )
        except ValueError:
            return False
        return bool(recovered.format() == PublicKey(public_key).format())

    def assemble(
        self, tx: UnsignedTransaction, signatures: Sequence[ChainSignature]
    ) -> SignedTransaction:
        raw = json.dumps(
            {
                "payload": tx.payload,
                "public_key": tx.public_key,
                "signature": signatures[0].signature,
                "recovery_id": signatures[0].recovery_id,
            },
            sort_keys=True,
        ).encode()
        return SignedTransaction(
            chain=self.name, raw_tx=raw.hex(), tx_hash=hashlib.sha256(raw).hexdigest()
        )

    async def broadcast(self, tx: SignedTransaction) -> str:
        raw = bytes.fromhex(tx.raw_tx)
        tx_hash = hashlib.sha256(raw).hexdigest()
        if tx_hash in self._ledger.mined:
            return tx_hash
        try:
            envelope = json.loads(raw)
            payload = bytes.fromhex(envelope["payload"])
            body = json.loads(payload)
            signature = ChainSignature(
                signature=envelope["signature"], recovery_id=envelope["recovery_id"]
            )
            valid = self._valid(
                bytes.fromhex(envelope["public_key"]), self._message(payload), signature
            )
        except (ValueError, KeyError, TypeError) as error:
            raise BroadcastRejected(f"fake chain refused the transaction: {error}") from None
        if not valid:
            raise BroadcastRejected("fake chain refused the transaction: bad signature")
        sender = body["from"]
        if self.address(bytes.fromhex(envelope["public_key"])) != sender:
            raise BroadcastRejected("the signing key does not own the sending address")
        if body["nonce"] != self._ledger.nonces.get(sender, 0):
            raise BroadcastRejected("nonce already used or in the future")
        cost = body["amount"] + body["fee"]
        if cost > self._ledger.balances.get(sender, 0):
            raise BroadcastRejected("insufficient funds")
        self._ledger.balances[sender] -= cost
        self._ledger.balances[body["to"]] = (
            self._ledger.balances.get(body["to"], 0) + body["amount"]
        )
        self._ledger.nonces[sender] = body["nonce"] + 1
        self._ledger.height += 1
        self._ledger.mined[tx_hash] = self._ledger.height
        return tx_hash

    async def status(self, tx_hash: str) -> TxStatus:
        block = self._ledger.mined.get(tx_hash)
        if block is None:
            return TxStatus(tx_hash=tx_hash, status="unknown", confirmations=0)
        depth = self._ledger.height - block + 1
        return self.mined_status(tx_hash, depth, block)

    async def balance(self, address: str) -> int:
        return self._ledger.balances.get(self.validate_address(address), 0)

    async def fund(self, address: str, amount: int) -> None:
        self.check_amount(amount)
        target = self.validate_address(address)
        self._ledger.balances[target] = self._ledger.balances.get(target, 0) + amount

    async def advance(self, blocks: int = 1) -> None:
        self._ledger.height += blocks
