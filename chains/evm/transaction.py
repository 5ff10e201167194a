"""EIP-1559 transactions in their EIP-2718 envelope: the bytes we sign and send.

EIP-1559 §Specification: a type-2 transaction is
``0x02 || rlp([chain_id, nonce, max_priority_fee_per_gas, max_fee_per_gas, gas_limit,
destination, amount, data, access_list, signature_y_parity, signature_r, signature_s])``
and its signature is over ``keccak256(0x02 || rlp([...the first nine fields...]))``.
The transaction hash is keccak256 of the whole signed envelope (EIP-2718 §Transactions).
RLP is the ``rlp`` package (pyrlp) and Keccak-256 is ``eth_utils.keccak``, never our own.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

import rlp
from eth_utils.crypto import keccak
from rlp.exceptions import DecodingError

TYPE_EIP1559 = 0x02
# EIP-2718: a first byte in [0, 0x7f] is a transaction type; a legacy transaction is an
# RLP list, whose first byte is at least 0xc0.
MAX_TRANSACTION_TYPE = 0x7F
UINT256_LIMIT = 2**256


class TransactionDecodeError(ValueError):
    """Bytes that are not a transaction this module understands."""


@dataclass(frozen=True, slots=True)
class DynamicFeeTransaction:
    """The unsigned fields of an EIP-1559 transaction carrying no data or access list."""

    chain_id: int
    nonce: int
    max_priority_fee_per_gas: int
    max_fee_per_gas: int
    gas: int
    to: bytes
    value: int

    def fields(self) -> list[Any]:
        # data is empty and the access list (EIP-2930) is empty: a plain native transfer.
        return [
            self.chain_id,
            self.nonce,
            self.max_priority_fee_per_gas,
            self.max_fee_per_gas,
            self.gas,
            self.to,
            self.value,
            b"",
            [],
        ]

    def payload(self) -> bytes:
        """``0x02 || rlp([...])`` without a signature (EIP-1559 §Specification)."""
        return bytes([TYPE_EIP1559]) + cast(bytes, rlp.encode(self.fields()))


def signing_hash(payload: bytes) -> bytes:
    """The digest the signature covers: keccak256 of the unsigned envelope."""
    return keccak(payload)


def signed_envelope(payload: bytes, y_parity: int, r: int, s: int) -> bytes:
    """Append ``signature_y_parity, signature_r, signature_s`` to an unsigned type-2
    payload. The unsigned fields are decoded and re-encoded byte for byte (RLP decoding
    keeps each integer's minimal big-endian bytes), so the hash the signers saw is the
    hash of exactly these fields."""
    if not payload or payload[0] != TYPE_EIP1559:
        raise TransactionDecodeError("not an EIP-1559 (type 2) payload")
    fields = _decode_list(payload[1:])
    if len(fields) != 9:
        raise TransactionDecodeError(f"a type-2 payload has 9 fields, not {len(fields)}")
    return bytes([TYPE_EIP1559]) + cast(bytes, rlp.encode([*fields, y_parity, r, s]))


def transaction_hash(raw: bytes) -> str:
    return "0x" + keccak(raw).hex()


def transaction_chain_id(raw: bytes) -> int | None:
    """The chain id a signed transaction commits to; None for a legacy transaction
    without EIP-155 replay protection.

    Typed transactions (EIP-2930, EIP-1559, EIP-4844, EIP-7702) all carry ``chain_id`` as
    their first field. A legacy transaction carries it in ``v = chain_id * 2 + 35 + y``
    (EIP-155 §Specification); ``v`` of 27 or 28 means no chain id.
    """
    if not raw:
        raise TransactionDecodeError("empty transaction")
    if raw[0] <= MAX_TRANSACTION_TYPE:
        fields = _decode_list(raw[1:])
        if not fields or not isinstance(fields[0], bytes):
            raise TransactionDecodeError("a typed transaction starts with its chain id")
        return int.from_bytes(fields[0], "big")
    fields = _decode_list(raw)
    if len(fields) != 9 or not isinstance(fields[6], bytes):
        raise TransactionDecodeError("a legacy transaction has 9 fields")
    v = int.from_bytes(fields[6], "big")
    if v in (27, 28):
        return None
    if v < 35:
        raise TransactionDecodeError(f"invalid legacy v {v}")
    return (v - 35) // 2


def _decode_list(data: bytes) -> list[Any]:
    try:
        decoded = rlp.decode(data)
    except DecodingError as error:
        raise TransactionDecodeError(f"malformed RLP: {error}") from None
    if not isinstance(decoded, list):
        raise TransactionDecodeError("a transaction is an RLP list")
    return decoded
