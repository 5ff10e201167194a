"""BIP340 verification vectors (19 rows) and BIP341 key-path tweak vectors.

Our BIP340 verifier and libsecp256k1's (coincurve) must both agree with every row.
"""

from __future__ import annotations

from typing import Any

import pytest
from coincurve import PrivateKey, PublicKeyXOnly

from mpc.errors import InvalidSignature
from mpc.frost import FROST_SECP256K1_TR
from mpc.frost.secp256k1_tr import bip340_verify
from mpc.frost.taproot import (
    TapLeaf,
    TapTree,
    merkle_root,
    output_key_x_only,
    tap_tweak,
    tapleaf_hash,
)
from mpc.group import SECP256K1
from tests.helpers.vectors import load_csv, load_json

BIP340_ROWS = load_csv("bip340-test-vectors.csv")
BIP341 = load_json("bip341-wallet-test-vectors.json")


def test_all_bip340_rows_present() -> None:
    assert len(BIP340_ROWS) == 19


@pytest.mark.parametrize("row", BIP340_ROWS, ids=[r["index"] for r in BIP340_ROWS])
def test_bip340_verify_matches_vector(row: dict[str, str]) -> None:
    public_key = bytes.fromhex(row["public key"])
    message = bytes.fromhex(row["message"])
    signature = bytes.fromhex(row["signature"])
    expected = row["verification result"] == "TRUE"
    if expected:
        bip340_verify(public_key, message, signature)
        FROST_SECP256K1_TR.verify_bytes(message, signature, public_key)
    else:
        with pytest.raises(InvalidSignature):
            bip340_verify(public_key, message, signature)


@pytest.mark.parametrize("row", BIP340_ROWS, ids=[r["index"] for r in BIP340_ROWS])
def test_libsecp256k1_agrees_with_vector(row: dict[str, str]) -> None:
    public_key = bytes.fromhex(row["public key"])
    message = bytes.fromhex(row["message"])
    signature = bytes.fromhex(row["signature"])
    try:
        accepted = PublicKeyXOnly(public_key).verify(signature, message)
    except ValueError:
        accepted = False  # libsecp256k1 refuses to parse a key that is not on the curve
    assert accepted is (row["verification result"] == "TRUE")
    # coincurve signs 32-byte messages only; rows 15-18 (other lengths) check verification.
    if row["secret key"] and len(message) == 32:
        secret = PrivateKey(bytes.fromhex(row["secret key"]))
        assert secret.public_key_xonly.format() == public_key
        aux = bytes.fromhex(row["aux_rand"])
        assert secret.sign_schnorr(message, aux) == signature


def _tree(node: Any) -> TapTree:
    if isinstance(node, list):
        assert len(node) == 2
        return (_tree(node[0]), _tree(node[1]))
    return TapLeaf(bytes.fromhex(node["script"]), node["leafVersion"])


def _leaves(node: Any) -> list[TapLeaf]:
    if node is None:
        return []
    if isinstance(node, list):
        return [leaf for child in node for leaf in _leaves(child)]
    return [TapLeaf(bytes.fromhex(node["script"]), node["leafVersion"])]


@pytest.mark.parametrize(
    "case", BIP341["scriptPubKey"], ids=lambda c: str(c["given"]["scriptTree"])[:30]
)
def test_bip341_script_pubkey(case: dict[str, Any]) -> None:
    given, intermediary, expected = case["given"], case["intermediary"], case["expected"]
    internal = SECP256K1.lift_x(bytes.fromhex(given["internalPubkey"]))
    tree = given["scriptTree"]
    root = merkle_root(_tree(tree)) if tree is not None else None
    assert (root.hex() if root else None) == intermediary["merkleRoot"]
    if tree is not None:
        assert [tapleaf_hash(leaf).hex() for leaf in _leaves(tree)] == intermediary["leafHashes"]
    assert tap_tweak(internal, root).to_bytes().hex() == intermediary["tweak"]
    output = output_key_x_only(internal, root)
    assert output.hex() == intermediary["tweakedPubkey"]
    assert ("5120" + output.hex()) == expected["scriptPubKey"]


@pytest.mark.parametrize(
    "case",
    BIP341["keyPathSpending"][0]["inputSpending"],
    ids=lambda c: f"input{c['given']['txinIndex']}",
)
def test_bip341_key_path_tweak(case: dict[str, Any]) -> None:
    given, intermediary, expected = case["given"], case["intermediary"], case["expected"]
    secret = SECP256K1.deserialize_scalar(bytes.fromhex(given["internalPrivkey"]))
    internal = SECP256K1.base_mul(secret)
    assert internal.x_only().hex() == intermediary["internalPubkey"]
    root = bytes.fromhex(given["merkleRoot"]) if given["merkleRoot"] else None
    t = tap_tweak(internal, root)
    assert t.to_bytes().hex() == intermediary["tweak"]
    # BIP341 taproot_tweak_seckey: negate the secret if P has odd y, then add t.
    even_secret = secret if internal.has_even_y() else -secret
    assert (even_secret + t).to_bytes().hex() == intermediary["tweakedPrivkey"]
    # The vector's witness signature verifies, by BIP340, under our output key.
    output = output_key_x_only(internal, root)
    signature = bytes.fromhex(expected["witness"][0])[:64]
    sighash = bytes.fromhex(intermediary["sigHash"])
    bip340_verify(output, sighash, signature)
    assert PublicKeyXOnly(output).verify(signature, sighash)
