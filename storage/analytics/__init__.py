"""Forensics analytics: the event log projected into ClickHouse (issue 6, item 3).

``port`` holds the :class:`AnalyticsSink` port and the exactly-once argument; ``embedded``
(chdb, the default) and ``server`` (clickhouse-connect, or plain HTTP for old servers) are
its adapters, opened by URL with :func:`open_analytics_sink`; ``projector`` follows the
event store into a sink; ``queries`` answers the forensics questions.
"""

from storage.analytics.errors import (
    AnalyticsError,
    AnalyticsQueryFailed,
    AnalyticsSinkClosed,
    AnalyticsUnavailable,
    InvalidAnalyticsQuery,
    UnsupportedAnalyticsUrl,
)
from storage.analytics.factory import open_analytics_sink
from storage.analytics.port import ANALYTICS_PROJECTION, AnalyticsSink, Checkpoint
from storage.analytics.projector import AnalyticsProjector, CatchUpResult
from storage.analytics.queries import (
    DailySignatures,
    FailureReason,
    PartyMisbehaviour,
    SignerSetFrequency,
    event_counts,
    failed_ceremonies_by_reason,
    parties_by_misbehaviour,
    signatures_per_wallet_per_day,
    signer_set_frequency,
)

__all__ = [
    "ANALYTICS_PROJECTION",
    "AnalyticsError",
    "AnalyticsProjector",
    "AnalyticsQueryFailed",
    "AnalyticsSink",
    "AnalyticsSinkClosed",
    "AnalyticsUnavailable",
    "CatchUpResult",
    "Checkpoint",
    "DailySignatures",
    "FailureReason",
    "InvalidAnalyticsQuery",
    "PartyMisbehaviour",
    "SignerSetFrequency",
    "UnsupportedAnalyticsUrl",
    "event_counts",
    "failed_ceremonies_by_reason",
    "open_analytics_sink",
    "parties_by_misbehaviour",
    "signatures_per_wallet_per_day",
    "signer_set_frequency",
]
