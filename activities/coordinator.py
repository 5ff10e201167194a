"""Coordinator-side activities: planning, aggregation, and the event log.

They run as local activities of the coordinator worker, next to the workflows: they need
no party's secret, only the topology and the event store. Aggregation verifies every
signature twice, with our FROST code (naming any cheating signer) and with a library we
did not write (libsecp256k1 for BIP340, libsodium for Ed25519), before anything is
recorded as produced.
"""

from __future__ import annotations

import json

from coincurve import PublicKeyXOnly
from nacl.exceptions import BadSignatureError
from nacl.signing import VerifyKey
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.errors import business_error
from activities.models import (
    AggregateInput,
    AuxCheckInput,
    CeremonyFailedInput,
    CeremonyStartedInput,
    CreateWalletResult,
    EcdsaCombineInput,
    NoopInput,
    PartiesResult,
    PartyRef,
    PlanSignInput,
    PlanWalletInput,
    PresignatureRef,
    PresignPlanInput,
    RecordPresignatureInput,
    RecordWalletInput,
    SignPlan,
    SignResult,
    WalletInfo,
    WalletPlan,
)
from activities.protocol import SCHEME_CIPHERSUITES, ciphersuite, names_by_identifier
from mpc.ecdsa import codec as ecdsa_codec
from mpc.ecdsa.errors import EcdsaError, InvalidModulus
from mpc.ecdsa.sign import SignatureShare as EcdsaSignatureShare
from mpc.ecdsa.sign import combine as ecdsa_combine
from mpc.frost import (
    FROST_SECP256K1_TR,
    PublicKeyPackage,
    SignatureShare,
    SigningCommitments,
    SigningPackage,
    aggregate,
)
from mpc.frost.errors import FrostError
from mpc.frost.serialization import decode
from mpc.frost.taproot import tweak_public_key_package
from mpc.group import SECP256K1, Secp256k1Element
from runtime.topology import Topology
from storage.events.errors import IdempotencyConflict
from storage.events.models import (
    CeremonyFailed,
    CeremonyStarted,
    PartyMisbehaved,
    PresignatureAdded,
    PresignatureUsed,
    SignatureProduced,
    WalletCreated,
    parse_event,
    to_new_event,
)
from storage.events.port import EventStore

# Ed25519 messages are signed whole; bound them so a request cannot bloat the history.
MAX_ED25519_MESSAGE = 64 * 1024


class InvalidRequest(ValueError):  # noqa: N818 - the type name is the API error type
    """A request that can never succeed as given."""


class UnknownWallet(InvalidRequest):
    pass


class UnknownParty(InvalidRequest):
    pass


class DuplicateParty(InvalidRequest):
    pass


class InvalidThreshold(InvalidRequest):
    pass


class InvalidMessage(InvalidRequest):
    pass


class InvalidSigners(InvalidRequest):
    pass


class WalletExists(InvalidRequest):
    pass


class DkgDisagreement(RuntimeError):  # noqa: N818
    """Parties finished a DKG with different public keys: nobody may use the key."""


def _wallet_stream(wallet_id: str) -> str:
    return f"wallet-{wallet_id}"


def _presignature_stream(wallet_id: str) -> str:
    return f"presignatures-{wallet_id}"


def _ceremony_stream(ceremony_id: str) -> str:
    return f"ceremony-{ceremony_id}"


def _wallet_info(created: WalletCreated) -> WalletInfo:
    return WalletInfo(
        wallet_id=created.wallet_id,
        scheme=created.scheme,
        ciphersuite=created.ciphersuite,
        threshold=created.threshold,
        parties=tuple(created.parties),
        group_public_key=created.group_public_key,
        public_key_package=created.public_key_package,
    )


