"""The ``quorate`` command line: operations (up, demo) and client commands (wallet, sign)."""

from __future__ import annotations

import asyncio
import json
import signal
from collections.abc import Awaitable, Callable
from typing import Annotated, cast, get_args

import typer
from pydantic import BaseModel
from rich.console import Console
from temporalio.client import Client

from activities.models import CreateWalletInput, SignInput
from common.types import Scheme
from quorate.audit_cli import audit_app, projections_app
from quorate.client import CeremonyFailed, create_wallet, sign
from runtime.connection import connect
from runtime.settings import Settings

app = typer.Typer(help="Quorate: threshold-signature wallets.", no_args_is_help=True)
wallet_app = typer.Typer(help="Wallet ceremonies.", no_args_is_help=True)
app.add_typer(wallet_app, name="wallet")
app.add_typer(audit_app, name="audit")
app.add_typer(projections_app, name="projections")


@app.callback()
def main() -> None:
    """Quorate: threshold-signature wallets whose keys never exist in one place."""


@app.command()
def demo(
    messages: Annotated[int, typer.Option(min=1, help="Messages to sign per wallet.")] = 10,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print one JSON object as the last line.")
    ] = False,
    keep_running: Annotated[
        bool, typer.Option("--keep-running", help="Leave the server and workers up.")
    ] = False,
) -> None:
    """Start everything; taproot, Ed25519 and ECDSA wallets; sign, verify, stop."""
    from quorate.demo import run_demo

    settings = Settings.from_env()
    console = Console(stderr=as_json)
    report = asyncio.run(run_demo(settings, messages, keep_running, console))
    if as_json:
        typer.echo(json.dumps(report.model_dump(mode="json", by_alias=True), separators=(",", ":")))


@app.command()
def up() -> None:
    """Run the Temporal dev server (unless an address is set) and every worker, until Ctrl-C."""
    from workers.runner import LocalTopology

    settings = Settings.from_env()
    console = Console()

    async def serve() -> None:
        topology = LocalTopology(settings)
        await topology.start()
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        console.print(
            f"Quorate is up: Temporal {settings.temporal_target}, UI {settings.ui_url}, "
            f"{len(topology.workers)} workers, data in {settings.data_dir.resolve()}. Ctrl-C stops."
        )
        try:
            await stop.wait()
        finally:
            topology.stop()

    asyncio.run(serve())


def _call(operation: Callable[[Client], Awaitable[BaseModel]]) -> None:
    """Connects to Temporal, runs one client call and prints its result as JSON; a typed
    failure is one line on stderr and exit code 2. Every client command goes through it."""

    async def run() -> str:
        client = await connect(Settings.from_env())
        return (await operation(client)).model_dump_json()

    try:
        typer.echo(asyncio.run(run()))
    except CeremonyFailed as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(code=2) from None


@wallet_app.command("create")
def wallet_create(
    wallet_id: Annotated[str, typer.Option(help="The new wallet's id.")],
    scheme: Annotated[
        str, typer.Option(help="bip340 (taproot), ed25519 (solana) or ecdsa-secp256k1 (EVM).")
    ],
    threshold: Annotated[int | None, typer.Option(help="Defaults to the topology's.")] = None,
    parties: Annotated[str, typer.Option(help="Comma-separated; default: all.")] = "",
    idempotency_key: Annotated[str | None, typer.Option()] = None,
) -> None:
    """Create a wallet by dealerless DKG (requires `quorate up`)."""
    if scheme not in get_args(Scheme):
        raise typer.BadParameter("scheme must be bip340, ed25519 or ecdsa-secp256k1")
    request = CreateWalletInput(
        wallet_id=wallet_id,
        scheme=cast(Scheme, scheme),
        threshold=threshold,
        parties=tuple(p for p in parties.split(",") if p),
    )

    _call(lambda client: create_wallet(client, request, idempotency_key))


@app.command("sign")
def sign_command(
    wallet_id: Annotated[str, typer.Option()],
    message: Annotated[str, typer.Option(help="Hex: a 32-byte digest for bip340 wallets.")],
    idempotency_key: Annotated[
        str | None, typer.Option(help="The same key never signs twice.")
    ] = None,
    signers: Annotated[str, typer.Option(help="Comma-separated; default: chosen.")] = "",
) -> None:
    """Sign a message with a wallet (requires `quorate up`)."""
    request = SignInput(
        wallet_id=wallet_id,
        message=message.lower(),
        signers=tuple(p for p in signers.split(",") if p),
    )

    _call(lambda client: sign(client, request, idempotency_key))


