"""Replays recorded workflow histories against today's workflow code.

A workflow change that is not replay-safe (a command added, removed or reordered without
``workflow.patched``) would break every execution in flight when it is deployed; here it
fails a test instead. The histories come from real runs (tests/replay/record.py).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator, Sequence
from typing import Any

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.worker import Replayer
from temporalio.workflow import NondeterminismError

from runtime.codec import ENCODING, KEY_ID_METADATA_KEY, CodecKeyTable, data_converter
from tests.replay.changed_workflows import (
    SignWithExtraLocalActivity,
    SignWithPatchedExtraLocalActivity,
    SignWithRoundsSwapped,
    UnchangedSignCopy,
)
from tests.replay.recordings import HISTORIES_DIR, RecordedHistory, recorded_paths, replay_key_table
from workers.coordinator import WORKFLOWS
from workflows.create_wallet import CreateWalletWorkflow
from workflows.noop import NoopWorkflow

# Written out rather than derived from record.py: a recording that disappears from both
# the recorder and the directory must still fail here.
EXPECTED = (
    "create-wallet-bip340",
    "create-wallet-ed25519",
    "create-wallet-refused-invalid-threshold",
    "noop",
    "sign-bip340",
    "sign-bip340-taproot",
    "sign-ed25519",
    "sign-refused-invalid-message",
    "sign-transaction-refused-invalid-address",
    "sign-transaction-solana",
)
COMPLETED_SIGNS = ("sign-bip340", "sign-bip340-taproot", "sign-ed25519")

CLOSE_EVENT = {
    "completed": EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED,
    "failed": EventType.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED,
}


def load(kind: str) -> RecordedHistory:
    return RecordedHistory.load(HISTORIES_DIR / f"{kind}.json")


def replayer(workflows: Sequence[type], keys: CodecKeyTable | None = None) -> Replayer:
    return Replayer(workflows=workflows, data_converter=data_converter(keys or replay_key_table()))


def test_the_recorded_histories_are_exactly_the_expected_ones() -> None:
    assert sorted(path.stem for path in recorded_paths()) == sorted(EXPECTED)


@pytest.mark.parametrize("kind", EXPECTED)
def test_recording_is_the_execution_it_claims_to_be(kind: str) -> None:
    recorded = load(kind)
    events = recorded.history.events
    assert recorded.kind == kind
    assert recorded.workflow_id == f"replay-{kind}"
    started = events[0].workflow_execution_started_event_attributes
    assert started.workflow_type.name == recorded.workflow_type
    assert events[-1].event_type == CLOSE_EVENT[recorded.outcome]
    if recorded.outcome == "failed":
        failure = events[-1].workflow_execution_failed_event_attributes.failure
        assert failure.application_failure_info.type == recorded.failure_type


@pytest.mark.parametrize("kind", EXPECTED)
async def test_history_replays_deterministically(kind: str) -> None:
    recorded = load(kind)
    result = await replayer(WORKFLOWS).replay_workflow(
        recorded.history, raise_on_replay_failure=False
    )
    assert result.replay_failure is None, f"{kind}: {result.replay_failure!r}"


async def test_all_histories_replay_in_one_replayer() -> None:
    async def histories() -> Any:
        for kind in EXPECTED:
            yield load(kind).history

    results = await replayer(WORKFLOWS).replay_workflows(histories(), raise_on_replay_failure=False)
    assert results.replay_failures == {}


@pytest.mark.parametrize("kind", COMPLETED_SIGNS)
@pytest.mark.parametrize(
    "changed",
    [SignWithExtraLocalActivity, SignWithRoundsSwapped],
    ids=["extra-local-activity-before-round-1", "rounds-swapped"],
)
async def test_a_changed_sign_workflow_fails_replay(changed: type, kind: str) -> None:
    history = load(kind).history
    with pytest.raises(NondeterminismError):
        await replayer([changed, CreateWalletWorkflow, NoopWorkflow]).replay_workflow(history)


@pytest.mark.parametrize("kind", [*COMPLETED_SIGNS, "sign-refused-invalid-message"])
@pytest.mark.parametrize(
    "copy",
    [UnchangedSignCopy, SignWithPatchedExtraLocalActivity],
    ids=["unchanged-copy", "extra-step-behind-patched"],
)
async def test_the_copy_replays_unchanged_and_behind_a_patch(copy: type, kind: str) -> None:
    # The control for the test above: the copy itself is faithful, and the same extra
    # step guarded by workflow.patched is replay-safe.
    result = await replayer([copy, CreateWalletWorkflow, NoopWorkflow]).replay_workflow(
        load(kind).history, raise_on_replay_failure=False
    )
    assert result.replay_failure is None


def _payloads(node: Any, path: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    if isinstance(node, dict):
        metadata = node.get("metadata")
        if isinstance(metadata, dict) and "encoding" in metadata:
            yield path, node
        for key, value in node.items():
            yield from _payloads(value, f"{path}.{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _payloads(value, f"{path}[{index}]")


def _metadata(payload: dict[str, Any], key: str) -> bytes:
    return base64.b64decode(payload["metadata"].get(key, ""))


@pytest.mark.parametrize("kind", EXPECTED)
def test_every_quorate_payload_is_sealed_under_the_test_key(kind: str) -> None:
    document = json.loads((HISTORIES_DIR / f"{kind}.json").read_text())
    sealed = 0
    for path, payload in _payloads(document["history"]):
        if _metadata(payload, "encoding") == ENCODING:
            assert _metadata(payload, KEY_ID_METADATA_KEY) == b"replay-test-only", path
            sealed += 1
        else:
            # The SDK's own local-activity marker bookkeeping (sequence number, activity
            # type, timestamps); the activity's input and result are in sealed payloads.
            assert path.startswith(".events["), path
            assert ".markerRecordedEventAttributes.details.data" in path, path
            assert "result" not in json.loads(base64.b64decode(payload["data"]))
    assert sealed > 0


async def test_replay_needs_the_key_the_history_was_recorded_with() -> None:
    # Proves the payloads are really decoded during replay (and sealed in the files).
    result = await replayer(WORKFLOWS, CodecKeyTable.generate()).replay_workflow(
        load("sign-bip340").history, raise_on_replay_failure=False
    )
    assert result.replay_failure is not None
    assert "UnknownKeyError" in str(result.replay_failure)
