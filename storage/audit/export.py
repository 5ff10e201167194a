"""JSON-lines exports of the event store for auditors, each with a manifest.

Three selections (see :data:`~storage.audit.manifest.ExportScope`):

* everything: the whole log from position 1, verifiable from the genesis hash;
* a time range (``since`` inclusive, ``until`` exclusive): the *contiguous* run of positions
  from the first event recorded at or after ``since`` to the last one recorded before
  ``until``. The port keeps ``recorded_at`` non-decreasing along positions, so that run is
  exactly the events in the range; should a store ever break that rule, the run is still
  kept whole (not filtered), so the slice remains a piece of the chain whose every link
  verifies;
* one wallet: its wallet stream and every event whose payload names it (its ceremonies),
  optionally within a time range. Not contiguous, so the verifier checks each event's hash,
  increasing positions and stream versions rather than links.

The file is written under a temporary name and renamed when complete, so an auditor never
picks up a half-written export; the manifest is written last.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from storage.audit.errors import AuditError
from storage.audit.manifest import ExportManifest, ExportScope, manifest_path_for
from storage.audit.verify import DEFAULT_BATCH_SIZE
from storage.events.models import wallet_stream
from storage.events.port import EventStore, StoredEvent, utc_now


async def _first_event_from(store: EventStore, position: int) -> StoredEvent | None:
    """The stored event with the lowest position >= ``position``, if any."""
    found = await store.read_all(after_position=position - 1, limit=1)
    return found[0] if found else None


async def start_position(store: EventStore, since: datetime) -> int:
    """The lowest position ``p`` such that every event from ``p`` on is recorded at or after
    ``since`` (one past the head if none is): where a scan from ``since`` starts.

    A binary search over positions, one single-row read per step (about 24 for ten million
    events): the port promises ``recorded_at`` never decreases along positions, so the
    first event in a time range is found without scanning from position 1.
    """
    head = await store.head()
    low, high = 1, (head.position + 1 if head is not None else 1)
    while low < high:
        middle = (low + high) // 2
        event = await _first_event_from(store, middle)
        if event is None or event.recorded_at >= since:
            high = middle
        else:
            low = event.position + 1
    return low


async def iter_events(
    store: EventStore,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
) -> AsyncIterator[StoredEvent]:
    """Events in position order, read ``batch_size`` at a time, from the first recorded at or
    after ``since`` and stopping at the first recorded at or after ``until``.

    Both bounds rely on the port's promise that ``recorded_at`` never decreases along
    positions; events in between are yielded unfiltered (a caller that must not trust the
    store's clock discipline filters them again, as the exports do).
    ``EventStore.read_range`` answers the same question in one call, but as one list: this
    keeps memory bounded for ranges of millions of events.
    """
    after = 0 if since is None else await start_position(store, since) - 1
    while True:
        events = await store.read_all(after_position=after, limit=batch_size)
        for event in events:
            if until is not None and event.recorded_at >= until:
                return
            yield event
        if len(events) < batch_size:
            return
        after = events[-1].position


def belongs_to_wallet(event: StoredEvent, wallet_id: str) -> bool:
    """Whether ``event`` is one of the wallet's: its own stream, or a payload naming it.

    Ceremony events live in ceremony streams (``ceremony-<id>``) and carry ``wallet_id`` in
    their payload (see storage.events.models), so both tests are needed.
    """
    return (
        event.stream_id == wallet_stream(wallet_id) or event.payload.get("wallet_id") == wallet_id
    )


def in_window(recorded_at: datetime, since: datetime | None, until: datetime | None) -> bool:
    """``since <= recorded_at < until``, either bound optional."""
    return (since is None or recorded_at >= since) and (until is None or recorded_at < until)


@dataclass(slots=True)
class _Cut:
    """A point the file may be cut back to: the end of the last event that must be kept."""

    offset: int
    digest: Any  # hashlib's object, copied at the cut (its type is private).
    count: int
    last: StoredEvent | None


async def export_events(
    store: EventStore,
    out: Path,
    *,
    wallet_id: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    manifest_path: Path | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
    clock: Callable[[], datetime] = utc_now,
) -> ExportManifest:
    """Write the selected events to ``out`` (JSON lines) and a manifest beside it.

    Returns the manifest, also written to ``manifest_path`` (default
    ``<out>.manifest.json``). Bounds must be timezone-aware; ``since`` is inclusive and
    ``until`` exclusive.
    """
    for name, bound in (("since", since), ("until", until)):
        if bound is not None and bound.utcoffset() is None:
            raise AuditError(f"--{name} must include a timezone (e.g. 2024-05-01T00:00:00Z)")
    if since is not None and until is not None and until <= since:
        raise AuditError("until must be after since")
    scope: ExportScope = (
        "wallet" if wallet_id is not None else "range" if (since or until) else "all"
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(out.name + ".partial")
    digest = hashlib.sha256()
    kept = _Cut(offset=0, digest=digest.copy(), count=0, last=None)
    first: StoredEvent | None = None
    count = 0
    with partial.open("wb") as handle:
        async for event in iter_events(store, since=since, until=until, batch_size=batch_size):
            inside = in_window(event.recorded_at, since, until)
            if scope == "wallet":
                assert wallet_id is not None  # noqa: S101 - narrowed by scope
                if not (inside and belongs_to_wallet(event, wallet_id)):
                    continue
            elif first is None and not inside:
                continue  # Before the slice starts.
            line = (event.model_dump_json() + "\n").encode("utf-8")
            handle.write(line)
            digest.update(line)
            count += 1
            if first is None:
                first = event
            if inside:
                # Everything up to here stays; events after it stay only if another
                # in-range event follows (the slice must be contiguous).
                kept = _Cut(handle.tell(), digest.copy(), count, event)
        # Drop the tail of events recorded after the range that no in-range event follows.
        handle.truncate(kept.offset)
        handle.flush()
        os.fsync(handle.fileno())
    partial.replace(out)
    manifest = ExportManifest(
        file=out.name,
        scope=scope,
        wallet_id=wallet_id,
        since=since,
        until=until,
        source=store.url,
        exported_at=clock(),
        count=kept.count,
        first_position=first.position if first is not None and kept.count else None,
        last_position=kept.last.position if kept.last is not None else None,
        first_prev_hash=first.prev_hash if first is not None and kept.count else None,
        last_hash=kept.last.hash if kept.last is not None else None,
        sha256=kept.digest.hexdigest(),
    )
    target = manifest_path if manifest_path is not None else manifest_path_for(out)
    target.write_text(manifest.model_dump_json(indent=2) + "\n", encoding="utf-8")
    return manifest
