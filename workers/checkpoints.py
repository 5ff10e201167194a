"""The checkpoint writer: signs the event log's head every interval and records it.

Each checkpoint (``storage.events.models.ChainCheckpoint``) says "as of now, the event at
position ``p`` has hash ``h``", signed by the checkpoint key (``runtime.checkpoint_key``),
so ``quorate audit verify`` can tell a log that was edited and re-hashed from end to end
from the original (``storage.audit.checkpoints``). :func:`write_checkpoint` writes one;
:func:`run_checkpoints` writes one at once, then one per interval while events keep
arriving (none when the head is already a checkpoint: an idle log is not re-signed), and a
last one when stopped, so a cleanly stopped deployment leaves a fully covered log.

``python -m workers.checkpoints`` runs it against the settings' event store with the data
directory's key (``<data dir>/checkpoint-key``, created by provisioning) until SIGTERM;
``QUORATE_CHECKPOINT_INTERVAL`` (seconds, default 60) sets the interval.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Final

from nacl.exceptions import BadSignatureError
from nacl.signing import VerifyKey

from runtime.checkpoint_key import CheckpointSigner, LocalCheckpointKey, private_key_path
from runtime.files import restrict_umask
from runtime.settings import Settings
from storage.audit.checkpoints import CHECKPOINT_WINDOW, DEFAULT_CHECKPOINT_INTERVAL_SECONDS
from storage.events.errors import EventStoreError, IdempotencyConflict
from storage.events.models import (
    ChainCheckpoint,
    checkpoint_signed_message,
    checkpoint_to_new_event,
    parse_checkpoint,
)
from storage.events.port import EventStore, StoredEvent, open_event_store, utc_now

DEFAULT_INTERVAL_SECONDS: Final = DEFAULT_CHECKPOINT_INTERVAL_SECONDS
INTERVAL_VARIABLE: Final = "QUORATE_CHECKPOINT_INTERVAL"

_log = logging.getLogger(__name__)


class CheckpointSignatureInvalid(RuntimeError):
    """The signer returned a signature its own public key does not verify (a broken KMS);
    nothing is recorded, since such a checkpoint would fail every later audit."""


async def write_checkpoint(
    store: EventStore,
    signer: CheckpointSigner,
    *,
    interval_seconds: float = DEFAULT_INTERVAL_SECONDS,
    now: Callable[[], datetime] = utc_now,
) -> StoredEvent | None:
    """Sign ``store``'s head and append the checkpoint; the stored event, or ``None`` when
    there is nothing new to sign (an empty log, or one whose head is a checkpoint of the
    event just before it) or another writer has already checkpointed this head.

    A head that is a checkpoint of an earlier position (events were appended while it was
    signed) is signed in turn: that covers the events in between.
    """
    head = await store.head()
    if head is None or _covers_all_before_it(head):
        return None
    signed_at = now()
    message = checkpoint_signed_message(
        head_position=head.position,
        head_hash=head.hash,
        signed_at=signed_at,
        interval_seconds=interval_seconds,
    )
    signature = await signer.sign(message)
    try:
        VerifyKey(signer.public_key).verify(message, signature)
    except (BadSignatureError, ValueError):
        raise CheckpointSignatureInvalid(
            f"{signer!r} returned a signature its public key does not verify"
        ) from None
    checkpoint = ChainCheckpoint(
        head_position=head.position,
        head_hash=head.hash,
        signed_at=signed_at,
        interval_seconds=interval_seconds,
        public_key=signer.public_key.hex(),
        signature=signature.hex(),
    )
    try:
        stored = await store.append(checkpoint_to_new_event(checkpoint))
    except IdempotencyConflict:
        return None  # This head was signed already (by another writer, or before a crash).
    if stored.position - head.position > CHECKPOINT_WINDOW:
        _log.warning(
            "checkpoint of position %d landed at position %d, further than an audit "
            "accepts (%d); the next checkpoint covers it",
            head.position,
            stored.position,
            CHECKPOINT_WINDOW,
        )
    return stored


def _covers_all_before_it(event: StoredEvent) -> bool:
    if event.event_type != ChainCheckpoint.__name__:
        return False
    try:
        return parse_checkpoint(event).head_position == event.position - 1
    except EventStoreError:
        return False  # Not a checkpoint this code can read: sign over it.


async def run_checkpoints(
    store: EventStore,
    signer: CheckpointSigner,
    interval_seconds: float,
    stop: asyncio.Event,
    *,
    now: Callable[[], datetime] = utc_now,
) -> int:
    """Checkpoint ``store`` every ``interval_seconds`` until ``stop`` is set, then once more.

    A failed write (the database unreachable for a while) is logged and retried at the next
    interval; the final one, on stop, is not swallowed. Returns how many were written.
    """
    if interval_seconds <= 0:
        raise ValueError(f"interval_seconds must be > 0, got {interval_seconds}")
    written = 0
    while not stop.is_set():
        try:
            if await write_checkpoint(store, signer, interval_seconds=interval_seconds, now=now):
                written += 1
        except CheckpointSignatureInvalid:
            raise
        except Exception:
            _log.exception("checkpoint failed; retrying in %.1f s", interval_seconds)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), interval_seconds)
    if await write_checkpoint(store, signer, interval_seconds=interval_seconds, now=now):
        written += 1
    return written


def interval_from_env(environ: Mapping[str, str] | None = None) -> float:
    """``QUORATE_CHECKPOINT_INTERVAL`` in seconds (default 60); a bad value fails by name."""
    raw = (os.environ if environ is None else environ).get(INTERVAL_VARIABLE)
    if raw is None:
        return DEFAULT_INTERVAL_SECONDS
    try:
        value = float(raw)
    except ValueError:
        value = 0.0
    if not value > 0:
        raise ValueError(f"{INTERVAL_VARIABLE} must be a number of seconds > 0, got {raw!r}")
    return value


async def run_checkpoint_worker(settings: Settings, interval_seconds: float) -> None:
    """The process: the data directory's key, the settings' store, until SIGINT/SIGTERM."""
    signer = LocalCheckpointKey.load(private_key_path(settings.data_dir))
    store = await open_event_store(settings.events_url)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        _log.info("checkpointing %s every %.1f s with %r", store.url, interval_seconds, signer)
        await run_checkpoints(store, signer, interval_seconds, stop)
    finally:
        await store.close()


def main() -> None:
    restrict_umask()  # What this process creates (SQLite's side files) stays private.
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    asyncio.run(run_checkpoint_worker(Settings.from_env(), interval_from_env()))


if __name__ == "__main__":
    main()
