"""Audit tooling over the event store: offline verification, auditor exports, temporal queries.

``verify`` re-checks a database (opened read-only) or an export file, streaming, and names
the first bad event: the hash chain, and beside it every signature (``signatures``), the event
index (``index``) and the signed checkpoints (``checkpoints``); ``export`` writes JSON-lines
exports plus a manifest for auditors;
``queries`` answers "every signature of a wallet between two instants" and "a wallet's state
as of an instant" (through the projections' audit view when it exists, else by a fold over
the store). Nothing here writes to the event store.
"""

from storage.audit.export import export_events
from storage.audit.manifest import ExportManifest, manifest_path_for
from storage.audit.queries import (
    SignatureRecord,
    WalletState,
    fold_signatures_between,
    fold_wallet_state_as_of,
)
from storage.audit.verify import (
    Checks,
    Finding,
    Problem,
    VerifyMode,
    VerifyReport,
    verify_export,
    verify_store,
    verify_url,
)

__all__ = [
    "Checks",
    "ExportManifest",
    "Finding",
    "Problem",
    "SignatureRecord",
    "VerifyMode",
    "VerifyReport",
    "WalletState",
    "export_events",
    "fold_signatures_between",
    "fold_wallet_state_as_of",
    "manifest_path_for",
    "verify_export",
    "verify_store",
    "verify_url",
]
