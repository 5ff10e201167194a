"""How activity failures reach workflows: typed, non-retryable business errors.

A protocol failure (a bad proof, an invalid share, a reused nonce, bad input) will fail
the same way on every retry, so it becomes a non-retryable ``ApplicationError`` whose type
is the error's class name and whose details name the culprit parties. Anything else (a
crash, a timeout, a database hiccup) is left to Temporal's retry policy.
"""

from __future__ import annotations

from collections.abc import Iterable

from temporalio.exceptions import ApplicationError

from mpc.frost.errors import FrostError
from mpc.frost.identifier import Identifier


def business_error(
    error: Exception, *, culprits: Iterable[str] = (), message: str | None = None
) -> ApplicationError:
    """A non-retryable ApplicationError typed after ``error``; details: the culprits."""
    names = sorted(set(culprits))
    return ApplicationError(
        message or str(error), names, type=type(error).__name__, non_retryable=True
    )


def protocol_error(error: FrostError, names: dict[Identifier, str]) -> ApplicationError:
    """A FROST error with its culprit identifiers translated to party names."""
    return business_error(error, culprits=[names.get(c, str(c)) for c in error.culprits])
