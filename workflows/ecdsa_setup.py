"""SetupEcdsaWorkflow: every party's auxiliary information, verified by every other party.

CGGMP21 Fig. 6 (aux-info): each party generates a Paillier–Blum modulus with
ring-Pedersen parameters and proves them (Π_mod, Π_prm); every other party verifies them,
and each pair exchanges a Π_fac proof (no small factors) under the verifier's parameters.
The verified information is reusable across wallets until the next refresh.
"""

from __future__ import annotations

import json

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.coordinator import EcdsaCoordinatorActivities
    from activities.ecdsa_party import EcdsaPartyActivities
    from activities.models import (
        AuxCheckInput,
        AuxGenerateInput,
        AuxVerifyFacInput,
        AuxVerifyPeerInput,
        AuxVerifyPeerResult,
        EcdsaSetupInput,
        EcdsaSetupResult,
        NoopInput,
    )
    from workflows.common import coordinator, fan_out, fan_out_to


@workflow.defn(name="SetupEcdsa")
class SetupEcdsaWorkflow:
    @workflow.run
    async def run(self, request: EcdsaSetupInput) -> EcdsaSetupResult:
        listed = await coordinator(EcdsaCoordinatorActivities.list_parties, NoopInput())
        parties = listed.parties
        session = request.session
        generated = await fan_out(
            EcdsaPartyActivities.aux_generate,
            {p: AuxGenerateInput(session=session) for p in parties},
            slow=True,
        )
        await coordinator(
            EcdsaCoordinatorActivities.check_aux,
            AuxCheckInput(summaries={p: r.summary for p, r in generated.items()}),
        )
        pairs = [(i, j) for i in parties for j in parties if i != j]
        # On i's queue: i verifies j's aux info, then proves to j that N_i has no small factor.
        # An aux-info message is several hundred kilobytes (128-fold Π_mod and Π_prm), so one
        # peer's is sent at a time: a workflow task carries at most 4 MB of commands.
        proofs: dict[tuple[str, str], AuxVerifyPeerResult] = {}
        for j in parties:
            proofs |= await fan_out_to(
                EcdsaPartyActivities.aux_verify_peer,
                {
                    (i, j): (
                        i,
                        AuxVerifyPeerInput(
                            session=session, peer=j, peer_public=generated[j].public
                        ),
                    )
                    for i in parties
                    if i != j
                },
            )
        # On j's queue: j checks i's Π_fac, made under j's own ring-Pedersen parameters.
        await fan_out_to(
            EcdsaPartyActivities.aux_verify_fac,
            {
                (i, j): (
                    j,
                    AuxVerifyFacInput(
                        session=session, prover=i, fac_proof=proofs[(i, j)].fac_proof
                    ),
                )
                for i, j in pairs
            },
        )
        await fan_out_to(
            EcdsaPartyActivities.aux_activate,
            {(p, p): (p, AuxGenerateInput(session=session)) for p in parties},
        )
        bits = min(int(json.loads(r.summary)["n"], 16).bit_length() for r in generated.values())
        return EcdsaSetupResult(session=session, parties=parties, modulus_bits=bits)
