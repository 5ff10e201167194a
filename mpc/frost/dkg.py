"""Distributed key generation without a dealer: FROST's KeyGen (Komlo–Goldberg 2020, Fig. 1).

Each of the ``n`` parties deals a random polynomial of degree ``t - 1`` to the others with
Feldman commitments (RFC 9591 Appendix C.2) and proves knowledge of its constant term with
a Schnorr proof bound to its identifier, which defeats rogue-key attacks. The three parts
follow ZcashFoundation/frost's ``keys::dkg`` and interoperate with its test vectors:

- ``part1``: sample the polynomial, commit, prove; broadcast a :class:`Round1Package`.
- ``part2``: check every round-1 package (count, identifiers, commitment length, proof),
  then compute one :class:`Round2SecretShare` per other party, to be sealed to it.
- ``part3``: check every received share against its sender's commitment, then derive
  this party's :class:`~mpc.frost.keys.KeyShare` and the group's
  :class:`~mpc.frost.keys.PublicKeyPackage`.

The round-1 packages must reach every party identically (a broadcast channel); the
caller checks that all parties ended with the same public key package.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType

from mpc.frost.ciphersuite import Ciphersuite
from mpc.frost.errors import (
    CiphersuiteMismatch,
    DuplicateIdentifier,
    IncorrectNumberOfCommitments,
    IncorrectNumberOfPackages,
    InvalidParameters,
    InvalidProofOfKnowledge,
    InvalidSecretShare,
    UnknownIdentifier,
)
from mpc.frost.identifier import Identifier
from mpc.frost.keys import KeyShare, PublicKeyPackage, validate_threshold
from mpc.frost.signature import Signature
from mpc.frost.vss import evaluate_commitment, evaluate_polynomial, vss_commit, vss_verify
from mpc.group import DEFAULT_RNG, Element, Rng, Scalar


@dataclass(frozen=True, slots=True)
class Round1Package:
    """A party's public round-1 broadcast: its VSS commitment and proof of knowledge."""

    ciphersuite: Ciphersuite
    sender: Identifier
    commitment: tuple[Element, ...]
    proof_of_knowledge: Signature


@dataclass(frozen=True, slots=True, repr=False)
class Round1SecretPackage:
    """A party's secret state between part 1 and part 2: its polynomial."""

    ciphersuite: Ciphersuite
    identifier: Identifier
    coefficients: tuple[Scalar, ...]
    commitment: tuple[Element, ...]
    min_signers: int
    max_signers: int

    def __repr__(self) -> str:
        return f"Round1SecretPackage({self.identifier}, <redacted>)"


@dataclass(frozen=True, slots=True, repr=False)
class Round2SecretShare:
    """The share ``f_sender(recipient)``: secret, sealed to its recipient before it leaves."""

    ciphersuite: Ciphersuite
    sender: Identifier
    recipient: Identifier
    signing_share: Scalar

    def __repr__(self) -> str:
        return f"Round2SecretShare({self.sender} -> {self.recipient}, <redacted>)"


@dataclass(frozen=True, slots=True, repr=False)
class Round2SecretPackage:
    """A party's secret state between part 2 and part 3.

    It keeps the commitments checked in part 2, so part 3 verifies shares against exactly
    the packages whose proofs were verified.
    """

    ciphersuite: Ciphersuite
    identifier: Identifier
    own_share: Scalar
    commitments: Mapping[Identifier, tuple[Element, ...]] = field(hash=False)
    min_signers: int
    max_signers: int

    def __repr__(self) -> str:
        return f"Round2SecretPackage({self.identifier}, <redacted>)"


def _challenge(
    ciphersuite: Ciphersuite, identifier: Identifier, phi0: Element, R: Element
) -> Scalar:
    # KeyGen round 1 step 2: c = H(i, Φ, g^{a_i0}, R_i), with frost's HDKG as H.
    return ciphersuite.HDKG(identifier.to_bytes() + phi0.to_bytes() + R.to_bytes())


def round1_secret_package(
    ciphersuite: Ciphersuite,
    identifier: Identifier,
    coefficients: Sequence[Scalar],
    max_signers: int,
) -> Round1SecretPackage:
    """The round-1 secret state for a given polynomial ``coefficients`` (a_0 first)."""
    validate_threshold(len(coefficients), max_signers)
    if coefficients[0].is_zero():
        raise InvalidParameters("the secret constant term must be non-zero")
    return Round1SecretPackage(
        ciphersuite,
        identifier,
        tuple(coefficients),
        vss_commit(ciphersuite.group, coefficients),
        len(coefficients),
        max_signers,
    )


def part1(
    ciphersuite: Ciphersuite,
    identifier: Identifier,
    max_signers: int,
    min_signers: int,
    rng: Rng = DEFAULT_RNG,
) -> tuple[Round1SecretPackage, Round1Package]:
    """KeyGen round 1 (steps 1-4): a random polynomial, its commitment, and the proof."""
    validate_threshold(min_signers, max_signers)
    if identifier.scalar.group is not ciphersuite.group:
        raise CiphersuiteMismatch("identifier of another group", [identifier])
    group = ciphersuite.group
    # Step 1: a_i0 (the party's secret contribution) and t - 1 further coefficients.
    coefficients = [group.random_nonzero_scalar(rng)]
    coefficients += [group.random_scalar(rng) for _ in range(min_signers - 1)]
    secret_package = round1_secret_package(ciphersuite, identifier, coefficients, max_signers)
    # Step 2: a Schnorr proof of knowledge of a_i0, bound to the identifier.
    k, R = ciphersuite.proof_nonce(rng)
    phi0 = secret_package.commitment[0]
    mu = k + coefficients[0] * _challenge(ciphersuite, identifier, phi0, R)
    proof = Signature(ciphersuite, R, mu)
    # Steps 3-4: broadcast the commitment and the proof.
    return secret_package, Round1Package(ciphersuite, identifier, secret_package.commitment, proof)


