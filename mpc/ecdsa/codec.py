"""JSON encodings of threshold-ECDSA messages and per-round state.

Messages cross Temporal between rounds and each signer's round state waits in its own
vault between activities, so both need a canonical, versioned encoding. The codec walks
the frozen dataclasses by their type hints: integers become hex strings ("-" first when
negative), points their compressed SEC1 hex, Paillier secret keys their two primes, and
mappings are written with sorted keys. Decoding validates points (on the curve, not the
identity where a type requires a point) and rejects unknown or missing fields.
"""

from __future__ import annotations

import dataclasses
import json
import types
import typing
from collections.abc import Mapping
from functools import cache
from typing import Any, TypeVar

from mpc.ecdsa.errors import InvalidParameters
from mpc.ecdsa.paillier import PaillierPublicKey, PaillierSecretKey
from mpc.ecdsa.ring_pedersen import RingPedersenParameters
from mpc.group import SECP256K1, GroupError, Secp256k1Element

VERSION = 1
T = TypeVar("T")


def _int_to_hex(value: int) -> str:
    return ("-" if value < 0 else "") + format(abs(value), "x")


def _int_from_hex(text: object) -> int:
    if not isinstance(text, str) or not text:
        raise ValueError("expected a hex integer")
    negative = text.startswith("-")
    digits = text[1:] if negative else text
    if not digits or any(c not in "0123456789abcdef" for c in digits):
        raise ValueError("expected a lowercase hex integer")
    value = int(digits, 16)
    return -value if negative else value


@cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _encode(value: Any, hint: Any) -> Any:
    origin = typing.get_origin(hint)
    if hint is int:
        return _int_to_hex(value)
    if hint is str:
        return value
    if hint is Secp256k1Element:
        return value.compressed().hex()
    if hint is PaillierSecretKey:
        return {"p": _int_to_hex(value.p), "q": _int_to_hex(value.q)}
    if hint is PaillierPublicKey:
        return _int_to_hex(value.n)
    if origin is tuple:
        args = typing.get_args(hint)
        if len(args) == 2 and args[1] is Ellipsis:
            return [_encode(item, args[0]) for item in value]
        return [_encode(item, arg) for item, arg in zip(value, args, strict=True)]
    if origin in (Mapping, dict, typing.get_origin(Mapping[str, int])):
        _, value_type = typing.get_args(hint)
        return {str(k): _encode(v, value_type) for k, v in sorted(value.items())}
    if dataclasses.is_dataclass(hint):
        hints = _hints(hint)  # type: ignore[arg-type]
        return {
            f.name: _encode(getattr(value, f.name), hints[f.name])
            for f in dataclasses.fields(hint)
            if f.init
        }
    if hint is RingPedersenParameters:
        return [_int_to_hex(value.n), _int_to_hex(value.s), _int_to_hex(value.t)]
    raise TypeError(f"no JSON encoding for {hint!r}")


def _decode(data: Any, hint: Any) -> Any:
    origin = typing.get_origin(hint)
    if hint is int:
        return _int_from_hex(data)
    if hint is str:
        if not isinstance(data, str):
            raise ValueError("expected a string")
        return data
    if hint is Secp256k1Element:
        if not isinstance(data, str):
            raise ValueError("expected a point")
        return SECP256K1.deserialize_element(bytes.fromhex(data))
    if hint is PaillierSecretKey:
        return PaillierSecretKey(_int_from_hex(data["p"]), _int_from_hex(data["q"]))
    if hint is PaillierPublicKey:
        return PaillierPublicKey(_int_from_hex(data))
    if origin is tuple:
        args = typing.get_args(hint)
        if not isinstance(data, list):
            raise ValueError("expected a list")
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_decode(item, args[0]) for item in data)
        if len(data) != len(args):
            raise ValueError("wrong tuple length")
        return tuple(_decode(item, arg) for item, arg in zip(data, args, strict=True))
    if origin in (Mapping, dict, typing.get_origin(Mapping[str, int])):
        _, value_type = typing.get_args(hint)
        if not isinstance(data, dict):
            raise ValueError("expected an object")
        return {k: _decode(v, value_type) for k, v in data.items()}
    if dataclasses.is_dataclass(hint):
        if not isinstance(data, dict):
            raise ValueError("expected an object")
        hints = _hints(hint)  # type: ignore[arg-type]
        names = {f.name for f in dataclasses.fields(hint) if f.init}
        if set(data) != names:
            raise ValueError(f"fields {sorted(set(data) ^ names)} differ")
        return hint(**{name: _decode(data[name], hints[name]) for name in names})  # type: ignore[operator]
    if hint is RingPedersenParameters:
        n, s, t = (_int_from_hex(v) for v in data)
        return RingPedersenParameters(n, s, t)
    if isinstance(hint, types.UnionType):
        raise TypeError("unions are not encoded")
    raise TypeError(f"no JSON decoding for {hint!r}")


def encode(value: Any) -> bytes:
    """Canonical JSON bytes of a message or state dataclass, with type and version."""
    cls = type(value)
    document = {"type": cls.__name__, "version": VERSION, "value": _encode(value, cls)}
    return json.dumps(document, sort_keys=True, separators=(",", ":")).encode()


def decode(data: bytes | str, cls: type[T], *, sender: str | None = None) -> T:
    """Decodes :func:`encode`'s output as ``cls``; malformed input names ``sender``."""
    culprits = [sender] if sender else []
    try:
        document = json.loads(data)
        if document.get("type") != cls.__name__ or document.get("version") != VERSION:
            raise ValueError("wrong type or version")
        result: T = _decode(document["value"], cls)
        return result
    except (ValueError, KeyError, TypeError, GroupError, AttributeError) as error:
        raise InvalidParameters(f"malformed {cls.__name__}: {error}", culprits) from None
