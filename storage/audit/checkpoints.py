"""Signed checkpoints of the chain, verified (storage.events.models ``ChainCheckpoint``).

A hash chain alone cannot tell an edited log that was re-hashed from end to end from the
original: every link verifies again. So the coordinator periodically signs the chain's head
(position and hash) with a key only it holds (``runtime.checkpoint_key``; written by
``workers.checkpoints``) and records the signature as a ``ChainCheckpoint`` event. The
verifier then checks, for every checkpoint, that

* it is signed (Ed25519, libsodium) by a trusted checkpoint public key, over
  :meth:`~storage.events.models.ChainCheckpoint.signed_message`;
* the chain it covers hashes to what it says: the walked event at ``head_position`` has
  ``head_hash`` (the walk has already checked every link up to it, so that hash commits to
  every event before it). An edit at or below a checkpoint's head, re-hashed or not, fails
  here: whoever re-hashed cannot sign a new checkpoint;
* it comes after the head it covers, and at most :data:`CHECKPOINT_WINDOW` positions after
  (the writer appends right after reading the head, so only concurrent appends come in
  between; an event count inflated under an old checkpoint fails rather than going
  unchecked).

Dropping the checkpoints along with the edit does not help either: the writer checkpoints
every ``interval_seconds`` while events arrive, so with a trusted key, events that no
checkpoint covers although the log goes on for longer than :func:`uncovered_limit` after
them (twice the interval, plus a minute) are a finding (``checkpoint-missing``): the writer
was not running, or checkpoints were removed. The limit is measured along the log's own
``recorded_at`` (not the verifier's clock), so an old backup verifies as it did when it was
taken. Events after the last checkpoint within that limit (a log still being written) are
named in the report as not yet vouched for. What no in-band check can show is a log cut
back to before its last checkpoints; keep the last checkpoint (or an export manifest) you
verified, and compare.

The public key: ``--checkpoint-key`` (hex, or a file holding it), else, for the deployment's
own store, ``<data dir>/checkpoint-key.pub`` as provisioning writes it (one line,
``ed25519:<64 hex>``). An auditor should pin the key they were given rather than trust a
file beside the data they audit; the report prints the key it checked against.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Final

from nacl.exceptions import BadSignatureError, CryptoError
from nacl.signing import VerifyKey

from storage.audit.errors import AuditError
from storage.audit.findings import CheckSummary, Flaw, Problem, VerifyMode
from storage.events.errors import EventStoreError
from storage.events.models import ChainCheckpoint, parse_checkpoint
from storage.events.port import StoredEvent

CHECKPOINT_WINDOW: Final = 10_000
"""How far back (in positions) a checkpoint's head may lie behind the checkpoint itself.

The verifier keeps this many recent hashes (a few hundred kilobytes) to look the head up in
one pass; the writer's lag is the number of appends between its read of the head and its own
append, a handful at most."""
DEFAULT_CHECKPOINT_INTERVAL_SECONDS: Final = 60.0
"""How often the writer checkpoints by default; what the verifier assumes before it has
seen a checkpoint saying otherwise."""
UNCOVERED_SLACK: Final = timedelta(minutes=1)
PUBLIC_KEY_PREFIX: Final = "ed25519:"
PUBLIC_KEY_FILE: Final = "checkpoint-key.pub"
"""The public key's file name in the data directory."""

_CHECKPOINT = ChainCheckpoint.__name__


def format_public_key(public_key: bytes) -> str:
    """The public key as its file holds it: ``ed25519:<64 hex>`` and a newline."""
    if len(public_key) != 32:
        raise ValueError("an Ed25519 public key is 32 bytes")
    return f"{PUBLIC_KEY_PREFIX}{public_key.hex()}\n"


def parse_public_key(text: str) -> bytes:
    """A checkpoint public key from ``ed25519:<hex>`` or bare hex; ``ValueError`` if not one."""
    value = text.strip()
    value = value.removeprefix(PUBLIC_KEY_PREFIX)
    try:
        key = bytes.fromhex(value)
    except ValueError:
        key = b""
    if len(key) != 32 or value != key.hex():
        raise ValueError("a checkpoint public key is 64 lowercase hex digits (ed25519:<hex>)")
    return key


