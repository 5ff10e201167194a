"""Invariant 1: no secret leaves its party in the clear.

After real ceremonies (two DKGs and several signings on the dev server), every workflow
history is fetched and every payload in it decoded through the codec; together with the
raw (encrypted) histories, the whole event store and every log line, none of it may
contain the bytes (raw, hex or base64) of any party's polynomial, dealt shares, signing
shares, sealing keys or signing nonces, nor of the client's request-signing key (only
the authorizations it signs travel).
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import uuid
from typing import Any

import pytest
from temporalio.api.common.v1 import Payload

from activities import party as party_module
from activities.models import CreateWalletInput, SignInput, SignTransactionInput
from activities.protocol import KEY_SHARE
from chains.models import TransferIntent
from mpc.frost import FROST_SECP256K1_TR, KeyShare
from mpc.frost import dkg as frost_dkg
from mpc.frost.serialization import decode
from mpc.frost.taproot import tweak_key_share
from quorate.client import (
    create_wallet,
    faucet,
    key_address,
    sign,
    sign_transaction,
    wallet_address,
)
from quorate.demo import demo_recipient_key
from runtime.codec import AesGcmPayloadCodec, CodecKeyTable
from runtime.party_keys import MESSAGE_SIGNING_KEY
from runtime.provision import PARTY_RECORDS, SEALING_KEY, request_signing_key_path
from tests.integration.conftest import System


def _forms(secret: bytes) -> list[bytes]:
    """The ways a secret could appear: raw, hex (either case) and base64."""
    return [
        secret,
        secret.hex().encode(),
        secret.hex().upper().encode(),
        base64.b64encode(secret),
        base64.urlsafe_b64encode(secret),
    ]


def _payload_dicts(node: Any) -> list[dict[str, Any]]:
    found = []
    if isinstance(node, dict):
        if "data" in node and "metadata" in node:
            found.append(node)
        for value in node.values():
            found += _payload_dicts(value)
    elif isinstance(node, list):
        for value in node:
            found += _payload_dicts(value)
    return found


async def _decoded_histories(system: System, codec: AesGcmPayloadCodec) -> list[bytes]:
    blobs = []
    async for execution in system.client.list_workflows():
        history = await system.client.get_workflow_handle(execution.id).fetch_history()
        as_dict = json.loads(history.to_json())
        blobs.append(json.dumps(as_dict).encode())
        for entry in _payload_dicts(as_dict):
            payload = Payload(
                metadata={k: base64.b64decode(v) for k, v in entry["metadata"].items()},
                data=base64.b64decode(entry["data"]),
            )
            (decoded,) = await codec.decode([payload])
            blobs.append(decoded.data)
    return blobs


async def test_no_secret_in_histories_events_or_logs(
    system: System,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    codec_keys: CodecKeyTable,
) -> None:
    caplog.set_level(logging.DEBUG)
    secrets: list[bytes] = []
    real_part1, real_part2, real_commit = (
        frost_dkg.part1,
        frost_dkg.part2,
        party_module.commit,  # type: ignore[attr-defined]
    )

    def spy_part1(*args: Any, **kwargs: Any) -> Any:
        secret, package = real_part1(*args, **kwargs)
        secrets.extend(c.to_bytes() for c in secret.coefficients)
        return secret, package

    def spy_part2(*args: Any, **kwargs: Any) -> Any:
        state, shares = real_part2(*args, **kwargs)
        secrets.append(state.own_share.to_bytes())
        secrets.extend(s.signing_share.to_bytes() for s in shares.values())
        return state, shares

    def spy_commit(*args: Any, **kwargs: Any) -> Any:
        nonces, commitments = real_commit(*args, **kwargs)
        exported = nonces.unsafe_export()
        secrets.extend([exported[:32], exported[32:]])
        return nonces, commitments

    monkeypatch.setattr(frost_dkg, "part1", spy_part1)
    monkeypatch.setattr(frost_dkg, "part2", spy_part2)
    monkeypatch.setattr(party_module, "commit", spy_commit)

    wallets = [
        await create_wallet(
            system.client,
            CreateWalletInput(wallet_id=f"s-{scheme}-{uuid.uuid4().hex[:8]}", scheme=scheme),
        )
        for scheme in ("bip340", "ed25519")
    ]
    for wallet in wallets:
        for n in range(3):
            message = hashlib.sha256(f"{wallet.wallet_id}/{n}".encode()).digest()
            await sign(
                system.client,
                SignInput(wallet_id=wallet.wallet_id, message=message.hex()),
                authorizer=system.authorizer,
            )
    # A transfer per wallet too: SignTransaction's build, child ceremony and broadcast
    # histories, and the Transaction* events, are scanned like the rest.
    for wallet, chain, amount in (
        (wallets[0], "bitcoin-p2tr", 50_000),
        (wallets[1], "solana", 10**7),
    ):
        source = await wallet_address(system.client, wallet.wallet_id, chain)
        await faucet(system.client, chain, source.address, 100 * amount)
        # Another address than the wallet's own (a transfer to itself is refused).
        recipient = await key_address(system.client, chain, demo_recipient_key(wallet.scheme))
        result = await sign_transaction(
            system.client,
            SignTransactionInput(
                wallet_id=wallet.wallet_id,
                intent=TransferIntent(chain=chain, to=recipient.address, amount=amount),
            ),
            authorizer=system.authorizer,
        )
        assert result.status == "confirmed"

    # The request-signing private key (the client's), in every form libsodium holds it:
    # the seed and SHA-512(seed), whose halves are the clamped scalar and the nonce prefix.
    seed = bytes.fromhex(request_signing_key_path(system.settings).read_text().strip())
    expanded = hashlib.sha512(seed).digest()
    secrets.extend([seed, expanded[:32], expanded[32:]])
    for vault in system.vaults.values():
        secrets.append(vault.get_secret(PARTY_RECORDS, SEALING_KEY))
        # The party's message-signing key (it signs every broadcast and echo), in the
        # same three forms.
        message_seed = vault.get_secret(PARTY_RECORDS, MESSAGE_SIGNING_KEY)
        message_expanded = hashlib.sha512(message_seed).digest()
        secrets.extend([message_seed, message_expanded[:32], message_expanded[32:]])
        for wallet in wallets:
            share = decode(vault.get_secret(wallet.wallet_id, KEY_SHARE), KeyShare)
            secrets.append(share.signing_share.to_bytes())
            if share.ciphersuite is FROST_SECP256K1_TR:
                secrets.append(tweak_key_share(share, None).signing_share.to_bytes())
    # 2 wallets x 6 parties x 3 coefficients, dealt shares, 12 signings x 3 signers x 2 nonces...
    assert len(secrets) > 100

    haystacks = await _decoded_histories(system, AesGcmPayloadCodec(codec_keys))
    assert len(haystacks) > 50  # the histories were read and their payloads decoded
    assert any(b"signature_share" in h for h in haystacks)  # decoding really happened
    events = await system.events.read_all()
    haystacks.append(json.dumps([e.model_dump(mode="json") for e in events]).encode())
    haystacks.append(caplog.text.encode())
    for logfile in (system.settings.data_dir / "logs").glob("*.log"):
        haystacks.append(logfile.read_bytes())

    for secret in secrets:
        for form in _forms(secret):
            for haystack in haystacks:
                assert form not in haystack, "a secret appears in a history, an event or a log"
