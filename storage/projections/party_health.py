"""Party-health projection: how reliable each party has been, for choosing signers.

Projection name ``party_health``. The signing workflow picks the healthiest ``t`` parties
(ARCHITECTURE.md, "How a signature is made", step 3); this is where it reads their health.

Counts (plain, never decayed), per party:

* ``ceremonies_started``: ``CeremonyStarted`` events listing it;
* ``ceremonies_completed``: ceremonies it finished successfully (``SignatureProduced``
  listing it as a signer, ``WalletCreated`` listing it as a party);
* ``ceremonies_failed``: ``CeremonyFailed`` for a ceremony it took part in (or was blamed
  for), whoever was at fault; ``ceremonies_blamed``: those naming it among the culprits;
* ``misbehaviour_count``: ``PartyMisbehaved`` naming it (an invalid share or proof).

Health score, in [0, 1]. Three exponentially decayed tallies, each halving every
``half_life`` (default 7 days) of event time: ``s`` successes (completions), ``f`` failures
it was blamed for, ``m`` misbehaviours. Then::

    score = (s + PRIOR) / (s + f + PRIOR) * MISBEHAVIOUR_PENALTY ** m

with ``PRIOR = 1`` (one imaginary success, so a new party starts at 1.0 and one blamed
failure in a short history weighs a lot but not everything) and ``MISBEHAVIOUR_PENALTY =
0.5`` (each recent misbehaviour halves the score; cheating is worse than timing out, and a
cheater is usually also blamed for the failure). Unattributed failures (no culprits) lower no
one's score: the coordinator, the network or the chain failed, not a named party. Decay
uses the events' ``recorded_at``, never the wall clock, so a rebuild computes the very same
numbers; the stored ``health_score`` is the score as of ``decayed_at`` (the party's last
outcome), and :meth:`PartyHealth.score_at` ages it to any later instant (old failures fade).

Tables::

    party_health  party_id PK, ceremonies_started, ceremonies_completed, ceremonies_failed,
                  ceremonies_blamed, misbehaviour_count (BIGINT), decayed_successes,
                  decayed_failures, decayed_misbehaviours (DOUBLE PRECISION), decayed_at,
                  health_score (DOUBLE PRECISION), last_failure_reason,
                  last_failure_at, last_failure_ceremony, last_position
    party_health_participants  (ceremony_id, party_id) PK: who is in each ceremony still
                  running, so a failure can be charged to its participants; rows are deleted
                  when the ceremony ends, so the table stays small.

Queries: :func:`get_party_health`, :func:`list_party_health` (healthiest first).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from pydantic import BaseModel, ConfigDict, Field

from storage.events.models import (
    CeremonyFailed,
    CeremonyStarted,
    PartyMisbehaved,
    SignatureProduced,
    WalletCreated,
)
from storage.events.port import StoredEvent
from storage.projections.port import (
    BatchProjection,
    Decoder,
    ProjectionDb,
    ProjectionTx,
    Row,
    as_datetime,
    as_is,
    decode_domain_event,
    decode_row,
    require_datetime,
)

DEFAULT_HALF_LIFE = timedelta(days=7)
PRIOR = 1.0
MISBEHAVIOUR_PENALTY = 0.5

_DDL = (
    """
    CREATE TABLE IF NOT EXISTS party_health (
        party_id              TEXT PRIMARY KEY,
        ceremonies_started    BIGINT NOT NULL,
        ceremonies_completed  BIGINT NOT NULL,
        ceremonies_failed     BIGINT NOT NULL,
        ceremonies_blamed     BIGINT NOT NULL,
        misbehaviour_count    BIGINT NOT NULL,
        decayed_successes     DOUBLE PRECISION NOT NULL,
        decayed_failures      DOUBLE PRECISION NOT NULL,
        decayed_misbehaviours DOUBLE PRECISION NOT NULL,
        decayed_at            {timestamp} NOT NULL,
        health_score          DOUBLE PRECISION NOT NULL
                              CHECK (health_score >= 0 AND health_score <= 1),
        last_failure_reason   TEXT,
        last_failure_at       {timestamp},
        last_failure_ceremony TEXT,
        last_position         BIGINT NOT NULL
    )
    """,
    """
    CREATE TABLE IF NOT EXISTS party_health_participants (
        ceremony_id TEXT NOT NULL,
        party_id    TEXT NOT NULL,
        PRIMARY KEY (ceremony_id, party_id)
    )
    """,
)

_SELECT = (
    "SELECT party_id, ceremonies_started, ceremonies_completed, ceremonies_failed,"
    " ceremonies_blamed, misbehaviour_count, decayed_successes, decayed_failures,"
    " decayed_misbehaviours, decayed_at, health_score, last_failure_reason, last_failure_at,"
    " last_failure_ceremony, last_position FROM party_health"
)
_SELECT_ONE = _SELECT + " WHERE party_id = $1"
_SELECT_ALL = _SELECT + " ORDER BY health_score DESC, party_id"
_UPSERT = (
    "INSERT INTO party_health (party_id, ceremonies_started, ceremonies_completed,"
    " ceremonies_failed, ceremonies_blamed, misbehaviour_count, decayed_successes,"
    " decayed_failures, decayed_misbehaviours, decayed_at, health_score, last_failure_reason,"
    " last_failure_at, last_failure_ceremony, last_position) VALUES ($1, $2, $3, $4, $5, $6, $7,"
    " $8, $9, $10, $11, $12, $13, $14, $15) ON CONFLICT (party_id) DO UPDATE SET"
    " ceremonies_started = excluded.ceremonies_started, ceremonies_completed ="
    " excluded.ceremonies_completed, ceremonies_failed = excluded.ceremonies_failed,"
    " ceremonies_blamed = excluded.ceremonies_blamed, misbehaviour_count ="
    " excluded.misbehaviour_count, decayed_successes = excluded.decayed_successes,"
    " decayed_failures = excluded.decayed_failures, decayed_misbehaviours ="
    " excluded.decayed_misbehaviours, decayed_at = excluded.decayed_at, health_score ="
    " excluded.health_score, last_failure_reason = excluded.last_failure_reason, last_failure_at ="
    " excluded.last_failure_at, last_failure_ceremony = excluded.last_failure_ceremony,"
    " last_position = excluded.last_position"
)
_ADD_PARTICIPANT = (
    "INSERT INTO party_health_participants (ceremony_id, party_id) VALUES ($1, $2)"
    " ON CONFLICT (ceremony_id, party_id) DO NOTHING"
)
_PARTICIPANTS = (
    "SELECT party_id FROM party_health_participants WHERE ceremony_id = $1 ORDER BY party_id"
)
_END_CEREMONY = "DELETE FROM party_health_participants WHERE ceremony_id = $1"


def decay_factor(elapsed: timedelta, half_life: timedelta) -> float:
    """``0.5 ** (elapsed / half_life)``; a negative ``elapsed`` (clock skew) decays nothing."""
    seconds = max(elapsed.total_seconds(), 0.0)
    return math.pow(0.5, seconds / half_life.total_seconds())


def health_score(successes: float, failures: float, misbehaviours: float) -> float:
    """The health formula of this module's docstring, clamped to [0, 1]."""
    ratio = (successes + PRIOR) / (successes + failures + PRIOR)
    score = ratio * math.pow(MISBEHAVIOUR_PENALTY, misbehaviours)
    return min(max(score, 0.0), 1.0)


