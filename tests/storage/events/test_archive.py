"""Retention archives without a database: months, the writer, and verifying an archive."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from storage.events._core import prefix_upper_bound
from storage.events.archive import (
    ArchiveWriter,
    archive_boundary,
    manifest_path_for,
    month_label,
    month_start,
    next_month,
    read_archive,
    read_manifest,
    verify_archive,
)
from storage.events.errors import ArchiveError, ChainBroken
from storage.events.port import GENESIS_HASH, RETENTION, StoredEvent, verify_chain
from tests.storage.events.test_chain import chain_of, rehashed

JANUARY = datetime(2025, 1, 1, tzinfo=UTC)


def test_months_are_utc_calendar_months() -> None:
    late = datetime(2025, 1, 31, 23, 30, tzinfo=timezone(timedelta(hours=-5)))  # Feb 1 UTC
    assert month_start(late) == datetime(2025, 2, 1, tzinfo=UTC)
    assert next_month(datetime(2024, 12, 9, tzinfo=UTC)) == JANUARY
    assert month_label(datetime(2024, 12, 9, tzinfo=UTC)) == "2024-12"
    with pytest.raises(ValueError, match="timezone-aware"):
        month_start(datetime(2025, 1, 1))


def test_archive_boundary_keeps_the_month_that_spans_the_cutoff() -> None:
    # Months starting before the boundary end at or before the cutoff.
    assert archive_boundary(datetime(2018, 6, 15, 12, tzinfo=UTC)) == datetime(
        2018, 6, 1, tzinfo=UTC
    )
    # A cutoff exactly at a month's start archives the month before it, entirely.
    assert archive_boundary(datetime(2018, 6, 1, tzinfo=UTC)) == datetime(2018, 6, 1, tzinfo=UTC)
    assert timedelta(days=2555) < RETENTION < timedelta(days=2560)


@pytest.mark.parametrize(
    ("prefix", "bound"),
    [
        ("wallet-w1", "wallet-w2"),
        ("a", "b"),
        ("z\U0010ffff", "{"),
        ("\U0010ffff", None),
        ("\ud7ff", "\ue000"),  # The bound skips the surrogates, which cannot be stored.
        ("", None),
    ],
)
def test_prefix_upper_bound(prefix: str, bound: str | None) -> None:
    assert prefix_upper_bound(prefix) == bound


def write(directory: Path, events: list[StoredEvent], *, prev_hash: str = GENESIS_HASH) -> Path:
    writer = ArchiveWriter(
        directory,
        events[0].recorded_at,
        first_position=events[0].position,
        prev_hash=prev_hash,
        source="sqlite:///test",
    )
    for event in events:
        writer.add(event)
    writer.finish(datetime(2025, 6, 1, tzinfo=UTC))
    return writer.path


def test_written_archive_reads_back_and_verifies(tmp_path: Path) -> None:
    events = chain_of(5)
    path = write(tmp_path, events)
    assert path.name == "events-2025-01.jsonl"
    assert read_archive(path) == events
    manifest = verify_archive(path, previous_hash=GENESIS_HASH)
    assert (manifest.count, manifest.first_position, manifest.last_position) == (5, 1, 5)
    assert manifest.last_hash == events[-1].hash
    assert read_manifest(path) == manifest
    assert manifest_path_for(path).name == "events-2025-01.jsonl.manifest.json"
    assert not list(tmp_path.glob("*.tmp"))
    verify_chain(read_archive(path))


def test_a_segment_hooks_onto_its_predecessor(tmp_path: Path) -> None:
    events = chain_of(6)
    path = write(tmp_path, events[3:], prev_hash=events[2].hash)
    assert verify_archive(path, previous_hash=events[2].hash).first_position == 4
    with pytest.raises(ChainBroken):
        verify_archive(path, previous_hash=events[1].hash)


def test_an_edited_line_is_named(tmp_path: Path) -> None:
    events = chain_of(4)
    path = write(tmp_path, events)
    lines = path.read_text().splitlines(keepends=True)
    lines[2] = lines[2].replace('"n":3', '"n":33')
    path.write_text("".join(lines))
    with pytest.raises(ChainBroken) as caught:
        verify_archive(path)
    assert caught.value.position == 3


def test_a_dropped_last_line_is_caught_by_the_manifest(tmp_path: Path) -> None:
    path = write(tmp_path, chain_of(4))
    lines = path.read_text().splitlines(keepends=True)
    path.write_text("".join(lines[:-1]))
    with pytest.raises(ArchiveError, match="manifest"):
        verify_archive(path)


def test_a_byte_change_that_keeps_the_chain_is_caught_by_the_digest(tmp_path: Path) -> None:
    path = write(tmp_path, chain_of(2))
    path.write_text(path.read_text().replace('{"position"', '{ "position"', 1))
    with pytest.raises(ArchiveError, match="SHA-256"):
        verify_archive(path)


def test_the_writer_refuses_what_does_not_belong(tmp_path: Path) -> None:
    events = chain_of(3)
    writer = ArchiveWriter(
        tmp_path, JANUARY, first_position=1, prev_hash=GENESIS_HASH, source="test"
    )
    writer.add(events[0])
    with pytest.raises(ChainBroken):
        writer.add(events[2])  # A gap.
    with pytest.raises(ChainBroken):
        writer.add(rehashed(events[1], prev_hash="ab" * 32))  # Does not link.
    february = events[1].model_copy(update={"recorded_at": datetime(2025, 2, 1, tzinfo=UTC)})
    with pytest.raises(ArchiveError, match="outside 2025-01"):
        writer.add(february)
    writer.abort()
    assert list(tmp_path.iterdir()) == []
    empty = ArchiveWriter(tmp_path, JANUARY, first_position=1, prev_hash=GENESIS_HASH, source="")
    with pytest.raises(ArchiveError, match="no events"):
        empty.finish(JANUARY)
    assert list(tmp_path.iterdir()) == []


def test_an_existing_identical_archive_is_kept_and_a_different_one_refused(
    tmp_path: Path,
) -> None:
    events = chain_of(3)
    path = write(tmp_path, events)
    original = path.read_bytes()
    assert write(tmp_path, events) == path
    assert path.read_bytes() == original
    with pytest.raises(ArchiveError, match="refusing to overwrite"):
        write(tmp_path, events[:2])
    assert path.read_bytes() == original
