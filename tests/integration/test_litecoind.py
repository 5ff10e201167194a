"""The Bitcoin adapter against a real node: litecoind 0.21 (a Bitcoin Core fork with
segwit and taproot active from genesis on regtest) through CoreRpc.

litecoind comes from Debian (``apt-get install litecoind``; Debian has no bitcoind); a
session fixture installs it when missing, under a file lock so pytest-xdist workers do not
race apt. Each test gets its own fresh regtest node (temporary datadir, free ports, a
wallet with 101 mined blocks): the contract's signers are deterministic, so a shared chain
would carry one test's balances into the next, and a node starts in well under a second.
If litecoind cannot be installed or started the tests fail; they never skip.
"""

from __future__ import annotations

import base64
import fcntl
import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import pytest

from chains.bitcoin.adapter import BitcoinChain
from chains.bitcoin.address import encode_segwit
from chains.bitcoin.core_rpc import CoreRpc, NodeError
from chains.bitcoin.network import network_params
from chains.bitcoin.transaction import Transaction
from chains.config import BitcoinOutput, ChainConfig
from chains.errors import BroadcastRejected
from chains.models import TransferIntent
from tests.chains.contract import ChainAdapterContract
from tests.chains.signers import signer_for
from tests.chains.test_bitcoin import flip_witness_bit, verify_independently

INSTALL_LOCK = Path(tempfile.gettempdir()) / "quorate-litecoind-install.lock"
RPC_USER = "quorate"
RPC_PASSWORD = "regtest-only"  # noqa: S105 -- a throwaway regtest node bound to 127.0.0.1
STARTUP_TIMEOUT = 60.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="session")
def litecoind() -> str:
    """The litecoind binary, installed with apt-get when missing (once across workers)."""
    with INSTALL_LOCK.open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            found = shutil.which("litecoind")
            if found is None:
                env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
                command = ["apt-get", "install", "-y", "--no-install-recommends", "litecoind"]
                result = subprocess.run(command, env=env, capture_output=True, text=True)  # noqa: S603
                if result.returncode != 0:  # a stale package list: refresh it once
                    subprocess.run(["apt-get", "update"], env=env, capture_output=True)  # noqa: S607
                    result = subprocess.run(command, env=env, capture_output=True, text=True)  # noqa: S603
                found = shutil.which("litecoind")
                if found is None:
                    pytest.fail(
                        "litecoind is not installed and apt-get could not install it:\n"
                        + result.stdout[-2000:]
                        + result.stderr[-2000:]
                    )
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    return found


