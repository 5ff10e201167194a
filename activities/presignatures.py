"""The coordinator's view of a wallet's ECDSA presignature pool: added and reserved.

A presignature's public part (R and each signer's R_i) is recorded as
``PresignatureAdded`` on the wallet's presignature stream; a signing ceremony reserves one
with ``PresignatureUsed``, whose idempotency key is the presignature's, so no
presignature is ever handed to two ceremonies. The parties' own vaults consume their
secret halves durably as the second line.
"""

from __future__ import annotations

from activities.models import PresignatureRef, RecordPresignatureInput
from storage.events.errors import IdempotencyConflict
from storage.events.models import (
    PresignatureAdded,
    PresignatureUsed,
    idempotency_key,
    parse_event,
    presignature_stream,
    to_new_event,
)
from storage.events.port import EventStore


class PresignaturePool:
    def __init__(self, events: EventStore) -> None:
        self._events = events

    async def add(self, request: RecordPresignatureInput) -> None:
        await self._events.append(
            to_new_event(
                PresignatureAdded(
                    wallet_id=request.wallet_id,
                    presign_id=request.presign_id,
                    signers=list(request.signers),
                    R=request.R,
                    R_shares=request.R_shares,
                    transcript_digest=request.transcript_digest,
                ),
                stream_id=presignature_stream(request.wallet_id),
                idempotency_key=idempotency_key(request.presign_id, PresignatureAdded),
            )
        )

    async def reserve(
        self, wallet_id: str, signers: tuple[str, ...], ceremony_id: str
    ) -> PresignatureRef | None:
        """Takes a pooled presignature of this signer set, if any is left.

        The reservation is an append whose idempotency key is the presignature's: a retry
        of this ceremony gets its own reservation back, while a concurrent ceremony's
        attempt conflicts and moves on to the next one, so none is handed out twice.
        """
        added: dict[str, PresignatureAdded] = {}
        used: set[str] = set()
        for stored in await self._events.read_stream(presignature_stream(wallet_id)):
            event = parse_event(stored)
            if isinstance(event, PresignatureAdded):
                added[event.presign_id] = event
            elif isinstance(event, PresignatureUsed):
                if event.ceremony_id == ceremony_id:
                    return _reference(added[event.presign_id])
                used.add(event.presign_id)
        for presign_id, event in added.items():
            if presign_id in used or sorted(event.signers) != sorted(signers):
                continue
            if not event.transcript_digest:
                # Made before presignatures kept their transcript: the signers' records
                # no longer decode, and a failed signing could name nobody. Never used.
                continue
            try:
                await self._events.append(
                    to_new_event(
                        PresignatureUsed(
                            wallet_id=wallet_id, presign_id=presign_id, ceremony_id=ceremony_id
                        ),
                        stream_id=presignature_stream(wallet_id),
                        idempotency_key=idempotency_key(presign_id, PresignatureUsed),
                        metadata={"ceremony": ceremony_id},
                    )
                )
            except IdempotencyConflict:
                continue
            return _reference(event)
        return None


def _reference(event: PresignatureAdded) -> PresignatureRef:
    return PresignatureRef(
        presign_id=event.presign_id,
        R=event.R,
        R_shares=event.R_shares,
        transcript_digest=event.transcript_digest,
    )
