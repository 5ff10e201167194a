"""Tests of mpc.frost.serialization: canonical encodings of the FROST values."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, replace
from types import MappingProxyType
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mpc.frost import (
    CIPHERSUITES,
    FROST_ED25519,
    FROST_SECP256K1,
    FROST_SECP256K1_TR,
    Ciphersuite,
    SigningPackage,
    aggregate,
    commit,
    sign,
)
from mpc.frost.dkg import (
    Round1Package,
    Round1SecretPackage,
    Round2SecretPackage,
    Round2SecretShare,
    part1,
    part2,
    part3,
    round1_secret_package,
)
from mpc.frost.errors import CiphersuiteMismatch, InvalidParameters, MalformedPackage
from mpc.frost.identifier import Identifier
from mpc.frost.keys import KeyShare, PublicKeyPackage
from mpc.frost.round1 import SigningCommitments
from mpc.frost.round2 import SignatureShare
from mpc.frost.secp256k1 import Secp256k1Sha256
from mpc.frost.serialization import FORMAT_VERSION, Serializable, TypeTag, decode, encode
from mpc.frost.signature import Signature
from mpc.frost.taproot import even_y, tweak_key_share, tweak_public_key_package
from mpc.group import ED25519, SECP256K1, GroupError
from mpc.group.ed25519 import FIELD_PRIME as ED25519_FIELD_PRIME
from mpc.group.ed25519 import IDENTITY_ENCODING as ED25519_IDENTITY
from mpc.group.secp256k1 import FIELD_PRIME as SECP256K1_FIELD_PRIME
from tests.helpers.dealer import trusted_dealer_keygen
from tests.helpers.rng import DeterministicRng
from tests.helpers.suites import SUITE_IDS, SUITES

MESSAGE = b"quorate serialization test message"

# -- fixtures ------------------------------------------------------------------------------


@dataclass(frozen=True)
class World:
    """One deterministic run of a signing session and a DKG under one ciphersuite."""

    cs: Ciphersuite
    ids: tuple[Identifier, ...]
    key_shares: dict[Identifier, KeyShare]
    public: PublicKeyPackage
    nonce_commitments: tuple[SigningCommitments, ...]
    signature_shares: tuple[SignatureShare, ...]
    signature: Signature
    round1_secrets: dict[Identifier, Round1SecretPackage]
    round1_packages: dict[Identifier, Round1Package]
    round2_secrets: dict[Identifier, Round2SecretPackage]
    round2_shares: dict[Identifier, dict[Identifier, Round2SecretShare]]

    def samples(self) -> dict[str, Serializable]:
        """One value of every serializable type, by type name."""
        first, second = self.ids[0], self.ids[1]
        return {
            "SigningCommitments": self.nonce_commitments[0],
            "SignatureShare": self.signature_shares[0],
            "Signature": self.signature,
            "PublicKeyPackage": self.public,
            "KeyShare": self.key_shares[first],
            "Round1Package": self.round1_packages[first],
            "Round2SecretShare": self.round2_shares[first][second],
            "Round1SecretPackage": self.round1_secrets[first],
            "Round2SecretPackage": self.round2_secrets[first],
        }


def build_world(cs: Ciphersuite) -> World:
    rng = DeterministicRng(f"serialization/{cs.id}")
    # Identifiers in no particular order, one of them a derived (large) one, so that the
    # maps' canonical order is exercised.
    ids = (
        Identifier.from_int(cs, 7),
        Identifier.derive(cs, b"us-east-1"),
        Identifier.from_int(cs, 2),
    )
    key_shares, public = trusted_dealer_keygen(cs, ids, 2, rng)
    signers = ids[:2]
    rounds = [commit(key_shares[i], rng) for i in signers]
    package = SigningPackage(cs, [c for _, c in rounds], MESSAGE)
    shares = tuple(
        sign(package, nonces, key_shares[i]) for i, (nonces, _) in zip(signers, rounds, strict=True)
    )
    signature = aggregate(package, shares, public)

    round1 = {i: part1(cs, i, len(ids), 2, rng) for i in ids}
    round2 = {i: part2(round1[i][0], [round1[j][1] for j in ids if j != i]) for i in ids}
    return World(
        cs=cs,
        ids=ids,
        key_shares=key_shares,
        public=public,
        nonce_commitments=tuple(c for _, c in rounds),
        signature_shares=shares,
        signature=signature,
        round1_secrets={i: r[0] for i, r in round1.items()},
        round1_packages={i: r[1] for i, r in round1.items()},
        round2_secrets={i: r[0] for i, r in round2.items()},
        round2_shares={i: r[1] for i, r in round2.items()},
    )


WORLDS = {cs.id: build_world(cs) for cs in SUITES}
TYPE_NAMES = list(WORLDS[FROST_SECP256K1.id].samples())
CASES = [(cs, name) for cs in SUITES for name in TYPE_NAMES]
CASE_IDS = [f"{cs.id}-{name}" for cs, name in CASES]
# (ciphersuite, type name, value, encoding) for every case, for the property tests.
ENCODED = [
    (cs, name, value, encode(value))
    for cs in SUITES
    for name, value in WORLDS[cs.id].samples().items()
]


def decode_as(data: bytes, value: Serializable) -> Any:
    """Decodes ``data`` as the type of ``value`` (the tests hold values of every type)."""
    cls: type[Any] = type(value)
    return decode(data, cls)


def canonical(value: Serializable) -> Serializable:
    """The value a round trip must return: the value itself, except for an odd-Y taproot R."""
    if isinstance(value, Signature) and value.ciphersuite is FROST_SECP256K1_TR:
        return Signature(value.ciphersuite, even_y(value.R), value.z)
    return value


def secrets_of(value: Serializable) -> list[str]:
    """The hex encodings of the secret scalars a value holds."""
    if isinstance(value, KeyShare | Round2SecretShare):
        return [value.signing_share.to_bytes().hex()]
    if isinstance(value, Round1SecretPackage):
        return [c.to_bytes().hex() for c in value.coefficients]
    if isinstance(value, Round2SecretPackage):
        return [value.own_share.to_bytes().hex()]
    return []


def error_texts(exc: BaseException) -> str:
    """The message of ``exc`` and of every exception it was raised from or during."""
    texts = []
    current: BaseException | None = exc
    while current is not None:
        texts.append(str(current))
        current = current.__cause__ or current.__context__
    return "\n".join(texts)


def u16(n: int) -> bytes:
    return n.to_bytes(2, "big")


def header(cs: Ciphersuite, tag: int, version: int = FORMAT_VERSION) -> bytes:
    cs_id = cs.id.encode()
    return bytes([version, tag]) + u16(len(cs_id)) + cs_id


def raw(cs: Ciphersuite, tag: TypeTag, *fields: bytes) -> bytes:
    """An encoding assembled by hand from the documented layout."""
    return header(cs, tag) + b"".join(fields)


def sig_bytes(signature: Signature) -> bytes:
    data = signature.to_bytes()
    return u16(len(data)) + data


def sorted_ids(ids: Any) -> list[Identifier]:
    return sorted(ids, key=lambda i: i.value)


def field_bytes(value: Any, *names: str) -> dict[str, bytes]:
    """The named identifier, scalar and element fields of ``value``, each as its bytes."""
    return {name: getattr(value, name).to_bytes() for name in names}


def listed(name: str, entries: Any) -> dict[str, bytes]:
    """A list field: its ``count`` (two bytes), then its entries as bytes."""
    return {"count": u16(len(entries)), name: b"".join(e.to_bytes() for e in entries)}


def documented_layout(value: Serializable) -> tuple[TypeTag, dict[str, bytes]]:
    """The documented layout of ``value``, written independently of the encoder: its type
    tag and the encodings of its fields, in order and by name.

    A list is its ``count`` (two bytes) and then its entries; a map's entries follow in
    increasing identifier order; a signature is its length (two bytes) and its bytes.
    """
    if isinstance(value, SigningCommitments):
        return TypeTag.SIGNING_COMMITMENTS, field_bytes(value, "identifier", "hiding", "binding")
    if isinstance(value, SignatureShare):
        return TypeTag.SIGNATURE_SHARE, field_bytes(value, "identifier", "share")
    if isinstance(value, Signature):
        return TypeTag.SIGNATURE, {"signature": sig_bytes(value)}
    if isinstance(value, PublicKeyPackage):
        shares = value.verifying_shares
        return TypeTag.PUBLIC_KEY_PACKAGE, {
            "count": u16(len(shares)),
            "verifying_shares": b"".join(
                i.to_bytes() + shares[i].to_bytes() for i in sorted_ids(shares)
            ),
            "verifying_key": value.verifying_key.to_bytes(),
            "min_signers": u16(value.min_signers),
        }
    if isinstance(value, KeyShare):
        fields = ("identifier", "signing_share", "verifying_share", "verifying_key")
        return TypeTag.KEY_SHARE, {
            **field_bytes(value, *fields),
            "min_signers": u16(value.min_signers),
        }
    if isinstance(value, Round1Package):
        return TypeTag.ROUND1_PACKAGE, {
            **field_bytes(value, "sender"),
            **listed("commitment", value.commitment),
            "proof_of_knowledge": sig_bytes(value.proof_of_knowledge),
        }
    if isinstance(value, Round2SecretShare):
        return TypeTag.ROUND2_SECRET_SHARE, field_bytes(
            value, "sender", "recipient", "signing_share"
        )
    if isinstance(value, Round1SecretPackage):
        return TypeTag.ROUND1_SECRET_PACKAGE, {
            **field_bytes(value, "identifier"),
            **listed("coefficients", value.coefficients),
            "max_signers": u16(value.max_signers),
        }
    return TypeTag.ROUND2_SECRET_PACKAGE, {
        **field_bytes(value, "identifier", "own_share"),
        "min_signers": u16(value.min_signers),
        "max_signers": u16(value.max_signers),
        "commitments": b"".join(
            i.to_bytes() + b"".join(e.to_bytes() for e in value.commitments[i])
            for i in sorted_ids(value.commitments)
        ),
    }


def raw_of(value: Serializable, **fields: bytes) -> bytes:
    """``value`` encoded by hand from :func:`documented_layout`, with the named ``fields``
    replaced by the given bytes."""
    tag, parts = documented_layout(value)
    assert set(fields) <= set(parts), f"no such field: {set(fields) - set(parts)}"
    return raw(value.ciphersuite, tag, *{**parts, **fields}.values())


def flip(data: bytes, index: int, mask: int) -> bytes:
    return data[:index] + bytes([data[index] ^ mask]) + data[index + 1 :]


def body(data: bytes) -> bytes:
    return data[4 + int.from_bytes(data[2:4], "big") :]


# -- round trips ---------------------------------------------------------------------------


@pytest.mark.parametrize(("cs", "name"), CASES, ids=CASE_IDS)
def test_round_trip(cs: Ciphersuite, name: str) -> None:
    value = WORLDS[cs.id].samples()[name]
    data = encode(value)
    decoded = decode_as(data, value)
    assert type(decoded) is type(value)
    assert decoded.ciphersuite is cs
    assert decoded == canonical(value)
    assert encode(decoded) == data


@pytest.mark.parametrize("cs", SUITES, ids=SUITE_IDS)
def test_round_trip_of_every_value_of_a_run(cs: Ciphersuite) -> None:
    world = WORLDS[cs.id]
    values: list[Serializable] = [
        *world.key_shares.values(),
        *world.nonce_commitments,
        *world.signature_shares,
        *world.round1_secrets.values(),
        *world.round1_packages.values(),
        *world.round2_secrets.values(),
        *(share for shares in world.round2_shares.values() for share in shares.values()),
    ]
    for value in values:
        assert decode_as(encode(value), value) == value


@pytest.mark.parametrize("cs", SUITES, ids=SUITE_IDS)
def test_dkg_and_signing_through_encodings(cs: Ciphersuite) -> None:
    """A whole DKG and a signing session in which every value crosses as bytes."""
    rng = DeterministicRng(f"through-bytes/{cs.id}")
    ids = [Identifier.from_int(cs, n) for n in (3, 1, 2)]
    r1 = {i: part1(cs, i, 3, 2, rng) for i in ids}
    secrets1 = {i: decode(encode(r1[i][0]), Round1SecretPackage) for i in ids}
    packages = {i: decode(encode(r1[i][1]), Round1Package) for i in ids}
    secrets2 = {}
    inbox: dict[Identifier, list[Round2SecretShare]] = {i: [] for i in ids}
    for i in ids:
        secret2, outgoing = part2(secrets1[i], [packages[j] for j in ids if j != i])
        secrets2[i] = decode(encode(secret2), Round2SecretPackage)
        for recipient, share in outgoing.items():
            inbox[recipient].append(decode(encode(share), Round2SecretShare))
    keys = {}
    publics = []
    for i in ids:
        key_share, public = part3(secrets2[i], inbox[i])
        keys[i] = decode(encode(key_share), KeyShare)
        publics.append(encode(public))
    # Every party's public key package has the same canonical encoding.
    assert len(set(publics)) == 1
    public = decode(publics[0], PublicKeyPackage)

    signers = ids[1:]
    rounds = {i: commit(keys[i], rng) for i in signers}
    commitments = [decode(encode(c), SigningCommitments) for _, c in rounds.values()]
    package = SigningPackage(cs, commitments, MESSAGE)
    shares = [decode(encode(sign(package, rounds[i][0], keys[i])), SignatureShare) for i in signers]
    signature = decode(encode(aggregate(package, shares, public)), Signature)
    cs.verify(MESSAGE, signature, public.verifying_key)


def test_taproot_signature_with_odd_r_decodes_to_the_even_r_signature() -> None:
    world = WORLDS[FROST_SECP256K1_TR.id]
    even = Signature(FROST_SECP256K1_TR, even_y(world.signature.R), world.signature.z)
    odd = Signature(FROST_SECP256K1_TR, -even.R, even.z)
    assert encode(odd) == encode(even)
    decoded = decode(encode(odd), Signature)
    assert decoded == even
    FROST_SECP256K1_TR.verify(MESSAGE, decoded, world.public.verifying_key)


def test_tweaked_taproot_keys_round_trip() -> None:
    world = WORLDS[FROST_SECP256K1_TR.id]
    tweaked_share = tweak_key_share(world.key_shares[world.ids[0]], None)
    tweaked_public = tweak_public_key_package(world.public, None)
    assert decode(encode(tweaked_share), KeyShare) == tweaked_share
    assert decode(encode(tweaked_public), PublicKeyPackage) == tweaked_public


@pytest.mark.parametrize("cs", SUITES, ids=SUITE_IDS)
def test_maps_are_encoded_in_identifier_order_whatever_the_insertion_order(
    cs: Ciphersuite,
) -> None:
    world = WORLDS[cs.id]
    public = world.public
    reordered = PublicKeyPackage(
        cs,
        dict(reversed(list(public.verifying_shares.items()))),
        public.verifying_key,
        public.min_signers,
    )
    assert list(reordered.verifying_shares) != list(public.verifying_shares)
    assert encode(reordered) == encode(public)

    secret = world.round2_secrets[world.ids[0]]
    reversed_commitments = dict(reversed(list(secret.commitments.items())))
    reordered_secret = replace(secret, commitments=MappingProxyType(reversed_commitments))
    assert encode(reordered_secret) == encode(secret)


# -- the documented layout -------------------------------------------------------------------


@pytest.mark.parametrize("cs", SUITES, ids=SUITE_IDS)
def test_encodings_follow_the_documented_layout(cs: Ciphersuite) -> None:
    samples = WORLDS[cs.id].samples()
    for name, value in samples.items():
        assert encode(value) == raw_of(value), name
    expected = raw_of(samples["SigningCommitments"])
    assert expected[:2] == bytes([1, 0x01])
    assert expected[4 : 4 + len(cs.id)] == cs.id.encode()


# -- snapshots -------------------------------------------------------------------------------

# SHA-256 of the FROST(secp256k1, SHA-256) encodings of build_world's deterministic values,
# recorded once. If test_encodings_follow_the_documented_layout still passes, a mismatch
# means the test values changed (the dealer, the DKG or DeterministicRng); otherwise the
# wire and vault format changed, which needs a new FORMAT_VERSION and a migration rather
# than a new digest.
SNAPSHOTS = {
    "SigningCommitments": "00a1922ad4226c1db53b6e60192a9f3dd24de8786abb01cdb678f884b2ba159c",
    "SignatureShare": "33a9283610fdb05e7ca5f9bbb510e4e6a2200a23efc54aff73c861ef83548bda",
    "Signature": "103cbd4dfc1fd911b096fd9de59ec2d0b340ac8db6178f7b77a077b8702ee623",
    "PublicKeyPackage": "80041eac82d9957f28b6e3f86e05775b6d0c0bbc4a2880a64876303803097bc0",
    "KeyShare": "26912d2ca9574d9831c9edffca6975395f0326b3deaf58365843e78ba2c2b835",
    "Round1Package": "ada93bd2527ac5459ad5b1c1307b29038c44767b88312200f464bdbf7d37c95b",
    "Round2SecretShare": "8ccf06c309edf187a2c905a75fed3ba3c0e000315ac9e15ab9de3235de1010fb",
    "Round1SecretPackage": "53defadb8273ec4d92878b99d0612325fc55867b70bc45abd1ee273bd2bde3d6",
    "Round2SecretPackage": "fb16c9fdf8ba037c8003a8461b151b62d10a705f60ad66542adafb12afa9379a",
}


@pytest.mark.parametrize("name", TYPE_NAMES)
def test_snapshot(name: str) -> None:
    data = encode(WORLDS[FROST_SECP256K1.id].samples()[name])
    assert hashlib.sha256(data).hexdigest() == SNAPSHOTS[name]


def test_snapshot_of_the_header() -> None:
    data = encode(WORLDS[FROST_SECP256K1.id].samples()["SigningCommitments"])
    assert data[:29].hex() == "0101" + "0019" + b"FROST-secp256k1-SHA256-v1".hex()


def test_type_tags_are_distinct() -> None:
    assert len({int(tag) for tag in TypeTag}) == len(TypeTag) == len(TYPE_NAMES)
    tags = {encode(value)[1] for value in WORLDS[FROST_SECP256K1.id].samples().values()}
    assert len(tags) == len(TYPE_NAMES)


# -- header errors ---------------------------------------------------------------------------


@pytest.mark.parametrize(("cs", "name"), CASES, ids=CASE_IDS)
def test_unknown_ciphersuite_is_malformed(cs: Ciphersuite, name: str) -> None:
    value = WORLDS[cs.id].samples()[name]
    data = encode(value)
    for cs_id in (b"FROST-unknown-v1", b"", cs.id.encode().lower(), b"\xff\xfe"):
        forged = data[:2] + u16(len(cs_id)) + cs_id + body(data)
        with pytest.raises(MalformedPackage, match="unknown ciphersuite"):
            decode_as(forged, value)


def test_unknown_ciphersuite_is_not_echoed() -> None:
    value = WORLDS[FROST_SECP256K1.id].samples()["KeyShare"]
    data = encode(value)
    # A corrupt length prefix makes the "id" swallow the secret share; it must not be echoed.
    forged = data[:2] + u16(len(data) - 4) + data[4:]
    with pytest.raises(MalformedPackage) as info:
        decode(forged, KeyShare)
    for secret in secrets_of(value):
        assert secret not in error_texts(info.value)
    assert "FROST-secp256k1" not in str(info.value)


def test_ciphersuite_lookup_uses_the_registry() -> None:
    assert set(CIPHERSUITES) == {cs.id for cs in SUITES}
    # Bytes of one ciphersuite relabelled as another of the same group decode as the other.
    value = WORLDS[FROST_SECP256K1.id].samples()["SignatureShare"]
    assert isinstance(value, SignatureShare)
    relabelled = header(FROST_SECP256K1_TR, TypeTag.SIGNATURE_SHARE) + body(encode(value))
    decoded = decode(relabelled, SignatureShare)
    assert decoded.ciphersuite is FROST_SECP256K1_TR
    assert decoded != value


@pytest.mark.parametrize("version", [0, 2, 0xFF])
@pytest.mark.parametrize("name", TYPE_NAMES)
def test_other_format_versions_are_malformed(version: int, name: str) -> None:
    value = WORLDS[FROST_ED25519.id].samples()[name]
    data = encode(value)
    with pytest.raises(MalformedPackage, match="format version"):
        decode_as(bytes([version]) + data[1:], value)


@pytest.mark.parametrize("name", TYPE_NAMES)
def test_wrong_type_tag_is_malformed(name: str) -> None:
    samples = WORLDS[FROST_SECP256K1.id].samples()
    data = encode(samples[name])
    for other_name, other in samples.items():
        if other_name != name:
            with pytest.raises(MalformedPackage, match="type tag"):
                decode_as(data, other)


@pytest.mark.parametrize("tag", [0x00, 0x0A, 0xEE, 0xFF])
def test_unknown_type_tag_is_malformed(tag: int) -> None:
    value = WORLDS[FROST_SECP256K1.id].samples()["KeyShare"]
    data = encode(value)
    with pytest.raises(MalformedPackage, match="unknown"):
        decode(data[:1] + bytes([tag]) + data[2:], KeyShare)


def test_decoding_an_unsupported_type_is_a_type_error() -> None:
    with pytest.raises(TypeError):
        decode(b"", SigningPackage)  # type: ignore[type-var]


# -- truncation and trailing bytes ------------------------------------------------------------


@pytest.mark.parametrize(("cs", "name"), CASES, ids=CASE_IDS)
def test_every_truncation_is_malformed(cs: Ciphersuite, name: str) -> None:
    value = WORLDS[cs.id].samples()[name]
    data = encode(value)
    for length in range(len(data)):
        with pytest.raises(MalformedPackage):
            decode_as(data[:length], value)


@pytest.mark.parametrize("suffix", [b"\x00", b"\x01\x02\x03", b"\x00" * 64])
@pytest.mark.parametrize(("cs", "name"), CASES, ids=CASE_IDS)
def test_trailing_bytes_are_malformed(cs: Ciphersuite, name: str, suffix: bytes) -> None:
    value = WORLDS[cs.id].samples()[name]
    with pytest.raises(MalformedPackage, match="trailing"):
        decode_as(encode(value) + suffix, value)


# -- non-canonical scalars, elements and identifiers ------------------------------------------


def scalar_bytes(cs: Ciphersuite, value: int) -> bytes:
    """The group's byte order for a 32-byte integer, reduced or not."""
    if cs.group is ED25519:
        return value.to_bytes(32, "little")
    return value.to_bytes(32, "big")