@wallet_app.command("address")
def wallet_address_command(
    wallet_id: Annotated[str, typer.Option()],
    chain: Annotated[str, typer.Option(help="A chain of config/chains.toml.")],
) -> None:
    """A wallet's address on a chain, and its balance there (base units)."""
    from quorate.client import wallet_address

    _call(lambda client: wallet_address(client, wallet_id, chain))


@app.command("transfer")
def transfer_command(
    wallet_id: Annotated[str, typer.Option()],
    chain: Annotated[str, typer.Option(help="A chain of config/chains.toml.")],
    to: Annotated[str, typer.Option(help="The recipient's address on that chain.")],
    amount: Annotated[int, typer.Option(help="Base units: wei, satoshi, lamports.", min=1)],
    max_fee: Annotated[int | None, typer.Option(help="Refuse if the fee is higher.")] = None,
    speed: Annotated[str, typer.Option(help="slow, standard or fast.")] = "standard",
    idempotency_key: Annotated[
        str | None, typer.Option(help="The same key never signs a second transaction.")
    ] = None,
) -> None:
    """Build, threshold-sign, broadcast and confirm a transfer (requires `quorate up`)."""
    from activities.models import SignTransactionInput
    from chains.models import FeePolicy, TransferIntent
    from quorate.client import sign_transaction

    if speed not in ("slow", "standard", "fast"):
        raise typer.BadParameter("speed must be slow, standard or fast")
    request = SignTransactionInput(
        wallet_id=wallet_id,
        intent=TransferIntent(
            chain=chain,
            to=to,
            amount=amount,
            fee=FeePolicy(speed=speed, max_fee=max_fee),
        ),
    )

    _call(lambda client: sign_transaction(client, request, idempotency_key))


chain_app = typer.Typer(help="Chains: balances, and the development engines' faucet.")
app.add_typer(chain_app, name="chain")


@chain_app.command("balance")
def chain_balance(
    chain: Annotated[str, typer.Option()],
    address: Annotated[str, typer.Option()],
) -> None:
    """An address's balance on a chain (base units)."""
    from quorate.client import address_balance

    _call(lambda client: address_balance(client, chain, address))


@chain_app.command("faucet")
def chain_faucet(
    chain: Annotated[str, typer.Option()],
    address: Annotated[str, typer.Option()],
    amount: Annotated[int, typer.Option(min=1)],
) -> None:
    """Fund an address on a local development engine (refused on real networks)."""
    from quorate.client import faucet

    _call(lambda client: faucet(client, chain, address, amount))


ecdsa_app = typer.Typer(help="Threshold ECDSA (CGGMP21): setup and presignatures.")
app.add_typer(ecdsa_app, name="ecdsa")


@ecdsa_app.command("setup")
def ecdsa_setup(
    session: Annotated[str, typer.Option(help="A name for this aux-info generation.")],
) -> None:
    """Generate and cross-verify every party's ECDSA auxiliary information."""
    from activities.models import EcdsaSetupInput
    from quorate.client import setup_ecdsa

    _call(lambda client: setup_ecdsa(client, EcdsaSetupInput(session=session)))


@ecdsa_app.command("presign")
def ecdsa_presign(
    wallet_id: Annotated[str, typer.Option()],
    count: Annotated[int, typer.Option(min=1, max=100)] = 1,
) -> None:
    """Fill an ECDSA wallet's presignature pool (the offline phase)."""
    from activities.models import PresignInput
    from quorate.client import presign

    request = PresignInput(wallet_id=wallet_id, count=count)
    _call(lambda client: presign(client, request))


@app.command("rotate-codec-key")
def rotate_codec_key() -> None:
    """Add a fresh payload key and make it current; older keys stay to decrypt history."""
    from runtime.codec import CodecKeyTable

    settings = Settings.from_env()
    table = CodecKeyTable.load(settings.codec_keys_path).rotate()
    table.save(settings.codec_keys_path)
    typer.echo(
        f"current payload key: {table.current_key_id} ({len(table.keys)} keys); "
        "restart workers and clients to encrypt with it"
    )


@app.command("codec-server")
def codec_server(
    port: Annotated[int, typer.Option(help="Port on 127.0.0.1.")] = 8888,
    origin: Annotated[
        list[str] | None, typer.Option(help="Allowed CORS origins (the Temporal UI).")
    ] = None,
) -> None:
    """Serve /encode and /decode so the Temporal UI can show encrypted payloads."""
    from quorate.codec_server import run_codec_server

    settings = Settings.from_env()
    if origin:
        run_codec_server(settings.codec_keys_path, port=port, allowed_origins=origin)
    else:
        run_codec_server(settings.codec_keys_path, port=port)
