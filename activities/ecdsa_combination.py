"""Threshold-ECDSA combination on the coordinator (CGGMP21 Fig. 8, output step).

Every signer's σ_i is checked on its own (naming a cheater) before the shares are summed,
and the signature is verified with libsecp256k1 (``mpc.ecdsa.sign.combine``).
"""

from __future__ import annotations

from collections.abc import Mapping

from activities.errors import CeremonyAbort, business_error
from activities.models import SignPlan
from mpc.ecdsa import codec as ecdsa_codec
from mpc.ecdsa.errors import ChiCheckFailed, EcdsaError, InvalidModulus
from mpc.ecdsa.sign import SignatureShare, combine
from mpc.frost import PublicKeyPackage
from mpc.frost.serialization import decode
from mpc.group import SECP256K1, Secp256k1Element


def wallet_key(plan: SignPlan) -> Secp256k1Element:
    """The wallet's secp256k1 group key; TypeError for a wallet of another curve."""
    public = decode(bytes.fromhex(plan.wallet.public_key_package), PublicKeyPackage)
    key = public.verifying_key
    if not isinstance(key, Secp256k1Element):
        raise TypeError("not a secp256k1 wallet")
    return key


def combine_signature(
    plan: SignPlan,
    key: Secp256k1Element,
    R: str,
    R_shares: Mapping[str, str],
    shares: Mapping[str, str],
) -> tuple[bytes, int]:
    """The 64-byte ``r || s`` signature (low-s) over ``plan``'s digest and its recovery id.

    Raises :class:`CeremonyAbort` naming the signers whose shares fail their check.
    """
    digest = bytes.fromhex(plan.message)
    try:
        point = SECP256K1.deserialize_element(bytes.fromhex(R))
        points = {p: SECP256K1.deserialize_element(bytes.fromhex(v)) for p, v in R_shares.items()}
        decoded = {p: ecdsa_codec.decode(v, SignatureShare, sender=p) for p, v in shares.items()}
        if not isinstance(point, Secp256k1Element):
            raise InvalidModulus("R is not a secp256k1 point")
        signature = combine(point, points, key, digest, decoded)
    except ChiCheckFailed as error:
        # Nobody can be named from the shares alone: the workflow runs the χ
        # identification, which records the abort (workflows.ecdsa_identification).
        raise business_error(error) from None
    except EcdsaError as error:
        raise CeremonyAbort(error, error.culprits) from None
    return signature.to_bytes(), signature.recovery_id