async def _record_signature(
    events: EventStore,
    plan: SignPlan,
    ceremony_id: str,
    public_key: bytes,
    signature: bytes,
    recovery_id: int | None = None,
) -> SignResult:
    """Records SignatureProduced (once per ceremony) and returns the ceremony's result."""
    wallet = plan.wallet
    await events.append(
        to_new_event(
            SignatureProduced(
                ceremony_id=ceremony_id,
                wallet_id=wallet.wallet_id,
                scheme=wallet.scheme,
                public_key=public_key.hex(),
                message=plan.message,
                signature=signature.hex(),
                signers=list(plan.signers),
            ),
            # The wallet stream holds only its creation, so loading a wallet stays one
            # small read however many signatures it makes.
            stream_id=_ceremony_stream(ceremony_id),
            idempotency_key=f"{ceremony_id}/SignatureProduced",
            metadata={"ceremony": ceremony_id},
        )
    )
    return SignResult(
        wallet_id=wallet.wallet_id,
        scheme=wallet.scheme,
        public_key=public_key.hex(),
        message=plan.message,
        signature=signature.hex(),
        signers=plan.signers,
        ceremony_id=ceremony_id,
        recovery_id=recovery_id,
    )


def _refuse(error: InvalidRequest) -> ApplicationError:
    return business_error(error)


