"""The coordinator's ceremony log: what it reads from and appends to the event store.

Every event of a ceremony goes to that ceremony's stream under an idempotency key made
from the ceremony id and the event type (``storage.events.models``), so a retried step
that records the same event again is a no-op, and a different event under the same key is
refused by the store.

A wallet is created exactly once, and the store decides who creates it: a creation
ceremony's ``CeremonyStarted`` is keyed by the wallet rather than by the ceremony, so of
two ceremonies for one wallet id only the first can record its start (the other is
refused, ``WalletExists``, before any party works); and ``WalletCreated`` is appended at
expected stream version 0, so even a writer that got past that check cannot add a second
creation to the wallet's stream.
"""

from __future__ import annotations

from collections.abc import Iterable

from temporalio.exceptions import ApplicationError

from activities.errors import CeremonyAbort, WalletExists, business_error
from activities.models import SignPlan, SignResult, WalletInfo
from storage.events.errors import IdempotencyConflict, StreamVersionConflict
from storage.events.models import (
    CeremonyFailed,
    CeremonyKind,
    CeremonyStarted,
    PartyMisbehaved,
    SignatureProduced,
    WalletCreated,
    ceremony_stream,
    idempotency_key,
    parse_event,
    to_new_event,
    wallet_stream,
)
from storage.events.port import EventStore


def wallet_info(created: WalletCreated) -> WalletInfo:
    return WalletInfo(
        wallet_id=created.wallet_id,
        scheme=created.scheme,
        ciphersuite=created.ciphersuite,
        threshold=created.threshold,
        parties=tuple(created.parties),
        group_public_key=created.group_public_key,
        public_key_package=created.public_key_package,
    )


async def find_wallet(events: EventStore, wallet_id: str) -> WalletCreated | None:
    """The wallet's creation event, or None if no wallet of that id was created."""
    for stored in await events.read_stream(wallet_stream(wallet_id)):
        event = parse_event(stored)
        if isinstance(event, WalletCreated):
            return event
    return None


class CeremonyRecorder:
    """Appends the events of ceremonies: started, wallet created, signature produced,
    party misbehaved, failed."""

    def __init__(self, events: EventStore) -> None:
        self._events = events

    async def started(
        self,
        ceremony_id: str,
        wallet_id: str,
        kind: CeremonyKind,
        protocol: str,
        parties: Iterable[str],
    ) -> None:
        await self._append(
            ceremony_id,
            CeremonyStarted(
                ceremony_id=ceremony_id,
                wallet_id=wallet_id,
                kind=kind,
                protocol=protocol,
                parties=list(parties),
            ),
        )

    async def creation_started(
        self, ceremony_id: str, wallet_id: str, protocol: str, parties: Iterable[str]
    ) -> None:
        """Records the start of a wallet's creation ceremony, or raises WalletExists if
        another ceremony already started creating that wallet id.

        The event goes to the ceremony's stream like every CeremonyStarted, but under the
        key ``wallet-<id>/CeremonyStarted``: a retry of this ceremony's step finds its own
        event there, another ceremony's differs and is refused by the store. The id stays
        taken even if that ceremony fails, since parties may already hold shares under it.
        """
        event = CeremonyStarted(
            ceremony_id=ceremony_id,
            wallet_id=wallet_id,
            kind="create_wallet",
            protocol=protocol,
            parties=list(parties),
        )
        try:
            await self._events.append(
                to_new_event(
                    event,
                    stream_id=ceremony_stream(ceremony_id),
                    idempotency_key=idempotency_key(wallet_stream(wallet_id), CeremonyStarted),
                    metadata={"ceremony": ceremony_id},
                )
            )
        except IdempotencyConflict:
            raise WalletExists(
                f"wallet {wallet_id} is already being created by another ceremony"
            ) from None

    async def wallet_created(self, event: WalletCreated) -> None:
        """The wallet's stream holds only its creation, so loading a wallet stays one
        small read however many signatures it makes. Appended at expected version 0: a
        second creation of the same wallet raises WalletExists and writes nothing."""
        try:
            await self._events.append(
                to_new_event(
                    event,
                    stream_id=wallet_stream(event.wallet_id),
                    idempotency_key=idempotency_key(event.ceremony_id, WalletCreated),
                    metadata={"ceremony": event.ceremony_id},
                ),
                expected_version=0,
            )
        except StreamVersionConflict:
            raise WalletExists(f"wallet {event.wallet_id} already exists") from None

    async def signature(
        self,
        plan: SignPlan,
        ceremony_id: str,
        public_key: bytes,
        signature: bytes,
        recovery_id: int | None = None,
    ) -> SignResult:
        """Records SignatureProduced (once per ceremony) and returns the ceremony's result."""
        wallet = plan.wallet
        await self._append(
            ceremony_id,
            SignatureProduced(
                ceremony_id=ceremony_id,
                wallet_id=wallet.wallet_id,
                scheme=wallet.scheme,
                public_key=public_key.hex(),
                message=plan.message,
                signature=signature.hex(),
                signers=list(plan.signers),
            ),
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

    async def blame(
        self, ceremony_id: str, wallet_id: str, kind: str, reason: str, culprits: list[str]
    ) -> None:
        """PartyMisbehaved for each culprit, then CeremonyFailed (identifiable abort)."""
        for party in culprits:
            await self._append(
                ceremony_id,
                PartyMisbehaved(
                    ceremony_id=ceremony_id, wallet_id=wallet_id, party=party, reason=kind
                ),
                party,
            )
        await self.failed(ceremony_id, wallet_id, reason, culprits)

    async def abort(
        self, ceremony_id: str, wallet_id: str, abort: CeremonyAbort
    ) -> ApplicationError:
        """Records an identifiable abort (PartyMisbehaved per culprit, CeremonyFailed) and
        returns the typed, non-retryable failure to raise."""
        kind = type(abort.error).__name__
        await self.blame(ceremony_id, wallet_id, kind, str(abort.error), abort.culprits)
        return business_error(abort.error, culprits=abort.culprits)

    async def failed(
        self, ceremony_id: str, wallet_id: str, reason: str, culprits: Iterable[str] = ()
    ) -> None:
        await self._append(
            ceremony_id,
            CeremonyFailed(
                ceremony_id=ceremony_id,
                wallet_id=wallet_id,
                reason=reason,
                culprits=list(culprits),
            ),
        )

    async def _append(
        self,
        ceremony_id: str,
        event: CeremonyStarted | SignatureProduced | PartyMisbehaved | CeremonyFailed,
        *qualifiers: str,
    ) -> None:
        await self._events.append(
            to_new_event(
                event,
                stream_id=ceremony_stream(ceremony_id),
                idempotency_key=idempotency_key(ceremony_id, type(event), *qualifiers),
                metadata={"ceremony": ceremony_id},
            )
        )
