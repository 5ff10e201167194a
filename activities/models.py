"""Inputs and results of every activity and workflow: one pydantic model each.

These models are the only things that cross Temporal (and so its history). They carry
public protocol outputs and sealed envelopes, never a share or a nonce in the clear.
Byte strings travel as lowercase hex (``common.types``): a workflow input takes
``HexOrEmpty`` where the request's own checks refuse what cannot be signed with a typed
error; everything a party or the coordinator produces is non-empty ``Hex``. The workflow
sandbox imports this module, so it depends on pydantic models alone (chains.models,
common.types, and the authorization format of runtime.authorization).

A signing request carries its ``authorization`` (runtime.authorization) from the client to
every party round, where the party checks it; it is public (claims and an Ed25519
signature), like everything else here.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from chains.models import (
    ChainName,
    ChainSignature,
    Prevout,
    SignedTransaction,
    TransferIntent,
    TxState,
    UnsignedTransaction,
)
from common.types import Hex, HexOrEmpty, PartyId, Scheme, WalletId
from runtime.authorization import RequestAuthorization, TransferPayload


class Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


# -- workflow inputs and results ---------------------------------------------------------


class CreateWalletInput(Model):
    version: Literal[1] = 1
    wallet_id: WalletId
    scheme: Scheme
    # Empty means every party of the topology (primaries and backups hold shares).
    parties: tuple[PartyId, ...] = ()
    threshold: int | None = Field(default=None, ge=2)


class CreateWalletResult(Model):
    version: Literal[1] = 1
    wallet_id: WalletId
    scheme: Scheme
    ciphersuite: str
    group_public_key: Hex
    threshold: int
    parties: tuple[PartyId, ...]
    ceremony_id: str


class SignInput(Model):
    version: Literal[1] = 1
    wallet_id: WalletId
    message: HexOrEmpty
    # Empty means the coordinator picks the signer set.
    signers: tuple[PartyId, ...] = ()
    # BIP341 script-tree merkle root; none for a key-path-only (BIP86) output.
    taproot_merkle_root: HexOrEmpty | None = None
    # Signed by the request-signing key for this request id (the workflow id); every
    # party refuses a request without a valid one (Unauthorized).
    authorization: RequestAuthorization | None = None
    # A transfer's ceremony (SignTransaction's child): the unsigned transaction the
    # message is a payload of, which each party checks against the authorized intent.
    transfer: TransferPayload | None = None


class SignResult(Model):
    version: Literal[1] = 1
    wallet_id: WalletId
    scheme: Scheme
    public_key: Hex
    message: HexOrEmpty
    signature: Hex
    signers: tuple[PartyId, ...]
    ceremony_id: str
    # ECDSA only: the recovery id (0..3) of the 64-byte r || s signature.
    recovery_id: int | None = None


class NoopInput(Model):
    version: Literal[1] = 1


# -- coordinator activities --------------------------------------------------------------


class PlanWalletInput(Model):
    request: CreateWalletInput
    ceremony_id: str


class PartyRef(Model):
    id: PartyId
    sealing_public_key: Hex


class WalletPlan(Model):
    """A validated wallet-creation request, resolved against the topology."""

    wallet_id: WalletId
    scheme: Scheme
    ciphersuite: str
    threshold: int
    parties: tuple[PartyRef, ...]


class PresignatureRef(Model):
    presign_id: str
    R: Hex
    R_shares: dict[PartyId, Hex]
    # SHA-256 of the presigning transcript every signer accepted (mpc.ecdsa.presign); what
    # an identification after a failed signing checks the signers' copies against.
    transcript_digest: HexOrEmpty = ""


class WalletInfo(Model):
    wallet_id: WalletId
    scheme: Scheme
    ciphersuite: str
    threshold: int
    parties: tuple[PartyId, ...]
    group_public_key: Hex
    public_key_package: Hex


class PlanSignInput(Model):
    request: SignInput
    ceremony_id: str


class SignPlan(Model):
    """A validated signing request: the wallet and the signer set chosen for it."""

    wallet: WalletInfo
    signers: tuple[PartyId, ...]
    message: HexOrEmpty
    taproot_merkle_root: Hex | None
    # ECDSA: a presignature from the pool, reserved for this ceremony, if one was ready.
    presignature: PresignatureRef | None = None


class RecordWalletInput(Model):
    plan: WalletPlan
    ceremony_id: str
    public_key_packages: dict[PartyId, Hex]


class AggregateInput(Model):
    plan: SignPlan
    ceremony_id: str
    commitments: dict[PartyId, Hex]
    signature_shares: dict[PartyId, Hex]


class CeremonyFailedInput(Model):
    ceremony_id: str
    wallet_id: WalletId
    reason: str
    culprits: tuple[PartyId, ...] = ()
    # The failure's type (``ChiCheckFailed``): each culprit's PartyMisbehaved reason.
    kind: str = ""
    # Whether the coordinator proved the culprits itself (an identification on public
    # data): only then is each recorded as PartyMisbehaved. Culprits a party named from
    # its own checks are listed in CeremonyFailed, as that party's accusation.
    verified: bool = False


class CeremonyStartedInput(Model):
    ceremony_id: str
    wallet_id: WalletId
    kind: Literal["create_wallet", "sign", "presign"]
    protocol: str
    parties: tuple[PartyId, ...]


# -- party activities --------------------------------------------------------------------


class EchoEntry(Model):
    """What an echoer received from one sender (mpc.broadcast): the payload's SHA-256 and
    the sender's signature."""

    payload_digest: Hex
    signature: Hex


