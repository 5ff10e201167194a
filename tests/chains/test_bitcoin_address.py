"""Bech32/bech32m and address handling, against the BIP173, BIP350 and BIP341 vectors."""

from __future__ import annotations

import pytest

from chains.bitcoin.address import (
    Encoding,
    base58check_encode,
    bech32_decode,
    decode_segwit,
    encode_segwit,
    parse_address,
    segwit_script,
    wallet_address,
)
from chains.bitcoin.network import NETWORKS, dust_limit
from chains.errors import InvalidAddress, WrongNetwork
from tests.helpers.vectors import load_json

# BIP350, "Test vectors for Bech32m": valid bech32m strings; BIP173's valid bech32 strings.
VALID_BECH32M = (
    "A1LQFN3A",
    "a1lqfn3a",
    "an83characterlonghumanreadablepartthatcontainsthetheexcludedcharactersbioandnumber11sg7hg6",
    "abcdef1l7aum6echk45nj3s0wdvt2fg8x9yrzpqzd3ryx",
    "11llllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllludsr8",
    "split1checkupstagehandshakeupstreamerranterredcaperredlc445v",
    "?1v759aa",
)
VALID_BECH32 = (
    "A12UEL5L",
    "a12uel5l",
    "an83characterlonghumanreadablepartthatcontainsthenumber1andtheexcludedcharactersbio1tt5tgs",
    "abcdef1qpzry9x8gf2tvdw0s3jn54khce6mua7lmqqqxw",
    "11qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqc8247j",
    "split1checkupstagehandshakeupstreamerranterredcaperred2y9e3w",
    "?1ezyfcl",
)
# BIP350's invalid bech32m strings (and BIP173's invalid bech32 strings), reasons as given.
INVALID_STRINGS = (
    "\x201xj0phk",  # HRP character out of range
    "\x7f1g6xzxy",  # HRP character out of range
    "\x801vctc34",  # HRP character out of range
    "an84characterslonghumanreadablepartthatcontainsthetheexcludedcharactersbioandnumber11d6pts4",
    "qyrz8wqd2c9m",  # no separator
    "1qyrz8wqd2c9m",  # empty HRP
    "y1b0jsk6g",  # invalid data character
    "lt1igcx5c0",  # invalid data character
    "in1muywd",  # too short checksum
    "mm1crxm3i",  # invalid character in checksum
    "au1s5cgom",  # invalid character in checksum
    "M1VUXWEZ",  # checksum calculated with uppercase form of HRP
    "16plkw9",  # empty HRP
    "1p2gdwpf",  # empty HRP
    "pzry9x0s0muk",  # BIP173: no separator
    "x1b4n0q5v",  # BIP173: invalid data character
    "li1dgmt3",  # BIP173: too short checksum
    "A1G7SGD8",  # BIP173: checksum calculated with uppercase form of HRP
)
# BIP350, "Test vectors for v0-v16 native segregated witness addresses".
VALID_SEGWIT = (
    ("BC1QW508D6QEJXTDG4Y5R3ZARVARY0C5XW7KV8F3T4", "0014751e76e8199196d454941c45d1b3a323f1433bd6"),
    (
        "tb1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3q0sl5k7",
        "00201863143c14c5166804bd19203356da136c985678cd4d27a1b8c6329604903262",
    ),
    (
        "bc1pw508d6qejxtdg4y5r3zarvary0c5xw7kw508d6qejxtdg4y5r3zarvary0c5xw7kt5nd6y",
        "5128751e76e8199196d454941c45d1b3a323f1433bd6751e76e8199196d454941c45d1b3a323f1433bd6",
    ),
    ("BC1SW50QGDZ25J", "6002751e"),
    ("bc1zw508d6qejxtdg4y5r3zarvaryvaxxpcs", "5210751e76e8199196d454941c45d1b3a323"),
    (
        "tb1qqqqqp399et2xygdj5xreqhjjvcmzhxw4aywxecjdzew6hylgvsesrxh6hy",
        "0020000000c4a5cad46221b2a187905e5266362b99d5e91c6ce24d165dab93e86433",
    ),
    (
        "tb1pqqqqp399et2xygdj5xreqhjjvcmzhxw4aywxecjdzew6hylgvsesf3hn0c",
        "5120000000c4a5cad46221b2a187905e5266362b99d5e91c6ce24d165dab93e86433",
    ),
    (
        "bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqzk5jj0",
        "512079be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798",
    ),
)
# BIP350's invalid segwit addresses, then BIP173's (whose v1+ bech32 examples BIP350 voids).
INVALID_SEGWIT = (
    "tc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vq5zuyut",  # invalid HRP
    "bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqh2y7hd",  # bech32 for v1
    "tb1z0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqglt7rf",  # bech32 for v2
    "BC1S0XLXVLHEMJA6C4DQV22UAPCTQUPFHLXM9H8Z3K2E72Q4K9HCZ7VQ54WELL",  # bech32 for v16
    "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kemeawh",  # bech32m for v0
    "tb1q0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vq24jc47",  # bech32m for v0
    "bc1p38j9r5y49hruaue7wxjce0updqjuyyx0kh56v8s25huc6995vvpql3jow4",  # bad checksum char
    "BC130XLXVLHEMJA6C4DQV22UAPCTQUPFHLXM9H8Z3K2E72Q4K9HCZ7VQ7ZWS8R",  # witness version 17
    "bc1pw5dgrnzv",  # 1-byte program
    "bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7v8n0nx0muaewav253zgeav",  # 41 bytes
    "BC1QR508D6QEJXTDG4Y5R3ZARVARYV98GJ9P",  # v0 program of 16 bytes
    "tb1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vq47Zagq",  # mixed case
    "bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7v07qwwzcrf",  # padding > 4 bits
    "tb1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vpggkg4j",  # non-zero padding
    "bc1gmk9yu",  # empty data section
    "tc1qw508d6qejxtdg4y5r3zarvary0c5xw7kg3g4ty",  # BIP173: invalid HRP
    "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t5",  # BIP173: invalid checksum
    "BC13W508D6QEJXTDG4Y5R3ZARVARY0C5XW7KN40WF2",  # BIP173: invalid witness version
    "bc1rw5uspcuh",  # BIP173: invalid program length
    "tb1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3q0sL5k7",  # BIP173: mixed case
    "bc1zw508d6qejxtdg4y5r3zarvaryvqyzf3du",  # BIP173: zero padding of more than 4 bits
    "tb1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3pjxtptv",  # BIP173: non-zero pad
)


