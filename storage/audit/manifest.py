"""The manifest that travels with an audit export, and where it lives.

An export is a JSON-lines file (one :class:`~storage.events.port.StoredEvent` per line, as
``StoredEvent.model_dump_json()`` writes it). Its manifest records what was selected and
what the file must contain: the event count, the first and last positions, the hash the
first event links to, the last hash, and the SHA-256 of the file's bytes. The verifier checks
the file against it, which is how a truncation at a line boundary (invisible to the chain
alone) or an appended line is caught; an auditor can also compare ``last_hash`` with the live
store's event at ``last_position`` to tie the export to the production log.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Final, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

MANIFEST_FORMAT: Final = "quorate-audit-export/1"
MANIFEST_SUFFIX = ".manifest.json"

ExportScope = Literal["all", "range", "wallet"]
"""``all``: the whole log from position 1; ``range``: a contiguous slice of the chain chosen
by time; ``wallet``: one wallet's events only (not contiguous, so only partly chained)."""

_Hex64 = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]


class ExportManifest(BaseModel):
    """What an export holds, so it can be checked as a whole and not only line by line."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    format: Literal["quorate-audit-export/1"] = MANIFEST_FORMAT
    file: str = Field(description="The export's file name (no directory).")
    scope: ExportScope
    wallet_id: str | None = None
    since: AwareDatetime | None = None
    until: AwareDatetime | None = None
    source: str = Field(description="The event store it came from (no password).")
    exported_at: AwareDatetime
    count: int = Field(ge=0)
    first_position: int | None = None
    last_position: int | None = None
    first_prev_hash: _Hex64 | None = Field(
        default=None, description="prev_hash of the first event: where the slice hooks on."
    )
    last_hash: _Hex64 | None = None
    sha256: _Hex64


def manifest_path_for(export_path: Path) -> Path:
    """The default manifest location: beside the export, ``<name>.manifest.json``."""
    return export_path.with_name(export_path.name + MANIFEST_SUFFIX)


def read_manifest(path: Path) -> ExportManifest:
    """Load a manifest; raises ``OSError`` or pydantic's ``ValidationError``."""
    return ExportManifest.model_validate_json(path.read_bytes())
