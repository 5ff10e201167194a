"""FROST round one: commitment (RFC 9591 §5.1).

Each signer draws a hiding and a binding nonce and publishes their commitments. The
nonces are secret and single-use: :class:`SigningNonces` hands them out once and raises
:class:`NonceReuse` on any later attempt, since two signature shares under the same
nonces and different binding factors reveal the signing share.

Single use holds for the nonces, not only for one object: a process-wide registry records
a fingerprint of every pair of nonces consumed, so nonces copied out with
:meth:`SigningNonces.unsafe_export` and restored with :func:`unsafe_import_signing_nonces`
(or rebuilt with :func:`signing_nonces_from_scalars`) are refused as well once used. The
fingerprint is a domain-separated hash of the nonces' public commitments, never a form
of the secret. Its limit: the registry lives in one process's memory, so it does not
survive a restart and is not shared with other processes (a forked child starts with a
copy that then diverges). The party's vault, which marks nonces consumed durably before
a share leaves it (``storage/vault``), stays the first line of defence; this is the
second, below it. A retried round two with identical inputs never reaches this check:
the vault answers it with the stored share without signing again. The registry keeps a
32-byte digest per consumed pair (about 100 bytes of memory with the set's overhead) for
the life of the process.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from mpc.frost.ciphersuite import Ciphersuite
from mpc.frost.errors import IdentityCommitment, MalformedPackage, NonceReuse
from mpc.frost.identifier import Identifier
from mpc.frost.keys import KeyShare
from mpc.group import DEFAULT_RNG, Element, Group, GroupError, Rng, Scalar


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


_FINGERPRINT_DOMAIN = b"quorate/frost/consumed-signing-nonces/v1"


def _nonce_fingerprint(group: Group, hiding: Element, binding: Element) -> bytes:
    """``SHA-256(domain || len(group) || group || hiding || binding)`` over the commitments.

    Only public values go in: the commitments are sent to every signer anyway, and the
    hash is keyed by the group so equal encodings in two groups stay apart. The signer's
    identifier is left out on purpose: the same nonces under two key shares are a reuse too.
    """
    name = group.name.encode()
    return hashlib.sha256(
        _FINGERPRINT_DOMAIN
        + len(name).to_bytes(2, "big")
        + name
        + hiding.to_bytes()
        + binding.to_bytes()
    ).digest()


class _ConsumedNonces:
    """The process-wide set of fingerprints of consumed nonces; see the module docstring."""

    __slots__ = ("_fingerprints", "_lock")

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._fingerprints: set[bytes] = set()

    def __contains__(self, fingerprint: bytes) -> bool:
        with self._lock:
            return fingerprint in self._fingerprints

    def claim(self, fingerprint: bytes) -> bool:
        """Records ``fingerprint``; ``False`` if it was already there (check and add as one)."""
        with self._lock:
            if fingerprint in self._fingerprints:
                return False
            self._fingerprints.add(fingerprint)
            return True


_consumed_nonces = _ConsumedNonces()


@contextmanager
def _unsafe_isolated_nonce_registry() -> Iterator[None]:
    """Test-only: a fresh, empty registry for the block; the previous one is put back after.

    The RFC 9591 vectors and other tests sign with fixed nonces, and may do so again in the
    same process. Only ``tests/mpc/frost_nonce_registry.py`` calls this (a test checks that
    nothing outside ``tests/`` does); no flag or environment variable reaches it.
    """
    global _consumed_nonces
    saved = _consumed_nonces
    _consumed_nonces = _ConsumedNonces()
    try:
        yield
    finally:
        _consumed_nonces = saved


class SigningNonces:
    """A signer's secret round-one state: the hiding and binding nonces, usable once.

    Once :meth:`consume` has handed the nonces out, this object and every other object
    holding the same nonces in this process (after :meth:`unsafe_export` and
    :func:`unsafe_import_signing_nonces`, say) refuse them with :class:`NonceReuse`.
    """

    __slots__ = ("_binding", "_consumed", "_fingerprint", "_hiding", "commitments")

    def __init__(self, hiding: Scalar, binding: Scalar, commitments: SigningCommitments) -> None:
        group = commitments.ciphersuite.group
        # The registry is keyed by the commitments, so they must be these nonces' own:
        # otherwise an object built with other commitments would slip past it.
        if group.base_mul(hiding) != commitments.hiding or (
            group.base_mul(binding) != commitments.binding
        ):
            raise MalformedPackage(
                "signing commitments do not match the nonces", [commitments.identifier]
            )
        self._set(hiding, binding, commitments)

    @classmethod
    def _with_own_commitments(
        cls, hiding: Scalar, binding: Scalar, commitments: SigningCommitments
    ) -> SigningNonces:
        """For :func:`signing_nonces_from_scalars`, which just computed ``commitments`` from
        the nonces: the check in ``__init__`` would only repeat two scalar multiplications."""
        nonces = cls.__new__(cls)
        nonces._set(hiding, binding, commitments)
        return nonces

    def _set(self, hiding: Scalar, binding: Scalar, commitments: SigningCommitments) -> None:
        group = commitments.ciphersuite.group
        self._hiding = hiding
        self._binding = binding
        self._consumed = False
        self._fingerprint = _nonce_fingerprint(group, commitments.hiding, commitments.binding)
        self.commitments = commitments

    def __repr__(self) -> str:
        state = "consumed" if self.consumed else "fresh"
        return f"SigningNonces({self.commitments.identifier}, {state}, <redacted>)"

    @property
    def consumed(self) -> bool:
        """Whether these nonces were used, through this object or any other in the process."""
        return self._consumed or self._fingerprint in _consumed_nonces

    def _refuse_reuse(self) -> NonceReuse:
        return NonceReuse("these signing nonces were already used", [self.commitments.identifier])

    def unsafe_export(self) -> bytes:
        """``SerializeScalar(hiding) || SerializeScalar(binding)``, without consuming.

        Only for a party's own encrypted vault, which then enforces single use durably
        (a consumed record is never handed out again); anything else must not copy nonces.
        Nonces already consumed in this process, by any object, are not exported.
        """
        if self.consumed:
            raise self._refuse_reuse()
        return self._hiding.to_bytes() + self._binding.to_bytes()

    def consume(self) -> tuple[Scalar, Scalar]:
        """Returns ``(hiding, binding)`` exactly once per process; every later call raises.

        "Once" covers every object with the same nonces: the fingerprint is claimed in the
        process-wide registry before the nonces are handed out.
        """
        if self._consumed:
            raise self._refuse_reuse()
        # Mark this object first, so a failed claim leaves it refusing as well.
        self._consumed = True
        if not _consumed_nonces.claim(self._fingerprint):
            self._hiding = self._binding = self._hiding.group.scalar(0)
            raise self._refuse_reuse()
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
    return SigningNonces._with_own_commitments(hiding, binding, commitments), commitments


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
