"""Offline verification of the event store (ARCHITECTURE.md invariant 6): its hash chain,
its signatures, its index and its signed checkpoints.

Two sources: a database (any event-store URL, opened read-only by :func:`verify_url`:
nothing is created, migrated or written, and a target that is no event store is refused;
read through the port's ``read_all`` in batches, so a store of ten million events is never
held in memory) and an export file (JSON lines, one :class:`~storage.events.port.
StoredEvent` per line, read line by line). Every hash is recomputed with
:func:`storage.events.port.event_hash`, and each batch is first checked with the port's own
:func:`~storage.events.port.verify_chain`, so this tool and the store agree on what
"intact" means by construction. When a batch fails, it is walked again event by event, with
one event of look-ahead, to say *what* is wrong, not only *where*.

Every event the chain accepts then goes, in order, through the checks beside it
(:class:`~storage.audit.findings.EventCheck`): each ``SignatureProduced`` is re-verified
against its wallet's key (:mod:`storage.audit.signatures`), each event against its entry in
the store's event index (:mod:`storage.audit.index`, databases only), each
``ChainCheckpoint`` against the checkpoint public key and the chain it covers
(:mod:`storage.audit.checkpoints`). The problems, and what they mean:

===================  ================================================================
problem              what it means
===================  ================================================================
hash-mismatch        an event's content no longer matches its hash: it was edited
missing              a position is absent: a row (or an export line) was deleted
reordered            two adjacent events are swapped (by position, or by content)
duplicate            a position appears again (a copied row or line)
broken-link          ``prev_hash`` is not the previous event's hash: an event before it
                     was altered and re-hashed, or rows were deleted and renumbered
stream-version       a stream's versions skip or repeat
malformed            a row or line that is not a valid event (bad JSON, bad field)
truncated            the export ends early (a cut line, or fewer events than its manifest)
manifest-mismatch    the export differs from its manifest (count, ends, SHA-256)
checkpoint-mismatch  the chain no longer hashes to a signed checkpoint's head, or the
                     store no longer holds an earlier export's last event (rewritten)
bad-signature        a ``SignatureProduced`` whose signature does not verify (forged)
key-mismatch         a signature under a key that is not its wallet's, of another scheme,
                     or of a wallet never created
index-mismatch       the event index has no entry for an event, or one that differs
checkpoint-invalid   a checkpoint not signed by a trusted key, or not over a head just
                     before it
checkpoint-missing   a trusted checkpoint key, but no checkpoint covers the log
===================  ================================================================

Verification stops at the first problem: everything after a break is unanchored, and the
first bad event is what an investigator needs. Deleting the *last* events of a database
cannot be seen from the chain alone; the event index shows it (it still records them)
unless it was cut too, and so does verifying against a manifest of an earlier export
(``manifest=``), since the store must still hold that export's last event.

Retention: once the store has archived its oldest months (storage.events.archive), the live
log starts after position 1. ``verify_store(..., archives=DIR)`` verifies the archive files
first, oldest month first, each against its manifest, and the live store must continue the
chain where the last archive ends: one walk over ``archives + live store`` as over one log.
Without the archives such a store fails at position 1 with a hint, because to the chain
alone archived and deleted events look the same.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

# Re-exported: callers (the audit CLI) import them from here too.
from storage.audit.errors import AuditError as AuditError
from storage.audit.findings import Finding as Finding
from storage.audit.findings import Problem as Problem
from storage.audit.findings import VerifyMode as VerifyMode
from storage.audit.index import IndexCheck
from storage.audit.manifest import ExportManifest, manifest_path_for
from storage.audit.walk import DEFAULT_BATCH_SIZE as DEFAULT_BATCH_SIZE
from storage.audit.walk import Checks as Checks
from storage.audit.walk import Driver, Record, Walker, report_of, short_error
from storage.audit.walk import VerifyReport as VerifyReport
from storage.events.archive import ARCHIVE_FORMAT, ArchiveManifest
from storage.events.archive import DATA_SUFFIX as ARCHIVE_DATA_SUFFIX
from storage.events.errors import EventStoreError, NotAnEventStore
from storage.events.port import (
    EventStore,
    StoredEvent,
    open_event_store_read_only,
)


@dataclass(frozen=True, slots=True)
class _Expected:
    """What a manifest (an audit export's or a retention archive's) says its file holds."""

    file: str
    count: int
    first_position: int | None
    last_position: int | None
    first_prev_hash: str | None
    last_hash: str | None
    sha256: str


def _expected(manifest: ExportManifest | ArchiveManifest) -> _Expected:
    return _Expected(
        file=manifest.file,
        count=manifest.count,
        first_position=manifest.first_position,
        last_position=manifest.last_position,
        first_prev_hash=manifest.first_prev_hash,
        last_hash=manifest.last_hash,
        sha256=manifest.sha256,
    )


def load_manifest(path: Path) -> ExportManifest | ArchiveManifest:
    """An export's manifest or a retention archive's (told apart by ``format``).

    Raises :class:`AuditError` if it cannot be read or is neither.
    """
    try:
        raw = path.read_bytes()
        document = json.loads(raw)
        if isinstance(document, dict) and document.get("format") == ARCHIVE_FORMAT:
            return ArchiveManifest.model_validate_json(raw)
        return ExportManifest.model_validate_json(raw)
    except (OSError, ValueError) as exc:
        raise AuditError(f"cannot read manifest {path}: {short_error(exc)}") from exc


def resolve_manifest(
    export: Path, manifest: Path | None, *, use_manifest: bool = True
) -> ExportManifest | ArchiveManifest | None:
    """Load ``manifest``, or the one beside ``export`` if it exists; ``None`` without one."""
    if not use_manifest:
        return None
    path = manifest if manifest is not None else manifest_path_for(export)
    if manifest is None and not path.is_file():
        return None
    return load_manifest(path)


def _parse_line(raw: bytes) -> StoredEvent:
    """One export line as an event; raises ``ValueError`` (pydantic's included)."""
    if not raw.strip():
        raise ValueError("empty line")
    return StoredEvent.model_validate_json(raw)


def _guess_position(raw: bytes) -> int | None:
    """The ``position`` of a line that fails validation, if it still parses as JSON."""
    try:
        document = json.loads(raw)
    except ValueError:
        return None
    position = document.get("position") if isinstance(document, dict) else None
    return position if isinstance(position, int) and not isinstance(position, bool) else None


@dataclass(slots=True)
class _FileStats:
    """What one pass over a file saw, for the manifest comparison."""

    lines: int = 0
    events: int = 0
    first: StoredEvent | None = None
    last: StoredEvent | None = None
    extra: Record | None = None
    sha256: str = ""


class _FileReader:
    """``path`` line by line, as batches of records; a line that is no event ends it.

    :attr:`error` is then the finding for that line (it comes after any problem of the
    lines before it, which the caller finds by checking the batches it was given first);
    :attr:`stats` is what the reading saw, with the file's SHA-256 once it was read whole.
    """

    def __init__(self, path: Path, *, batch_size: int, expected_count: int | None) -> None:
        self.path = path
        self.stats = _FileStats()
        self.error: Finding | None = None
        self._batch_size = batch_size
        self._expected_count = expected_count

    def batches(self) -> Iterator[list[Record]]:
        stats = self.stats
        digest = hashlib.sha256()
        batch: list[Record] = []
        name = self.path.name
        try:
            handle = self.path.open("rb")
        except OSError as exc:
            raise AuditError(f"cannot read {self.path}: {exc}") from exc
        with handle:
            for raw in handle:  # Binary iteration: one line at a time, never the whole file.
                digest.update(raw)
                stats.lines += 1
                try:
                    event = _parse_line(raw)
                except ValueError as exc:
                    cut = not raw.endswith(b"\n")
                    reason = (
                        f"the last line is incomplete (file truncated): {short_error(exc)}"
                        if cut
                        else f"not a valid event: {short_error(exc)}"
                    )
                    self.error = Finding(
                        Problem.TRUNCATED if cut else Problem.MALFORMED,
                        reason,
                        position=_guess_position(raw),
                        line=stats.lines,
                        file=name,
                    )
                    if batch:
                        yield batch
                    return
                record = Record(event, stats.lines, name)
                stats.events += 1
                stats.first = stats.first or event
                stats.last = event
                if self._expected_count is not None and stats.events == self._expected_count + 1:
                    stats.extra = record
                batch.append(record)
                if len(batch) >= self._batch_size:
                    yield batch
                    batch = []
        stats.sha256 = digest.hexdigest()
        if batch:
            yield batch


def _feed_file(
    driver: Driver, path: Path, *, batch_size: int, expected_count: int | None
) -> tuple[Finding | None, _FileStats]:
    """Stream ``path`` line by line through ``driver``; the first problem, and what was seen.

    The driver is finished at the end of the file, so every event of it has been checked
    when this returns without a finding.
    """
    reader = _FileReader(path, batch_size=batch_size, expected_count=expected_count)
    for batch in reader.batches():
        finding = driver.push(batch)
        if finding is not None:
            return finding, reader.stats
    return driver.finish() or reader.error, reader.stats


async def _feed_file_indexed(
    driver: Driver,
    path: Path,
    *,
    batch_size: int,
    expected_count: int | None,
    index: IndexCheck | None,
) -> tuple[Finding | None, _FileStats]:
    """:func:`_feed_file`, fetching each batch's index entries first (a store's archives)."""
    reader = _FileReader(path, batch_size=batch_size, expected_count=expected_count)
    for batch in reader.batches():
        if index is not None:
            await index.prefetch([record.event for record in batch])
        finding = driver.push(batch)
        if finding is not None:
            return finding, reader.stats
    return driver.finish() or reader.error, reader.stats


def _check_manifest(expected: _Expected, stats: _FileStats, *, chained: bool) -> Finding | None:
    """Compare a chain-intact file with its manifest; the first difference is the finding.

    ``chained``: the file is a contiguous run of positions, so the first missing event of a
    truncated file is known (the one after its last line).
    """
    last = stats.last
    if stats.events < expected.count:
        at = f"line {stats.lines} (position {last.position})" if last is not None else "its start"
        return Finding(
            Problem.TRUNCATED,
            f"the file ends at {at}, but its manifest lists {expected.count} events ending "
            f"at position {expected.last_position}",
            position=(last.position + 1) if last is not None and chained else None,
            line=stats.lines + 1,
            file=expected.file,
        )
    if stats.extra is not None:
        return Finding(
            Problem.MANIFEST_MISMATCH,
            f"the manifest lists {expected.count} events; this line and any after it are extra",
            position=stats.extra.event.position,
            line=stats.extra.line,
            file=expected.file,
        )
    first = stats.first
    ends = (
        ("first_position", first.position if first else None, expected.first_position),
        ("first_prev_hash", first.prev_hash if first else None, expected.first_prev_hash),
        ("last_position", last.position if last else None, expected.last_position),
        ("last_hash", last.hash if last else None, expected.last_hash),
    )
    for name, actual, promised in ends:
        if actual != promised:
            event = first if name.startswith("first") else last
            return Finding(
                Problem.MANIFEST_MISMATCH,
                f"{name} is {actual}, the manifest says {promised}",
                position=event.position if event is not None else None,
                file=expected.file,
            )
    if stats.sha256 != expected.sha256:
        return Finding(
            Problem.MANIFEST_MISMATCH,
            "every event verifies, but the file's SHA-256 differs from the manifest's "
            "(bytes changed outside the events' hashed fields, e.g. spacing or key order)",
            file=expected.file,
        )
    return None


def _mode_for(manifest: ExportManifest | ArchiveManifest) -> tuple[VerifyMode, bool]:
    """The mode a manifest implies, and whether its streams start at version 1."""
    if isinstance(manifest, ArchiveManifest) or manifest.scope == "range":
        # A retention archive is a slice of the chain (the first one starts the log).
        starts_log = manifest.first_position == 1
        return (VerifyMode.LOG if starts_log else VerifyMode.SLICE), starts_log
    if manifest.scope == "all":
        return VerifyMode.LOG, True
    # A one-wallet export without a lower time bound holds each of its streams whole.
    return VerifyMode.SUBSET, manifest.since is None


def verify_export(
    path: Path,
    *,
    manifest: Path | None = None,
    use_manifest: bool = True,
    mode: VerifyMode | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
    checks: Checks | None = None,
) -> VerifyReport:
    """Verify an export file (or one retention archive) line by line, then its manifest.

    The manifest is ``manifest`` or, by default, ``<file>.manifest.json`` beside the file
    if present (``use_manifest=False`` ignores it). It sets the mode (whole log, slice or
    one wallet's subset); without it, ``mode`` or a guess from the first line does.
    ``checks``: the signature and checkpoint checks' settings (an export has no index).
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    loaded = resolve_manifest(path, manifest, use_manifest=use_manifest)
    notes: list[str] = []
    beside = (checks or Checks()).build()
    if loaded is not None:
        manifest_mode, from_one = _mode_for(loaded)
        walker = Walker(
            mode or manifest_mode,
            anchor_prev_hash=loaded.first_prev_hash,
            streams_from_one=from_one,
            checks=beside,
        )
    else:
        walker = Walker(mode, checks=beside)
        notes.append("no manifest: a file cut exactly at a line boundary cannot be detected")
    finding, stats = _feed_file(
        Driver(walker),
        path,
        batch_size=batch_size,
        expected_count=loaded.count if loaded is not None else None,
    )
    if finding is None and loaded is not None:
        finding = _check_manifest(
            _expected(loaded), stats, chained=walker.mode is not VerifyMode.SUBSET
        )
    if finding is None:
        finding = walker.finish_checks()
    return report_of(str(path), walker, finding, notes)


def archive_files(directory: Path) -> list[Path]:
    """The retention archives' data files in ``directory``, oldest month first."""
    return sorted(
        path for path in directory.glob("events-*" + ARCHIVE_DATA_SUFFIX) if path.is_file()
    )


async def _verify_archives(
    walker: Walker, directory: Path, *, batch_size: int, index: IndexCheck | None
) -> Finding | None:
    """Feed every retention archive in ``directory`` to ``walker``, checking each manifest
    (and each event against the store's index, which outlives retention).

    A whole missing month shows as missing positions at the start of the next file.
    """
    files = archive_files(directory)
    if not files:
        raise AuditError(f"no retention archives (events-YYYY-MM.jsonl) in {directory}")
    for path in files:
        loaded = load_manifest(manifest_path_for(path))
        finding, stats = await _feed_file_indexed(
            Driver(walker),
            path,
            batch_size=batch_size,
            expected_count=loaded.count,
            index=index,
        )
        if finding is None:
            finding = _check_manifest(_expected(loaded), stats, chained=True)
        if finding is not None:
            return finding
    return None


# -- databases ---------------------------------------------------------------------------


async def _read_batch(
    store: EventStore, after: int, limit: int
) -> tuple[list[StoredEvent], Finding | None]:
    """The next ``limit`` events after ``after``; on a row that cannot be decoded, the rows
    before it and a ``malformed`` finding (found by re-reading one row at a time)."""
    try:
        return await store.read_all(after_position=after, limit=limit), None
    except (ValueError, EventStoreError) as batch_error:
        good: list[StoredEvent] = []
        cursor = after
        # Only reached on a damaged store, so one row per round trip is acceptable.
        while len(good) < limit:
            try:
                row = await store.read_all(after_position=cursor, limit=1)
            except (ValueError, EventStoreError) as exc:
                return good, Finding(
                    Problem.MALFORMED,
                    f"the row stored after position {cursor} cannot be decoded: {short_error(exc)}",
                )
            if not row:
                break
            good.append(row[0])
            cursor = row[0].position
        # The batch failed but no single row did (the damage was repaired meanwhile?).
        return good, Finding(Problem.MALFORMED, f"unreadable batch: {short_error(batch_error)}")


async def verify_store(
    store: EventStore,
    *,
    manifest: ExportManifest | None = None,
    archives: Path | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
    checks: Checks | None = None,
) -> VerifyReport:
    """Verify every event of ``store`` from position 1, ``batch_size`` events at a time:
    the chain, every signature, the event index, every checkpoint (see the module
    docstring; ``checks`` holds the checkpoint keys).

    ``archives``: the directory of the store's retention archives (months moved out of the
    live store); they are verified first, oldest first, and the live store must continue
    the chain where the last one ends. Without it, a store whose oldest months were
    archived fails at position 1, since from the chain alone archived and deleted events
    look alike.

    With ``manifest`` (of an earlier export of this store), also check that the store still
    holds that export's last event with the same hash, which catches deleted or rewritten
    tails that the chain alone cannot show.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    index = IndexCheck(store)
    await index.prefetch_head()
    walker = Walker(
        VerifyMode.LOG, streams_from_one=True, checks=[index, *(checks or Checks()).build()]
    )
    source = store.url if archives is None else f"{archives} + {store.url}"
    if archives is not None:
        finding = await _verify_archives(walker, archives, batch_size=batch_size, index=index)
        if finding is not None:
            return report_of(source, walker, finding)
    driver = Driver(walker)
    after = 0
    while True:
        events, unreadable = await _read_batch(store, after, batch_size)
        await index.prefetch(events)
        finding = driver.push([Record(event) for event in events])
        if finding is not None:
            return report_of(source, walker, _hint_archives(finding, archives))
        if unreadable is not None:
            return report_of(source, walker, driver.finish() or unreadable)
        if len(events) < batch_size:
            break
        after = events[-1].position
    finding = driver.finish() or walker.finish_checks()
    notes: list[str] = []
    if finding is None and manifest is not None:
        finding = await _check_checkpoint(store, walker, manifest)
    if finding is None and manifest is None:
        notes.append(
            "events removed from the very end of both the events and the event index cannot "
            "be seen in the store itself; pass the manifest of an earlier export to check "
            "the store still holds it"
        )
    return report_of(source, walker, _hint_archives(finding, archives), notes)


def _hint_archives(finding: Finding | None, archives: Path | None) -> Finding | None:
    """Say what to do when a store starts after position 1 and no archives were given."""
    if (
        finding is None
        or archives is not None
        or finding.problem is not Problem.MISSING
        or finding.position != 1
    ):
        return finding
    return Finding(
        finding.problem,
        finding.reason + "; if these months were archived by the retention policy, verify "
        "with their archives (--archives DIR)",
        position=finding.position,
        line=finding.line,
        file=finding.file,
    )


async def _check_checkpoint(
    store: EventStore, walker: Walker, manifest: ExportManifest
) -> Finding | None:
    """The store must still hold ``manifest``'s last event, with the same hash."""
    if manifest.last_position is None or manifest.last_hash is None:
        return None
    last = walker.previous.position if walker.previous is not None else 0
    if manifest.last_position > last:
        return Finding(
            Problem.TRUNCATED,
            f"the store ends at position {last}, but the export {manifest.file} holds events "
            f"up to position {manifest.last_position} (events deleted from the end)",
            position=last + 1,
        )
    rows = await store.read_all(after_position=manifest.last_position - 1, limit=1)
    if not rows or rows[0].position != manifest.last_position:
        return Finding(
            Problem.MISSING,
            f"position {manifest.last_position} of export {manifest.file} is not in the store",
            position=manifest.last_position,
        )
    if rows[0].hash != manifest.last_hash:
        return Finding(
            Problem.CHECKPOINT_MISMATCH,
            f"the store's hash at position {manifest.last_position} differs from export "
            f"{manifest.file}'s last hash: the chain was rewritten since that export",
            position=manifest.last_position,
        )
    return None


async def verify_url(
    url: str,
    *,
    manifest: ExportManifest | None = None,
    archives: Path | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
    checks: Checks | None = None,
) -> VerifyReport:
    """Open the event store at ``url`` read-only and :func:`verify_store` it.

    Nothing at ``url`` is created or changed (:func:`~storage.events.port.
    open_event_store_read_only`); a missing file or one that holds no event store (a share
    vault, an empty or random file) raises :class:`AuditError`, since opening one as a store
    would otherwise make it an empty store that "verifies".
    """
    try:
        store = await open_event_store_read_only(url)
    except NotAnEventStore as exc:
        raise AuditError(str(exc)) from exc
    async with store:
        return await verify_store(
            store, manifest=manifest, archives=archives, batch_size=batch_size, checks=checks
        )
