"""bench.eventstore's generator: the log it writes is the one the store's own code would."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime

from bench.eventstore.generator import (
    AUDIT_COLUMNS,
    AUDIT_WALLET_COLUMNS,
    EVENT_COLUMNS,
    INDEX_COLUMNS,
    LogGenerator,
    check_generated_sample,
)

END = datetime(2026, 11, 1, tzinfo=UTC)


def test_a_small_log_is_hash_chained_and_shaped_for_the_tables() -> None:
    generator = LogGenerator(
        3000, wallets=50, months=6, for_postgres=True, chunk_events=700, end=END
    )
    chunks = list(generator.chunks())
    assert len(chunks) > 1
    log = generator.log
    assert log.events == 3000 == sum(len(c.index) for c in chunks)
    assert log.wallets == 50 == sum(len(c.wallets) for c in chunks)
    assert sum(len(c.audit) for c in chunks) == log.ceremonies
    assert sum(log.by_type.values()) == log.events
    assert log.by_type["SignatureProduced"] == log.signatures
    # Every row has its table's columns; the positions run 1..n, each prev_hash the hash before.
    rows = [row for c in chunks for _, month in c.events for row in month]
    assert all(len(row) == len(EVENT_COLUMNS) for row in rows)
    assert all(len(row) == len(INDEX_COLUMNS) for c in chunks for row in c.index)
    assert all(len(row) == len(AUDIT_COLUMNS) for c in chunks for row in c.audit)
    assert all(len(row) == len(AUDIT_WALLET_COLUMNS) for c in chunks for row in c.wallets)
    assert [row[0] for row in rows] == list(range(1, 3001))
    assert all(later[9] == earlier[10] for earlier, later in itertools.pairwise(rows))
    assert rows[-1][10] == log.last_hash
    # The port's own hash and event parsing agree with the generated rows.
    assert all(check_generated_sample(chunk, True) > 0 for chunk in chunks)


def test_the_same_seed_gives_the_same_log() -> None:
    def last_hash(for_postgres: bool) -> str:
        generator = LogGenerator(500, wallets=20, for_postgres=for_postgres, end=END)
        for _ in generator.chunks():
            pass
        return generator.log.last_hash

    assert last_hash(True) == last_hash(True)
    # Timestamps are bound differently for the two adapters, never hashed differently.
    assert last_hash(True) == last_hash(False)