def verify_proof_of_knowledge(package: Round1Package) -> None:
    """KeyGen round 1 step 5: ``R == G*mu - phi_0*c``; raises naming the sender."""
    ciphersuite = package.ciphersuite
    phi0 = package.commitment[0]
    proof = package.proof_of_knowledge
    c = _challenge(ciphersuite, package.sender, phi0, proof.R)
    if ciphersuite.group.base_mul(proof.z) - phi0 * c != proof.R:
        raise InvalidProofOfKnowledge("invalid proof of knowledge", [package.sender])


def _check_senders(
    own: Identifier, senders: Sequence[Identifier], expected: int, what: str
) -> None:
    if len(senders) != expected:
        raise IncorrectNumberOfPackages(f"expected {expected} {what}, received {len(senders)}")
    if own in senders:
        raise UnknownIdentifier(f"{what} claim to come from this party itself", [own])
    duplicates = sorted({s for s in senders if senders.count(s) > 1})
    if duplicates:
        raise DuplicateIdentifier(f"two {what} from one sender", duplicates)


def part2(
    secret_package: Round1SecretPackage, round1_packages: Sequence[Round1Package]
) -> tuple[Round2SecretPackage, dict[Identifier, Round2SecretShare]]:
    """KeyGen round 1 step 5 and round 2 step 1: verify every peer, then deal shares."""
    ciphersuite = secret_package.ciphersuite
    own = secret_package.identifier
    # Counts, identifiers and ciphersuites are checked before any arithmetic.
    _check_senders(
        own, [p.sender for p in round1_packages], secret_package.max_signers - 1, "round-1 packages"
    )
    foreign = [p.sender for p in round1_packages if p.ciphersuite is not ciphersuite]
    if foreign:
        raise CiphersuiteMismatch("round-1 packages of another ciphersuite", foreign)
    short = [p.sender for p in round1_packages if len(p.commitment) != secret_package.min_signers]
    if short:
        raise IncorrectNumberOfCommitments(
            f"a VSS commitment must have exactly {secret_package.min_signers} elements", short
        )
    culprits = []
    for package in round1_packages:
        try:
            verify_proof_of_knowledge(package)
        except InvalidProofOfKnowledge:
            culprits.append(package.sender)
    if culprits:
        raise InvalidProofOfKnowledge("invalid proof of knowledge", culprits)

    # Round 2 step 1: f_i(l) for every other party l, sent to l alone.
    shares = {
        package.sender: Round2SecretShare(
            ciphersuite,
            own,
            package.sender,
            evaluate_polynomial(secret_package.coefficients, package.sender.scalar),
        )
        for package in round1_packages
    }
    commitments = {package.sender: package.commitment for package in round1_packages}
    commitments[own] = secret_package.commitment
    round2_secret = Round2SecretPackage(
        ciphersuite,
        own,
        evaluate_polynomial(secret_package.coefficients, own.scalar),
        MappingProxyType(commitments),
        secret_package.min_signers,
        secret_package.max_signers,
    )
    return round2_secret, shares


def part3(
    secret_package: Round2SecretPackage, round2_shares: Sequence[Round2SecretShare]
) -> tuple[KeyShare, PublicKeyPackage]:
    """KeyGen round 2 steps 2-4: verify received shares, derive the key share and group key."""
    ciphersuite = secret_package.ciphersuite
    own = secret_package.identifier
    group = ciphersuite.group
    _check_senders(
        own, [s.sender for s in round2_shares], secret_package.max_signers - 1, "round-2 shares"
    )
    foreign = [s.sender for s in round2_shares if s.ciphersuite is not ciphersuite]
    if foreign:
        raise CiphersuiteMismatch("round-2 shares of another ciphersuite", foreign)
    strangers = [s.sender for s in round2_shares if s.sender not in secret_package.commitments]
    if strangers:
        raise UnknownIdentifier("round-2 shares from parties without round-1 packages", strangers)
    misdirected = [s.sender for s in round2_shares if s.recipient != own]
    if misdirected:
        raise UnknownIdentifier("round-2 shares addressed to another party", misdirected)

    # Step 2: every share must match its sender's commitment at our identifier.
    culprits = [
        share.sender
        for share in round2_shares
        if not vss_verify(group, own, share.signing_share, secret_package.commitments[share.sender])
    ]
    if culprits:
        raise InvalidSecretShare("secret share fails its VSS check", culprits)

    # Step 3: s_i = sum over all l of f_l(i), our own contribution included.
    signing_share = secret_package.own_share
    for share in round2_shares:
        signing_share = signing_share + share.signing_share

    # Step 4: the group key is the sum of constant-term commitments; every party's
    # verifying share is the summed commitment evaluated at its identifier.
    summed = [group.identity()] * secret_package.min_signers
    for commitment in secret_package.commitments.values():
        summed = [a + b for a, b in zip(summed, commitment, strict=True)]
    verifying_key = summed[0]
    verifying_shares = {
        identifier: evaluate_commitment(summed, identifier)
        for identifier in secret_package.commitments
    }
    key_share = KeyShare(
        ciphersuite,
        own,
        signing_share,
        verifying_shares[own],
        verifying_key,
        secret_package.min_signers,
    )
    public_key_package = PublicKeyPackage(
        ciphersuite, verifying_shares, verifying_key, secret_package.min_signers
    )
    return key_share, public_key_package
