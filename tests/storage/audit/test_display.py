"""Control characters from arguments and events never reach the auditor's terminal (issue 11).

``audit query`` echoed a raw ESC sequence from its argument: an argument (or an event's
payload, which whoever appended chose) could set the terminal's title, clear the screen or
overwrite an earlier line. Everything the audit CLI prints from input or events is escaped.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from quorate.audit_cli import EXIT_ERROR, audit_app
from storage.audit.display import printable, printable_lines
from storage.events.models import CeremonyStarted, ceremony_stream, to_new_event
from storage.events.port import open_event_store
from tests.storage.audit.support import (
    PARTIES,
    SQLiteBackend,
    signature_produced,
    ticking_clock,
)

ESC_TITLE = "\x1b]0;owned\x07"
ESC_RED = "\x1b[31m"
CONTROL = ("\x1b", "\x07", "\x9b", "\r", "\u202e")


def _audit(*args: str) -> Result:
    return CliRunner().invoke(audit_app, list(args))


def _assert_no_control(*texts: str) -> None:
    for text in texts:
        for char in CONTROL:
            assert char not in text, f"{char!r} reached the terminal: {text!r}"


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("\x1b[2J", "\\x1b[2J"),
        ("a\rb", "a\\x0db"),
        ("a\nb", "a\\x0ab"),
        ("\x9b31m", "\\x9b31m"),  # C1 CSI, which some terminals obey too
        ("abc\u202edef", "abc\\u202edef"),  # a right-to-left override
        ("\u2028", "\\u2028"),
        ("zéro ✓ wallet-1", "zéro ✓ wallet-1"),  # printable text stays as it is
        ("tab\there", "tab\\x09here"),
    ],
)
def test_printable_escapes_control_and_format_characters(raw: str, shown: str) -> None:
    assert printable(raw) == shown


def test_printable_lines_keeps_our_line_breaks_only() -> None:
    assert printable_lines("OK\nnote: a\x1bb") == "OK\nnote: a\\x1bb"


def test_an_escape_sequence_in_the_query_argument_is_printed_escaped(
    sqlite_backend: SQLiteBackend,
) -> None:
    asyncio.run(sqlite_backend.build())
    wallet = f"{ESC_TITLE}{ESC_RED}w1"
    result = _audit("query", "--url", sqlite_backend.url, "--wallet", wallet, "--source", "events")
    assert result.exit_code == 0, result.output
    _assert_no_control(result.stdout, result.stderr)
    assert "\\x1b]0;owned\\x07\\x1b[31mw1" in result.stdout


def test_rich_markup_in_an_argument_is_printed_as_it_is(sqlite_backend: SQLiteBackend) -> None:
    asyncio.run(sqlite_backend.build())
    result = _audit(
        "query", "--url", sqlite_backend.url, "--wallet", "[bold red]w1[/]", "--source", "events"
    )
    assert result.exit_code == 0, result.output
    assert "[bold red]w1[/]" in result.stdout


def test_an_escape_sequence_in_an_event_is_printed_escaped(
    sqlite_backend: SQLiteBackend,
) -> None:
    """A ceremony's protocol (chosen by whoever appended it) shows in the signatures table."""

    async def build() -> None:
        await sqlite_backend.build()
        started = CeremonyStarted(
            ceremony_id="c7",
            wallet_id="w1",
            kind="sign",
            protocol=f"frost{ESC_RED}\x1b[2J",
            parties=PARTIES[:3],
        )
        produced = signature_produced("c7", "w1", bytes(32), PARTIES[:3])
        async with await open_event_store(sqlite_backend.url, clock=ticking_clock()) as store:
            for event in (started, produced):
                await store.append(
                    to_new_event(
                        event,
                        stream_id=ceremony_stream("c7"),
                        idempotency_key=f"c7/{type(event).__name__}",
                    )
                )

    asyncio.run(build())
    result = _audit("query", "--url", sqlite_backend.url, "--wallet", "w1", "--source", "events")
    assert result.exit_code == 0, result.output
    _assert_no_control(result.stdout)
    assert "\\x1b[2J" in result.stdout
    as_json = _audit(
        "query", "--url", sqlite_backend.url, "--wallet", "w1", "--source", "events", "--json"
    )
    _assert_no_control(as_json.stdout)
    assert json.loads(as_json.stdout)[-1]["protocol"] == f"frost{ESC_RED}\x1b[2J"


def test_verify_prints_a_source_with_control_characters_escaped(tmp_path: Path) -> None:
    directory = tmp_path / f"data{ESC_RED}"
    directory.mkdir()
    backend = SQLiteBackend(directory)
    asyncio.run(backend.build())
    for args in ((), ("--json",)):
        result = _audit("verify", "--url", backend.url, *args)
        assert result.exit_code == 0, result.output
        _assert_no_control(result.stdout)
    assert "data\\x1b[31m" in _audit("verify", "--url", backend.url).stdout
    assert json.loads(_audit("verify", "--url", backend.url, "--json").stdout)["source"] == (
        backend.url
    )


def test_an_error_about_an_argument_is_one_escaped_line(tmp_path: Path) -> None:
    missing = tmp_path / f"gone{ESC_TITLE}\nnext line.sqlite3"
    result = _audit("verify", "--url", f"sqlite:///{missing}")
    assert result.exit_code == EXIT_ERROR
    _assert_no_control(result.stderr)
    assert len(result.stderr.strip().splitlines()) == 1
    assert "gone\\x1b]0;owned\\x07" in result.stderr
    assert not missing.exists()
