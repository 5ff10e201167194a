"""Secret exponents run on ``gmpy2.powmod_sec``; public ones stay on ``gmpy2.powmod``.

``gmpy2.powmod`` (GMP's ``mpz_powm``) takes its windows from the exponent's bits, so its
timing and memory accesses reveal a secret exponent; ``gmpy2.powmod_sec`` does the same
work for every exponent of a size. An AST scan lists every modular exponentiation in the
scanned modules (``gmpy2.powmod``, ``gmpy2.powmod_sec``, ``pow`` with three arguments and
the helpers built on them), by enclosing function, and compares both lists with the
expected ones below: a new exponentiation, secret or public, has to be added here on
purpose, with the reason its exponent is what it is.

The scan covers the Paillier, ring-Pedersen, parameter and aux-info modules and Π_enc,
Π_aff-g, Π_mod, Π_prm and Π_fac. presign.py, sign.py, identify.py, log_star.py and
mul_star.py use the same helpers but are not scanned here yet.
"""

from __future__ import annotations

import ast
import random
from collections import defaultdict
from pathlib import Path

import gmpy2
import pytest

from mpc.ecdsa.errors import InvalidParameters
from mpc.ecdsa.paillier import PaillierSecretKey, powmod_secret
from mpc.ecdsa.ring_pedersen import generate_ring_pedersen

ROOT = Path(__file__).resolve().parents[3]

SCANNED = (
    "mpc/ecdsa/paillier.py",
    "mpc/ecdsa/ring_pedersen.py",
    "mpc/ecdsa/aux_info.py",
    "mpc/ecdsa/params.py",
    "mpc/ecdsa/zk/enc.py",
    "mpc/ecdsa/zk/aff_g.py",
    "mpc/ecdsa/zk/mod.py",
    "mpc/ecdsa/zk/prm.py",
    "mpc/ecdsa/zk/fac.py",
)

SECRET_CALLS = frozenset(
    {"gmpy2.powmod_sec", "powmod_secret", ".multiply_secret", ".commit_secret", ".power_secret"}
)
"""Exponentiations on powmod_sec: the primitive, its wrapper and the ``*_secret`` methods."""

VARIABLE_TIME_CALLS = frozenset({"gmpy2.powmod", "pow", ".multiply", ".commit", ".power", ".pow"})
"""Exponentiations on powmod or ``pow``, and the methods that take a public exponent."""

Site = tuple[str, str]
"""(module path, qualified name of the enclosing function)."""

