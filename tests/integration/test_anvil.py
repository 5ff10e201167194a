"""The EVM adapter against a real node: anvil (Foundry 1.7.1) over JSON-RPC.

anvil is installed on first use from npm (``@foundry-rs/anvil-linux-amd64``, which ships
the release binary) into a cache outside the repository, and started once per test session
for chain ids 137 and 42161. Each test starts from the node's genesis state (an
``evm_snapshot`` taken at start-up, reverted before every test), as the contract expects
a fresh chain. There is no skip: without anvil these tests fail.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import socket
import subprocess
import time
import urllib.request
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from eth_account import Account

from chains.config import ChainConfig, ChainsConfig
from chains.errors import BroadcastRejected, ChainIdMismatch, RpcError
from chains.evm import EvmChain, JsonRpcEvm, evm_adapter
from chains.models import TransferIntent
from chains.port import ChainAdapter
from tests.chains.contract import ChainAdapterContract
from tests.chains.signers import signer_for

ANVIL_PACKAGE = "@foundry-rs/anvil-linux-amd64"
ANVIL_VERSION = "1.7.1"
ANVIL_CACHE = Path(
    os.environ.get("QUORATE_ANVIL_CACHE", Path.home() / ".cache" / "quorate" / "anvil")
)
ANVIL_CHAINS = ("polygon", "arbitrum")  # chain ids 137, 42161
STARTUP_SECONDS = 30.0
ETHER = 10**18


def anvil_binary(cache: Path = ANVIL_CACHE) -> Path:
    """The anvil binary of the pinned npm package, installed into ``cache`` if missing.

    pytest-xdist workers share the cache: an exclusive lock on a file beside it makes one
    worker install while the others wait, then find the binary in place.
    """
    cache.mkdir(parents=True, exist_ok=True)
    package = cache / "node_modules" / ANVIL_PACKAGE
    binary = package / "bin" / "anvil"
    with (cache / ".install.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            if not _installed(package):
                npm = shutil.which("npm")
                if npm is None:
                    raise RuntimeError("npm is needed to install anvil and is not on PATH")
                started = time.monotonic()
                result = subprocess.run(  # noqa: S603 -- fixed arguments, no shell
                    [npm, "install", "--prefix", str(cache), f"{ANVIL_PACKAGE}@{ANVIL_VERSION}"],
                    capture_output=True,
                    text=True,
                    timeout=600,
                    check=False,
                )
                if result.returncode != 0 or not _installed(package):
                    raise RuntimeError(
                        f"npm install {ANVIL_PACKAGE}@{ANVIL_VERSION} failed "
                        f"(exit {result.returncode}):\n{result.stdout}\n{result.stderr}"
                    )
                print(f"installed anvil {ANVIL_VERSION} in {time.monotonic() - started:.1f} s")
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    if not os.access(binary, os.X_OK):
        raise RuntimeError(f"{binary} is not an executable anvil binary")
    return binary


def _installed(package: Path) -> bool:
    manifest = package / "package.json"
    if not manifest.is_file() or not (package / "bin" / "anvil").is_file():
        return False
    return bool(json.loads(manifest.read_text()).get("version") == ANVIL_VERSION)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def rpc(url: str, method: str, *params: object) -> object:
    """A blocking JSON-RPC call, for start-up before any event loop is involved."""
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": params})
    request = urllib.request.Request(  # noqa: S310 -- a local http URL we built
        url, data=body.encode(), headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310
        answer = json.load(response)
    if "error" in answer:
        raise RuntimeError(f"{method}: {answer['error']}")
    return answer["result"]


@dataclass
class AnvilNode:
    chain_id: int
    url: str
    process: subprocess.Popen[bytes]
    snapshot: str = ""


def start_anvil(binary: Path, chain_id: int, log: Path) -> AnvilNode:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with log.open("wb") as output:
        process = subprocess.Popen(  # noqa: S603 -- fixed arguments, no shell
            [binary, "--chain-id", str(chain_id), "--host", "127.0.0.1", "--port", str(port)],
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    deadline = time.monotonic() + STARTUP_SECONDS
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"anvil exited with {process.returncode}:\n{log.read_text()}")
        try:
            answer = rpc(url, "eth_chainId")
        except OSError:
            if time.monotonic() > deadline:
                process.kill()
                raise RuntimeError(f"anvil did not answer on {url}:\n{log.read_text()}") from None
            time.sleep(0.05)
            continue
        if answer != hex(chain_id):
            process.kill()
            raise RuntimeError(f"anvil on {url} reports chain id {answer}, not {chain_id}")
        return AnvilNode(chain_id, url, process, snapshot=str(rpc(url, "evm_snapshot")))


@pytest.fixture(scope="session")
def anvil_nodes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, AnvilNode]]:
    binary = anvil_binary()
    logs = tmp_path_factory.mktemp("anvil")
    nodes: dict[str, AnvilNode] = {}
    try:
        for name in ANVIL_CHAINS:
            chain_id = ChainsConfig.load().get(name).chain_id
            assert chain_id is not None
            nodes[name] = start_anvil(binary, chain_id, logs / f"{name}.log")
        yield nodes
    finally:
        for node in nodes.values():
            node.process.terminate()
            try:
                node.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                node.process.kill()
                node.process.wait()


def fresh(node: AnvilNode) -> AnvilNode:
    """Back to the genesis state. anvil drops a snapshot when reverting to it, so a new
    one is taken for the next test."""
    if rpc(node.url, "evm_revert", node.snapshot) is not True:
        raise RuntimeError(f"anvil on {node.url} could not revert to {node.snapshot}")
    node.snapshot = str(rpc(node.url, "evm_snapshot"))
    return node


def anvil_config(name: str, node: AnvilNode, **changes: object) -> ChainConfig:
    base = ChainsConfig.load().get(name)
    return base.model_copy(update={"node": node.url, "local": True, **changes})


class TestEvmChainOnAnvil(ChainAdapterContract):
    fund_amount = ETHER
    transfer_amount = ETHER // 1000
    foreign_addresses = (
        "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4",
        "4Nd1mBQtrMJVYVfKf2PJy9NZUZdTAsp7D4xWLs4gDB4T",
    )

    @pytest.fixture(params=ANVIL_CHAINS)
    async def adapter(
        self, request: pytest.FixtureRequest, anvil_nodes: dict[str, AnvilNode]
    ) -> AsyncIterator[ChainAdapter]:
        node = fresh(anvil_nodes[request.param])
        chain = evm_adapter(anvil_config(request.param, node))
        assert isinstance(chain.rpc, JsonRpcEvm)
        yield chain
        await chain.close()


SENDER = signer_for("ecdsa-secp256k1", "sender")
RECIPIENT = signer_for("ecdsa-secp256k1", "recipient")


async def test_anvil_refuses_a_transaction_signed_for_another_chain_id(
    anvil_nodes: dict[str, AnvilNode],
) -> None:
    node = fresh(anvil_nodes["polygon"])
    chain = evm_adapter(anvil_config("polygon", node))
    try:
        sender = chain.address(SENDER.public_key)
        await chain.fund(sender, ETHER)
        recipient = chain.address(RECIPIENT.public_key)
        base_fee = await chain.rpc.base_fee()
        transfer = {
            "type": 2,
            "nonce": 0,
            "to": recipient,
            "value": 1000,
            "gas": 21_000,
            "maxFeePerGas": 2 * base_fee + 10**9,
            "maxPriorityFeePerGas": 10**9,
        }
        # Signed by eth-account, not by us: anvil's refusal is about the chain id alone.
        for_mainnet = Account.sign_transaction({**transfer, "chainId": 1}, SENDER.seed)
        with pytest.raises(BroadcastRejected, match="chain id"):
            await chain.rpc.send_raw(bytes(for_mainnet.raw_transaction))
        assert await chain.rpc.nonce(sender) == 0
        for_polygon = Account.sign_transaction({**transfer, "chainId": 137}, SENDER.seed)
        tx_hash = await chain.rpc.send_raw(bytes(for_polygon.raw_transaction))
        assert tx_hash == "0x" + bytes(for_polygon.hash).hex()
        assert await chain.balance(recipient) == 1000
    finally:
        await chain.close()


async def test_chain_id_mismatch_with_the_node(anvil_nodes: dict[str, AnvilNode]) -> None:
    node = fresh(anvil_nodes["arbitrum"])
    # Configured as Ethereum (chain id 1), pointed at the 42161 node.
    chain = EvmChain(anvil_config("ethereum", node), JsonRpcEvm(node.url, local=True))
    try:
        await chain.fund(chain.address(SENDER.public_key), ETHER)
        height = await chain.rpc.block_number()
        with pytest.raises(ChainIdMismatch, match="42161"):
            await chain.build(
                TransferIntent(chain=chain.name, to=chain.address(RECIPIENT.public_key), amount=1),
                SENDER.public_key,
            )
        assert await chain.rpc.block_number() == height
        assert await chain.rpc.nonce(chain.address(SENDER.public_key)) == 0
    finally:
        await chain.close()


async def test_node_errors_are_typed(anvil_nodes: dict[str, AnvilNode]) -> None:
    node = fresh(anvil_nodes["polygon"])
    rpc_client = JsonRpcEvm(node.url, local=True)
    try:
        # A refused transaction is a BroadcastRejected; anything else the node says is an
        # RpcError (retryable), so a bad request never looks like a refused transfer.
        with pytest.raises(BroadcastRejected):
            await rpc_client.send_raw(b"\x02\xc0")
        with pytest.raises(RpcError) as refused:
            await rpc_client.call("quorate_noSuchMethod")
        assert not isinstance(refused.value, BroadcastRejected)
    finally:
        await rpc_client.close()
    unreachable = JsonRpcEvm(f"http://127.0.0.1:{free_port()}", local=True)
    try:
        with pytest.raises(RpcError, match="cannot reach"):
            await unreachable.chain_id()
    finally:
        await unreachable.close()
