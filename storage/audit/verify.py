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
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import ValidationError

from storage.audit.checkpoints import CheckpointCheck
from storage.audit.display import printable_lines

# Re-exported: callers (the audit CLI) import them from here too.
from storage.audit.errors import AuditError as AuditError
from storage.audit.findings import CheckSummary, EventCheck
from storage.audit.findings import Finding as Finding
from storage.audit.findings import Problem as Problem
from storage.audit.findings import VerifyMode as VerifyMode
from storage.audit.index import IndexCheck
from storage.audit.manifest import ExportManifest, manifest_path_for
from storage.audit.signatures import SignatureCheck
from storage.events.archive import ARCHIVE_FORMAT, ArchiveManifest
from storage.events.archive import DATA_SUFFIX as ARCHIVE_DATA_SUFFIX
from storage.events.errors import ChainBroken, EventStoreError, NotAnEventStore
from storage.events.port import (
    GENESIS_HASH,
    EventStore,
    StoredEvent,
    event_hash,
    open_event_store_read_only,
    verify_chain,
)

DEFAULT_BATCH_SIZE = 2_000
"""Events per read: large enough to amortize round trips, small enough to bound memory."""


@dataclass(frozen=True, slots=True)
class Checks:
    """What to check beside the chain (every check needs no more than its arguments).

    ``checkpoint_keys``: the trusted checkpoint public keys (Ed25519, 32 bytes each); empty
    means none is configured, and checkpoints are only counted. ``key_source`` says where
    they came from, for the report. ``allow_script_tree_keys``: see
    :mod:`storage.audit.signatures`.
    """

    checkpoint_keys: tuple[bytes, ...] = ()
    key_source: str | None = None
    allow_script_tree_keys: bool = False

    def build(self) -> list[EventCheck]:
        return [
            SignatureCheck(allow_script_tree_keys=self.allow_script_tree_keys),
            CheckpointCheck(trusted=self.checkpoint_keys, key_source=self.key_source),
        ]


@dataclass(frozen=True, slots=True)
class VerifyReport:
    """The outcome of one verification; ``finding`` is ``None`` when the source is intact."""

    source: str
    mode: VerifyMode
    events: int
    first_position: int | None
    last_position: int | None
    last_hash: str | None
    finding: Finding | None = None
    notes: tuple[str, ...] = field(default=())
    checks: tuple[CheckSummary, ...] = field(default=())
    """What the checks beside the chain verified (signatures, index, checkpoints)."""

    @property
    def ok(self) -> bool:
        return self.finding is None

    def summary(self) -> str:
        """A short human-readable account, first line ``OK`` or ``TAMPERED``.

        Every line is made printable (:func:`~storage.audit.display.printable`): parts of
        it come from the events and from the command line.
        """
        if self.finding is not None:
            lines = [
                f"TAMPERED: {self.source}",
                self.finding.describe(),
                f"{self.events} events verified before it ({self.mode.value} mode)",
            ]
        else:
            span = (
                f"positions {self.first_position}..{self.last_position}, last hash {self.last_hash}"
                if self.events
                else "empty"
            )
            lines = [
                f"OK: {self.source}",
                f"{self.events} events intact ({span}; {self.mode.value} mode)",
            ]
        lines.extend(check.text for check in self.checks)
        lines.extend(f"note: {note}" for note in self.notes)
        lines.extend(f"note: {note}" for check in self.checks for note in check.notes)
        return "\n".join(printable_lines(line) for line in lines)


@dataclass(frozen=True, slots=True)
class _Record:
    """An event and where it came from (its export line; ``None`` for a database row)."""

    event: StoredEvent
    line: int | None = None
    file: str | None = None

    def finding(self, problem: Problem, reason: str, *, position: int | None = None) -> Finding:
        """A finding here: this record's line and file, its event's position unless another
        position is named (the one that is missing, say)."""
        return Finding(
            problem,
            reason,
            position=self.event.position if position is None else position,
            line=self.line,
            file=self.file,
        )