class CoordinatorActivities:
    """Activities that need the topology and the event store, never a secret."""

    def __init__(self, topology: Topology, events: EventStore) -> None:
        self._topology = topology
        self._events = events

    # -- wallet creation -----------------------------------------------------------------

    @activity.defn(name="coordinator.plan_wallet")
    async def plan_wallet(self, request: PlanWalletInput) -> WalletPlan:
        """Validates a wallet-creation request and records the ceremony's start."""
        wanted = request.request
        known = {p.id: p for p in self._topology.parties}
        parties = list(wanted.parties) or list(known)
        duplicates = sorted({p for p in parties if parties.count(p) > 1})
        if duplicates:
            raise _refuse(DuplicateParty(f"parties listed twice: {', '.join(duplicates)}"))
        unknown = sorted(p for p in parties if p not in known)
        if unknown:
            raise _refuse(UnknownParty(f"not in the topology: {', '.join(unknown)}"))
        threshold = wanted.threshold or self._topology.threshold
        if threshold > len(parties):
            raise _refuse(
                InvalidThreshold(f"threshold {threshold} exceeds the {len(parties)} parties")
            )
        if await self._wallet_created(wanted.wallet_id) is not None:
            raise _refuse(WalletExists(f"wallet {wanted.wallet_id} already exists"))
        missing_keys = sorted(p for p in parties if not known[p].sealing_public_key)
        if missing_keys:
            raise _refuse(UnknownParty(f"no sealing key configured for {', '.join(missing_keys)}"))
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
        await self._record_started(
            CeremonyStartedInput(
                ceremony_id=request.ceremony_id,
                wallet_id=plan.wallet_id,
                kind="create_wallet",
                protocol=cs.id,
                parties=tuple(parties),
            )
        )
        return plan

    @activity.defn(name="coordinator.record_wallet")
    async def record_wallet(self, request: RecordWalletInput) -> CreateWalletResult:
        """Checks that every party derived the same group key, then records the wallet."""
        plan = request.plan
        packages = set(request.public_key_packages.values())
        if len(packages) != 1 or set(request.public_key_packages) != {p.id for p in plan.parties}:
            error = DkgDisagreement("parties derived different public key packages")
            await self._record_failed(
                CeremonyFailedInput(
                    ceremony_id=request.ceremony_id, wallet_id=plan.wallet_id, reason=str(error)
                )
            )
            raise business_error(error)
        encoded = packages.pop()
        public = decode(bytes.fromhex(encoded), PublicKeyPackage)
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
        await self._events.append(
            to_new_event(
                event,
                stream_id=_wallet_stream(plan.wallet_id),
                idempotency_key=f"{request.ceremony_id}/WalletCreated",
                metadata={"ceremony": request.ceremony_id},
            )
        )
        return CreateWalletResult(
            wallet_id=plan.wallet_id,
            scheme=plan.scheme,
            ciphersuite=plan.ciphersuite,
            group_public_key=event.group_public_key,
            threshold=plan.threshold,
            parties=tuple(event.parties),
            ceremony_id=request.ceremony_id,
        )

    # -- signing -------------------------------------------------------------------------

    @activity.defn(name="coordinator.plan_sign")
    async def plan_sign(self, request: PlanSignInput) -> SignPlan:
        """Validates a signing request, picks the signer set, records the ceremony's start."""
        wanted = request.request
        created = await self._wallet_created(wanted.wallet_id)
        if created is None:
            raise _refuse(UnknownWallet(f"no wallet {wanted.wallet_id}"))
        wallet = _wallet_info(created)
        message = bytes.fromhex(wanted.message)
        if wallet.scheme == "bip340" and len(message) != 32:
            raise _refuse(InvalidMessage("a BIP340 (taproot) signature is over a 32-byte digest"))
        if wallet.scheme == "ecdsa-secp256k1" and len(message) != 32:
            raise _refuse(InvalidMessage("an ECDSA signature is over a 32-byte digest"))
        if wallet.scheme == "ed25519" and not 0 < len(message) <= MAX_ED25519_MESSAGE:
            raise _refuse(InvalidMessage(f"an Ed25519 message is 1 to {MAX_ED25519_MESSAGE} bytes"))
        if wanted.taproot_merkle_root is not None and (
            wallet.scheme != "bip340" or len(bytes.fromhex(wanted.taproot_merkle_root)) != 32
        ):
            raise _refuse(InvalidMessage("a taproot merkle root is 32 bytes, for bip340 wallets"))
        signers = self._choose_signers(wallet, wanted.signers)
        await self._record_started(
            CeremonyStartedInput(
                ceremony_id=request.ceremony_id,
                wallet_id=wallet.wallet_id,
                kind="sign",
                protocol=wallet.ciphersuite,
                parties=signers,
            )
        )
        presignature = None
        if wallet.scheme == "ecdsa-secp256k1":
            presignature = await self._reserve_presignature(
                wallet.wallet_id, signers, request.ceremony_id
            )
        return SignPlan(
            wallet=wallet,
            signers=signers,
            message=wanted.message,
            taproot_merkle_root=wanted.taproot_merkle_root,
            presignature=presignature,
        )

    async def _reserve_presignature(
        self, wallet_id: str, signers: tuple[str, ...], ceremony_id: str
    ) -> PresignatureRef | None:
        """Takes a pooled presignature of this signer set, if any is left.

        The reservation is an append whose idempotency key is the presignature's: a retry
        of this ceremony gets its own reservation back, while a concurrent ceremony's
        attempt conflicts and moves on to the next one, so none is handed out twice.
        """
        added: dict[str, PresignatureAdded] = {}
        used: set[str] = set()
        for stored in await self._events.read_stream(_presignature_stream(wallet_id)):
            event = parse_event(stored)
            if isinstance(event, PresignatureAdded):
                added[event.presign_id] = event
            elif isinstance(event, PresignatureUsed):
                if event.ceremony_id == ceremony_id:
                    ours = added[event.presign_id]
                    return PresignatureRef(
                        presign_id=ours.presign_id, R=ours.R, R_shares=ours.R_shares
                    )
                used.add(event.presign_id)
        for presign_id, event in added.items():
            if presign_id in used or sorted(event.signers) != sorted(signers):
                continue
            try:
                await self._events.append(
                    to_new_event(
                        PresignatureUsed(
                            wallet_id=wallet_id, presign_id=presign_id, ceremony_id=ceremony_id
                        ),
                        stream_id=_presignature_stream(wallet_id),
                        idempotency_key=f"{presign_id}/PresignatureUsed",
                        metadata={"ceremony": ceremony_id},
                    )
                )
            except IdempotencyConflict:
                continue
            return PresignatureRef(presign_id=presign_id, R=event.R, R_shares=event.R_shares)
        return None

    @activity.defn(name="coordinator.plan_presign")
    async def plan_presign(self, request: PresignPlanInput) -> SignPlan:
        """Validates a pool refill for an ECDSA wallet and records the ceremony's start."""
        wanted = request.request
        created = await self._wallet_created(wanted.wallet_id)
        if created is None:
            raise _refuse(UnknownWallet(f"no wallet {wanted.wallet_id}"))
        if created.scheme != "ecdsa-secp256k1":
            raise _refuse(InvalidMessage("presignatures are for ECDSA wallets"))
        wallet = _wallet_info(created)
        signers = tuple(sorted(self._choose_signers(wallet, wanted.signers)))
        await self._record_started(
            CeremonyStartedInput(
                ceremony_id=request.ceremony_id,
                wallet_id=wallet.wallet_id,
                kind="presign",
                protocol=wallet.ciphersuite,
                parties=signers,
            )
        )
        return SignPlan(wallet=wallet, signers=signers, message="", taproot_merkle_root=None)

    @activity.defn(name="coordinator.record_presignature")
    async def record_presignature(self, request: RecordPresignatureInput) -> None:
        await self._events.append(
            to_new_event(
                PresignatureAdded(
                    wallet_id=request.wallet_id,
                    presign_id=request.presign_id,
                    signers=list(request.signers),
                    R=request.R,
                    R_shares=request.R_shares,
                ),
                stream_id=_presignature_stream(request.wallet_id),
                idempotency_key=f"{request.presign_id}/PresignatureAdded",
            )
        )

    def _choose_signers(self, wallet: WalletInfo, requested: tuple[str, ...]) -> tuple[str, ...]:
        if requested:
            duplicates = sorted({p for p in requested if requested.count(p) > 1})
            if duplicates:
                raise _refuse(DuplicateParty(f"signers listed twice: {', '.join(duplicates)}"))
            strangers = sorted(p for p in requested if p not in wallet.parties)
            if strangers:
                raise _refuse(InvalidSigners(f"not parties of the wallet: {', '.join(strangers)}"))
            if len(requested) < wallet.threshold:
                raise _refuse(
                    InvalidSigners(f"{len(requested)} signers, the wallet needs {wallet.threshold}")
                )
            return requested
        # Primaries first, in topology order; backups only if primaries are too few. Party
        # health and circuit breakers refine this choice in the reliability work.
        primaries = [p.id for p in self._topology.primaries if p.id in wallet.parties]
        others = [p for p in wallet.parties if p not in primaries]
        return tuple((primaries + others)[: wallet.threshold])

    @activity.defn(name="coordinator.aggregate")
    async def aggregate(self, request: AggregateInput) -> SignResult:
        """Aggregates, verifies (naming cheaters), double-checks, records the signature."""
        plan = request.plan
        wallet = plan.wallet
        cs = ciphersuite(wallet.ciphersuite)
        names = names_by_identifier(cs, plan.signers)
        message = bytes.fromhex(plan.message)
        public = decode(bytes.fromhex(wallet.public_key_package), PublicKeyPackage)
        if cs is FROST_SECP256K1_TR:
            root = bytes.fromhex(plan.taproot_merkle_root) if plan.taproot_merkle_root else None
            public = tweak_public_key_package(public, root)
        try:
            package = SigningPackage(
                cs,
                [
                    decode(bytes.fromhex(c), SigningCommitments)
                    for c in request.commitments.values()
                ],
                message,
            )
            shares = [
                decode(bytes.fromhex(s), SignatureShare) for s in request.signature_shares.values()
            ]
            signature = aggregate(package, shares, public)
        except FrostError as error:
            culprits = sorted(names.get(c, str(c)) for c in error.culprits)
            await self.record_blame(
                request.ceremony_id, wallet.wallet_id, type(error).__name__, str(error), culprits
            )
            raise business_error(error, culprits=culprits) from None
        encoded = signature.to_bytes()
        key = public.verifying_key
        if isinstance(key, Secp256k1Element):
            public_key = key.x_only()
            if not PublicKeyXOnly(public_key).verify(encoded, message):
                raise RuntimeError("libsecp256k1 rejected a signature our FROST code accepted")
        else:
            public_key = key.to_bytes()
            try:
                VerifyKey(public_key).verify(message, encoded)
            except BadSignatureError:
                raise RuntimeError(
                    "libsodium rejected a signature our FROST code accepted"
                ) from None
        return await _record_signature(self._events, plan, request.ceremony_id, public_key, encoded)

    # -- events ------------------------------------------------------------------------

    async def record_blame(
        self, ceremony_id: str, wallet_id: str, kind: str, reason: str, culprits: list[str]
    ) -> None:
        """PartyMisbehaved for each culprit, then CeremonyFailed (identifiable abort)."""
        for party in culprits:
            await self._events.append(
                to_new_event(
                    PartyMisbehaved(
                        ceremony_id=ceremony_id, wallet_id=wallet_id, party=party, reason=kind
                    ),
                    stream_id=_ceremony_stream(ceremony_id),
                    idempotency_key=f"{ceremony_id}/PartyMisbehaved/{party}",
                    metadata={"ceremony": ceremony_id},
                )
            )
        await self._record_failed(
            CeremonyFailedInput(
                ceremony_id=ceremony_id,
                wallet_id=wallet_id,
                reason=reason,
                culprits=tuple(culprits),
            )
        )

    @activity.defn(name="coordinator.record_failed")
    async def record_failed(self, request: CeremonyFailedInput) -> None:
        await self._record_failed(request)

    async def _record_failed(self, request: CeremonyFailedInput) -> None:
        await self._events.append(
            to_new_event(
                CeremonyFailed(
                    ceremony_id=request.ceremony_id,
                    wallet_id=request.wallet_id,
                    reason=request.reason,
                    culprits=list(request.culprits),
                ),
                stream_id=_ceremony_stream(request.ceremony_id),
                idempotency_key=f"{request.ceremony_id}/CeremonyFailed",
                metadata={"ceremony": request.ceremony_id},
            )
        )

    async def _record_started(self, request: CeremonyStartedInput) -> None:
        await self._events.append(
            to_new_event(
                CeremonyStarted(
                    ceremony_id=request.ceremony_id,
                    wallet_id=request.wallet_id,
                    kind=request.kind,
                    protocol=request.protocol,
                    parties=list(request.parties),
                ),
                stream_id=_ceremony_stream(request.ceremony_id),
                idempotency_key=f"{request.ceremony_id}/CeremonyStarted",
                metadata={"ceremony": request.ceremony_id},
            )
        )

    async def _wallet_created(self, wallet_id: str) -> WalletCreated | None:
        for stored in await self._events.read_stream(_wallet_stream(wallet_id)):
            event = parse_event(stored)
            if isinstance(event, WalletCreated):
                return event
        return None


