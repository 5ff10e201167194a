"""Fixtures for the analytics tests: the chdb directory and a real ClickHouse server.

chdb embeds one ClickHouse per process, bound to one directory, so every chdb test of a
session (each pytest-xdist worker is its own process) shares one directory and isolates
itself with a database of its own.

The server tests run Debian's ``clickhouse-server`` (installed here if missing, when running
as root), started on 127.0.0.1 on free ports with a temporary configuration and data
directory, and stopped at the end of the session. ``QUORATE_TEST_CLICKHOUSE_URL`` points the
tests at an existing server instead. They never skip: a missing server is a failure.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.storage.analytics.clickhouse_server import ClickHouseServer, start_debian_server

CLICKHOUSE_URL_VARIABLE = "QUORATE_TEST_CLICKHOUSE_URL"


@pytest.fixture(scope="session")
def chdb_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("chdb")


@pytest.fixture(scope="session")
def clickhouse_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ClickHouseServer]:
    external = os.environ.get(CLICKHOUSE_URL_VARIABLE)
    if external:
        yield ClickHouseServer(url=external.rstrip("/"), process=None)
        return
    server = start_debian_server(tmp_path_factory.mktemp("clickhouse-server"))
    try:
        yield server
    finally:
        server.stop()
