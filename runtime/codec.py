"""Temporal payload encryption: AES-256-GCM over every payload Quorate hands to Temporal.

Workflow inputs, results, signals and activity arguments are persisted in the Temporal
server's history. Quorate's payloads carry key-share metadata, signing requests and
policy decisions, so nothing may reach the server in the clear: every client and worker
builds its converter with :func:`data_converter`, which wraps Temporal's pydantic payload
converter in :class:`FailClosedPayloadCodec`.

The codec also authenticates: anyone who can reach the Temporal frontend can start a
workflow or send a signal (``temporal workflow execute --input '{...}'`` writes a
``json/plain`` payload), so a worker that accepted unsealed payloads would run requests
from anyone. :class:`FailClosedPayloadCodec` refuses, on decode, everything Quorate's
converter did not seal under a key in its table: plaintext, an unknown key id, a failed
authentication, and payloads the codec server sealed for display (below). Each refusal is
a :class:`CodecError`, an ``ApplicationError``, non-retryable except for an unknown key id:
raised while a worker decodes a workflow activation, a non-retryable one makes the SDK fail
that workflow execution instead of its workflow task, which the server would otherwise
retry against the same history forever. An unknown key fails the task, on purpose: a
worker that lags a key rotation must not fail workflows that a restarted one can read
(:class:`UnknownKeyError`). Nothing is decrypted before the checks pass, and no message
carries payload data.

Temporal's own payloads never reach the codec in the workers' paths that matter: search
attributes and headers are not passed through codecs, the SDK's local-activity marker
bookkeeping is read by the SDK core, and server-made failures (timeouts, termination,
cancellation) carry plain messages, not payloads. :class:`AesGcmPayloadCodec` (what the
codec server and tests that read whole histories use) decodes for display: it lets
unsealed payloads through unchanged.

Keys live in a :class:`CodecKeyTable` (a small JSON file, mode 0600). Rotation adds a key
and makes it current; older keys stay in the table so that histories written under them
still decode. Removing a key makes every payload sealed under it unreadable, for good.

Wire format of an encrypted payload::

    metadata = {"encoding": b"binary/encrypted", "encryption-key-id": b"<key id>"}
    data     = nonce (12 bytes) || AES-256-GCM(key, nonce, inner, aad)

where ``inner`` is the original Payload serialized as protobuf (so its own metadata, e.g.
``json/plain``, is encrypted too) and ``aad`` binds the key id to the ciphertext.

The codec server's ``/encode`` (for the UI) seals under the same keys but in another
domain, marked and bound by the AAD, so that a caller of that unauthenticated endpoint
cannot turn plaintext into something workers accept::

    metadata = {..., "encryption-purpose": b"display-only"}
    aad      = b"quorate/codec-server-payload/v1\x00" || key id
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import os
import re
import secrets
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar, Final, Self

import temporalio.api.common.v1
import temporalio.converter
import temporalio.exceptions
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from google.protobuf.message import DecodeError
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from temporalio.contrib.pydantic import pydantic_data_converter

__all__ = [
    "DISPLAY_ONLY_PURPOSE",
    "ENCODING",
    "KEY_ID_METADATA_KEY",
    "PURPOSE_METADATA_KEY",
    "AesGcmPayloadCodec",
    "CodecError",
    "CodecKeyTable",
    "DecryptionError",
    "DisplayOnlyPayloadError",
    "FailClosedPayloadCodec",
    "MalformedPayloadError",
    "UnknownKeyError",
    "UnsealedPayloadError",
    "data_converter",
]

ENCODING: Final = b"binary/encrypted"
KEY_ID_METADATA_KEY: Final = "encryption-key-id"
# Present only on payloads the codec server's /encode sealed; workers refuse them.
PURPOSE_METADATA_KEY: Final = "encryption-purpose"
DISPLAY_ONLY_PURPOSE: Final = b"display-only"

KEY_SIZE: Final = 32  # AES-256
NONCE_SIZE: Final = 12  # the GCM standard nonce; random nonces are safe far beyond our volume
TAG_SIZE: Final = 16

# Key ids travel in cleartext payload metadata and inside the AAD, so keep them to a
# short printable alphabet: no separators that could make two AADs collide, nothing a
# terminal would interpret when an operator reads an error message.
_KEY_ID_PATTERN: Final = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"
_KEY_ID_RE: Final = re.compile(_KEY_ID_PATTERN)
_HEX_KEY_RE: Final = re.compile(r"^[0-9a-fA-F]{64}$")

# Domain separation: a ciphertext from some other system that happens to share a key
# cannot be replayed into Quorate's histories, and the version lets the format evolve.
_AAD_PREFIX: Final = b"quorate/temporal-payload/v1\x00"
# The codec server's /encode domain: a different prefix, so its ciphertexts can never
# authenticate as worker payloads, even with the marker metadata stripped.
_DISPLAY_AAD_PREFIX: Final = b"quorate/codec-server-payload/v1\x00"


class CodecError(temporalio.exceptions.ApplicationError):
    """A payload was refused or could not be decrypted.

    Messages never contain plaintext or key bytes. An ``ApplicationError`` whose type is
    the class name and, unless a subclass says otherwise, non-retryable: raised while the
    SDK decodes a workflow activation, such an error fails the workflow execution rather
    than its workflow task, which would be retried forever against the same history event.
    """

    # Whether no later attempt can open the payload: true of plaintext, tampering and
    # malformed payloads, whoever decodes them.
    permanent: ClassVar[bool] = True

    def __init__(self, message: str) -> None:
        super().__init__(message, type=type(self).__name__, non_retryable=self.permanent)


class UnsealedPayloadError(CodecError):
    """Workers refuse a payload that Quorate's codec did not seal (e.g. plain JSON)."""


