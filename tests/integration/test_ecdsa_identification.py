"""Identifiable aborts of threshold ECDSA through the real dev server: the cheater named.

The workflows and every party worker are the real ones; one signer cheats by what its
activities answer (an activity interceptor on its queue rewrites its results, as a
compromised party process would):

- in presigning it broadcasts a δ_i other than its own: every honest signer's δ check
  fails, the signers open what is behind δ_i (GG20), and the coordinator names the liar;
- in signing it sends S_i' = S_i + d·R with σ_i' = σ_i + r·d, which passes the per-share
  check σ_i·R = m·R_i + r·S_i but makes ΣS_i differ from the key: the signers prove their
  S_i (CGGMP21's identification, Π_mul*, Π_aff-g, Π_log*) and the coordinator names the
  one whose proof fails.

Each is recorded as ``PartyMisbehaved`` and ``CeremonyFailed`` naming only the cheater;
with the interceptor quiet, the same wallet signs and the signature verifies.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import secrets
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from coincurve import PublicKey
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from temporalio import activity, client
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import ActivityInboundInterceptor, ExecuteActivityInput, Interceptor

from activities.models import (
    CreateWalletInput,
    EcdsaSetupInput,
    EcdsaSignInput,
    EcdsaSignResult,
    PresignInput,
    PresignRoundResult,
    SignInput,
)
from mpc.ecdsa import codec, presign
from mpc.ecdsa.sign import SignatureShare
from mpc.group import SECP256K1
from mpc.group.secp256k1 import ORDER as Q
from quorate.client import CeremonyFailed, create_wallet, setup_ecdsa, sign
from quorate.client import presign as fill_pool
from runtime.names import party_task_queue
from runtime.settings import Settings
from storage.vault.port import ShareVault
from tests.integration.conftest import System, start_system

CHEATER = "eu-1"
SIGNERS = ("us-1", "eu-1", "apac-1")


class CheatingParty(client.Interceptor, Interceptor):
    """Rewrites what ``CHEATER``'s ECDSA activities answer, while ``mode`` says so."""

    def __init__(self) -> None:
        self.mode: str | None = None
        self.vault: ShareVault | None = None
        self.cheated = 0

    def intercept_activity(self, next: ActivityInboundInterceptor) -> ActivityInboundInterceptor:
        return _Inbound(next, self)

    def rewrite(self, kind: str, args: Any, result: Any) -> Any:
        if self.mode == "delta" and kind == "party.ecdsa_presign_round3":
            assert isinstance(result, PresignRoundResult)
            broadcast = codec.decode(result.broadcast, presign.Round3Broadcast)
            lie = dataclasses.replace(broadcast, delta=(broadcast.delta + 1) % Q)
            self.cheated += 1
            return result.model_copy(update={"broadcast": codec.encode(lie).decode()})
        if self.mode == "chi" and kind == "party.ecdsa_sign":
            assert isinstance(result, EcdsaSignResult)
            assert self.vault is not None
            (request,) = args
            assert isinstance(request, EcdsaSignInput)
            record = json.loads(
                self.vault.get_secret(
                    request.wallet_id, f"ecdsa/presign/{request.presign_id}/identification"
                )
            )
            R = codec.decode(record["presignature"], presign.Presignature).R
            r = int.from_bytes(R.x_only(), "big") % Q
            share = codec.decode(result.share, SignatureShare)
            d = secrets.randbelow(Q - 1) + 1
            forged = SignatureShare(
                share.party, (share.sigma + r * d) % Q, share.S + R * SECP256K1.scalar(d)
            )
            self.cheated += 1
            return result.model_copy(update={"share": codec.encode(forged).decode()})
        return result


class _Inbound(ActivityInboundInterceptor):
    def __init__(self, next: ActivityInboundInterceptor, party: CheatingParty) -> None:
        super().__init__(next)
        self._party = party

    async def execute_activity(self, input: ExecuteActivityInput) -> Any:
        result = await super().execute_activity(input)
        info = activity.info()
        if info.task_queue != party_task_queue(CHEATER):
            return result
        return self._party.rewrite(info.activity_type, input.args, result)


@pytest.fixture
def cheater() -> CheatingParty:
    return CheatingParty()


@pytest.fixture
async def cheating_system(
    settings: Settings, temporal: WorkflowEnvironment, cheater: CheatingParty
) -> AsyncIterator[System]:
    config = temporal.client.config()
    config["interceptors"] = [cheater]
    async for running in start_system(settings, Client(**config)):
        cheater.vault = running.vaults[CHEATER]
        yield running


async def _blamed(system: System, ceremony_kind: str) -> tuple[list[tuple[str, str]], list[Any]]:
    events = await system.events.read_all()
    blamed = [
        (e.payload["party"], e.payload["reason"])
        for e in events
        if e.event_type == "PartyMisbehaved" and e.payload["reason"] == ceremony_kind
    ]
    failed = [
        e.payload["culprits"]
        for e in events
        if e.event_type == "CeremonyFailed" and e.payload["reason"].startswith(ceremony_kind)
    ]
    return blamed, failed


async def test_a_lying_signer_is_named_in_presigning_and_in_signing(
    cheating_system: System, cheater: CheatingParty
) -> None:
    system = cheating_system
    await setup_ecdsa(system.client, EcdsaSetupInput(session=f"id-{uuid.uuid4().hex[:6]}"))
    wallet = await create_wallet(
        system.client,
        CreateWalletInput(wallet_id=f"id-{uuid.uuid4().hex[:8]}", scheme="ecdsa-secp256k1"),
    )

    # Presigning: a δ_i other than its own.
    cheater.mode = "delta"
    with pytest.raises(CeremonyFailed) as delta:
        await fill_pool(
            system.client, PresignInput(wallet_id=wallet.wallet_id, count=1, signers=SIGNERS)
        )
    assert cheater.cheated >= 1
    assert delta.value.kind == "ConsistencyCheckFailed"
    assert delta.value.culprits == (CHEATER,)
    blamed, failed = await _blamed(system, "ConsistencyCheckFailed")
    assert blamed == [(CHEATER, "ConsistencyCheckFailed")]
    assert failed == [[CHEATER]]

    # Signing (inline presigning, then the online round): a forged S_i with its σ_i.
    cheater.mode, cheater.cheated = "chi", 0
    digest = hashlib.sha256(b"identify the chi cheater").digest()
    with pytest.raises(CeremonyFailed) as chi:
        await sign(
            system.client,
            SignInput(wallet_id=wallet.wallet_id, message=digest.hex(), signers=SIGNERS),
            authorizer=system.authorizer,
        )
    assert cheater.cheated >= 1
    assert chi.value.kind == "ChiCheckFailed", str(chi.value)
    assert chi.value.culprits == (CHEATER,), str(chi.value)
    assert chi.value.culprits == (CHEATER,)
    blamed, failed = await _blamed(system, "ChiCheckFailed")
    assert blamed == [(CHEATER, "ChiCheckFailed")]
    assert failed == [[CHEATER]]

    # The same signers, nobody cheating: a signature libsecp256k1 accepts.
    cheater.mode = None
    honest = hashlib.sha256(b"an honest signing").digest()
    result = await sign(
        system.client,
        SignInput(wallet_id=wallet.wallet_id, message=honest.hex(), signers=SIGNERS),
        authorizer=system.authorizer,
    )
    signature = bytes.fromhex(result.signature)
    der = encode_dss_signature(
        int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")
    )
    assert PublicKey(bytes.fromhex(result.public_key)).verify(der, honest, hasher=None)
