"""What crosses the chain port: transfer intents, unsigned and signed transactions.

These models cross Temporal (the build activity's result is in the workflow history), so
they are pydantic and hold only public data. Amounts are integers in the chain's base unit
(wei, satoshi, lamports). Byte strings travel as lowercase hex.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from common.types import Hex, Scheme

ChainName = Annotated[
    str, StringConstraints(min_length=1, max_length=64, pattern=r"^[a-z0-9][a-z0-9-]*$")
]
Family = Literal["evm", "bitcoin", "solana"]
TxState = Literal["unknown", "pending", "confirmed", "failed"]


class ChainModel(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class FeePolicy(ChainModel):
    """How much fee to offer: a speed, and optionally a cap on the total fee."""

    speed: Literal["slow", "standard", "fast"] = "standard"
    # Refuse to build (FeeTooHigh) when the estimated total fee exceeds this, in base units.
    max_fee: int | None = Field(default=None, ge=0)


class TransferIntent(ChainModel):
    """Move ``amount`` base units of ``asset`` from the wallet to ``to`` on ``chain``."""

    chain: ChainName
    to: str = Field(min_length=1, max_length=128)
    amount: int = Field(gt=0)
    asset: Literal["native"] = "native"
    fee: FeePolicy = FeePolicy()


class SigningPayload(ChainModel):
    """One message a ceremony must sign, and the scheme it must be signed with.

    ECDSA and BIP340 sign a 32-byte digest (the sighash or the EIP-1559 signing hash);
    Ed25519 signs the message bytes themselves (a Solana message).
    """

    message: Hex
    scheme: Scheme
    # BIP341 script-tree root for a taproot input; none for a key-path-only output.
    taproot_merkle_root: Hex | None = None


class Prevout(ChainModel):
    """A Bitcoin output a transaction spends (what BIP143/BIP341 sighashes commit to)."""

    txid: Hex
    vout: int = Field(ge=0)
    script_pubkey: Hex
    amount: int = Field(ge=0)


class UnsignedTransaction(ChainModel):
    """A transaction built for one wallet key, ready to be signed."""

    chain: ChainName
    public_key: Hex
    from_address: str
    to: str
    amount: int
    fee: int
    # The chain's own encoding of the unsigned transaction (EVM: the type-2 RLP payload
    # without signature; Bitcoin: the transaction without witnesses; Solana: the message).
    payload: Hex
    signing_payloads: tuple[SigningPayload, ...] = Field(min_length=1)
    prevouts: tuple[Prevout, ...] = ()
    # Chain details worth showing (nonce, gas, blockhash, change); never secret.
    details: dict[str, str | int] = Field(default_factory=dict)


class ChainSignature(ChainModel):
    """A signature from a ceremony, for one signing payload (64 bytes)."""

    signature: Hex
    # ECDSA only: the recovery id (0..3) of r || s; the EVM y-parity comes from it.
    recovery_id: int | None = Field(default=None, ge=0, le=3)


class SignedTransaction(ChainModel):
    chain: ChainName
    raw_tx: Hex
    # The chain's own transaction id: 0x-prefixed hash (EVM), txid hex (Bitcoin),
    # base58 first signature (Solana).
    tx_hash: str


class TxStatus(ChainModel):
    tx_hash: str
    status: TxState
    confirmations: int = Field(ge=0)
    block: int | None = None
