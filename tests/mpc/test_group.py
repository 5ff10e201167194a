"""The group layer: canonical encodings only, and the group laws, for both curves."""

from __future__ import annotations

import pytest
from coincurve import PublicKey
from hypothesis import given, settings
from hypothesis import strategies as st
from nacl import bindings as sodium

from mpc.group import (
    ED25519,
    SECP256K1,
    Group,
    GroupError,
    InvalidIdentityElement,
    MalformedElement,
    MalformedScalar,
    ZeroScalar,
)
from mpc.group.ed25519 import FIELD_PRIME as ED_P
from mpc.group.secp256k1 import FIELD_PRIME as SECP_P

GROUPS = [SECP256K1, ED25519]
scalars = st.integers(min_value=0, max_value=2**256)

# Every small-order point of edwards25519 (libsodium's list of encodings it refuses),
# the identity among them.
ED25519_SMALL_ORDER = [
    "0100000000000000000000000000000000000000000000000000000000000000",
    "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    "0000000000000000000000000000000000000000000000000000000000000000",
    "0000000000000000000000000000000000000000000000000000000000000080",
    "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a",
    "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa",
    "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05",
    "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85",
]


@pytest.mark.parametrize("group", GROUPS, ids=lambda g: g.name)
@settings(max_examples=40, deadline=None)
@given(a=scalars, b=scalars)
def test_group_laws(group: Group, a: int, b: int) -> None:
    sa, sb = group.scalar(a), group.scalar(b)
    g = group.generator()
    assert group.base_mul(sa) + group.base_mul(sb) == group.base_mul(sa + sb)
    assert g * sa * sb == group.base_mul(sa * sb)
    assert group.base_mul(sa) - group.base_mul(sb) == group.base_mul(sa - sb)
    assert -group.base_mul(sa) == group.base_mul(-sa)
    assert group.base_mul(sa) + group.identity() == group.base_mul(sa)
    assert (group.base_mul(sa) - group.base_mul(sa)).is_identity()
    if not sa.is_zero():
        assert sa * sa.invert() == group.scalar(1)
        encoded = group.base_mul(sa).to_bytes()
        assert group.deserialize_element(encoded) == group.base_mul(sa)
    assert group.deserialize_scalar(sa.to_bytes()) == sa


@pytest.mark.parametrize("group", GROUPS, ids=lambda g: g.name)
def test_identity_is_never_serialized(group: Group) -> None:
    with pytest.raises(InvalidIdentityElement):
        group.identity().to_bytes()
    with pytest.raises(ZeroScalar):
        group.scalar(0).invert()


@pytest.mark.parametrize("group", GROUPS, ids=lambda g: g.name)
def test_non_canonical_scalars_are_refused(group: Group) -> None:
    for value in (group.order, group.order + 1, 2**256 - 1):
        data = value.to_bytes(32, "big" if group is SECP256K1 else "little")
        with pytest.raises(MalformedScalar):
            group.deserialize_scalar(data)
    for length in (0, 31, 33, 64):
        with pytest.raises(MalformedScalar):
            group.deserialize_scalar(bytes(length))
    top = (group.order - 1).to_bytes(32, "big" if group is SECP256K1 else "little")
    assert group.deserialize_scalar(top).value == group.order - 1


def test_secp256k1_refuses_bad_encodings() -> None:
    g = SECP256K1.generator().to_bytes()
    # Uncompressed, hybrid and unknown prefixes; wrong lengths.
    uncompressed = PublicKey(g).format(compressed=False)
    for data in (
        uncompressed,
        b"\x06" + uncompressed[1:],
        b"\x05" + g[1:],
        g[:-1],
        g + b"\x00",
        b"",
    ):
        with pytest.raises(MalformedElement):
            SECP256K1.deserialize_element(data)
    # x >= p is not a canonical field element, even where x - p would be on the curve.
    for x in (SECP_P, SECP_P + 1, 2**256 - 1):
        with pytest.raises(MalformedElement):
            SECP256K1.deserialize_element(b"\x02" + x.to_bytes(32, "big"))
    # An x with no point on the curve (x^3 + 7 is not a square modulo p).
    off_curve = next(
        x for x in range(1, 100) if pow(x**3 + 7, (SECP_P - 1) // 2, SECP_P) == SECP_P - 1
    )
    with pytest.raises(MalformedElement):
        SECP256K1.deserialize_element(b"\x02" + off_curve.to_bytes(32, "big"))


@pytest.mark.parametrize("encoding", ED25519_SMALL_ORDER)
def test_ed25519_refuses_small_order_points(encoding: str) -> None:
    with pytest.raises(GroupError):
        ED25519.deserialize_element(bytes.fromhex(encoding))


def test_ed25519_refuses_mixed_order_and_non_canonical_points() -> None:
    g = ED25519.generator().to_bytes()
    order_two = bytes.fromhex(ED25519_SMALL_ORDER[1])
    mixed = sodium.crypto_core_ed25519_add(g, order_two)  # G + T: on the curve, not in <G>
    with pytest.raises(MalformedElement):
        ED25519.deserialize_element(mixed)
    # y >= p: a non-canonical encoding of y - p.
    for y in (ED_P, ED_P + 1):
        with pytest.raises(MalformedElement):
            ED25519.deserialize_element(y.to_bytes(32, "little"))
    # A y with no x on the curve.
    with pytest.raises(MalformedElement):
        ED25519.deserialize_element((2).to_bytes(32, "little"))
    for data in (g[:-1], g + b"\x00"):
        with pytest.raises(MalformedElement):
            ED25519.deserialize_element(data)
    assert ED25519.deserialize_element(g) == ED25519.generator()


def test_scalars_do_not_print_their_value() -> None:
    secret = SECP256K1.scalar(0x1234567890ABCDEF)
    assert "1234567890" not in repr(secret)
    assert "redacted" in repr(secret)
