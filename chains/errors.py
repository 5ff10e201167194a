"""Typed errors of the chain adapters.

Every refusal of bad input is raised before a ceremony starts and changes nothing; the
activity layer turns these into non-retryable Temporal errors typed by class name.
"""

from __future__ import annotations


class ChainError(Exception):
    """Base of every chain-adapter error."""


class UnknownChain(ChainError):
    """The intent names a chain that is not configured."""


class InvalidAddress(ChainError):
    """The address cannot be parsed for this chain."""


class WrongNetwork(InvalidAddress):
    """A well-formed address of another network (mainnet vs testnet, bitcoin vs litecoin)."""


class ChecksumMismatch(InvalidAddress):
    """A mixed-case EVM address whose EIP-55 checksum does not match."""


class InvalidAmount(ChainError):
    """Zero, negative, or not representable on the chain."""


class SelfTransfer(ChainError):
    """The recipient is the sending wallet's own address: only the fee would move."""


class InsufficientFunds(ChainError):
    """The amount plus fees exceeds the sending address's balance."""


class DustOutput(ChainError):
    """An output below the chain's dust limit (or a Solana account below rent exemption)."""


class UnsupportedAsset(ChainError):
    """The intent names an asset this adapter does not move."""


class FeeTooHigh(ChainError):
    """The estimated fee exceeds the intent's fee cap."""


class ChainIdMismatch(ChainError):
    """The node reports a chain id other than the one configured for this chain."""


class InvalidSignature(ChainError):
    """A signature handed to attach() does not verify for the transaction's payload."""


class WrongChain(ChainError):
    """A transaction built for one chain was handed to another chain's adapter."""


class BroadcastRejected(ChainError):
    """The chain's engine refused the signed transaction."""


class NotLocalNetwork(ChainError):
    """Funding and block production exist only on local development engines."""


class RpcError(ChainError):
    """A node answered an RPC call with an error (retryable unless a subclass says so)."""
