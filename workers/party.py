"""One party's worker: its own process, its own task queue, its own vault.

``python -m workers.party --party us-1`` opens only ``parties/us-1`` (its KEK and vault)
and polls ``party.us-1``; no other process can decrypt that party's shares. It signs only
requests authorized by the request-signing key of its topology, and checks a transfer's
transaction with the chains configuration (runtime.authorization).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import threading
from concurrent.futures import ThreadPoolExecutor

from temporalio.client import Client
from temporalio.worker import Worker

from activities.ecdsa_party import EcdsaPartyActivities
from activities.party import PartyActivities
from activities.prime_pool import SafePrimePool
from chains.config import ChainsConfig
from mpc.ecdsa.params import PRODUCTION, SecurityParameters
from runtime.authorization import RequestVerifier
from runtime.connection import connect
from runtime.files import restrict_umask
from runtime.names import party_task_queue
from runtime.provision import load_sealing_key, load_topology, open_party_vault
from runtime.settings import Settings
from runtime.topology import Topology
from storage.vault.port import ShareVault


def request_verifier(topology: Topology, chains: ChainsConfig) -> RequestVerifier:
    """The party's check of requests: the topology's request-signing key, the chains it
    can decode transactions of, and the party's own clock."""
    if topology.request_signing_public_key is None:
        raise ValueError("the topology has no request_signing_public_key: provision it")
    return RequestVerifier(bytes.fromhex(topology.request_signing_public_key), chains)


def build_party_worker(
    client: Client,
    party: str,
    vault: ShareVault,
    executor: ThreadPoolExecutor,
    primes: SafePrimePool | None = None,
    *,
    requests: RequestVerifier,
    ecdsa_params: SecurityParameters = PRODUCTION,
) -> Worker:
    """``ecdsa_params``: CGGMP21's production sizes unless a test passes weaker ones
    (``SecurityParameters.unsafe_for_tests``); no setting or variable changes them."""
    activities = PartyActivities(party, vault, load_sealing_key(vault), requests=requests)
    ecdsa = EcdsaPartyActivities(party, vault, primes, requests=requests, params=ecdsa_params)
    return Worker(
        client,
        task_queue=party_task_queue(party),
        activities=[
            activities.dkg_round1,
            activities.dkg_round2,
            activities.dkg_round3,
            activities.sign_round1,
            activities.sign_round2,
            activities.discard_nonces,
            ecdsa.aux_generate,
            ecdsa.aux_verify_peer,
            ecdsa.aux_verify_fac,
            ecdsa.aux_activate,
            ecdsa.presign_round1,
            ecdsa.presign_round2,
            ecdsa.presign_round3,
            ecdsa.presign_finish,
            ecdsa.presign_open_delta,
            ecdsa.prove_chi,
            ecdsa.sign,
            ecdsa.discard_presignature,
        ],
        activity_executor=executor,
        max_concurrent_activities=8,
    )


async def run_party(
    settings: Settings, party: str, *, ecdsa_params: SecurityParameters = PRODUCTION
) -> None:
    """``ecdsa_params``: only a test's or a benchmark's own entry point (under tests/ or
    bench/, never installed) passes weaker sizes."""
    requests = request_verifier(load_topology(settings), ChainsConfig.load(settings.chains))
    vault = open_party_vault(settings, party)
    client = await connect(settings)
    primes = SafePrimePool(vault, ecdsa_params.prime_bits)
    stop = threading.Event()
    # Safe primes for the next auxiliary information, found while the party is idle.
    primes.run_filler(stop)
    with ThreadPoolExecutor(max_workers=8, thread_name_prefix=f"party-{party}") as executor:
        worker = build_party_worker(
            client, party, vault, executor, primes, requests=requests, ecdsa_params=ecdsa_params
        )
        logging.getLogger(__name__).info("party %s polling %s", party, party_task_queue(party))
        try:
            await worker.run()
        finally:
            stop.set()
            vault.close()


def main(ecdsa_params: SecurityParameters = PRODUCTION) -> None:
    """``ecdsa_params``: production's, unless a test's or a benchmark's own entry point
    (tests/helpers/weak_party, bench/weak_party) passes weaker ones."""
    restrict_umask()
    parser = argparse.ArgumentParser(description="Run one Quorate party's worker.")
    parser.add_argument("--party", required=True)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    asyncio.run(run_party(Settings.from_env(), args.party, ecdsa_params=ecdsa_params))


if __name__ == "__main__":
    main()
