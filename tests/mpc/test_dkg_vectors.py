"""ZcashFoundation/frost's DKG vector for the taproot variant (tests/vectors/README.md).

frost-secp256k1-tr applies a BIP86 TapTweak to the key right after the DKG
(``post_dkg``); Quorate keeps the untweaked internal key and tweaks when it signs, so
the vector's key package is our part3 output followed by ``tweak_key_share(..., None)``.
"""

from __future__ import annotations

from mpc.frost import FROST_SECP256K1_TR, Identifier
from mpc.frost.dkg import Round1Package, Round2SecretShare, part2, part3, round1_secret_package
from mpc.frost.taproot import tweak_key_share, tweak_public_key_package
from tests.helpers.vectors import load_json

CS = FROST_SECP256K1_TR


def _hex(data: bytes) -> str:
    return data.hex()


def test_taproot_dkg_vector() -> None:
    vectors = load_json("zf-frost-secp256k1-tr-vectors_dkg.json")
    inputs = vectors["inputs"]
    group = CS.group
    max_signers = vectors["config"]["MAX_PARTICIPANTS"]
    min_signers = vectors["config"]["MIN_PARTICIPANTS"]
    labels = [str(i) for i in range(1, max_signers + 1)]
    ids = {label: Identifier.from_int(CS, inputs[label]["identifier"]) for label in labels}

    round1 = {
        label: Round1Package(
            CS,
            ids[label],
            tuple(
                group.deserialize_element(bytes.fromhex(c))
                for c in inputs[label]["vss_commitments"]
            ),
            CS.deserialize_signature(bytes.fromhex(inputs[label]["proof_of_knowledge"])),
        )
        for label in labels
    }
    public_packages = []
    for label in labels:
        data = inputs[label]
        coefficients = [
            group.deserialize_scalar(bytes.fromhex(data["signing_key"])),
            group.deserialize_scalar(bytes.fromhex(data["coefficient"])),
        ]
        secret = round1_secret_package(CS, ids[label], coefficients, max_signers)
        # Our commitment to the vector's polynomial is the vector's commitment.
        assert [_hex(c.to_bytes()) for c in secret.commitment] == data["vss_commitments"]
        others = [round1[other] for other in labels if other != label]
        round2_secret, outgoing = part2(secret, others)
        # The shares we deal are the ones the vector's peers received from us.
        for other in labels:
            if other != label:
                dealt = outgoing[ids[other]].signing_share.to_bytes()
                assert _hex(dealt) == inputs[other]["signing_shares"][label]
        incoming = [
            Round2SecretShare(
                CS,
                ids[other],
                ids[label],
                group.deserialize_scalar(bytes.fromhex(data["signing_shares"][other])),
            )
            for other in labels
            if other != label
        ]
        key_share, public = part3(round2_secret, incoming)
        assert key_share.min_signers == public.min_signers == min_signers
        tweaked = tweak_key_share(key_share, None)
        assert _hex(tweaked.signing_share.to_bytes()) == data["signing_share"]
        assert _hex(tweaked.verifying_share.to_bytes()) == data["verifying_share"]
        assert _hex(tweaked.verifying_key.to_bytes()) == inputs["verifying_key"]
        tweaked_public = tweak_public_key_package(public, None)
        assert _hex(tweaked_public.verifying_key.to_bytes()) == inputs["verifying_key"]
        for other in labels:
            shares = tweaked_public.verifying_shares
            assert _hex(shares[ids[other]].to_bytes()) == inputs[other]["verifying_share"]
        public_packages.append(public)
    # Every party derived the same untweaked group key.
    assert len({p.verifying_key for p in public_packages}) == 1
