"""Private key files: what the share vault's local key-encryption key and the coordinator's
local checkpoint key share about how they are read from, and written to, the data directory.

A key file holds exactly its key's bytes, mode 0600. Like ssh with a private key, a reader
refuses a file that group or others may access; a writer creates the file atomically and
never replaces one that exists.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from pathlib import Path


def read_key_file(path: Path, size: int, *, what: str, error: Callable[[str], Exception]) -> bytes:
    """The ``size`` bytes of the key file at ``path``.

    Raises ``FileNotFoundError`` if there is none, and ``error(message)`` for a file that is
    not regular, that group or others may access, or that does not hold exactly ``size``
    bytes; ``what`` names the key in those messages.
    """
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
    with os.fdopen(fd, "rb") as file:
        mode = os.fstat(file.fileno()).st_mode
        if not stat.S_ISREG(mode):
            raise error(f"{what} {path} is not a regular file")
        if mode & 0o077:
            raise error(
                f"{what} {path} has mode {stat.S_IMODE(mode):04o}; it must be "
                "accessible by its owner only (chmod 600)"
            )
        key = file.read(size + 1)
    if len(key) != size:
        raise error(f"{what} {path} must hold exactly {size} bytes")
    return key


def link_key_file(path: Path, key: bytes) -> None:
    """Write ``key`` to a new file at ``path``, mode 0600; ``FileExistsError`` if one exists.

    The key is written and synced to a private temporary file, which is then hard-linked to
    ``path``: ``link`` fails if ``path`` exists, so two processes racing to create the key
    agree on one, and no reader ever sees a half-written file.
    """
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{os.urandom(8).hex()}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        # The umask can only remove bits, but be explicit about the final mode.
        os.fchmod(fd, 0o600)
        os.write(fd, key)
        os.fsync(fd)
        os.close(fd)
        fd = -1
        os.link(temporary, path)
    finally:
        if fd >= 0:
            os.close(fd)
        temporary.unlink(missing_ok=True)