class BroadcastEcho(Model):
    """One party's signed report of a broadcast round, by sender (itself included); the
    echoer is the party whose result carries it."""

    entries: dict[PartyId, EchoEntry]
    signature: Hex


class DkgRound1Input(Model):
    wallet_id: WalletId
    ceremony_id: str
    ciphersuite: str
    threshold: int
    parties: tuple[PartyId, ...]


class DkgRound1Result(Model):
    party: PartyId
    package: Hex
    # The party's signature of its package as its round-1 broadcast (mpc.broadcast);
    # empty only in histories from before broadcasts were signed.
    signature: HexOrEmpty = ""


class DkgRound2Input(Model):
    wallet_id: WalletId
    ceremony_id: str
    ciphersuite: str
    round1_packages: dict[PartyId, Hex]
    parties: tuple[PartyRef, ...]
    round1_signatures: dict[PartyId, Hex] = Field(default_factory=dict)


class DkgRound2Result(Model):
    party: PartyId
    # Each recipient's share, sealed to it: the relay (this workflow) cannot open any.
    sealed_shares: dict[PartyId, Hex]
    # What this party received in round 1, signed: every other party checks it in round 3.
    echo: BroadcastEcho | None = None


class DkgRound3Input(Model):
    wallet_id: WalletId
    ceremony_id: str
    ciphersuite: str
    parties: tuple[PartyRef, ...]
    sealed_shares: dict[PartyId, Hex]
    # Every other party's round-2 echo of round 1, by echoer.
    echoes: dict[PartyId, BroadcastEcho] = Field(default_factory=dict)


class DkgRound3Result(Model):
    party: PartyId
    public_key_package: Hex


class SignRound1Input(Model):
    wallet_id: WalletId
    ceremony_id: str
    ciphersuite: str
    # What the ceremony will sign: round 1 makes no use of it, but the party commits to
    # nonces only for a request whose authorization covers it.
    message: HexOrEmpty | None = None
    taproot_merkle_root: Hex | None = None
    authorization: RequestAuthorization | None = None
    transfer: TransferPayload | None = None


class SignRound1Result(Model):
    party: PartyId
    commitments: Hex


class SignRound2Input(Model):
    wallet_id: WalletId
    ceremony_id: str
    ciphersuite: str
    message: HexOrEmpty
    commitments: dict[PartyId, Hex]
    taproot_merkle_root: Hex | None = None
    authorization: RequestAuthorization | None = None
    transfer: TransferPayload | None = None


class SignRound2Result(Model):
    party: PartyId
    signature_share: Hex


class DiscardNoncesInput(Model):
    """Destroy a failed or abandoned ceremony's nonces (FROST) at one party."""

    wallet_id: WalletId
    ceremony_id: str


class DiscardPresignatureInput(Model):
    """Destroy a presignature (and any presigning round state) at one party."""

    wallet_id: WalletId
    presign_id: str


# What a party found when told to destroy nonces: fresh ones it destroyed, none ever made
# (it leaves a tombstone, so a late round cannot make them), already destroyed, or used by
# a signature share that already left the party (nothing secret is left).
DiscardOutcome = Literal["destroyed", "none", "already-discarded", "used"]


class DiscardNoncesResult(Model):
    party: PartyId
    outcome: DiscardOutcome