class _Walker:
    """The chain state carried from batch to batch: the last accepted event, stream versions.

    Memory is one entry per stream, not per event.
    """

    def __init__(
        self,
        mode: VerifyMode | None,
        *,
        anchor_prev_hash: str | None = None,
        streams_from_one: bool | None = None,
        checks: Sequence[EventCheck] = (),
    ) -> None:
        self.mode = mode  # None: decided by the first event (an export without manifest).
        self.previous: StoredEvent | None = None
        self.count = 0
        self.first_position: int | None = None
        self.checks = list(checks)
        self._anchor = anchor_prev_hash
        self._streams_from_one = streams_from_one
        self._versions: dict[str, int] = {}

    def _resolve_mode(self, first: StoredEvent) -> VerifyMode:
        if self.mode is None:
            # An export that starts on the genesis hash is taken as the whole log; anything
            # else as a slice. A one-wallet export needs its manifest (or an explicit mode).
            starts_log = first.position == 1 and first.prev_hash == GENESIS_HASH
            self.mode = VerifyMode.LOG if starts_log else VerifyMode.SLICE
        if self._streams_from_one is None:
            # Only a whole log is known to hold every stream from its first version.
            self._streams_from_one = self.mode is VerifyMode.LOG
        return self.mode

    def check(self, records: Sequence[_Record], lookahead: _Record | None) -> Finding | None:
        """Accept ``records`` or return the first problem; ``lookahead`` follows the last."""
        if not records:
            return None
        mode = self._resolve_mode(records[0].event)
        if mode is not VerifyMode.SUBSET and self._fast(records):
            for record in records:
                finding = self._observe(record)
                if finding is not None:
                    return finding
                self._accept(record.event)
            return None
        for index, record in enumerate(records):
            following = records[index + 1] if index + 1 < len(records) else lookahead
            if mode is VerifyMode.SUBSET:
                finding = self._step_subset(record, following)
            else:
                finding = self._step_chain(record, following)
            if finding is not None:
                return finding
        return None

    # -- the fast path: the port's own verify_chain -------------------------------------

    def _observe(self, record: _Record) -> Finding | None:
        """The first problem the checks beside the chain find with a sound event."""
        mode = self.mode or VerifyMode.LOG
        for check in self.checks:
            flaw = check.observe(record.event, mode)
            if flaw is not None:
                return record.finding(flaw.problem, flaw.reason, position=flaw.position)
        return None

    def finish_checks(self) -> Finding | None:
        """What the checks find once the whole source was walked without a finding."""
        mode = self.mode or VerifyMode.LOG
        for check in self.checks:
            flaw = check.finish(mode)
            if flaw is not None:
                return Finding(flaw.problem, flaw.reason, position=flaw.position)
        return None

    def summaries(self) -> tuple[CheckSummary, ...]:
        return tuple(check.summary() for check in self.checks)

    def _fast(self, records: Sequence[_Record]) -> bool:
        """Whether the port's ``verify_chain`` accepts the whole batch (and stream versions
        continue across batches); ``False`` to diagnose. Accepts nothing itself."""
        if self.previous is None and self.mode is not VerifyMode.LOG:
            return False  # A slice's first event is its own anchor; the slow path handles it.
        events = [record.event for record in records]
        try:
            verify_chain(events, previous=self.previous)
        except ChainBroken:
            return False
        # verify_chain checks stream versions only from position 1 within one call; across
        # batches they are tracked here. Staged, so a bad batch leaves the state untouched.
        staged: dict[str, int] = {}
        for event in events:
            known = staged.get(event.stream_id, self._versions.get(event.stream_id))
            if not self._version_ok(known, event.stream_version):
                return False
            staged[event.stream_id] = event.stream_version
        return True

    # -- the slow path: event by event, naming the problem ------------------------------

    def _version_ok(self, known: int | None, version: int) -> bool:
        if known is not None:
            return version == known + 1
        return version == 1 or not self._streams_from_one

    def _accept(self, event: StoredEvent) -> None:
        self._versions[event.stream_id] = event.stream_version
        if self.first_position is None:
            self.first_position = event.position
        self.previous = event
        self.count += 1

    def _accept_if_sound(self, record: _Record) -> Finding | None:
        """Accept ``record`` if its content checks and the checks beside the chain pass;
        else the finding."""
        finding = self._content_finding(record) or self._observe(record)
        if finding is None:
            self._accept(record.event)
        return finding

    def _content_finding(self, record: _Record) -> Finding | None:
        """Hash and stream-version checks, shared by every mode."""
        event = record.event
        if event_hash(event) != event.hash:
            return record.finding(
                Problem.HASH_MISMATCH,
                "the event's content does not match its hash (edited payload or field)",
            )
        known = self._versions.get(event.stream_id)
        if not self._version_ok(known, event.stream_version):
            expected = 1 if known is None else known + 1
            return record.finding(
                Problem.STREAM_VERSION,
                f"stream {event.stream_id!r}: expected version {expected}, "
                f"found {event.stream_version}",
            )
        return None

    def _step_chain(self, record: _Record, following: _Record | None) -> Finding | None:
        event = record.event
        previous = self.previous
        if previous is not None:
            expected_position, expected_prev = previous.position + 1, previous.hash
        elif self.mode is VerifyMode.LOG:
            expected_position, expected_prev = 1, GENESIS_HASH
        else:
            # A slice hooks onto the manifest's first_prev_hash, or is trusted as given.
            expected_position = event.position
            expected_prev = self._anchor if self._anchor is not None else event.prev_hash
        if event.position != expected_position:
            return self._position_finding(record, following, expected_position)
        if event.prev_hash != expected_prev:
            if (
                following is not None
                and following.event.hash == event.prev_hash
                and following.event.prev_hash == expected_prev
            ):
                # This event links to the *next* one, which links to our predecessor: the
                # pair was swapped (rows' contents or positions exchanged).
                return record.finding(
                    Problem.REORDERED,
                    f"the events at positions {expected_position} and "
                    f"{following.event.position} are swapped",
                    position=expected_position,
                )
            if previous is None:
                reason = "prev_hash does not match the manifest's first_prev_hash"
            else:
                reason = (
                    f"prev_hash is not the hash of position {previous.position}: an event "
                    "before it was altered and re-hashed, or rows were deleted and renumbered"
                )
            return record.finding(
                Problem.BROKEN_LINK,
                reason,
            )
        return self._accept_if_sound(record)

    def _position_finding(
        self, record: _Record, following: _Record | None, expected: int
    ) -> Finding:
        found = record.event.position
        if found > expected:
            if following is not None and following.event.position == expected:
                return record.finding(
                    Problem.REORDERED,
                    f"out of order: position {found} comes before position {expected} "
                    "(a swapped pair)",
                    position=expected,
                )
            gone = (
                f"position {expected} is"
                if found == expected + 1
                else f"positions {expected}-{found - 1} are"
            )
            return record.finding(
                Problem.MISSING,
                f"{gone} missing (deleted); the next event present is position {found}",
                position=expected,
            )
        if self.previous is not None and found == self.previous.position:
            return record.finding(
                Problem.DUPLICATE,
                f"position {found} appears twice",
                position=found,
            )
        return record.finding(
            Problem.REORDERED,
            f"out of order: position {found} where position {expected} was expected",
            position=found,
        )

    def _step_subset(self, record: _Record, following: _Record | None) -> Finding | None:
        event = record.event
        last = self.previous.position if self.previous is not None else 0
        if event.position <= last:
            problem = Problem.DUPLICATE if event.position == last else Problem.REORDERED
            return record.finding(
                problem,
                f"position {event.position} after position {last}: positions must increase",
            )
        if following is not None and last < following.event.position < event.position:
            return record.finding(
                Problem.REORDERED,
                f"out of order: position {event.position} comes before position "
                f"{following.event.position} (a swapped pair)",
                position=following.event.position,
            )
        return self._accept_if_sound(record)


