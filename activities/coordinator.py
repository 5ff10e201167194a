"""Coordinator-side activities: planning, aggregation, and the ceremony log.

They run as local activities of the coordinator worker, next to the workflows: they need
no party's secret, only the topology and the event store. Each is thin: signer choice
(``activities.signers``), the presignature pool (``activities.presignatures``), FROST
aggregation (``activities.frost_aggregation``), ECDSA combination
(``activities.ecdsa_combination``) and the events they record (``activities.recording``)
each have a module of their own.

Every activity here is wrapped in :func:`refuse_untyped`: an error that retrying cannot
change (an overflow, a value or type error from bad input) fails the activity at once,
non-retryable and typed by its class, instead of ten retries and an untyped failure.
"""

from __future__ import annotations

import json

from temporalio import activity

from activities.ecdsa_combination import combine_signature, wallet_key
from activities.errors import (
    CeremonyAbort,
    DkgDisagreement,
    DuplicateParty,
    InvalidMessage,
    InvalidThreshold,
    UnknownParty,
    UnknownWallet,
    WalletExists,
    business_error,
    refuse_untyped,
)
from activities.frost_aggregation import aggregate_signature
from activities.models import (
    AggregateInput,
    AuxCheckInput,
    CeremonyFailedInput,
    CreateWalletResult,
    EcdsaCombineInput,
    NoopInput,
    PartiesResult,
    PartyRef,
    PlanSignInput,
    PlanWalletInput,
    PresignPlanInput,
    RecordPresignatureInput,
    RecordWalletInput,
    SignPlan,
    SignResult,
    WalletInfo,
    WalletPlan,
)
from activities.presignatures import PresignaturePool
from activities.protocol import SCHEME_CIPHERSUITES
from activities.recording import CeremonyRecorder, find_wallet, wallet_info
from activities.signers import choose_signers
from mpc.ecdsa.errors import InvalidModulus
from mpc.frost import PublicKeyPackage
from mpc.frost.serialization import decode
from runtime.topology import Topology
from storage.events.models import WalletCreated
from storage.events.port import EventStore

# Ed25519 messages are signed whole; bound them so a request cannot bloat the history.
MAX_ED25519_MESSAGE = 64 * 1024


