"""What the ``quorate audit`` and ``quorate projections`` commands do, minus the terminal.

Queries go to the projections' audit view when storage.projections provides one and its
database exists, and otherwise to a fold over the event store (:mod:`storage.audit.queries`);
the result says which answered. Either way the answer is a list of plain JSON-able rows, so
the command prints the same table whichever source it came from.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel

from storage.audit.queries import fold_signatures_between, fold_wallet_state_as_of
from storage.audit.verify import AuditError
from storage.events.port import open_event_store

Source = Literal["auto", "projection", "events"]
"""Where a query is answered: the audit view if available (auto), only it, or the log."""


@dataclass(frozen=True, slots=True)
class QueryResult:
    """Rows of a query and the name of what answered it (``projection`` or ``events``)."""

    source: str
    rows: list[dict[str, Any]]


def jsonable(value: Any) -> Any:
    """``value`` as JSON-compatible data: models and dataclasses become dicts, instants ISO."""
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if hasattr(value, "__dataclass_fields__"):
        return {name: jsonable(getattr(value, name)) for name in value.__dataclass_fields__}
    if isinstance(value, dict):
        return {str(key): jsonable(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(item) for item in value]
    if isinstance(value, datetime):
        return value.isoformat()
    if hasattr(value, "_asdict"):
        return jsonable(value._asdict())
    return value


def _projections_module() -> Any | None:
    """``storage.projections`` if it is installed (it is built alongside this package)."""
    try:
        return importlib.import_module("storage.projections")
    except ImportError:
        return None


def projection_db_exists(url: str) -> bool:
    """Whether a projection database is there to ask (a SQLite file must exist already;
    opening one would create it empty, and an empty view would answer "no signatures")."""
    if url.split(":", 1)[0].lower() != "sqlite":
        return True
    path = url.split(":///", 1)[1] if ":///" in url else ""
    return path != ":memory:" and Path(path).is_file()


async def _via_projection(
    projections_url: str, method: str, *args: Any
) -> list[dict[str, Any]] | dict[str, Any] | None:
    """INTEGRATION POINT (storage.projections): ask the audit view, or ``None`` if absent.

    Uses ``open_projection_db(url)`` and the audit view's ``signatures_between(wallet_id,
    start, end)`` / ``wallet_state_as_of(wallet_id, instant)``; anything missing means the
    projections are not available in this build, and the caller folds the log instead.
    """
    module = _projections_module()
    if module is None or not projection_db_exists(projections_url):
        return None
    opener = getattr(module, "open_projection_db", None)
    view_factory = getattr(module, "AuditView", None) or getattr(module, "audit_view", None)
    if opener is None or view_factory is None:
        return None
    async with await opener(projections_url) as db:
        view = view_factory(db)
        query = getattr(view, method, None)
        if query is None:
            return None
        result = jsonable(await query(*args))
    if result is None or isinstance(result, dict):
        return result
    return list(result)


async def signatures_between(
    events_url: str,
    wallet_id: str,
    since: datetime | None,
    until: datetime | None,
    *,
    projections_url: str | None = None,
    source: Source = "auto",
) -> QueryResult:
    """Every signature of ``wallet_id`` recorded in ``[since, until)``."""
    if source != "events" and projections_url is not None:
        rows = await _via_projection(projections_url, "signatures_between", wallet_id, since, until)
        if isinstance(rows, list):
            return QueryResult("projection", rows)
    if source == "projection":
        raise AuditError("the projections' audit view is not available")
    async with await open_event_store(events_url) as store:
        found = await fold_signatures_between(store, wallet_id, since, until)
    return QueryResult("events", [record.model_dump(mode="json") for record in found])


async def wallet_state_as_of(
    events_url: str,
    wallet_id: str,
    as_of: datetime,
    *,
    projections_url: str | None = None,
    source: Source = "auto",
) -> QueryResult:
    """``wallet_id``'s state as of ``as_of`` (one row)."""
    if source != "events" and projections_url is not None:
        row = await _via_projection(projections_url, "wallet_state_as_of", wallet_id, as_of)
        if isinstance(row, dict):
            return QueryResult("projection", [row])
    if source == "projection":
        raise AuditError("the projections' audit view is not available")
    async with await open_event_store(events_url) as store:
        state = await fold_wallet_state_as_of(store, wallet_id, as_of)
    return QueryResult("events", [state.model_dump(mode="json")])


async def rebuild_projections(
    events_url: str, projections_url: str, names: list[str] | None
) -> list[str]:
    """Rebuild the named projections (every default one if ``names`` is None) from event 0.

    INTEGRATION POINT (storage.projections): ``ProjectionRunner(...)`` over
    ``default_projections()`` with ``rebuild(name)``. Returns the names rebuilt.
    """
    module = _projections_module()
    runner_type = getattr(module, "ProjectionRunner", None) if module else None
    defaults = getattr(module, "default_projections", None) if module else None
    opener = getattr(module, "open_projection_db", None) if module else None
    if runner_type is None or defaults is None or opener is None:
        raise AuditError("projections are not available in this build (storage.projections)")
    projections = list(defaults())
    known = [str(projection.name) for projection in projections]
    chosen = known if names is None else names
    unknown = [name for name in chosen if name not in known]
    if unknown:
        raise AuditError(f"unknown projection(s) {', '.join(unknown)}; known: {', '.join(known)}")
    async with await open_event_store(events_url) as store, await opener(projections_url) as db:
        runner = runner_type(store, db, projections)
        for name in chosen:
            await runner.rebuild(name)
    return chosen
