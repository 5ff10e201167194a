"""The in-memory fake chain passes the adapter contract, for each signature scheme."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from chains.config import ChainConfig
from chains.fake import FAKE_DUST, FakeChain
from chains.port import ChainAdapter
from tests.chains.contract import ChainAdapterContract

FAMILIES: dict[str, dict[str, Any]] = {
    "ecdsa-secp256k1": {"family": "evm", "chain_id": 31337},
    "bip340": {"family": "bitcoin", "network": "regtest", "output": "p2tr"},
    "ed25519": {"family": "solana"},
}


class TestFakeChain(ChainAdapterContract):
    fund_amount = 1_000_000
    transfer_amount = 10_000
    dust_amount = FAKE_DUST - 1
    foreign_addresses = ("fake:zz" + "0" * 38, "evm:" + "0" * 40)

    @pytest.fixture(params=sorted(FAMILIES))
    async def adapter(self, request: pytest.FixtureRequest) -> AsyncIterator[ChainAdapter]:
        config = ChainConfig(
            name=f"fake-{request.param}",
            symbol="FAKE",
            decimals=0,
            confirmations=2,
            **FAMILIES[request.param],
        )
        chain = FakeChain(config)
        assert chain.scheme == request.param
        yield chain
        await chain.close()
