"""The share-vault contract: one test suite that every ShareVault adapter runs.

Following pyeventsourcing's abstract recorder tests, :class:`ShareVaultContract` is not
collected itself (its name does not start with ``Test``); each adapter's test module subclasses
it and implements :meth:`ShareVaultContract.open_vault`.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from storage.vault.errors import (
    InvalidVaultInput,
    NonceAlreadyConsumed,
    NoncesNotFound,
    SecretAlreadyStored,
    SecretNotFound,
    VaultClosed,
    VaultError,
)
from storage.vault.port import MAX_IDENTIFIER_SIZE, ShareVault

WALLET = "wallet-1"
OTHER_WALLET = "wallet-2"
CEREMONY = "sign-0001"
DIGEST = b"\x01" * 32
OTHER_DIGEST = b"\x02" * 32


class CountingCompute:
    """A ``compute`` callback that records its calls and returns a fresh random output each time.

    A random output makes a second computation visible: it would return different bytes.
    """

    def __init__(self) -> None:
        self.calls: list[bytes] = []

    def __call__(self, nonces: bytes) -> bytes:
        self.calls.append(nonces)
        return b"share:" + os.urandom(32)


class ComputeError(Exception):
    """Raised by a failing ``compute`` in the tests."""


def failing_compute(nonces: bytes) -> bytes:
    raise ComputeError("the signer rejected the request")


def unexpected_compute(nonces: bytes) -> bytes:
    raise AssertionError("compute must not be called")


class ShareVaultContract:
    """Behaviour every :class:`ShareVault` must have; subclasses provide :meth:`open_vault`."""

    def open_vault(self, directory: Path, party_id: str) -> ShareVault:
        """Open (or reopen) ``party_id``'s vault kept under ``directory``."""
        raise NotImplementedError

    @pytest.fixture
    def vault(self, tmp_path: Path) -> Iterator[ShareVault]:
        vault = self.open_vault(tmp_path, "us-1")
        yield vault
        vault.close()

    # -- secrets ---------------------------------------------------------------------------

    def test_party_id(self, vault: ShareVault) -> None:
        assert vault.party_id == "us-1"

    def test_put_then_get_returns_the_secret(self, vault: ShareVault) -> None:
        secret = os.urandom(32)
        vault.put_secret(WALLET, "key-share", secret)
        assert vault.get_secret(WALLET, "key-share") == secret

    def test_get_missing_secret_raises(self, vault: ShareVault) -> None:
        with pytest.raises(SecretNotFound, match="key-share"):
            vault.get_secret(WALLET, "key-share")

    def test_has_secret(self, vault: ShareVault) -> None:
        assert not vault.has_secret(WALLET, "key-share")
        vault.put_secret(WALLET, "key-share", b"share")
        assert vault.has_secret(WALLET, "key-share")
        assert not vault.has_secret(OTHER_WALLET, "key-share")
        assert not vault.has_secret(WALLET, "other")

    def test_storing_identical_bytes_again_is_a_no_op(self, vault: ShareVault) -> None:
        secret = os.urandom(32)
        vault.put_secret(WALLET, "key-share", secret)
        vault.put_secret(WALLET, "key-share", secret)
        assert vault.get_secret(WALLET, "key-share") == secret

    def test_storing_different_bytes_is_refused(self, vault: ShareVault) -> None:
        secret, other = os.urandom(32), os.urandom(32)
        vault.put_secret(WALLET, "key-share", secret)
        with pytest.raises(SecretAlreadyStored) as raised:
            vault.put_secret(WALLET, "key-share", other)
        message = str(raised.value)
        assert other.hex() not in message
        assert secret.hex() not in message
        assert repr(other) not in message
        assert vault.get_secret(WALLET, "key-share") == secret

    def test_secrets_are_keyed_by_wallet_and_name(self, vault: ShareVault) -> None:
        vault.put_secret(WALLET, "a", b"wallet-1/a")
        vault.put_secret(WALLET, "b", b"wallet-1/b")
        vault.put_secret(OTHER_WALLET, "a", b"wallet-2/a")
        assert vault.get_secret(WALLET, "a") == b"wallet-1/a"
        assert vault.get_secret(WALLET, "b") == b"wallet-1/b"
        assert vault.get_secret(OTHER_WALLET, "a") == b"wallet-2/a"

    def test_delete_secret(self, vault: ShareVault) -> None:
        vault.put_secret(WALLET, "dkg-round1", b"round state")
        vault.put_secret(WALLET, "key-share", b"share")
        vault.delete_secret(WALLET, "dkg-round1")
        assert not vault.has_secret(WALLET, "dkg-round1")
        with pytest.raises(SecretNotFound):
            vault.get_secret(WALLET, "dkg-round1")
        assert vault.get_secret(WALLET, "key-share") == b"share"

    def test_deleting_a_missing_secret_is_a_no_op(self, vault: ShareVault) -> None:
        vault.delete_secret(WALLET, "dkg-round1")
        vault.put_secret(WALLET, "dkg-round1", b"x")
        vault.delete_secret(WALLET, "dkg-round1")
        vault.delete_secret(WALLET, "dkg-round1")
        assert not vault.has_secret(WALLET, "dkg-round1")

    def test_a_deleted_name_can_be_stored_again(self, vault: ShareVault) -> None:
        vault.put_secret(WALLET, "dkg-round1", b"first attempt")
        vault.delete_secret(WALLET, "dkg-round1")
        vault.put_secret(WALLET, "dkg-round1", b"second attempt")
        assert vault.get_secret(WALLET, "dkg-round1") == b"second attempt"

    @pytest.mark.parametrize(
        ("wallet_id", "name", "secret"),
        [
            ("", "key-share", b"s"),
            (WALLET, "", b"s"),
            (WALLET, "x" * (MAX_IDENTIFIER_SIZE + 1), b"s"),
            (WALLET, "\ud800", b"s"),
            (7, "key-share", b"s"),
            (WALLET, "key-share", b""),
            (WALLET, "key-share", "not bytes"),
            (WALLET, "key-share", bytearray(b"s")),
        ],
    )
    def test_bad_input_is_refused_and_changes_nothing(
        self, vault: ShareVault, wallet_id: object, name: object, secret: object
    ) -> None:
        with pytest.raises(InvalidVaultInput):
            vault.put_secret(wallet_id, name, secret)  # type: ignore[arg-type]
        assert not vault.has_secret(WALLET, "key-share")

    def test_bad_identifiers_are_refused_by_every_method(self, vault: ShareVault) -> None:
        with pytest.raises(InvalidVaultInput):
            vault.get_secret("", "key-share")
        with pytest.raises(InvalidVaultInput):
            vault.has_secret(WALLET, "")
        with pytest.raises(InvalidVaultInput):
            vault.delete_secret(WALLET, "")
        with pytest.raises(InvalidVaultInput):
            vault.store_nonces(WALLET, "", b"n", b"c")
        with pytest.raises(InvalidVaultInput):
            vault.consume_nonces(WALLET, "", DIGEST, unexpected_compute)
        with pytest.raises(InvalidVaultInput):
            vault.consume_nonces(WALLET, CEREMONY, b"", unexpected_compute)
        with pytest.raises(InvalidVaultInput):
            vault.nonce_state("", CEREMONY)

    # -- nonces ----------------------------------------------------------------------------

    def test_nonce_flow(self, vault: ShareVault) -> None:
        nonces, commitments = os.urandom(64), os.urandom(66)
        assert vault.nonce_state(WALLET, CEREMONY) is None
        assert vault.store_nonces(WALLET, CEREMONY, nonces, commitments) == commitments
        assert vault.nonce_state(WALLET, CEREMONY) == "fresh"

        compute = CountingCompute()
        output = vault.consume_nonces(WALLET, CEREMONY, DIGEST, compute)
        assert compute.calls == [nonces]
        assert vault.nonce_state(WALLET, CEREMONY) == "consumed"

        # A retried round 2 with the same request gets the identical share, without a second
        # use of the nonces.
        assert vault.consume_nonces(WALLET, CEREMONY, DIGEST, unexpected_compute) == output
        assert vault.consume_nonces(WALLET, CEREMONY, DIGEST, compute) == output
        assert len(compute.calls) == 1

        # Any other request is refused: a second signature with the same nonces would leak the
        # signing share.
        with pytest.raises(NonceAlreadyConsumed):
            vault.consume_nonces(WALLET, CEREMONY, OTHER_DIGEST, unexpected_compute)
        assert vault.nonce_state(WALLET, CEREMONY) == "consumed"
        assert vault.consume_nonces(WALLET, CEREMONY, DIGEST, unexpected_compute) == output

    def test_store_nonces_is_idempotent(self, vault: ShareVault) -> None:
        first_nonces, first_commitments = os.urandom(64), os.urandom(66)
        vault.store_nonces(WALLET, CEREMONY, first_nonces, first_commitments)
        # A retried round 1 generated new nonces; the vault keeps the first and hands back
        # the commitments already published.
        returned = vault.store_nonces(WALLET, CEREMONY, os.urandom(64), os.urandom(66))
        assert returned == first_commitments
        compute = CountingCompute()
        vault.consume_nonces(WALLET, CEREMONY, DIGEST, compute)
        assert compute.calls == [first_nonces]

    def test_store_nonces_after_consumption_stores_nothing(self, vault: ShareVault) -> None:
        commitments = os.urandom(66)
        vault.store_nonces(WALLET, CEREMONY, os.urandom(64), commitments)
        output = vault.consume_nonces(WALLET, CEREMONY, DIGEST, CountingCompute())
        assert vault.store_nonces(WALLET, CEREMONY, os.urandom(64), os.urandom(66)) == commitments
        assert vault.nonce_state(WALLET, CEREMONY) == "consumed"
        assert vault.consume_nonces(WALLET, CEREMONY, DIGEST, unexpected_compute) == output

    def test_compute_raising_leaves_the_nonces_fresh(self, vault: ShareVault) -> None:
        nonces = os.urandom(64)
        vault.store_nonces(WALLET, CEREMONY, nonces, os.urandom(66))
        with pytest.raises(ComputeError):
            vault.consume_nonces(WALLET, CEREMONY, DIGEST, failing_compute)
        assert vault.nonce_state(WALLET, CEREMONY) == "fresh"
        # Nothing was recorded for the failed request, so even another request may use them.
        compute = CountingCompute()
        vault.consume_nonces(WALLET, CEREMONY, OTHER_DIGEST, compute)
        assert compute.calls == [nonces]

    def test_compute_returning_no_bytes_leaves_the_nonces_fresh(self, vault: ShareVault) -> None:
        vault.store_nonces(WALLET, CEREMONY, os.urandom(64), os.urandom(66))

        def bad(nonces: bytes) -> Any:
            return "text"

        with pytest.raises(InvalidVaultInput):
            vault.consume_nonces(WALLET, CEREMONY, DIGEST, bad)
        assert vault.nonce_state(WALLET, CEREMONY) == "fresh"

    def test_compute_may_not_call_the_vault(self, vault: ShareVault) -> None:
        vault.store_nonces(WALLET, CEREMONY, os.urandom(64), os.urandom(66))

        def reentrant(nonces: bytes) -> bytes:
            vault.nonce_state(WALLET, CEREMONY)
            return b"share"

        with pytest.raises(VaultError, match="inside compute"):
            vault.consume_nonces(WALLET, CEREMONY, DIGEST, reentrant)
        assert vault.nonce_state(WALLET, CEREMONY) == "fresh"

    def test_consuming_unknown_nonces_raises(self, vault: ShareVault) -> None:
        with pytest.raises(NoncesNotFound):
            vault.consume_nonces(WALLET, CEREMONY, DIGEST, unexpected_compute)
        assert vault.nonce_state(WALLET, CEREMONY) is None

    def test_nonces_are_keyed_by_wallet_and_ceremony(self, vault: ShareVault) -> None:
        vault.store_nonces(WALLET, CEREMONY, b"w1/c1", b"C-w1/c1")
        vault.store_nonces(WALLET, "sign-0002", b"w1/c2", b"C-w1/c2")
        vault.store_nonces(OTHER_WALLET, CEREMONY, b"w2/c1", b"C-w2/c1")
        compute = CountingCompute()
        vault.consume_nonces(WALLET, CEREMONY, DIGEST, compute)
        assert compute.calls == [b"w1/c1"]
        assert vault.nonce_state(WALLET, "sign-0002") == "fresh"
        assert vault.nonce_state(OTHER_WALLET, CEREMONY) == "fresh"
        vault.consume_nonces(OTHER_WALLET, CEREMONY, OTHER_DIGEST, compute)
        assert compute.calls == [b"w1/c1", b"w2/c1"]

    def test_nonces_and_secrets_do_not_share_names(self, vault: ShareVault) -> None:
        vault.put_secret(WALLET, CEREMONY, b"secret")
        assert vault.nonce_state(WALLET, CEREMONY) is None
        vault.store_nonces(WALLET, CEREMONY, b"nonces", b"commitments")
        assert vault.get_secret(WALLET, CEREMONY) == b"secret"

    # -- lifecycle and hygiene -------------------------------------------------------------

    def test_a_closed_vault_refuses_every_call(self, tmp_path: Path) -> None:
        vault = self.open_vault(tmp_path, "us-1")
        vault.put_secret(WALLET, "key-share", b"share")
        vault.close()
        vault.close()
        with pytest.raises(VaultClosed):
            vault.get_secret(WALLET, "key-share")
        with pytest.raises(VaultClosed):
            vault.put_secret(WALLET, "other", b"x")
        with pytest.raises(VaultClosed):
            vault.nonce_state(WALLET, CEREMONY)

    def test_a_vault_is_a_context_manager(self, tmp_path: Path) -> None:
        with self.open_vault(tmp_path, "us-1") as vault:
            vault.put_secret(WALLET, "key-share", b"share")
        with pytest.raises(VaultClosed):
            vault.has_secret(WALLET, "key-share")

    def test_repr_shows_no_secret(self, vault: ShareVault) -> None:
        secret, nonces = os.urandom(32), os.urandom(32)
        vault.put_secret(WALLET, "key-share", secret)
        vault.store_nonces(WALLET, CEREMONY, nonces, b"commitments")
        text = repr(vault) + str(vault)
        assert "us-1" in text
        for value in (secret, nonces):
            assert value.hex() not in text
            assert repr(value) not in text

    def test_every_error_is_a_vault_error(self, vault: ShareVault) -> None:
        for error in (SecretNotFound, NoncesNotFound, InvalidVaultInput):
            assert issubclass(error, VaultError)
        with pytest.raises(VaultError):
            vault.get_secret(WALLET, "missing")