# -- threshold ECDSA (CGGMP21) -----------------------------------------------------------


class EcdsaSetupInput(Model):
    """Auxiliary information for every party: Paillier keys and ring-Pedersen parameters."""

    version: Literal[1] = 1
    session: str = Field(min_length=1, max_length=128)


class EcdsaSetupResult(Model):
    version: Literal[1] = 1
    session: str
    parties: tuple[PartyId, ...]
    modulus_bits: int


class AuxGenerateInput(Model):
    session: str


class AuxGenerateResult(Model):
    party: PartyId
    public: str  # AuxInfoPublic JSON: N, s, t, Π_mod, Π_prm (public)
    summary: str  # {"n", "s", "t"} in hex: what the duplicate check needs


class AuxVerifyPeerInput(Model):
    """On the prover's queue: verify the peer's aux info, then prove Π_fac to it."""

    session: str
    peer: PartyId
    peer_public: str


class AuxVerifyPeerResult(Model):
    party: PartyId
    peer: PartyId
    fac_proof: str


class AuxVerifyFacInput(Model):
    """On the verifier's queue: check the Π_fac proof the prover made for us."""

    session: str
    prover: PartyId
    fac_proof: str


class AuxCheckInput(Model):
    summaries: dict[PartyId, str]


class PartiesResult(Model):
    parties: tuple[PartyId, ...]


class PresignRoundInput(Model):
    wallet_id: WalletId
    presign_id: str
    signers: tuple[PartyId, ...]
    broadcasts: dict[PartyId, str] = Field(default_factory=dict)
    direct: dict[PartyId, str] = Field(default_factory=dict)
    # Round 2: each sender's signature of its round-1 broadcast (mpc.broadcast).
    signatures: dict[PartyId, Hex] = Field(default_factory=dict)
    # Round 3: every other signer's round-2 echo of the round-1 broadcasts, by echoer.
    echoes: dict[PartyId, BroadcastEcho] = Field(default_factory=dict)
    # The output step: the relay's PresignTranscript (codec), checked by every signer.
    transcript: str = ""


class PresignRoundResult(Model):
    party: PartyId
    broadcast: str = ""
    direct: dict[PartyId, str] = Field(default_factory=dict)
    # Round 1: the signature of ``broadcast``; round 2: this signer's echo of round 1.
    signature: HexOrEmpty = ""
    echo: BroadcastEcho | None = None
    # Round 1: this signer's aux parameters (N, s, t) as codec, for the transcript.
    aux: str = ""


class PresignFinishResult(Model):
    party: PartyId
    R: Hex
    R_shares: dict[PartyId, Hex]
    transcript_digest: HexOrEmpty = ""


class PresignTranscriptInput(Model):
    """What the relay forwarded in presigning rounds 1 and 2, for the transcript."""

    signers: tuple[PartyId, ...]
    broadcasts: dict[PartyId, str]
    aux: dict[PartyId, str]
    # directs[i][j]: the round-2 message from i to j.
    directs: dict[PartyId, dict[PartyId, str]]


class PresignTranscriptResult(Model):
    transcript: str
    digest: Hex


class DeltaOpeningResult(Model):
    party: PartyId
    opening: str


class IdentifyPresignInput(Model):
    """A failed δ check: every finish outcome and opening, to name who lied."""

    wallet_id: WalletId
    presign_id: str
    signers: tuple[PartyId, ...]
    transcript: str
    broadcasts: dict[PartyId, str]  # round 3: δ_j and Δ_j
    # The signers whose own δ check failed (the others finished a presignature).
    failed: tuple[PartyId, ...]
    openings: dict[PartyId, str]


class ChiProofInput(Model):
    wallet_id: WalletId
    presign_id: str
    ceremony_id: str


class ChiProofResult(Model):
    party: PartyId
    identification: str
    transcript: str


class IdentifySigningInput(Model):
    """A failed ΣS_i check: the shares, and each signer's proofs and transcript copy."""

    plan: SignPlan
    ceremony_id: str
    presign_id: str
    R: Hex
    R_shares: dict[PartyId, Hex]
    shares: dict[PartyId, str]
    transcript_digest: HexOrEmpty
    identifications: dict[PartyId, ChiProofResult]


class IdentificationResult(Model):
    """Who the identification named (never an honest signer), and why."""

    culprits: tuple[PartyId, ...]
    reason: str


