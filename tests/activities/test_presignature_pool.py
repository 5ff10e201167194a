"""The coordinator's presignature pool: reservation once, and never a presignature made
before presignatures kept their transcript (it could neither sign nor identify)."""

from __future__ import annotations

from activities.models import RecordPresignatureInput
from activities.presignatures import PresignaturePool
from mpc.group import SECP256K1
from storage.events.port import open_event_store

SIGNERS = ("us-1", "eu-1", "apac-1")


def _record(presign_id: str, digest: str) -> RecordPresignatureInput:
    point = SECP256K1.base_mul(SECP256K1.scalar(7)).to_bytes().hex()
    return RecordPresignatureInput(
        wallet_id="eth-pool",
        presign_id=presign_id,
        signers=SIGNERS,
        R=point,
        R_shares={p: point for p in SIGNERS},
        transcript_digest=digest,
    )


async def test_a_presignature_without_a_transcript_is_never_reserved() -> None:
    events = await open_event_store("sqlite:///:memory:")
    try:
        pool = PresignaturePool(events)
        await pool.add(_record("old", ""))
        await pool.add(_record("new", "ab" * 32))
        first = await pool.reserve("eth-pool", SIGNERS, "sign-1")
        assert first is not None
        assert (first.presign_id, first.transcript_digest) == ("new", "ab" * 32)
        # The same ceremony gets its reservation back; another finds nothing usable.
        assert await pool.reserve("eth-pool", SIGNERS, "sign-1") == first
        assert await pool.reserve("eth-pool", SIGNERS, "sign-2") is None
    finally:
        await events.close()
