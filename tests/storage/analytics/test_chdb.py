"""The analytics contract on chdb (ClickHouse in process), the embedded default, plus the
same contract through clickhouse-connect's own chdb backend (the ClickHouseConnectSink code
path against a current ClickHouse engine), and chdb specifics."""

from __future__ import annotations

from pathlib import Path

import clickhouse_connect
import pytest

from storage.analytics.embedded import ChdbSink
from storage.analytics.errors import AnalyticsUnavailable
from storage.analytics.factory import open_analytics_sink
from storage.analytics.port import AnalyticsSink
from storage.analytics.server import ClickHouseConnectSink
from tests.storage.analytics.contract import AnalyticsSinkContract


class TestChdbSink(AnalyticsSinkContract):
    @pytest.fixture(autouse=True)
    def _location(self, chdb_dir: Path) -> None:
        self.chdb_dir = chdb_dir

    async def open_sink(self, database: str) -> AnalyticsSink:
        sink = await open_analytics_sink(f"chdb:///{self.chdb_dir}?database={database}")
        assert isinstance(sink, ChdbSink)
        return sink


class TestClickHouseConnectSinkOnChdb(AnalyticsSinkContract):
    """clickhouse-connect's client (its chdb backend) driving a real ClickHouse 26.x engine."""

    @pytest.fixture(autouse=True)
    def _location(self, chdb_dir: Path) -> None:
        self.chdb_dir = chdb_dir

    async def open_sink(self, database: str) -> AnalyticsSink:
        client = clickhouse_connect.get_client(interface="chdb", path=str(self.chdb_dir))
        return await ClickHouseConnectSink.wrap(
            client, url=f"clickhouse-connect+chdb:///{self.chdb_dir}", database=database
        )


async def test_schema_survives_reopening(chdb_dir: Path) -> None:
    url = f"chdb:///{chdb_dir}?database=qa_reopen"
    first = await open_analytics_sink(url)
    await first.execute(
        "INSERT INTO {db}.checkpoint (projection_name, position, hash) VALUES ('p', 7, 'h')"
    )
    await first.close()
    second = await open_analytics_sink(url)
    try:
        rows = await second.select("SELECT position FROM {db}.checkpoint FINAL")
        assert [int(row["position"]) for row in rows] == [7]
    finally:
        await second.drop_database()
        await second.close()


async def test_second_directory_in_one_process_is_refused(chdb_dir: Path, tmp_path: Path) -> None:
    holder = await open_analytics_sink(f"chdb:///{chdb_dir}?database=qa_holder")
    try:
        with pytest.raises(AnalyticsUnavailable, match="one ClickHouse per process"):
            await open_analytics_sink(f"chdb:///{tmp_path / 'elsewhere'}")
    finally:
        await holder.drop_database()
        await holder.close()