class _Driver:
    """Feeds batches to a :class:`_Walker`, holding one batch back for look-ahead.

    Each batch is checked when the next one arrives, so the last event of a batch still sees
    its successor (a swapped pair across a batch boundary is still called a swap).
    """

    def __init__(self, walker: _Walker) -> None:
        self.walker = walker
        self._pending: list[_Record] = []

    def push(self, records: list[_Record]) -> Finding | None:
        if not records:
            return None
        finding = self.walker.check(self._pending, records[0]) if self._pending else None
        self._pending = records
        return finding

    def finish(self) -> Finding | None:
        pending, self._pending = self._pending, []
        return self.walker.check(pending, None) if pending else None


def _report(
    source: str,
    walker: _Walker,
    finding: Finding | None,
    notes: Sequence[str] = (),
) -> VerifyReport:
    last = walker.previous
    return VerifyReport(
        source=source,
        mode=walker.mode or VerifyMode.LOG,
        events=walker.count,
        first_position=walker.first_position,
        last_position=last.position if last is not None else None,
        last_hash=last.hash if last is not None else None,
        finding=finding,
        notes=tuple(notes),
        checks=walker.summaries() if finding is None else (),
    )


def _short_error(exc: Exception) -> str:
    """A one-line account of a decoding error (pydantic's are long and multi-line)."""
    if isinstance(exc, ValidationError):
        errors = exc.errors()
        if errors:
            first = errors[0]
            where = ".".join(str(part) for part in first.get("loc", ()))
            message = str(first.get("msg", "invalid"))
            return f"{where}: {message}" if where else message
    text = str(exc).splitlines()
    return text[0] if text else type(exc).__name__