class CoordinatorActivities:
    """Activities that need the topology and the event store, never a secret."""

    def __init__(self, topology: Topology, events: EventStore) -> None:
        self._topology = topology
        self._events = events
        self._log = CeremonyRecorder(events)
        self._presignatures = PresignaturePool(events)

    # -- wallet creation -----------------------------------------------------------------

    @activity.defn(name="coordinator.plan_wallet")
    @refuse_untyped
    async def plan_wallet(self, request: PlanWalletInput) -> WalletPlan:
        """Validates a wallet-creation request and records the ceremony's start, which
        claims the wallet id: of concurrent creations of one id, all but the first are
        refused here (WalletExists, their ceremony recorded as failed)."""
        wanted = request.request
        known = {p.id: p for p in self._topology.parties}
        parties = list(wanted.parties) or list(known)
        duplicates = sorted({p for p in parties if parties.count(p) > 1})
        if duplicates:
            raise business_error(DuplicateParty(f"parties listed twice: {', '.join(duplicates)}"))
        unknown = sorted(p for p in parties if p not in known)
        if unknown:
            raise business_error(UnknownParty(f"not in the topology: {', '.join(unknown)}"))
        threshold = wanted.threshold or self._topology.threshold
        if threshold > len(parties):
            raise business_error(
                InvalidThreshold(f"threshold {threshold} exceeds the {len(parties)} parties")
            )
        if await find_wallet(self._events, wanted.wallet_id) is not None:
            raise business_error(WalletExists(f"wallet {wanted.wallet_id} already exists"))
        missing_keys = sorted(p for p in parties if not known[p].sealing_public_key)
        if missing_keys:
            raise business_error(
                UnknownParty(f"no sealing key configured for {', '.join(missing_keys)}")
            )
        cs = SCHEME_CIPHERSUITES[wanted.scheme]
        plan = WalletPlan(
            wallet_id=wanted.wallet_id,
            scheme=wanted.scheme,
            ciphersuite=cs.id,
            threshold=threshold,
            parties=tuple(
                PartyRef(id=p, sealing_public_key=str(known[p].sealing_public_key)) for p in parties
            ),
        )
        try:
            await self._log.creation_started(request.ceremony_id, plan.wallet_id, cs.id, parties)
        except WalletExists as error:
            # Lost the race to another ceremony for this wallet id (it passed the check
            # above at the same time): this ceremony ends here, before any party works.
            await self._log.failed(request.ceremony_id, plan.wallet_id, f"WalletExists: {error}")
            raise business_error(error) from None
        return plan

    @activity.defn(name="coordinator.record_wallet")
    @refuse_untyped
    async def record_wallet(self, request: RecordWalletInput) -> CreateWalletResult:
        """Checks that every party derived the same group key, then records the wallet."""
        plan = request.plan
        packages = set(request.public_key_packages.values())
        if len(packages) != 1 or set(request.public_key_packages) != {p.id for p in plan.parties}:
            error = DkgDisagreement("parties derived different public key packages")
            await self._log.failed(request.ceremony_id, plan.wallet_id, str(error))
            raise business_error(error)
        encoded = packages.pop()
        public = decode(bytes.fromhex(encoded), PublicKeyPackage)
        if public.ciphersuite.id != plan.ciphersuite:
            # A party answered with a key package of another ciphersuite: a share of an
            # earlier creation under this wallet id, not of this ceremony.
            error = DkgDisagreement(
                f"parties returned a {public.ciphersuite.id} key, this ceremony makes "
                f"{plan.ciphersuite}"
            )
            await self._log.failed(request.ceremony_id, plan.wallet_id, str(error))
            raise business_error(error)
        event = WalletCreated(
            wallet_id=plan.wallet_id,
            scheme=plan.scheme,
            ciphersuite=plan.ciphersuite,
            group_public_key=public.verifying_key.to_bytes().hex(),
            threshold=plan.threshold,
            parties=[p.id for p in plan.parties],
            public_key_package=encoded,
            ceremony_id=request.ceremony_id,
        )
        try:
            await self._log.wallet_created(event)
        except WalletExists as error:
            await self._log.failed(request.ceremony_id, plan.wallet_id, f"WalletExists: {error}")
            raise business_error(error) from None
        return CreateWalletResult.model_validate(
            event.model_dump(exclude={"version", "public_key_package"})
        )

    # -- signing -------------------------------------------------------------------------

    @activity.defn(name="coordinator.plan_sign")
    @refuse_untyped
    async def plan_sign(self, request: PlanSignInput) -> SignPlan:
        """Validates a signing request, picks the signer set, records the ceremony's start."""
        wanted = request.request
        wallet = await self._wallet(wanted.wallet_id)
        _check_message(wallet, bytes.fromhex(wanted.message), wanted.taproot_merkle_root)
        signers = choose_signers(self._topology, wallet, wanted.signers)
        await self._log.started(
            request.ceremony_id, wallet.wallet_id, "sign", wallet.ciphersuite, signers
        )
        presignature = None
        if wallet.scheme == "ecdsa-secp256k1":
            presignature = await self._presignatures.reserve(
                wallet.wallet_id, signers, request.ceremony_id
            )
        return SignPlan(
            wallet=wallet,
            signers=signers,
            message=wanted.message,
            taproot_merkle_root=wanted.taproot_merkle_root,
            presignature=presignature,
        )

    @activity.defn(name="coordinator.plan_presign")
    @refuse_untyped
    async def plan_presign(self, request: PresignPlanInput) -> SignPlan:
        """Validates a pool refill for an ECDSA wallet and records the ceremony's start."""
        wanted = request.request
        wallet = await self._wallet(wanted.wallet_id)
        if wallet.scheme != "ecdsa-secp256k1":
            raise business_error(InvalidMessage("presignatures are for ECDSA wallets"))
        signers = tuple(sorted(choose_signers(self._topology, wallet, wanted.signers)))
        await self._log.started(
            request.ceremony_id, wallet.wallet_id, "presign", wallet.ciphersuite, signers
        )
        return SignPlan(wallet=wallet, signers=signers, message="", taproot_merkle_root=None)

    @activity.defn(name="coordinator.record_presignature")
    @refuse_untyped
    async def record_presignature(self, request: RecordPresignatureInput) -> None:
        await self._presignatures.add(request)

    @activity.defn(name="coordinator.aggregate")
    @refuse_untyped
    async def aggregate(self, request: AggregateInput) -> SignResult:
        """Aggregates, verifies (naming cheaters), double-checks, records the signature."""
        plan = request.plan
        try:
            public_key, signature = aggregate_signature(
                plan, request.commitments, request.signature_shares
            )
        except CeremonyAbort as abort:
            raise await self._log.abort(request.ceremony_id, plan.wallet.wallet_id, abort) from None
        return await self._log.signature(plan, request.ceremony_id, public_key, signature)

    @activity.defn(name="coordinator.record_failed")
    @refuse_untyped
    async def record_failed(self, request: CeremonyFailedInput) -> None:
        """CeremonyFailed naming the culprits; a PartyMisbehaved for each first when the
        coordinator verified them itself (``verified``: an identification on public data),
        never on one party's word alone."""
        if request.culprits and request.verified:
            await self._log.blame(
                request.ceremony_id,
                request.wallet_id,
                request.kind or "CeremonyFailed",
                request.reason,
                list(request.culprits),
            )
            return
        await self._log.failed(
            request.ceremony_id, request.wallet_id, request.reason, request.culprits
        )

    async def _wallet(self, wallet_id: str) -> WalletInfo:
        created = await find_wallet(self._events, wallet_id)
        if created is None:
            raise business_error(UnknownWallet(f"no wallet {wallet_id}"))
        return wallet_info(created)