SECRET_SITES: dict[Site, list[str]] = {
    # The one signed-exponent wrapper around powmod_sec.
    ("mpc/ecdsa/paillier.py", "powmod_secret"): ["gmpy2.powmod_sec(mpz(abs(exponent)) + 1)"],
    # A secret scalar times a ciphertext (presign's γ_i and key share, a prover's α).
    ("mpc/ecdsa/paillier.py", "PaillierPublicKey.multiply_secret"): ["powmod_secret(scalar)"],
    # Decryption: p − 1 and q − 1 are the factorization.
    ("mpc/ecdsa/paillier.py", "PaillierSecretKey.decrypt"): [
        "gmpy2.powmod_sec(p - 1)",
        "gmpy2.powmod_sec(q - 1)",
    ],
    # The N-th root: N⁻¹ mod p − 1 and q − 1 come from the factorization.
    ("mpc/ecdsa/paillier.py", "PaillierSecretKey.randomness"): [
        "gmpy2.powmod_sec(root_p)",
        "gmpy2.powmod_sec(root_q)",
    ],
    # The prover's ring-Pedersen commitments and powers.
    ("mpc/ecdsa/ring_pedersen.py", "RingPedersenParameters.commit_secret"): [
        "powmod_secret(x)",
        "powmod_secret(y)",
    ],
    ("mpc/ecdsa/ring_pedersen.py", "RingPedersenParameters.power_secret"): [
        "powmod_secret(exponent)"
    ],
    # s = t^λ: λ is the trapdoor.
    ("mpc/ecdsa/ring_pedersen.py", "generate_ring_pedersen"): ["powmod_secret(lam)"],
    # Π_enc: S = s^k t^μ, C = s^α t^γ.
    ("mpc/ecdsa/zk/enc.py", "prove"): [
        ".commit_secret(witness.k, mu)",
        ".commit_secret(alpha, gamma)",
    ],
    # Π_aff-g: A = C^α ⊕ enc(β), E, S, F, T.
    ("mpc/ecdsa/zk/aff_g.py", "prove"): [
        ".multiply_secret(alpha)",
        ".commit_secret(alpha, gamma)",
        ".commit_secret(witness.x, m)",
        ".commit_secret(beta, delta)",
        ".commit_secret(witness.y, mu)",
    ],
    # Π_mod: N-th roots and fourth roots, exponents from the factorization.
    ("mpc/ecdsa/zk/mod.py", "prove"): [
        "gmpy2.powmod_sec(nth_p)",
        "gmpy2.powmod_sec(nth_q)",
        "gmpy2.powmod_sec(fourth_p)",
        "gmpy2.powmod_sec(fourth_q)",
    ],
    # Π_prm: A_i = t^a_i; a_i and z_i together give λ.
    ("mpc/ecdsa/zk/prm.py", "prove"): ["powmod_secret(a)"],
    ("mpc/ecdsa/zk/prm.py", "_crt_powers"): [
        "gmpy2.powmod_sec(a % (p - 1) + (p - 1))",
        "gmpy2.powmod_sec(a % (q - 1) + (q - 1))",
    ],
    # Π_fac: commitments to p, q and the masks, T = Q^α t^r.
    ("mpc/ecdsa/zk/fac.py", "prove"): [
        ".commit_secret(p, mu)",
        ".commit_secret(q, nu)",
        ".commit_secret(alpha, x)",
        ".commit_secret(beta, y)",
        ".power_secret(alpha)",
        ".power_secret(r)",
    ],
}
"""Every secret-exponent call, by function: the list the scan must find, exactly."""

PUBLIC_SITES: dict[Site, list[str]] = {
    # ρ^N: the exponent is the public modulus (ρ, the base, may be secret).
    ("mpc/ecdsa/paillier.py", "PaillierPublicKey.encrypt_with"): ["gmpy2.powmod(n)"],
    # The public-exponent helpers, for verifiers; the provers use the *_secret ones.
    ("mpc/ecdsa/paillier.py", "PaillierPublicKey.multiply"): ["gmpy2.powmod(mpz(scalar))"],
    ("mpc/ecdsa/paillier.py", "PaillierPublicKey.pow"): ["gmpy2.powmod(mpz(exponent))"],
    ("mpc/ecdsa/ring_pedersen.py", "RingPedersenParameters.commit"): [
        "gmpy2.powmod(mpz(x))",
        "gmpy2.powmod(mpz(y))",
    ],
    ("mpc/ecdsa/ring_pedersen.py", "RingPedersenParameters.power"): ["gmpy2.powmod(mpz(exponent))"],
    # Squaring public parameters to test their order.
    ("mpc/ecdsa/ring_pedersen.py", "RingPedersenParameters.validate"): ["pow(2)"],
    # z2 = r·ρ^e: the exponent is the public challenge.
    ("mpc/ecdsa/zk/enc.py", "prove"): ["pow(e)"],
    ("mpc/ecdsa/zk/aff_g.py", "prove"): ["pow(e)", "pow(e)"],
    # Verifiers: the challenge e and the proof's responses are public.
    ("mpc/ecdsa/zk/enc.py", "verify"): [
        ".pow(e)",
        ".commit(proof.z1, proof.z3)",
        ".power(e)",
    ],
    ("mpc/ecdsa/zk/aff_g.py", "verify"): [
        ".pow(proof.z1)",
        ".pow(e)",
        ".pow(e)",
        ".commit(proof.z1, proof.z3)",
        ".power(e)",
        ".commit(proof.z2, proof.z4)",
        ".power(e)",
    ],
    ("mpc/ecdsa/zk/mod.py", "verify"): ["gmpy2.powmod(mn)", "gmpy2.powmod(4)"],
    ("mpc/ecdsa/zk/prm.py", "verify"): ["gmpy2.powmod(answer)"],
    ("mpc/ecdsa/zk/fac.py", "verify"): [
        ".commit(proof.z1, proof.w1)",
        "gmpy2.powmod(e)",
        ".commit(proof.z2, proof.w2)",
        "gmpy2.powmod(e)",
        ".commit(n0, proof.sigma)",
        "gmpy2.powmod(proof.z1)",
        "gmpy2.powmod(proof.v)",
        "gmpy2.powmod(e)",
    ],
}
"""Every variable-time exponentiation, by function, with its (public) exponent."""

