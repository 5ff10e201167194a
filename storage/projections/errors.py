"""Typed errors of the projections (ARCHITECTURE.md invariant 8).

Every failure the projection database or the runner reports is a :class:`ProjectionError`.
A broken hash chain is reported as :class:`ProjectionChainBroken`, which is also a
:class:`storage.events.errors.ChainBroken`, so code that already handles the event store's
chain errors handles the runner's too.
"""

from __future__ import annotations

from storage.errors import InvalidSqlIdentifier, UnsupportedUrl
from storage.events.errors import ChainBroken


class ProjectionError(Exception):
    """Base class of every error raised by the projections package."""


class UnsupportedProjectionDbUrl(ProjectionError, UnsupportedUrl):
    """The URL names no projection-database adapter, or is malformed for the one it names."""

    what = "projection database"


class InvalidIdentifier(ProjectionError, InvalidSqlIdentifier):
    """A schema, table or projection name failed the strict identifier check."""


class ProjectionDbClosed(ProjectionError):
    """The projection database was used after :meth:`ProjectionDb.close`."""


class UnknownProjection(ProjectionError, KeyError):
    """A projection name given to the runner names none of its projections."""

    def __init__(self, name: str, known: list[str]) -> None:
        self.name = name
        self.known = known
        super().__init__(f"unknown projection {name!r}; known: {', '.join(known) or 'none'}")

    def __str__(self) -> str:
        # KeyError's __str__ would quote the whole message again.
        return str(self.args[0])


class DuplicateProjection(ProjectionError, ValueError):
    """Two projections given to one runner share a name (they would share a checkpoint)."""


class ProjectionChainBroken(ProjectionError, ChainBroken):
    """The events the runner read do not form an unbroken hash chain.

    Raised before anything of the batch is committed: every projection stays at its last
    good checkpoint. ``position`` names the first bad event; ``projections`` the projections
    that were about to apply it.
    """

    def __init__(self, *, position: int, reason: str, projections: list[str]) -> None:
        self.projections = projections
        ChainBroken.__init__(self, position=position, reason=reason)


class CheckpointAhead(ProjectionError):
    """A checkpoint names a position past the store's head: the projection was built from a
    different (or truncated) event store, and cannot be trusted without a rebuild."""

    def __init__(self, *, projection: str, checkpoint: int, head: int) -> None:
        self.projection = projection
        self.checkpoint = checkpoint
        self.head = head
        super().__init__(
            f"projection {projection!r} is at position {checkpoint} but the event store's head "
            f"is {head}; rebuild it"
        )


class ProjectionApplyFailed(ProjectionError):
    """A projection raised while applying an event; the batch was rolled back.

    The original exception is ``__cause__``. A known event type whose payload does not
    decode (:class:`storage.events.errors.EventDecodeError`) ends up here: skipping it would
    silently corrupt the projection, so the runner stops instead.
    """

    def __init__(self, *, projection: str, position: int, event_type: str) -> None:
        self.projection = projection
        self.position = position
        self.event_type = event_type
        super().__init__(
            f"projection {projection!r} failed to apply {event_type} at position {position}"
        )


class ProjectionVersionTooNew(ProjectionError):
    """The stored rows were built by a newer version of the projection than this code's.

    The runner refuses rather than resetting them: during a rolling upgrade an old runner
    and a new one would otherwise keep wiping each other's work.
    """

    def __init__(self, *, projection: str, stored: int, code: int) -> None:
        self.projection = projection
        self.stored = stored
        self.code = code
        super().__init__(
            f"projection {projection!r} was built by version {stored}; this code has version "
            f"{code}; upgrade this runner"
        )
