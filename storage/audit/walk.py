"""The walk of a hash chain for ``audit verify``: one event at a time through the chain's
own check and the checks beside it, stopping at the first problem and saying what it is.

:mod:`storage.audit.verify` feeds it from a database or an export file.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from pydantic import ValidationError

from storage.audit.checkpoints import CheckpointCheck
from storage.audit.display import printable_lines
from storage.audit.findings import CheckSummary, EventCheck, Finding, Problem, VerifyMode
from storage.audit.signatures import SignatureCheck
from storage.events.errors import ChainBroken
from storage.events.port import (
    GENESIS_HASH,
    StoredEvent,
    event_hash,
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
class Record:
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


class Walker:
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

    def check(self, records: Sequence[Record], lookahead: Record | None) -> Finding | None:
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

    def _observe(self, record: Record) -> Finding | None:
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

    def _fast(self, records: Sequence[Record]) -> bool:
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

    def _accept_if_sound(self, record: Record) -> Finding | None:
        """Accept ``record`` if its content checks and the checks beside the chain pass;
        else the finding."""
        finding = self._content_finding(record) or self._observe(record)
        if finding is None:
            self._accept(record.event)
        return finding

    def _content_finding(self, record: Record) -> Finding | None:
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

    def _step_chain(self, record: Record, following: Record | None) -> Finding | None:
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

    def _position_finding(self, record: Record, following: Record | None, expected: int) -> Finding:
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

    def _step_subset(self, record: Record, following: Record | None) -> Finding | None:
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


class Driver:
    """Feeds batches to a :class:`Walker`, holding one batch back for look-ahead.

    Each batch is checked when the next one arrives, so the last event of a batch still sees
    its successor (a swapped pair across a batch boundary is still called a swap).
    """

    def __init__(self, walker: Walker) -> None:
        self.walker = walker
        self._pending: list[Record] = []

    def push(self, records: list[Record]) -> Finding | None:
        if not records:
            return None
        finding = self.walker.check(self._pending, records[0]) if self._pending else None
        self._pending = records
        return finding

    def finish(self) -> Finding | None:
        pending, self._pending = self._pending, []
        return self.walker.check(pending, None) if pending else None


def report_of(
    source: str,
    walker: Walker,
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


def short_error(exc: Exception) -> str:
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
