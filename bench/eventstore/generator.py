"""The store this benchmark queries and rebuilds: a fast generator of a valid, hash-chained
log of millions of realistic domain events.

The hash chain is computed in a tight loop over the exact canonical form of
:mod:`storage.events.port` (checked against ``compute_event_hash`` on a sample); the rows
come out shaped for the adapter's own tables (monthly ``events`` partitions,
``event_index``) and, for the audit view, exactly as the audit projection folds them.
"""

from __future__ import annotations

import hashlib
import json
import random
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from bench.eventstore.events import WalletShape, make_wallets
from storage.events import StoredEvent
from storage.events._core import COLUMNS
from storage.events._core import INDEX_COLUMNS as INDEX_COLUMNS
from storage.events.archive import month_start, next_month
from storage.events.models import parse_event
from storage.events.port import GENESIS_HASH, canonical_json, event_hash

WALLETS = 10_000
MONTHS = 84  # seven years: the retention period
HOT_WALLET_SHARE = 0.01  # one wallet signs 1% of everything: a busy treasury wallet
FAILED_BLAMED_SHARE = 0.02  # PartyMisbehaved + CeremonyFailed
FAILED_TIMEOUT_SHARE = 0.01  # CeremonyFailed without culprits
SEED = 20_240_501

# -- the fast log generator ------------------------------------------------------------------

PG_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)
DAY_US = 86_400_000_000
STEP_US = 150_000  # between the events of one ceremony
_HMS = [f"{h:02d}:{m:02d}:{s:02d}" for h in range(24) for m in range(60) for s in range(60)]
# The canonical document of storage.events.port (keys sorted, no spaces), as one format: every
# value the generator puts in it is plain ASCII that JSON does not escape. schema_version is
# 1 for every generated type.
_DOCUMENT = (
    '{"event_type":"%s","idempotency_key":"%s","metadata":%s,"payload":%s,"position":%d,'
    '"prev_hash":"%s","recorded_at":"%s","schema_version":1,"stream_id":"%s",'
    '"stream_version":%d}'
)
_METADATA = '{"actor":"%s","ceremony":"%s","correlation_id":"req-%s","tenant":"%s"}'
_STARTED = '{"ceremony_id":"%s","kind":"%s","parties":%s,"protocol":"%s","wallet_id":"%s"}'
_PRODUCED = (
    '{"ceremony_id":"%s","message":"%s","public_key":"%s","scheme":"%s","signature":"%s",'
    '"signers":%s,"wallet_id":"%s"}'
)
_MISBEHAVED = '{"ceremony_id":"%s","party":"%s","reason":"%s","wallet_id":"%s"}'
_FAILED = '{"ceremony_id":"%s","culprits":%s,"reason":"%s","wallet_id":"%s"}'
_CREATED = (
    '{"ceremony_id":"%s","ciphersuite":"%s","group_public_key":"%s","parties":%s,'
    '"public_key_package":"%s","scheme":"%s","threshold":3,"wallet_id":"%s"}'
)
MISBEHAVIOUR = "invalid signature share"
BLAMED_REASON = "identifiable abort: invalid signature share"
TIMEOUT_REASON = "signing round 2 timed out"

AUDIT_COLUMNS = (
    "ceremony_id",
    "wallet_id",
    "tenant",
    "actor",
    "correlation_id",
    "kind",
    "protocol",
    "scheme",
    "parties",
    "signers",
    "message",
    "signature",
    "public_key",
    "outcome",
    "failure_reason",
    "culprits",
    "misbehaviours",
    "started_at",
    "finished_at",
    "started_position",
    "finished_position",
    "event_positions",
)
AUDIT_WALLET_COLUMNS = (
    "wallet_id",
    "scheme",
    "ciphersuite",
    "threshold",
    "parties",
    "group_public_key",
    "ceremony_id",
    "created_at",
    "created_position",
)
# The events table's columns, and (INDEX_COLUMNS) the event index's, in the order the
# store's own adapters use.
EVENT_COLUMNS = COLUMNS