def non_canonical_scalars(cs: Ciphersuite) -> list[bytes]:
    return [scalar_bytes(cs, cs.group.order), scalar_bytes(cs, 2**256 - 1)]


def off_curve_x() -> int:
    """An x coordinate with no secp256k1 point: x^3 + 7 is not a square mod p."""
    p = SECP256K1_FIELD_PRIME
    x = 1
    while pow(x**3 + 7, (p - 1) // 2, p) == 1:
        x += 1
    return x


def non_canonical_elements(cs: Ciphersuite) -> list[bytes]:
    if cs.group is ED25519:
        return [
            ED25519_IDENTITY,
            # y = p: a non-reduced encoding of y = 0.
            ED25519_FIELD_PRIME.to_bytes(32, "little"),
            # y = 0: a point of order 4.
            bytes(32),
            # The base point plus a point of order 8: not in the prime-order subgroup.
            bytes.fromhex("98519eadf35b995233b51b5cd23e9cc5a28b639b5a4af0ec903cb960d81b7819"),
        ]
    generator = SECP256K1.generator().to_bytes()
    return [
        b"\x04" + generator[1:],
        b"\x00" + generator[1:],
        b"\x02" + SECP256K1_FIELD_PRIME.to_bytes(32, "big"),
        b"\x02" + off_curve_x().to_bytes(32, "big"),
        bytes(33),
    ]


@pytest.mark.parametrize("cs", SUITES, ids=SUITE_IDS)
def test_non_canonical_scalars_are_malformed(cs: Ciphersuite) -> None:
    world = WORLDS[cs.id]
    k = world.key_shares[world.ids[0]]
    share = world.signature_shares[0]
    for bad in non_canonical_scalars(cs):
        with pytest.raises(MalformedPackage, match="share is not a canonical"):
            decode(raw_of(share, share=bad), SignatureShare)
        with pytest.raises(MalformedPackage, match="identifier is not a canonical") as info:
            decode(raw_of(share, identifier=bad), SignatureShare)
        assert isinstance(info.value.__cause__, GroupError)
        with pytest.raises(MalformedPackage, match="signing_share is not a canonical") as info:
            decode(raw_of(k, signing_share=bad), KeyShare)
        # A secret field's error does not carry the group layer's exception along.
        assert info.value.__cause__ is None


@pytest.mark.parametrize("cs", SUITES, ids=SUITE_IDS)
def test_non_canonical_elements_are_malformed(cs: Ciphersuite) -> None:
    world = WORLDS[cs.id]
    c = world.nonce_commitments[0]
    for bad in non_canonical_elements(cs):
        with pytest.raises(MalformedPackage, match="hiding is not a canonical") as info:
            decode(raw_of(c, hiding=bad), SigningCommitments)
        assert isinstance(info.value.__cause__, GroupError)
        with pytest.raises(MalformedPackage, match="binding is not a canonical"):
            decode(raw_of(c, binding=bad), SigningCommitments)
        with pytest.raises(MalformedPackage, match="verifying_key is not a canonical"):
            decode(raw_of(world.public, verifying_key=bad), PublicKeyPackage)


@pytest.mark.parametrize("cs", SUITES, ids=SUITE_IDS)
def test_malformed_signatures_are_malformed(cs: Ciphersuite) -> None:
    world = WORLDS[cs.id]
    data = world.signature.to_bytes()
    size = cs.group.scalar_size
    forged = [data[:-1], data + b"\x00", b""]
    forged += [data[:-size] + bad_z for bad_z in non_canonical_scalars(cs)]
    for bad in forged:
        with pytest.raises(MalformedPackage, match="signature"):
            decode(raw_of(world.signature, signature=u16(len(bad)) + bad), Signature)


# Where each type's first identifier starts in its body (a signature holds none).
IDENTIFIER_OFFSETS = {
    "SigningCommitments": 0,
    "SignatureShare": 0,
    "PublicKeyPackage": 2,
    "KeyShare": 0,
    "Round1Package": 0,
    "Round2SecretShare": 0,
    "Round1SecretPackage": 0,
    "Round2SecretPackage": 0,
}
IDENTIFIER_CASES = [(cs, name) for cs, name in CASES if name in IDENTIFIER_OFFSETS]


@pytest.mark.parametrize(
    ("cs", "name"), IDENTIFIER_CASES, ids=[f"{cs.id}-{name}" for cs, name in IDENTIFIER_CASES]
)
def test_zero_identifiers_are_malformed(cs: Ciphersuite, name: str) -> None:
    value = WORLDS[cs.id].samples()[name]
    data = encode(value)
    zero = bytes(cs.group.scalar_size)
    start = len(data) - len(body(data)) + IDENTIFIER_OFFSETS[name]
    forged = data[:start] + zero + data[start + len(zero) :]
    with pytest.raises(MalformedPackage, match="is zero"):
        decode_as(forged, value)


@pytest.mark.parametrize(
    ("cs", "to_itself", "match"),
    [(FROST_ED25519, False, "recipient is zero"), (FROST_SECP256K1, True, "to itself")],
    ids=["zero-recipient", "to-its-sender"],
)
def test_round2_secret_share_recipient_is_revalidated(
    cs: Ciphersuite, to_itself: bool, match: str
) -> None:
    world = WORLDS[cs.id]
    share = world.round2_shares[world.ids[0]][world.ids[1]]
    recipient = share.sender.to_bytes() if to_itself else bytes(cs.group.scalar_size)
    with pytest.raises(MalformedPackage, match=match):
        decode(raw_of(share, recipient=recipient), Round2SecretShare)


# -- maps --------------------------------------------------------------------------------------


def public_key_package_bytes(cs: Ciphersuite, entries: list[tuple[bytes, bytes]]) -> bytes:
    """The run's public key package with these (identifier, verifying share) entries."""
    shares = b"".join(i + e for i, e in entries)
    return raw_of(WORLDS[cs.id].public, count=u16(len(entries)), verifying_shares=shares)


def round2_secret_package_bytes(
    secret: Round2SecretPackage, order: list[Identifier], min_signers: int | None = None
) -> bytes:
    """``secret`` with its commitments in the given identifier ``order``."""
    commitments = b"".join(
        i.to_bytes() + b"".join(e.to_bytes() for e in secret.commitments[i]) for i in order
    )
    if min_signers is None:
        return raw_of(secret, commitments=commitments)
    return raw_of(secret, commitments=commitments, min_signers=u16(min_signers))


# Two ways out of the one canonical order of a map's identifiers, by the error they give.
MAP_DISORDERS: dict[str, Callable[[list[Identifier]], list[Identifier]]] = {
    "duplicate identifier": lambda ids: [ids[0], ids[0], ids[1]],
    "not sorted": lambda ids: ids[::-1],
}


@pytest.mark.parametrize("disorder", list(MAP_DISORDERS), ids=["duplicate", "unsorted"])
@pytest.mark.parametrize("cs", SUITES, ids=SUITE_IDS)
def test_maps_out_of_identifier_order_are_malformed(cs: Ciphersuite, disorder: str) -> None:
    reorder = MAP_DISORDERS[disorder]
    world = WORLDS[cs.id]
    shares = world.public.verifying_shares
    entries = [(i.to_bytes(), shares[i].to_bytes()) for i in reorder(sorted_ids(shares))]
    with pytest.raises(MalformedPackage, match=disorder):
        decode(public_key_package_bytes(cs, entries), PublicKeyPackage)

    secret = world.round2_secrets[world.ids[0]]
    forged = round2_secret_package_bytes(secret, reorder(sorted_ids(secret.commitments)))
    with pytest.raises(MalformedPackage, match=disorder):
        decode(forged, Round2SecretPackage)


# -- invariants ----------------------------------------------------------------------------------


@pytest.mark.parametrize("cs", SUITES, ids=SUITE_IDS)
def test_public_key_package_threshold_is_revalidated(cs: Ciphersuite) -> None:
    public = WORLDS[cs.id].public
    n = len(public.verifying_shares)
    for min_signers in (0, 1, n + 1, 0xFFFF):
        with pytest.raises(MalformedPackage, match="threshold"):
            decode(raw_of(public, min_signers=u16(min_signers)), PublicKeyPackage)
    empty = raw_of(public, count=u16(0), verifying_shares=b"", min_signers=u16(2))
    with pytest.raises(MalformedPackage, match="threshold"):
        decode(empty, PublicKeyPackage)


@pytest.mark.parametrize("cs", SUITES, ids=SUITE_IDS)
def test_key_share_with_a_wrong_verifying_share_is_malformed(cs: Ciphersuite) -> None:
    world = WORLDS[cs.id]
    k, other = (world.key_shares[i] for i in world.ids[:2])
    forged = raw_of(k, verifying_share=other.verifying_share.to_bytes())
    with pytest.raises(MalformedPackage, match="verifying_share does not match") as info:
        decode(forged, KeyShare)
    assert k.signing_share.to_bytes().hex() not in error_texts(info.value)
    # The secret share of another party under this party's public data: refused too.
    forged = raw_of(k, signing_share=other.signing_share.to_bytes())
    with pytest.raises(MalformedPackage, match="verifying_share does not match"):
        decode(forged, KeyShare)


@pytest.mark.parametrize("min_signers", [0, 1])
def test_key_share_threshold_is_revalidated(min_signers: int) -> None:
    world = WORLDS[FROST_SECP256K1.id]
    k = world.key_shares[world.ids[0]]
    with pytest.raises(MalformedPackage, match="threshold"):
        decode(raw_of(k, min_signers=u16(min_signers)), KeyShare)


@pytest.mark.parametrize("cs", SUITES, ids=SUITE_IDS)
def test_round1_package_with_a_short_commitment_is_malformed(cs: Ciphersuite) -> None:
    world = WORLDS[cs.id]
    p = world.round1_packages[world.ids[0]]
    for count in (0, 1):
        forged = raw_of(p, **listed("commitment", p.commitment[:count]))
        with pytest.raises(MalformedPackage, match="at least 2 elements"):
            decode(forged, Round1Package)


@pytest.mark.parametrize("cs", SUITES, ids=SUITE_IDS)
def test_round1_secret_package_invariants_are_revalidated(cs: Ciphersuite) -> None:
    world = WORLDS[cs.id]
    s = world.round1_secrets[world.ids[0]]

    def forged(coefficients: list[bytes], max_signers: int) -> bytes:
        return raw_of(
            s,
            count=u16(len(coefficients)),
            coefficients=b"".join(coefficients),
            max_signers=u16(max_signers),
        )

    good = [a.to_bytes() for a in s.coefficients]
    with pytest.raises(MalformedPackage, match="constant term"):
        decode(forged([bytes(cs.group.scalar_size), *good[1:]], s.max_signers), Round1SecretPackage)
    with pytest.raises(MalformedPackage, match="threshold"):
        decode(forged(good[:1], s.max_signers), Round1SecretPackage)
    with pytest.raises(MalformedPackage, match="threshold"):
        decode(forged([], s.max_signers), Round1SecretPackage)
    with pytest.raises(MalformedPackage, match="threshold"):
        decode(forged(good, len(good) - 1), Round1SecretPackage)
    # The commitment is recomputed from the polynomial.
    decoded = decode(forged(good, s.max_signers), Round1SecretPackage)
    assert decoded.commitment == world.round1_packages[world.ids[0]].commitment


@pytest.mark.parametrize("cs", SUITES, ids=SUITE_IDS)
def test_round2_secret_package_invariants_are_revalidated(cs: Ciphersuite) -> None:
    world = WORLDS[cs.id]
    secret = world.round2_secrets[world.ids[0]]
    order = sorted_ids(secret.commitments)

    other_share = world.round2_secrets[world.ids[1]].own_share
    wrong_share = replace(secret, own_share=other_share)
    with pytest.raises(MalformedPackage, match="own_share does not match") as info:
        decode(round2_secret_package_bytes(wrong_share, order), Round2SecretPackage)
    assert other_share.to_bytes().hex() not in error_texts(info.value)

    # Only the other parties' commitments, max_signers lowered to match.
    without_own = [i for i in order if i != secret.identifier]
    forged = round2_secret_package_bytes(replace(secret, max_signers=2), without_own)
    with pytest.raises(MalformedPackage, match="own commitment is missing"):
        decode(forged, Round2SecretPackage)

    with pytest.raises(MalformedPackage, match="threshold"):
        decode(round2_secret_package_bytes(secret, order, min_signers=1), Round2SecretPackage)
    too_many = replace(secret, max_signers=1)
    with pytest.raises(MalformedPackage, match="threshold"):
        decode(round2_secret_package_bytes(too_many, order[:1]), Round2SecretPackage)


# -- encoding errors ---------------------------------------------------------------------------


def test_unsupported_types_are_refused() -> None:
    world = WORLDS[FROST_SECP256K1.id]
    nonces, _ = commit(world.key_shares[world.ids[0]], DeterministicRng("nonces"))
    with pytest.raises(TypeError, match="SigningNonces"):
        encode(nonces)  # type: ignore[arg-type]
    package = SigningPackage(FROST_SECP256K1, world.nonce_commitments, MESSAGE)
    with pytest.raises(TypeError):
        encode(package)  # type: ignore[arg-type]


def test_unregistered_ciphersuites_are_refused() -> None:
    world = WORLDS[FROST_SECP256K1.id]
    share = world.signature_shares[0]
    for cs in (Secp256k1Sha256(b"FROST-custom-v1"), Secp256k1Sha256()):
        with pytest.raises(InvalidParameters, match="not registered"):
            encode(replace(share, ciphersuite=cs))


def test_components_of_another_group_are_refused() -> None:
    secp = WORLDS[FROST_SECP256K1.id]
    ed = WORLDS[FROST_ED25519.id]
    c = secp.nonce_commitments[0]
    with pytest.raises(CiphersuiteMismatch, match="hiding"):
        encode(replace(c, hiding=ed.nonce_commitments[0].hiding))
    with pytest.raises(CiphersuiteMismatch, match="identifier"):
        encode(replace(c, identifier=ed.nonce_commitments[0].identifier))
    share = secp.signature_shares[0]
    with pytest.raises(CiphersuiteMismatch, match="share"):
        encode(replace(share, share=ed.signature_shares[0].share))
    # A proof of knowledge made under another ciphersuite of the same group.
    tr = WORLDS[FROST_SECP256K1_TR.id]
    package = secp.round1_packages[secp.ids[0]]
    foreign_proof = tr.round1_packages[tr.ids[0]].proof_of_knowledge
    with pytest.raises(CiphersuiteMismatch, match="proof_of_knowledge"):
        encode(replace(package, proof_of_knowledge=foreign_proof))


def test_identity_elements_have_no_encoding() -> None:
    world = WORLDS[FROST_ED25519.id]
    package = world.round1_packages[world.ids[0]]
    with pytest.raises(GroupError):
        encode(replace(package, commitment=(package.commitment[0], ED25519.identity())))


@pytest.mark.parametrize("cs", SUITES, ids=SUITE_IDS)
def test_values_that_decoding_would_refuse_are_not_encoded(cs: Ciphersuite) -> None:
    world = WORLDS[cs.id]
    first, second = world.ids[0], world.ids[1]
    k = world.key_shares[first]
    other = world.key_shares[second]
    refused: list[Serializable] = [
        replace(k, verifying_share=other.verifying_share),
        replace(k, min_signers=1),
        replace(
            world.round1_packages[first], commitment=world.round1_packages[first].commitment[:1]
        ),
        replace(world.round2_shares[first][second], recipient=first),
    ]
    s1 = world.round1_secrets[first]
    refused += [
        replace(s1, commitment=world.round1_packages[second].commitment),
        replace(s1, min_signers=s1.min_signers + 1),
        replace(s1, max_signers=1),
    ]
    s2 = world.round2_secrets[first]
    refused += [
        replace(s2, own_share=world.round2_secrets[second].own_share),
        replace(s2, max_signers=s2.max_signers + 1),
        replace(s2, commitments=MappingProxyType({i: c[:1] for i, c in s2.commitments.items()})),
        replace(
            s2,
            commitments=MappingProxyType({i: c for i, c in s2.commitments.items() if i != first}),
            max_signers=2,
        ),
    ]
    for value in refused:
        with pytest.raises(InvalidParameters, match="cannot encode") as info:
            encode(value)
        for secret in secrets_of(value):
            assert secret not in error_texts(info.value)


def test_counts_that_do_not_fit_two_bytes_are_refused() -> None:
    world = WORLDS[FROST_SECP256K1.id]
    k = world.key_shares[world.ids[0]]
    with pytest.raises(InvalidParameters, match="two bytes"):
        encode(replace(k, min_signers=0x10000))
    # A Round1SecretPackage is built from its own polynomial, so its counts are real.
    coefficients = [SECP256K1.scalar(1)] * 3
    secret = round1_secret_package(FROST_SECP256K1, world.ids[0], coefficients, 0x10000)
    with pytest.raises(InvalidParameters, match="max_signers"):
        encode(secret)


# -- no secret in any error ----------------------------------------------------------------------


SECRET_CASES = [(cs, name) for cs, name in CASES if secrets_of(WORLDS[cs.id].samples()[name])]


@pytest.mark.parametrize(
    ("cs", "name"), SECRET_CASES, ids=[f"{cs.id}-{name}" for cs, name in SECRET_CASES]
)
def test_no_error_message_holds_a_secret(cs: Ciphersuite, name: str) -> None:
    value = WORLDS[cs.id].samples()[name]
    data = encode(value)
    secrets = secrets_of(value)
    # Every secret's first 8 bytes too: a message could print a prefix.
    needles = secrets + [s[:16] for s in secrets]
    corruptions = [data[:length] for length in range(len(data))]
    corruptions += [flip(data, index, 0xFF) for index in range(len(data))]
    corruptions += [flip(data, index, 0x01) for index in range(len(data))]
    for corrupted in corruptions:
        try:
            decode_as(corrupted, value)
        except MalformedPackage as exc:
            texts = error_texts(exc) + repr(exc)
            assert not any(needle in texts for needle in needles)


# -- properties ----------------------------------------------------------------------------------


encoded_cases = st.sampled_from(ENCODED)


@settings(max_examples=300, deadline=None)
@given(case=encoded_cases, data=st.data())
def test_any_truncation_is_malformed(case: Any, data: st.DataObject) -> None:
    _, _, value, encoded = case
    length = data.draw(st.integers(min_value=0, max_value=len(encoded) - 1))
    with pytest.raises(MalformedPackage):
        decode_as(encoded[:length], value)


@settings(max_examples=500, deadline=None)
@given(case=encoded_cases, data=st.data())
def test_any_byte_flip_is_malformed_or_another_value(case: Any, data: st.DataObject) -> None:
    _, _, value, encoded = case
    index = data.draw(st.integers(min_value=0, max_value=len(encoded) - 1))
    mask = data.draw(st.integers(min_value=1, max_value=255))
    corrupted = flip(encoded, index, mask)
    try:
        decoded = decode_as(corrupted, value)
    except MalformedPackage:
        return
    assert decoded != canonical(value)
    # Whatever decodes is canonical: it encodes back to exactly the bytes it came from.
    assert encode(decoded) == corrupted


@settings(max_examples=300, deadline=None)
@given(case=encoded_cases, garbage=st.binary(max_size=600))
def test_arbitrary_bodies_are_malformed_or_canonical(case: Any, garbage: bytes) -> None:
    _, _, value, encoded = case
    forged = encoded[: len(encoded) - len(body(encoded))] + garbage
    try:
        decoded = decode_as(forged, value)
    except MalformedPackage:
        return
    assert encode(decoded) == forged


@settings(max_examples=300, deadline=None)
@given(case=encoded_cases, garbage=st.binary(max_size=300))
def test_arbitrary_bytes_are_malformed(case: Any, garbage: bytes) -> None:
    _, _, value, _ = case
    with pytest.raises(MalformedPackage):
        decode_as(garbage, value)
