"""``quorate audit`` and ``quorate projections`` as an operator or auditor runs them.

The Typer apps are invoked directly (quorate/cli.py registers them as ``audit`` and
``projections``). Sync tests: each command calls ``asyncio.run`` itself, so set-up and
tampering run in their own ``asyncio.run`` too.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner, Result

from quorate.audit_cli import EXIT_ERROR, EXIT_TAMPERED, audit_app, projections_app
from storage.events.port import StoredEvent, open_event_store
from tests.storage.audit.support import (
    EVENT_COUNT,
    W1_SIGNATURE_POSITIONS,
    Backend,
    SQLiteBackend,
    recorded_at,
    ticking_clock,
)
from tests.storage.projections.scenario import WEI, broadcast, built, confirmed


def _audit(*args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(audit_app, list(args), env=env)


def test_verify_passes_then_names_the_edited_event(backend: Backend) -> None:
    asyncio.run(backend.build())
    result = _audit("verify", "--url", backend.url, "--batch-size", "4")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("OK: ")
    assert f"{EVENT_COUNT} events intact" in result.stdout

    asyncio.run(backend.edit_payload(8, signature="ff" * 64))
    result = _audit("verify", "--url", backend.url)
    assert result.exit_code == EXIT_TAMPERED
    assert "TAMPERED" in result.stdout
    assert "position 8" in result.stdout
    assert "hash-mismatch" in result.stdout


@pytest.mark.parametrize("tamper", ["delete", "swap"])
def test_verify_names_deleted_and_reordered_rows(backend: Backend, tamper: str) -> None:
    asyncio.run(backend.build())
    if tamper == "delete":
        asyncio.run(backend.delete(6))
        expected = {"problem": "missing", "position": 6}
    else:
        asyncio.run(backend.swap(10, 11))
        expected = {"problem": "reordered", "position": 10}
    result = _audit("verify", "--url", backend.url, "--json")
    assert result.exit_code == EXIT_TAMPERED
    report = json.loads(result.stdout)
    assert report["ok"] is False
    assert {key: report["finding"][key] for key in expected} == expected


def test_url_defaults_from_settings(sqlite_backend: SQLiteBackend) -> None:
    asyncio.run(sqlite_backend.build())
    # A data directory of its own: its checkpoint key (none here) is the one trusted.
    env = {
        "QUORATE_EVENT_STORE_URL": sqlite_backend.url,
        "QUORATE_DATA_DIR": str(sqlite_backend.path.parent),
    }
    result = _audit("verify", env=env)
    assert result.exit_code == 0, result.output
    assert sqlite_backend.url in result.stdout


def test_export_then_verify_the_export(sqlite_backend: SQLiteBackend, tmp_path: Path) -> None:
    asyncio.run(sqlite_backend.build())
    out = tmp_path / "audit.jsonl"
    result = _audit("export", "--url", sqlite_backend.url, "--out", str(out))
    assert result.exit_code == 0, result.output
    assert f"exported {EVENT_COUNT} events" in result.stdout
    assert Path(f"{out}.manifest.json").is_file()

    result = _audit("verify", "--export", str(out))
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("OK: ")

    lines = out.read_bytes().splitlines(keepends=True)
    event = json.loads(lines[4])
    event["payload"]["parties"] = ["us-1"]
    lines[4] = json.dumps(event, separators=(",", ":")).encode() + b"\n"
    out.write_bytes(b"".join(lines))
    result = _audit("verify", "--export", str(out))
    assert result.exit_code == EXIT_TAMPERED
    assert "position 5, line 5" in result.stdout

    out.write_bytes(b"".join(lines[:3]) + lines[3][:20])  # cut mid-line
    result = _audit("verify", "--export", str(out), "--no-manifest", "--json")
    assert result.exit_code == EXIT_TAMPERED
    finding = json.loads(result.stdout)["finding"]
    assert (finding["problem"], finding["line"]) == ("truncated", 4)


def test_export_of_one_wallet_in_a_range(sqlite_backend: SQLiteBackend, tmp_path: Path) -> None:
    asyncio.run(sqlite_backend.build())
    out = tmp_path / "w1.jsonl"
    result = _audit(
        "export",
        "--url",
        sqlite_backend.url,
        "--out",
        str(out),
        "--wallet",
        "w1",
        "--since",
        recorded_at(4).isoformat(),
        "--until",
        recorded_at(9).isoformat().replace("+00:00", "Z"),
        "--json",
    )
    assert result.exit_code == 0, result.output
    manifest = json.loads(result.stdout)
    assert (manifest["scope"], manifest["wallet_id"], manifest["count"]) == ("wallet", "w1", 3)
    positions = [StoredEvent.model_validate_json(line).position for line in out.open("rb")]
    assert positions == [4, 7, 8]
    assert _audit("verify", "--export", str(out)).exit_code == 0


def test_query_signatures_between_two_instants(
    sqlite_backend: SQLiteBackend, tmp_path: Path
) -> None:
    asyncio.run(sqlite_backend.build())
    env = {"QUORATE_DATA_DIR": str(tmp_path)}  # no projection database there: the fold
    result = _audit(
        "query",
        "--url",
        sqlite_backend.url,
        "--wallet",
        "w1",
        "--since",
        recorded_at(4).isoformat(),
        "--until",
        recorded_at(13).isoformat(),
        "--json",
        env=env,
    )
    assert result.exit_code == 0, result.output
    assert [row["position"] for row in json.loads(result.stdout)] == [4, 8]

    result = _audit("query", "--url", sqlite_backend.url, "--wallet", "w1", env=env)
    assert result.exit_code == 0, result.output
    assert "signatures of w1 (3, from events)" in result.stdout
    for ceremony in ("c1", "c3", "c5"):
        assert ceremony in result.stdout


def test_query_uses_the_audit_view_once_built(
    sqlite_backend: SQLiteBackend, tmp_path: Path
) -> None:
    asyncio.run(sqlite_backend.build())
    view_url = f"sqlite:///{tmp_path / 'projections.sqlite3'}"
    result = CliRunner().invoke(
        projections_app,
        ["rebuild", "--all", "--url", sqlite_backend.url, "--projections-url", view_url],
    )
    assert result.exit_code == 0, result.output
    assert f"rebuilt audit from event zero to position {EVENT_COUNT}" in result.stdout
    result = _audit(
        "query", "--url", sqlite_backend.url, "--projections-url", view_url, "--wallet", "w1"
    )
    assert result.exit_code == 0, result.output
    assert "signatures of w1 (3, from projection)" in result.stdout
    result = _audit(
        "query",
        "--url",
        sqlite_backend.url,
        "--projections-url",
        view_url,
        "--wallet",
        "w1",
        "--json",
    )
    assert [row["position"] for row in json.loads(result.stdout)] == W1_SIGNATURE_POSITIONS


BIG = 2**70 + 1
"""A wei amount far beyond 64 bits: it must come out of the command to the last digit."""


async def _add_transfers(backend: SQLiteBackend) -> None:
    """After the fixture log (positions 1-15), transfers of w1 and w2 at positions 16-22."""
    clock = ticking_clock(recorded_at(EVENT_COUNT + 1))
    async with await open_event_store(backend.url, clock=clock) as store:
        for event in [
            built("t1", "w1", amount=BIG),  # 16
            broadcast("t1", "w1", "0x" + "a1" * 32),  # 17
            built("t2", "w2", amount=WEI),  # 18
            confirmed("t1", "w1", "0x" + "a1" * 32, confirmations=12, block=7),  # 19
            built("t3", "w1", chain="bitcoin", scheme="bip340", amount=50_000, fee=900),  # 20
            built("t4", "w1", amount=2),  # 21
            broadcast("t4", "w1", "0x" + "a4" * 32),  # 22
        ]:
            await store.append(event)


def test_transactions_of_a_wallet(sqlite_backend: SQLiteBackend, tmp_path: Path) -> None:
    asyncio.run(sqlite_backend.build())
    asyncio.run(_add_transfers(sqlite_backend))
    view_url = f"sqlite:///{tmp_path / 'projections.sqlite3'}"
    common = ["--url", sqlite_backend.url, "--projections-url", view_url, "--wallet", "w1"]

    # No projection database yet: folded from the event store.
    result = _audit("transactions", *common, "--json")
    assert result.exit_code == 0, result.output
    from_events = json.loads(result.stdout)
    assert [
        (row["request_id"], row["status"], row["amount"], row["built_position"])
        for row in from_events
    ] == [("t1", "confirmed", BIG, 16), ("t3", "built", 50_000, 20), ("t4", "broadcast", 2, 21)]
    t1 = from_events[0]
    assert (t1["tx_hash"], t1["confirmations"], t1["block"]) == ("0x" + "a1" * 32, 12, 7)
    assert (t1["built_at"], t1["broadcast_at"], t1["confirmed_at"]) == tuple(
        recorded_at(p).isoformat().replace("+00:00", "Z") for p in (16, 17, 19)
    )
    assert not (tmp_path / "projections.sqlite3").exists()
    result = _audit("transactions", *common, "--source", "projection")
    assert result.exit_code == EXIT_ERROR
    assert "no projection database" in result.stderr

    # Built and current: the projection answers, with the same rows.
    rebuilt = CliRunner().invoke(
        projections_app,
        ["rebuild", "transactions", "--url", sqlite_backend.url, "--projections-url", view_url],
    )
    assert rebuilt.exit_code == 0, rebuilt.output
    assert "rebuilt transactions from event zero to position 22" in rebuilt.stdout
    result = _audit("transactions", *common, "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == from_events
    assert result.stderr == ""
    result = _audit("transactions", *common)
    assert result.exit_code == 0, result.output
    assert "transactions of w1 (3, from projection)" in result.stdout
    assert str(BIG) in result.stdout

    # [since, until) on the build's recorded_at.
    result = _audit(
        "transactions",
        *common,
        "--since",
        recorded_at(17).isoformat(),
        "--until",
        recorded_at(21).isoformat().replace("+00:00", "Z"),
        "--json",
    )
    assert result.exit_code == 0, result.output
    assert [row["request_id"] for row in json.loads(result.stdout)] == ["t3"]

    # One event more and the projection is behind: auto falls back to the store, saying so;
    # the command never advances the projection itself.
    async def confirm_t4() -> None:
        clock = ticking_clock(recorded_at(23))
        async with await open_event_store(sqlite_backend.url, clock=clock) as store:
            await store.append(confirmed("t4", "w1", "0x" + "a4" * 32))

    asyncio.run(confirm_t4())
    result = _audit("transactions", *common, "--json")
    assert result.exit_code == 0, result.output
    assert [row["status"] for row in json.loads(result.stdout)] == [
        "confirmed",
        "built",
        "confirmed",
    ]
    assert "at position 22, the store at 23" in result.stderr
    result = _audit("transactions", *common, "--source", "projection", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == from_events
    assert "may be incomplete" in result.stderr

    result = _audit("transactions", *common, "--since", "yesterday")
    assert result.exit_code == EXIT_ERROR


def test_projections_rebuild_one_by_name(sqlite_backend: SQLiteBackend, tmp_path: Path) -> None:
    asyncio.run(sqlite_backend.build())
    env = {"QUORATE_DATA_DIR": str(tmp_path), "QUORATE_EVENT_STORE_URL": sqlite_backend.url}
    runner = CliRunner()
    result = runner.invoke(projections_app, ["rebuild", "audit"], env=env)
    assert result.exit_code == 0, result.output
    assert (tmp_path / "projections.sqlite3").is_file()
    result = runner.invoke(projections_app, ["rebuild", "nope"], env=env)
    assert result.exit_code == EXIT_ERROR
    assert "unknown projection" in result.stderr
    result = runner.invoke(projections_app, ["rebuild"], env=env)
    assert result.exit_code == EXIT_ERROR


def test_state_as_of_an_instant(sqlite_backend: SQLiteBackend, tmp_path: Path) -> None:
    asyncio.run(sqlite_backend.build())
    env = {"QUORATE_DATA_DIR": str(tmp_path)}
    result = _audit(
        "state",
        "--url",
        sqlite_backend.url,
        "--wallet",
        "w1",
        "--as-of",
        recorded_at(11).isoformat(),
        "--json",
        env=env,
    )
    assert result.exit_code == 0, result.output
    state = json.loads(result.stdout)
    assert (state["exists"], state["signature_count"], state["misbehaviours"]) == (
        True,
        2,
        {"eu-1": 1},
    )
    result = _audit(
        "state",
        "--url",
        sqlite_backend.url,
        "--wallet",
        "w1",
        "--as-of",
        "2024-05-01T11:00:00Z",
        env=env,
    )
    assert result.exit_code == 0, result.output
    assert "exists" in result.stdout
    assert "False" in result.stdout


@pytest.mark.parametrize(
    "args",
    [
        ["verify", "--url", "sqlite:///x.sqlite3", "--export", "x.jsonl"],
        ["verify", "--export", "does-not-exist.jsonl"],
        ["verify", "--url", "mysql://nope"],
        ["query", "--wallet", "w1", "--since", "last tuesday"],
    ],
    ids=["both-sources", "missing-export", "bad-url", "bad-instant"],
)
def test_usage_errors_exit_2(args: list[str], tmp_path: Path) -> None:
    result = _audit(*args, env={"QUORATE_DATA_DIR": str(tmp_path)})
    assert result.exit_code == EXIT_ERROR, result.output


def test_missing_database_file_is_an_error(tmp_path: Path) -> None:
    missing = tmp_path / "gone.sqlite3"
    result = _audit("verify", "--url", f"sqlite:///{missing}")
    assert result.exit_code == EXIT_ERROR
    assert "no event store" in result.stderr
    assert not missing.exists()


def test_commands_under_a_parent_app(sqlite_backend: SQLiteBackend, tmp_path: Path) -> None:
    """As quorate/cli.py registers them: `quorate audit ...`, `quorate projections ...`."""
    asyncio.run(sqlite_backend.build())
    app = typer.Typer()
    app.add_typer(audit_app, name="audit")
    app.add_typer(projections_app, name="projections")
    env = {"QUORATE_DATA_DIR": str(tmp_path), "QUORATE_EVENT_STORE_URL": sqlite_backend.url}
    runner = CliRunner()
    result = runner.invoke(app, ["audit", "verify"], env=env)
    assert result.exit_code == 0, result.output
    result = runner.invoke(app, ["projections", "rebuild", "--all"], env=env)
    assert result.exit_code == 0, result.output
    result = runner.invoke(app, ["audit", "query", "--wallet", "w2", "--json"], env=env)
    assert result.exit_code == 0, result.output
    assert [row["position"] for row in json.loads(result.stdout)] == [6, 15]
    result = runner.invoke(app, ["audit", "--help"], env=env)
    assert all(
        command in result.stdout
        for command in ("verify", "export", "query", "state", "transactions")
    )


def test_verify_store_against_an_earlier_export(
    sqlite_backend: SQLiteBackend, tmp_path: Path
) -> None:
    """Deleting the newest rows (and their index entries) leaves a valid chain and index;
    the last export's manifest catches it."""
    asyncio.run(sqlite_backend.build())
    out = tmp_path / "monthly.jsonl"
    assert _audit("export", "--url", sqlite_backend.url, "--out", str(out)).exit_code == 0
    manifest = f"{out}.manifest.json"
    assert _audit("verify", "--url", sqlite_backend.url, "--manifest", manifest).exit_code == 0
    asyncio.run(sqlite_backend.delete_with_index(EVENT_COUNT))
    assert _audit("verify", "--url", sqlite_backend.url).exit_code == 0
    result = _audit("verify", "--url", sqlite_backend.url, "--manifest", manifest)
    assert result.exit_code == EXIT_TAMPERED
    assert f"position {EVENT_COUNT}" in result.stdout
    assert "truncated" in result.stdout


def test_wallet_export_without_manifest_needs_subset_mode(
    sqlite_backend: SQLiteBackend, tmp_path: Path
) -> None:
    asyncio.run(sqlite_backend.build())
    out = tmp_path / "w2.jsonl"
    exported = _audit("export", "--url", sqlite_backend.url, "--out", str(out), "--wallet", "w2")
    assert exported.exit_code == 0, exported.output
    args = ["verify", "--export", str(out), "--no-manifest"]
    # Taken for a slice of the chain, the gaps between the wallet's events look deleted.
    assert _audit(*args).exit_code == EXIT_TAMPERED
    result = _audit(*args, "--mode", "subset")
    assert result.exit_code == 0, result.output
    assert "subset mode" in result.stdout
