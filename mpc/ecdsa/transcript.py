"""Fiat–Shamir transcripts: every proof's challenge binds the session and all its inputs.

Each appended value is length-prefixed with its label, so no two different transcripts
hash alike; the transcript starts from a domain label and the session id (wallet,
ceremony, attempt, signer set, protocol), so a proof made in one session never verifies
in another. Challenges are drawn from SHAKE-256 of the transcript state with enough
extra bits that reducing them leaves a negligible bias.
"""

from __future__ import annotations

import hashlib

from mpc.ecdsa.errors import InvalidParameters


def _encode_int(value: int) -> bytes:
    sign = b"-" if value < 0 else b"+"
    magnitude = abs(value)
    return sign + magnitude.to_bytes((magnitude.bit_length() + 7) // 8 or 1, "big")


class Transcript:
    """A running hash of labelled values; challenges are derived from its state."""

    def __init__(self, domain: bytes, session_id: bytes) -> None:
        if not session_id:
            raise InvalidParameters("a proof transcript needs a session id")
        self._hash = hashlib.sha512()
        self._counter = 0
        self.append_bytes(b"domain", domain)
        self.append_bytes(b"session", session_id)

    def append_bytes(self, label: bytes, value: bytes) -> None:
        self._hash.update(len(label).to_bytes(4, "big") + label)
        self._hash.update(len(value).to_bytes(8, "big") + value)

    def append_int(self, label: bytes, value: int) -> None:
        self.append_bytes(label, _encode_int(value))

    def append_ints(self, label: bytes, values: list[int] | tuple[int, ...]) -> None:
        self.append_int(label + b"#", len(values))
        for value in values:
            self.append_int(label, value)

    def _stream(self, label: bytes, size: int) -> bytes:
        self._counter += 1
        seed = self._hash.copy()
        seed.update(b"challenge" + label + self._counter.to_bytes(8, "big"))
        return hashlib.shake_256(seed.digest()).digest(size)

    def challenge_below(self, label: bytes, bound: int) -> int:
        """Uniform (to within 2^-128) in [0, bound)."""
        size = (bound.bit_length() + 7) // 8 + 16
        return int.from_bytes(self._stream(label, size), "big") % bound

    def challenge_signed(self, label: bytes, bound: int) -> int:
        """Uniform in ±bound, i.e. [−bound, bound] (CGGMP21's e ← ±q)."""
        return self.challenge_below(label, 2 * bound + 1) - bound

    def challenge_bits(self, label: bytes, count: int) -> list[int]:
        data = self._stream(label, (count + 7) // 8)
        return [(data[i // 8] >> (i % 8)) & 1 for i in range(count)]