PUBLIC_EXPONENTS_IN_SECRET_FUNCTIONS: dict[Site, list[str]] = {
    ("mpc/ecdsa/zk/enc.py", "prove"): ["pow(e)"],
    ("mpc/ecdsa/zk/aff_g.py", "prove"): ["pow(e)", "pow(e)"],
}
"""The only variable-time powers allowed in a function that has secret exponents: ρ^e."""

HELPERS: dict[str, Site] = {
    "powmod_secret": ("mpc/ecdsa/paillier.py", "powmod_secret"),
    ".multiply_secret": ("mpc/ecdsa/paillier.py", "PaillierPublicKey.multiply_secret"),
    ".commit_secret": ("mpc/ecdsa/ring_pedersen.py", "RingPedersenParameters.commit_secret"),
    ".power_secret": ("mpc/ecdsa/ring_pedersen.py", "RingPedersenParameters.power_secret"),
}
"""Where each secret helper is defined, to follow a call down to powmod_sec."""


def _callee(call: ast.Call) -> tuple[str, list[ast.expr]] | None:
    """The exponentiation a call is, and its exponent arguments; ``None`` for other calls."""
    func, args = call.func, call.args
    if (
        isinstance(func, ast.Attribute)
        and isinstance(func.value, ast.Name)
        and func.value.id == "gmpy2"
        and func.attr in {"powmod", "powmod_sec"}
    ):
        return f"gmpy2.{func.attr}", args[1:2]
    if isinstance(func, ast.Name):
        if func.id == "pow" and len(args) == 3:
            return "pow", args[1:2]
        if func.id == "powmod_secret":
            return "powmod_secret", args[1:2]
    if isinstance(func, ast.Attribute):
        name = f".{func.attr}"
        if name in {".commit", ".commit_secret"}:
            return name, args
        if name in SECRET_CALLS | VARIABLE_TIME_CALLS:
            return name, args[1:2]
    return None


class _Scanner(ast.NodeVisitor):
    def __init__(self, path: str) -> None:
        self.path = path
        self.scope: list[str] = []
        self.secret: dict[Site, list[str]] = defaultdict(list)
        self.public: dict[Site, list[str]] = defaultdict(list)

    def _nested(self, node: ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) -> None:
        self.scope.append(node.name)
        self.generic_visit(node)
        self.scope.pop()

    def visit_FunctionDef(self, node: ast.FunctionDef) -> None:
        self._nested(node)

    def visit_AsyncFunctionDef(self, node: ast.AsyncFunctionDef) -> None:
        self._nested(node)

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        self._nested(node)

    def visit_Call(self, node: ast.Call) -> None:
        found = _callee(node)
        if found is not None:
            name, exponent = found
            site = (self.path, ".".join(self.scope))
            text = f"{name}({', '.join(ast.unparse(e) for e in exponent)})"
            (self.secret if name in SECRET_CALLS else self.public)[site].append(text)
        self.generic_visit(node)


def _scan() -> tuple[dict[Site, list[str]], dict[Site, list[str]]]:
    secret: dict[Site, list[str]] = {}
    public: dict[Site, list[str]] = {}
    for path in SCANNED:
        scanner = _Scanner(path)
        scanner.visit(ast.parse((ROOT / path).read_text(encoding="utf-8")))
        secret.update(scanner.secret)
        public.update(scanner.public)
    return secret, public


