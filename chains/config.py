"""Which chains exist: configuration (config/chains.toml), never code.

A chain is a family (evm, bitcoin, solana), a network, and where its node is: ``rpc_url``
for a JSON-RPC node, or ``embedded`` for the in-process engine (py-evm, the embedded
Bitcoin ledger verified by libbitcoinkernel, LiteSVM). A new EVM chain is one more table.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any, Literal, Self
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, model_validator

from chains.errors import UnknownChain
from chains.models import ChainName, Family
from common.types import Scheme

DEFAULT_CHAINS = Path(__file__).resolve().parent.parent / "config" / "chains.toml"

LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
BitcoinNetwork = Literal["mainnet", "testnet", "regtest", "litecoin-regtest"]
BitcoinOutput = Literal["p2wpkh", "p2tr"]


class ChainConfig(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    name: ChainName
    family: Family
    # EVM: the EIP-155 chain id every transaction commits to, checked against the node.
    chain_id: int | None = Field(default=None, ge=1)
    # Bitcoin: network parameters and the output type the wallet receives on.
    network: BitcoinNetwork | None = None
    output: BitcoinOutput | None = None
    # Solana: "mainnet-beta", "devnet", "localnet" (informational; the cluster is the node).
    cluster: str | None = None
    # Where the node is: "embedded" (in process), or a JSON-RPC URL.
    node: str = "embedded"
    # A dev engine gives funds and mines blocks; never true for a public network. Unset, it
    # is true for an embedded engine only: a node URL is taken for a real network unless
    # the configuration says otherwise, and only a loopback node may say so.
    local: bool = False
    confirmations: int = Field(default=1, ge=1)
    # How often a waiting workflow asks for confirmations (a durable timer between polls),
    # and how long it waits in all before giving up on the transaction.
    poll_interval: float = Field(default=2.0, gt=0, le=600)
    confirmation_timeout: float = Field(default=3600.0, gt=0)
    # EVM: the lowest tip per gas the chain's validators accept (Polygon: 30 gwei).
    min_priority_fee: int = Field(default=0, ge=0)
    symbol: str = Field(min_length=1, max_length=16)
    decimals: int = Field(ge=0, le=36)

    @model_validator(mode="before")
    @classmethod
    def _default_local(cls, data: Any) -> Any:
        if isinstance(data, dict) and "local" not in data:
            return {**data, "local": data.get("node", "embedded") == "embedded"}
        return data

    @model_validator(mode="after")
    def _check_local(self) -> Self:
        if self.local and self.node != "embedded":
            host = urlsplit(self.node).hostname
            if host not in LOOPBACK_HOSTS:
                raise ValueError(
                    f"{self.name}: only an embedded engine or a node on loopback can be local "
                    f"(a faucet and block production), not {host}"
                )
        return self

    @model_validator(mode="after")
    def _check_family(self) -> Self:
        if self.family == "evm" and self.chain_id is None:
            raise ValueError(f"EVM chain {self.name} needs a chain_id")
        if self.family == "bitcoin" and (self.network is None or self.output is None):
            raise ValueError(f"bitcoin chain {self.name} needs a network and an output type")
        return self

    @property
    def scheme(self) -> Scheme:
        if self.family == "solana":
            return "ed25519"
        if self.family == "bitcoin" and self.output == "p2tr":
            return "bip340"
        return "ecdsa-secp256k1"


class ChainsConfig(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    chains: dict[ChainName, ChainConfig]

    def get(self, name: str) -> ChainConfig:
        try:
            return self.chains[name]
        except KeyError:
            known = ", ".join(sorted(self.chains))
            raise UnknownChain(f"unknown chain {name!r}; configured: {known}") from None

    @classmethod
    def load(cls, path: Path = DEFAULT_CHAINS) -> ChainsConfig:
        with path.open("rb") as handle:
            raw = tomllib.load(handle)
        tables = raw.get("chains", {})
        return cls(chains={name: {"name": name, **table} for name, table in tables.items()})
