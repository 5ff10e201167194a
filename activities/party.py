"""Party-side activities: one protocol round, run with this party's own vault.

An instance serves exactly one party and is registered on that party's task queue
(``party.<id>``), so only the party's own worker process ever opens its shares. Every
round is idempotent: a retried activity returns what the first attempt stored, so a
crash between storing and replying never makes a party contribute twice (a second
polynomial in a DKG, a second nonce in a signing).

The DKG's round-1 packages are broadcasts over one relay (the workflow), so each is
signed by its sender (activities.broadcast, mpc.broadcast): round 2 verifies every
signature against the key the party pinned for the sender, refuses a package whose
identifier is not its signer's, and echoes what it received; round 3 checks every other
party's echo before it opens a share, and aborts naming a sender that signed two
different packages (``BroadcastEquivocation``). The signature and the echo are stored
with the round's output, so a retry answers with the same ones.

A party signs only what was authorized: both signing rounds check the request's
authorization (runtime.authorization: the request-signing key's signature, expiry by the
party's own clock, the wallet, the request id, the message, and for a transfer the
transaction against the authorized intent) before a nonce is made or used, and refuse
with ``Unauthorized`` otherwise. A failed ceremony's nonces are destroyed on request
(``discard_nonces``), leaving a tombstone so no late round can make them again.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import time
from collections.abc import Iterable

from temporalio import activity

from activities.broadcast import BroadcastRound
from activities.errors import CeremonyDiscarded, business_error, protocol_error
from activities.models import (
    BroadcastEcho,
    DiscardNoncesInput,
    DiscardNoncesResult,
    DiscardOutcome,
    DkgRound1Input,
    DkgRound1Result,
    DkgRound2Input,
    DkgRound2Result,
    DkgRound3Input,
    DkgRound3Result,
    PartyRef,
    SignRound1Input,
    SignRound1Result,
    SignRound2Input,
    SignRound2Result,
)
from activities.protocol import (
    KEY_SHARE,
    PUBLIC_KEY_PACKAGE,
    ciphersuite,
    dkg_record,
    identifier,
    names_by_identifier,
    session_id,
)
from mpc.broadcast import SenderMismatch
from mpc.errors import MpcError
from mpc.frost import (
    FROST_SECP256K1_TR,
    KeyShare,
    PublicKeyPackage,
    SigningCommitments,
    SigningPackage,
    dkg,
    sign,
)
from mpc.frost.errors import FrostError
from mpc.frost.round1 import commit, unsafe_import_signing_nonces
from mpc.frost.serialization import decode, encode
from mpc.frost.taproot import tweak_key_share
from mpc.sealing import (
    SealedPayload,
    SealingError,
    SealingKeyPair,
    SealingPublicKey,
    open_sealed,
    seal,
)
from runtime.authorization import (
    AuthorizationClaims,
    RequestAuthorization,
    RequestVerifier,
    TransferPayload,
    Unauthorized,
)
from storage.vault.errors import (
    NonceAlreadyConsumed,
    NoncesNotFound,
    SecretAlreadyStored,
    SecretNotFound,
)
from storage.vault.port import ShareVault

log = logging.getLogger(__name__)

# The round label of the DKG's one broadcast (mpc.broadcast).
DKG_ROUND1 = "frost-dkg/round1"

# Test-only fault injection: seconds to stall after a nonce's consumption is durable and
# before the share is returned, so a test can SIGKILL the worker at exactly that point.
FAULT_STALL_AFTER_CONSUME = "QUORATE_TEST_STALL_AFTER_CONSUME_S"

# A destroyed nonce record: consumed under DISCARD_DIGEST, with DISCARDED as its stored
# output (and, for a tombstone made where no nonces existed, as its commitments). No
# round's request digest is this one (theirs hash a whole request), so a round that comes
# after the discard is refused (NonceAlreadyConsumed), never given this output.
DISCARD_DIGEST = hashlib.sha256(b"quorate/discarded-nonces/v1").digest()
DISCARDED = b"quorate/discarded"


def discard_nonce_record(vault: ShareVault, wallet_id: str, key: str) -> DiscardOutcome:
    """Destroys the single-use record ``key`` (a ceremony's nonces, a presignature), once.

    The vault's own single-use operation does it: a tombstone is stored first if nothing
    is (so a round still in flight finds the ceremony used up and cannot make nonces),
    then the record is consumed, which erases its secret durably (the SQLite vault
    overwrites freed pages). Idempotent: a repeat finds it already discarded.
    """
    existing = vault.store_nonces(wallet_id, key, DISCARDED, DISCARDED)
    destroyed = False

    def destroy(_secret: bytes) -> bytes:
        nonlocal destroyed
        destroyed = True
        return DISCARDED

    try:
        vault.consume_nonces(wallet_id, key, DISCARD_DIGEST, destroy)
    except NonceAlreadyConsumed:
        return "used"
    if not destroyed:
        return "already-discarded"
    return "none" if existing == DISCARDED else "destroyed"


def authorize_request(
    requests: RequestVerifier,
    vault: ShareVault,
    party_id: str,
    authorization: RequestAuthorization | None,
    *,
    wallet_id: str,
    ceremony_id: str,
    message: bytes | None,
    taproot_merkle_root: str | None,
    transfer: TransferPayload | None,
) -> AuthorizationClaims:
    """The request's claims, or a non-retryable ``Unauthorized`` failure.

    For a transfer, the transaction is also pinned to the request in this party's vault
    (write-once): every payload of one request must come from one transaction, so two
    different transactions cannot each get one input signed.
    """

    def wallet_public_key() -> bytes:
        try:
            package = decode(vault.get_secret(wallet_id, PUBLIC_KEY_PACKAGE), PublicKeyPackage)
        except SecretNotFound as error:
            raise business_error(error, message="this party holds no share of the wallet") from None
        return package.verifying_key.to_bytes()

    try:
        claims = requests.authorize(
            authorization,
            wallet_id=wallet_id,
            ceremony_id=ceremony_id,
            message=message,
            taproot_merkle_root=taproot_merkle_root,
            transfer=transfer,
            wallet_public_key=wallet_public_key,
        )
        if claims.signers and party_id not in claims.signers:
            raise Unauthorized(
                "wrong-signers", f"the request named {', '.join(claims.signers)}, not {party_id}"
            )
        if transfer is not None:
            pinned = hashlib.sha256(transfer.transaction.model_dump_json().encode()).digest()
            try:
                vault.put_secret(wallet_id, f"transfer/{claims.request_id}/transaction", pinned)
            except SecretAlreadyStored:
                raise Unauthorized(
                    "wrong-transaction",
                    f"request {claims.request_id} already signed another transaction",
                ) from None
    except Unauthorized as error:
        log.warning("party %s refused ceremony %s: %s", party_id, ceremony_id, error)
        raise business_error(error) from None
    return claims


class PartyActivities:
    """The activities of one party, bound to its vault, its sealing key and its check of
    requests (the request-signing key from its topology)."""

    def __init__(
        self,
        party_id: str,
        vault: ShareVault,
        sealing_key: SealingKeyPair,
        *,
        requests: RequestVerifier,
    ) -> None:
        if vault.party_id != party_id:
            raise ValueError("a party's activities must use that party's own vault")
        self.party_id = party_id
        self._vault = vault
        self._sealing_key = sealing_key
        self._requests = requests

    # -- DKG ---------------------------------------------------------------------------

    @activity.defn(name="party.dkg_round1")
    def dkg_round1(self, request: DkgRound1Input) -> DkgRound1Result:
        """DKG part 1: a fresh polynomial, its commitment and proof, broadcast."""
        stored = dkg_record(request.ceremony_id, "round1-package")
        if self._vault.has_secret(request.wallet_id, stored):
            stored_package = self._vault.get_secret(request.wallet_id, stored)
            signature = self._round1_signature(
                request.wallet_id, request.ceremony_id, request.ciphersuite, request.parties
            )
            return DkgRound1Result(
                party=self.party_id, package=stored_package.hex(), signature=signature
            )
        if self.party_id not in request.parties:
            raise business_error(ValueError("this party is not part of the ceremony"))
        cs = ciphersuite(request.ciphersuite)
        try:
            secret, package = dkg.part1(
                cs, identifier(cs, self.party_id), len(request.parties), request.threshold
            )
        except FrostError as error:
            raise protocol_error(error, {}) from None
        self._vault.put_secret(
            request.wallet_id, dkg_record(request.ceremony_id, "round1-secret"), encode(secret)
        )
        encoded = encode(package)
        self._vault.put_secret(request.wallet_id, stored, encoded)
        signature = self._round1_signature(
            request.wallet_id, request.ceremony_id, request.ciphersuite, request.parties
        )
        return DkgRound1Result(party=self.party_id, package=encoded.hex(), signature=signature)

    @activity.defn(name="party.dkg_round2")
    def dkg_round2(self, request: DkgRound2Input) -> DkgRound2Result:
        """DKG part 2: verify every peer's signed package, deal a share to each, sealed to
        it, and echo what was received (checked by every other party in part 3)."""
        stored = dkg_record(request.ceremony_id, "round2-sealed")
        if self._vault.has_secret(request.wallet_id, stored):
            sealed = json.loads(self._vault.get_secret(request.wallet_id, stored))
            echo = self._round2_echo(request.wallet_id, request.ceremony_id)
            return DkgRound2Result(party=self.party_id, sealed_shares=sealed, echo=echo)
        cs = ciphersuite(request.ciphersuite)
        parties = [p.id for p in request.parties]
        if self.party_id not in parties:
            raise business_error(ValueError("this party is not part of the ceremony"))
        own = bytes.fromhex(request.round1_packages.get(self.party_id, ""))
        if own != self._vault.get_secret(
            request.wallet_id, dkg_record(request.ceremony_id, "round1-package")
        ):
            # The relay must broadcast our own package unchanged; anything else means the
            # other parties verified something we never sent.
            raise business_error(ValueError("the relayed round-1 package of this party differs"))
        # Every package must be signed by its sender (mpc.broadcast) before any is used;
        # the signature, under the key this party pinned for the sender, is the sender's
        # identity, and this party's own signature comes from its own records.
        broadcast = self._round1_broadcast(
            request.wallet_id, request.ceremony_id, request.ciphersuite, parties
        )
        payloads = {party: bytes.fromhex(p) for party, p in request.round1_packages.items()}
        signatures = {
            **request.round1_signatures,
            self.party_id: self._round1_signature(
                request.wallet_id, request.ceremony_id, request.ciphersuite, parties
            ),
        }
        echo = broadcast.verify(payloads, signatures, parties)
        names = names_by_identifier(cs, parties)
        secret = decode(
            self._vault.get_secret(
                request.wallet_id, dkg_record(request.ceremony_id, "round1-secret")
            ),
            dkg.Round1SecretPackage,
        )
        peers = []
        for sender in sorted(parties):
            if sender == self.party_id:
                continue
            try:
                package = decode(payloads[sender], dkg.Round1Package)
            except FrostError as error:
                raise business_error(error, culprits=[sender]) from None
            if package.sender != identifier(cs, sender):
                # The identifier inside a package is the sender's claim; who sent it is
                # the signature's key. A package claiming another identifier is refused.
                raise broadcast.refuse(
                    SenderMismatch(
                        f"the round-1 package signed by {sender} carries another identifier",
                        [sender],
                    )
                )
            peers.append(package)
        try:
            round2_secret, shares = dkg.part2(secret, peers)
        except FrostError as error:
            raise protocol_error(error, names) from None
        keys = self._sealing_keys(request.parties)
        session = self._dkg_session(
            request.wallet_id, request.ceremony_id, request.ciphersuite, parties
        )
        sealed = {
            names[recipient]: seal(
                share.signing_share.to_bytes(),
                session_id=session,
                sender=self.party_id,
                sender_key=self._sealing_key,
                recipient=names[recipient],
                recipient_public_key=keys[names[recipient]],
            )
            .to_bytes()
            .hex()
            for recipient, share in shares.items()
        }
        self._vault.put_secret(
            request.wallet_id,
            dkg_record(request.ceremony_id, "round2-secret"),
            encode(round2_secret),
        )
        # The echo is stored before the marker record, so a retry answers with the same.
        self._vault.put_secret(
            request.wallet_id,
            dkg_record(request.ceremony_id, "round2-echo"),
            echo.model_dump_json().encode(),
        )
        self._vault.put_secret(
            request.wallet_id, stored, json.dumps(sealed, sort_keys=True).encode()
        )
        return DkgRound2Result(party=self.party_id, sealed_shares=sealed, echo=echo)

    @activity.defn(name="party.dkg_round3")
    def dkg_round3(self, request: DkgRound3Input) -> DkgRound3Result:
        """DKG part 3: check that every party received the round-1 packages we did (their
        echoes), then open the shares sealed to us, check them, keep our key share."""
        if self._vault.has_secret(request.wallet_id, PUBLIC_KEY_PACKAGE):
            package = self._vault.get_secret(request.wallet_id, PUBLIC_KEY_PACKAGE)
            return DkgRound3Result(party=self.party_id, public_key_package=package.hex())
        cs = ciphersuite(request.ciphersuite)
        party_names = [p.id for p in request.parties]
        own_echo = self._round2_echo(request.wallet_id, request.ceremony_id)
        if own_echo is None:
            raise business_error(ValueError("this party's DKG round 2 never ran (or made no echo)"))
        self._round1_broadcast(
            request.wallet_id, request.ceremony_id, request.ciphersuite, party_names
        ).check_echoes(own_echo, request.echoes)
        names = names_by_identifier(cs, party_names)
        keys = self._sealing_keys(request.parties)
        session = self._dkg_session(
            request.wallet_id, request.ceremony_id, request.ciphersuite, party_names
        )
        round2_secret = decode(
            self._vault.get_secret(
                request.wallet_id, dkg_record(request.ceremony_id, "round2-secret")
            ),
            dkg.Round2SecretPackage,
        )
        own = identifier(cs, self.party_id)
        incoming = []
        for sender, envelope in sorted(request.sealed_shares.items()):
            try:
                plaintext = open_sealed(
                    SealedPayload.from_bytes(bytes.fromhex(envelope)),
                    session_id=session,
                    sender=sender,
                    sender_public_key=keys[sender],
                    recipient=self.party_id,
                    recipient_key=self._sealing_key,
                )
                share = cs.group.deserialize_scalar(plaintext)
            except (SealingError, MpcError, KeyError):
                # Only the sender (or a relay forging as it, which sealing rules out) can
                # produce an envelope that fails to open or decode for us.
                raise business_error(
                    ValueError("a sealed share failed to open"), culprits=[sender]
                ) from None
            incoming.append(dkg.Round2SecretShare(cs, identifier(cs, sender), own, share))
        try:
            key_share, public = dkg.part3(round2_secret, incoming)
        except FrostError as error:
            raise protocol_error(error, names) from None
        self._vault.put_secret(request.wallet_id, KEY_SHARE, encode(key_share))
        encoded = encode(public)
        self._vault.put_secret(request.wallet_id, PUBLIC_KEY_PACKAGE, encoded)
        for name in ("round1-secret", "round2-secret"):
            self._vault.delete_secret(request.wallet_id, dkg_record(request.ceremony_id, name))
        log.info("party %s holds its share of wallet %s", self.party_id, request.wallet_id)
        return DkgRound3Result(party=self.party_id, public_key_package=encoded.hex())

    # -- signing -----------------------------------------------------------------------

    @activity.defn(name="party.sign_round1")
    def sign_round1(self, request: SignRound1Input) -> SignRound1Result:
        """FROST round 1 (RFC 9591 §5.1): fresh nonces, kept in the vault; commitments out.

        Only for an authorized request: the check comes before any nonce exists."""
        self._authorize(
            request, None if request.message is None else bytes.fromhex(request.message)
        )
        key_share = self._key_share(request.wallet_id, request.ciphersuite)
        nonces, commitments = commit(key_share)
        # A retried round 1 gets the commitments stored by the first attempt, so the
        # nonces a signer commits to never change within one ceremony.
        stored = self._vault.store_nonces(
            request.wallet_id, request.ceremony_id, nonces.unsafe_export(), encode(commitments)
        )
        if stored == DISCARDED:
            raise business_error(
                CeremonyDiscarded(f"ceremony {request.ceremony_id} failed; its nonces are gone")
            )
        return SignRound1Result(party=self.party_id, commitments=stored.hex())

    @activity.defn(name="party.sign_round2")
    def sign_round2(self, request: SignRound2Input) -> SignRound2Result:
        """FROST round 2 (RFC 9591 §5.2), consuming the ceremony's nonces exactly once.

        Only for the message (and signer set) the request authorized: checked before the
        nonces are touched."""
        message = bytes.fromhex(request.message)
        claims = self._authorize(request, message)
        try:
            RequestVerifier.check_signers(claims, request.commitments)
        except Unauthorized as error:
            raise business_error(error) from None
        key_share = self._key_share(request.wallet_id, request.ciphersuite)
        cs = key_share.ciphersuite
        names = names_by_identifier(cs, request.commitments)
        try:
            commitments = [
                decode(bytes.fromhex(c), SigningCommitments)
                for _, c in sorted(request.commitments.items())
            ]
            package = SigningPackage(cs, commitments, message)
            if request.taproot_merkle_root is not None or cs is FROST_SECP256K1_TR:
                root = (
                    bytes.fromhex(request.taproot_merkle_root)
                    if request.taproot_merkle_root
                    else None
                )
                key_share = tweak_key_share(key_share, root)
        except FrostError as error:
            raise protocol_error(error, names) from None

        def compute(exported: bytes) -> bytes:
            nonces, _ = unsafe_import_signing_nonces(key_share, exported)
            return encode(sign(package, nonces, key_share))

        # The request digest identifies "the same inputs": a retry with identical inputs
        # gets the stored share, anything else for a consumed nonce is refused.
        digest = hashlib.sha256(request.model_dump_json().encode()).digest()
        try:
            share = self._vault.consume_nonces(
                request.wallet_id, request.ceremony_id, digest, compute
            )
        except (NonceAlreadyConsumed, NoncesNotFound) as error:
            raise business_error(error) from None
        except FrostError as error:
            raise protocol_error(error, names) from None
        stall = float(os.environ.get(FAULT_STALL_AFTER_CONSUME, "0") or 0)
        if stall:
            time.sleep(stall)
        return SignRound2Result(party=self.party_id, signature_share=share.hex())

    @activity.defn(name="party.discard_nonces")
    def discard_nonces(self, request: DiscardNoncesInput) -> DiscardNoncesResult:
        """Destroys a failed ceremony's nonces (idempotent); says what it found."""
        outcome = discard_nonce_record(self._vault, request.wallet_id, request.ceremony_id)
        log.info(
            "party %s discarded the nonces of ceremony %s: %s",
            self.party_id,
            request.ceremony_id,
            outcome,
        )
        return DiscardNoncesResult(party=self.party_id, outcome=outcome)

    # -- helpers -----------------------------------------------------------------------

    def _authorize(
        self, request: SignRound1Input | SignRound2Input, message: bytes | None
    ) -> AuthorizationClaims:
        """:func:`authorize_request` for a signing round's request and ``message``."""
        return authorize_request(
            self._requests,
            self._vault,
            self.party_id,
            request.authorization,
            wallet_id=request.wallet_id,
            ceremony_id=request.ceremony_id,
            message=message,
            taproot_merkle_root=request.taproot_merkle_root,
            transfer=request.transfer,
        )

    def _key_share(self, wallet_id: str, ciphersuite_id: str) -> KeyShare:
        try:
            key_share = decode(self._vault.get_secret(wallet_id, KEY_SHARE), KeyShare)
        except SecretNotFound as error:
            raise business_error(error, message="this party holds no share of the wallet") from None
        if key_share.ciphersuite.id != ciphersuite_id:
            raise business_error(ValueError("the wallet's ciphersuite differs from the request"))
        return key_share

    @staticmethod
    def _sealing_keys(parties: tuple[PartyRef, ...]) -> dict[str, SealingPublicKey]:
        return {p.id: SealingPublicKey(bytes.fromhex(p.sealing_public_key)) for p in parties}

    @staticmethod
    def _dkg_session(
        wallet_id: str, ceremony_id: str, ciphersuite_id: str, parties: Iterable[str]
    ) -> bytes:
        return session_id(wallet_id, ceremony_id, "dkg", ciphersuite_id, *sorted(parties))

    def _round1_broadcast(
        self, wallet_id: str, ceremony_id: str, ciphersuite_id: str, parties: Iterable[str]
    ) -> BroadcastRound:
        """The DKG's round-1 broadcast, bound to the ceremony's session (that of sealing)."""
        return BroadcastRound.open(
            self._vault,
            self.party_id,
            session_id=self._dkg_session(wallet_id, ceremony_id, ciphersuite_id, parties),
            label=DKG_ROUND1,
        )

    def _round1_signature(
        self, wallet_id: str, ceremony_id: str, ciphersuite_id: str, parties: Iterable[str]
    ) -> str:
        """This party's signature of its stored round-1 package, made once and stored, so
        that every answer (a retry, round 2's own entry) carries the same one."""
        record = dkg_record(ceremony_id, "round1-signature")
        if self._vault.has_secret(wallet_id, record):
            return self._vault.get_secret(wallet_id, record).hex()
        package = self._vault.get_secret(wallet_id, dkg_record(ceremony_id, "round1-package"))
        signature = self._round1_broadcast(wallet_id, ceremony_id, ciphersuite_id, parties).sign(
            package
        )
        self._vault.put_secret(wallet_id, record, bytes.fromhex(signature))
        return signature

    def _round2_echo(self, wallet_id: str, ceremony_id: str) -> BroadcastEcho | None:
        """The echo this party's round 2 stored; none for a round 2 from before echoes."""
        record = dkg_record(ceremony_id, "round2-echo")
        if not self._vault.has_secret(wallet_id, record):
            return None
        return BroadcastEcho.model_validate_json(self._vault.get_secret(wallet_id, record))
