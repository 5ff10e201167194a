"""Typed errors of the analytics projection (ARCHITECTURE.md invariant 8).

Every failure the analytics sink or its queries report is an :class:`AnalyticsError`, so a
caller can catch ClickHouse's refusals without catching unrelated bugs. Messages never carry
a password: URLs are shown through :func:`common.urls.redact_url`.
"""

from __future__ import annotations

from storage.errors import UnsupportedUrl


class AnalyticsError(Exception):
    """Base class of every error raised by the analytics projection."""


class UnsupportedAnalyticsUrl(AnalyticsError, UnsupportedUrl):
    """The URL names no analytics adapter, or is malformed for the one it names."""

    what = "analytics"


class AnalyticsQueryFailed(AnalyticsError):
    """ClickHouse (embedded or server) refused or could not run a statement."""

    def __init__(self, where: str, statement: str, detail: str) -> None:
        self.where = where
        self.statement = statement
        self.detail = detail
        # Only the statement's first line: insert bodies stay out of error messages and logs.
        head = statement.strip().splitlines()[0][:200] if statement.strip() else ""
        super().__init__(f"ClickHouse at {where} failed on {head!r}: {detail}")


class AnalyticsUnavailable(AnalyticsError):
    """The analytics database cannot be opened (server down, wrong driver, path clash)."""


class AnalyticsSinkClosed(AnalyticsError):
    """The sink was used after :meth:`AnalyticsSink.close`."""


class InvalidAnalyticsQuery(AnalyticsError, ValueError):
    """A forensics query was given arguments it cannot answer (naive time, empty window)."""
