"""Files a Quorate process creates under the data directory: private to the operator.

Key-encryption keys, vaults, codec keys, the event store, logs and the dev server's
database all live under one directory, and none of it is for other local users: every
directory is 0700 and every file 0600, whatever umask the operator's shell has (0000 in
some containers). Two layers give that:

* :func:`restrict_umask` sets the process umask to 0077 at the start of every entry point
  (the ``quorate`` command, each worker's ``main``); the umask is inherited by child
  processes (workers, the Temporal dev server) and applies to files that libraries create
  on their own, such as SQLite's ``-wal`` and ``-shm`` files;
* the helpers below create directories and files with explicit modes and ``chmod`` them
  afterwards, so what Quorate creates itself is private even where the umask was not set
  (a library caller, a test).
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import BinaryIO

PRIVATE_UMASK = 0o077
"""Clears every group and other permission bit of what the process creates."""
PRIVATE_DIR_MODE = 0o700
PRIVATE_FILE_MODE = 0o600


def restrict_umask() -> int:
    """Sets the umask to 0077 for this process and its children; returns the previous one."""
    return os.umask(PRIVATE_UMASK)


def private_dir(path: Path, *, tighten_existing: bool = True) -> Path:
    """Creates ``path`` (and missing parents) as 0700 directories. An existing ``path`` is
    made 0700 too unless ``tighten_existing`` is false (a data directory the operator named,
    which may be theirs for other things); existing parents are always left as they are."""
    missing: list[Path] = []
    current = path
    while not current.exists():
        missing.append(current)
        if current.parent == current:
            break
        current = current.parent
    for directory in reversed(missing):
        # Another process may create it meanwhile; it is tightened all the same.
        with contextlib.suppress(FileExistsError):
            directory.mkdir(mode=PRIVATE_DIR_MODE)
        os.chmod(directory, PRIVATE_DIR_MODE)
    if tighten_existing or missing:
        os.chmod(path, PRIVATE_DIR_MODE)
    return path


def restrict_file(path: Path) -> None:
    """Makes an existing file 0600 (a database and its ``-wal``/``-shm``/``-journal``
    companions, if present)."""
    for candidate in (path, *(path.with_name(path.name + s) for s in ("-wal", "-shm", "-journal"))):
        if candidate.exists():
            os.chmod(candidate, PRIVATE_FILE_MODE)


def write_private_bytes(path: Path, data: bytes) -> None:
    """Writes ``data`` to ``path`` as a 0600 file (created or truncated)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, PRIVATE_FILE_MODE)
    with os.fdopen(fd, "wb") as handle:
        os.fchmod(handle.fileno(), PRIVATE_FILE_MODE)
        handle.write(data)


def write_private_text(path: Path, text: str) -> None:
    """Writes ``text`` (UTF-8) to ``path`` as a 0600 file (created or truncated)."""
    write_private_bytes(path, text.encode("utf-8"))


def open_private_append(path: Path) -> BinaryIO:
    """Opens ``path`` for appending (a log), creating it as a 0600 file."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC, PRIVATE_FILE_MODE)
    handle = os.fdopen(fd, "ab")
    os.fchmod(handle.fileno(), PRIVATE_FILE_MODE)
    return handle
