"""Audit tooling over the event store: offline verification, auditor exports, temporal queries.

``verify`` re-checks the hash chain of a database or of an export file, streaming, and names
the first bad event; ``export`` writes JSON-lines exports plus a manifest for auditors;
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
    Finding,
    Problem,
    VerifyMode,
    VerifyReport,
    verify_export,
    verify_store,
    verify_url,
)

__all__ = [
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
