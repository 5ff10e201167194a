"""BIP341 taproot output keys and the TapTweak applied to FROST key shares.

A taproot output key is ``Q = P + t*G`` with ``P`` the internal key lifted to even Y and
``t = hash_TapTweak(bytes(P) || merkle_root)`` (BIP341, ``taproot_tweak_pubkey``); for a
key-path-only output the merkle root is empty (BIP86). Because Lagrange coefficients over
any signer set sum to one, adding ``t`` to every signing share (and ``t*G`` to every
verifying share) makes the threshold key's output key ``Q`` signable by the same parties:
this is ZcashFoundation/frost-secp256k1-tr's ``Tweak`` for key and public key packages.
"""

from __future__ import annotations

from dataclasses import dataclass

from mpc.frost.errors import CiphersuiteMismatch, InvalidParameters
from mpc.frost.hashing import tagged_hash
from mpc.frost.keys import KeyShare, PublicKeyPackage
from mpc.frost.secp256k1_tr import FROST_SECP256K1_TR
from mpc.group import SECP256K1, Element, Scalar, Secp256k1Element

TAPSCRIPT_LEAF_VERSION = 0xC0


@dataclass(frozen=True, slots=True)
class TapLeaf:
    """A script leaf of a taproot script tree (BIP341)."""

    script: bytes
    leaf_version: int = TAPSCRIPT_LEAF_VERSION


TapTree = TapLeaf | tuple["TapTree", "TapTree"]


def _compact_size(n: int) -> bytes:
    if n < 0xFD:
        return bytes([n])
    if n <= 0xFFFF:
        return b"\xfd" + n.to_bytes(2, "little")
    if n <= 0xFFFFFFFF:
        return b"\xfe" + n.to_bytes(4, "little")
    return b"\xff" + n.to_bytes(8, "little")


def tapleaf_hash(leaf: TapLeaf) -> bytes:
    """BIP341 ``hash_TapLeaf(leaf_version || compact_size(len(script)) || script)``."""
    return tagged_hash(
        "TapLeaf", bytes([leaf.leaf_version & 0xFE]) + _compact_size(len(leaf.script)) + leaf.script
    )


def tapbranch_hash(left: bytes, right: bytes) -> bytes:
    """BIP341 ``hash_TapBranch``: the two child hashes in lexicographic order."""
    if right < left:
        left, right = right, left
    return tagged_hash("TapBranch", left + right)


def merkle_root(tree: TapTree) -> bytes:
    """BIP341 ``taproot_tree_helper``'s root hash of a script tree."""
    if isinstance(tree, TapLeaf):
        return tapleaf_hash(tree)
    left, right = tree
    return tapbranch_hash(merkle_root(left), merkle_root(right))


def _as_secp(element: Element) -> Secp256k1Element:
    if not isinstance(element, Secp256k1Element):
        raise TypeError("taproot keys are secp256k1 elements")
    return element


def _merkle_root_bytes(root: bytes | None) -> bytes:
    # BIP341: with no script path, h is empty (BIP86's key-path-only output).
    if root is None:
        return b""
    if len(root) != 32:
        raise InvalidParameters("a taproot merkle root is 32 bytes")
    return root


def tap_tweak(internal_key: Element, root: bytes | None = None) -> Scalar:
    """BIP341 ``t = int(hash_TapTweak(bytes(P) || h))``; fails if ``t >= n``."""
    digest = tagged_hash("TapTweak", _as_secp(internal_key).x_only() + _merkle_root_bytes(root))
    t = int.from_bytes(digest, "big")
    if t >= SECP256K1.order:
        raise InvalidParameters("TapTweak is not below the group order")
    return SECP256K1.scalar(t)


def even_y(element: Element) -> Secp256k1Element:
    """BIP340 ``lift_x(x(P))``: the point with P's x coordinate and even Y."""
    point = _as_secp(element)
    return point if point.has_even_y() else -point


def output_key(internal_key: Element, root: bytes | None = None) -> Secp256k1Element:
    """BIP341 ``taproot_tweak_pubkey``: ``Q = lift_x(P) + t*G`` (full point, parity kept)."""
    P = even_y(internal_key)
    Q = P + SECP256K1.base_mul(tap_tweak(P, root))
    if Q.is_identity():
        raise InvalidParameters("the tweaked key is the point at infinity")
    return Q


def output_key_x_only(internal_key: Element, root: bytes | None = None) -> bytes:
    """The 32-byte witness program of a P2TR output for ``internal_key``."""
    return output_key(internal_key, root).x_only()


def _require_taproot(ciphersuite: object) -> None:
    if ciphersuite is not FROST_SECP256K1_TR:
        raise CiphersuiteMismatch("the TapTweak applies to FROST(secp256k1, SHA-256)-TR keys")


def tweak_key_share(key_share: KeyShare, root: bytes | None = None) -> KeyShare:
    """The key share for the taproot output key of ``key_share``'s group key."""
    _require_taproot(key_share.ciphersuite)
    even = key_share if _as_secp(key_share.verifying_key).has_even_y() else key_share.negated()
    t = tap_tweak(even.verifying_key, root)
    t_point = SECP256K1.base_mul(t)
    return KeyShare(
        even.ciphersuite,
        even.identifier,
        even.signing_share + t,
        even.verifying_share + t_point,
        even.verifying_key + t_point,
        even.min_signers,
    )


def tweak_public_key_package(
    public_key_package: PublicKeyPackage, root: bytes | None = None
) -> PublicKeyPackage:
    """The public key package for the taproot output key of ``public_key_package``."""
    _require_taproot(public_key_package.ciphersuite)
    even = (
        public_key_package
        if _as_secp(public_key_package.verifying_key).has_even_y()
        else public_key_package.negated()
    )
    t_point = SECP256K1.base_mul(tap_tweak(even.verifying_key, root))
    return PublicKeyPackage(
        even.ciphersuite,
        {i: share + t_point for i, share in even.verifying_shares.items()},
        even.verifying_key + t_point,
        even.min_signers,
    )
