"""Idempotency keys the client refuses before anything reaches Temporal."""

from __future__ import annotations

import pytest

from quorate.client import MAX_KEY_LENGTH, CeremonyFailed, _check_key
from runtime.names import RESERVED_ID_PREFIX


@pytest.mark.parametrize(
    "key",
    [
        "",
        "k" * (MAX_KEY_LENGTH + 1),
        f"{RESERVED_ID_PREFIX}lock:solana:w",
        "tr-\x1b[31m",
        "tr-b\n",
        "tr\u202eb",  # a right-to-left override: shows one key, is another
    ],
)
def test_a_bad_idempotency_key_is_refused_typed(key: str) -> None:
    with pytest.raises(CeremonyFailed) as caught:
        _check_key(key)
    assert caught.value.kind == "InvalidIdempotencyKey"


@pytest.mark.parametrize("key", ["tr-b", "k" * MAX_KEY_LENGTH, "zahlung-ü-1", "a b"])
def test_a_good_idempotency_key_passes(key: str) -> None:
    _check_key(key)
