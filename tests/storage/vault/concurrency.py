"""Process entry points for the share vault's cross-process tests.

They live in an importable module, not in the test file, because the ``spawn`` start method
re-imports the target function in a fresh interpreter.
"""

from __future__ import annotations

import os
import time
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Barrier
from pathlib import Path

from storage.vault.kms import LocalFileKek
from storage.vault.sqlite import SqliteShareVault


class AppendingCompute:
    """Appends one line to ``log`` per call, then lingers so that a racing caller must wait."""

    def __init__(self, log: Path, delay: float) -> None:
        self.log = log
        self.delay = delay

    def __call__(self, nonces: bytes) -> bytes:
        # O_APPEND writes of one short line are atomic, so concurrent calls are all counted.
        fd = os.open(self.log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            os.write(fd, f"{os.getpid()}\n".encode())
        finally:
            os.close(fd)
        time.sleep(self.delay)
        return b"share:" + os.urandom(32)


def consume_in_process(
    vault_path: str,
    kek_path: str,
    party_id: str,
    wallet_id: str,
    ceremony_id: str,
    request_digest: bytes,
    log_path: str,
    barrier: Barrier,
    results: Queue[tuple[str, bytes]],
) -> None:
    """Open the vault in this process, wait for the others, and consume the ceremony's nonces."""
    kek = LocalFileKek.load(Path(kek_path))
    with SqliteShareVault(Path(vault_path), party_id, kek) as vault:
        barrier.wait(timeout=30)
        try:
            output = vault.consume_nonces(
                wallet_id, ceremony_id, request_digest, AppendingCompute(Path(log_path), 0.3)
            )
        except Exception as exc:
            results.put(("error", type(exc).__name__.encode()))
            return
        results.put(("ok", output))
