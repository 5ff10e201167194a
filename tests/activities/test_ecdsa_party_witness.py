"""A signed presignature's identification witness does not outlive its use.

presign_finish keeps a copy of each presignature's witness (w_i, the k·x conversions,
k_i, χ_i) for the χ identification, since the vault erases the presignature when it
signs; the signing round forgets all but the last WITNESSES_KEPT of a wallet's.
"""

from __future__ import annotations

from activities.ecdsa_party import WITNESSES_KEPT, EcdsaPartyActivities
from runtime.authorization import RequestAuthorizer, RequestVerifier
from storage.vault.memory import InMemoryShareVault

WALLET = "eth-witness"


def test_only_the_last_witnesses_of_a_wallet_are_kept() -> None:
    vault = InMemoryShareVault("us-1")
    party = EcdsaPartyActivities(
        "us-1", vault, requests=RequestVerifier(RequestAuthorizer.generate().public_key)
    )
    ids = [f"presign-{n}" for n in range(WITNESSES_KEPT + 5)]
    for presign_id in ids:
        vault.put_secret(WALLET, f"ecdsa/presign/{presign_id}/identification", b"witness")
        vault.put_secret("other-wallet", f"ecdsa/presign/{presign_id}/identification", b"w")
    for presign_id in ids:
        party._forget_older_witnesses(WALLET, presign_id)
    # A retried signing round names the same presignature again: nothing more goes.
    party._forget_older_witnesses(WALLET, ids[-1])
    kept = [p for p in ids if vault.has_secret(WALLET, f"ecdsa/presign/{p}/identification")]
    assert kept == ids[-WITNESSES_KEPT:]
    # Another wallet's witnesses are its own business.
    assert all(vault.has_secret("other-wallet", f"ecdsa/presign/{p}/identification") for p in ids)