class EcdsaCoordinatorActivities:
    """Coordinator steps of the ECDSA ceremonies: checks, combination, the event log."""

    def __init__(self, topology: Topology, events: EventStore) -> None:
        self._topology = topology
        self._events = events

    @activity.defn(name="coordinator.list_parties")
    async def list_parties(self, request: NoopInput) -> PartiesResult:
        return PartiesResult(parties=tuple(p.id for p in self._topology.parties))

    @activity.defn(name="coordinator.ecdsa_check_aux")
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
    async def combine(self, request: EcdsaCombineInput) -> SignResult:
        """Checks every σ_i (naming cheaters), sums, verifies with libsecp256k1, records."""
        plan = request.plan
        wallet = plan.wallet
        public = decode(bytes.fromhex(wallet.public_key_package), PublicKeyPackage)
        key = public.verifying_key
        if not isinstance(key, Secp256k1Element):
            raise business_error(TypeError("not a secp256k1 wallet"))
        digest = bytes.fromhex(plan.message)
        try:
            R = SECP256K1.deserialize_element(bytes.fromhex(request.R))
            R_shares = {
                p: SECP256K1.deserialize_element(bytes.fromhex(v))
                for p, v in request.R_shares.items()
            }
            shares = {
                p: ecdsa_codec.decode(v, EcdsaSignatureShare, sender=p)
                for p, v in request.shares.items()
            }
            if not isinstance(R, Secp256k1Element):
                raise InvalidModulus("R is not a secp256k1 point")
            signature = ecdsa_combine(R, R_shares, key, digest, shares)
        except EcdsaError as error:
            culprits = list(error.culprits)
            await CoordinatorActivities(self._topology, self._events).record_blame(
                request.ceremony_id, wallet.wallet_id, type(error).__name__, str(error), culprits
            )
            raise business_error(error, culprits=culprits) from None
        return await _record_signature(
            self._events,
            plan,
            request.ceremony_id,
            key.to_bytes(),
            signature.to_bytes(),
            signature.recovery_id,
        )
