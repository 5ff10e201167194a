"""Network parameters of the Bitcoin family: address prefixes, dust limits, fee defaults.

Dust follows Bitcoin Core's ``GetDustThreshold`` (src/policy/policy.cpp): an output is dust
when spending it would cost more than its value at the dust relay fee (3 sat/vB), counting
the output's own size plus the input that spends it (148 bytes for a legacy spend, 67
virtual bytes for a segwit one). That gives 546 sat for P2PKH, 540 for P2SH, 294 for
P2WPKH and 330 for P2WSH and P2TR. litecoind 0.21 keeps the rule but its dust relay fee
is ten times Bitcoin's (``-dustrelayfee`` default 0.0003 LTC/kB = 30 sat/vB), so its
limits are 2940 (P2WPKH), 3300 (P2WSH, P2TR), 5460 (P2PKH) and 5400 (P2SH) litoshi:
measured with testmempoolaccept (``dust`` one unit below each, accepted at it). Both
relay at 1 sat/vB and above (``min relay fee not met`` below).
"""

from __future__ import annotations

from dataclasses import dataclass

from chains.config import BitcoinNetwork

# Bitcoin Core's DUST_RELAY_TX_FEE, in sat per 1000 virtual bytes; litecoind's default.
DUST_RELAY_FEE = 3_000
LITECOIN_DUST_RELAY_FEE = 30_000
# The size a future input spending the output adds (policy.cpp): a legacy input is
# 32 + 4 + 1 + 107 + 4 = 148 bytes; a segwit input's 107 witness bytes count a quarter.
LEGACY_SPEND_SIZE = 148
SEGWIT_SPEND_SIZE = 32 + 4 + 1 + 107 // 4 + 4


@dataclass(frozen=True, slots=True)
class NetworkParams:
    """One network: its bech32 human-readable part and base58 version bytes."""

    name: BitcoinNetwork
    hrp: str
    pubkey_version: int
    script_versions: tuple[int, ...]
    # A fee rate (sat/vB) to use when the node has no estimate (a fresh regtest chain).
    fallback_fee_rate: int
    # Whether funds and blocks can be made at will (regtest), never true elsewhere.
    local: bool
    # The dust relay fee (sat/kvB) that defines dust on this network's nodes.
    dust_relay_fee: int = DUST_RELAY_FEE

    def dust_limit(self, script_pubkey: bytes) -> int:
        return dust_limit(script_pubkey, self.dust_relay_fee)


NETWORKS: dict[BitcoinNetwork, NetworkParams] = {
    "mainnet": NetworkParams("mainnet", "bc", 0x00, (0x05,), 10, local=False),
    "testnet": NetworkParams("testnet", "tb", 0x6F, (0xC4,), 2, local=False),
    "regtest": NetworkParams("regtest", "bcrt", 0x6F, (0xC4,), 2, local=True),
    # Litecoin's testnet/regtest prefixes (chainparams.cpp): P2SH is 0x3a ("Q"), with
    # the old 0xc4 still accepted for addresses made before the switch.
    "litecoin-regtest": NetworkParams(
        "litecoin-regtest", "rltc", 0x6F, (0x3A, 0xC4), 2, True, LITECOIN_DUST_RELAY_FEE
    ),
}


def network_params(name: BitcoinNetwork) -> NetworkParams:
    return NETWORKS[name]


def output_size(script_pubkey: bytes) -> int:
    """Serialized size of an output: 8-byte amount, script length, script."""
    return 8 + compact_size_len(len(script_pubkey)) + len(script_pubkey)


def compact_size_len(n: int) -> int:
    if n < 0xFD:
        return 1
    if n <= 0xFFFF:
        return 3
    if n <= 0xFFFF_FFFF:
        return 5
    return 9


def is_witness_program(script_pubkey: bytes) -> bool:
    """BIP141: OP_n (0..16) followed by one direct push of 2 to 40 bytes."""
    if not 4 <= len(script_pubkey) <= 42:
        return False
    version = script_pubkey[0]
    if version != 0 and not 0x51 <= version <= 0x60:
        return False
    return script_pubkey[1] + 2 == len(script_pubkey)


def dust_limit(script_pubkey: bytes, dust_relay_fee: int = DUST_RELAY_FEE) -> int:
    """The smallest value Core relays for an output with this script (GetDustThreshold)."""
    spend = SEGWIT_SPEND_SIZE if is_witness_program(script_pubkey) else LEGACY_SPEND_SIZE
    return (output_size(script_pubkey) + spend) * dust_relay_fee // 1000
