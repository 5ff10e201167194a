"""The Solana adapter on LiteSVM passes the adapter contract, plus Solana's own rules:
v0 messages, rent exemption, blockhash expiry, and LiteSVM's own refusals."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from nacl.signing import VerifyKey
from solders.hash import Hash
from solders.keypair import Keypair
from solders.message import MessageV0
from solders.pubkey import Pubkey
from solders.transaction import VersionedTransaction

from chains.config import ChainConfig, ChainsConfig
from chains.errors import (
    BroadcastRejected,
    DustOutput,
    FeeTooHigh,
    InsufficientFunds,
    InvalidAddress,
    NotLocalNetwork,
    RpcError,
    UnknownChain,
)
from chains.models import FeePolicy
from chains.port import ChainAdapter
from chains.solana.adapter import SolanaChain
from chains.solana.embedded import LAMPORTS_PER_SIGNATURE, EmbeddedSolana
from chains.solana.factory import solana_adapter
from chains.solana.jsonrpc import JsonRpcSolana
from chains.solana.rpc import MAX_PROCESSING_AGE
from tests.chains.contract import ChainAdapterContract
from tests.chains.signers import LocalSigner, flip_bit

# LiteSVM's rent-exempt minimum for an account with no data (measured: 890_880 lamports).
RENT_EXEMPT = 890_880
SOL = 1_000_000_000

_B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"


def b58encode(raw: bytes) -> str:
    """Bitcoin-alphabet base58, written here independently of solders."""
    number = int.from_bytes(raw, "big")
    body = ""
    while number:
        number, digit = divmod(number, 58)
        body = _B58[digit] + body
    return "1" * (len(raw) - len(raw.lstrip(b"\0"))) + body


def solana_config(**overrides: Any) -> ChainConfig:
    return ChainsConfig.load().get("solana").model_copy(update=overrides)


class TestSolanaChain(ChainAdapterContract):
    fund_amount = SOL // 10
    transfer_amount = 2_000_000
    dust_amount = RENT_EXEMPT - 1
    foreign_addresses = (
        "0x52908400098527886E0F7030069857D2E4169EE7",  # EVM
        "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq",  # bitcoin bech32
        "bcrt1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqc8gma6",  # taproot
        b58encode(b"\x07" * 31),  # base58, one byte short
        b58encode(b"\x07" * 33),  # base58, one byte long
    )
    malformed_addresses = (
        *ChainAdapterContract.malformed_addresses,
        "1" * 32 + "O",  # not in the base58 alphabet
        " " + b58encode(b"\x07" * 32),
    )

    @pytest.fixture
    async def adapter(self) -> AsyncIterator[ChainAdapter]:
        chain = solana_adapter(ChainsConfig.load().get("solana"))
        assert isinstance(chain.rpc, EmbeddedSolana)
        yield chain
        await chain.close()

    # -- encoding ------------------------------------------------------------------------

    async def test_raw_transaction_is_v0_and_verifies_with_libsodium(
        self, adapter: ChainAdapter, sender: LocalSigner, recipient: str
    ) -> None:
        tx = await self._built(adapter, sender, recipient)
        assert tx.fee == LAMPORTS_PER_SIGNATURE
        assert tx.details["blockhash"]
        signed = self._signed(adapter, sender, tx)
        decoded = VersionedTransaction.from_bytes(bytes.fromhex(signed.raw_tx))
        assert isinstance(decoded.message, MessageV0)
        assert decoded.message.address_table_lookups == []
        assert str(decoded.message.account_keys[0]) == tx.from_address
        assert str(decoded.message.recent_blockhash) == tx.details["blockhash"]
        message = bytes.fromhex(tx.signing_payloads[0].message)
        assert message[0] == 0x80  # the v0 version prefix
        assert message == bytes.fromhex(tx.payload)
        VerifyKey(sender.public_key).verify(message, bytes(decoded.signatures[0]))
        assert str(decoded.signatures[0]) == signed.tx_hash
        assert decoded.verify_with_results() == [True]

    async def test_fee_is_what_the_engine_charges(
        self, adapter: ChainAdapter, sender: LocalSigner, recipient: str
    ) -> None:
        source = adapter.address(sender.public_key)
        tx = await self._built(adapter, sender, recipient)
        before = await adapter.balance(source)
        await adapter.broadcast(self._signed(adapter, sender, tx))
        assert await adapter.balance(source) == before - tx.amount - tx.fee

    async def test_addresses(self, adapter: ChainAdapter) -> None:
        key = Keypair.from_seed(bytes(range(32))).pubkey()
        assert adapter.address(bytes(key)) == str(key)
        assert adapter.validate_address(b58encode(bytes(32))) == "1" * 32
        # A program-derived address is off the curve by design and a valid recipient.
        pda, _ = Pubkey.find_program_address([b"vault"], Pubkey.from_string("1" * 32))
        assert not pda.is_on_curve()
        assert adapter.validate_address(str(pda)) == str(pda)
        with pytest.raises(InvalidAddress):
            adapter.address(b"\x02" + bytes(32))

    # -- rent exemption and fees ---------------------------------------------------------

    async def test_rent_exemption_is_measured(self, adapter: ChainAdapter) -> None:
        assert isinstance(adapter, SolanaChain)
        assert await adapter.rpc.minimum_balance_for_rent_exemption(0) == RENT_EXEMPT

    async def test_dust_to_an_existing_account_is_allowed(
        self, adapter: ChainAdapter, sender: LocalSigner, recipient: str
    ) -> None:
        await adapter.fund(recipient, RENT_EXEMPT)
        tx = await self._built(adapter, sender, recipient, amount=1)
        await adapter.broadcast(self._signed(adapter, sender, tx))
        assert await adapter.balance(recipient) == RENT_EXEMPT + 1

    async def test_sender_left_below_rent_exemption_is_refused(
        self, adapter: ChainAdapter, sender: LocalSigner, recipient: str
    ) -> None:
        source = await self._funded(adapter, sender)
        balance = await adapter.balance(source)
        too_much = balance - LAMPORTS_PER_SIGNATURE - RENT_EXEMPT + 1
        with pytest.raises(DustOutput, match="rent-exempt"):
            await adapter.build(self._intent(adapter, recipient, too_much), sender.public_key)
        # Emptying the account entirely is allowed: it is closed, not left below rent.
        everything = balance - LAMPORTS_PER_SIGNATURE
        tx = await adapter.build(self._intent(adapter, recipient, everything), sender.public_key)
        await adapter.broadcast(self._signed(adapter, sender, tx))
        assert await adapter.balance(source) == 0
        assert await adapter.balance(recipient) == everything

    async def test_fee_cap(
        self, adapter: ChainAdapter, sender: LocalSigner, recipient: str
    ) -> None:
        with pytest.raises(FeeTooHigh):
            await self._built(
                adapter, sender, recipient, fee=FeePolicy(max_fee=LAMPORTS_PER_SIGNATURE - 1)
            )
        tx = await self._built(
            adapter, sender, recipient, fee=FeePolicy(max_fee=LAMPORTS_PER_SIGNATURE)
        )
        assert tx.fee == LAMPORTS_PER_SIGNATURE

    async def test_fee_counts_against_the_balance(
        self, adapter: ChainAdapter, sender: LocalSigner, recipient: str
    ) -> None:
        source = await self._funded(adapter, sender)
        balance = await adapter.balance(source)
        with pytest.raises(InsufficientFunds):
            await adapter.build(self._intent(adapter, recipient, balance), sender.public_key)

    # -- blockhash lifetime --------------------------------------------------------------

    async def test_expired_blockhash_is_refused_by_the_engine(
        self, adapter: ChainAdapter, sender: LocalSigner, recipient: str
    ) -> None:
        # A transaction signed over a blockhash older than MAX_PROCESSING_AGE slots can
        # never land. That matters to the workflow: a ceremony that finishes too late has
        # produced a dead transaction, which must be rebuilt (new blockhash, new message)
        # and signed again; the workflow makes sure one request is never signed twice
        # while an earlier signature could still land.
        assert isinstance(adapter, SolanaChain)
        source = adapter.address(sender.public_key)
        tx = await self._built(adapter, sender, recipient)
        last_valid = await adapter.rpc.slot() + MAX_PROCESSING_AGE
        assert tx.details["last_valid_block_height"] == last_valid
        signed = self._signed(adapter, sender, tx)
        before = await adapter.balance(source)
        await adapter.advance(MAX_PROCESSING_AGE + 1)
        with pytest.raises(BroadcastRejected, match="BlockhashNotFound"):
            await adapter.broadcast(signed)
        assert await adapter.balance(source) == before
        assert (await adapter.status(signed.tx_hash)).status == "unknown"
        rebuilt = await adapter.build(self._intent(adapter, recipient), sender.public_key)
        assert rebuilt.details["blockhash"] != tx.details["blockhash"]
        again = self._signed(adapter, sender, rebuilt)
        assert await adapter.broadcast(again) == again.tx_hash
        assert await adapter.balance(recipient) == self.transfer_amount

    async def test_blockhash_lives_for_its_full_age(
        self, adapter: ChainAdapter, sender: LocalSigner, recipient: str
    ) -> None:
        tx = await self._built(adapter, sender, recipient)
        signed = self._signed(adapter, sender, tx)
        await adapter.advance(MAX_PROCESSING_AGE)
        assert await adapter.broadcast(signed) == signed.tx_hash
        status = await adapter.status(signed.tx_hash)
        assert (status.status, status.confirmations) == ("confirmed", 1)

    # -- the engine's own refusals -------------------------------------------------------

    async def test_litesvm_names_the_signature_failure(
        self, adapter: ChainAdapter, sender: LocalSigner, recipient: str
    ) -> None:
        tx = await self._built(adapter, sender, recipient)
        signature = sender.sign(tx.signing_payloads[0])
        for bit in (3, 300):
            tampered = adapter.assemble(tx, [flip_bit(signature, bit)])
            with pytest.raises(BroadcastRejected, match="SignatureFailure"):
                await adapter.broadcast(tampered)
            assert (await adapter.status(tampered.tx_hash)).status == "unknown"

    async def test_a_transaction_failing_in_execution_is_failed(
        self, adapter: ChainAdapter, sender: LocalSigner, recipient: str
    ) -> None:
        # Built while funds suffice, sent after another transfer spent them: it lands,
        # pays its fee, and fails in the system program, as it would on a cluster without
        # preflight.
        source = adapter.address(sender.public_key)
        late = await self._built(adapter, sender, recipient)
        balance = await adapter.balance(source)
        drain = balance - LAMPORTS_PER_SIGNATURE - RENT_EXEMPT - 10_000
        first = await adapter.build(self._intent(adapter, recipient, drain), sender.public_key)
        await adapter.broadcast(self._signed(adapter, sender, first))
        signed = self._signed(adapter, sender, late)
        with pytest.raises(BroadcastRejected, match="insufficient lamports"):
            await adapter.broadcast(signed)
        status = await adapter.status(signed.tx_hash)
        assert status.status == "failed"
        assert await adapter.balance(source) == RENT_EXEMPT + 10_000 - LAMPORTS_PER_SIGNATURE
        # Sending it again reports the same transaction rather than a new refusal.
        assert await adapter.broadcast(signed) == signed.tx_hash

    async def test_pending_until_enough_confirmations(
        self, sender: LocalSigner, recipient: str
    ) -> None:
        chain = SolanaChain(solana_config(confirmations=3), EmbeddedSolana())
        tx = await self._built(chain, sender, recipient)
        tx_hash = await chain.broadcast(self._signed(chain, sender, tx))
        seen = []
        for _ in range(3):
            status = await chain.status(tx_hash)
            seen.append((status.status, status.confirmations))
            await chain.advance(1)
        assert seen == [("pending", 1), ("pending", 2), ("confirmed", 3)]

    async def test_repeated_funding_adds_up(self, adapter: ChainAdapter, recipient: str) -> None:
        for _ in range(3):
            await adapter.fund(recipient, SOL)
        assert await adapter.balance(recipient) == 3 * SOL


# -- the factory ---------------------------------------------------------------------------


async def test_factory_picks_the_node() -> None:
    remote = solana_adapter(solana_config(node="http://127.0.0.1:8899", local=False))
    assert isinstance(remote.rpc, JsonRpcSolana)
    with pytest.raises(NotLocalNetwork):
        await remote.fund("1" * 32, 1)
    with pytest.raises(NotLocalNetwork):
        await remote.advance(1)
    await remote.close()
    with pytest.raises(UnknownChain):
        solana_adapter(ChainsConfig.load().get("ethereum"))


# -- JSON-RPC request/response mapping (no Solana validator on this machine) ---------------


class FakeNode:
    """A loopback HTTP server answering canned JSON-RPC results, recording the requests."""

    def __init__(self) -> None:
        self.answers: dict[str, dict[str, Any]] = {}
        self.requests: list[dict[str, Any]] = []

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.requests.append(body)
        answer = {"jsonrpc": "2.0", "id": body["id"], **self.answers[body["method"]]}
        return web.Response(text=json.dumps(answer), content_type="application/json")


@pytest.fixture
async def node() -> AsyncIterator[tuple[FakeNode, JsonRpcSolana]]:
    fake = FakeNode()
    app = web.Application()
    app.router.add_post("/", fake.handle)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    rpc = JsonRpcSolana(str(server.make_url("/")), local=True, poll_interval=0.01, timeout=5)
    yield fake, rpc
    await rpc.close()
    await server.close()


def _signed_raw() -> tuple[bytes, str]:
    payer = Keypair.from_seed(bytes(32))
    message = MessageV0.try_compile(payer.pubkey(), [], [], Hash.default())
    tx = VersionedTransaction(message, [payer])
    return bytes(tx), str(tx.signatures[0])


def _value(value: Any) -> dict[str, Any]:
    return {"result": {"context": {"slot": 7}, "value": value}}


async def test_jsonrpc_reads(node: tuple[FakeNode, JsonRpcSolana]) -> None:
    fake, rpc = node
    blockhash = Hash.new_unique()
    fake.answers = {
        "getLatestBlockhash": _value({"blockhash": str(blockhash), "lastValidBlockHeight": 3090}),
        "getBalance": _value(42),
        "getMinimumBalanceForRentExemption": {"result": RENT_EXEMPT},
        "getFeeForMessage": _value(5000),
        "getSlot": {"result": 2940},
    }
    assert await rpc.latest_blockhash() == (blockhash, 3090)
    key = Keypair.from_seed(bytes(32)).pubkey()
    assert await rpc.balance(key) == 42
    assert await rpc.minimum_balance_for_rent_exemption(0) == RENT_EXEMPT
    assert await rpc.fee_for_message(b"\x80\x01") == 5000
    assert await rpc.slot() == 2940
    methods = [(r["method"], r["params"]) for r in fake.requests]
    assert methods == [
        ("getLatestBlockhash", [{"commitment": "confirmed"}]),
        ("getBalance", [str(key), {"commitment": "confirmed"}]),
        ("getMinimumBalanceForRentExemption", [0]),
        ("getFeeForMessage", ["gAE=", {"commitment": "confirmed"}]),
        ("getSlot", [{"commitment": "confirmed"}]),
    ]
    assert {r["jsonrpc"] for r in fake.requests} == {"2.0"}
    fake.answers["getFeeForMessage"] = _value(None)
    with pytest.raises(RpcError, match="blockhash"):
        await rpc.fee_for_message(b"\x80\x01")


async def test_jsonrpc_send(node: tuple[FakeNode, JsonRpcSolana]) -> None:
    fake, rpc = node
    raw, signature = _signed_raw()
    fake.answers["sendTransaction"] = {"result": signature}
    assert await rpc.send_raw(raw) == signature
    sent, options = fake.requests[-1]["params"]
    assert base64.b64decode(sent) == raw
    assert options == {"encoding": "base64", "preflightCommitment": "confirmed"}
    # An already processed transaction is the same transaction: its signature, no error.
    fake.answers["sendTransaction"] = {
        "error": {
            "code": -32002,
            "message": "Transaction simulation failed: This transaction has already been processed",
            "data": {"err": "AlreadyProcessed", "logs": []},
        }
    }
    assert await rpc.send_raw(raw) == signature
    fake.answers["sendTransaction"] = {
        "error": {
            "code": -32002,
            "message": "Transaction simulation failed: Blockhash not found",
            "data": {"err": "BlockhashNotFound", "logs": ["log line"]},
        }
    }
    with pytest.raises(BroadcastRejected, match=r"BlockhashNotFound.*log line"):
        await rpc.send_raw(raw)
    fake.answers["sendTransaction"] = {
        "error": {"code": -32003, "message": "Transaction signature verification failure"}
    }
    with pytest.raises(BroadcastRejected, match="signature verification"):
        await rpc.send_raw(raw)
    # A node that is behind is an infrastructure error: retryable, not a refusal.
    fake.answers["sendTransaction"] = {"error": {"code": -32005, "message": "Node is behind"}}
    with pytest.raises(RpcError) as raised:
        await rpc.send_raw(raw)
    assert not isinstance(raised.value, BroadcastRejected)
    with pytest.raises(BroadcastRejected):
        await rpc.send_raw(b"\x01garbage")


async def test_jsonrpc_signature_status(node: tuple[FakeNode, JsonRpcSolana]) -> None:
    fake, rpc = node
    fake.answers["getSignatureStatuses"] = _value([None])
    assert await rpc.signature_status("sig") is None
    assert fake.requests[-1]["params"] == [["sig"], {"searchTransactionHistory": True}]
    fake.answers["getSignatureStatuses"] = _value(
        [{"slot": 100, "confirmations": 4, "err": None, "confirmationStatus": "confirmed"}]
    )
    assert await rpc.signature_status("sig") == (100, 4, None)
    # Rooted: confirmations is null; they are counted from the current slot.
    fake.answers["getSignatureStatuses"] = _value(
        [
            {
                "slot": 100,
                "confirmations": None,
                "err": {"InstructionError": [0, {"Custom": 1}]},
                "confirmationStatus": "finalized",
            }
        ]
    )
    fake.answers["getSlot"] = {"result": 139}
    status = await rpc.signature_status("sig")
    assert status is not None
    assert status.confirmations == 40
    assert status.err is not None
    assert "InstructionError" in status.err


async def test_jsonrpc_dev_calls(node: tuple[FakeNode, JsonRpcSolana]) -> None:
    fake, rpc = node
    fake.answers = {
        "requestAirdrop": {"result": "airdropsig"},
        "getSignatureStatuses": _value(
            [{"slot": 5, "confirmations": 0, "err": None, "confirmationStatus": "processed"}]
        ),
        "getSlot": {"result": 10},
    }
    key = Keypair.from_seed(bytes(32)).pubkey()
    await rpc.airdrop(key, SOL)
    assert fake.requests[0]["params"] == [str(key), SOL]
    await rpc.advance(0)
    fake.answers["getSlot"] = {"error": {"code": -32000, "message": "boom"}}
    with pytest.raises(RpcError, match="boom"):
        await rpc.slot()
