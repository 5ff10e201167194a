"""Canonical binary encodings of the FROST values that cross a process boundary.

Workflow payloads carry the public values of a signing session or a key ceremony, and the
share vault stores a party's secret values; both need bytes that any Quorate process can
decode and that mean exactly one thing. :func:`encode` turns any :data:`Serializable`
value into bytes and :func:`decode` turns bytes back into a value of an expected type::

    data = encode(key_share)
    key_share = decode(data, KeyShare)

Every encoding starts with the same header::

    version:u8 (= 1) || type tag:u8 || len:u16 || ciphersuite id

(the id is the ciphersuite's UTF-8 ``id``, such as ``FROST-ED25519-SHA512-v1``),
followed by the type's fields, in this order (``u16`` is two bytes, big-endian; identifiers
and scalars take the group's scalar size, elements its element size; a ``map`` is a list
of entries sorted by strictly increasing identifier value)::

    SigningCommitments   identifier || hiding || binding
    SignatureShare       identifier || share
    Signature            len:u16 || the ciphersuite's signature encoding
    PublicKeyPackage     n:u16 || n x (identifier || verifying share) || verifying key
                         || min_signers:u16
    KeyShare             identifier || signing share || verifying share || verifying key
                         || min_signers:u16
    Round1Package        sender || t:u16 || t x commitment element || len:u16 || proof
    Round2SecretShare    sender || recipient || signing share
    Round1SecretPackage  identifier || t:u16 || t x coefficient || max_signers:u16
    Round2SecretPackage  identifier || own share || min_signers:u16 || max_signers:u16
                         || max_signers x (identifier || min_signers x commitment element)

The encoding is canonical: it is a function of the value (maps are sorted, derived fields
such as a secret polynomial's commitment are not stored), and :func:`decode` accepts only
bytes that :func:`encode` produces, so ``encode(decode(data)) == data`` whenever
``decode`` succeeds. One caveat: the taproot ciphersuite encodes signatures as BIP340
does, with an x-only ``R``, so a :class:`Signature` whose ``R`` has an odd Y coordinate
decodes to the equivalent signature with the even-Y ``R``.

:func:`decode` raises :class:`MalformedPackage` for anything it does not accept and
re-checks the invariants the value's producer guarantees (thresholds, a key share's
verifying share, the secret DKG state's own share), so a corrupted vault entry is refused
when it is read rather than when it is used. It does not check protocol facts that name a
culprit, such as a proof of knowledge or a share against its sender's commitment: the DKG
and signing functions check those and report who cheated. :func:`encode` refuses the
values that :func:`decode` would refuse, so whatever is stored can be loaded again.

:class:`KeyShare`, :class:`Round2SecretShare`, :class:`Round1SecretPackage` and
:class:`Round2SecretPackage` hold secrets and their encodings are plaintext: callers seal
or encrypt them before they leave the party. Error messages name fields, sizes, counts and
public identifiers but never echo input bytes, so a rejected secret cannot end up in a log
line.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Final, Generic, TypeAlias, TypeVar, cast

from mpc.frost.ciphersuite import Ciphersuite
from mpc.frost.dkg import Round1Package, Round1SecretPackage, Round2SecretPackage, Round2SecretShare
from mpc.frost.errors import (
    CiphersuiteMismatch,
    FrostError,
    InvalidIdentifier,
    InvalidParameters,
    MalformedPackage,
)
from mpc.frost.identifier import Identifier
from mpc.frost.keys import KeyShare, PublicKeyPackage, validate_threshold
from mpc.frost.round1 import SigningCommitments
from mpc.frost.round2 import SignatureShare
from mpc.frost.signature import Signature
from mpc.frost.vss import vss_commit, vss_verify
from mpc.group import Element, Group, GroupError, Scalar

__all__ = [
    "FORMAT_VERSION",
    "Serializable",
    "TypeTag",
    "decode",
    "encode",
]

FORMAT_VERSION: Final = 1
"""The version byte every encoding starts with."""

_U16_MAX: Final = 0xFFFF


class TypeTag(enum.IntEnum):
    """The second byte of every encoding: which type the bytes encode."""

    SIGNING_COMMITMENTS = 0x01
    SIGNATURE_SHARE = 0x02
    SIGNATURE = 0x03
    PUBLIC_KEY_PACKAGE = 0x04
    KEY_SHARE = 0x05
    ROUND1_PACKAGE = 0x06
    ROUND2_SECRET_SHARE = 0x07
    ROUND1_SECRET_PACKAGE = 0x08
    ROUND2_SECRET_PACKAGE = 0x09


Serializable: TypeAlias = (
    SigningCommitments
    | SignatureShare
    | Signature
    | PublicKeyPackage
    | KeyShare
    | Round1Package
    | Round2SecretShare
    | Round1SecretPackage
    | Round2SecretPackage
)
"""Every type :func:`encode` accepts."""

_T = TypeVar(
    "_T",
    SigningCommitments,
    SignatureShare,
    Signature,
    PublicKeyPackage,
    KeyShare,
    Round1Package,
    Round2SecretShare,
    Round1SecretPackage,
    Round2SecretPackage,
)
_S = TypeVar("_S")
_V = TypeVar("_V")


def _registered_ciphersuites() -> Mapping[str, Ciphersuite]:
    # mpc.frost's __init__ imports most of the package; importing its registry here, when
    # it is first needed, keeps this module importable from that __init__ too.
    from mpc.frost import CIPHERSUITES

    return CIPHERSUITES


# -- writing ---------------------------------------------------------------------------------


class _Writer:
    """Accumulates an encoding; checks that every component belongs to the ciphersuite."""

    __slots__ = ("_ciphersuite", "_parts")

    def __init__(self, ciphersuite: Ciphersuite, tag: TypeTag) -> None:
        # Bytes under a ciphersuite that decode cannot look up would be unreadable, so an
        # unregistered (or merely equally named) ciphersuite object is refused up front.
        if _registered_ciphersuites().get(ciphersuite.id) is not ciphersuite:
            raise InvalidParameters(
                f"ciphersuite {ciphersuite.id} is not registered in mpc.frost.CIPHERSUITES"
            )
        self._ciphersuite = ciphersuite
        self._parts = [bytes([FORMAT_VERSION, tag])]
        self.blob(ciphersuite.id.encode("utf-8"), "ciphersuite id")

    def finish(self) -> bytes:
        return b"".join(self._parts)

    def u16(self, value: int, field: str) -> None:
        if not 0 <= value <= _U16_MAX:
            raise InvalidParameters(f"{field} = {value} does not fit in two bytes")
        self._parts.append(value.to_bytes(2, "big"))

    def blob(self, data: bytes, field: str) -> None:
        self.u16(len(data), f"length of {field}")
        self._parts.append(data)

    def identifier(self, identifier: Identifier, field: str) -> None:
        self._check_group(identifier.scalar.group, field)
        self._parts.append(identifier.to_bytes())

    def scalar(self, scalar: Scalar, field: str) -> None:
        self._check_group(scalar.group, field)
        self._parts.append(scalar.to_bytes())

    def element(self, element: Element, field: str) -> None:
        self._check_group(element.group, field)
        self._parts.append(self._ciphersuite.group.serialize_element(element))

    def signature(self, signature: Signature, field: str) -> None:
        if signature.ciphersuite is not self._ciphersuite:
            raise CiphersuiteMismatch(
                f"{field} is a {signature.ciphersuite.id} signature, "
                f"not a {self._ciphersuite.id} one"
            )
        self.blob(self._ciphersuite.serialize_signature(signature), field)

    def _check_group(self, group: Group, field: str) -> None:
        expected = self._ciphersuite.group
        if group is not expected:
            raise CiphersuiteMismatch(f"{field} belongs to {group.name}, not to {expected.name}")


# -- reading ---------------------------------------------------------------------------------


class _Reader:
    """Consumes an encoding from the front; every failure is a :class:`MalformedPackage`.

    Error messages name fields, sizes and counts, never input bytes: the input may be a
    secret share, and a corrupted length prefix can shift secret bytes into any field.
    """

    __slots__ = ("_ciphersuite", "_data", "_offset", "what")

    def __init__(self, data: bytes, what: str) -> None:
        self._data = data
        self._offset = 0
        self._ciphersuite: Ciphersuite | None = None
        self.what = what

    @property
    def ciphersuite(self) -> Ciphersuite:
        if self._ciphersuite is None:
            raise RuntimeError("the header has not been read yet")
        return self._ciphersuite

    def error(self, detail: str) -> MalformedPackage:
        return MalformedPackage(f"malformed {self.what}: {detail}")

    def read_header(self, tag: TypeTag) -> None:
        version = self.u8("format version")
        if version != FORMAT_VERSION:
            raise self.error(f"unsupported format version {version} (expected {FORMAT_VERSION})")
        found = self.u8("type tag")
        if found != tag:
            try:
                found_name = TypeTag(found).name
            except ValueError:
                found_name = "unknown"
            raise self.error(
                f"type tag 0x{found:02x} ({found_name}) where 0x{tag:02x} ({tag.name}) is expected"
            )
        raw_id = self.blob("ciphersuite id")
        # The id is not echoed: if its length prefix is corrupt it may span secret bytes.
        try:
            ciphersuite = _registered_ciphersuites().get(raw_id.decode("utf-8"))
        except UnicodeDecodeError:
            ciphersuite = None
        if ciphersuite is None:
            raise self.error(f"unknown ciphersuite id ({len(raw_id)} bytes)")
        self._ciphersuite = ciphersuite

    def finish(self) -> None:
        remaining = len(self._data) - self._offset
        if remaining:
            raise self.error(f"{remaining} trailing bytes")

    def require(self, size: int, field: str) -> None:
        """Fails early if fewer than ``size`` bytes remain, before any costly decoding."""
        remaining = len(self._data) - self._offset
        if size > remaining:
            raise self.error(f"truncated: {field} needs {size} bytes, {remaining} remain")

    def take(self, size: int, field: str) -> bytes:
        self.require(size, field)
        chunk = self._data[self._offset : self._offset + size]
        self._offset += size
        return chunk

    def u8(self, field: str) -> int:
        return self.take(1, field)[0]

    def u16(self, field: str) -> int:
        return int.from_bytes(self.take(2, field), "big")

    def blob(self, field: str) -> bytes:
        return self.take(self.u16(f"length of {field}"), field)

    def identifier(self, field: str) -> Identifier:
        data = self.take(self.ciphersuite.group.scalar_size, field)
        try:
            return Identifier.from_bytes(self.ciphersuite, data)
        except InvalidIdentifier:
            raise self.error(f"{field} is zero, which is not an identifier") from None
        except GroupError as exc:
            raise self.error(f"{field} is not a canonical scalar ({exc})") from exc

    def scalar(self, field: str, *, secret: bool) -> Scalar:
        group = self.ciphersuite.group
        data = self.take(group.scalar_size, field)
        try:
            return group.deserialize_scalar(data)
        except GroupError as exc:
            if secret:
                # The group layer's messages hold no input today; for a secret field we
                # do not rely on that staying true, and drop the cause altogether.
                raise self.error(f"{field} is not a canonical {group.name} scalar") from None
            raise self.error(f"{field} is not a canonical {group.name} scalar ({exc})") from exc

    def scalars(self, count: int, field: str, *, secret: bool) -> tuple[Scalar, ...]:
        self.require(count * self.ciphersuite.group.scalar_size, field)
        return tuple(self.scalar(f"{field}[{k}]", secret=secret) for k in range(count))

    def element(self, field: str) -> Element:
        group = self.ciphersuite.group
        data = self.take(group.element_size, field)
        try:
            return group.deserialize_element(data)
        except GroupError as exc:
            raise self.error(f"{field} is not a canonical {group.name} element ({exc})") from exc

    def elements(self, count: int, field: str) -> tuple[Element, ...]:
        self.require(count * self.ciphersuite.group.element_size, field)
        return tuple(self.element(f"{field}[{k}]") for k in range(count))

    def signature(self, field: str) -> Signature:
        data = self.blob(field)
        try:
            return self.ciphersuite.deserialize_signature(data)
        except MalformedPackage as exc:
            raise self.error(f"{field}: {exc}") from exc

    def identifier_map(
        self, count: int, entry_size: int, field: str, read_value: Callable[[str], _V]
    ) -> dict[Identifier, _V]:
        """``count`` entries in strictly increasing identifier order, the only canonical one."""
        self.require(count * entry_size, field)
        entries: dict[Identifier, _V] = {}
        previous: Identifier | None = None
        for index in range(count):
            identifier = self.identifier(f"{field}[{index}] identifier")
            if previous is not None and identifier.value <= previous.value:
                if identifier.value == previous.value:
                    raise self.error(f"duplicate identifier {identifier} in {field}")
                raise self.error(f"{field} is not sorted by increasing identifier")
            entries[identifier] = read_value(f"{field}[{identifier}]")
            previous = identifier
        return entries


# -- the types -------------------------------------------------------------------------------


def _write_signing_commitments(w: _Writer, value: SigningCommitments) -> None:
    w.identifier(value.identifier, "identifier")
    w.element(value.hiding, "hiding")
    w.element(value.binding, "binding")


def _read_signing_commitments(r: _Reader) -> SigningCommitments:
    identifier = r.identifier("identifier")
    hiding = r.element("hiding")
    binding = r.element("binding")
    return SigningCommitments(r.ciphersuite, identifier, hiding, binding)


def _write_signature_share(w: _Writer, value: SignatureShare) -> None:
    w.identifier(value.identifier, "identifier")
    w.scalar(value.share, "share")


def _read_signature_share(r: _Reader) -> SignatureShare:
    identifier = r.identifier("identifier")
    share = r.scalar("share", secret=False)
    return SignatureShare(r.ciphersuite, identifier, share)


def _write_signature(w: _Writer, value: Signature) -> None:
    w.signature(value, "signature")


def _read_signature(r: _Reader) -> Signature:
    return r.signature("signature")


def _write_public_key_package(w: _Writer, value: PublicKeyPackage) -> None:
    shares = sorted(value.verifying_shares.items(), key=lambda item: item[0].value)
    w.u16(len(shares), "number of verifying shares")
    for identifier, share in shares:
        w.identifier(identifier, "verifying share identifier")
        w.element(share, f"verifying share of {identifier}")
    w.element(value.verifying_key, "verifying_key")
    w.u16(value.min_signers, "min_signers")


def _read_public_key_package(r: _Reader) -> PublicKeyPackage:
    group = r.ciphersuite.group
    count = r.u16("number of verifying shares")
    shares = r.identifier_map(
        count, group.scalar_size + group.element_size, "verifying_shares", r.element
    )
    verifying_key = r.element("verifying_key")
    min_signers = r.u16("min_signers")
    # The constructor re-checks the threshold against the number of parties; decode turns
    # its InvalidParameters into MalformedPackage.
    return PublicKeyPackage(r.ciphersuite, shares, verifying_key, min_signers)


def _write_key_share(w: _Writer, value: KeyShare) -> None:
    w.identifier(value.identifier, "identifier")
    w.scalar(value.signing_share, "signing_share")
    w.element(value.verifying_share, "verifying_share")
    w.element(value.verifying_key, "verifying_key")
    w.u16(value.min_signers, "min_signers")


def _read_key_share(r: _Reader) -> KeyShare:
    identifier = r.identifier("identifier")
    signing_share = r.scalar("signing_share", secret=True)
    verifying_share = r.element("verifying_share")
    verifying_key = r.element("verifying_key")
    min_signers = r.u16("min_signers")
    return KeyShare(
        r.ciphersuite, identifier, signing_share, verifying_share, verifying_key, min_signers
    )


def _check_key_share(value: KeyShare) -> str | None:
    if value.min_signers < 2:
        return "the threshold must be at least 2"
    # A share whose public image is wrong would produce signature shares that every
    # coordinator rejects; catching it when the vault entry is read names the real fault.
    if value.ciphersuite.group.base_mul(value.signing_share) != value.verifying_share:
        return "verifying_share does not match signing_share"
    return None


def _write_round1_package(w: _Writer, value: Round1Package) -> None:
    w.identifier(value.sender, "sender")
    w.u16(len(value.commitment), "number of commitment elements")
    for k, element in enumerate(value.commitment):
        w.element(element, f"commitment[{k}]")
    w.signature(value.proof_of_knowledge, "proof_of_knowledge")


def _read_round1_package(r: _Reader) -> Round1Package:
    sender = r.identifier("sender")
    count = r.u16("number of commitment elements")
    commitment = r.elements(count, "commitment")
    proof = r.signature("proof_of_knowledge")
    return Round1Package(r.ciphersuite, sender, commitment, proof)


def _check_round1_package(value: Round1Package) -> str | None:
    # A threshold of at least two means a polynomial of degree at least one, whose
    # commitment has at least two elements; part2 then checks the exact length.
    if len(value.commitment) < 2:
        return "a VSS commitment has at least 2 elements"
    return None


def _write_round2_secret_share(w: _Writer, value: Round2SecretShare) -> None:
    w.identifier(value.sender, "sender")
    w.identifier(value.recipient, "recipient")
    w.scalar(value.signing_share, "signing_share")


def _read_round2_secret_share(r: _Reader) -> Round2SecretShare:
    sender = r.identifier("sender")
    recipient = r.identifier("recipient")
    signing_share = r.scalar("signing_share", secret=True)
    return Round2SecretShare(r.ciphersuite, sender, recipient, signing_share)


def _check_round2_secret_share(value: Round2SecretShare) -> str | None:
    if value.sender == value.recipient:
        return "a party does not send a round-2 share to itself"
    return None


def _write_round1_secret_package(w: _Writer, value: Round1SecretPackage) -> None:
    w.identifier(value.identifier, "identifier")
    w.u16(len(value.coefficients), "number of coefficients")
    for k, coefficient in enumerate(value.coefficients):
        w.scalar(coefficient, f"coefficients[{k}]")
    w.u16(value.max_signers, "max_signers")


def _read_round1_secret_package(r: _Reader) -> Round1SecretPackage:
    identifier = r.identifier("identifier")
    count = r.u16("number of coefficients")
    coefficients = r.scalars(count, "coefficients", secret=True)
    max_signers = r.u16("max_signers")
    # The commitment and the threshold are functions of the polynomial, so they are
    # recomputed rather than stored; nothing stored can then contradict them.
    return Round1SecretPackage(
        r.ciphersuite,
        identifier,
        coefficients,
        vss_commit(r.ciphersuite.group, coefficients),
        len(coefficients),
        max_signers,
    )


def _check_round1_secret_package(value: Round1SecretPackage) -> str | None:
    try:
        validate_threshold(value.min_signers, value.max_signers)
    except InvalidParameters as exc:
        return str(exc)
    if len(value.coefficients) != value.min_signers:
        return "the polynomial's length differs from min_signers"
    if value.coefficients[0].is_zero():
        return "the secret constant term must be non-zero"
    # The commitment is not encoded, so a value whose commitment is not its polynomial's
    # would not survive a round trip; refusing it keeps the encoding a function of the value.
    if tuple(value.commitment) != vss_commit(value.ciphersuite.group, value.coefficients):
        return "the commitment is not the commitment to the polynomial"
    return None


def _write_round2_secret_package(w: _Writer, value: Round2SecretPackage) -> None:
    w.identifier(value.identifier, "identifier")
    w.scalar(value.own_share, "own_share")
    w.u16(value.min_signers, "min_signers")
    w.u16(value.max_signers, "max_signers")
    for identifier, commitment in sorted(value.commitments.items(), key=lambda i: i[0].value):
        w.identifier(identifier, "commitments identifier")
        for k, element in enumerate(commitment):
            w.element(element, f"commitments[{identifier}][{k}]")


def _read_round2_secret_package(r: _Reader) -> Round2SecretPackage:
    group = r.ciphersuite.group
    identifier = r.identifier("identifier")
    own_share = r.scalar("own_share", secret=True)
    min_signers = r.u16("min_signers")
    max_signers = r.u16("max_signers")
    # The counts drive the reads below, so they are checked before anything else.
    try:
        validate_threshold(min_signers, max_signers)
    except InvalidParameters as exc:
        raise r.error(str(exc)) from exc
    commitments = r.identifier_map(
        max_signers,
        group.scalar_size + min_signers * group.element_size,
        "commitments",
        lambda field: r.elements(min_signers, field),
    )
    return Round2SecretPackage(
        r.ciphersuite,
        identifier,
        own_share,
        MappingProxyType(commitments),
        min_signers,
        max_signers,
    )


def _check_round2_secret_package(value: Round2SecretPackage) -> str | None:
    try:
        validate_threshold(value.min_signers, value.max_signers)
    except InvalidParameters as exc:
        return str(exc)
    # part2 keeps one commitment per party, its own included, each of threshold length;
    # the encoding relies on both counts instead of storing them again.
    if len(value.commitments) != value.max_signers:
        return "there must be one commitment per party"
    if any(len(c) != value.min_signers for c in value.commitments.values()):
        return "every commitment must have min_signers elements"
    own = value.commitments.get(value.identifier)
    if own is None:
        return "the party's own commitment is missing"
    if not vss_verify(value.ciphersuite.group, value.identifier, value.own_share, own):
        return "own_share does not match the party's own commitment"
    return None


# -- dispatch --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Codec(Generic[_S]):
    tag: TypeTag
    write: Callable[[_Writer, _S], None]
    read: Callable[[_Reader], _S]
    #: Returns why a value breaks its type's invariants, or None; shared by both directions.
    check: Callable[[_S], str | None] | None = None


_CODECS: Final[Mapping[type[Any], _Codec[Any]]] = {
    SigningCommitments: _Codec(
        TypeTag.SIGNING_COMMITMENTS, _write_signing_commitments, _read_signing_commitments
    ),
    SignatureShare: _Codec(TypeTag.SIGNATURE_SHARE, _write_signature_share, _read_signature_share),
    Signature: _Codec(TypeTag.SIGNATURE, _write_signature, _read_signature),
    PublicKeyPackage: _Codec(
        TypeTag.PUBLIC_KEY_PACKAGE, _write_public_key_package, _read_public_key_package
    ),
    KeyShare: _Codec(TypeTag.KEY_SHARE, _write_key_share, _read_key_share, _check_key_share),
    Round1Package: _Codec(
        TypeTag.ROUND1_PACKAGE, _write_round1_package, _read_round1_package, _check_round1_package
    ),
    Round2SecretShare: _Codec(
        TypeTag.ROUND2_SECRET_SHARE,
        _write_round2_secret_share,
        _read_round2_secret_share,
        _check_round2_secret_share,
    ),
    Round1SecretPackage: _Codec(
        TypeTag.ROUND1_SECRET_PACKAGE,
        _write_round1_secret_package,
        _read_round1_secret_package,
        _check_round1_secret_package,
    ),
    Round2SecretPackage: _Codec(
        TypeTag.ROUND2_SECRET_PACKAGE,
        _write_round2_secret_package,
        _read_round2_secret_package,
        _check_round2_secret_package,
    ),
}


def _codec(cls: type[Any]) -> _Codec[Any]:
    # Exact types only: a subclass may carry state the encoding would silently drop.
    codec = _CODECS.get(cls)
    if codec is None:
        raise TypeError(f"{cls.__name__} has no FROST encoding")
    return codec


def encode(value: Serializable) -> bytes:
    """The canonical encoding of ``value``.

    Raises :class:`InvalidParameters` for a value that breaks its type's invariants (which
    :func:`decode` would refuse) or a ciphersuite missing from ``mpc.frost.CIPHERSUITES``,
    :class:`CiphersuiteMismatch` for a component of another group or ciphersuite,
    ``GroupError`` for an identity element (which has no encoding) and ``TypeError`` for a
    type without an encoding.
    """
    codec = _codec(type(value))
    if codec.check is not None:
        problem = codec.check(value)
        if problem is not None:
            raise InvalidParameters(f"cannot encode this {type(value).__name__}: {problem}")
    writer = _Writer(value.ciphersuite, codec.tag)
    codec.write(writer, value)
    return writer.finish()


def decode(data: bytes, cls: type[_T]) -> _T:
    """Decodes ``data`` as an encoding of a ``cls``, e.g. ``decode(data, KeyShare)``.

    Raises :class:`MalformedPackage` unless ``data`` is exactly an encoding that
    :func:`encode` produces for a valid ``cls`` of a registered ciphersuite.
    """
    codec = _codec(cls)
    reader = _Reader(bytes(data), cls.__name__)
    reader.read_header(codec.tag)
    try:
        value = codec.read(reader)
    except MalformedPackage:
        raise
    except (FrostError, GroupError) as exc:
        # The types' constructors validate their own invariants (a threshold, a non-identity
        # commitment); whatever they refuse, the bytes were malformed. Their messages name
        # identifiers and counts, never secret values.
        raise reader.error(str(exc)) from exc
    reader.finish()
    if codec.check is not None:
        problem = codec.check(value)
        if problem is not None:
            raise reader.error(problem)
    return cast(_T, value)
