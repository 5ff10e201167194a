"""Real events for the analytics tests, and the answers the forensics queries should give.

The events go through the real SQLite event store (hash chain and all); the expected
answers are computed here in plain Python from the stored events, independently of the
SQL under test.
"""

from __future__ import annotations

import sqlite3
from collections import Counter, defaultdict
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from storage.analytics.queries import (
    DailySignatures,
    FailureReason,
    PartyMisbehaviour,
    SignerSetFrequency,
)
from storage.events.models import (
    CeremonyFailed,
    CeremonyStarted,
    DomainEvent,
    PartyMisbehaved,
    SignatureProduced,
    WalletCreated,
    ceremony_stream,
    parse_event,
    to_new_event,
    wallet_stream,
)
from storage.events.port import EventStore, NewEvent, StoredEvent

START = datetime(2025, 3, 29, 20, 0, 0, 123456, tzinfo=UTC)
PARTIES = ("us-1", "us-2", "eu-1", "eu-2", "apac-1", "apac-2")
# Quotes, a backslash, a newline and non-ASCII: a wallet id that SQL literals must escape.
AWKWARD_WALLET = "w'3\\\nü✓"
WALLETS = ("w1", "w2", AWKWARD_WALLET)
SIGNER_SETS = (
    ("us-1", "eu-1", "apac-1"),
    ("eu-1", "us-1", "apac-1"),  # the same set in another order
    ("us-2", "eu-2", "apac-1"),
    ("us-1", "us-2", "eu-1"),
)
FAILURE_REASONS = ("timeout", "invalid share", "party unavailable")


class SteppingClock:
    """Deterministic ``recorded_at``: ``START`` plus a step per event, crossing UTC days."""

    def __init__(self, start: datetime = START, step: timedelta = timedelta(hours=2, minutes=7)):
        self.now = start
        self.step = step

    def __call__(self) -> datetime:
        self.now += self.step
        return self.now


def scenario(rounds: int = 6) -> list[NewEvent]:
    """Wallet creations, then ``rounds`` of signing per wallet, with failures and cheats."""
    out: list[tuple[DomainEvent, str]] = []
    for w, wallet in enumerate(WALLETS):
        out.append(
            (
                WalletCreated(
                    wallet_id=wallet,
                    scheme="bip340",
                    ciphersuite="FROST-secp256k1-SHA256-TR-v1",
                    group_public_key="02" + "ab" * 32,
                    threshold=3,
                    parties=list(PARTIES),
                    public_key_package="cd" * 40,
                    ceremony_id=f"dkg-{w}",
                ),
                # Stream ids refuse control characters; the awkward id lives in payloads.
                wallet_stream(f"w{w}"),
            )
        )
    for i in range(rounds):
        for w, wallet in enumerate(WALLETS):
            ceremony = f"sign-{w}-{i}"
            signers = list(SIGNER_SETS[(i + w) % len(SIGNER_SETS)])
            started = CeremonyStarted(
                ceremony_id=ceremony,
                wallet_id=wallet,
                kind="sign",
                protocol="frost",
                parties=signers,
            )
            out.append((started, ceremony_stream(ceremony)))
            if (i + w) % 4 == 3:
                culprit = signers[i % len(signers)]
                reason = FAILURE_REASONS[(i + w) % len(FAILURE_REASONS)]
                out.append(
                    (
                        PartyMisbehaved(
                            ceremony_id=ceremony,
                            wallet_id=wallet,
                            party=culprit,
                            reason="invalid share proof",
                        ),
                        ceremony_stream(ceremony),
                    )
                )
                out.append(
                    (
                        CeremonyFailed(
                            ceremony_id=ceremony,
                            wallet_id=wallet,
                            reason=reason,
                            culprits=[culprit] if reason == "invalid share" else [],
                        ),
                        ceremony_stream(ceremony),
                    )
                )
            else:
                out.append(
                    (
                        SignatureProduced(
                            ceremony_id=ceremony,
                            wallet_id=wallet,
                            scheme="bip340",
                            public_key="ab" * 32,
                            message=f"{i:02x}" * 4,
                            signature="ef" * 64,
                            signers=signers,
                        ),
                        ceremony_stream(ceremony),
                    )
                )
    return [
        to_new_event(
            event,
            stream_id=stream,
            idempotency_key=f"e{n}",
            metadata={"correlation_id": f"corr-{n}"},
        )
        for n, (event, stream) in enumerate(out)
    ]


async def append_all(store: EventStore, events: Sequence[NewEvent]) -> list[StoredEvent]:
    """Append ``events`` one by one (each gets its own time from the clock)."""
    return [await store.append(event) for event in events]


