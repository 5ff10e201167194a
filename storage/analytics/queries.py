"""Forensics queries over the analytics projection.

Every query reads with ``FINAL`` (duplicates left by a re-applied batch never count) and
only up to the projection's checkpoint (:func:`~storage.analytics.port.visible_condition`:
a batch whose checkpoint has not landed is not counted yet), which together make each
event count exactly once. Time windows are half-open, ``[since, until)``, exact to the
microsecond.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict

from storage.analytics.errors import InvalidAnalyticsQuery
from storage.analytics.port import ANALYTICS_PROJECTION, AnalyticsSink, visible_condition
from storage.analytics.rows import UtcDatetime
from storage.analytics.sql import (
    Fragment,
    SqlValue,
    epoch_microseconds,
    from_epoch_microseconds,
    require_aware,
)


class _Result(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class DailySignatures(_Result):
    """How many signatures one wallet produced on one UTC day."""

    wallet_id: str
    day: date
    signatures: int


class PartyMisbehaviour(_Result):
    """How often a party was caught misbehaving (``PartyMisbehaved``) or blamed for a failure."""

    party: str
    misbehaviours: int
    """``PartyMisbehaved`` events naming the party (an invalid share or proof)."""
    blamed_failures: int
    """``CeremonyFailed`` events listing the party among the culprits."""
    ceremonies: int
    """Distinct ceremonies involved."""
    first_at: UtcDatetime
    last_at: UtcDatetime


class FailureReason(_Result):
    """How often ceremonies failed for one reason in the window."""

    reason: str
    failures: int
    ceremonies: int
    wallets: int
    first_at: UtcDatetime
    last_at: UtcDatetime


class SignerSetFrequency(_Result):
    """How often one set of parties signed for one wallet (``signers`` sorted)."""

    wallet_id: str
    signers: tuple[str, ...]
    signatures: int
    last_at: UtcDatetime


class _Filter:
    """The ``WHERE`` clause of one query: conditions and their values, bound together."""

    def __init__(self, sink: AnalyticsSink, projection: str) -> None:
        self.clauses = ["{visible}"]
        self.params: dict[str, SqlValue] = {"visible": visible_condition(sink.database, projection)}

    def add(self, clause: str, **params: SqlValue) -> None:
        self.clauses.append(clause)
        self.params.update(params)

    def window(self, since: datetime | None, until: datetime | None) -> None:
        if since is not None:
            start = require_aware(since, "since")
            # Both the whole-second column (so the primary key prunes granules) and the
            # exact microseconds (so the boundary is exact).
            self.add(
                "recorded_at >= {since_s} AND recorded_at_us >= {since_us}",
                since_s=start.replace(microsecond=0),
                since_us=epoch_microseconds(start),
            )
        if until is not None:
            end = require_aware(until, "until")
            self.add(
                "recorded_at <= {until_s} AND recorded_at_us < {until_us}",
                until_s=end.replace(microsecond=0),
                until_us=epoch_microseconds(end),
            )
        if since is not None and until is not None and not since < until:
            raise InvalidAnalyticsQuery("since must be before until")

    def fragment(self) -> Fragment:
        """The conditions joined with ``AND``, every value bound."""
        return Fragment.bound(" AND ".join(self.clauses), self.params)


def _at(value: Any) -> datetime:
    return from_epoch_microseconds(int(value))


async def signatures_per_wallet_per_day(
    sink: AnalyticsSink,
    *,
    wallet_id: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    projection: str = ANALYTICS_PROJECTION,
) -> list[DailySignatures]:
    """Signatures per wallet per UTC day, by wallet then day; optionally one wallet, a window."""
    where = _Filter(sink, projection)
    if wallet_id is not None:
        where.add("wallet_id = {wallet_id}", wallet_id=wallet_id)
    where.window(since, until)
    rows = await sink.select(
        """
        SELECT wallet_id, toString(day) AS utc_day, count() AS signatures
        FROM {db}.signatures FINAL
        WHERE {where}
        GROUP BY wallet_id, utc_day
        ORDER BY wallet_id, utc_day
        """,
        {"where": where.fragment()},
    )
    return [
        DailySignatures(
            wallet_id=row["wallet_id"],
            day=date.fromisoformat(row["utc_day"]),
            signatures=int(row["signatures"]),
        )
        for row in rows
    ]


async def parties_by_misbehaviour(
    sink: AnalyticsSink,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int | None = None,
    projection: str = ANALYTICS_PROJECTION,
) -> list[PartyMisbehaviour]:
    """Parties ranked by misbehaviour count, then by failures they were blamed for."""
    if limit is not None and (isinstance(limit, bool) or limit < 1):
        raise InvalidAnalyticsQuery(f"limit must be a positive integer, got {limit!r}")
    where = _Filter(sink, projection)
    where.add("event_type IN {blame_types}", blame_types=("PartyMisbehaved", "CeremonyFailed"))
    where.window(since, until)
    limit_clause = Fragment("") if limit is None else Fragment.bound("LIMIT {n}", {"n": limit})
    # ARRAY JOIN over a FINAL subquery: deduplicate first, then fan out one row per party.
    rows = await sink.select(
        """
        SELECT
            party,
            countIf(event_type = 'PartyMisbehaved') AS misbehaviours,
            countIf(event_type = 'CeremonyFailed') AS blamed_failures,
            uniqExact(ceremony_id) AS ceremonies,
            min(recorded_at_us) AS first_us,
            max(recorded_at_us) AS last_us
        FROM (
            SELECT event_type, ceremony_id, parties, recorded_at_us
            FROM {db}.events FINAL
            WHERE {where}
        )
        ARRAY JOIN parties AS party
        GROUP BY party
        ORDER BY misbehaviours DESC, blamed_failures DESC, party
        {limit_clause}
        """,
        {"where": where.fragment(), "limit_clause": limit_clause},
    )
    return [
        PartyMisbehaviour(
            party=row["party"],
            misbehaviours=int(row["misbehaviours"]),
            blamed_failures=int(row["blamed_failures"]),
            ceremonies=int(row["ceremonies"]),
            first_at=_at(row["first_us"]),
            last_at=_at(row["last_us"]),
        )
        for row in rows
    ]


async def failed_ceremonies_by_reason(
    sink: AnalyticsSink,
    *,
    since: datetime,
    until: datetime,
    projection: str = ANALYTICS_PROJECTION,
) -> list[FailureReason]:
    """Failed ceremonies in ``[since, until)`` grouped by reason, most frequent first."""
    where = _Filter(sink, projection)
    where.add("event_type = {failed}", failed="CeremonyFailed")
    where.window(since, until)
    rows = await sink.select(
        """
        SELECT
            reason,
            count() AS failures,
            uniqExact(ceremony_id) AS ceremonies,
            uniqExact(wallet_id) AS wallets,
            min(recorded_at_us) AS first_us,
            max(recorded_at_us) AS last_us
        FROM {db}.events FINAL
        WHERE {where}
        GROUP BY reason
        ORDER BY failures DESC, reason
        """,
        {"where": where.fragment()},
    )
    return [
        FailureReason(
            reason=row["reason"],
            failures=int(row["failures"]),
            ceremonies=int(row["ceremonies"]),
            wallets=int(row["wallets"]),
            first_at=_at(row["first_us"]),
            last_at=_at(row["last_us"]),
        )
        for row in rows
    ]


async def signer_set_frequency(
    sink: AnalyticsSink,
    *,
    wallet_id: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    projection: str = ANALYTICS_PROJECTION,
) -> list[SignerSetFrequency]:
    """How often each signer set signed, per wallet; most frequent first within a wallet.

    A set is the sorted list of signers, so the same parties in another order count as one.
    """
    where = _Filter(sink, projection)
    if wallet_id is not None:
        where.add("wallet_id = {wallet_id}", wallet_id=wallet_id)
    where.window(since, until)
    rows = await sink.select(
        """
        SELECT
            wallet_id,
            arraySort(signers) AS signer_set,
            count() AS signatures,
            max(recorded_at_us) AS last_us
        FROM {db}.signatures FINAL
        WHERE {where}
        GROUP BY wallet_id, signer_set
        ORDER BY wallet_id, signatures DESC, signer_set
        """,
        {"where": where.fragment()},
    )
    return [
        SignerSetFrequency(
            wallet_id=row["wallet_id"],
            signers=tuple(row["signer_set"]),
            signatures=int(row["signatures"]),
            last_at=_at(row["last_us"]),
        )
        for row in rows
    ]


async def event_counts(
    sink: AnalyticsSink, *, projection: str = ANALYTICS_PROJECTION
) -> dict[str, int]:
    """Visible events per event type: a quick completeness check against the store."""
    where = _Filter(sink, projection)
    rows = await sink.select(
        """
        SELECT event_type, count() AS n FROM {db}.events FINAL
        WHERE {where}
        GROUP BY event_type ORDER BY event_type
        """,
        {"where": where.fragment()},
    )
    return {row["event_type"]: int(row["n"]) for row in rows}