def _check_message(wallet: WalletInfo, message: bytes, taproot_merkle_root: str | None) -> None:
    """What each scheme can sign: a 32-byte digest (BIP340, ECDSA) or a bounded message."""
    if wallet.scheme == "bip340" and len(message) != 32:
        raise business_error(
            InvalidMessage("a BIP340 (taproot) signature is over a 32-byte digest")
        )
    if wallet.scheme == "ecdsa-secp256k1" and len(message) != 32:
        raise business_error(InvalidMessage("an ECDSA signature is over a 32-byte digest"))
    if wallet.scheme == "ed25519" and not 0 < len(message) <= MAX_ED25519_MESSAGE:
        raise business_error(
            InvalidMessage(f"an Ed25519 message is 1 to {MAX_ED25519_MESSAGE} bytes")
        )
    if taproot_merkle_root is not None and (
        wallet.scheme != "bip340" or len(bytes.fromhex(taproot_merkle_root)) != 32
    ):
        raise business_error(
            InvalidMessage("a taproot merkle root is 32 bytes, for bip340 wallets")
        )


class EcdsaCoordinatorActivities:
    """Coordinator steps of the ECDSA ceremonies: checks, combination, the event log."""

    def __init__(self, topology: Topology, events: EventStore) -> None:
        self._topology = topology
        self._log = CeremonyRecorder(events)

    @activity.defn(name="coordinator.list_parties")
    @refuse_untyped
    async def list_parties(self, request: NoopInput) -> PartiesResult:
        return PartiesResult(parties=tuple(p.id for p in self._topology.parties))

    @activity.defn(name="coordinator.ecdsa_check_aux")
    @refuse_untyped
    async def check_aux(self, request: AuxCheckInput) -> None:
        """CGGMP21 Fig. 6: moduli and ring-Pedersen parameters must differ across parties."""
        seen: dict[str, list[str]] = {}
        for party, summary in sorted(request.summaries.items()):
            values = json.loads(summary)
            for name in ("n", "s", "t"):
                seen.setdefault(f"{name}:{values[name]}", []).append(party)
        reused = sorted({p for owners in seen.values() if len(owners) > 1 for p in owners})
        if reused:
            raise business_error(
                InvalidModulus("auxiliary information reused across parties"), culprits=reused
            )

    @activity.defn(name="coordinator.ecdsa_combine")
    @refuse_untyped
    async def combine(self, request: EcdsaCombineInput) -> SignResult:
        """Checks every σ_i (naming cheaters), sums, verifies with libsecp256k1, records."""
        plan = request.plan
        try:
            key = wallet_key(plan)
        except TypeError as error:
            raise business_error(error) from None
        try:
            signature, recovery_id = combine_signature(
                plan, key, request.R, request.R_shares, request.shares
            )
        except CeremonyAbort as abort:
            raise await self._log.abort(request.ceremony_id, plan.wallet.wallet_id, abort) from None
        return await self._log.signature(
            plan, request.ceremony_id, key.to_bytes(), signature, recovery_id
        )