def test_secret_exponent_sites_are_exactly_the_expected_ones() -> None:
    secret, _ = _scan()
    assert secret == SECRET_SITES


def test_variable_time_sites_are_exactly_the_expected_ones() -> None:
    _, public = _scan()
    assert public == PUBLIC_SITES


def test_every_function_with_a_secret_exponent_reaches_powmod_sec_and_not_powmod() -> None:
    secret, public = _scan()

    def reaches_powmod_sec(site: Site, seen: frozenset[Site] = frozenset()) -> bool:
        for call in secret.get(site, []):
            name = call.split("(", 1)[0]
            if name == "gmpy2.powmod_sec":
                return True
            helper = HELPERS.get(name)
            if (
                helper is not None
                and helper not in seen
                and reaches_powmod_sec(helper, seen | {site})
            ):
                return True
        return False

    for site in SECRET_SITES:
        assert reaches_powmod_sec(site), site
        # Only ρ^e, with the public challenge e, may use a variable-time power beside them.
        assert public.get(site, []) == PUBLIC_EXPONENTS_IN_SECRET_FUNCTIONS.get(site, []), site


def test_no_other_route_to_a_variable_time_power() -> None:
    """gmpy2 only as ``import gmpy2`` and no ``**`` with a variable exponent."""
    for path in SCANNED:
        tree = ast.parse((ROOT / path).read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                assert node.module != "gmpy2", f"{path}: from gmpy2 import …"
            if isinstance(node, ast.Import):
                for alias in node.names:
                    assert alias.name != "gmpy2" or alias.asname is None, path
            if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Pow):
                assert isinstance(node.right, ast.Constant), f"{path}: {ast.unparse(node)}"


# --- Behaviour of the secret-exponent helpers ------------------------------------------

RNG = random.Random(20240601)


def _prime(bits: int) -> int:
    while True:
        candidate = int(gmpy2.next_prime(RNG.getrandbits(bits) | (3 << (bits - 2))))
        if candidate.bit_length() == bits and candidate % 4 == 3:
            return candidate


P, Q = _prime(512), _prime(512)
SECRET = PaillierSecretKey(P, Q)
PUBLIC = SECRET.public_key


@pytest.mark.parametrize(
    "exponent", [0, 1, -1, 2, -2, 65537, -65537, 1 << 600, -(1 << 600), 12345678901234567]
)
def test_powmod_secret_agrees_with_pow_for_every_sign(exponent: int) -> None:
    base = RNG.randrange(2, PUBLIC.n2)
    assert powmod_secret(base, exponent, PUBLIC.n2) == pow(base, exponent, PUBLIC.n2)


def test_powmod_secret_refuses_even_moduli_and_non_units() -> None:
    with pytest.raises(InvalidParameters):
        powmod_secret(3, 5, 1 << 64)
    with pytest.raises(InvalidParameters):
        powmod_secret(P, 5, PUBLIC.n2)


def test_secret_and_public_helpers_agree() -> None:
    parameters, _ = generate_ring_pedersen(P, Q, RNG.randbytes)
    ciphertext, _ = PUBLIC.encrypt(42, RNG.randbytes)
    for scalar in (0, 7, -7, RNG.getrandbits(256), -RNG.getrandbits(900)):
        assert PUBLIC.multiply_secret(ciphertext, scalar) == PUBLIC.multiply(ciphertext, scalar)
        assert parameters.commit_secret(scalar, -scalar) == parameters.commit(scalar, -scalar)
        assert parameters.power_secret(parameters.t, scalar) == parameters.power(
            parameters.t, scalar
        )


@pytest.mark.parametrize("message", [0, 1, -1, 2**200, -(2**200)])
def test_decryption_and_randomness_on_powmod_sec(message: int) -> None:
    ciphertext, rho = PUBLIC.encrypt(message, RNG.randbytes)
    assert SECRET.decrypt(ciphertext) == message
    assert SECRET.randomness(ciphertext) == rho
    # Homomorphic scaling by a secret scalar decrypts to the product.
    scaled = PUBLIC.multiply_secret(ciphertext, -3)
    assert SECRET.decrypt(scaled) == -3 * message