# -- files: exports and retention archives ------------------------------------------------


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
        raise AuditError(f"cannot read manifest {path}: {_short_error(exc)}") from exc


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
    extra: _Record | None = None
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

    def batches(self) -> Iterator[list[_Record]]:
        stats = self.stats
        digest = hashlib.sha256()
        batch: list[_Record] = []
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
                        f"the last line is incomplete (file truncated): {_short_error(exc)}"
                        if cut
                        else f"not a valid event: {_short_error(exc)}"
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
                record = _Record(event, stats.lines, name)
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
    driver: _Driver, path: Path, *, batch_size: int, expected_count: int | None
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
    driver: _Driver,
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
        walker = _Walker(
            mode or manifest_mode,
            anchor_prev_hash=loaded.first_prev_hash,
            streams_from_one=from_one,
            checks=beside,
        )
    else:
        walker = _Walker(mode, checks=beside)
        notes.append("no manifest: a file cut exactly at a line boundary cannot be detected")
    finding, stats = _feed_file(
        _Driver(walker),
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
    return _report(str(path), walker, finding, notes)


def archive_files(directory: Path) -> list[Path]:
    """The retention archives' data files in ``directory``, oldest month first."""
    return sorted(
        path for path in directory.glob("events-*" + ARCHIVE_DATA_SUFFIX) if path.is_file()
    )


async def _verify_archives(
    walker: _Walker, directory: Path, *, batch_size: int, index: IndexCheck | None
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
            _Driver(walker),
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
                    f"the row stored after position {cursor} cannot be decoded: "
                    f"{_short_error(exc)}",
                )
            if not row:
                break
            good.append(row[0])
            cursor = row[0].position
        # The batch failed but no single row did (the damage was repaired meanwhile?).
        return good, Finding(Problem.MALFORMED, f"unreadable batch: {_short_error(batch_error)}")


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
    walker = _Walker(
        VerifyMode.LOG, streams_from_one=True, checks=[index, *(checks or Checks()).build()]
    )
    source = store.url if archives is None else f"{archives} + {store.url}"
    if archives is not None:
        finding = await _verify_archives(walker, archives, batch_size=batch_size, index=index)
        if finding is not None:
            return _report(source, walker, finding)
    driver = _Driver(walker)
    after = 0
    while True:
        events, unreadable = await _read_batch(store, after, batch_size)
        await index.prefetch(events)
        finding = driver.push([_Record(event) for event in events])
        if finding is not None:
            return _report(source, walker, _hint_archives(finding, archives))
        if unreadable is not None:
            return _report(source, walker, driver.finish() or unreadable)
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
    return _report(source, walker, _hint_archives(finding, archives), notes)


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
    store: EventStore, walker: _Walker, manifest: ExportManifest
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
