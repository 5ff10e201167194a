"""The ``quorate`` command line: operations (up, demo) and client commands (wallet, sign).

Exit status, for every command (README "Operating it"):

* 0: done; a client command prints its result as one line of JSON on stdout;
* 2: refused. Either the input is wrong (one line naming the option and its rule, before
  anything connects), or a ceremony refused the request with a typed error
  (``error: UnknownWallet: ...``); sending the same input again gets the same answer;
* 1: could not be done: Temporal unreachable (the line says where it looked and what to
  check), lost for longer than :data:`RECONNECT_WINDOW` while waiting, or an unexpected
  error. ``QUORATE_DEBUG=1`` shows the traceback of an unexpected error.

Nothing else is printed on failure: one line on stderr starting ``error:``, with control
and other non-printable characters escaped, as everything the command echoes is.

Client commands that can safely be sent twice (every command that takes an idempotency
key, which the command makes up when none is given, and the read-only ones) keep waiting
through a Temporal restart: they reconnect and attach to the same workflow for up to
:data:`RECONNECT_WINDOW`, saying so on stderr. The faucet, which has no key, does not.

The process ends with ``os._exit`` once its output is flushed (:class:`QuorateApp`):
Temporal's Rust runtime keeps threads that call into Python when an RPC completes, and one
caught mid-call while the interpreter finalizes aborts the process (``Fatal Python error:
PyGILState_Release``, exit 134) after a correct result.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import sys
import time
import unicodedata
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Annotated, Any, NoReturn, TypeVar, cast, get_args

import typer
from pydantic import BaseModel, ValidationError
from rich.console import Console
from temporalio.client import Client
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode
from typer._click.exceptions import ClickException, NoArgsIsHelpError, UsageError
from typer.core import TyperGroup

from activities.models import (
    AddressBalanceInput,
    CreateWalletInput,
    EcdsaSetupInput,
    FaucetInput,
    PresignInput,
    SignInput,
    SignTransactionInput,
    WalletAddressInput,
)
from common.types import Scheme
from quorate.audit_cli import audit_app, projections_app
from quorate.client import MAX_KEY_LENGTH, RESERVED_KEY_PREFIX, CeremonyFailed, create_wallet, sign
from runtime.authorization import RequestAuthorizer
from runtime.codec import CodecKeyTable
from runtime.connection import connect
from runtime.files import restrict_umask
from runtime.provision import load_request_authorizer
from runtime.settings import Settings

# How long a client command keeps reconnecting after it lost Temporal mid-request.
RECONNECT_WINDOW = 60.0
RECONNECT_FIRST_DELAY = 0.5
RECONNECT_MAX_DELAY = 5.0
# gRPC statuses of a server that is restarting or overloaded, not of a refused request.
TRANSIENT_STATUSES = frozenset(
    {
        RPCStatusCode.UNAVAILABLE,
        RPCStatusCode.DEADLINE_EXCEEDED,
        RPCStatusCode.RESOURCE_EXHAUSTED,
        RPCStatusCode.ABORTED,
        RPCStatusCode.CANCELLED,
        RPCStatusCode.UNKNOWN,
    }
)
# No chain carries amounts of more than 256 bits (an EVM word); a larger one is a typo.
MAX_AMOUNT = 2**256 - 1

EXIT_REFUSED = 2
EXIT_UNAVAILABLE = 1

DEBUG_VARIABLE = "QUORATE_DEBUG"

ModelT = TypeVar("ModelT", bound=BaseModel)


# -- output ----------------------------------------------------------------------------


def printable(text: str) -> str:
    """``text`` with control, format, surrogate, private-use, unassigned and line-breaking
    characters escaped (``\\x1b``, ``\\u202e``), so nothing echoed can move the cursor,
    reorder a line or break it."""
    out = []
    for ch in text:
        category = unicodedata.category(ch)
        if category[0] != "C" and category not in ("Zl", "Zp"):
            out.append(ch)
        elif ord(ch) < 0x100:
            out.append(f"\\x{ord(ch):02x}")
        elif ord(ch) < 0x10000:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(f"\\U{ord(ch):08x}")
    return "".join(out)


def shown(value: object, limit: int = 60) -> str:
    """A value as an error line quotes it: escaped and cut to ``limit`` characters."""
    text = printable(str(value))
    return f"'{text}'" if len(text) <= limit else f"'{text[:limit]}'..."


def _error(message: str) -> None:
    typer.echo(f"error: {printable(' '.join(message.split()))}", err=True)


def _note(message: str) -> None:
    typer.echo(f"quorate: {printable(message)}", err=True)


def _emit(result: BaseModel) -> None:
    """One line of JSON, ASCII only: every non-ASCII or control character escaped."""
    text = json.dumps(result.model_dump(mode="json"), separators=(",", ":"), ensure_ascii=True)
    typer.echo(text.replace("\x7f", "\\u007f"))


class CommandFailed(Exception):
    """Ends a command with one ``error:`` line and an exit status."""

    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.code = code


def _refused(message: str) -> NoReturn:
    raise CommandFailed(message, EXIT_REFUSED)


def _unavailable(message: str) -> NoReturn:
    raise CommandFailed(message, EXIT_UNAVAILABLE)


# -- the app: one-line errors, and a controlled exit -----------------------------------


class QuorateGroup(TyperGroup):
    """The top-level command group. Every failure becomes one ``error:`` line and an exit
    status (module docstring), for the real command and for ``typer.testing.CliRunner``
    alike: click's usage errors (a missing option, a value of the wrong type or outside
    its range) included, which click would print as a usage block."""

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        windows_expand_args: bool = True,
        **extra: Any,
    ) -> Any:
        code = _run_group(
            lambda: super(QuorateGroup, self).main(
                args=args,
                prog_name=prog_name,
                complete_var=complete_var,
                standalone_mode=False,
                windows_expand_args=windows_expand_args,
                **extra,
            )
        )
        if standalone_mode:
            sys.exit(code)
        return code


def _run_group(invoke: Callable[[], Any]) -> int:
    try:
        result = invoke()
    except NoArgsIsHelpError as help_requested:
        help_requested.show()
        return help_requested.exit_code
    except UsageError as error:
        hint = f" (see `{error.ctx.command_path} --help`)" if error.ctx is not None else ""
        _error(error.format_message() + hint)
        return EXIT_REFUSED
    except ClickException as error:
        _error(error.format_message())
        return error.exit_code
    except CommandFailed as failure:
        _error(str(failure))
        return failure.code
    except typer.Abort:
        _error("aborted")
        return EXIT_UNAVAILABLE
    except Exception as error:
        if os.environ.get(DEBUG_VARIABLE):
            raise
        _error(
            f"unexpected {type(error).__name__}: {error} "
            f"(set {DEBUG_VARIABLE}=1 to see where it came from)"
        )
        return EXIT_UNAVAILABLE
    # A command returns None; typer.Exit and Ctrl-C (130) come back as their code.
    return result if isinstance(result, int) else 0


class QuorateApp(typer.Typer):
    """The ``quorate`` executable (``[project.scripts]`` and ``python -m quorate`` call
    it): runs the command, flushes its output and leaves with ``os._exit``.

    The interpreter's shutdown is skipped on purpose. Temporal's SDK delivers each RPC
    result from a thread of its Rust (tokio) runtime, which enters Python to hand the
    result to the event loop; that thread can lose the GIL to the main thread inside that
    call (a socket write releases it). The main thread then finishes the command and
    finalizes the interpreter while the other thread waits to get the GIL back, and
    CPython 3.11 ends such a thread with ``pthread_exit``: the unwinding Rust frame
    releases a GIL state that is no longer current and the process aborts with
    ``Fatal Python error: PyGILState_Release`` (exit 134), after a correct result. The SDK
    has no call that stops its runtime first, and nothing is left to clean up once the
    command has returned, so the process ends here, with the command's own exit status.
    """

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        code: object = 0
        try:
            super().__call__(*args, **kwargs)
        except SystemExit as exit_request:
            code = exit_request.code
        _exit_now(code)


def _exit_now(code: object) -> NoReturn:
    if code is None:
        status = 0
    elif isinstance(code, int):
        status = code
    else:
        # sys.exit("message") prints the message and exits 1, as the interpreter would.
        typer.echo(printable(str(code)), err=True)
        status = 1
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            # A closed pipe (`quorate ... | head`) has nobody left to read the output.
            status = status or 1
    os._exit(status)


app = QuorateApp(
    help="Quorate: threshold-signature wallets.", no_args_is_help=True, cls=QuorateGroup
)
wallet_app = typer.Typer(help="Wallet ceremonies.", no_args_is_help=True)
app.add_typer(wallet_app, name="wallet")
app.add_typer(audit_app, name="audit")
app.add_typer(projections_app, name="projections")


@app.callback()
def main() -> None:
    """Quorate: threshold-signature wallets whose keys never exist in one place."""
    # Every file and directory this process (or a child: workers, the dev server) makes
    # under the data directory is private to the operator, whatever the shell's umask.
    restrict_umask()


# -- input checks: one line naming the option and its rule, before anything connects --

PRINTABLE = "printable characters (no control or format characters)"
RULES: Mapping[str, str] = {
    "--wallet-id": (
        "1 to 128 characters: letters, digits, '.', '_' and '-', starting with a letter or digit"
    ),
    "--scheme": "one of bip340, ed25519, ecdsa-secp256k1",
    "--threshold": "an integer of at least 2",
    "--parties": (
        "comma-separated party ids: lowercase letters, digits and '-', starting with a "
        "letter or digit"
    ),
    "--message": "hex: an even number of digits 0-9 and a-f (no 0x)",
    "--chain": "a chain of the chains file: 1 to 64 lowercase letters, digits and '-'",
    "--to": f"an address of the chain: 1 to 128 {PRINTABLE}",
    "--address": f"an address of the chain: 1 to 128 {PRINTABLE}",
    "--amount": "a whole number of base units from 1 to 2^256 - 1",
    "--max-fee": "a whole number of base units from 0 to 2^256 - 1",
    "--speed": "one of slow, standard, fast",
    "--session": f"1 to 128 {PRINTABLE}",
    "--count": "an integer from 1 to 100",
    "--idempotency-key": (
        f"1 to {MAX_KEY_LENGTH} {PRINTABLE}, not starting with {RESERVED_KEY_PREFIX!r}"
    ),
}
RULES = {**RULES, "--signers": RULES["--parties"]}


def _bad(option: str, value: object) -> NoReturn:
    _refused(f"{option}: {RULES[option]}; got {shown(value)}")


def _is_printable(text: str) -> bool:
    return printable(text) == text


def _text(option: str, value: str) -> str:
    """Free text (an address, a session name): printable characters only. Anything else
    would be refused later, after a round trip, or not be encodable at all (a lone
    surrogate from undecodable command-line bytes)."""
    if not _is_printable(value):
        _bad(option, value)
    return value


def _ids(option: str, value: str) -> tuple[str, ...]:
    return tuple(p for p in _text(option, value).split(",") if p)


def _amount(option: str, value: int | None, minimum: int) -> None:
    if value is not None and not minimum <= value <= MAX_AMOUNT:
        _bad(option, value)


def _key(value: str | None, prefix: str) -> str:
    """The request's idempotency key, checked; a made-up one when none is given, so the
    command can attach to the same workflow again after a lost connection."""
    if value is None:
        return f"{prefix}-{uuid.uuid4()}"
    if (
        not value
        or len(value) > MAX_KEY_LENGTH
        or not _is_printable(value)
        or value.startswith(RESERVED_KEY_PREFIX)
    ):
        _bad("--idempotency-key", value)
    return value


def _model(
    model: type[ModelT], options: Mapping[tuple[str | int, ...], str], **values: object
) -> ModelT:
    """``model(**values)``, or a refusal naming the option of the first invalid field
    (``options`` maps a field's location to its option) and that option's rule."""
    try:
        return model.model_validate(values)
    except ValidationError as error:
        first = error.errors()[0]
        location = tuple(first["loc"])
        for prefix, option in options.items():
            if location[: len(prefix)] == prefix:
                _bad(option, first.get("input"))
        _refused(f"{'.'.join(map(str, location))}: {first['msg']}")


# -- connecting, waiting, reconnecting --------------------------------------------------


def _settings() -> Settings:
    try:
        return Settings.from_env()
    except ValidationError as error:
        first = error.errors()[0]
        where = f" ({'.'.join(map(str, first['loc']))})" if first["loc"] else ""
        _refused(f"settings{where}: {str(first['msg']).removeprefix('Value error, ')}")


def _authorizer(settings: Settings) -> RequestAuthorizer:
    """The request-signing key that authorizes this deployment's signing requests."""
    try:
        return load_request_authorizer(settings)
    except FileNotFoundError:
        _unavailable(
            f"no request-signing key in {settings.data_dir}: run `quorate up` first (it "
            "provisions the data directory), or point QUORATE_DATA_DIR at the one it uses"
        )
    except (OSError, ValueError) as error:
        _unavailable(f"cannot read the request-signing key in {settings.data_dir}: {error}")


def _where(settings: Settings) -> str:
    address = os.environ.get("QUORATE_TEMPORAL_ADDRESS")
    configured = (
        f"QUORATE_TEMPORAL_ADDRESS={address}"
        if address
        else f"QUORATE_TEMPORAL_ADDRESS unset: the embedded server, {settings.temporal_target}"
    )
    return f"is `quorate up` running? ({configured})"


async def _connect(settings: Settings) -> Client:
    path = settings.codec_keys_path
    try:
        keys = CodecKeyTable.load(path)
    except FileNotFoundError:
        _unavailable(
            f"no payload keys at {path}: run `quorate up` first (it provisions the data "
            "directory), or point QUORATE_DATA_DIR at the one it uses"
        )
    except (OSError, ValueError) as error:
        _unavailable(f"cannot read the payload keys at {path}: {error}")
    try:
        return await connect(settings, keys)
    except RuntimeError:
        # temporalio reports a failed connection as RuntimeError("Failed client connect").
        _unavailable(f"cannot reach Temporal at {settings.temporal_target}: {_where(settings)}")


async def _with_reconnects(
    settings: Settings,
    operation: Callable[[Client], Awaitable[BaseModel]],
    *,
    resumable: bool,
    what: str,
) -> BaseModel:
    """Runs ``operation``; if Temporal goes away meanwhile and the operation may be sent
    again (``resumable``), keeps trying for RECONNECT_WINDOW seconds, saying so."""
    client = await _connect(settings)
    deadline = time.monotonic() + RECONNECT_WINDOW
    delay = RECONNECT_FIRST_DELAY
    while True:
        try:
            return await operation(client)
        except RPCError as error:
            cause = f"{error.status.name}: {error.message}"
            if error.status not in TRANSIENT_STATUSES:
                _unavailable(f"Temporal at {settings.temporal_target} refused {what}: {cause}")
            if not resumable:
                _unavailable(
                    f"lost Temporal at {settings.temporal_target} during {what} ({cause}); "
                    f"it may or may not have run. {_where(settings)}"
                )
            if time.monotonic() + delay > deadline:
                _unavailable(
                    f"Temporal at {settings.temporal_target} did not come back within "
                    f"{RECONNECT_WINDOW:.0f} s ({cause}); {_where(settings)} "
                    f"Sending {what} again is safe: it is done at most once."
                )
            _note(
                f"lost Temporal at {settings.temporal_target} ({cause}); retrying {what} "
                f"in {delay:.1f} s, for up to {RECONNECT_WINDOW:.0f} s"
            )
            await asyncio.sleep(delay)
            delay = min(delay * 2, RECONNECT_MAX_DELAY)


def _call(
    settings: Settings,
    operation: Callable[[Client], Awaitable[BaseModel]],
    *,
    what: str,
    resumable: bool = True,
) -> None:
    """Connects to Temporal, runs one client call and prints its result as JSON; a typed
    refusal is one line on stderr and exit status 2. Every client command goes through it."""
    try:
        result = asyncio.run(_with_reconnects(settings, operation, resumable=resumable, what=what))
    except CeremonyFailed as error:
        _refused(str(error))
    except ApplicationError as error:
        # Not a ceremony's answer: the result could not be read (a payload key missing
        # from this data directory's key table, say).
        _unavailable(
            f"{error.type or type(error).__name__}: {error.message} (is QUORATE_DATA_DIR "
            "the data directory `quorate up` uses?)"
        )
    _emit(result)


# -- operations ---------------------------------------------------------------------------


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

    settings = _settings()
    console = Console(stderr=as_json)
    report = asyncio.run(run_demo(settings, messages, keep_running, console))
    if as_json:
        typer.echo(json.dumps(report.model_dump(mode="json", by_alias=True), separators=(",", ":")))


def embedded_chains_notice(settings: Settings) -> str | None:
    """What `quorate up` says about chain state: embedded engines live in the coordinator's
    memory, so they start empty on every start, while the event store keeps the transfers
    recorded on them."""
    from chains.config import ChainsConfig

    embedded = sorted(
        name
        for name, chain in ChainsConfig.load(settings.chains).chains.items()
        if chain.node == "embedded"
    )
    if not embedded:
        return None
    return (
        f"Embedded chains ({', '.join(embedded)}) keep their state in memory: they start "
        "empty on every start (balances, transactions, blocks), while the audit trail keeps "
        "the transfers made on them before. Fund wallets again with `quorate chain faucet`."
    )


@app.command()
def up() -> None:
    """Run the Temporal dev server (unless an address is set) and every worker, until Ctrl-C."""
    from runtime.temporal_server import TemporalServerError
    from workers.runner import LocalTopology, TopologyError

    settings = _settings()
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
        notice = embedded_chains_notice(settings)
        if notice:
            console.print(notice)
        try:
            await stop.wait()
        finally:
            topology.stop()

    try:
        asyncio.run(serve())
    except (TemporalServerError, TopologyError) as error:
        _unavailable(str(error))


# -- client commands ----------------------------------------------------------------------


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
        _bad("--scheme", scheme)
    request = _model(
        CreateWalletInput,
        {("wallet_id",): "--wallet-id", ("threshold",): "--threshold", ("parties",): "--parties"},
        wallet_id=_text("--wallet-id", wallet_id),
        scheme=cast(Scheme, scheme),
        threshold=threshold,
        parties=_ids("--parties", parties),
    )
    key = _key(idempotency_key, "createwallet")
    _call(
        _settings(),
        lambda client: create_wallet(client, request, key),
        what=f"wallet creation {key}",
    )


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
    request = _model(
        SignInput,
        {("wallet_id",): "--wallet-id", ("message",): "--message", ("signers",): "--signers"},
        wallet_id=_text("--wallet-id", wallet_id),
        message=_text("--message", message).lower(),
        signers=_ids("--signers", signers),
    )
    key = _key(idempotency_key, "sign")
    settings = _settings()
    authorizer = _authorizer(settings)
    _call(
        settings,
        lambda client: sign(client, request, key, authorizer=authorizer),
        what=f"signing request {key}",
    )


@wallet_app.command("address")
def wallet_address_command(
    wallet_id: Annotated[str, typer.Option()],
    chain: Annotated[str, typer.Option(help="A chain of config/chains.toml.")],
) -> None:
    """A wallet's address on a chain, and its balance there (base units)."""
    from quorate.client import wallet_address

    checked = _model(
        WalletAddressInput,
        {("wallet_id",): "--wallet-id", ("chain",): "--chain"},
        wallet_id=_text("--wallet-id", wallet_id),
        chain=_text("--chain", chain),
    )
    _call(
        _settings(),
        lambda client: wallet_address(client, checked.wallet_id, checked.chain),
        what="the address look-up",
    )


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
    from quorate.client import sign_transaction

    if speed not in ("slow", "standard", "fast"):
        _bad("--speed", speed)
    _amount("--amount", amount, 1)
    _amount("--max-fee", max_fee, 0)
    request = _model(
        SignTransactionInput,
        {
            ("wallet_id",): "--wallet-id",
            ("intent", "chain"): "--chain",
            ("intent", "to"): "--to",
            ("intent", "amount"): "--amount",
            ("intent", "fee", "max_fee"): "--max-fee",
            ("intent", "fee", "speed"): "--speed",
        },
        wallet_id=_text("--wallet-id", wallet_id),
        intent={
            "chain": _text("--chain", chain),
            "to": _text("--to", to),
            "amount": amount,
            "fee": {"speed": speed, "max_fee": max_fee},
        },
    )
    key = _key(idempotency_key, "signtransaction")
    settings = _settings()
    authorizer = _authorizer(settings)
    _call(
        settings,
        lambda client: sign_transaction(client, request, key, authorizer=authorizer),
        what=f"transfer {key}",
    )


chain_app = typer.Typer(help="Chains: balances, and the development engines' faucet.")
app.add_typer(chain_app, name="chain")


@chain_app.command("balance")
def chain_balance(
    chain: Annotated[str, typer.Option()],
    address: Annotated[str, typer.Option()],
) -> None:
    """An address's balance on a chain (base units)."""
    from quorate.client import address_balance

    checked = _model(
        AddressBalanceInput,
        {("chain",): "--chain", ("address",): "--address"},
        chain=_text("--chain", chain),
        address=_text("--address", address),
    )
    _call(
        _settings(),
        lambda client: address_balance(client, checked.chain, checked.address),
        what="the balance look-up",
    )


@chain_app.command("faucet")
def chain_faucet(
    chain: Annotated[str, typer.Option()],
    address: Annotated[str, typer.Option()],
    amount: Annotated[int, typer.Option(min=1)],
) -> None:
    """Fund an address on a local development engine (refused on real networks)."""
    from quorate.client import faucet

    _amount("--amount", amount, 1)
    checked = _model(
        FaucetInput,
        {("chain",): "--chain", ("address",): "--address", ("amount",): "--amount"},
        chain=_text("--chain", chain),
        address=_text("--address", address),
        amount=amount,
    )
    # No idempotency key: after a lost connection nobody can tell whether it ran.
    _call(
        _settings(),
        lambda client: faucet(client, checked.chain, checked.address, checked.amount),
        what="the faucet",
        resumable=False,
    )


ecdsa_app = typer.Typer(help="Threshold ECDSA (CGGMP21): setup and presignatures.")
app.add_typer(ecdsa_app, name="ecdsa")


@ecdsa_app.command("setup")
def ecdsa_setup(
    session: Annotated[str, typer.Option(help="A name for this aux-info generation.")],
) -> None:
    """Generate and cross-verify every party's ECDSA auxiliary information."""
    from quorate.client import setup_ecdsa

    request = _model(
        EcdsaSetupInput, {("session",): "--session"}, session=_text("--session", session)
    )
    # The session names the workflow (ecdsa-setup-<session>): the same one attaches.
    _call(_settings(), lambda client: setup_ecdsa(client, request), what=f"ECDSA setup {session}")


@ecdsa_app.command("presign")
def ecdsa_presign(
    wallet_id: Annotated[str, typer.Option()],
    count: Annotated[int, typer.Option(min=1, max=100)] = 1,
) -> None:
    """Fill an ECDSA wallet's presignature pool (the offline phase)."""
    from quorate.client import presign

    request = _model(
        PresignInput,
        {("wallet_id",): "--wallet-id", ("count",): "--count"},
        wallet_id=_text("--wallet-id", wallet_id),
        count=count,
    )
    key = _key(None, "presign")
    _call(_settings(), lambda client: presign(client, request, key), what=f"presigning {key}")


@app.command("rotate-codec-key")
def rotate_codec_key() -> None:
    """Add a fresh payload key and make it current; older keys stay to decrypt history."""
    settings = _settings()
    try:
        table = CodecKeyTable.load(settings.codec_keys_path).rotate()
        table.save(settings.codec_keys_path)
    except (OSError, ValueError) as error:
        _unavailable(f"cannot rotate the payload keys at {settings.codec_keys_path}: {error}")
    typer.echo(
        f"current payload key: {table.current_key_id} ({len(table.keys)} keys); "
        "restart workers and clients to encrypt with it"
    )


@app.command("codec-server")
def codec_server(
    port: Annotated[int, typer.Option(help="Port on 127.0.0.1.", min=1, max=65535)] = 8888,
    origin: Annotated[
        list[str] | None, typer.Option(help="Allowed CORS origins (the Temporal UI).")
    ] = None,
) -> None:
    """Serve /encode and /decode so the Temporal UI can show encrypted payloads."""
    from quorate.codec_server import run_codec_server

    settings = _settings()
    if origin:
        run_codec_server(settings.codec_keys_path, port=port, allowed_origins=origin)
    else:
        run_codec_server(settings.codec_keys_path, port=port)
