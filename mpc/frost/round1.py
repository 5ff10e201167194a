"""FROST round one: commitment (RFC 9591 §5.1).

Each signer draws a hiding and a binding nonce and publishes their commitments. The
nonces are secret and single-use: :class:`SigningNonces` hands them out once and raises
:class:`NonceReuse` on any later attempt, since two signature shares under the same
nonces and different binding factors reveal the signing share.
"""

from __future__ import annotations

from dataclasses import dataclass

from mpc.frost.ciphersuite import Ciphersuite
from mpc.frost.errors import IdentityCommitment, MalformedPackage, NonceReuse
from mpc.frost.identifier import Identifier
from mpc.frost.keys import KeyShare
from mpc.group import DEFAULT_RNG, Element, GroupError, Rng, Scalar


@dataclass(frozen=True, slots=True)
class SigningCommitments:
    """A signer's public round-one output: commitments to its two nonces."""

    ciphersuite: Ciphersuite
    identifier: Identifier
    hiding: Element
    binding: Element

    def __post_init__(self) -> None:
        # RFC 9591 §4.3: commitments are deserialized with DeserializeElement, which refuses
        # the identity; an identity commitment would expose the signer's share in round 2.
        if self.hiding.is_identity() or self.binding.is_identity():
            raise IdentityCommitment("a signing commitment is the identity", [self.identifier])


class SigningNonces:
    """A signer's secret round-one state: the hiding and binding nonces, usable once."""

    __slots__ = ("_binding", "_consumed", "_hiding", "commitments")

    def __init__(self, hiding: Scalar, binding: Scalar, commitments: SigningCommitments) -> None:
        self._hiding = hiding
        self._binding = binding
        self._consumed = False
        self.commitments = commitments

    def __repr__(self) -> str:
        state = "consumed" if self._consumed else "fresh"
        return f"SigningNonces({self.commitments.identifier}, {state}, <redacted>)"

    @property
    def consumed(self) -> bool:
        return self._consumed

    def unsafe_export(self) -> bytes:
        """``SerializeScalar(hiding) || SerializeScalar(binding)``, without consuming.

        Only for a party's own encrypted vault, which then enforces single use durably
        (a consumed record is never handed out again); anything else must not copy nonces.
        """
        if self._consumed:
            raise NonceReuse(
                "these signing nonces were already used", [self.commitments.identifier]
            )
        return self._hiding.to_bytes() + self._binding.to_bytes()

    def consume(self) -> tuple[Scalar, Scalar]:
        """Returns ``(hiding, binding)`` exactly once; every later call raises."""
        if self._consumed:
            raise NonceReuse(
                "these signing nonces were already used", [self.commitments.identifier]
            )
        self._consumed = True
        hiding, binding = self._hiding, self._binding
        # Drop the references so the consumed object no longer keeps the nonces alive.
        zero = hiding.group.scalar(0)
        self._hiding = zero
        self._binding = zero
        return hiding, binding


def nonce_generate(ciphersuite: Ciphersuite, secret: Scalar, rng: Rng = DEFAULT_RNG) -> Scalar:
    """RFC 9591 §4.1 nonce_generate: ``H3(random_bytes(32) || SerializeScalar(secret))``.

    Mixing the signing share in means a weak random source alone does not expose nonces.
    """
    return nonce_generate_from_randomness(ciphersuite, secret, rng(32))


def nonce_generate_from_randomness(
    ciphersuite: Ciphersuite, secret: Scalar, random_bytes: bytes
) -> Scalar:
    """RFC 9591 §4.1 with the 32 random bytes supplied (the test vectors fix them)."""
    return ciphersuite.H3(random_bytes + secret.to_bytes())


def commit(key_share: KeyShare, rng: Rng = DEFAULT_RNG) -> tuple[SigningNonces, SigningCommitments]:
    """RFC 9591 §5.1 commit."""
    ciphersuite = key_share.ciphersuite
    hiding = nonce_generate(ciphersuite, key_share.signing_share, rng)
    binding = nonce_generate(ciphersuite, key_share.signing_share, rng)
    return signing_nonces_from_scalars(key_share, hiding, binding)


def signing_nonces_from_scalars(
    key_share: KeyShare, hiding: Scalar, binding: Scalar
) -> tuple[SigningNonces, SigningCommitments]:
    """Builds the round-one output from given nonces (used by ``commit`` and by vectors)."""
    group = key_share.ciphersuite.group
    commitments = SigningCommitments(
        key_share.ciphersuite, key_share.identifier, group.base_mul(hiding), group.base_mul(binding)
    )
    return SigningNonces(hiding, binding, commitments), commitments


def unsafe_import_signing_nonces(
    key_share: KeyShare, exported: bytes
) -> tuple[SigningNonces, SigningCommitments]:
    """Restores nonces written by :meth:`SigningNonces.unsafe_export` (from the vault)."""
    group = key_share.ciphersuite.group
    size = group.scalar_size
    if len(exported) != 2 * size:
        raise MalformedPackage(f"exported signing nonces are {2 * size} bytes")
    try:
        hiding = group.deserialize_scalar(exported[:size])
        binding = group.deserialize_scalar(exported[size:])
    except GroupError:
        raise MalformedPackage("exported signing nonces are not scalars") from None
    return signing_nonces_from_scalars(key_share, hiding, binding)