@pytest.mark.parametrize("text", VALID_BECH32M)
def test_valid_bech32m(text: str) -> None:
    assert bech32_decode(text)[2] is Encoding.BECH32M


@pytest.mark.parametrize("text", VALID_BECH32)
def test_valid_bech32(text: str) -> None:
    assert bech32_decode(text)[2] is Encoding.BECH32


@pytest.mark.parametrize("text", INVALID_STRINGS)
def test_invalid_bech32_strings(text: str) -> None:
    with pytest.raises(InvalidAddress):
        bech32_decode(text)


@pytest.mark.parametrize(("address", "script"), VALID_SEGWIT)
def test_valid_segwit_addresses(address: str, script: str) -> None:
    hrp = address.lower().split("1")[0]
    version, program = decode_segwit(hrp, address)
    assert segwit_script(version, program).hex() == script
    assert encode_segwit(hrp, version, program) == address.lower()


@pytest.mark.parametrize("address", INVALID_SEGWIT)
def test_invalid_segwit_addresses(address: str) -> None:
    for hrp in ("bc", "tb"):
        with pytest.raises(InvalidAddress):
            decode_segwit(hrp, address)


@pytest.mark.parametrize("case", load_json("bip341-wallet-test-vectors.json")["scriptPubKey"])
def test_bip341_script_pubkey_addresses(case: dict[str, object]) -> None:
    expected = case["expected"]
    assert isinstance(expected, dict)
    found = parse_address(NETWORKS["mainnet"], expected["bip350Address"])
    assert found.script_pubkey.hex() == expected["scriptPubKey"]
    given = case["given"]
    assert isinstance(given, dict)
    if given["scriptTree"] is None:  # BIP86 key path only: our wallet address
        key = bytes.fromhex("02" + given["internalPubkey"])
        assert wallet_address(NETWORKS["mainnet"], "p2tr", key) == expected["bip350Address"]


def test_other_networks_are_wrong_network() -> None:
    regtest = NETWORKS["regtest"]
    mainnet = "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4"
    for address in (mainnet, "tb1qw508d6qejxtdg4y5r3zarvary0c5xw7kxpjzsx"):
        with pytest.raises(WrongNetwork):
            parse_address(regtest, address)
    assert parse_address(NETWORKS["mainnet"], mainnet.upper()).address == mainnet
    litecoin = encode_segwit("rltc", 0, bytes(20))
    with pytest.raises(WrongNetwork):
        parse_address(regtest, litecoin)
    assert parse_address(NETWORKS["litecoin-regtest"], litecoin).address == litecoin


def test_base58_recipients() -> None:
    key_hash = bytes(range(20))
    p2pkh = base58check_encode(b"\x6f" + key_hash)
    p2sh = base58check_encode(b"\xc4" + key_hash)
    regtest = NETWORKS["regtest"]
    assert parse_address(regtest, p2pkh).script_pubkey == b"\x76\xa9\x14" + key_hash + b"\x88\xac"
    assert parse_address(regtest, p2sh).script_pubkey == b"\xa9\x14" + key_hash + b"\x87"
    with pytest.raises(WrongNetwork):
        parse_address(regtest, base58check_encode(b"\x00" + key_hash))
    with pytest.raises(InvalidAddress):
        parse_address(regtest, p2pkh[:-1] + ("2" if p2pkh[-1] != "2" else "3"))
    # The genesis coinbase's address, a mainnet P2PKH everyone can check.
    genesis = "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa"
    assert parse_address(NETWORKS["mainnet"], genesis).address == genesis


def test_dust_limits_match_bitcoin_core() -> None:
    # Bitcoin Core's GetDustThreshold at the default 3 sat/vB dust relay fee.
    assert dust_limit(segwit_script(0, bytes(20))) == 294
    assert dust_limit(segwit_script(0, bytes(32))) == 330
    assert dust_limit(segwit_script(1, bytes(32))) == 330
    assert dust_limit(b"\x76\xa9\x14" + bytes(20) + b"\x88\xac") == 546
    assert dust_limit(b"\xa9\x14" + bytes(20) + b"\x87") == 540
    # litecoind 0.21's default -dustrelayfee is ten times Bitcoin Core's (measured).
    litecoin = NETWORKS["litecoin-regtest"]
    assert litecoin.dust_limit(segwit_script(0, bytes(20))) == 2940
    assert litecoin.dust_limit(segwit_script(1, bytes(32))) == 3300
    assert litecoin.dust_limit(b"\x76\xa9\x14" + bytes(20) + b"\x88\xac") == 5460