NO_SIGNATURE: tuple[None, None, None, None] = (None, None, None, None)


def audit_row(
    wallet: WalletShape,
    ceremony_id: str,
    correlation: str,
    kind: str,
    outcome: str,
    times: tuple[Any, Any],
    positions: Sequence[int],
    *,
    scheme: str | None = None,
    signed: tuple[str | None, str | None, str | None, str | None] = NO_SIGNATURE,
    reason: str | None = None,
    culprits: str = "[]",
    misbehaviours: str = "[]",
) -> tuple[Any, ...]:
    """An ``audit_ceremonies`` row (:data:`AUDIT_COLUMNS`), as the audit projection folds the
    ceremony's events: ``times`` are its start and finish (None while it runs), ``signed``
    the signers, message, signature and public key."""
    started_at, finished_at = times
    return (
        ceremony_id,
        wallet.wallet_id,
        wallet.tenant,
        wallet.actor,
        f"req-{correlation}",
        kind,
        wallet.ciphersuite,
        scheme,
        wallet.parties_json,
        *signed,
        outcome,
        reason,
        culprits,
        misbehaviours,
        started_at,
        finished_at,
        positions[0],
        positions[-1] if finished_at is not None else None,
        "[" + ",".join(map(str, positions)) + "]",
    )


@dataclass
class Chunk:
    """Rows for one stretch of the log: events by month (partition), the rest as they come."""

    events: list[tuple[tuple[int, int], list[tuple[Any, ...]]]]
    index: list[tuple[Any, ...]]
    audit: list[tuple[Any, ...]]
    wallets: list[tuple[Any, ...]]


@dataclass
class GeneratedLog:
    """What the generator produced, for checks and the report."""

    events: int = 0
    ceremonies: int = 0
    signatures: int = 0
    failed: int = 0
    payload_bytes: int = 0
    metadata_bytes: int = 0
    last_hash: str = GENESIS_HASH
    last_us: int = 0
    by_type: dict[str, int] = field(default_factory=dict)
    wallets: int = 0
    hot_wallet: str = ""
    typical_wallet: str = ""
    first_month: datetime | None = None
    months: int = 0
    seconds: float = 0.0


