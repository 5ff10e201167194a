"""Errors raised when decoding or combining group elements and scalars."""

from __future__ import annotations

from mpc.errors import MpcError


class GroupError(MpcError):
    """Base class of the group layer's errors."""


class MalformedElement(GroupError):
    """Bytes that are not the canonical encoding of a point on the curve (RFC 9591 §4.2)."""


class InvalidIdentityElement(GroupError):
    """The identity element where the specification forbids it (RFC 9591 §4.2)."""


class MalformedScalar(GroupError):
    """Bytes that are not the canonical encoding of a scalar below the group order."""


class ZeroScalar(GroupError):
    """A zero scalar where only a non-zero one is meaningful (an inverse, an identifier)."""
