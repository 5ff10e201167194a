"""Value binding and identifiers: what keeps the shared SQL safe on every ClickHouse."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from storage.analytics.errors import InvalidAnalyticsQuery
from storage.analytics.sql import (
    Fragment,
    Identifier,
    bind,
    epoch_microseconds,
    format_datetime,
    from_epoch_microseconds,
    literal,
)


def test_string_literals_escape_quotes_backslashes_and_controls() -> None:
    assert literal("it's") == "'it\\'s'"
    assert literal("a\\b") == "'a\\\\b'"
    assert literal("line\nnext\x00\x7f") == "'line\\x0anext\\x00\\x7f'"
    assert literal("ü✓") == "'ü✓'"


def test_other_literals() -> None:
    assert literal(42) == "42"
    assert literal(("a", "b'")) == "('a', 'b\\'')"
    assert literal(date(2025, 1, 2)) == "toDate('2025-01-02')"
    moment = datetime(2025, 1, 2, 3, 4, 5, 999999, tzinfo=timezone(timedelta(hours=2)))
    assert literal(moment) == "toDateTime('2025-01-02 01:04:05', 'UTC')"
    assert literal(Identifier("qa_1")) == "`qa_1`"
    assert literal(Fragment("x = 1")) == "x = 1"


@pytest.mark.parametrize("value", [True, 1.5, (), None, b"x"])
def test_unbindable_values_are_refused(value: object) -> None:
    with pytest.raises(InvalidAnalyticsQuery):
        literal(value)  # type: ignore[arg-type]


@pytest.mark.parametrize("name", ["", "1abc", "a-b", "a`b", "a b", "x" * 64, "é"])
def test_bad_identifiers_are_refused(name: str) -> None:
    with pytest.raises(InvalidAnalyticsQuery, match="identifier"):
        Identifier(name)


def test_bind_is_strict_about_placeholders() -> None:
    assert bind("a = {x} AND b = {y}", {"x": 1, "y": "z"}) == "a = 1 AND b = 'z'"
    with pytest.raises(InvalidAnalyticsQuery, match="no value"):
        bind("a = {x}", {})
    with pytest.raises(InvalidAnalyticsQuery, match="not used"):
        bind("a = 1", {"x": 1})
    assert bind("a = 1", {"db": Identifier("d")}, optional=frozenset({"db"})) == "a = 1"
    # A value is never re-scanned for placeholders.
    assert bind("a = {x}", {"x": "{y}"}) == "a = '{y}'"


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(InvalidAnalyticsQuery, match="timezone-aware"):
        format_datetime(datetime(2025, 1, 1))


@given(st.datetimes(min_value=datetime(1970, 1, 1), max_value=datetime(2106, 1, 1)))
def test_epoch_microseconds_round_trip(moment: datetime) -> None:
    aware = moment.replace(tzinfo=UTC)
    assert from_epoch_microseconds(epoch_microseconds(aware)) == aware