def load_public_key(source: str) -> bytes:
    """The key in ``source``: itself (hex) or, failing that, the file it names.

    Raises :class:`~storage.audit.errors.AuditError` if it is neither.
    """
    try:
        return parse_public_key(source)
    except ValueError:
        pass
    path = Path(source)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise AuditError(
            f"checkpoint key {source!r} is neither a public key (ed25519:<64 hex>) nor a "
            f"readable file: {exc}"
        ) from None
    try:
        return parse_public_key(text)
    except ValueError as exc:
        raise AuditError(f"checkpoint key file {path}: {exc}") from None


def describe_key(public_key: bytes) -> str:
    return f"{PUBLIC_KEY_PREFIX}{public_key.hex()}"


def uncovered_limit(interval_seconds: float | None) -> timedelta:
    """How long the log may go on after an event before a checkpoint must cover it."""
    interval = interval_seconds or DEFAULT_CHECKPOINT_INTERVAL_SECONDS
    return 2 * timedelta(seconds=interval) + UNCOVERED_SLACK


@dataclass(slots=True)
class CheckpointCheck:
    """The :class:`~storage.audit.findings.EventCheck` of every ``ChainCheckpoint``.

    ``trusted``: the checkpoint public keys to verify against; empty when none is configured,
    in which case checkpoints are counted, not verified, and the report says so.
    """

    trusted: tuple[bytes, ...] = ()
    key_source: str | None = None
    """Where the key came from, for the report (a path, or "--checkpoint-key")."""
    found: int = 0
    verified: int = 0
    before_source: int = 0
    covered_through: int = 0
    last_signed_at: datetime | None = None
    interval_seconds: float | None = None
    first_event: int | None = None
    last_event: int | None = None
    """The last position that is not a checkpoint: what the chain's writers recorded."""
    last_recorded_at: datetime | None = None
    uncovered_from: tuple[int, datetime] | None = None
    """The first event after the last verified checkpoint's head that is not itself a
    checkpoint (position, time): where the events no signature vouches for yet begin."""
    _first_position: int | None = None
    _recent: deque[tuple[int, str]] = field(default_factory=lambda: deque(maxlen=CHECKPOINT_WINDOW))
    _recent_events: deque[tuple[int, datetime]] = field(
        default_factory=lambda: deque(maxlen=CHECKPOINT_WINDOW)
    )

    def observe(self, event: StoredEvent, mode: VerifyMode) -> Flaw | None:
        if self._first_position is None:
            self._first_position = event.position
        flaw = None
        if event.event_type == _CHECKPOINT:
            flaw = self._check(event, mode)
        else:
            self.first_event = self.first_event or event.position
            self.last_event = event.position
            self._recent_events.append((event.position, event.recorded_at))
            if self.uncovered_from is None:
                self.uncovered_from = (event.position, event.recorded_at)
        self.last_recorded_at = event.recorded_at
        self._recent.append((event.position, event.hash))
        return flaw

    def _check(self, event: StoredEvent, mode: VerifyMode) -> Flaw | None:
        try:
            checkpoint = parse_checkpoint(event)
        except EventStoreError as exc:
            return Flaw(Problem.MALFORMED, str(exc).splitlines()[0])
        self.found += 1
        if not self.trusted or mode is VerifyMode.SUBSET:
            return None
        signer = bytes.fromhex(checkpoint.public_key)
        if signer not in self.trusted:
            return Flaw(
                Problem.CHECKPOINT_INVALID,
                f"signed by {describe_key(signer)}, which is not a trusted checkpoint key "
                f"({', '.join(describe_key(key) for key in self.trusted)})",
            )
        try:
            VerifyKey(signer).verify(
                checkpoint.signed_message(), bytes.fromhex(checkpoint.signature)
            )
        except (BadSignatureError, CryptoError, ValueError):
            return Flaw(
                Problem.CHECKPOINT_INVALID,
                f"its signature does not verify (libsodium) under {describe_key(signer)}: "
                "the checkpoint was forged or altered",
            )
        head = checkpoint.head_position
        if head >= event.position:
            return Flaw(
                Problem.CHECKPOINT_INVALID,
                f"it claims to cover position {head}, which is not before it",
            )
        first = self._first_position if self._first_position is not None else event.position
        if head < first:
            # A slice that starts after the head this checkpoint covers.
            self.before_source += 1
            return None
        known = self._hash_at(head)
        if known is None:
            return Flaw(
                Problem.CHECKPOINT_INVALID,
                f"it covers position {head}, {event.position - head} positions before it; "
                f"a checkpoint is written within {CHECKPOINT_WINDOW} positions of its head, "
                "so events were inserted below it",
            )
        if known != checkpoint.head_hash:
            return Flaw(
                Problem.CHECKPOINT_MISMATCH,
                f"the checkpoint signed at {checkpoint.signed_at.isoformat()} says the event "
                f"at position {head} has hash {checkpoint.head_hash}, but the chain here "
                f"hashes to {known}: the log was rewritten at or before position {head} "
                "(edited and re-hashed)",
            )
        self.verified += 1
        self.covered_through = max(self.covered_through, head)
        # The events after the head (appended while it was signed) are still uncovered; they
        # are all within the window, so the recent positions hold them.
        start = None
        for recent in reversed(self._recent_events):
            if recent[0] <= self.covered_through:
                break
            start = recent
        self.uncovered_from = start
        self.last_signed_at = checkpoint.signed_at
        self.interval_seconds = checkpoint.interval_seconds
        return None

    def _hash_at(self, position: int) -> str | None:
        if not self._recent:
            return None
        offset = position - self._recent[0][0]
        if not 0 <= offset < len(self._recent):
            return None
        found, digest = self._recent[offset]
        return digest if found == position else None

    def finish(self, mode: VerifyMode) -> Flaw | None:
        if not self.trusted or mode is not VerifyMode.LOG or self.uncovered_from is None:
            return None
        position, recorded_at = self.uncovered_from
        newest = self.last_recorded_at or recorded_at
        limit = uncovered_limit(self.interval_seconds)
        if newest - recorded_at <= limit:
            return None  # A log still being written: said in the summary's notes.
        which = (
            "no checkpoint signed by a trusted key covers any event"
            if self.verified == 0
            else f"no checkpoint covers the events after position {self.covered_through}"
        )
        return Flaw(
            Problem.CHECKPOINT_MISSING,
            f"{which}, though the log goes on for {_seconds(newest - recorded_at)} after "
            f"position {position} (a checkpoint is due within {_seconds(limit)}): the "
            "checkpoint writer was not running, or checkpoints were removed (a log "
            "re-hashed with its checkpoints dropped looks like this); nothing vouches for "
            f"positions {position}..{self.last_event}",
            position=position,
        )

    def summary(self) -> CheckSummary:
        data: dict[str, object] = {
            "found": self.found,
            "verified": self.verified,
            "keys": [describe_key(key) for key in self.trusted],
            "covered_through": self.covered_through or None,
            "uncovered_from": None,
        }
        notes: list[str] = []
        if not self.trusted:
            text = (
                f"checkpoints: {self.found} found, NOT verified: no checkpoint public key "
                "(give --checkpoint-key, or provision <data dir>/checkpoint-key.pub); a log "
                "edited and re-hashed from end to end cannot be told from the original"
            )
            return CheckSummary("checkpoints", text, data)
        keys = ", ".join(describe_key(key) for key in self.trusted)
        source = f" from {self.key_source}" if self.key_source else ""
        if self.verified:
            signed = self.last_signed_at.isoformat() if self.last_signed_at else "?"
            text = (
                f"checkpoints: {self.verified} verified against {keys}{source}; the last "
                f"covers positions up to {self.covered_through} (signed at {signed})"
            )
        else:
            text = f"checkpoints: none verified against {keys}{source}"
        if self.before_source:
            notes.append(
                f"{self.before_source} checkpoints cover positions before this source's first "
                "event and could not be checked"
            )
        if self.uncovered_from is not None and self.last_event is not None:
            data["uncovered_from"] = self.uncovered_from[0]
            notes.append(
                f"positions {self.uncovered_from[0]}..{self.last_event} come after the last "
                "checkpoint: no signature vouches for them yet"
            )
        return CheckSummary("checkpoints", text, data, tuple(notes))


def _seconds(span: timedelta) -> str:
    return f"{span.total_seconds():.0f} s"
