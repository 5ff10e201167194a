"""Retention archives: months of events exported to JSON-lines files that anyone can verify.

The policy (:data:`~storage.events.port.RETENTION`, 7 years) keeps every signing record in
the live store for the period SOC 2 and ISO 27001 audits ask for; older *calendar months*
(UTC) are moved out by :meth:`EventStore.archive_partitions
<storage.events.port.EventStore.archive_partitions>`. A month is archived as two files:

``events-YYYY-MM.jsonl``
    one :class:`~storage.events.port.StoredEvent` per line, in position order, exactly as
    ``StoredEvent.model_dump_json()`` writes it (the same line format as ``quorate audit
    export``), hashes included, so :func:`~storage.events.port.verify_chain` runs over
    ``archive + archive + ... + live store`` as over one log.
``events-YYYY-MM.jsonl.manifest.json``
    an :class:`ArchiveManifest`: the month, the first and last positions, the hash the first
    event links to and the last event's hash, the number of events and the SHA-256 of the
    data file. A truncation at a line boundary is invisible to the chain alone; the count,
    the last hash and the file digest catch it.

Writing is careful because the store deletes the month right after: each file is written
under a temporary name, ``fsync``-ed, renamed into place, and the directory is ``fsync``-ed,
before the adapter removes anything. Every event is checked on its way out (position,
link to its predecessor, recomputed hash), so a tampered month is refused rather than
archived and forgotten.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Annotated, Final, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

from storage.events.errors import ArchiveError, ChainBroken
from storage.events.port import GENESIS_HASH, StoredEvent, canonical_json, event_hash

ARCHIVE_FORMAT: Final = "quorate-event-archive/1"
DATA_SUFFIX: Final = ".jsonl"
MANIFEST_SUFFIX: Final = ".manifest.json"

_Hex64 = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]
_Month = Annotated[str, StringConstraints(pattern=r"^[0-9]{4}-(0[1-9]|1[0-2])$")]


# -- calendar months (UTC) ------------------------------------------------------------------


def month_start(instant: datetime) -> datetime:
    """The first instant (UTC) of the calendar month holding ``instant``."""
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise ValueError("instant must be timezone-aware")
    utc = instant.astimezone(UTC)
    return datetime(utc.year, utc.month, 1, tzinfo=UTC)


def next_month(start: datetime) -> datetime:
    """The first instant of the month after the one starting at ``start``."""
    start = month_start(start)
    if start.month == 12:
        return start.replace(year=start.year + 1, month=1)
    return start.replace(month=start.month + 1)


def archive_boundary(older_than: datetime) -> datetime:
    """Months starting before this instant end at or before ``older_than``: archivable.

    A month ends at the next month's start, which is at most ``older_than`` exactly when it
    is at most ``month_start(older_than)``: so the month that contains the cutoff (it spans
    it) is kept, and so is everything after it.
    """
    return month_start(older_than)


def month_label(start: datetime) -> str:
    """``"YYYY-MM"`` of the month starting at ``start``."""
    start = month_start(start)
    return f"{start.year:04d}-{start.month:02d}"


def data_file_name(start: datetime) -> str:
    """The data file's name for the month starting at ``start``."""
    return f"events-{month_label(start)}{DATA_SUFFIX}"


def manifest_path_for(data_path: Path) -> Path:
    """Where a data file's manifest lives: beside it, ``<name>.manifest.json``."""
    return data_path.with_name(data_path.name + MANIFEST_SUFFIX)


# -- the manifest ---------------------------------------------------------------------------


