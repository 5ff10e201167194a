"""An EVM adapter from configuration: the node is config, never code."""

from __future__ import annotations

from chains.config import ChainConfig
from chains.evm.adapter import EvmChain
from chains.evm.embedded import EmbeddedEvm
from chains.evm.jsonrpc import JsonRpcEvm
from chains.evm.rpc import EvmRpc

EMBEDDED = "embedded"


def evm_adapter(config: ChainConfig) -> EvmChain:
    """``node = "embedded"``: py-evm in process; otherwise ``node`` is a JSON-RPC URL."""
    if config.family != "evm" or config.chain_id is None:
        raise ValueError(f"{config.name} is not an EVM chain configuration")
    rpc: EvmRpc
    if config.node == EMBEDDED:
        rpc = EmbeddedEvm(config.chain_id)
    else:
        rpc = JsonRpcEvm(config.node, local=config.local)
    return EvmChain(config, rpc)
