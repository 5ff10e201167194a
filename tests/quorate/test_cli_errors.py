"""The ``quorate`` command on bad input, without a server: one line, no traceback.

Every client command checks its options before it connects and refuses a bad one with a
single ``error:`` line naming the option and its rule, exit status 2; input that passes
reaches the connection, which fails fast here (nothing listens on the loopback port the
settings name) with one line saying what to check, exit status 1. A property test sends
arbitrary option values (control characters, lone surrogates, huge integers, odd hex,
empty strings, any unicode) to every client command and checks exactly that.
"""

from __future__ import annotations

import socket
import unicodedata
from collections.abc import Mapping
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner, Result

from quorate.cli import MAX_AMOUNT, app, printable
from runtime.provision import provision_local
from runtime.settings import Settings


def _closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """A provisioned data directory (payload keys, request-signing key) and a Temporal
    address on which nothing answers, so a command with valid input fails at connect."""
    data = tmp_path_factory.mktemp("cli-errors") / "data"
    address = f"127.0.0.1:{_closed_port()}"
    provision_local(Settings(data_dir=data, temporal_address=address))
    return {"QUORATE_DATA_DIR": str(data), "QUORATE_TEMPORAL_ADDRESS": address}


def _invoke(env: Mapping[str, str], *args: str) -> Result:
    return CliRunner().invoke(app, list(args), env=dict(env))


def _assert_one_clean_line(result: Result) -> None:
    """The contract of every failure: exit 1 or 2, one ``error:`` line on stderr with
    nothing unescaped in it, no traceback, no exception left for the runner to catch."""
    output = result.stdout + result.stderr
    assert "Traceback" not in output, output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(
        result.exception
    )
    assert result.exit_code in (0, 1, 2), (result.exit_code, output)
    if result.exit_code != 0:
        lines = result.stderr.splitlines()
        assert len(lines) == 1, result.stderr
        assert lines[0].startswith("error: "), lines
        assert not any(
            unicodedata.category(ch)[0] == "C" or unicodedata.category(ch) in ("Zl", "Zp")
            for ch in lines[0]
        ), ascii(lines[0])


# -- each rule, named ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "option", "rule"),
    [
        (("sign", "--wallet-id", "w", "--message", "abc"), "--message", "even number"),
        (("sign", "--wallet-id", "w", "--message", "0x00"), "--message", "no 0x"),
        (("sign", "--wallet-id", "", "--message", "00"), "--wallet-id", "1 to 128"),
        (("sign", "--wallet-id", "w", "--message", "00", "--signers", "US-1"), "--signers", ""),
        (
            ("sign", "--wallet-id", "w", "--message", "00", "--idempotency-key", "a\x1bb"),
            "--idempotency-key",
            "printable",
        ),
        (
            ("sign", "--wallet-id", "w", "--message", "00", "--idempotency-key", "quorate:x"),
            "--idempotency-key",
            "quorate:",
        ),
        (
            ("sign", "--wallet-id", "w", "--message", "00", "--idempotency-key", "k" * 121),
            "--idempotency-key",
            "1 to 120",
        ),
        (("wallet", "create", "--wallet-id", "w", "--scheme", "rsa"), "--scheme", "bip340"),
        (
            ("wallet", "create", "--wallet-id", "w", "--scheme", "bip340", "--threshold", "1"),
            "--threshold",
            "at least 2",
        ),
        (
            ("wallet", "create", "--wallet-id", "w\u202e", "--scheme", "ed25519"),
            "--wallet-id",
            "letters",
        ),
        (
            ("transfer", "--wallet-id", "w", "--chain", "solana", "--to", "x\udcff"),
            "--to",
            "printable",
        ),
        (
            ("chain", "faucet", "--chain", "solana", "--address", "x", "--amount", str(2**256)),
            "--amount",
            "2^256 - 1",
        ),
        (("chain", "balance", "--chain", "Solana", "--address", "x"), "--chain", "lowercase"),
        (("chain", "balance", "--chain", "solana", "--address", ""), "--address", "1 to 128"),
        (("ecdsa", "presign", "--wallet-id", "w", "--count", "101"), "--count", ""),
        (("ecdsa", "setup", "--session", "\x00"), "--session", "printable"),
    ],
)
def test_each_input_error_is_one_line_naming_the_option_and_rule(
    env: dict[str, str], args: tuple[str, ...], option: str, rule: str
) -> None:
    if args[0] == "transfer":
        args = (*args, "--amount", "5")
    result = _invoke(env, *args)
    _assert_one_clean_line(result)
    assert result.exit_code == 2
    assert option in result.stderr
    assert rule in result.stderr


