"""What a party checks of a transaction on the in-memory fake chain (chains/fake.py).

The fake chain's unsigned transaction is canonical JSON (from, to, amount, fee, nonce) and
its one signing payload the SHA-256 of it; a party decodes it the way it decodes a real
family's transaction (runtime.authorization): the wallet pays the intent's recipient the
intent's amount, within its fee cap. Only tests configure fake chains, so only tests give
the parties this decoder (``start_system(decoders=...)``).
"""

from __future__ import annotations

import hashlib
import json

from chains.config import ChainConfig
from chains.fake import FakeChain
from chains.models import TransferIntent, UnsignedTransaction
from runtime.authorization import Unauthorized


def fake_transfer_payloads(
    config: ChainConfig, intent: TransferIntent, tx: UnsignedTransaction, wallet_key: bytes
) -> list[bytes]:
    payload = bytes.fromhex(tx.payload)
    body = json.loads(payload)
    chain = FakeChain(config)
    if body["from"] != chain.address(wallet_key):
        raise Unauthorized("wrong-transaction", "the transaction is not from the wallet")
    if body["to"] != chain.validate_address(intent.to) or body["amount"] != intent.amount:
        raise Unauthorized("wrong-transaction", "the transaction pays another transfer")
    if intent.fee.max_fee is not None and body["fee"] > intent.fee.max_fee:
        raise Unauthorized("wrong-transaction", "the fee exceeds the authorized cap")
    return [hashlib.sha256(payload).digest()]