def _tamper(path: Path, column: str, value: str, position: int) -> None:
    connection = sqlite3.connect(path)
    try:
        connection.execute("DROP TRIGGER IF EXISTS events_refuse_update")
        # The column name is one of two literals chosen below, never input.
        connection.execute(
            f"UPDATE events SET {column} = ? WHERE position = ?",  # noqa: S608
            (value, position),
        )
        connection.commit()
    finally:
        connection.close()


def tamper_payload(path: Path, position: int, payload_json: str) -> None:
    """Rewrite one stored payload behind the store's back, as a superuser could."""
    _tamper(path, "payload", payload_json, position)


def tamper_hash(path: Path, position: int, new_hash: str) -> None:
    """Rewrite one stored hash behind the store's back (covering up a payload edit)."""
    _tamper(path, "hash", new_hash, position)


# -- the expected answers, computed without SQL ------------------------------------------


def _in_window(at: datetime, since: datetime | None, until: datetime | None) -> bool:
    return (since is None or at >= since) and (until is None or at < until)


def expected_signatures_per_day(
    events: Sequence[StoredEvent], wallet_id: str | None = None
) -> list[DailySignatures]:
    counts: Counter[tuple[str, date]] = Counter()
    for stored in events:
        domain = parse_event(stored)
        if isinstance(domain, SignatureProduced) and wallet_id in (None, domain.wallet_id):
            counts[(domain.wallet_id, stored.recorded_at.astimezone(UTC).date())] += 1
    return [
        DailySignatures(wallet_id=wallet, day=day, signatures=n)
        for (wallet, day), n in sorted(counts.items(), key=lambda item: item[0])
    ]


def expected_signer_sets(
    events: Sequence[StoredEvent], wallet_id: str | None = None
) -> list[SignerSetFrequency]:
    counts: Counter[tuple[str, tuple[str, ...]]] = Counter()
    last: dict[tuple[str, tuple[str, ...]], datetime] = {}
    for stored in events:
        domain = parse_event(stored)
        if isinstance(domain, SignatureProduced) and wallet_id in (None, domain.wallet_id):
            key = (domain.wallet_id, tuple(sorted(domain.signers)))
            counts[key] += 1
            last[key] = max(last.get(key, stored.recorded_at), stored.recorded_at)
    ordered = sorted(counts, key=lambda key: (key[0], -counts[key], key[1]))
    return [
        SignerSetFrequency(
            wallet_id=wallet,
            signers=signers,
            signatures=counts[(wallet, signers)],
            last_at=last[(wallet, signers)],
        )
        for wallet, signers in ordered
    ]


def expected_misbehaviour(
    events: Sequence[StoredEvent],
    since: datetime | None = None,
    until: datetime | None = None,
) -> list[PartyMisbehaviour]:
    stats: dict[str, dict[str, Any]] = defaultdict(
        lambda: {"m": 0, "b": 0, "ceremonies": set(), "times": []}
    )
    for stored in events:
        if not _in_window(stored.recorded_at, since, until):
            continue
        domain = parse_event(stored)
        if isinstance(domain, PartyMisbehaved):
            named, kind = [domain.party], "m"
        elif isinstance(domain, CeremonyFailed):
            named, kind = domain.culprits, "b"
        else:
            continue
        for party in named:
            stats[party][kind] += 1
            stats[party]["ceremonies"].add(domain.ceremony_id)
            stats[party]["times"].append(stored.recorded_at)
    ordered = sorted(stats, key=lambda party: (-stats[party]["m"], -stats[party]["b"], party))
    return [
        PartyMisbehaviour(
            party=party,
            misbehaviours=stats[party]["m"],
            blamed_failures=stats[party]["b"],
            ceremonies=len(stats[party]["ceremonies"]),
            first_at=min(stats[party]["times"]),
            last_at=max(stats[party]["times"]),
        )
        for party in ordered
    ]


def expected_failures(
    events: Sequence[StoredEvent], since: datetime, until: datetime
) -> list[FailureReason]:
    by_reason: dict[str, list[tuple[StoredEvent, CeremonyFailed]]] = defaultdict(list)
    for stored in events:
        domain = parse_event(stored)
        if isinstance(domain, CeremonyFailed) and _in_window(stored.recorded_at, since, until):
            by_reason[domain.reason].append((stored, domain))
    ordered = sorted(by_reason, key=lambda reason: (-len(by_reason[reason]), reason))
    return [
        FailureReason(
            reason=reason,
            failures=len(by_reason[reason]),
            ceremonies=len({failed.ceremony_id for _, failed in by_reason[reason]}),
            wallets=len({failed.wallet_id for _, failed in by_reason[reason]}),
            first_at=min(stored.recorded_at for stored, _ in by_reason[reason]),
            last_at=max(stored.recorded_at for stored, _ in by_reason[reason]),
        )
        for reason in ordered
    ]


def expected_counts(events: Sequence[StoredEvent]) -> dict[str, int]:
    return dict(sorted(Counter(stored.event_type for stored in events).items()))
