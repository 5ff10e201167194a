"""Where the recorded histories live, the file format, and the test-only codec key.

Each ``histories/<kind>.json`` is one workflow execution::

    {
      "kind": "sign-bip340",
      "workflow_id": "replay-sign-bip340",
      "workflow_type": "Sign",
      "outcome": "completed",            # or "failed"
      "failure_type": null,              # the ApplicationError type when "failed"
      "history": { "events": [...] }     # (await handle.fetch_history()).to_json(), parsed
    }
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from temporalio.client import WorkflowHistory

from runtime.codec import CodecKeyTable

REPLAY_DIR = Path(__file__).resolve().parent
HISTORIES_DIR = REPLAY_DIR / "histories"
# A key generated once for these recordings only; it protects nothing real.
CODEC_KEYS_PATH = REPLAY_DIR / "codec-keys.json"

Outcome = Literal["completed", "failed"]


def replay_key_table() -> CodecKeyTable:
    return CodecKeyTable.load(CODEC_KEYS_PATH)


@dataclass(frozen=True)
class RecordedHistory:
    kind: str
    workflow_id: str
    workflow_type: str
    outcome: Outcome
    failure_type: str | None
    history: WorkflowHistory

    @classmethod
    def load(cls, path: Path) -> RecordedHistory:
        document: dict[str, Any] = json.loads(path.read_text())
        return cls(
            kind=document["kind"],
            workflow_id=document["workflow_id"],
            workflow_type=document["workflow_type"],
            outcome=document["outcome"],
            failure_type=document["failure_type"],
            history=WorkflowHistory.from_json(document["workflow_id"], document["history"]),
        )

    def save(self, directory: Path) -> Path:
        document = {
            "kind": self.kind,
            "workflow_id": self.workflow_id,
            "workflow_type": self.workflow_type,
            "outcome": self.outcome,
            "failure_type": self.failure_type,
            "history": json.loads(self.history.to_json()),
        }
        path = directory / f"{self.kind}.json"
        path.write_text(json.dumps(document, indent=2) + "\n")
        return path


def recorded_paths(directory: Path = HISTORIES_DIR) -> list[Path]:
    return sorted(directory.glob("*.json"))
