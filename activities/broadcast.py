"""Signed broadcasts and their echoes (mpc.broadcast) in the party activities.

A round that broadcasts signs its message; the next round verifies every sender's signature
before it uses any message and answers, with its normal output, its signed echo of what it
received; the round after that checks every other party's echo before it uses anything
(the DKG's round 1 package, CGGMP21's ``(K_i, G_i)``).

The keys come from the party's own vault, never from the workflow that relays the
messages: its message-signing key and the peers' keys pinned there at provisioning
(runtime.party_keys). A refusal is a non-retryable business error typed after the
broadcast error (``BroadcastEquivocation``, ``InvalidEcho``...) naming its culprits.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Mapping
from dataclasses import dataclass

from temporalio.exceptions import ApplicationError

from activities.errors import NotProvisioned, business_error
from activities.models import BroadcastEcho, EchoEntry
from mpc.broadcast import (
    BroadcastError,
    Echo,
    MessageSigningKeyPair,
    MessageSigningPublicKey,
    Received,
    check_echoes,
    make_echo,
    sign_broadcast,
    verify_broadcasts,
)
from runtime.party_keys import load_message_signing_directory, load_message_signing_key
from storage.vault.errors import SecretNotFound
from storage.vault.port import ShareVault

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class BroadcastRound:
    """One broadcast round of one session, at one party."""

    party_id: str
    session_id: bytes
    label: str
    key: MessageSigningKeyPair
    directory: Mapping[str, MessageSigningPublicKey]

    @classmethod
    def open(
        cls, vault: ShareVault, party_id: str, *, session_id: bytes, label: str
    ) -> BroadcastRound:
        """The round with this party's key and pinned directory, from its vault."""
        try:
            key = load_message_signing_key(vault)
            directory = load_message_signing_directory(vault)
        except SecretNotFound:
            raise business_error(
                NotProvisioned(
                    f"{party_id} has no message-signing key or pinned peer keys: provision it"
                )
            ) from None
        if directory.get(party_id) != key.public_key:
            raise business_error(
                NotProvisioned(
                    f"the keys pinned at {party_id} do not hold its own message-signing key: "
                    "provision it again"
                )
            )
        return cls(party_id, session_id, label, key, directory)

    def sign(self, payload: bytes) -> str:
        """This party's signature of ``payload`` as its broadcast of the round (hex)."""
        return sign_broadcast(
            self.key,
            session_id=self.session_id,
            round_label=self.label,
            sender=self.party_id,
            payload=payload,
        ).hex()

    def verify(
        self,
        payloads: Mapping[str, bytes],
        signatures: Mapping[str, str],
        senders: Collection[str],
    ) -> BroadcastEcho:
        """Checks every sender's signature (this party's own message included, from its
        own records) and returns this party's signed echo of what it received."""
        try:
            received = verify_broadcasts(
                payloads,
                {sender: bytes.fromhex(signature) for sender, signature in signatures.items()},
                self.directory,
                session_id=self.session_id,
                round_label=self.label,
                senders=senders,
            )
            echo = make_echo(
                self.key,
                session_id=self.session_id,
                round_label=self.label,
                echoer=self.party_id,
                received=received,
            )
        except BroadcastError as error:
            raise self._refusal(error) from None
        return _echo_model(echo)

    def check_echoes(self, own: BroadcastEcho, echoes: Mapping[str, BroadcastEcho]) -> None:
        """Checks every other party's echo against this party's own (``own``, from its
        vault): any difference aborts, naming the equivocating sender or the false echoer."""
        try:
            check_echoes(
                _echo(own).received,
                {echoer: _echo(echo) for echoer, echo in echoes.items()},
                self.directory,
                session_id=self.session_id,
                round_label=self.label,
                me=self.party_id,
            )
        except BroadcastError as error:
            raise self._refusal(error) from None

    def refuse(self, error: BroadcastError) -> ApplicationError:
        """``error`` (a check the caller made on an authenticated broadcast) as the
        activity's failure."""
        return self._refusal(error)

    def _refusal(self, error: BroadcastError) -> ApplicationError:
        log.warning(
            "party %s refused round %s: %s: %s",
            self.party_id,
            self.label,
            type(error).__name__,
            error,
        )
        return business_error(error, culprits=error.culprits)


def _echo_model(echo: Echo) -> BroadcastEcho:
    return BroadcastEcho(
        entries={
            sender: EchoEntry(
                payload_digest=entry.payload_digest.hex(), signature=entry.signature.hex()
            )
            for sender, entry in sorted(echo.received.items())
        },
        signature=echo.signature.hex(),
    )


def _echo(model: BroadcastEcho) -> Echo:
    return Echo(
        {
            sender: Received(bytes.fromhex(entry.payload_digest), bytes.fromhex(entry.signature))
            for sender, entry in model.entries.items()
        },
        bytes.fromhex(model.signature),
    )