class ArchiveManifest(BaseModel):
    """What one month's archive file holds, so it can be checked as a whole."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    format: Literal["quorate-event-archive/1"] = ARCHIVE_FORMAT
    file: str = Field(description="The data file's name (no directory).")
    month: _Month
    source: str = Field(description="The event store it came from (no password).")
    archived_at: AwareDatetime
    count: int = Field(ge=1)
    first_position: int = Field(ge=1)
    last_position: int = Field(ge=1)
    first_prev_hash: _Hex64 = Field(description="prev_hash of the first event.")
    last_hash: _Hex64
    sha256: _Hex64 = Field(description="SHA-256 of the data file's bytes.")


def read_manifest(data_path: Path) -> ArchiveManifest:
    """The manifest of the data file at ``data_path``; raises :class:`ArchiveError`."""
    path = manifest_path_for(data_path)
    try:
        return ArchiveManifest.model_validate_json(path.read_bytes())
    except (OSError, ValueError) as exc:
        raise ArchiveError(f"cannot read archive manifest {path}: {exc}") from exc


# -- checking a segment of the chain --------------------------------------------------------


class SegmentVerifier:
    """Checks events one by one as a contiguous piece of the chain.

    Unlike :func:`~storage.events.port.verify_chain`, the segment may start anywhere: it
    is anchored by the position and ``prev_hash`` its first event must have. Stream versions
    are not checked (a segment does not say where each stream stood before it).
    """

    def __init__(self, *, first_position: int, prev_hash: str) -> None:
        self.expected_position = first_position
        self.expected_prev = prev_hash
        self.count = 0

    def check(self, event: StoredEvent) -> None:
        """Raise :class:`ChainBroken` naming ``event`` if it does not continue the segment."""
        if event.position != self.expected_position:
            raise ChainBroken(
                position=event.position,
                reason=f"expected position {self.expected_position}, found {event.position}",
            )
        if event.prev_hash != self.expected_prev:
            raise ChainBroken(
                position=event.position, reason="prev_hash is not the hash of the previous event"
            )
        if event_hash(event) != event.hash:
            raise ChainBroken(position=event.position, reason="hash does not match content")
        self.expected_position += 1
        self.expected_prev = event.hash
        self.count += 1


# -- writing --------------------------------------------------------------------------------


def _fsync_directory(directory: Path) -> None:
    # A rename is durable only once the directory entry is on disk.
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_durably(path: Path, data: bytes) -> None:
    temporary = path.with_name(path.name + ".tmp")
    with temporary.open("wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    temporary.replace(path)


def _sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


class ArchiveWriter:
    """Writes one month's archive: :meth:`add` each event in position order, then :meth:`finish`.

    ``first_position`` and ``prev_hash`` anchor the month to the log before it (the previous
    archive's last event, or :data:`GENESIS_HASH` at position 1); every event is checked
    by a :class:`SegmentVerifier` and must fall inside the month.
    """

    def __init__(
        self,
        export_dir: Path,
        month: datetime,
        *,
        first_position: int,
        prev_hash: str,
        source: str,
    ) -> None:
        self.month = month_start(month)
        self._until = next_month(self.month)
        self.path = Path(export_dir) / data_file_name(self.month)
        self._temporary = self.path.with_name(self.path.name + ".tmp")
        self._source = source
        self._first_position = first_position
        self._first_prev = prev_hash
        self._verifier = SegmentVerifier(first_position=first_position, prev_hash=prev_hash)
        self._digest = hashlib.sha256()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._handle: IO[bytes] | None = self._temporary.open("wb")

    def add(self, event: StoredEvent) -> None:
        """Check ``event`` and append it to the file."""
        if self._handle is None:
            raise ArchiveError(f"archive {self.path} is already finished")
        if not self.month <= event.recorded_at < self._until:
            raise ArchiveError(
                f"event at position {event.position} was recorded at "
                f"{event.recorded_at.isoformat()}, outside {month_label(self.month)}"
            )
        self._verifier.check(event)
        line = event.model_dump_json().encode("utf-8") + b"\n"
        self._handle.write(line)
        self._digest.update(line)

    @property
    def count(self) -> int:
        """Events added so far."""
        return self._verifier.count

    @property
    def last_position(self) -> int:
        """Position of the last event added."""
        return self._verifier.expected_position - 1

    @property
    def last_hash(self) -> str:
        """Hash of the last event added."""
        return self._verifier.expected_prev

    def finish(self, archived_at: datetime) -> ArchiveManifest:
        """Make the data file and its manifest durable; return the manifest.

        Raises :class:`ArchiveError` if no event was added, or if a different archive of the
        same month is already in ``export_dir`` (it is never overwritten).
        """
        handle, self._handle = self._handle, None
        if handle is None:
            raise ArchiveError(f"archive {self.path} is already finished")
        try:
            handle.flush()
            os.fsync(handle.fileno())
        finally:
            handle.close()
        if self.count == 0:
            self._temporary.unlink(missing_ok=True)
            raise ArchiveError(f"no events to archive for {month_label(self.month)}")
        sha256 = self._digest.hexdigest()
        if self.path.exists() and _sha256_of(self.path) != sha256:
            self._temporary.unlink(missing_ok=True)
            raise ArchiveError(
                f"{self.path} exists with different content; refusing to overwrite an archive"
            )
        self._temporary.replace(self.path)
        manifest = ArchiveManifest(
            file=self.path.name,
            month=month_label(self.month),
            source=self._source,
            archived_at=archived_at,
            count=self.count,
            first_position=self._first_position,
            last_position=self.last_position,
            first_prev_hash=self._first_prev,
            last_hash=self.last_hash,
            sha256=sha256,
        )
        document = canonical_json(manifest.model_dump(mode="json")) + "\n"
        _write_durably(manifest_path_for(self.path), document.encode("utf-8"))
        _fsync_directory(self.path.parent)
        return manifest

    def abort(self) -> None:
        """Discard the unfinished file (the month stays in the store)."""
        handle, self._handle = self._handle, None
        if handle is not None:
            handle.close()
        with contextlib.suppress(OSError):
            self._temporary.unlink(missing_ok=True)


# -- reading and verifying ------------------------------------------------------------------


def read_archive(data_path: Path) -> list[StoredEvent]:
    """The events of an archive data file, in file order; raises :class:`ArchiveError`.

    Only parses; :func:`verify_archive` checks the file against its manifest and the chain.
    """
    events: list[StoredEvent] = []
    try:
        with Path(data_path).open("rb") as handle:
            for number, line in enumerate(handle, start=1):
                try:
                    events.append(StoredEvent.model_validate_json(line))
                except ValueError as exc:
                    raise ArchiveError(f"{data_path}:{number}: not a stored event: {exc}") from exc
    except OSError as exc:
        raise ArchiveError(f"cannot read archive {data_path}: {exc}") from exc
    return events


def verify_archive(data_path: Path, *, previous_hash: str | None = None) -> ArchiveManifest:
    """Check an archive file against its manifest and the chain; return the manifest.

    The chain is checked first so that an edited line is named by its position
    (:class:`ChainBroken`); then the manifest's count, last hash and SHA-256
    (:class:`ArchiveError`). With ``previous_hash`` (the preceding archive's ``last_hash``,
    or :data:`GENESIS_HASH` for the first), the file must also hook onto it.
    """
    manifest = read_manifest(Path(data_path))
    if previous_hash is not None and manifest.first_prev_hash != previous_hash:
        raise ChainBroken(
            position=manifest.first_position,
            reason=f"{Path(data_path).name} does not continue the previous archive",
        )
    if manifest.first_position == 1 and manifest.first_prev_hash != GENESIS_HASH:
        raise ChainBroken(position=1, reason="prev_hash of position 1 is not the genesis hash")
    verifier = SegmentVerifier(
        first_position=manifest.first_position, prev_hash=manifest.first_prev_hash
    )
    for event in read_archive(Path(data_path)):
        verifier.check(event)
    found = (verifier.count, verifier.expected_position - 1, verifier.expected_prev)
    promised = (manifest.count, manifest.last_position, manifest.last_hash)
    if found != promised:
        raise ArchiveError(
            f"{data_path} holds (count, last position, last hash) {found}; "
            f"its manifest says {promised}"
        )
    if _sha256_of(Path(data_path)) != manifest.sha256:
        raise ArchiveError(f"{data_path}: SHA-256 does not match its manifest")
    return manifest
