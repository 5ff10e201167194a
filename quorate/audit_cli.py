"""``quorate audit`` (verify, export, query, state, transactions) and ``quorate projections``
(rebuild).

Two Typer apps, registered by quorate/cli.py as ``audit`` and ``projections``. URLs default
from :class:`runtime.settings.Settings` (``QUORATE_EVENT_STORE_URL``; the projection
database from ``QUORATE_PROJECTIONS_URL`` or ``<data dir>/projections.sqlite3``).

Exit status: 0 when all is well; 1 when ``audit verify`` finds tampering (the first bad event
is named on stdout); 2 when a command cannot run (bad arguments, unreachable database,
unreadable file, a target that is no event store), with the reason on stderr, one line.

The audit commands only read: they open the store read-only (storage.events.port
``open_event_store_read_only``) and change nothing, whatever they are pointed at. ``audit
verify`` checks the chain, every signature, the event index and every signed checkpoint;
checkpoints against ``--checkpoint-key`` (hex, or a file), or, when it verifies the
deployment's own store (no ``--url``), against ``<data dir>/checkpoint-key.pub`` if
provisioning wrote one. Without a key it says that checkpoints were not verified.

Everything printed that comes from the command line or from events is made printable
first (:func:`storage.audit.display.printable`): an ESC or another control character shows
as ``\x1b``, never reaching the terminal. ``--json`` output escapes them as JSON does.

Instants are ISO-8601 (``2024-05-01T12:00:00Z``, ``2024-05-01T14:00:00+02:00``); one
without a zone is taken as UTC. Ranges are ``[since, until)``.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, Protocol, TypeVar

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from runtime.settings import Settings
from storage.audit.checkpoints import PUBLIC_KEY_FILE, load_public_key
from storage.audit.display import printable, printable_lines
from storage.audit.export import export_events
from storage.audit.manifest import manifest_path_for, read_manifest
from storage.audit.service import (
    QueryResult,
    Source,
    rebuild_projections,
    signatures_between,
    transactions_between,
    wallet_state_as_of,
)
from storage.audit.verify import (
    DEFAULT_BATCH_SIZE,
    AuditError,
    Checks,
    VerifyMode,
    VerifyReport,
    verify_export,
    verify_url,
)
from storage.events.errors import EventStoreError
from storage.events.port import open_event_store_read_only
from storage.projections.errors import ProjectionError

audit_app = typer.Typer(
    help="Audit the event store: verify the hash chain, export for auditors, query history.",
    no_args_is_help=True,
)
projections_app = typer.Typer(
    help="Projections (read models) that follow the event store.", no_args_is_help=True
)


@audit_app.callback()
def audit_main() -> None:
    """Audit the event store: verify the hash chain, export for auditors, query history."""


@projections_app.callback()
def projections_main() -> None:
    """Projections (read models) that follow the event store."""
    # A callback makes this a command group even with one command, so the command line is
    # `quorate projections rebuild ...` (Typer would otherwise fold `rebuild` away).


EXIT_TAMPERED = 1
EXIT_ERROR = 2

_T = TypeVar("_T")

UrlOption = Annotated[
    str | None,
    typer.Option("--url", help="Event store URL (default: QUORATE_EVENT_STORE_URL / settings)."),
]
ProjectionsUrlOption = Annotated[
    str | None,
    typer.Option(
        "--projections-url",
        help="Projection database URL (default: QUORATE_PROJECTIONS_URL, "
        "else <data dir>/projections.sqlite3).",
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")]


def _events_url(url: str | None) -> str:
    return url or Settings.from_env().events_url


def _projections_url(url: str | None) -> str:
    return url or Settings.from_env().projections_database_url


def _instant(name: str, text: str | None) -> datetime | None:
    """Parse an ISO-8601 option; naive means UTC (said in the help)."""
    if text is None:
        return None
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter(
            f"not an ISO-8601 instant: {text!r} (e.g. 2024-05-01T12:00:00Z)",
            param_hint=f"--{name}",
        ) from None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


def _run(make: Callable[[], Coroutine[Any, Any, _T]]) -> _T:
    """Run a coroutine; operational failures become a message and exit status 2."""
    try:
        return asyncio.run(make())
    except (AuditError, EventStoreError, ProjectionError, OSError, ValueError) as exc:
        raise _error(str(exc)) from None


def _error(message: str) -> typer.Exit:
    # One line, whatever the message holds: a multi-line reason (pydantic's) is joined, and
    # a path or URL from the command line may carry control characters.
    one_line = "; ".join(part.strip() for part in message.splitlines() if part.strip())
    typer.echo(f"error: {printable(one_line)}", err=True)
    return typer.Exit(EXIT_ERROR)


def _echo(text: str) -> None:
    """Print our own multi-line text, every line made printable."""
    typer.echo(printable_lines(text))


def _report_json(report: VerifyReport) -> str:
    finding = report.finding
    return json.dumps(
        {
            "ok": report.ok,
            "source": report.source,
            "mode": report.mode.value,
            "events": report.events,
            "first_position": report.first_position,
            "last_position": report.last_position,
            "last_hash": report.last_hash,
            "finding": None
            if finding is None
            else {
                "problem": finding.problem.value,
                "position": finding.position,
                "line": finding.line,
                "file": finding.file,
                "reason": finding.reason,
            },
            "notes": list(report.notes),
            "checks": {
                check.name: {**check.data, "notes": list(check.notes)} for check in report.checks
            },
        },
        separators=(",", ":"),
    )


def _checkpoint_checks(
    keys: list[str] | None, *, own_store: bool, allow_script_tree_keys: bool
) -> Checks:
    """The checkpoint keys to trust: ``--checkpoint-key`` values, else (verifying the
    deployment's own store) the data directory's published key, if there is one."""
    if keys:
        try:
            loaded = tuple(load_public_key(key) for key in keys)
        except AuditError as exc:
            raise _error(str(exc)) from None
        return Checks(loaded, "--checkpoint-key", allow_script_tree_keys)
    if own_store:
        published = Settings.from_env().data_dir / PUBLIC_KEY_FILE
        if published.is_file():
            try:
                key = load_public_key(str(published))
            except AuditError as exc:
                raise _error(str(exc)) from None
            return Checks((key,), str(published), allow_script_tree_keys)
    return Checks(allow_script_tree_keys=allow_script_tree_keys)


@audit_app.command("verify")
def verify_command(
    url: UrlOption = None,
    export: Annotated[
        Path | None, typer.Option("--export", help="Verify this JSON-lines export instead.")
    ] = None,
    manifest: Annotated[
        Path | None,
        typer.Option(
            help="A manifest to check against (an export's own by default: <file>.manifest.json;"
            " with --url, an earlier export's, to check the store still holds its events)."
        ),
    ] = None,
    no_manifest: Annotated[
        bool, typer.Option("--no-manifest", help="Ignore the export's manifest.")
    ] = False,
    archives: Annotated[
        Path | None,
        typer.Option(
            help="With --url: the retention archives' directory (events-YYYY-MM.jsonl), "
            "verified first; the live store must continue their chain."
        ),
    ] = None,
    mode: Annotated[
        VerifyMode | None,
        typer.Option(help="Export without manifest: log, slice or subset (default: guess)."),
    ] = None,
    batch_size: Annotated[int, typer.Option(min=1, help="Events per read.")] = DEFAULT_BATCH_SIZE,
    checkpoint_key: Annotated[
        list[str] | None,
        typer.Option(
            "--checkpoint-key",
            help="The checkpoint public key to verify checkpoints with: ed25519:<hex>, hex, "
            "or a file holding it (repeat for several). Default, for the deployment's own "
            f"store: <data dir>/{PUBLIC_KEY_FILE} if present.",
        ),
    ] = None,
    allow_script_tree_keys: Annotated[
        bool,
        typer.Option(
            "--allow-script-tree-keys",
            help="Accept BIP340 signatures under a key other than the wallet's BIP86 output "
            "key (taproot script trees, whose root the event does not record); they are "
            "still verified, counted and listed.",
        ),
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Check the event store or an export, offline and read-only: the hash chain, every
    signature against its wallet's key, the event index, the signed checkpoints.

    Exit 0 and a summary when intact; exit 1 naming the first bad event (position, line for
    exports, and why) on any tampering; exit 2 if the target is no event store. A store
    whose oldest months were archived needs --archives DIR (archived and deleted events
    look alike to the chain alone).
    """
    if url is not None and export is not None:
        raise _error("give --url or --export, not both")
    if export is not None and archives is not None:
        raise _error("--archives goes with a database (--url), not with --export")
    checks = _checkpoint_checks(
        checkpoint_key,
        own_store=url is None and export is None,
        allow_script_tree_keys=allow_script_tree_keys,
    )
    if export is not None:
        try:
            report = verify_export(
                export,
                manifest=manifest,
                use_manifest=not no_manifest,
                mode=mode,
                batch_size=batch_size,
                checks=checks,
            )
        except (AuditError, OSError) as exc:
            raise _error(str(exc)) from None
    else:
        target = _events_url(url)
        try:
            checkpoint = read_manifest(manifest) if manifest is not None else None
        except (OSError, ValueError) as exc:
            raise _error(str(exc)) from None
        report = _run(
            lambda: verify_url(
                target,
                manifest=checkpoint,
                archives=archives,
                batch_size=batch_size,
                checks=checks,
            )
        )
    typer.echo(_report_json(report) if as_json else report.summary())
    if not report.ok:
        raise typer.Exit(EXIT_TAMPERED)


@audit_app.command("export")
def export_command(
    out: Annotated[Path, typer.Option("--out", help="The JSON-lines file to write.")],
    wallet: Annotated[
        str | None, typer.Option("--wallet", help="Only this wallet's events.")
    ] = None,
    since: Annotated[str | None, typer.Option(help="ISO instant, inclusive (naive = UTC).")] = None,
    until: Annotated[str | None, typer.Option(help="ISO instant, exclusive (naive = UTC).")] = None,
    url: UrlOption = None,
    manifest: Annotated[
        Path | None, typer.Option(help="Where to write the manifest (default <out>.manifest.json).")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Export events as JSON lines for auditors, with a manifest (count, ends, SHA-256)."""
    start, end = _instant("since", since), _instant("until", until)
    target = _events_url(url)

    async def run() -> str:
        async with await open_event_store_read_only(target) as store:
            written = await export_events(
                store, out, wallet_id=wallet, since=start, until=end, manifest_path=manifest
            )
        return written.model_dump_json()

    written = json.loads(_run(run))
    if as_json:
        typer.echo(json.dumps(written, separators=(",", ":")))
        return
    _echo(
        f"exported {written['count']} events ({written['scope']}"
        + (
            f", positions {written['first_position']}..{written['last_position']}"
            if written["count"]
            else ""
        )
        + f") to {out}\nmanifest: {manifest or manifest_path_for(out)}\n"
        f"sha256: {written['sha256']}"
    )


def _text(value: str) -> Text:
    """A table title or cell: printable, and never read as Rich markup (``[red]...``)."""
    return Text(printable(value))


def _print_table(table: Table) -> None:
    # markup and emoji off: what the table holds is data, never formatting.
    Console(width=200, markup=False, emoji=False, highlight=False).print(table)


def _print_rows(title: str, rows: list[dict[str, Any]], columns: list[str]) -> None:
    table = Table(title=_text(title))
    for column in columns:
        table.add_column(column)
    for row in rows:
        table.add_row(*(_text(_cell(row.get(column))) for column in columns))
    _print_table(table)


def _notes(result: QueryResult) -> None:
    # On stderr, so --json output stays one parsable document.
    for note in result.notes:
        typer.echo(f"note: {printable(note)}", err=True)


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, list):
        return ",".join(str(item) for item in value)
    if isinstance(value, dict):
        return json.dumps(value, separators=(",", ":"))
    return str(value)


SourceOption = Annotated[
    str,
    typer.Option(
        "--source",
        help="auto: the projections' audit view if available, else the event store; "
        "projection or events to force one.",
    ),
]


def _source(value: str) -> Source:
    if value == "auto":
        return "auto"
    if value == "projection":
        return "projection"
    if value == "events":
        return "events"
    raise typer.BadParameter("use auto, projection or events", param_hint="--source")


@audit_app.command("query")
def query_command(
    wallet: Annotated[str, typer.Option("--wallet", help="The wallet id.")],
    since: Annotated[str | None, typer.Option(help="ISO instant, inclusive.")] = None,
    until: Annotated[str | None, typer.Option(help="ISO instant, exclusive.")] = None,
    url: UrlOption = None,
    projections_url: ProjectionsUrlOption = None,
    source: SourceOption = "auto",
    as_json: JsonOption = False,
) -> None:
    """Every signature of a wallet between two instants: who signed what, when, how."""
    _rows_between(
        signatures_between,
        "signatures",
        ["position", "recorded_at", "ceremony_id", "scheme", "protocol", "signers", "signature"],
        wallet,
        since,
        until,
        url=url,
        projections_url=projections_url,
        source=source,
        as_json=as_json,
    )


class _RowsBetween(Protocol):
    """A query of :mod:`storage.audit.service` over a wallet and an interval."""

    def __call__(
        self,
        events_url: str,
        wallet_id: str,
        since: datetime | None,
        until: datetime | None,
        *,
        projections_url: str | None = None,
        source: Source = "auto",
    ) -> Coroutine[Any, Any, QueryResult]: ...


def _rows_between(
    query: _RowsBetween,
    what: str,
    columns: list[str],
    wallet: str,
    since: str | None,
    until: str | None,
    *,
    url: str | None,
    projections_url: str | None,
    source: str,
    as_json: bool,
) -> None:
    """``query``'s rows for ``wallet`` in ``[since, until)``: JSON, or a table of
    ``columns`` titled with ``what`` they are."""
    start, end = _instant("since", since), _instant("until", until)
    events_url = _events_url(url)
    chosen = _source(source)
    view_url = _projections_url(projections_url)
    result: QueryResult = _run(
        lambda: query(events_url, wallet, start, end, projections_url=view_url, source=chosen)
    )
    _notes(result)
    if as_json:
        typer.echo(json.dumps(result.rows, separators=(",", ":")))
        return
    _print_rows(
        f"{what} of {wallet} ({len(result.rows)}, from {result.source})", result.rows, columns
    )


@audit_app.command("state")
def state_command(
    wallet: Annotated[str, typer.Option("--wallet", help="The wallet id.")],
    as_of: Annotated[str, typer.Option("--as-of", help="ISO instant (inclusive).")],
    url: UrlOption = None,
    projections_url: ProjectionsUrlOption = None,
    source: SourceOption = "auto",
    as_json: JsonOption = False,
) -> None:
    """A wallet's state as of an instant, from the events recorded up to then."""
    instant = _instant("as-of", as_of)
    assert instant is not None  # noqa: S101 - a required option
    events_url = _events_url(url)
    chosen = _source(source)
    view_url = _projections_url(projections_url)
    result = _run(
        lambda: wallet_state_as_of(
            events_url, wallet, instant, projections_url=view_url, source=chosen
        )
    )
    _notes(result)
    row = result.rows[0]
    if as_json:
        typer.echo(json.dumps(row, separators=(",", ":")))
        return
    table = Table(
        title=_text(f"wallet {wallet} as of {instant.isoformat()} (from {result.source})")
    )
    table.add_column("field")
    table.add_column("value")
    for key, value in row.items():
        table.add_row(_text(key), _text(_cell(value)))
    _print_table(table)


@audit_app.command("transactions")
def transactions_command(
    wallet: Annotated[str, typer.Option("--wallet", help="The wallet id.")],
    since: Annotated[str | None, typer.Option(help="ISO instant, inclusive.")] = None,
    until: Annotated[str | None, typer.Option(help="ISO instant, exclusive.")] = None,
    url: UrlOption = None,
    projections_url: ProjectionsUrlOption = None,
    source: SourceOption = "auto",
    as_json: JsonOption = False,
) -> None:
    """A wallet's transactions built between two instants: to whom, how much, how far.

    Amounts and fees are integers in the chain's base unit (wei, satoshi, lamports); in
    --json they are JSON integers, exact at any size.
    """
    _rows_between(
        transactions_between,
        "transactions",
        [
            "built_at",
            "request_id",
            "chain",
            "to_address",
            "amount",
            "fee",
            "status",
            "tx_hash",
            "confirmations",
        ],
        wallet,
        since,
        until,
        url=url,
        projections_url=projections_url,
        source=source,
        as_json=as_json,
    )


@projections_app.command("rebuild")
def rebuild_command(
    name: Annotated[str | None, typer.Argument(help="The projection to rebuild.")] = None,
    all_: Annotated[bool, typer.Option("--all", help="Rebuild every projection.")] = False,
    url: UrlOption = None,
    projections_url: ProjectionsUrlOption = None,
) -> None:
    """Rebuild a projection (or all) from event zero."""
    if (name is None) == (not all_):
        raise _error("give a projection NAME or --all (not both)")
    events_url = _events_url(url)
    view_url = _projections_url(projections_url)
    names = None if all_ else [name] if name is not None else None
    rebuilt = _run(lambda: rebuild_projections(events_url, view_url, names))
    for rebuilt_name, position in rebuilt.items():
        _echo(f"rebuilt {rebuilt_name} from event zero to position {position}")