def test_click_usage_errors_are_one_line_too(env: dict[str, str]) -> None:
    for args in (
        ("transfer", "--wallet-id", "w", "--chain", "solana", "--to", "x"),  # no --amount
        ("transfer", "--wallet-id", "w", "--chain", "s", "--to", "x", "--amount", "1e5"),
        ("chain", "faucet", "--chain", "solana", "--address", "x", "--amount", "0"),
        ("sign", "--nope"),
        ("no-such-command",),
    ):
        result = _invoke(env, *args)
        _assert_one_clean_line(result)
        assert result.exit_code == 2, result.stderr


def test_control_characters_are_escaped_in_what_is_echoed(env: dict[str, str]) -> None:
    result = _invoke(env, "chain", "balance", "--chain", "solana\x1b[2J", "--address", "x")
    _assert_one_clean_line(result)
    assert "\\x1b[2J" in result.stderr
    assert printable("a\x00b\u202ec\U000e0001\udcff\u2028") == (
        "a\\x00b\\u202ec\\U000e0001\\udcff\\u2028"
    )


def test_valid_input_without_a_server_says_what_to_check(env: dict[str, str]) -> None:
    result = _invoke(env, "chain", "balance", "--chain", "solana", "--address", "x")
    _assert_one_clean_line(result)
    assert result.exit_code == 1
    assert "is `quorate up` running?" in result.stderr
    assert env["QUORATE_TEMPORAL_ADDRESS"] in result.stderr


def test_a_data_directory_that_was_never_provisioned_is_named(tmp_path: Path) -> None:
    env = {"QUORATE_DATA_DIR": str(tmp_path), "QUORATE_TEMPORAL_ADDRESS": "127.0.0.1:1"}
    result = _invoke(env, "sign", "--wallet-id", "w", "--message", "00")
    _assert_one_clean_line(result)
    assert result.exit_code == 1
    assert "quorate up" in result.stderr


def test_bad_settings_are_one_line(env: dict[str, str]) -> None:
    result = _invoke(
        {**env, "QUORATE_TEMPORAL_PORT": "not-a-port"}, "chain", "balance", "--chain", "x"
    )
    _assert_one_clean_line(result)
    result = _invoke(
        {**env, "QUORATE_TEMPORAL_PORT": "not-a-port"},
        *("chain", "balance", "--chain", "solana", "--address", "x"),
    )
    _assert_one_clean_line(result)
    assert result.exit_code == 2
    assert "settings" in result.stderr


# -- the property: no input produces a traceback ------------------------------------------

NASTY = st.sampled_from(
    [
        "",
        " ",
        "\x00",
        "\x1b[31m",
        "\x7f",
        "\u202e",
        "\u2028",
        "\udcff",
        "\ufeff",
        "é",
        "0x00",
        "abc",
        "00" * 33,
        "quorate:lock",
        "k" * 200,
        "-1",
        "0",
        str(2**64),
        str(2**256),
        str(10**80),
        "1e5",
        "NaN",
        "us-1,,US-2",
        "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4",
        "11111111111111111111111111111111",
        "0x" + "ab" * 20,
    ]
)
VALUES = st.one_of(
    NASTY,
    st.text(max_size=40),
    st.text(alphabet=st.characters(codec=None, categories=["Cc", "Cf", "Cs", "Co"]), max_size=5),
    st.integers(min_value=-(2**70), max_value=2**300).map(str),
    st.binary(max_size=20).map(bytes.hex),
    st.binary(max_size=20).map(lambda b: b.hex()[1:]),
)
COMMANDS: dict[tuple[str, ...], tuple[str, ...]] = {
    ("wallet", "create"): ("--wallet-id", "--scheme", "--threshold", "--parties"),
    ("sign",): ("--wallet-id", "--message", "--idempotency-key", "--signers"),
    ("transfer",): (
        "--wallet-id",
        "--chain",
        "--to",
        "--amount",
        "--max-fee",
        "--speed",
        "--idempotency-key",
    ),
    ("chain", "balance"): ("--chain", "--address"),
    ("chain", "faucet"): ("--chain", "--address", "--amount"),
    ("ecdsa", "presign"): ("--wallet-id", "--count"),
    ("wallet", "address"): ("--wallet-id", "--chain"),
    ("ecdsa", "setup"): ("--session",),
}


@st.composite
def command_lines(draw: st.DrawFn) -> list[str]:
    command = draw(st.sampled_from(sorted(COMMANDS)))
    args = list(command)
    for option in COMMANDS[command]:
        # Mostly present (so checks past the first are reached), sometimes missing.
        if draw(st.integers(0, 9)) > 0:
            args += [option, draw(VALUES)]
    return args


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(args=command_lines())
def test_no_input_produces_a_traceback(env: dict[str, str], args: list[str]) -> None:
    result = _invoke(env, *args)
    _assert_one_clean_line(result)
    # Nothing listens at the address: no input can have succeeded.
    assert result.exit_code in (1, 2)


def test_amount_bound_is_the_largest_chain_word() -> None:
    assert MAX_AMOUNT == 2**256 - 1
