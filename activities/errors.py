"""Activity errors, and how activity failures reach workflows.

A protocol failure (a bad proof, an invalid share, a reused nonce, bad input) will fail
the same way on every retry, so it becomes a non-retryable ``ApplicationError`` whose type
is the error's class name and whose details name the culprit parties. Anything else (a
crash, a timeout, a database hiccup) is left to Temporal's retry policy.

The class names are the error types callers see (``UnknownWallet``, ``RequestConflict``):
they name what went wrong, so they carry no ``Error`` suffix.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Iterable
from typing import ParamSpec, TypeVar

from temporalio.exceptions import ApplicationError

from mpc.frost.errors import FrostError
from mpc.frost.identifier import Identifier
from runtime.authorization import Unauthorized

__all__ = [
    "CeremonyAbort",
    "CeremonyDiscarded",
    "DkgDisagreement",
    "DuplicateParty",
    "InvalidKey",
    "InvalidMessage",
    "InvalidRequest",
    "InvalidSigners",
    "InvalidThreshold",
    "NotProvisioned",
    "RequestConflict",
    "Unauthorized",
    "UnknownParty",
    "UnknownWallet",
    "WalletExists",
    "WrongScheme",
    "business_error",
    "protocol_error",
]


class InvalidRequest(ValueError):
    """A request that can never succeed as given: refused before anything is signed."""


class UnknownWallet(InvalidRequest):
    """No wallet of that id was ever created."""


class UnknownParty(InvalidRequest):
    """A party that is not in the topology, or has no sealing key configured."""


class DuplicateParty(InvalidRequest):
    """A party listed twice in one request."""


class InvalidThreshold(InvalidRequest):
    """A threshold larger than the parties that would hold the key."""


class InvalidMessage(InvalidRequest):
    """A message the wallet's scheme cannot sign (length, or a merkle root it cannot use)."""


class InvalidSigners(InvalidRequest):
    """A signer set the wallet cannot sign with (a stranger, or fewer than its threshold)."""


class WalletExists(InvalidRequest):
    """A wallet of that id was already created."""


class WrongScheme(InvalidRequest):
    """The wallet's key cannot sign for this chain (e.g. an Ed25519 wallet on Ethereum)."""


class InvalidKey(InvalidRequest):
    """Not a public key of the chain's scheme (33-byte secp256k1 or 32-byte Ed25519)."""


class RequestConflict(InvalidRequest):
    """The request id was already used for a different request."""


# Unauthorized (runtime.authorization, where parties check authorizations): a request
# whose authorization is missing, forged, expired, or for another wallet, message or
# request; its message starts with the reason (``expired: ...``).


class CeremonyDiscarded(InvalidRequest):
    """The ceremony failed and its nonces were destroyed: it cannot be resumed."""


class PeerNotVerified(InvalidRequest):
    """A party was asked to presign with a peer whose auxiliary information (Π_mod, Π_prm,
    Π_fac) it has not verified itself: nobody is blamed, the setup must run (again)."""


class NotProvisioned(InvalidRequest):
    """This party's vault lacks a key a ceremony needs (its message-signing key, or the
    peers' keys pinned at provisioning): nobody is blamed, provisioning must run."""


class DkgDisagreement(RuntimeError):
    """Parties finished a DKG with different public keys: nobody may use the key."""


class CeremonyAbort(Exception):
    """A protocol step refused what the signers sent: ``error`` is the protocol's own
    error, ``culprits`` the parties it names (identifiable abort)."""

    def __init__(self, error: Exception, culprits: Iterable[str]) -> None:
        super().__init__(str(error))
        self.error = error
        # In the order the protocol named them (each once): events record them so.
        self.culprits = list(dict.fromkeys(culprits))


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


P = ParamSpec("P")
R = TypeVar("R")

# Errors of our own code on input it cannot use: the same input fails the same way on
# every retry. Infrastructure errors (OSError, database and RPC errors) are none of these
# and keep retrying.
UNRETRYABLE_ERRORS = (ArithmeticError, ValueError, TypeError)


def refuse_untyped(
    activity_fn: Callable[P, Awaitable[R]],
) -> Callable[P, Awaitable[R]]:
    """Turns an UNRETRYABLE_ERRORS exception escaping an activity into a non-retryable
    ApplicationError typed by its class (``OverflowError``, ``ValidationError``); typed
    refusals pass through unchanged. Goes under ``@activity.defn``."""

    @functools.wraps(activity_fn)
    async def run(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return await activity_fn(*args, **kwargs)
        except ApplicationError:
            raise
        except UNRETRYABLE_ERRORS as error:
            raise business_error(error) from error

    return run
