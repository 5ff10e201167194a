"""Signer choice: which parties of a wallet sign one request."""

from __future__ import annotations

from activities.errors import DuplicateParty, InvalidSigners, business_error
from activities.models import WalletInfo
from runtime.topology import Topology


def choose_signers(
    topology: Topology, wallet: WalletInfo, requested: tuple[str, ...]
) -> tuple[str, ...]:
    """The requested signers once checked, or the first ``threshold`` parties.

    Raises a typed, non-retryable failure for a party listed twice, a stranger to the
    wallet, or fewer signers than the wallet's threshold.
    """
    if requested:
        duplicates = sorted({p for p in requested if requested.count(p) > 1})
        if duplicates:
            raise business_error(DuplicateParty(f"signers listed twice: {', '.join(duplicates)}"))
        strangers = sorted(p for p in requested if p not in wallet.parties)
        if strangers:
            raise business_error(
                InvalidSigners(f"not parties of the wallet: {', '.join(strangers)}")
            )
        if len(requested) < wallet.threshold:
            raise business_error(
                InvalidSigners(f"{len(requested)} signers, the wallet needs {wallet.threshold}")
            )
        return requested
    # Primaries first, in topology order; backups only if primaries are too few. Party
    # health and circuit breakers refine this choice in the reliability work.
    primaries = [p.id for p in topology.primaries if p.id in wallet.parties]
    others = [p for p in wallet.parties if p not in primaries]
    return tuple((primaries + others)[: wallet.threshold])
