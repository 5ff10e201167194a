"""A Solana cluster in process: LiteSVM (solders.litesvm), signature verification on.

LiteSVM executes transactions like a validator (system program, fees, rent, signature and
blockhash checks) but has no blocks: its clock stays at one slot until it is warped, and it
accepts only its single latest blockhash. This wrapper adds what the adapter needs on top:

- the slot each transaction landed at, so confirmations grow as slots pass;
- a new blockhash for each advance, as a cluster has a new one each slot (two identical
  transfers built in different slots are then different transactions, not duplicates);
- a blockhash stays usable for MAX_PROCESSING_AGE slots after it was produced, as on a
  cluster. LiteSVM itself knows only the latest one, so for a transaction whose blockhash
  is older but still within that age, its blockhash check is lifted for that one send;
  any other blockhash (expired, or never produced) meets LiteSVM's own check and its
  BlockhashNotFound refusal.
"""

from __future__ import annotations

from solders.account import Account
from solders.hash import Hash
from solders.litesvm import LiteSVM
from solders.pubkey import Pubkey
from solders.transaction import VersionedTransaction
from solders.transaction_metadata import FailedTransactionMetadata
from solders.transaction_status import TransactionErrorFieldless

from chains.errors import BroadcastRejected
from chains.solana.rpc import MAX_PROCESSING_AGE, RecentBlockhash, SignatureStatus, SolanaRpc

# LiteSVM's default fee structure: 5000 lamports per signature, no priority fee unless the
# transaction sets a compute-unit price (ours never does).
LAMPORTS_PER_SIGNATURE = 5_000


def _describe(failure: FailedTransactionMetadata) -> str:
    logs = failure.meta().logs()
    text = f"LiteSVM refused the transaction: {failure.err()}"
    return text + ("; logs: " + " | ".join(logs) if logs else "")


class EmbeddedSolana(SolanaRpc):
    def __init__(self, svm: LiteSVM | None = None) -> None:
        self._svm = svm if svm is not None else LiteSVM()
        if not self._svm.get_sigverify():
            raise ValueError("the embedded Solana engine must verify signatures")
        # Blockhashes produced while this engine ran -> the slot each was produced at.
        self._blockhashes: dict[Hash, int] = {self._svm.latest_blockhash(): self._current_slot()}
        # signature -> (slot it landed at, the engine's error if it failed after landing)
        self._landed: dict[str, tuple[int, str | None]] = {}

    def _current_slot(self) -> int:
        return int(self._svm.get_clock().slot)

    async def latest_blockhash(self) -> RecentBlockhash:
        latest = self._svm.latest_blockhash()
        return RecentBlockhash(latest, self._blockhashes[latest] + MAX_PROCESSING_AGE)

    def _still_valid_but_not_latest(self, blockhash: Hash) -> bool:
        produced = self._blockhashes.get(blockhash)
        return (
            produced is not None
            and blockhash != self._svm.latest_blockhash()
            and self._current_slot() <= produced + MAX_PROCESSING_AGE
        )

    async def balance(self, pubkey: Pubkey) -> int:
        return self._svm.get_balance(pubkey) or 0

    async def minimum_balance_for_rent_exemption(self, data_len: int) -> int:
        return self._svm.minimum_balance_for_rent_exemption(data_len)

    async def fee_for_message(self, message: bytes) -> int:
        # The first byte of a v0 message is the version prefix (0x80), then the header,
        # whose first byte is the number of required signatures; a legacy message starts
        # with the header itself.
        if not message:
            raise ValueError("an empty message has no fee")
        header = message[1:] if message[0] & 0x80 else message
        return LAMPORTS_PER_SIGNATURE * header[0]

    async def send_raw(self, raw_tx: bytes) -> str:
        try:
            tx = VersionedTransaction.from_bytes(raw_tx)
        except ValueError as error:
            raise BroadcastRejected(f"not a Solana transaction: {error}") from None
        if not tx.signatures:
            raise BroadcastRejected("the transaction carries no signature")
        signature = str(tx.signatures[0])
        if signature in self._landed:
            # Checked before the engine: after the blockhash expires, LiteSVM would answer
            # BlockhashNotFound rather than AlreadyProcessed.
            return signature
        if self._still_valid_but_not_latest(tx.message.recent_blockhash):
            self._svm.with_blockhash_check(False)
            try:
                result = self._svm.send_transaction(tx)
            finally:
                self._svm.with_blockhash_check(True)
        else:
            result = self._svm.send_transaction(tx)
        if isinstance(result, FailedTransactionMetadata):
            if result.err() == TransactionErrorFieldless.AlreadyProcessed:
                return signature
            if self._svm.get_transaction(tx.signatures[0]) is not None:
                # It landed and failed in execution: the fee is paid and the failure is on
                # the ledger, as on a real cluster; status() reports it as failed.
                self._landed[signature] = (self._current_slot(), str(result.err()))
            raise BroadcastRejected(_describe(result))
        self._landed[signature] = (self._current_slot(), None)
        return signature

    async def signature_status(self, signature: str) -> SignatureStatus | None:
        landed = self._landed.get(signature)
        if landed is None:
            return None
        slot, err = landed
        return SignatureStatus(slot, self._current_slot() - slot + 1, err)

    async def slot(self) -> int:
        return self._current_slot()

    async def airdrop(self, pubkey: Pubkey, lamports: int) -> None:
        result = self._svm.airdrop(pubkey, lamports)
        if not isinstance(result, FailedTransactionMetadata):
            return
        if result.err() != TransactionErrorFieldless.AlreadyProcessed:
            raise BroadcastRejected(_describe(result))
        # LiteSVM's airdrop is a transfer from its faucet account; the same amount to the
        # same address under the same blockhash is the same transaction, a duplicate. The
        # faucet then credits the account directly instead of expiring the blockhash
        # (which would invalidate every transaction built but not yet sent).
        account = self._svm.get_account(pubkey)
        if account is None:
            raise BroadcastRejected(_describe(result))
        self._svm.set_account(
            pubkey,
            Account(
                lamports=account.lamports + lamports,
                data=account.data,
                owner=account.owner,
                executable=account.executable,
                rent_epoch=account.rent_epoch,
            ),
        )

    async def advance(self, slots: int = 1) -> None:
        if slots < 0:
            raise ValueError("slots only move forward")
        if slots == 0:
            return
        now = self._current_slot() + slots
        self._svm.warp_to_slot(now)
        self._svm.expire_blockhash()
        self._blockhashes[self._svm.latest_blockhash()] = now
        # Forget blockhashes past their age: LiteSVM's own check then refuses them.
        self._blockhashes = {
            blockhash: produced
            for blockhash, produced in self._blockhashes.items()
            if now <= produced + MAX_PROCESSING_AGE
        }