class EcdsaSignInput(Model):
    wallet_id: WalletId
    presign_id: str
    digest: Hex
    # The signing ceremony (the Sign workflow's id), which the authorization names.
    ceremony_id: str | None = None
    authorization: RequestAuthorization | None = None
    transfer: TransferPayload | None = None


class EcdsaSignResult(Model):
    party: PartyId
    share: str


class EcdsaCombineInput(Model):
    plan: SignPlan
    ceremony_id: str
    R: Hex
    R_shares: dict[PartyId, Hex]
    shares: dict[PartyId, str]


class PresignInput(Model):
    """Fill a wallet's presignature pool: ECDSA's offline phase, ahead of any message."""

    version: Literal[1] = 1
    wallet_id: WalletId
    count: int = Field(default=1, ge=1, le=100)
    signers: tuple[PartyId, ...] = ()


class PresignResult(Model):
    version: Literal[1] = 1
    wallet_id: WalletId
    presign_ids: tuple[str, ...]
    signers: tuple[PartyId, ...]


class PresignPlanInput(Model):
    request: PresignInput
    ceremony_id: str


class RecordPresignatureInput(Model):
    wallet_id: WalletId
    presign_id: str
    signers: tuple[PartyId, ...]
    R: Hex
    R_shares: dict[PartyId, Hex]
    transcript_digest: HexOrEmpty = ""


# -- transactions (chains/) --------------------------------------------------------------


class SignTransactionInput(Model):
    """Sign and send one transfer; the workflow id is the request's idempotency key."""

    version: Literal[1] = 1
    wallet_id: WalletId
    intent: TransferIntent
    # Empty means the coordinator picks the signer set.
    signers: tuple[PartyId, ...] = ()
    # The transfer intent signed by the request-signing key for this request id; each
    # child ceremony carries it to the parties.
    authorization: RequestAuthorization | None = None


class SignTransactionResult(Model):
    version: Literal[1] = 1
    request_id: str
    chain: str
    wallet_id: WalletId
    from_address: str
    to: str
    amount: int
    fee: int
    raw_tx: Hex
    tx_hash: str
    status: TxState
    confirmations: int
    block: int | None = None
    # Bitcoin: the outputs spent, in input order (what the sighashes commit to).
    prevouts: tuple[Prevout, ...] = ()
    # The signing ceremonies (one per signing payload); empty when an earlier run of the
    # same request had already broadcast the transaction.
    ceremonies: tuple[str, ...] = ()
    # The transfer as requested, so a client can tell its request from another one that
    # reused the same idempotency key.
    intent: TransferIntent | None = None


class BuildTransactionInput(Model):
    request_id: str
    wallet_id: WalletId
    intent: TransferIntent
    # The request's authorization, for a coordinator-side check before anything is built
    # (the parties check it in any case, before they sign).
    authorization: RequestAuthorization | None = None


class BuiltTransaction(Model):
    transaction: UnsignedTransaction
    # Set when an earlier run of this request already broadcast its transaction: nothing is
    # signed again.
    broadcast: SignedTransaction | None = None
    confirmations: int
    poll_interval: float
    confirmation_timeout: float


class BroadcastInput(Model):
    request_id: str
    wallet_id: WalletId
    transaction: UnsignedTransaction
    signatures: tuple[ChainSignature, ...]


class TransactionStatusInput(Model):
    request_id: str
    wallet_id: WalletId
    signed: SignedTransaction


class LockInput(Model):
    """A WalletLock workflow's input: its id, and requesters a previous run handed over."""

    lock_id: str
    waiting: tuple[str, ...] = ()


class LockRequestInput(Model):
    lock_id: str
    requester: str


class WalletAddressInput(Model):
    version: Literal[1] = 1
    wallet_id: WalletId
    chain: ChainName


class KeyAddressInput(Model):
    """The address of any public key on a chain (compressed secp256k1 or Ed25519)."""

    version: Literal[1] = 1
    chain: ChainName
    public_key: HexOrEmpty


class AddressBalanceInput(Model):
    version: Literal[1] = 1
    chain: ChainName
    address: str = Field(min_length=1, max_length=128)


class FaucetInput(Model):
    """Development engines only: give an address funds."""

    version: Literal[1] = 1
    chain: ChainName
    address: str = Field(min_length=1, max_length=128)
    amount: int = Field(gt=0)


class AddressBalance(Model):
    version: Literal[1] = 1
    chain: ChainName
    address: str
    balance: int
