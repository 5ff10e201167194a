"""CreateWalletWorkflow: a dealerless FROST DKG across the parties' own workers.

Each DKG part (mpc.frost.dkg) runs as an activity on the party's queue; the workflow only
relays public round-1 packages (each signed by its sender), round-2 shares that are sealed
to their recipient, and each party's signed echo of round 1, which every other party checks
in round 3 (activities.broadcast): a relay cannot make two parties use different packages.
"""

from __future__ import annotations

from temporalio import workflow
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from activities.coordinator import CoordinatorActivities
    from activities.models import (
        CreateWalletInput,
        CreateWalletResult,
        DkgRound1Input,
        DkgRound2Input,
        DkgRound3Input,
        PlanWalletInput,
        RecordWalletInput,
    )
    from activities.party import PartyActivities
    from workflows.common import coordinator, fail_ceremony, fan_out


@workflow.defn(name="CreateWallet")
class CreateWalletWorkflow:
    @workflow.run
    async def run(self, request: CreateWalletInput) -> CreateWalletResult:
        ceremony_id = workflow.info().workflow_id
        plan = await coordinator(
            CoordinatorActivities.plan_wallet,
            PlanWalletInput(request=request, ceremony_id=ceremony_id),
        )
        parties = tuple(p.id for p in plan.parties)
        try:
            round1 = await fan_out(
                PartyActivities.dkg_round1,
                {
                    p: DkgRound1Input(
                        wallet_id=plan.wallet_id,
                        ceremony_id=ceremony_id,
                        ciphersuite=plan.ciphersuite,
                        threshold=plan.threshold,
                        parties=parties,
                    )
                    for p in parties
                },
            )
            packages = {p: r.package for p, r in round1.items()}
            signatures = {p: r.signature for p, r in round1.items() if r.signature}
            round2 = await fan_out(
                PartyActivities.dkg_round2,
                {
                    p: DkgRound2Input(
                        wallet_id=plan.wallet_id,
                        ceremony_id=ceremony_id,
                        ciphersuite=plan.ciphersuite,
                        round1_packages=packages,
                        parties=plan.parties,
                        round1_signatures=signatures,
                    )
                    for p in parties
                },
            )
            round3 = await fan_out(
                PartyActivities.dkg_round3,
                {
                    p: DkgRound3Input(
                        wallet_id=plan.wallet_id,
                        ceremony_id=ceremony_id,
                        ciphersuite=plan.ciphersuite,
                        parties=plan.parties,
                        # Every share addressed to p, still sealed: only p can open them.
                        sealed_shares={
                            sender: result.sealed_shares[p]
                            for sender, result in round2.items()
                            if sender != p
                        },
                        echoes={
                            echoer: result.echo
                            for echoer, result in round2.items()
                            if echoer != p and result.echo is not None
                        },
                    )
                    for p in parties
                },
            )
        except ActivityError as error:
            await fail_ceremony(error, ceremony_id, plan.wallet_id)
        return await coordinator(
            CoordinatorActivities.record_wallet,
            RecordWalletInput(
                plan=plan,
                ceremony_id=ceremony_id,
                public_key_packages={p: r.public_key_package for p, r in round3.items()},
            ),
        )
