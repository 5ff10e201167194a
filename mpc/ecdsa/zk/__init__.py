"""Zero-knowledge proofs of CGGMP21 (ePrint 2021/060), one module per proof.

Auxiliary information: Π_mod (Paillier–Blum modulus, Fig. 16), Π_prm (ring-Pedersen
parameters, Fig. 17), Π_fac (no small factors, Fig. 28). Signing: Π_enc, Π_aff-g and
Π_log*. Each module exposes a frozen proof dataclass, ``prove`` and ``verify``; ``verify``
raises :class:`mpc.ecdsa.errors.InvalidProof` and never returns a bool. Every proof is made
non-interactive with :class:`mpc.ecdsa.transcript.Transcript`, which the caller opens on
the session id so that no proof verifies outside its session.
"""
