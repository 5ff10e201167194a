"""The root of every error raised by the threshold-cryptography core."""

from __future__ import annotations


class MpcError(Exception):
    """Base class of every error raised by :mod:`mpc`."""


class InvalidSignature(MpcError):
    """A signature did not verify; raised by every ``verify`` (they never return a bool)."""
