"""Addresses: bech32 and bech32m (BIP173, BIP350), base58check (legacy), wallet outputs.

BIP350: witness version 0 is spelled in bech32, versions 1 to 16 in bech32m; any other
pairing is invalid. A wallet receives on P2WPKH (``OP_0 <hash160(compressed key)>``) or
P2TR (``OP_1 <taproot_output_key(internal key)>``, BIP86: key path only).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from enum import Enum

from chains.bitcoin.network import NETWORKS, NetworkParams
from chains.config import BitcoinOutput
from chains.errors import InvalidAddress, WrongNetwork
from chains.taproot import taproot_output_key

CHARSET = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"
BECH32M_CONST = 0x2BC830A3
BASE58_ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
# Human-readable parts of well-known networks, so that another network's address is
# refused as WrongNetwork rather than as garbage.
KNOWN_HRPS = {
    **{params.hrp: params.name for params in NETWORKS.values()},
    "ltc": "litecoin mainnet",
    "tltc": "litecoin testnet",
}


class Encoding(Enum):
    BECH32 = 1
    BECH32M = 2


# -- bech32 / bech32m (BIP173 reference code, BIP350 constant) ---------------------------


def _polymod(values: list[int]) -> int:
    generator = (0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3)
    chk = 1
    for value in values:
        top = chk >> 25
        chk = (chk & 0x1FFFFFF) << 5 ^ value
        for i in range(5):
            chk ^= generator[i] if (top >> i) & 1 else 0
    return chk


def _hrp_expand(hrp: str) -> list[int]:
    return [ord(x) >> 5 for x in hrp] + [0] + [ord(x) & 31 for x in hrp]


def _checksum_const(encoding: Encoding) -> int:
    return 1 if encoding is Encoding.BECH32 else BECH32M_CONST


def bech32_encode(hrp: str, data: list[int], encoding: Encoding) -> str:
    values = _hrp_expand(hrp) + data
    polymod = _polymod([*values, 0, 0, 0, 0, 0, 0]) ^ _checksum_const(encoding)
    checksum = [(polymod >> 5 * (5 - i)) & 31 for i in range(6)]
    return hrp + "1" + "".join(CHARSET[d] for d in data + checksum)


def bech32_decode(text: str) -> tuple[str, list[int], Encoding]:
    """BIP173's decoding rules; returns (hrp, data without checksum, encoding)."""
    if any(ord(c) < 33 or ord(c) > 126 for c in text):
        raise InvalidAddress(f"character out of range in {text!r}")
    if text.lower() != text and text.upper() != text:
        raise InvalidAddress(f"mixed case in {text!r}")
    text = text.lower()
    pos = text.rfind("1")
    if pos < 1 or pos + 7 > len(text) or len(text) > 90:
        raise InvalidAddress(f"no separator, empty HRP or wrong length: {text!r}")
    if any(c not in CHARSET for c in text[pos + 1 :]):
        raise InvalidAddress(f"character outside the bech32 charset in {text!r}")
    hrp = text[:pos]
    data = [CHARSET.find(c) for c in text[pos + 1 :]]
    check = _polymod(_hrp_expand(hrp) + data)
    if check == 1:
        return hrp, data[:-6], Encoding.BECH32
    if check == BECH32M_CONST:
        return hrp, data[:-6], Encoding.BECH32M
    raise InvalidAddress(f"bad bech32 checksum in {text!r}")


def convert_bits(data: bytes | list[int], frombits: int, tobits: int, pad: bool) -> list[int]:
    acc = 0
    bits = 0
    out: list[int] = []
    maxv = (1 << tobits) - 1
    for value in data:
        if value < 0 or value >> frombits:
            raise InvalidAddress("value out of range in bit conversion")
        acc = (acc << frombits) | value
        bits += frombits
        while bits >= tobits:
            bits -= tobits
            out.append((acc >> bits) & maxv)
    if pad:
        if bits:
            out.append((acc << (tobits - bits)) & maxv)
    elif bits >= frombits or ((acc << (tobits - bits)) & maxv):
        raise InvalidAddress("non-zero or excess padding")
    return out


def encode_segwit(hrp: str, version: int, program: bytes) -> str:
    encoding = Encoding.BECH32 if version == 0 else Encoding.BECH32M
    address = bech32_encode(hrp, [version, *convert_bits(program, 8, 5, True)], encoding)
    decode_segwit(hrp, address)  # refuses programs no address may carry
    return address


