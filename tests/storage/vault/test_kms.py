"""Tests of the development KMS, LocalFileKek: key files, wrapping, and its failures."""

from __future__ import annotations

import os
import stat
import struct
import threading
from pathlib import Path

import pytest
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from storage.vault.errors import KekInvalid, KekMissing, KeyUnwrapFailed, VaultError
from storage.vault.kms import KEK_SIZE, KeyEncryptionKey, LocalFileKek


def test_load_or_create_makes_a_private_key_file(tmp_path: Path) -> None:
    path = tmp_path / "us-1.kek"
    kek = LocalFileKek.load_or_create(path)
    assert isinstance(kek, KeyEncryptionKey)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len(path.read_bytes()) == KEK_SIZE
    # No temporary file is left behind.
    assert sorted(p.name for p in tmp_path.iterdir()) == ["us-1.kek"]


def test_load_or_create_reuses_an_existing_key(tmp_path: Path) -> None:
    path = tmp_path / "us-1.kek"
    first = LocalFileKek.load_or_create(path)
    key = path.read_bytes()
    assert LocalFileKek.load_or_create(path).key_id == first.key_id
    assert LocalFileKek.load(path).key_id == first.key_id
    assert path.read_bytes() == key
    wrapped = first.wrap(b"k" * 32, b"context")
    assert LocalFileKek.load(path).unwrap(wrapped, b"context") == b"k" * 32


def test_racing_creators_agree_on_one_key(tmp_path: Path) -> None:
    path = tmp_path / "us-1.kek"
    barrier = threading.Barrier(8)
    key_ids: list[str] = []

    def create() -> None:
        barrier.wait(timeout=30)
        key_ids.append(LocalFileKek.load_or_create(path).key_id)

    threads = [threading.Thread(target=create) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert len(key_ids) == 8
    assert len(set(key_ids)) == 1
    assert [p.name for p in tmp_path.iterdir()] == ["us-1.kek"]


def test_loading_a_missing_key_names_the_path(tmp_path: Path) -> None:
    path = tmp_path / "absent.kek"
    with pytest.raises(KekMissing, match=r"absent\.kek") as raised:
        LocalFileKek.load(path)
    assert raised.value.path == path
    assert isinstance(raised.value, VaultError)
    assert not path.exists()


def test_a_key_file_readable_by_others_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "us-1.kek"
    LocalFileKek.load_or_create(path)
    path.chmod(0o644)
    with pytest.raises(KekInvalid, match="0644"):
        LocalFileKek.load(path)


@pytest.mark.parametrize("size", [0, 16, 31, 33, 64])
def test_a_key_file_of_the_wrong_size_is_refused(tmp_path: Path, size: int) -> None:
    path = tmp_path / "us-1.kek"
    path.write_bytes(os.urandom(size))
    path.chmod(0o600)
    with pytest.raises(KekInvalid):
        LocalFileKek.load(path)


def test_wrap_is_aes_256_gcm_under_the_file_key(tmp_path: Path) -> None:
    path = tmp_path / "us-1.kek"
    kek = LocalFileKek.load_or_create(path)
    data_key = os.urandom(32)
    wrapped = kek.wrap(data_key, b"context")
    assert data_key not in wrapped
    assert kek.wrap(data_key, b"context") != wrapped  # a fresh nonce every time
    assert kek.unwrap(wrapped, b"context") == data_key
    # Independent check with the raw key: version byte, 12-byte nonce, then AES-256-GCM.
    assert wrapped[0] == 1
    # The associated data is length-prefixed: the KEK's label, its key id, the caller's data.
    fields = (b"quorate/kek/local/v1", kek.key_id.encode(), b"context")
    aad = b"".join(struct.pack(">I", len(field)) + field for field in fields)
    aesgcm = AESGCM(path.read_bytes())
    assert aesgcm.decrypt(wrapped[1:13], wrapped[13:], aad) == data_key
    with pytest.raises(InvalidTag):
        aesgcm.decrypt(wrapped[1:13], wrapped[13:], b"context")


def test_unwrap_fails_with_other_context_key_or_bytes(tmp_path: Path) -> None:
    kek = LocalFileKek.load_or_create(tmp_path / "a.kek")
    other = LocalFileKek.load_or_create(tmp_path / "b.kek")
    assert kek.key_id != other.key_id
    wrapped = kek.wrap(os.urandom(32), b"party us-1, wallet 1")
    with pytest.raises(KeyUnwrapFailed):
        kek.unwrap(wrapped, b"party us-1, wallet 2")
    with pytest.raises(KeyUnwrapFailed):
        other.unwrap(wrapped, b"party us-1, wallet 1")
    with pytest.raises(KeyUnwrapFailed):
        kek.unwrap(wrapped[:-1] + bytes([wrapped[-1] ^ 1]), b"party us-1, wallet 1")
    for malformed in (b"", b"\x01", b"\x02" + wrapped[1:], wrapped[:20]):
        with pytest.raises(KeyUnwrapFailed):
            kek.unwrap(malformed, b"party us-1, wallet 1")


def test_repr_and_errors_do_not_show_the_key(tmp_path: Path) -> None:
    path = tmp_path / "us-1.kek"
    kek = LocalFileKek.load_or_create(path)
    key = path.read_bytes()
    assert key.hex() not in repr(kek)
    assert repr(key) not in repr(kek)
    assert "redacted" in repr(kek)
    with pytest.raises(KeyUnwrapFailed) as raised:
        kek.unwrap(b"\x01" + bytes(40), b"")
    assert key.hex() not in str(raised.value)


def test_the_key_id_depends_on_the_key_only(tmp_path: Path) -> None:
    key = os.urandom(KEK_SIZE)
    for name in ("a.kek", "b.kek"):
        (tmp_path / name).write_bytes(key)
        (tmp_path / name).chmod(0o600)
    assert (
        LocalFileKek.load(tmp_path / "a.kek").key_id == LocalFileKek.load(tmp_path / "b.kek").key_id
    )
    assert key.hex()[:16] not in LocalFileKek(key).key_id