class DisplayOnlyPayloadError(CodecError):
    """Workers refuse a payload sealed by the codec server's /encode, for display only."""


class UnknownKeyError(CodecError):
    """The payload was sealed under a key id that is not in this key table.

    Retryable, unlike the other refusals: after ``quorate rotate-codec-key`` a process
    restarted with the new table may seal under a key that a worker still running with the
    old table lacks. Failing the workflow task (not the workflow) lets a worker that holds
    the key, or this one once restarted, pick the task up; a workflow stuck on a key id
    that no table will ever hold shows this message on its failed tasks until terminated.
    """

    permanent: ClassVar[bool] = False


class DecryptionError(CodecError):
    """Authentication failed: wrong key, tampered data or tampered key-id metadata."""


class MalformedPayloadError(CodecError):
    """The payload claims to be encrypted but is structurally invalid."""


def _new_key_id() -> str:
    # Date for operators (which key is older), random suffix so that two rotations on the
    # same day, or on two machines, do not collide.
    return f"k-{dt.datetime.now(dt.UTC):%Y%m%d}-{secrets.token_hex(4)}"


def _printable_key_id(raw: bytes) -> str:
    # The key id in an error message comes from the (untrusted) payload; bound and escape it.
    return repr(raw[:64].decode("ascii", errors="replace"))


def _printable_encoding(payload: temporalio.api.common.v1.Payload) -> str:
    # Untrusted metadata too: bounded and escaped like a key id; the data is never shown.
    encoding = payload.metadata.get("encoding")
    return "no encoding" if encoding is None else f"encoding {_printable_key_id(encoding)}"


