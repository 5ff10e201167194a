"""Threshold ECDSA online signing: one round on a presignature (CGGMP21 Fig. 8).

With a presignature (R, k_i, χ_i) where Σk_i = k, Σχ_i = k·x and R = k⁻¹·G, signer i
sends σ_i = k_i·m + r·χ_i with r = x(R) mod q, so Σσ_i = k(m + r·x): an ECDSA signature.
Each signer also sends S_i = χ_i·R, which lets anyone check every share on its own:
σ_i·R = m·R_i + r·S_i with R_i = k_i·R from presigning; a share that fails names its
signer. The S_i must add up to the public key (Σχ_i·R = k·x·k⁻¹·G = X); when they do not,
every share is consistent with the S_i it came with, so the shares name nobody:
:func:`combine` raises :class:`ChiCheckFailed` and the callers run the χ identification
of :mod:`mpc.ecdsa.identify`, which names whoever cheated.

A presignature is single-use: signing two messages with one reveals the key. Callers
record its consumption durably (the party's vault) before a share leaves the party; that
stays the first line. Below it, :func:`sign_share` consumes the presignature in this
process: a second call on the same object, or on any copy of it (a codec round trip, a
``dataclasses.replace``), raises :class:`PresignatureReuse`. The registry holds one
fingerprint per signed presignature, a keyed hash (HMAC-SHA-256 under a random key drawn
when the process starts) of the signer and its secret (k_i, χ_i): it identifies the
secret whatever public fields a copy carries, cannot be recomputed or reversed outside
this process, and reveals nothing of k_i or χ_i. Its limit: it lives in memory, per
process, and is empty after a restart or in another worker (about a hundred bytes per
signature made).
"""

from __future__ import annotations

import hashlib
import hmac
import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from mpc.ecdsa.errors import ChiCheckFailed, InvalidParameters, InvalidSignature, PresignatureReuse
from mpc.ecdsa.presign import Presignature
from mpc.ecdsa.signature import EcdsaSignature, assemble, digest_scalar, verify
from mpc.group import SECP256K1, Secp256k1Element
from mpc.group.secp256k1 import ORDER as Q

_FINGERPRINT_DOMAIN: Final = b"quorate/cggmp21/presignature-use/v1"
_PROCESS_KEY: Final = os.urandom(32)
_consumed: set[bytes] = set()
_consumed_lock: Final = threading.Lock()


@dataclass(frozen=True, slots=True)
class SignatureShare:
    party: str
    sigma: int
    S: Secp256k1Element


def _fingerprint(presignature: Presignature) -> bytes:
    """HMAC-SHA-256 under the process key of (party, k_i, χ_i), each length-prefixed."""
    mac = hmac.new(_PROCESS_KEY, digestmod=hashlib.sha256)
    for part in (
        _FINGERPRINT_DOMAIN,
        presignature.party.encode(),
        presignature.k.to_bytes(32, "big"),
        presignature.chi.to_bytes(32, "big"),
    ):
        mac.update(len(part).to_bytes(8, "big") + part)
    return mac.digest()


def _consume(presignature: Presignature) -> None:
    """Marks the presignature used in this process; raises if it (or a copy) already was."""
    fingerprint = _fingerprint(presignature)
    with _consumed_lock:
        if fingerprint in _consumed:
            raise PresignatureReuse(
                f"the presignature of {presignature.party} already signed in this process"
            )
        _consumed.add(fingerprint)


def sign_share(presignature: Presignature, digest: bytes) -> SignatureShare:
    """Fig. 8, round 1: σ_i = k_i·m + r·χ_i, with S_i = χ_i·R for share verification.

    Consumes ``presignature`` (see the module docstring): any later call on it or on a
    copy raises :class:`PresignatureReuse`. The digest is checked first, so a malformed
    one leaves the presignature unused.
    """
    m = digest_scalar(digest)
    if not (0 <= presignature.k < Q and 0 <= presignature.chi < Q):
        raise InvalidParameters("a presignature's k_i and χ_i are reduced modulo q")
    _consume(presignature)
    r = int.from_bytes(presignature.R.x_only(), "big") % Q
    sigma = (presignature.k * m + r * presignature.chi) % Q
    S = presignature.R * SECP256K1.scalar(presignature.chi)
    return SignatureShare(presignature.party, sigma, S)


def combine(
    R: Secp256k1Element,
    R_shares: Mapping[str, Secp256k1Element],
    public_key: Secp256k1Element,
    digest: bytes,
    shares: Mapping[str, SignatureShare],
) -> EcdsaSignature:
    """Fig. 8, output: checks each share, sums them, normalizes to low s, verifies.

    A share that fails its own check is named (:class:`InvalidSignature`); if all pass
    but ΣS_i ≠ X, :class:`ChiCheckFailed` says to run the χ identification.
    """
    if set(shares) != set(R_shares):
        raise InvalidParameters("one share per signer of the presignature is needed")
    m = SECP256K1.scalar(digest_scalar(digest))
    r = SECP256K1.scalar(int.from_bytes(R.x_only(), "big") % Q)
    culprits = []
    S_total = SECP256K1.identity()
    for party, share in sorted(shares.items()):
        if share.party != party or not 0 <= share.sigma < Q:
            culprits.append(party)
            continue
        # σ_i·R = m·R_i + r·S_i: what an honest σ_i satisfies for the S_i it sent.
        if R * SECP256K1.scalar(share.sigma) != R_shares[party] * m + share.S * r:
            culprits.append(party)
        S_total = S_total + share.S
    if culprits:
        raise InvalidSignature("invalid ECDSA signature share", culprits)
    if S_total != public_key:
        # Someone's S_i is inconsistent with its χ_i; this presignature is abandoned.
        raise ChiCheckFailed(
            "ΣS_i differs from the public key: run the χ identification to name the cheater"
        )
    signature = assemble(R, sum(share.sigma for share in shares.values()))
    verify(public_key, digest, signature)
    return signature
