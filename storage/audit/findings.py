"""What a verification reports: the kinds of problem, the first bad event, the modes.

Kept apart from :mod:`storage.audit.verify` so the checks that run beside the hash chain
(:mod:`~storage.audit.signatures`, :mod:`~storage.audit.index`,
:mod:`~storage.audit.checkpoints`) share these types without importing the walker.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from storage.events.port import StoredEvent


class Problem(StrEnum):
    """What is wrong with the first bad event (see :mod:`storage.audit.verify`'s table)."""

    HASH_MISMATCH = "hash-mismatch"
    MISSING = "missing"
    REORDERED = "reordered"
    DUPLICATE = "duplicate"
    BROKEN_LINK = "broken-link"
    STREAM_VERSION = "stream-version"
    MALFORMED = "malformed"
    TRUNCATED = "truncated"
    MANIFEST_MISMATCH = "manifest-mismatch"
    CHECKPOINT_MISMATCH = "checkpoint-mismatch"
    BAD_SIGNATURE = "bad-signature"
    KEY_MISMATCH = "key-mismatch"
    INDEX_MISMATCH = "index-mismatch"
    CHECKPOINT_INVALID = "checkpoint-invalid"
    CHECKPOINT_MISSING = "checkpoint-missing"


class VerifyMode(StrEnum):
    """How much of the chain a source is expected to hold."""

    LOG = "log"
    """The whole log: starts at position 1 on the genesis hash; stream versions from 1."""
    SLICE = "slice"
    """A contiguous run of positions starting anywhere (a time-range export); the first
    event's ``prev_hash`` is taken from the manifest (or trusted), then every link checked."""
    SUBSET = "subset"
    """Selected events (one wallet's): not contiguous, so links between them cannot be
    checked; each event's hash, increasing positions and stream versions are."""


@dataclass(frozen=True, slots=True)
class Finding:
    """The first bad event: its position (when known), export line (for files) and why."""

    problem: Problem
    reason: str
    position: int | None = None
    line: int | None = None
    file: str | None = None
    """The file's name, when the event came from an export or a retention archive."""

    def describe(self) -> str:
        """One line for people: where, what, why."""
        where = []
        if self.position is not None:
            where.append(f"position {self.position}")
        if self.line is not None:
            where.append(f"line {self.line}" + (f" of {self.file}" if self.file else ""))
        elif self.file is not None:
            where.append(self.file)
        place = ", ".join(where) if where else "unknown position"
        return f"first bad event at {place}: {self.problem.value}: {self.reason}"


@dataclass(frozen=True, slots=True)
class Flaw:
    """A problem found by a check beside the chain; the walker turns it into a
    :class:`Finding` at the event it was found on (with its export line, if any), or at
    ``position`` for a problem found at the end of the walk."""

    problem: Problem
    reason: str
    position: int | None = None


@dataclass(frozen=True, slots=True)
class CheckSummary:
    """What one check verified, for the report: a line for people, fields for ``--json``."""

    name: str
    text: str
    data: Mapping[str, object]
    notes: tuple[str, ...] = ()


class EventCheck(Protocol):
    """A check of each event the walker has found sound (hash, link, position, version),
    in position order, before the walker accepts it."""

    def observe(self, event: StoredEvent, mode: VerifyMode) -> Flaw | None:
        """The problem with ``event``, or ``None``; called once per event, in order."""
        ...

    def finish(self, mode: VerifyMode) -> Flaw | None:
        """A problem visible only once the whole source was walked without a finding."""
        ...

    def summary(self) -> CheckSummary:
        """What this check verified, and what it could not."""
        ...