class CodecKeyTable(BaseModel):
    """The payload encryption keys: key id → 32-byte AES key (hex), and which one is current.

    Immutable: :meth:`rotate` returns a new table. ``repr``/``str`` show key ids only, and
    validation errors never echo their input, so a table can be logged safely.
    """

    # hide_input_in_errors: a ValidationError would otherwise print the offending key hex.
    model_config = ConfigDict(frozen=True, extra="forbid", hide_input_in_errors=True)

    current_key_id: str = Field(pattern=_KEY_ID_PATTERN)
    keys: dict[str, str] = Field(min_length=1)

    @field_validator("keys")
    @classmethod
    def _check_keys(cls, keys: dict[str, str]) -> dict[str, str]:
        for key_id, key_hex in keys.items():
            if not _KEY_ID_RE.fullmatch(key_id):
                raise ValueError(
                    f"key id {key_id[:64]!r} must match {_KEY_ID_PATTERN} "
                    "(letters, digits, '.', '_', '-'; at most 64 characters)"
                )
            # A strict pattern rather than bytes.fromhex alone: fromhex tolerates spaces,
            # and the length must be exact — a 16- or 24-byte key would silently select
            # AES-128/192.
            if not _HEX_KEY_RE.fullmatch(key_hex):
                raise ValueError(
                    f"key {key_id!r} must be exactly {KEY_SIZE} bytes written as "
                    f"{2 * KEY_SIZE} hex characters"
                )
        # Normalize so that equal keys compare equal and files are stable.
        return {key_id: key_hex.lower() for key_id, key_hex in keys.items()}

    @model_validator(mode="after")
    def _check_current(self) -> Self:
        if self.current_key_id not in self.keys:
            raise ValueError(f"current key id {self.current_key_id!r} is not in the key table")
        return self

    def __repr_args__(self) -> Iterator[tuple[str | None, Any]]:
        # Replaces pydantic's field listing, which would print every key in hex.
        yield "current_key_id", self.current_key_id
        yield "key_ids", self.key_ids

    @property
    def key_ids(self) -> tuple[str, ...]:
        return tuple(self.keys)

    def key(self, key_id: str) -> bytes:
        """The raw key for ``key_id``; :class:`UnknownKeyError` if the table lacks it."""
        try:
            return bytes.fromhex(self.keys[key_id])
        except KeyError:
            raise UnknownKeyError(f"key id {key_id[:64]!r} is not in the key table") from None

    @property
    def current_key(self) -> bytes:
        return self.key(self.current_key_id)

    @classmethod
    def generate(cls, key_id: str | None = None) -> CodecKeyTable:
        """A table holding one fresh random key, which is current."""
        key_id = _new_key_id() if key_id is None else key_id
        return cls(current_key_id=key_id, keys={key_id: secrets.token_bytes(KEY_SIZE).hex()})

    def rotate(self) -> CodecKeyTable:
        """A new table with a fresh current key; every existing key stays, for decryption."""
        key_id = _new_key_id()
        while key_id in self.keys:  # 32 random bits per day: a clash is rare, not impossible
            key_id = _new_key_id()
        keys = {**self.keys, key_id: secrets.token_bytes(KEY_SIZE).hex()}
        return type(self)(current_key_id=key_id, keys=keys)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> CodecKeyTable:
        return cls.model_validate_json(Path(path).read_bytes())

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the table as JSON, mode 0600, atomically (readers never see a partial file)."""
        _write_private_file(Path(path), self._to_json(), overwrite=True)

    @classmethod
    def load_or_create(cls, path: str | os.PathLike[str]) -> CodecKeyTable:
        """Load the table at ``path``, or generate and save a new one if there is none.

        Creation never overwrites: if another process creates the file first, its table
        is loaded instead, so concurrent first starts agree on a single key.
        """
        path = Path(path)
        if path.exists():
            return cls.load(path)
        table = cls.generate()
        try:
            _write_private_file(path, table._to_json(), overwrite=False)
        except FileExistsError:
            return cls.load(path)
        return table

    def _to_json(self) -> bytes:
        return (self.model_dump_json(indent=2) + "\n").encode()


def _write_private_file(path: Path, data: bytes, *, overwrite: bool) -> None:
    # Write a 0600 temp file in the same directory (same filesystem, so the final step is
    # atomic), fsync it, then move it into place. mkstemp creates 0600 regardless of umask,
    # so the keys are never readable by others, not even briefly.
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as handle:
            os.fchmod(handle.fileno(), 0o600)
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        if overwrite:
            os.replace(tmp, path)
        else:
            _link_no_clobber(tmp, path, data)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
    _fsync_directory(path.parent)


def _link_no_clobber(tmp: Path, path: Path, data: bytes) -> None:
    try:
        # link(2) fails with EEXIST instead of replacing: an atomic create-if-absent that
        # also never exposes a partially written file.
        os.link(tmp, path)
    except FileExistsError:
        raise
    except OSError:
        # Filesystems without hard links: O_EXCL still guarantees we never clobber a
        # table someone else created; only the brief partial-write window is lost.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())


def _fsync_directory(directory: Path) -> None:
    # Persist the rename itself; otherwise a crash could lose a freshly rotated table.
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _aad(key_id: bytes) -> bytes:
    return _AAD_PREFIX + key_id


def _display_aad(key_id: bytes) -> bytes:
    return _DISPLAY_AAD_PREFIX + key_id


class AesGcmPayloadCodec(temporalio.converter.PayloadCodec):
    """Encrypts each payload under the table's current key; decrypts under any key in it.

    For display and inspection (the codec server, tests that read whole histories): decode
    lets payloads that are not sealed through unchanged and also opens what
    :meth:`encode_display_only` sealed. Workers and clients use
    :class:`FailClosedPayloadCodec` (through :func:`data_converter`), which refuses both.
    """

    def __init__(self, key_table: CodecKeyTable) -> None:
        self._key_table = key_table
        self._current_key_id = key_table.current_key_id.encode("ascii")
        # One cipher object per key, built once: encode/decode run for every payload.
        self._ciphers: Mapping[bytes, AESGCM] = {
            key_id.encode("ascii"): AESGCM(key_table.key(key_id)) for key_id in key_table.keys
        }

    @property
    def key_table(self) -> CodecKeyTable:
        return self._key_table

    def __repr__(self) -> str:
        return f"{type(self).__name__}(key_table={self._key_table!r})"

    async def encode(
        self, payloads: Sequence[temporalio.api.common.v1.Payload]
    ) -> list[temporalio.api.common.v1.Payload]:
        return [self._encrypt(payload, display_only=False) for payload in payloads]

    async def encode_display_only(
        self, payloads: Sequence[temporalio.api.common.v1.Payload]
    ) -> list[temporalio.api.common.v1.Payload]:
        """Seal for the UI (the codec server's /encode): this codec opens them, workers never.

        The codec server answers anyone on the machine; if its /encode produced worker
        payloads, it would give every local user the key's power to start ceremonies.
        """
        return [self._encrypt(payload, display_only=True) for payload in payloads]

    async def decode(
        self, payloads: Sequence[temporalio.api.common.v1.Payload]
    ) -> list[temporalio.api.common.v1.Payload]:
        """Open sealed payloads (either domain); pass unsealed ones through, for display."""
        return [
            self._decrypt(payload) if payload.metadata.get("encoding") == ENCODING else payload
            for payload in payloads
        ]

    def _encrypt(
        self, payload: temporalio.api.common.v1.Payload, *, display_only: bool
    ) -> temporalio.api.common.v1.Payload:
        key_id = self._current_key_id
        metadata = {"encoding": ENCODING, KEY_ID_METADATA_KEY: key_id}
        if display_only:
            metadata[PURPOSE_METADATA_KEY] = DISPLAY_ONLY_PURPOSE
            aad = _display_aad(key_id)
        else:
            aad = _aad(key_id)
        # A fresh random nonce per payload: GCM nonce reuse under one key leaks the XOR of
        # the plaintexts and the authentication key.
        nonce = secrets.token_bytes(NONCE_SIZE)
        sealed = self._ciphers[key_id].encrypt(nonce, payload.SerializeToString(), aad)
        return temporalio.api.common.v1.Payload(metadata=metadata, data=nonce + sealed)

    def _decrypt(
        self, payload: temporalio.api.common.v1.Payload
    ) -> temporalio.api.common.v1.Payload:
        """Open a payload whose encoding is :data:`ENCODING`, in whichever domain it names."""
        key_id = payload.metadata.get(KEY_ID_METADATA_KEY)
        if key_id is None:
            raise MalformedPayloadError(f"encrypted payload has no {KEY_ID_METADATA_KEY!r}")
        purpose = payload.metadata.get(PURPOSE_METADATA_KEY)
        if purpose is None:
            aad = _aad(key_id)
        elif purpose == DISPLAY_ONLY_PURPOSE:
            aad = _display_aad(key_id)
        else:
            raise MalformedPayloadError(
                f"encrypted payload names an unknown {PURPOSE_METADATA_KEY!r}: "
                f"{_printable_key_id(purpose)}"
            )
        cipher = self._ciphers.get(key_id)
        if cipher is None:
            raise UnknownKeyError(
                f"payload was encrypted under key id {_printable_key_id(key_id)}, "
                "which is not in this key table"
            )
        if len(payload.data) < NONCE_SIZE + TAG_SIZE:
            raise MalformedPayloadError("encrypted payload is too short to hold nonce and tag")
        nonce, sealed = payload.data[:NONCE_SIZE], payload.data[NONCE_SIZE:]
        try:
            inner = cipher.decrypt(nonce, sealed, aad)
        except InvalidTag:
            raise DecryptionError(
                f"payload failed authentication under key id {_printable_key_id(key_id)}: "
                "wrong key, or the data or its metadata was modified"
            ) from None
        try:
            return temporalio.api.common.v1.Payload.FromString(inner)
        except DecodeError:
            # Authentic but not a Payload: only a peer holding our key could produce this.
            raise MalformedPayloadError("decrypted data is not a serialized Payload") from None


class FailClosedPayloadCodec(AesGcmPayloadCodec):
    """The workers' and clients' codec: decode accepts only what Quorate's converter sealed.

    Refused, each with its :class:`CodecError` and before anything is decrypted: payloads
    that are not sealed (:class:`UnsealedPayloadError`: the ``json/plain`` of
    ``temporal workflow execute``, the UI or any other codec-less client), sealed for
    display by the codec server (:class:`DisplayOnlyPayloadError`), under a key id not in
    the table (:class:`UnknownKeyError`), malformed, or failing authentication.
    """

    async def decode(
        self, payloads: Sequence[temporalio.api.common.v1.Payload]
    ) -> list[temporalio.api.common.v1.Payload]:
        return [self._open_sealed(payload) for payload in payloads]

    def _open_sealed(
        self, payload: temporalio.api.common.v1.Payload
    ) -> temporalio.api.common.v1.Payload:
        if payload.metadata.get("encoding") != ENCODING:
            raise UnsealedPayloadError(
                "refused a payload that Quorate's codec did not seal "
                f"({_printable_encoding(payload)}): workers and clients accept only "
                "encrypted payloads"
            )
        if PURPOSE_METADATA_KEY in payload.metadata:
            raise DisplayOnlyPayloadError(
                "refused a payload sealed by the codec server's /encode: those are for "
                "display only and never accepted by workers or clients"
            )
        return self._decrypt(payload)


def data_converter(key_table: CodecKeyTable) -> temporalio.converter.DataConverter:
    """The converter every Quorate client and worker uses: pydantic JSON, then AES-GCM.

    Its codec is :class:`FailClosedPayloadCodec`: whatever Quorate did not seal is refused
    on decode. Failure messages and stack traces are moved into an encoded attribute so the
    codec encrypts them too; otherwise an error's text would sit in the history in the clear.
    """
    return dataclasses.replace(
        pydantic_data_converter,
        payload_codec=FailClosedPayloadCodec(key_table),
        failure_converter_class=temporalio.converter.DefaultFailureConverterWithEncodedAttributes,
    )