@dataclass
class LitecoinNode:
    url: str
    process: subprocess.Popen[bytes]
    log: Path

    def call(self, method: str, *params: Any) -> Any:
        """A synchronous JSON-RPC call (fixture setup only)."""
        request = urllib.request.Request(  # noqa: S310 -- our own node on 127.0.0.1
            self.url,
            data=json.dumps({"id": 1, "method": method, "params": params}).encode(),
            headers={
                "Authorization": "Basic "
                + base64.b64encode(f"{RPC_USER}:{RPC_PASSWORD}".encode()).decode(),
                "Content-Type": "application/json",
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
                answer = json.loads(response.read())
        except urllib.error.HTTPError as error:
            answer = json.loads(error.read())
        if answer.get("error"):
            raise RuntimeError(f"{method}: {answer['error']}")
        return answer["result"]


@pytest.fixture
def node(litecoind: str, tmp_path: Path) -> Iterator[LitecoinNode]:
    datadir = tmp_path / "litecoind"
    datadir.mkdir()
    rpc_port = free_port()
    log = datadir / "stdout.log"
    with log.open("wb") as out:
        process = subprocess.Popen(  # noqa: S603
            [
                litecoind,
                "-regtest",
                f"-datadir={datadir}",
                "-server",
                "-txindex",
                "-fallbackfee=0.0002",
                "-keypool=10",  # a thousand-key pool makes createwallet take seconds
                "-listen=0",
                f"-port={free_port()}",
                f"-rpcport={rpc_port}",
                "-rpcbind=127.0.0.1",
                "-rpcallowip=127.0.0.1",
                f"-rpcuser={RPC_USER}",
                f"-rpcpassword={RPC_PASSWORD}",
                "-printtoconsole=1",
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    running = LitecoinNode(f"http://127.0.0.1:{rpc_port}/", process, log)
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while True:
            if process.poll() is not None:
                pytest.fail(
                    f"litecoind exited with {process.returncode}:\n{log.read_text()[-3000:]}"
                )
            try:
                running.call("getblockchaininfo")
                break
            except (OSError, RuntimeError, ValueError):  # refused, or -28 while warming up
                if time.monotonic() > deadline:
                    pytest.fail(f"litecoind did not answer RPC:\n{log.read_text()[-3000:]}")
                time.sleep(0.1)
        running.call("createwallet", "quorate")
        running.call("generatetoaddress", 101, running.call("getnewaddress"))
        yield running
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def litecoin_config(output: BitcoinOutput) -> ChainConfig:
    return ChainConfig(
        name=f"litecoin-{output}",
        family="bitcoin",
        network="litecoin-regtest",
        output=output,
        node="http://127.0.0.1/",  # the fixture hands the adapter its node's URL
        # A regtest node on loopback: funding and mining are allowed (said, not assumed).
        local=True,
        symbol="LTC",
        decimals=8,
        confirmations=2,
    )


def core_adapter(node: LitecoinNode, output: BitcoinOutput) -> BitcoinChain:
    url = node.url.replace("http://", f"http://{RPC_USER}:{RPC_PASSWORD}@")
    rpc = CoreRpc(url, network_params("litecoin-regtest"))
    return BitcoinChain(litecoin_config(output), rpc)


class LitecoindContract(ChainAdapterContract):
    output: ClassVar[BitcoinOutput]
    fund_amount = 1_000_000
    transfer_amount = 100_000
    foreign_addresses = (
        encode_segwit("bcrt", 0, bytes(range(20))),  # bitcoin regtest
        "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4",  # bitcoin mainnet
        "tb1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3q0sl5k7",  # testnet
        "0x" + "ab" * 20,
    )

    @pytest.fixture
    async def adapter(self, node: LitecoinNode) -> AsyncIterator[BitcoinChain]:
        chain = core_adapter(node, self.output)
        yield chain
        await chain.close()

    async def test_node_refuses_a_flipped_signature_bit(
        self, adapter: BitcoinChain, node: LitecoinNode
    ) -> None:
        sender = signer_for(adapter.scheme, "sender")
        recipient = adapter.address(signer_for(adapter.scheme, "recipient").public_key)
        await self._funded(adapter, sender)
        tx = await adapter.build(
            TransferIntent(chain=adapter.name, to=recipient, amount=50_000), sender.public_key
        )
        signed = adapter.attach(tx, [sender.sign(p) for p in tx.signing_payloads])
        raw = bytes.fromhex(signed.raw_tx)
        assert verify_independently(raw, tx.prevouts) == [(True, True)] * len(tx.prevouts)
        tampered = flip_witness_bit(raw, 0)
        assert isinstance(adapter.rpc, CoreRpc)
        with pytest.raises(NodeError) as refused:
            await adapter.rpc.call("sendrawtransaction", tampered.hex())
        assert refused.value.code == -26
        assert "script-verify-flag" in refused.value.message
        with pytest.raises(BroadcastRejected, match="script-verify-flag"):
            await adapter.broadcast(signed.model_copy(update={"raw_tx": tampered.hex()}))
        # The untampered one is accepted and mined; the node's view matches ours.
        assert await adapter.broadcast(signed) == signed.tx_hash
        await adapter.advance(2)
        mined = await adapter.rpc.call("getrawtransaction", signed.tx_hash, True)
        assert mined["confirmations"] == 2
        assert mined["hash"] == Transaction.parse(raw).wtxid


class TestLitecoindP2wpkh(LitecoindContract):
    output = "p2wpkh"
    dust_amount = 2939  # litecoind's P2WPKH dust limit is 2940 (measured)


class TestLitecoindP2tr(LitecoindContract):
    output = "p2tr"
    dust_amount = 3299  # litecoind's P2TR dust limit is 3300 (measured)


async def test_both_output_types_pay_each_other(node: LitecoinNode) -> None:
    """A P2WPKH wallet pays a P2TR wallet, which pays back: both spends mined."""
    segwit = core_adapter(node, "p2wpkh")
    taproot = core_adapter(node, "p2tr")
    alice = signer_for("ecdsa-secp256k1", "alice")
    bob = signer_for("bip340", "bob")
    try:
        await segwit.fund(segwit.address(alice.public_key), 500_000)
        await segwit.advance(1)
        hops = (
            (segwit, alice, taproot.address(bob.public_key), 200_000),
            (taproot, bob, segwit.address(alice.public_key), 100_000),
        )
        for chain, signer, to, amount in hops:
            tx = await chain.build(
                TransferIntent(chain=chain.name, to=to, amount=amount), signer.public_key
            )
            signed = chain.attach(tx, [signer.sign(p) for p in tx.signing_payloads])
            await chain.broadcast(signed)
            await chain.advance(2)
            assert (await chain.status(signed.tx_hash)).status == "confirmed"
        assert await taproot.balance(taproot.address(bob.public_key)) < 100_000
    finally:
        await segwit.close()
        await taproot.close()