class LogGenerator:
    """A valid, hash-chained log of ``events`` domain events over ``months`` months.

    Wallet creations first (``CeremonyStarted`` kind ``create_wallet`` in the ceremony
    stream, ``WalletCreated`` in the wallet stream), then signing ceremonies, one time slot
    each, spread evenly over the months: 97% ``CeremonyStarted`` + ``SignatureProduced``,
    2% ``CeremonyStarted`` + ``PartyMisbehaved`` + ``CeremonyFailed`` (a blamed party), 1%
    ``CeremonyStarted`` + ``CeremonyFailed`` (a timeout). One wallet (the hot one) signs 1%
    of the ceremonies; the rest pick uniformly among the others. Ceremony ids are
    ``sign-<wallet>-<32 hex>``, so a wallet's ceremony streams share a prefix.

    Timestamps come out as microseconds since 2000-01-01 (``for_postgres``; bound through a
    tuple codec) or as the ISO text the SQLite adapter stores. The audit rows are exactly
    what :class:`storage.projections.AuditProjection` folds from the same events.
    """

    def __init__(
        self,
        events: int,
        *,
        wallets: int | None = None,
        months: int = MONTHS,
        for_postgres: bool,
        chunk_events: int = 120_000,
        seed: int = SEED,
        end: datetime | None = None,
    ) -> None:
        # Wallet creations take two events each: a tiny store gets fewer wallets.
        wallets = min(WALLETS if wallets is None else wallets, max(1, (events - 2) // 4))
        self.total = events
        self.for_postgres = for_postgres
        self.chunk_events = chunk_events
        self.rng = random.Random(seed)
        self.wallets = make_wallets(wallets, self.rng)
        last = month_start(end or datetime.now(UTC))
        first = last
        for _ in range(months):
            first = month_start(first - timedelta(days=1))
        self.first_month = first
        self.months = months
        self.boundaries: list[int] = []
        cursor = first
        for _ in range(months + 1):
            self.boundaries.append(self._us(cursor))
            cursor = next_month(cursor)
        self.span_us = self.boundaries[-1] - self.boundaries[0]
        expected_per_ceremony = 2 + FAILED_BLAMED_SHARE
        ceremonies = wallets + max(1, int((events - 2 * wallets) / expected_per_ceremony))
        # A little slack: fewer failed ceremonies than expected means more ceremonies.
        self.slot_us = max(self.span_us // (int(ceremonies * 1.01) + 16), 4 * STEP_US)
        self.log = GeneratedLog(
            wallets=wallets,
            hot_wallet=self.wallets[0].wallet_id,
            typical_wallet=self.wallets[len(self.wallets) // 2].wallet_id,
            first_month=first,
            months=months,
        )

    @staticmethod
    def _us(instant: datetime) -> int:
        delta = instant - PG_EPOCH
        return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds

    def chunks(self) -> Iterator[Chunk]:
        started_clock = time.perf_counter()
        sha256 = hashlib.sha256
        document = _DOCUMENT
        hms = _HMS
        for_postgres = self.for_postgres
        total = self.total
        wallets = self.wallets
        rng = self.rng
        boundaries = self.boundaries
        day0_us = boundaries[0] - (boundaries[0] % DAY_US)
        day0 = (PG_EPOCH + timedelta(microseconds=day0_us)).date()
        days: dict[int, str] = {}
        by_type = self.log.by_type

        position = 0
        prev = GENESIS_HASH
        month_index = 0
        month_key = self._month_key(0)
        next_boundary = boundaries[1]
        events_rows: list[tuple[Any, ...]] = []
        chunk = Chunk(events=[(month_key, events_rows)], index=[], audit=[], wallets=[])
        index_rows = chunk.index
        payload_bytes = 0
        metadata_bytes = 0

        def stamp(us: int) -> str:
            day, rest = divmod(us - day0_us, DAY_US)
            text = days.get(day)
            if text is None:
                text = days[day] = (day0 + timedelta(days=day)).isoformat()
            second, micro = divmod(rest, 1_000_000)
            return f"{text}T{hms[second]}.{micro:06d}+00:00"

        def emit(
            event_type: str,
            stream: str,
            version: int,
            key: str,
            payload: str,
            metadata: str,
            us: int,
        ) -> int:
            nonlocal position, prev, events_rows, next_boundary, month_index, month_key
            nonlocal payload_bytes, metadata_bytes
            position += 1
            text = stamp(us)
            digest = sha256(
                (
                    document
                    % (event_type, key, metadata, payload, position, prev, text, stream, version)
                ).encode()
            ).hexdigest()
            when: Any = us if for_postgres else text
            while us >= next_boundary:
                month_index += 1
                if month_index + 1 == len(boundaries):  # past the span: one more month
                    after = PG_EPOCH + timedelta(microseconds=boundaries[-1])
                    boundaries.append(self._us(next_month(after)))
                next_boundary = boundaries[month_index + 1]
                month_key = self._month_key(month_index)
                events_rows = []
                chunk.events.append((month_key, events_rows))
            events_rows.append(
                (
                    position,
                    stream,
                    version,
                    event_type,
                    1,
                    payload,
                    metadata,
                    key,
                    when,
                    prev,
                    digest,
                )
            )
            index_rows.append((position, stream, version, key, digest, when))
            prev = digest
            payload_bytes += len(payload)
            metadata_bytes += len(metadata)
            by_type[event_type] = by_type.get(event_type, 0) + 1
            return position

        def when_of(us: int) -> Any:
            return us if for_postgres else stamp(us)

        slot = self.slot_us
        base = boundaries[0]
        ceremony = 0
        # Wallet creations first.
        for wallet in wallets:
            if total - position < 2:
                break
            cid = f"create-{wallet.wallet_id}"
            t0 = base + ceremony * slot
            ceremony += 1
            correlation = rng.randbytes(8).hex()
            metadata = _METADATA % (wallet.actor, cid, correlation, wallet.tenant)
            p0 = emit(
                "CeremonyStarted",
                f"ceremony-{cid}",
                1,
                f"{cid}/CeremonyStarted",
                _STARTED
                % (cid, "create_wallet", wallet.parties_json, wallet.ciphersuite, wallet.wallet_id),
                metadata,
                t0,
            )
            p1 = emit(
                "WalletCreated",
                f"wallet-{wallet.wallet_id}",
                1,
                f"{cid}/WalletCreated",
                _CREATED
                % (
                    cid,
                    wallet.ciphersuite,
                    wallet.group_public_key,
                    wallet.parties_json,
                    wallet.public_key_package,
                    wallet.scheme,
                    wallet.wallet_id,
                ),
                metadata,
                t0 + STEP_US,
            )
            chunk.audit.append(
                audit_row(
                    wallet,
                    cid,
                    correlation,
                    "create_wallet",
                    "created",
                    (when_of(t0), when_of(t0 + STEP_US)),
                    (p0, p1),
                    scheme=wallet.scheme,
                    signed=(None, None, None, wallet.group_public_key),
                )
            )
            chunk.wallets.append(
                (
                    wallet.wallet_id,
                    wallet.scheme,
                    wallet.ciphersuite,
                    3,
                    wallet.parties_json,
                    wallet.group_public_key,
                    cid,
                    when_of(t0 + STEP_US),
                    p1,
                )
            )
        # Then signing ceremonies until the log has ``total`` events.
        hot = wallets[0]
        others = len(wallets) - 1
        signatures = failed = 0
        while position < total:
            if len(index_rows) >= self.chunk_events:
                yield chunk
                events_rows = []
                chunk = Chunk(events=[(month_key, events_rows)], index=[], audit=[], wallets=[])
                index_rows = chunk.index
            left = total - position
            draw = rng.random()
            if draw < HOT_WALLET_SHARE or others == 0:
                wallet = hot
            else:
                wallet = wallets[1 + int(rng.random() * others)]
            t0 = base + ceremony * slot
            ceremony += 1
            noise = rng.randbytes(32 + 8 + wallet.message_bytes + 64).hex()
            wid = wallet.wallet_id
            cid = f"sign-{wid}-{noise[:32]}"
            correlation = noise[32:48]
            stream = f"ceremony-{cid}"
            metadata = _METADATA % (wallet.actor, cid, correlation, wallet.tenant)
            p0 = emit(
                "CeremonyStarted",
                stream,
                1,
                f"{cid}/CeremonyStarted",
                _STARTED % (cid, "sign", wallet.parties_json, wallet.ciphersuite, wallet.wallet_id),
                metadata,
                t0,
            )
            outcome = rng.random()
            # The events after CeremonyStarted (type, idempotency-key suffix, payload), and
            # the audit row's outcome and fields.
            steps: list[tuple[str, str, str]] = []
            fields: dict[str, Any] = {}
            if left == 1:
                result = "pending"  # the log ends with a ceremony still running
            elif outcome < FAILED_BLAMED_SHARE and left >= 3:
                culprit = wallet.signers[int(outcome * 1000) % len(wallet.signers)]
                culprits = f'["{culprit}"]'
                misbehaved = _MISBEHAVED % (cid, culprit, MISBEHAVIOUR, wallet.wallet_id)
                steps.append(("PartyMisbehaved", f"/{culprit}", misbehaved))
                steps.append(("CeremonyFailed", "", _FAILED % (cid, culprits, BLAMED_REASON, wid)))
                result = "failed"
                fields["reason"], fields["culprits"] = BLAMED_REASON, culprits
                fields["misbehaviours"] = (
                    f'[{{"party":"{culprit}","position":{p0 + 1},"reason":"{MISBEHAVIOUR}"}}]'
                )
                failed += 1
            elif outcome < FAILED_BLAMED_SHARE + FAILED_TIMEOUT_SHARE:
                steps.append(("CeremonyFailed", "", _FAILED % (cid, "[]", TIMEOUT_REASON, wid)))
                result = "failed"
                fields["reason"] = TIMEOUT_REASON
                failed += 1
            else:
                message_hex = 2 * wallet.message_bytes
                message = noise[48 : 48 + message_hex]
                signature = noise[48 + message_hex : 48 + message_hex + 128]
                produced = _PRODUCED % (
                    cid,
                    message,
                    wallet.public_key,
                    wallet.scheme,
                    signature,
                    wallet.signers_json,
                    wid,
                )
                steps.append(("SignatureProduced", "", produced))
                result = "signed"
                fields["scheme"] = wallet.scheme
                fields["signed"] = (wallet.signers_json, message, signature, wallet.public_key)
                signatures += 1
            positions = [p0]
            for step, (event_type, suffix, payload) in enumerate(steps, start=1):
                key = f"{cid}/{event_type}{suffix}"
                us = t0 + step * STEP_US
                positions.append(emit(event_type, stream, step + 1, key, payload, metadata, us))
            finished = when_of(t0 + len(steps) * STEP_US) if steps else None
            times = (when_of(t0), finished)
            chunk.audit.append(
                audit_row(wallet, cid, correlation, "sign", result, times, positions, **fields)
            )
        log = self.log
        log.events = position
        log.ceremonies = ceremony
        log.signatures = signatures
        log.failed = failed
        log.payload_bytes = payload_bytes
        log.metadata_bytes = metadata_bytes
        log.last_hash = prev
        log.last_us = (
            (
                events_rows[-1][8]
                if for_postgres
                else self._us(datetime.fromisoformat(events_rows[-1][8]))
            )
            if events_rows
            else 0
        )
        log.seconds = time.perf_counter() - started_clock
        yield chunk

    def _month_key(self, index: int) -> tuple[int, int]:
        instant = PG_EPOCH + timedelta(microseconds=self.boundaries[index])
        return instant.year, instant.month

    def month_window(self, index: int) -> tuple[datetime, datetime]:
        start = PG_EPOCH + timedelta(microseconds=self.boundaries[index])
        return start, PG_EPOCH + timedelta(microseconds=self.boundaries[index + 1])


def check_generated_sample(chunk: Chunk, for_postgres: bool) -> int:
    """Recompute hashes of a sample of generated rows with the port's own function and check
    that payloads are canonical and decode as domain events. Returns how many were checked."""
    checked = 0
    step = max(1, sum(len(rows) for _, rows in chunk.events) // 1000)
    for _, rows in chunk.events:
        for row in rows[::step]:
            position, stream, stream_version, event_type, schema_version = row[:5]
            payload, metadata, key, when, prev, digest = row[5:]
            recorded_at = (
                PG_EPOCH + timedelta(microseconds=when)
                if for_postgres
                else datetime.fromisoformat(when)
            )
            payload_doc = json.loads(payload)
            metadata_doc = json.loads(metadata)
            if canonical_json(payload_doc) != payload or canonical_json(metadata_doc) != metadata:
                raise AssertionError(f"event {position}: payload or metadata is not canonical")
            event = StoredEvent(
                position=position,
                stream_id=stream,
                stream_version=stream_version,
                event_type=event_type,
                schema_version=schema_version,
                payload=payload_doc,
                metadata=metadata_doc,
                idempotency_key=key,
                recorded_at=recorded_at,
                prev_hash=prev,
                hash=digest,
            )
            # event_hash is the port's compute_event_hash over the event's fields.
            if event_hash(event) != digest:
                raise AssertionError(f"event {position}: generated hash differs from the port's")
            parse_event(event)
            checked += 1
    return checked
