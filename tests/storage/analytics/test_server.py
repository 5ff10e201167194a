"""The analytics contract on a real ClickHouse server (Debian's 18.16 unless
``QUORATE_TEST_CLICKHOUSE_URL`` names another), through the driver ``driver=auto`` picks,
plus what each driver does with this server."""

from __future__ import annotations

import pytest

from storage.analytics.errors import AnalyticsUnavailable
from storage.analytics.factory import open_analytics_sink
from storage.analytics.port import AnalyticsSink
from storage.analytics.server import ClickHouseConnectSink, ClickHouseHttpSink
from tests.storage.analytics.clickhouse_server import ClickHouseServer
from tests.storage.analytics.contract import AnalyticsSinkContract


class TestClickHouseServerSink(AnalyticsSinkContract):
    """The contract through ``clickhouse://`` with the driver chosen automatically."""

    @pytest.fixture(autouse=True)
    def _location(self, clickhouse_server: ClickHouseServer) -> None:
        self.server_url = clickhouse_server.url

    async def open_sink(self, database: str) -> AnalyticsSink:
        return await open_analytics_sink(f"{self.server_url}/{database}")


class TestClickHouseServerSinkOverHttp(AnalyticsSinkContract):
    """The contract through the plain HTTP driver, forced (it works with every server)."""

    @pytest.fixture(autouse=True)
    def _location(self, clickhouse_server: ClickHouseServer) -> None:
        self.server_url = clickhouse_server.url

    async def open_sink(self, database: str) -> AnalyticsSink:
        sink = await open_analytics_sink(f"{self.server_url}/{database}?driver=http")
        assert isinstance(sink, ClickHouseHttpSink)
        return sink


async def test_auto_driver_matches_what_the_server_supports(
    clickhouse_server: ClickHouseServer,
) -> None:
    probe = await open_analytics_sink(f"{clickhouse_server.url}/qa_probe?driver=http")
    assert isinstance(probe, ClickHouseHttpSink)
    try:
        version = await probe.server_version()
        connect_ok = await probe.supports_clickhouse_connect()
    finally:
        await probe.drop_database()
        await probe.close()
    if version.startswith("18."):
        # Debian bookworm's server: system.settings has no `readonly` column.
        assert not connect_ok
    chosen = await open_analytics_sink(f"{clickhouse_server.url}/qa_probe")
    try:
        expected = ClickHouseConnectSink if connect_ok else ClickHouseHttpSink
        assert type(chosen) is expected
    finally:
        await chosen.drop_database()
        await chosen.close()


async def test_connect_driver_fails_clearly_where_unsupported(
    clickhouse_server: ClickHouseServer,
) -> None:
    probe = await open_analytics_sink(f"{clickhouse_server.url}/qa_connect?driver=http")
    assert isinstance(probe, ClickHouseHttpSink)
    try:
        connect_ok = await probe.supports_clickhouse_connect()
    finally:
        await probe.drop_database()
        await probe.close()
    url = f"{clickhouse_server.url}/qa_connect?driver=connect"
    if connect_ok:
        sink = await open_analytics_sink(url)
        assert isinstance(sink, ClickHouseConnectSink)
        await sink.drop_database()
        await sink.close()
    else:
        with pytest.raises(AnalyticsUnavailable, match="driver=http"):
            await open_analytics_sink(url)