def decode_segwit(hrp: str, address: str) -> tuple[int, bytes]:
    """(witness version, program) of a segwit address of network ``hrp`` (BIP173/BIP350).

    A well-formed address of another network raises WrongNetwork; anything else wrong
    raises InvalidAddress.
    """
    got_hrp, data, encoding = bech32_decode(address)
    if not data:
        raise InvalidAddress(f"no witness version in {address!r}")
    version = data[0]
    if version > 16:
        raise InvalidAddress(f"witness version {version} out of range")
    program = bytes(convert_bits(data[1:], 5, 8, False))
    if not 2 <= len(program) <= 40:
        raise InvalidAddress(f"witness program of {len(program)} bytes")
    if version == 0 and len(program) not in (20, 32):
        raise InvalidAddress(f"v0 witness program of {len(program)} bytes")
    want = Encoding.BECH32 if version == 0 else Encoding.BECH32M
    if encoding is not want:
        raise InvalidAddress(f"witness v{version} must use {want.name.lower()} (BIP350)")
    if got_hrp != hrp:
        if got_hrp in KNOWN_HRPS:
            raise WrongNetwork(f"{address!r} is a {KNOWN_HRPS[got_hrp]} address")
        raise InvalidAddress(f"unknown human-readable part {got_hrp!r}")
    return version, program


def segwit_script(version: int, program: bytes) -> bytes:
    return bytes([version + 0x50 if version else 0, len(program)]) + program


# -- base58check (legacy P2PKH / P2SH recipients) ----------------------------------------


def _sha256d(data: bytes) -> bytes:
    return hashlib.sha256(hashlib.sha256(data).digest()).digest()


def base58check_encode(payload: bytes) -> str:
    data = payload + _sha256d(payload)[:4]
    number = int.from_bytes(data, "big")
    text = ""
    while number:
        number, digit = divmod(number, 58)
        text = BASE58_ALPHABET[digit] + text
    zeros = len(data) - len(data.lstrip(b"\0"))
    return "1" * zeros + text


def base58check_decode(text: str) -> bytes:
    if not text or any(c not in BASE58_ALPHABET for c in text):
        raise InvalidAddress(f"not base58: {text!r}")
    number = 0
    for c in text:
        number = number * 58 + BASE58_ALPHABET.index(c)
    zeros = len(text) - len(text.lstrip("1"))
    body = number.to_bytes((number.bit_length() + 7) // 8, "big")
    data = b"\0" * zeros + body
    if len(data) < 5 or _sha256d(data[:-4])[:4] != data[-4:]:
        raise InvalidAddress(f"bad base58check checksum in {text!r}")
    return data[:-4]


# -- addresses of one network ------------------------------------------------------------


def hash160(data: bytes) -> bytes:
    return hashlib.new("ripemd160", hashlib.sha256(data).digest()).digest()


@dataclass(frozen=True, slots=True)
class Destination:
    """A parsed address: its canonical spelling and the output script it pays."""

    address: str
    script_pubkey: bytes


def parse_address(params: NetworkParams, address: str) -> Destination:
    """Canonical spelling and scriptPubKey of a recipient on network ``params``.

    Accepts any segwit output (BIP173/BIP350) and base58check P2PKH/P2SH.
    """
    if address.lower().startswith(tuple(f"{hrp}1" for hrp in KNOWN_HRPS)):
        version, program = decode_segwit(params.hrp, address)
        return Destination(address.lower(), segwit_script(version, program))
    payload = base58check_decode(address)
    if len(payload) != 21:
        raise InvalidAddress(f"base58 payload of {len(payload) - 1} bytes in {address!r}")
    version, body = payload[0], payload[1:]
    if version == params.pubkey_version:
        return Destination(address, b"\x76\xa9\x14" + body + b"\x88\xac")
    if version in params.script_versions:
        return Destination(address, b"\xa9\x14" + body + b"\x87")
    raise WrongNetwork(f"base58 version {version:#04x} is not a {params.name} address")


def wallet_script(output: BitcoinOutput, public_key: bytes) -> bytes:
    """The scriptPubKey a wallet key receives on: P2WPKH or BIP86 P2TR."""
    if len(public_key) != 33 or public_key[0] not in (2, 3):
        raise ValueError("a wallet key is a 33-byte compressed secp256k1 point")
    if output == "p2wpkh":
        return segwit_script(0, hash160(public_key))
    return segwit_script(1, taproot_output_key(public_key))


def wallet_address(params: NetworkParams, output: BitcoinOutput, public_key: bytes) -> str:
    script = wallet_script(output, public_key)
    return encode_segwit(params.hrp, script[0] - 0x50 if script[0] else 0, script[2:])