class PartyHealth(BaseModel):
    """One party's health row."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    party_id: str
    ceremonies_started: int
    ceremonies_completed: int
    ceremonies_failed: int
    ceremonies_blamed: int
    misbehaviour_count: int
    decayed_successes: float
    decayed_failures: float
    decayed_misbehaviours: float
    decayed_at: datetime
    health_score: float = Field(ge=0, le=1)
    last_failure_reason: str | None
    last_failure_at: datetime | None
    last_failure_ceremony: str | None

    def score_at(self, instant: datetime, half_life: timedelta = DEFAULT_HALF_LIFE) -> float:
        """The score aged to ``instant``: every tally decayed from ``decayed_at`` to then."""
        factor = decay_factor(instant - self.decayed_at, half_life)
        return health_score(
            self.decayed_successes * factor,
            self.decayed_failures * factor,
            self.decayed_misbehaviours * factor,
        )


_TALLY_DECODERS: dict[str, Decoder] = {
    "party_id": as_is,
    "ceremonies_started": int,
    "ceremonies_completed": int,
    "ceremonies_failed": int,
    "ceremonies_blamed": int,
    "misbehaviour_count": int,
    "decayed_successes": float,
    "decayed_failures": float,
    "decayed_misbehaviours": float,
    "decayed_at": require_datetime,
    "last_failure_reason": as_is,
    "last_failure_at": as_datetime,
    "last_failure_ceremony": as_is,
}
"""How each column of ``party_health`` that a :class:`_Tally` holds reads back."""
_DECODERS: dict[str, Decoder] = {**_TALLY_DECODERS, "health_score": float}
"""The same, with the stored score: a :class:`PartyHealth`."""


@dataclass(frozen=True, slots=True)
class _Tally:
    """A party_health row while it is being updated in Python (fields named as the columns).

    The arithmetic runs here, not in SQL, so SQLite and PostgreSQL produce bit-identical
    floats and a rebuild reproduces the incremental result exactly.
    """

    party_id: str
    ceremonies_started: int = 0
    ceremonies_completed: int = 0
    ceremonies_failed: int = 0
    ceremonies_blamed: int = 0
    misbehaviour_count: int = 0
    decayed_successes: float = 0.0
    decayed_failures: float = 0.0
    decayed_misbehaviours: float = 0.0
    decayed_at: datetime | None = None
    last_failure_reason: str | None = None
    last_failure_at: datetime | None = None
    last_failure_ceremony: str | None = None

    def aged(self, at: datetime, half_life: timedelta) -> _Tally:
        if self.decayed_at is None:
            return replace(self, decayed_at=at)
        factor = decay_factor(at - self.decayed_at, half_life)
        return replace(
            self,
            decayed_successes=self.decayed_successes * factor,
            decayed_failures=self.decayed_failures * factor,
            decayed_misbehaviours=self.decayed_misbehaviours * factor,
            decayed_at=max(at, self.decayed_at),
        )

    def score(self) -> float:
        return health_score(
            self.decayed_successes, self.decayed_failures, self.decayed_misbehaviours
        )

    @staticmethod
    def from_row(row: Row) -> _Tally:
        return _Tally(**decode_row(row, _TALLY_DECODERS))


class PartyHealthProjection(BatchProjection):
    """Per-party ceremony counts and a decayed health score (see the module docstring).

    Changing ``half_life`` changes the stored numbers: bump ``version`` (or call the
    runner's ``rebuild``) when a deployment changes it.
    """

    name = "party_health"
    version = 1
    tables = ("party_health", "party_health_participants")
    ddl = _DDL

    def __init__(self, half_life: timedelta = DEFAULT_HALF_LIFE) -> None:
        if half_life <= timedelta(0):
            raise ValueError("half_life must be positive")
        self.half_life = half_life

    async def apply_batch(self, tx: ProjectionTx, events: Sequence[StoredEvent]) -> None:
        batch = _Batch(tx, self.half_life)
        for event in events:
            domain = decode_domain_event(event)
            if isinstance(domain, CeremonyStarted):
                batch.start(domain.ceremony_id, domain.parties)
                for party in domain.parties:
                    tally = await batch.tally(party, event)
                    batch.put(
                        replace(tally, ceremonies_started=tally.ceremonies_started + 1), event
                    )
            elif isinstance(domain, SignatureProduced | WalletCreated):
                parties = (
                    domain.signers if isinstance(domain, SignatureProduced) else domain.parties
                )
                for party in parties:
                    tally = await batch.tally(party, event)
                    batch.put(
                        replace(
                            tally,
                            ceremonies_completed=tally.ceremonies_completed + 1,
                            decayed_successes=tally.decayed_successes + 1,
                        ),
                        event,
                    )
                batch.end(domain.ceremony_id)
            elif isinstance(domain, CeremonyFailed):
                culprits = set(domain.culprits)
                # Culprits are charged even if the ceremony's start was never seen.
                involved = sorted(await batch.participants(domain.ceremony_id) | culprits)
                for party in involved:
                    blamed = party in culprits
                    tally = await batch.tally(party, event)
                    batch.put(
                        replace(
                            tally,
                            ceremonies_failed=tally.ceremonies_failed + 1,
                            ceremonies_blamed=tally.ceremonies_blamed + (1 if blamed else 0),
                            decayed_failures=tally.decayed_failures + (1.0 if blamed else 0.0),
                            last_failure_reason=domain.reason,
                            last_failure_at=event.recorded_at,
                            last_failure_ceremony=domain.ceremony_id,
                        ),
                        event,
                    )
                batch.end(domain.ceremony_id)
            elif isinstance(domain, PartyMisbehaved):
                tally = await batch.tally(domain.party, event)
                batch.put(
                    replace(
                        tally,
                        misbehaviour_count=tally.misbehaviour_count + 1,
                        decayed_misbehaviours=tally.decayed_misbehaviours + 1.0,
                    ),
                    event,
                )
            # Anything else (unknown types included) does not concern this projection.
        await batch.flush()


@dataclass(slots=True)
class _Members:
    """A ceremony's participant rows as the batch leaves them."""

    members: set[str] = field(default_factory=set)
    cleared: bool = False
    """The stored rows are to be deleted (the ceremony ended in this batch)."""
    loaded: bool = False
    """The stored rows have been read into ``members``."""


class _Batch:
    """One batch's rows, each read at most once and written once, at :meth:`flush`.

    Folding in memory and writing each party's row once per batch is what keeps a rebuild
    fast (a signing ceremony touches every signer's row several times); the result is the
    row the event-at-a-time fold would leave, which the contract tests check.
    """

    def __init__(self, tx: ProjectionTx, half_life: timedelta) -> None:
        self._tx = tx
        self._half_life = half_life
        self._tallies: dict[str, tuple[_Tally, int]] = {}
        self._ceremonies: dict[str, _Members] = {}

    async def tally(self, party: str, event: StoredEvent) -> _Tally:
        """The party's tally (a fresh one if it has none), decayed to ``event``'s time."""
        known = self._tallies.get(party)
        if known is not None:
            tally = known[0]
        else:
            row = await self._tx.fetchrow(_SELECT_ONE, party)
            tally = _Tally.from_row(row) if row is not None else _Tally(party_id=party)
        return tally.aged(event.recorded_at, self._half_life)

    def put(self, tally: _Tally, event: StoredEvent) -> None:
        self._tallies[tally.party_id] = (tally, event.position)

    def start(self, ceremony: str, parties: list[str]) -> None:
        self._ceremonies.setdefault(ceremony, _Members()).members.update(parties)

    def end(self, ceremony: str) -> None:
        self._ceremonies[ceremony] = _Members(cleared=True)

    async def participants(self, ceremony: str) -> set[str]:
        state = self._ceremonies.setdefault(ceremony, _Members())
        if not state.cleared and not state.loaded:
            rows = await self._tx.fetch(_PARTICIPANTS, ceremony)
            state.members.update(str(row["party_id"]) for row in rows)
            state.loaded = True
        return set(state.members)

    async def flush(self) -> None:
        ended = [(ceremony,) for ceremony, state in self._ceremonies.items() if state.cleared]
        if ended:
            await self._tx.executemany(_END_CEREMONY, ended)
        running = [
            (ceremony, party)
            for ceremony, state in self._ceremonies.items()
            for party in sorted(state.members)
        ]
        if running:
            await self._tx.executemany(_ADD_PARTICIPANT, running)
        if self._tallies:
            await self._tx.executemany(
                _UPSERT,
                [
                    (
                        tally.party_id,
                        tally.ceremonies_started,
                        tally.ceremonies_completed,
                        tally.ceremonies_failed,
                        tally.ceremonies_blamed,
                        tally.misbehaviour_count,
                        tally.decayed_successes,
                        tally.decayed_failures,
                        tally.decayed_misbehaviours,
                        tally.decayed_at,
                        tally.score(),
                        tally.last_failure_reason,
                        tally.last_failure_at,
                        tally.last_failure_ceremony,
                        position,
                    )
                    for tally, position in self._tallies.values()
                ],
            )


def _health(row: Row) -> PartyHealth:
    return PartyHealth(**decode_row(row, _DECODERS))


async def get_party_health(db: ProjectionDb, party_id: str) -> PartyHealth | None:
    """One party's health, or ``None`` if no ceremony has involved it yet."""
    async with db.read() as tx:
        row = await tx.fetchrow(_SELECT_ONE, party_id)
    return None if row is None else _health(row)


async def list_party_health(db: ProjectionDb) -> list[PartyHealth]:
    """Every party's health, healthiest first (ties by party id)."""
    async with db.read() as tx:
        return [_health(row) for row in await tx.fetch(_SELECT_ALL)]
