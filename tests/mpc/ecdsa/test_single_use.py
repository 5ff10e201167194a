"""A presignature signs once, below the vault: ``sign_share`` consumes it in this process.

A second signature with the same (k_i, χ_i) reveals k_i and then χ_i, and with every
signer's, the key; so a second call raises :class:`PresignatureReuse` whether it is the
same object, a codec round trip or any other copy. The χ identification still runs on a
consumed presignature (see ``test_identify``).
"""

from __future__ import annotations

import dataclasses
import hashlib

import pytest

from mpc.ecdsa import codec
from mpc.ecdsa.errors import InvalidParameters, InvalidSignature, PresignatureReuse
from mpc.ecdsa.presign import Presignature
from mpc.ecdsa.sign import sign_share
from mpc.ecdsa.signature import digest_scalar
from mpc.group import SECP256K1
from tests.mpc.ecdsa.presign_helpers import run_presign, setup_2_of_5

SIGNERS = ("us-2", "eu-2")


@pytest.fixture(scope="module")
def presignatures() -> dict[str, Presignature]:
    return run_presign(SIGNERS, b"single-use", key=setup_2_of_5())


def _digest(text: str) -> bytes:
    return hashlib.sha256(text.encode()).digest()


def test_second_use_of_the_same_object_is_refused(
    presignatures: dict[str, Presignature],
) -> None:
    presignature = presignatures["us-2"]
    sign_share(presignature, _digest("first"))
    for digest in (_digest("second"), _digest("first")):
        with pytest.raises(PresignatureReuse):
            sign_share(presignature, digest)


def test_copies_are_refused_too(presignatures: dict[str, Presignature]) -> None:
    presignature = presignatures["eu-2"]
    exported = codec.encode(presignature)  # what the vault keeps
    sign_share(codec.decode(exported, Presignature), _digest("once"))
    for copy in (
        presignature,
        codec.decode(exported, Presignature),
        dataclasses.replace(presignature),
        # Another R (and transcript) with the same secret still reuses k_i and χ_i.
        dataclasses.replace(presignature, R=presignature.R + SECP256K1.generator()),
        dataclasses.replace(presignature, transcript_digest="00" * 32),
    ):
        with pytest.raises(PresignatureReuse):
            sign_share(copy, _digest("again"))


def test_a_refused_call_does_not_consume() -> None:
    fresh = run_presign(SIGNERS, b"single-use/refused", key=setup_2_of_5())["us-2"]
    with pytest.raises(InvalidSignature):
        sign_share(fresh, b"too short")
    with pytest.raises(InvalidParameters):
        sign_share(dataclasses.replace(fresh, chi=fresh.chi + SECP256K1.order), _digest("m"))
    share = sign_share(fresh, _digest("m"))
    m = digest_scalar(_digest("m"))
    r = int.from_bytes(fresh.R.x_only(), "big") % SECP256K1.order
    assert share.sigma == (fresh.k * m + r * fresh.chi) % SECP256K1.order
