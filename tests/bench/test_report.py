"""bench.report: the statistics and output every benchmark shares."""

from __future__ import annotations

import argparse
import json

import pytest

from bench.report import (
    FULL,
    MEDIAN_P95,
    MEDIAN_RANGE,
    Stats,
    at_least,
    comparison,
    finish,
    percentile,
    table,
    time_calls,
)


def test_percentile_is_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 50) == 50
    assert percentile(values, 95) == 95
    assert percentile(values, 99) == 99
    assert percentile([7.0], 95) == 7


def test_stats_from_every_unit_agree() -> None:
    ms = Stats.from_ms([1.0, 2.0, 3.0, 4.0])
    assert Stats.from_seconds([0.001, 0.002, 0.003, 0.004]) == pytest.approx(ms)
    assert Stats.from_ns([1e6, 2e6, 3e6, 4e6]) == ms
    assert Stats.from_ns([2e6, 4e6, 6e6, 8e6], divisor=2) == ms
    assert (ms.median_ms, ms.p95_ms, ms.min_ms, ms.max_ms, ms.runs) == (2.5, 4, 1, 4, 4)
    with pytest.raises(ValueError, match="no samples"):
        Stats.from_ms([])


def test_the_json_figures_are_the_ones_each_benchmark_prints() -> None:
    stats = Stats.from_ms([1.123456, 2.0, 3.0])
    assert list(stats.as_json()) == [*FULL, "runs"]
    assert list(stats.as_json(MEDIAN_RANGE, 4)) == [*MEDIAN_RANGE, "runs"]
    with_baseline = stats.as_json(MEDIAN_P95, 5, baseline_ms=0.5)
    assert with_baseline == {"median_ms": 2.0, "p95_ms": 3.0, "runs": 3, "median_x_baseline": 4.0}
    assert stats.as_json(("min_ms",), 2)["min_ms"] == 1.12


def test_comparison_rows() -> None:
    row = comparison({"measure": "x"}, 1.23456, 2.0, ratio_digits=3)
    assert row == {"measure": "x", "ours_ms": 1.235, "reference_ms": 2.0, "ratio": 0.617}
    names = ("ecdsa_ms", "frost_ms")
    row = comparison({}, 3.0, 1.234567, names=names, digits=4, reference_digits=4)
    assert row == {"ecdsa_ms": 3.0, "frost_ms": 1.2346, "ratio": 2.43}


def test_table_aligns_and_groups() -> None:
    text = table(["name", "ms"], [["a", "1.0"], ["bb", "10.0"], ["c", "2"]], group=2)
    assert text.splitlines() == [
        "  name    ms",
        "  ----------",
        "  a      1.0",
        "  bb    10.0",
        "",
        "  c        2",
    ]


def test_time_calls_counts_only_the_timed_runs() -> None:
    calls: list[int] = []
    samples = time_calls(calls.append, runs=3, warmup=2)
    assert calls == [0, 1, 0, 1, 2]
    assert len(samples) == 3
    assert all(s >= 0 for s in samples)


def test_at_least() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=at_least(1))
    assert parser.parse_args(["--runs", "3"]).runs == 3
    with pytest.raises(SystemExit):
        parser.parse_args(["--runs", "0"])


def test_finish_prints_the_json_object_last(capsys: pytest.CaptureFixture[str]) -> None:
    assert finish(0.0, True, lambda elapsed: {"total_seconds": round(elapsed, 2)}) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0].startswith("Total benchmark time: ")
    assert set(json.loads(lines[-1])) == {"total_seconds"}
