"""Errors the storage packages share, each refined by a package's own ``errors.py``.

:class:`UnsupportedUrl` is how the event store, the projection database and the analytics
sink refuse a URL, and :class:`InvalidSqlIdentifier` how the event store and the
projections refuse a schema or table name; each package derives its own class from these
and from its package's base class, so callers catch either.
"""

from __future__ import annotations

from typing import ClassVar

from common.urls import redact_url


class UnsupportedUrl(ValueError):
    """The URL names no adapter, or is malformed for the one it names.

    The message and :attr:`url` show the URL through :func:`common.urls.redact_url`, so a
    refused URL never carries its credentials into a log or a traceback.
    """

    what: ClassVar[str] = "storage"
    """What the URL should have named, for the message (``"event store"``...)."""

    def __init__(self, url: str, reason: str) -> None:
        self.url = redact_url(url)
        self.reason = reason
        super().__init__(f"unsupported {self.what} URL {self.url!r}: {reason}")


class InvalidSqlIdentifier(ValueError):
    """A schema, table or projection name failed the strict identifier check.

    Identifiers cannot be bound as SQL parameters, so every one that reaches SQL must match
    ``[a-z_][a-z0-9_]{0,62}`` (and not start with ``pg_``) first; anything else is refused
    rather than escaped (:func:`storage.identifiers.check_identifier`).
    """

    def __init__(self, kind: str, name: str) -> None:
        self.kind = kind
        self.name = name
        super().__init__(
            f"invalid {kind} name {name!r}: use 1-63 characters of [a-z0-9_], "
            "starting with a letter or underscore"
        )
