"""Exports for auditors: what each selection holds, that it verifies, and that any edit of
the file (a changed, deleted, swapped, duplicated or cut line) is named by line and position.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from storage.audit.export import export_events, start_position
from storage.audit.manifest import ExportManifest, manifest_path_for
from storage.audit.verify import AuditError, Problem, VerifyMode, verify_export, verify_url
from storage.events.port import StoredEvent, event_hash, open_event_store
from tests.storage.audit.support import (
    EVENT_COUNT,
    T0,
    Backend,
    SQLiteBackend,
    recorded_at,
)


async def _export(backend: Backend, out: Path, **selection: Any) -> ExportManifest:
    async with await open_event_store(backend.url) as store:
        return await export_events(store, out, batch_size=4, **selection)


def _lines(path: Path) -> list[bytes]:
    return path.read_bytes().splitlines(keepends=True)


def _positions(path: Path) -> list[int]:
    return [StoredEvent.model_validate_json(line).position for line in _lines(path)]


def _rewrite(path: Path, change: Callable[[list[bytes]], list[bytes]]) -> None:
    path.write_bytes(b"".join(change(_lines(path))))


def _edit_line(number: int, edit: Callable[[dict[str, Any]], None]) -> Callable[..., list[bytes]]:
    """A change that edits line ``number`` (1-based) as JSON, keeping it compact."""

    def change(lines: list[bytes]) -> list[bytes]:
        document = json.loads(lines[number - 1])
        edit(document)
        lines[number - 1] = json.dumps(document, separators=(",", ":")).encode() + b"\n"
        return lines

    return change


@pytest.fixture
async def full_export(sqlite_backend: SQLiteBackend, tmp_path: Path) -> Path:
    """The whole fixture log exported to ``all.jsonl`` (with its manifest)."""
    await sqlite_backend.build()
    out = tmp_path / "all.jsonl"
    await _export(sqlite_backend, out)
    return out


# -- what is exported, and that it verifies -----------------------------------------------


async def test_full_export_round_trip(backend: Backend, tmp_path: Path) -> None:
    stored = await backend.build()
    out = tmp_path / "all.jsonl"
    manifest = await _export(backend, out)
    assert manifest.scope == "all"
    assert manifest.count == EVENT_COUNT
    assert (manifest.first_position, manifest.last_position) == (1, EVENT_COUNT)
    assert manifest.last_hash == stored[-1].hash
    assert manifest.sha256 == hashlib.sha256(out.read_bytes()).hexdigest()
    assert manifest_path_for(out).is_file()
    # Each line is exactly StoredEvent.model_dump_json() of the stored event.
    assert _lines(out) == [(event.model_dump_json() + "\n").encode() for event in stored]
    report = verify_export(out)
    assert report.ok, report.summary()
    assert report.mode is VerifyMode.LOG
    assert (report.events, report.last_hash) == (EVENT_COUNT, stored[-1].hash)


async def test_range_export_is_the_contiguous_slice(
    sqlite_backend: SQLiteBackend, tmp_path: Path
) -> None:
    stored = await sqlite_backend.build()
    out = tmp_path / "range.jsonl"
    manifest = await _export(sqlite_backend, out, since=recorded_at(5), until=recorded_at(9))
    assert _positions(out) == [5, 6, 7, 8]  # until is exclusive
    assert manifest.scope == "range"
    assert manifest.first_prev_hash == stored[3].hash  # it hooks onto position 4
    report = verify_export(out)
    assert report.ok, report.summary()
    assert report.mode is VerifyMode.SLICE


async def test_range_export_rejects_a_slice_that_does_not_hook_on(
    sqlite_backend: SQLiteBackend, tmp_path: Path
) -> None:
    await sqlite_backend.build()
    out = tmp_path / "range.jsonl"
    await _export(sqlite_backend, out, since=recorded_at(5), until=recorded_at(9))
    _rewrite(out, lambda lines: lines[1:])  # its first event removed
    report = verify_export(out)
    assert report.finding is not None
    assert report.finding.problem is Problem.BROKEN_LINK
    assert (report.finding.position, report.finding.line) == (6, 1)


async def test_wallet_export_holds_its_events_only(
    sqlite_backend: SQLiteBackend, tmp_path: Path
) -> None:
    await sqlite_backend.build()
    out = tmp_path / "w2.jsonl"
    manifest = await _export(sqlite_backend, out, wallet_id="w2")
    assert _positions(out) == [2, 5, 6, 14, 15]
    assert (manifest.scope, manifest.wallet_id, manifest.count) == ("wallet", "w2", 5)
    report = verify_export(out)
    assert report.ok, report.summary()
    assert report.mode is VerifyMode.SUBSET


async def test_wallet_export_within_a_range(sqlite_backend: SQLiteBackend, tmp_path: Path) -> None:
    await sqlite_backend.build()
    out = tmp_path / "w1.jsonl"
    await _export(sqlite_backend, out, wallet_id="w1", since=recorded_at(4), until=recorded_at(12))
    assert _positions(out) == [4, 7, 8, 9, 10, 11]
    assert verify_export(out).ok


async def test_empty_selection_exports_and_verifies(
    sqlite_backend: SQLiteBackend, tmp_path: Path
) -> None:
    await sqlite_backend.build()
    out = tmp_path / "none.jsonl"
    manifest = await _export(sqlite_backend, out, since=T0 + timedelta(days=30))
    assert manifest.count == 0
    assert out.read_bytes() == b""
    report = verify_export(out)
    assert report.ok
    assert report.events == 0


async def test_bounds_must_be_aware_and_ordered(
    sqlite_backend: SQLiteBackend, tmp_path: Path
) -> None:
    await sqlite_backend.build()
    with pytest.raises(AuditError, match="timezone"):
        await _export(sqlite_backend, tmp_path / "x.jsonl", since=T0.replace(tzinfo=None))
    with pytest.raises(AuditError, match="after"):
        await _export(sqlite_backend, tmp_path / "x.jsonl", since=T0, until=T0)


async def test_start_position_is_found_by_binary_search(sqlite_backend: SQLiteBackend) -> None:
    await sqlite_backend.build()
    async with await open_event_store(sqlite_backend.url) as store:
        for position in range(1, EVENT_COUNT + 1):
            assert await start_position(store, recorded_at(position)) == position
            between = recorded_at(position) - timedelta(seconds=30)
            assert await start_position(store, between) == position
        assert await start_position(store, recorded_at(EVENT_COUNT) + timedelta(1)) == 16


# -- tampering with an export ---------------------------------------------------------------


async def test_edited_line_is_named(full_export: Path) -> None:
    _rewrite(full_export, _edit_line(6, lambda e: e["payload"].update(signature="ab" * 64)))
    for use_manifest in (True, False):
        report = verify_export(full_export, use_manifest=use_manifest)
        assert report.finding is not None
        assert report.finding.problem is Problem.HASH_MISMATCH
        assert (report.finding.position, report.finding.line) == (6, 6)
        assert "position 6, line 6" in report.summary()


async def test_edited_and_rehashed_line_breaks_the_next_link(full_export: Path) -> None:
    def forge(event: dict[str, Any]) -> None:
        event["payload"]["signers"] = ["us-1", "us-2", "apac-2"]
        event["hash"] = event_hash(StoredEvent.model_validate(event))

    _rewrite(full_export, _edit_line(6, forge))
    report = verify_export(full_export)
    assert report.finding is not None
    assert report.finding.problem is Problem.BROKEN_LINK
    assert (report.finding.position, report.finding.line) == (7, 7)


async def test_deleted_line_is_named(full_export: Path) -> None:
    _rewrite(full_export, lambda lines: lines[:9] + lines[10:])
    report = verify_export(full_export)
    assert report.finding is not None
    assert report.finding.problem is Problem.MISSING
    assert (report.finding.position, report.finding.line) == (10, 10)


@pytest.mark.parametrize("batch_size", [1, 2, 1000])
async def test_swapped_lines_are_named(full_export: Path, batch_size: int) -> None:
    _rewrite(full_export, lambda lines: [*lines[:2], lines[3], lines[2], *lines[4:]])
    report = verify_export(full_export, batch_size=batch_size)
    assert report.finding is not None
    assert report.finding.problem is Problem.REORDERED
    assert (report.finding.position, report.finding.line) == (3, 3)


async def test_duplicated_line_is_named(full_export: Path) -> None:
    _rewrite(full_export, lambda lines: [*lines[:5], lines[4], *lines[5:]])
    report = verify_export(full_export)
    assert report.finding is not None
    assert report.finding.problem is Problem.DUPLICATE
    assert (report.finding.position, report.finding.line) == (5, 6)


async def test_malformed_line_is_named_by_line_number(full_export: Path) -> None:
    _rewrite(full_export, lambda lines: [*lines[:7], b'{"position": 8, "oops"\n', *lines[8:]])
    report = verify_export(full_export)
    assert report.finding is not None
    assert report.finding.problem is Problem.MALFORMED
    assert report.finding.line == 8
    assert "line 8" in report.summary()


async def test_invalid_field_is_named_with_its_position(full_export: Path) -> None:
    _rewrite(full_export, _edit_line(4, lambda e: e.update(hash="not-a-hash")))
    report = verify_export(full_export)
    assert report.finding is not None
    assert report.finding.problem is Problem.MALFORMED
    assert (report.finding.position, report.finding.line) == (4, 4)


async def test_file_cut_mid_line_is_truncated(full_export: Path) -> None:
    data = full_export.read_bytes()
    full_export.write_bytes(data[: len(data) - 40])
    report = verify_export(full_export, use_manifest=False)
    assert report.finding is not None
    assert report.finding.problem is Problem.TRUNCATED
    assert report.finding.line == EVENT_COUNT


async def test_file_cut_at_a_line_boundary_needs_the_manifest(full_export: Path) -> None:
    _rewrite(full_export, lambda lines: lines[:12])
    alone = verify_export(full_export, use_manifest=False)
    assert alone.ok
    assert any("no manifest" in note for note in alone.notes)
    report = verify_export(full_export)
    assert report.finding is not None
    assert report.finding.problem is Problem.TRUNCATED
    assert (report.finding.position, report.finding.line) == (13, 13)


async def test_extra_line_is_named(sqlite_backend: SQLiteBackend, tmp_path: Path) -> None:
    await sqlite_backend.build()
    whole, part = tmp_path / "all.jsonl", tmp_path / "part.jsonl"
    await _export(sqlite_backend, whole)
    await _export(sqlite_backend, part, since=recorded_at(3), until=recorded_at(6))
    # The next real event: the chain is fine, only the manifest can tell.
    part.write_bytes(part.read_bytes() + _lines(whole)[5])
    report = verify_export(part)
    assert report.finding is not None
    assert report.finding.problem is Problem.MANIFEST_MISMATCH
    assert (report.finding.position, report.finding.line) == (6, 4)


async def test_whitespace_only_change_fails_the_digest(full_export: Path) -> None:
    _rewrite(
        full_export,
        lambda lines: [lines[0].replace(b'{"position":1', b'{ "position":1'), *lines[1:]],
    )
    report = verify_export(full_export)
    assert report.finding is not None
    assert report.finding.problem is Problem.MANIFEST_MISMATCH
    assert "SHA-256" in report.finding.reason


async def test_wallet_export_tampering_is_named(
    sqlite_backend: SQLiteBackend, tmp_path: Path
) -> None:
    await sqlite_backend.build()
    out = tmp_path / "w2.jsonl"
    await _export(sqlite_backend, out, wallet_id="w2")
    original = out.read_bytes()
    _rewrite(out, _edit_line(3, lambda e: e["payload"].update(message="00" * 32)))
    report = verify_export(out)
    assert report.finding is not None
    assert (report.finding.problem, report.finding.position, report.finding.line) == (
        Problem.HASH_MISMATCH,
        6,
        3,
    )
    out.write_bytes(original)
    _rewrite(out, lambda lines: [lines[0], lines[2], lines[1], *lines[3:]])
    report = verify_export(out)
    assert report.finding is not None
    assert (report.finding.problem, report.finding.position, report.finding.line) == (
        Problem.REORDERED,
        5,
        2,
    )
    out.write_bytes(original)
    _rewrite(out, lambda lines: [lines[0], *lines[2:]])  # c2's start removed
    report = verify_export(out)
    assert report.finding is not None
    assert report.finding.problem is Problem.STREAM_VERSION
    assert report.finding.position == 6


async def test_missing_export_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(AuditError, match="cannot read"):
        verify_export(tmp_path / "absent.jsonl")


# -- retention archives ---------------------------------------------------------------------


async def _archived_store(backend: SQLiteBackend, archives: Path) -> list[StoredEvent]:
    """The fixture log at ten days per event (May to September), May-July archived."""
    stored = await backend.build(step=timedelta(days=10))
    async with await open_event_store(backend.url) as store:
        files = await store.archive_partitions(T0.replace(month=8, day=1, hour=0), archives)
    assert [path.name for path in files] == [
        "events-2024-05.jsonl",
        "events-2024-06.jsonl",
        "events-2024-07.jsonl",
    ]
    return stored


async def test_archived_store_verifies_with_its_archives(
    sqlite_backend: SQLiteBackend, tmp_path: Path
) -> None:
    archives = tmp_path / "archives"
    stored = await _archived_store(sqlite_backend, archives)
    alone = await verify_url(sqlite_backend.url)
    assert alone.finding is not None
    assert (alone.finding.problem, alone.finding.position) == (Problem.MISSING, 1)
    assert "--archives" in alone.finding.reason
    report = await verify_url(sqlite_backend.url, archives=archives, batch_size=2)
    assert report.ok, report.summary()
    assert (report.events, report.last_hash) == (EVENT_COUNT, stored[-1].hash)
    # Each archive also verifies on its own (its manifest is the archive's kind).
    for path in sorted(archives.glob("*.jsonl")):
        assert verify_export(path).ok


async def test_tampered_archive_is_named_with_its_file(
    sqlite_backend: SQLiteBackend, tmp_path: Path
) -> None:
    archives = tmp_path / "archives"
    await _archived_store(sqlite_backend, archives)
    june = archives / "events-2024-06.jsonl"
    _rewrite(june, _edit_line(2, lambda e: e["payload"].update(reason="edited")))
    report = await verify_url(sqlite_backend.url, archives=archives)
    assert report.finding is not None
    assert report.finding.problem is Problem.HASH_MISMATCH
    assert report.finding.file == june.name
    assert report.finding.line == 2
    assert f"line 2 of {june.name}" in report.summary()


async def test_missing_archive_month_is_named(
    sqlite_backend: SQLiteBackend, tmp_path: Path
) -> None:
    archives = tmp_path / "archives"
    await _archived_store(sqlite_backend, archives)
    june = archives / "events-2024-06.jsonl"
    first_of_june = StoredEvent.model_validate_json(_lines(june)[0]).position
    june.unlink()
    manifest_path_for(june).unlink()
    report = await verify_url(sqlite_backend.url, archives=archives)
    assert report.finding is not None
    assert report.finding.problem is Problem.MISSING
    assert report.finding.position == first_of_june
