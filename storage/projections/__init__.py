"""CQRS projections: read models that follow the event store (issue 6, item 3).

Layout, ports next to adapters (STYLE.md):

* :mod:`~storage.projections.port`: the :class:`Projection` port (``name``, ``version``,
  ``setup``/``apply``/``reset``) and the :class:`ProjectionDb` port (a relational database
  with serialized write transactions), plus the SQL conventions both adapters share;
* :mod:`~storage.projections.sqlite` (embedded default) and
  :mod:`~storage.projections.postgres` (asyncpg, its own schema): the adapters, opened by
  URL with :func:`open_projection_db` (``sqlite:///path`` or
  ``postgresql://user@host:port/db?schema=name``);
* :mod:`~storage.projections.runner`: :class:`ProjectionRunner` (``run_until``,
  ``run_forever``, ``rebuild``, ``lag``), exactly-once through checkpoints committed with
  the rows (:mod:`~storage.projections.checkpoints`, table ``projection_checkpoints``);
* the projections, each documenting its tables and query functions:
  :mod:`~storage.projections.current_state` (``wallets``, ``parties``, ``key_shares``,
  ``pool_levels``), :mod:`~storage.projections.party_health` (``party_health``) and
  :mod:`~storage.projections.audit` (``audit_ceremonies``, ``audit_wallets``;
  ``signatures_between``, ``wallet_state_as_of``, ``fold_wallet_state``) and
  :mod:`~storage.projections.transactions` (``transactions``; ``get_transaction``,
  ``wallet_transactions``, ``fold_transactions``).

Typical use (what ``quorate projections rebuild`` builds on)::

    store = await open_event_store(events_url)
    db = await open_projection_db("sqlite:///data/projections.sqlite3")
    runner = ProjectionRunner(store, db, default_projections(), batch_size=500)
    await runner.run_until()                  # catch up to the head
    await runner.rebuild("audit")             # or: reset one and replay from event zero
    await runner.run_forever(stop_event)      # follow the store
"""

from storage.projections.audit import (
    AuditProjection,
    AuditRecord,
    ceremonies_between,
    fold_wallet_state,
    get_ceremony,
    signatures_between,
    wallet_state_as_of,
)
from storage.projections.checkpoints import Checkpoint, get_checkpoints
from storage.projections.current_state import (
    CurrentStateProjection,
    KeyShareInfo,
    PartyState,
    PoolLevel,
    WalletState,
    get_party,
    get_wallet,
    key_shares,
    list_parties,
    list_wallets,
    pool_levels,
)
from storage.projections.errors import (
    CheckpointAhead,
    DuplicateProjection,
    InvalidIdentifier,
    ProjectionApplyFailed,
    ProjectionChainBroken,
    ProjectionDbClosed,
    ProjectionError,
    ProjectionVersionTooNew,
    UnknownProjection,
    UnsupportedProjectionDbUrl,
)
from storage.projections.factory import open_projection_db
from storage.projections.party_health import (
    PartyHealth,
    PartyHealthProjection,
    get_party_health,
    list_party_health,
)
from storage.projections.port import Projection, ProjectionDb, ProjectionTx
from storage.projections.runner import ProjectionLag, ProjectionRunner
from storage.projections.transactions import (
    TransactionRecord,
    TransactionsProjection,
    fold_transactions,
    get_transaction,
    wallet_transactions,
)


def default_projections() -> list[Projection]:
    """Fresh instances of every projection Quorate runs: current state, health,
    transactions, audit.

    The ClickHouse analytics (``storage/analytics``) are not among them. Audit stays last:
    the kill test (tests/storage/projections/runner_child.py) hangs the last projection
    half-way through a batch, after the others applied all of it.
    """
    return [
        CurrentStateProjection(),
        PartyHealthProjection(),
        TransactionsProjection(),
        AuditProjection(),
    ]


__all__ = [
    "AuditProjection",
    "AuditRecord",
    "Checkpoint",
    "CheckpointAhead",
    "CurrentStateProjection",
    "DuplicateProjection",
    "InvalidIdentifier",
    "KeyShareInfo",
    "PartyHealth",
    "PartyHealthProjection",
    "PartyState",
    "PoolLevel",
    "Projection",
    "ProjectionApplyFailed",
    "ProjectionChainBroken",
    "ProjectionDb",
    "ProjectionDbClosed",
    "ProjectionError",
    "ProjectionLag",
    "ProjectionRunner",
    "ProjectionTx",
    "ProjectionVersionTooNew",
    "TransactionRecord",
    "TransactionsProjection",
    "UnknownProjection",
    "UnsupportedProjectionDbUrl",
    "WalletState",
    "ceremonies_between",
    "default_projections",
    "fold_transactions",
    "fold_wallet_state",
    "get_ceremony",
    "get_checkpoints",
    "get_party",
    "get_party_health",
    "get_transaction",
    "get_wallet",
    "key_shares",
    "list_parties",
    "list_party_health",
    "list_wallets",
    "open_projection_db",
    "pool_levels",
    "signatures_between",
    "wallet_state_as_of",
    "wallet_transactions",
]
