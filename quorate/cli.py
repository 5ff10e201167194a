"""The ``quorate`` command line."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from quorate.demo import print_report, run_demo

app = typer.Typer(help="Quorate: threshold-signature wallets.", no_args_is_help=True)


@app.callback()
def main() -> None:
    """Quorate: threshold-signature wallets whose keys never exist in one place."""


@app.command()
def demo(
    messages: Annotated[int, typer.Option(min=1, help="Messages to sign per wallet.")] = 10,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print one JSON object as the last line.")
    ] = False,
) -> None:
    """Create a taproot and an Ed25519 wallet by DKG among the reference parties and sign."""
    report = run_demo(messages_per_wallet=messages)
    print_report(report)
    if as_json:
        typer.echo(json.dumps(report.model_dump(mode="json"), separators=(",", ":")))
