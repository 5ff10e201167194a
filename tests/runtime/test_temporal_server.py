"""The embedded Temporal dev server listens on the loopback interface and nowhere else.

It authenticates nobody, so being unreachable from the network is its only protection
from other machines. The real ``temporal`` binary is started through DevServer, and the
kernel's own socket table (``/proc/net/tcp``, ``/proc/net/tcp6``) says what it listens on.
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from runtime.settings import Settings
from runtime.temporal_server import DevServer

LISTEN = "0A"  # TCP_LISTEN in include/net/tcp_states.h


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _descendants(pid: int) -> list[int]:
    found = [pid]
    for task in Path(f"/proc/{pid}/task").iterdir():
        with contextlib.suppress(FileNotFoundError):
            for child in (task / "children").read_text().split():
                found += _descendants(int(child))
    return found


def _socket_inodes(pid: int) -> set[str]:
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        with contextlib.suppress(FileNotFoundError):
            target = os.readlink(fd)
            if target.startswith("socket:["):
                inodes.add(target[len("socket:[") : -1])
    return inodes


def _address(hex_address: str) -> tuple[ipaddress.IPv4Address | ipaddress.IPv6Address, int]:
    # /proc/net/tcp{,6} prints the address as host-order 32-bit words in hex.
    host, port = hex_address.split(":")
    raw = bytes.fromhex(host)
    words = b"".join(raw[i : i + 4][::-1] for i in range(0, len(raw), 4))
    address = ipaddress.ip_address(words)
    return address, int(port, 16)


def _listening(
    pids: list[int],
) -> Iterator[tuple[ipaddress.IPv4Address | ipaddress.IPv6Address, int]]:
    inodes = set().union(*(_socket_inodes(pid) for pid in pids))
    for table in ("tcp", "tcp6"):
        lines = Path(f"/proc/{pids[0]}/net/{table}").read_text().splitlines()[1:]
        for line in lines:
            fields = line.split()
            if fields[3] == LISTEN and fields[9] in inodes:
                yield _address(fields[1])


def _non_loopback_address() -> str | None:
    """This machine's address on its default route, if it has one (no packet is sent)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("192.0.2.254", 9))  # TEST-NET-1: connect() only picks a route
        except OSError:
            return None
        address = str(probe.getsockname()[0])
    return None if ipaddress.ip_address(address).is_loopback else address


@pytest.fixture(scope="module")
def dev_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[DevServer, Settings]]:
    settings = Settings(
        data_dir=tmp_path_factory.mktemp("embedded") / "data",
        temporal_port=_free_port(),
        temporal_ui_port=_free_port(),
    )
    settings.data_dir.mkdir()
    server = DevServer(settings)
    server.start(timeout=120)
    try:
        yield server, settings
    finally:
        server.stop()


def test_the_embedded_server_binds_only_127_0_0_1(dev_server: tuple[DevServer, Settings]) -> None:
    server, settings = dev_server
    assert server.pid is not None
    command = Path(f"/proc/{server.pid}/cmdline").read_bytes().split(b"\0")
    for flag in (b"--ip", b"--ui-ip"):
        assert command[command.index(flag) + 1] == b"127.0.0.1"

    listening = sorted(set(_listening(_descendants(server.pid))), key=str)
    ports = {port for _, port in listening}
    # The frontend and the UI, and whatever else it opened (HTTP API, metrics, the
    # internal services): every one on 127.0.0.1, none on a wildcard or another address.
    assert {settings.temporal_port, settings.temporal_ui_port} <= ports
    assert all(str(address) == "127.0.0.1" for address, _ in listening), listening


def test_the_embedded_server_is_unreachable_from_another_address(
    dev_server: tuple[DevServer, Settings],
) -> None:
    _, settings = dev_server
    outside = _non_loopback_address()
    if outside is None:
        pytest.skip("this machine has no non-loopback address to try the ports from")
    for port in (settings.temporal_port, settings.temporal_ui_port):
        with socket.socket() as probe:
            probe.settimeout(5)
            # From this machine's own network address: refused, as from any other host.
            assert probe.connect_ex((outside, port)) != 0, f"{outside}:{port} answered"
        with socket.socket() as probe:
            probe.settimeout(5)
            assert probe.connect_ex(("127.0.0.1", port)) == 0  # the control: it is up


def test_the_socket_table_reader_sees_wildcard_listeners() -> None:
    # The control for the test above: a listener on every interface would be reported.
    with contextlib.ExitStack() as stack:
        expected = set()
        for family, host in ((socket.AF_INET, "0.0.0.0"), (socket.AF_INET6, "::")):  # noqa: S104
            listener = stack.enter_context(socket.socket(family))
            listener.bind((host, 0))
            listener.listen()
            expected.add((ipaddress.ip_address(host), listener.getsockname()[1]))
        loopback = stack.enter_context(socket.socket())
        loopback.bind(("127.0.0.1", 0))
        loopback.listen()
        expected.add((ipaddress.ip_address("127.0.0.1"), loopback.getsockname()[1]))
        assert expected <= set(_listening([os.getpid()]))
