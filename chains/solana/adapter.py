"""The Solana adapter: native SOL transfers as v0 messages signed with Ed25519.

A transfer is one system-program Transfer instruction in a version-0 message
(https://solana.com/docs/core/transactions, SIMD-0003 message versions) with no address
lookup tables, the wallet as fee payer and only signer. Ed25519 signs the serialized
message itself, so the one signing payload is the message bytes; the transaction id is the
base58 fee-payer signature.
"""

from __future__ import annotations

from collections.abc import Sequence

from nacl.exceptions import BadSignatureError
from nacl.signing import VerifyKey
from solders.message import MessageV0, from_bytes_versioned, to_bytes_versioned
from solders.pubkey import Pubkey
from solders.signature import Signature
from solders.system_program import TransferParams, transfer
from solders.transaction import VersionedTransaction

from chains.config import ChainConfig
from chains.errors import (
    DustOutput,
    FeeTooHigh,
    InsufficientFunds,
    InvalidAddress,
    InvalidSignature,
    NotLocalNetwork,
    WrongChain,
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
from chains.solana.rpc import SolanaRpc

# A base58 string of 32 bytes is 32 to 44 characters long.
MAX_ADDRESS_LENGTH = 44
# A wallet account is a system account with no data; rent exemption is priced on that.
SYSTEM_ACCOUNT_DATA_LEN = 0


class SolanaChain(ChainAdapter):
    """Solana transfers (v0 system transfers) through ``rpc``."""

    # A system transfer's lamports field is a u64.
    max_amount = 2**64 - 1

    def __init__(self, config: ChainConfig, rpc: SolanaRpc) -> None:
        if config.family != "solana":
            raise WrongChain(f"{config.name} is a {config.family} chain, not a solana one")
        super().__init__(config)
        self.rpc = rpc

    # -- pure ------------------------------------------------------------------------

    def address(self, public_key: bytes) -> str:
        return str(self._pubkey(public_key))

    def _pubkey(self, public_key: bytes) -> Pubkey:
        if len(public_key) != 32:
            raise InvalidAddress(f"an Ed25519 key is 32 bytes, not {len(public_key)}")
        return Pubkey.from_bytes(public_key)

    def validate_address(self, address: str) -> str:
        # Any 32 bytes are an address: program-derived addresses are off the curve by
        # design and are valid recipients, so no curve check is made.
        if not isinstance(address, str) or len(address) > MAX_ADDRESS_LENGTH:
            raise InvalidAddress(f"not a Solana address: {address!r}")
        try:
            pubkey = Pubkey.from_string(address)
        except ValueError:
            raise InvalidAddress(
                f"not a Solana address (base58 of 32 bytes): {address!r}"
            ) from None
        canonical = str(pubkey)
        if canonical != address:
            raise InvalidAddress(f"not the canonical base58 spelling: {address!r}")
        return canonical

    def verify_signature(
        self, tx: UnsignedTransaction, payload: SigningPayload, signature: ChainSignature
    ) -> bool:
        # The fee payer signs the transaction's own message; a payload that differs from
        # it would sign something other than what assemble() sends.
        if payload.scheme != "ed25519" or payload.message != tx.payload:
            return False
        raw = bytes.fromhex(signature.signature)
        if len(raw) != 64:
            return False
        try:
            VerifyKey(bytes.fromhex(tx.public_key)).verify(bytes.fromhex(payload.message), raw)
        except (BadSignatureError, ValueError):
            return False
        return True

    def assemble(
        self, tx: UnsignedTransaction, signatures: Sequence[ChainSignature]
    ) -> SignedTransaction:
        if len(signatures) != 1 or len(bytes.fromhex(signatures[0].signature)) != 64:
            raise InvalidSignature("a Solana transfer takes one 64-byte Ed25519 signature")
        message = from_bytes_versioned(bytes.fromhex(tx.payload))
        signature = Signature.from_bytes(bytes.fromhex(signatures[0].signature))
        signed = VersionedTransaction.populate(message, [signature])
        return SignedTransaction(
            chain=self.name, raw_tx=bytes(signed).hex(), tx_hash=str(signature)
        )

    # -- talks to the node -----------------------------------------------------------

    async def build(self, intent: TransferIntent, public_key: bytes) -> UnsignedTransaction:
        to = self.check_intent(intent, public_key)
        sender = self._pubkey(public_key)
        recipient = Pubkey.from_string(to)
        recent = await self.rpc.latest_blockhash()
        message = MessageV0.try_compile(
            sender,
            [
                transfer(
                    TransferParams(from_pubkey=sender, to_pubkey=recipient, lamports=intent.amount)
                )
            ],
            [],
            recent.blockhash,
        )
        message_bytes = to_bytes_versioned(message)
        fee = await self.rpc.fee_for_message(message_bytes)
        rent_exempt = await self.rpc.minimum_balance_for_rent_exemption(SYSTEM_ACCOUNT_DATA_LEN)
        balance = await self.rpc.balance(sender)
        # The runtime refuses (InsufficientFundsForRent) to create an account below rent
        # exemption, after charging the fee: refuse before anything is signed. (The
        # recipient is never the sender: check_intent refused that, SelfTransfer.)
        received = await self.rpc.balance(recipient)
        if received == 0 and intent.amount < rent_exempt:
            raise DustOutput(
                f"{intent.amount} lamports would create {to} below the rent-exempt "
                f"minimum of {rent_exempt} lamports"
            )
        if intent.fee.max_fee is not None and fee > intent.fee.max_fee:
            raise FeeTooHigh(f"fee {fee} lamports exceeds the cap {intent.fee.max_fee}")
        if intent.amount + fee > balance:
            raise InsufficientFunds(
                f"{intent.amount} + fee {fee} lamports exceeds the balance {balance}"
            )
        remaining = balance - fee - intent.amount
        if 0 < remaining < rent_exempt:
            # The same rent rule on the sender's side: an account may be emptied to zero
            # (closing it) or keep at least the rent-exempt minimum, nothing in between.
            # It is DustOutput, not InsufficientFunds: sending less, or everything
            # (balance - fee), is accepted; the wallet is not short of funds.
            raise DustOutput(
                f"the transfer would leave {remaining} lamports in {sender}, below the "
                f"rent-exempt minimum of {rent_exempt}; send at most {balance - fee - rent_exempt}"
                f" or exactly {balance - fee} to empty the account"
            )
        details: dict[str, str | int] = {
            "blockhash": str(recent.blockhash),
            "fee": fee,
            "rent_exempt_minimum": rent_exempt,
        }
        if recent.last_valid is not None:
            details["last_valid_block_height"] = recent.last_valid
        return UnsignedTransaction(
            chain=self.name,
            public_key=public_key.hex(),
            from_address=str(sender),
            to=to,
            amount=intent.amount,
            fee=fee,
            payload=message_bytes.hex(),
            signing_payloads=(SigningPayload(message=message_bytes.hex(), scheme="ed25519"),),
            details=details,
        )

    async def broadcast(self, tx: SignedTransaction) -> str:
        self.check_chain(tx.chain)
        return await self.rpc.send_raw(bytes.fromhex(tx.raw_tx))

    async def status(self, tx_hash: str) -> TxStatus:
        found = await self.rpc.signature_status(tx_hash)
        if found is None:
            return TxStatus(tx_hash=tx_hash, status="unknown", confirmations=0)
        return self.mined_status(
            tx_hash, found.confirmations, found.slot, failed=found.err is not None
        )

    async def balance(self, address: str) -> int:
        return await self.rpc.balance(Pubkey.from_string(self.validate_address(address)))

    # -- local development only ------------------------------------------------------

    async def fund(self, address: str, amount: int) -> None:
        if not self.config.local:
            raise NotLocalNetwork(f"{self.name} is not a local network; it has no faucet")
        self.check_amount(amount)
        await self.rpc.airdrop(Pubkey.from_string(self.validate_address(address)), amount)

    async def advance(self, blocks: int = 1) -> None:
        if not self.config.local:
            raise NotLocalNetwork(f"{self.name} is not a local network; slots pass on their own")
        await self.rpc.advance(blocks)

    async def close(self) -> None:
        await self.rpc.close()
