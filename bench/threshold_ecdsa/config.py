"""The configuration of the threshold-ECDSA benchmark, and the one DKG both protocols use."""

from __future__ import annotations

import argparse
import dataclasses
from dataclasses import dataclass

from bench.frost import check_dkg, run_dkg
from mpc.ecdsa.params import PRODUCTION, SecurityParameters
from mpc.frost import FROST_SECP256K1, Identifier, KeyShare, PublicKeyPackage
from mpc.group import SECP256K1, Secp256k1Element

PARTIES: tuple[str, ...] = ("us-1", "us-2", "eu-1", "eu-2", "apac-1")  # the 3-of-5 key
THRESHOLD = 3
SIGNERS: tuple[str, ...] = PARTIES[:THRESHOLD]
POLICY = f"{THRESHOLD}-of-{len(PARTIES)}"
AUX_SESSION = b"bench/ecdsa/aux-info"
PRESIGN_STEPS: tuple[str, ...] = ("round1", "round2", "round3", "finish")
FROST_OPERATIONS: tuple[str, ...] = ("round1", "round2", "aggregate")

# The system we replace (end-to-end signing latency) and the Rust CGGMP21 implementation.
REFERENCE_GG20_P95_MS = 300.0
REFERENCE_CGGMP21_PRESIGN_MS = 2700.0
REFERENCE_TEXT = (
    "GG20 p95 300 ms in the system we replace; cggmp21 (Rust, 3072-bit) presigns in about 2.7 s"
)


@dataclass(frozen=True)
class BenchSettings:
    mode: str
    prime_parties: int  # parties whose two safe primes are generated and timed here
    aux_parties: int  # parties with aux info (every ordered pair verifies and runs Π_fac)
    presign_runs: int
    presign_warmup: int
    sign_runs: int
    sign_warmup: int
    frost_runs: int
    frost_warmup: int
    temporal_runs: int
    temporal_warmup: int


def settings_for(args: argparse.Namespace) -> BenchSettings:
    if args.quick:
        settings = BenchSettings("quick", 1, 3, 2, 1, 200, 20, 200, 20, 5, 1)
    else:
        settings = BenchSettings("full", 5, 5, 10, 1, 2000, 100, 2000, 50, 20, 2)
    overrides = {
        "presign_runs": args.runs,
        "sign_runs": args.sign_runs,
        "temporal_runs": args.temporal_runs,
    }
    values = {k: v for k, v in overrides.items() if v is not None}
    if args.prime_parties is not None:
        values["prime_parties"] = args.prime_parties
        values["aux_parties"] = max(settings.aux_parties, args.prime_parties)
    return dataclasses.replace(settings, **values)


def security_parameters(bits: int) -> SecurityParameters:
    """PRODUCTION, or the same sizes with a smaller modulus (a weaker, measured option)."""
    if bits == PRODUCTION.modulus_bits:
        return PRODUCTION
    return SecurityParameters.unsafe_for_tests(modulus_bits=bits)


@dataclass(frozen=True)
class Keys:
    ids: dict[str, Identifier]
    shares: dict[str, KeyShare]
    public: PublicKeyPackage
    public_key: Secp256k1Element
    public_key_bytes: bytes  # compressed SEC1


def dealerless_keys() -> Keys:
    """A dealerless 3-of-5 DKG over FROST(secp256k1, SHA-256), every party in turn (as
    bench.frost runs it): the key shares both protocols sign with."""
    ids = {p: Identifier.derive(FROST_SECP256K1, p.encode()) for p in PARTIES}
    outputs = run_dkg(FROST_SECP256K1, [ids[p] for p in PARTIES], THRESHOLD)
    public = check_dkg(outputs)
    key = public.verifying_key
    if not isinstance(key, Secp256k1Element):
        raise TypeError("ECDSA keys are secp256k1 keys")
    return Keys(
        ids,
        {p: share for p, (share, _) in zip(PARTIES, outputs, strict=True)},
        public,
        key,
        SECP256K1.serialize_element(key),
    )
