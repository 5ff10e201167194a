"""Analytics URLs: which adapter, where, and never a password in a message."""

from __future__ import annotations

import pytest

from common.urls import redact_url
from storage.analytics.errors import UnsupportedAnalyticsUrl
from storage.analytics.factory import (
    chdb_location,
    open_analytics_sink,
    server_location,
)
from storage.analytics.port import DEFAULT_DATABASE
from storage.analytics.server import ServerLocation


def test_chdb_urls() -> None:
    assert chdb_location("chdb:///:memory:") == (":memory:", DEFAULT_DATABASE)
    assert chdb_location("chdb:///var/x") == ("var/x", DEFAULT_DATABASE)
    assert chdb_location("chdb:////var/x?database=forensics") == ("/var/x", "forensics")


@pytest.mark.parametrize(
    "url",
    [
        "chdb://host/x",
        "chdb:///",
        "chdb:///x?database=bad-name",
        "chdb:///x?colour=blue",
        "chdb:///x?database=a&database=b",
    ],
)
def test_bad_chdb_urls(url: str) -> None:
    with pytest.raises(UnsupportedAnalyticsUrl):
        chdb_location(url)


def test_server_urls() -> None:
    location, driver, timeout = server_location("clickhouse://ch.internal")
    assert location == ServerLocation(host="ch.internal")
    assert (driver, timeout) == ("auto", 30.0)
    location, driver, timeout = server_location(
        "clickhouses://analyst:s%40cret@10.0.0.5:9443/forensics?driver=connect&timeout=5"
    )
    assert location == ServerLocation(
        host="10.0.0.5",
        port=9443,
        secure=True,
        username="analyst",
        password="s@cret",  # noqa: S106 - a test value
        database="forensics",
    )
    assert (driver, timeout) == ("connect", 5.0)
    assert server_location("clickhouses://h")[0].port == 8443
    assert "s@cret" not in repr(location)
    assert "cret" not in location.display_url


@pytest.mark.parametrize(
    "url",
    [
        "clickhouse:///db",
        "clickhouse://h:notaport/db",
        "clickhouse://h/a/b",
        "clickhouse://h/bad-name",
        "clickhouse://h/db?driver=native",
        "clickhouse://h/db?timeout=0",
        "clickhouse://h/db?timeout=nan",
        "clickhouse://h/db?pool=3",
    ],
)
def test_bad_server_urls(url: str) -> None:
    with pytest.raises(UnsupportedAnalyticsUrl):
        server_location(url)


def test_passwords_never_reach_messages() -> None:
    url = "clickhouse://u:hunter2@h/db?driver=native"
    # The one rule (common.urls) drops a password rather than masking it as ":***".
    assert redact_url(url) == "clickhouse://u@h/db?driver=native"
    with pytest.raises(UnsupportedAnalyticsUrl) as caught:
        server_location(url)
    assert "hunter2" not in str(caught.value)


@pytest.mark.parametrize("url", ["postgresql://h/db", "analytics", "mysql://u:pw@h/db"])
async def test_unknown_schemes_are_refused(url: str) -> None:
    with pytest.raises(UnsupportedAnalyticsUrl, match="unknown scheme") as caught:
        await open_analytics_sink(url)
    assert "pw@" not in str(caught.value)
