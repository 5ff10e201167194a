"""FROST threshold Schnorr signatures (RFC 9591), written once against a ciphersuite.

Ciphersuites: FROST(secp256k1, SHA-256), FROST(Ed25519, SHA-512) and the taproot variant
FROST(secp256k1, SHA-256)-TR that produces BIP340 signatures.
"""

from mpc.frost.aggregate import aggregate, verify_signature_share
from mpc.frost.ciphersuite import Ciphersuite
from mpc.frost.ed25519 import FROST_ED25519
from mpc.frost.identifier import Identifier
from mpc.frost.keys import KeyShare, PublicKeyPackage
from mpc.frost.round1 import SigningCommitments, SigningNonces, commit
from mpc.frost.round2 import SignatureShare, sign
from mpc.frost.secp256k1 import FROST_SECP256K1
from mpc.frost.secp256k1_tr import FROST_SECP256K1_TR
from mpc.frost.signature import Signature
from mpc.frost.signing_package import SigningPackage

CIPHERSUITES: dict[str, Ciphersuite] = {
    suite.id: suite for suite in (FROST_SECP256K1, FROST_ED25519, FROST_SECP256K1_TR)
}

__all__ = [
    "CIPHERSUITES",
    "FROST_ED25519",
    "FROST_SECP256K1",
    "FROST_SECP256K1_TR",
    "Ciphersuite",
    "Identifier",
    "KeyShare",
    "PublicKeyPackage",
    "Signature",
    "SignatureShare",
    "SigningCommitments",
    "SigningNonces",
    "SigningPackage",
    "aggregate",
    "commit",
    "sign",
    "verify_signature_share",
]
