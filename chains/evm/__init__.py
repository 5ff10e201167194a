"""EVM chains (Ethereum, Polygon, Arbitrum, ...): one adapter, two ways to reach a node.

``EvmChain`` builds EIP-1559 transfers and attaches ECDSA signatures; it talks to the chain
only through ``EvmRpc``: ``EmbeddedEvm`` (py-evm in process, through eth-tester) or
``JsonRpcEvm`` (any node's JSON-RPC endpoint). ``evm_adapter`` picks one from the config.
"""

from chains.evm.adapter import EvmChain
from chains.evm.embedded import EmbeddedEvm
from chains.evm.factory import evm_adapter
from chains.evm.jsonrpc import JsonRpcEvm
from chains.evm.rpc import EvmRpc, Receipt

__all__ = ["EmbeddedEvm", "EvmChain", "EvmRpc", "JsonRpcEvm", "Receipt", "evm_adapter"]
