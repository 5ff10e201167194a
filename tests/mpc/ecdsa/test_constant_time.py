"""Secret exponents run on ``gmpy2.powmod_sec``; public ones stay on ``gmpy2.powmod``.

``gmpy2.powmod`` (GMP's ``mpz_powm``) takes its windows from the exponent's bits, so its
timing and memory accesses reveal a secret exponent; ``gmpy2.powmod_sec`` does the same
work for every exponent of a size. An AST scan lists every modular exponentiation in the
scanned modules (``gmpy2.powmod``, ``gmpy2.powmod_sec``, ``pow`` with three arguments and
the helpers built on them), by enclosing function, and compares both lists with the
expected ones below: a new exponentiation, secret or public, has to be added here on
purpose, with the reason its exponent is what it is.

The scan covers every module under ``mpc/`` (ECDSA, FROST, the groups, sealing and
broadcast), so a new module is scanned without being named here. Beside the two lists it
keeps two more, exactly as well: the gmpy2 calls that exponentiate inside GMP (the
Miller–Rabin tests of ``gmpy2.is_prime``), and the calls the scan matches by name that are
not modular exponentiations at all (coincurve's point multiplication).
"""

from __future__ import annotations

import ast
import random
from collections import defaultdict
from pathlib import Path
from typing import NamedTuple

import gmpy2
import pytest

from mpc.ecdsa.errors import InvalidParameters
from mpc.ecdsa.paillier import PaillierSecretKey, powmod_secret
from mpc.ecdsa.ring_pedersen import generate_ring_pedersen

ROOT = Path(__file__).resolve().parents[3]

SCANNED = tuple(sorted(path.relative_to(ROOT).as_posix() for path in (ROOT / "mpc").rglob("*.py")))
"""Every module of the mpc package."""

MUST_BE_SCANNED = frozenset(
    {
        "mpc/ecdsa/paillier.py",
        "mpc/ecdsa/ring_pedersen.py",
        "mpc/ecdsa/aux_info.py",
        "mpc/ecdsa/params.py",
        "mpc/ecdsa/primes.py",
        "mpc/ecdsa/presign.py",
        "mpc/ecdsa/sign.py",
        "mpc/ecdsa/identify.py",
        "mpc/ecdsa/keys.py",
        "mpc/ecdsa/signature.py",
        "mpc/ecdsa/zk/enc.py",
        "mpc/ecdsa/zk/aff_g.py",
        "mpc/ecdsa/zk/log_star.py",
        "mpc/ecdsa/zk/mul_star.py",
        "mpc/ecdsa/zk/mod.py",
        "mpc/ecdsa/zk/prm.py",
        "mpc/ecdsa/zk/fac.py",
        "mpc/group/base.py",
        "mpc/group/secp256k1.py",
        "mpc/group/ed25519.py",
        "mpc/frost/helpers.py",
        "mpc/sealing.py",
    }
)
"""A guard on the glob: the modules that exponentiate, or sit next to those that do."""

SECRET_CALLS = frozenset(
    {"gmpy2.powmod_sec", "powmod_secret", ".multiply_secret", ".commit_secret", ".power_secret"}
)
"""Exponentiations on powmod_sec: the primitive, its wrapper and the ``*_secret`` methods."""

VARIABLE_TIME_CALLS = frozenset({"gmpy2.powmod", "pow", ".multiply", ".commit", ".power", ".pow"})
"""Exponentiations on powmod or ``pow``, and the methods that take a public exponent."""

GMPY2_WITHOUT_POWERS = frozenset({"mpz", "invert", "gcd", "jacobi", "legendre", "isqrt"})
"""The gmpy2 functions mpc calls that do not exponentiate; any other one (but powmod and
powmod_sec) is listed by site in :data:`PRIMALITY_TESTS`."""

Site = tuple[str, str]
"""(module path, qualified name of the enclosing function)."""

SECRET_SITES: dict[Site, list[str]] = {
    # Miller–Rabin on a secret prime candidate: (n − 1)/2^s gives n away.
    ("mpc/ecdsa/primes.py", "_probably_prime_secret"): ["gmpy2.powmod_sec(d)"],
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
    # Presigning, round 2: D_{j,i} = γ_i ⊙ K_j ⊕ …, D̂_{j,i} = w_i ⊙ K_j ⊕ … (γ_i and the
    # additive key share w_i are secret).
    ("mpc/ecdsa/presign.py", "round2"): [
        ".multiply_secret(state.gamma)",
        ".multiply_secret(state.w)",
    ],
    # χ identification: Ĥ_i = K_i^{w_i} · ρ^{N_i}, with the key share w_i.
    ("mpc/ecdsa/identify.py", "prove_chi"): [".multiply_secret(presignature.w)"],
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
    # Π_log*: S = s^x t^μ, D = s^α t^γ.
    ("mpc/ecdsa/zk/log_star.py", "prove"): [
        ".commit_secret(witness.x, mu)",
        ".commit_secret(alpha, gamma)",
    ],
    # Π_mul*: A = C^α · r^N0, E = s^α t^γ, S = s^x t^m.
    ("mpc/ecdsa/zk/mul_star.py", "prove"): [
        ".multiply_secret(alpha)",
        ".commit_secret(alpha, gamma)",
        ".commit_secret(witness.x, m)",
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
    # R = δ⁻¹·Γ: δ = Σ δ_j is public (every δ_j is broadcast in round 3).
    ("mpc/ecdsa/presign.py", "finish"): ["pow(-1)"],
    # GG20 identification after a failed δ check: γ_i has been opened (DeltaOpening), so
    # γ_i ⊙ K_j is recomputed from public values.
    ("mpc/ecdsa/presign.py", "identify_delta_culprits"): [".multiply(opening.gamma)"],
    # Ĉ_i = Ĥ_i · Π D̂_{i,j} · Π F̂_{i→j}⁻¹: inverses of ciphertexts of the public transcript.
    ("mpc/ecdsa/identify.py", "chi_ciphertext"): ["pow(-1)"],
    # ρ^{N_i} in Ĥ_i: the exponent is the public modulus.
    ("mpc/ecdsa/identify.py", "prove_chi"): [".pow(key.n)"],
    # z2 = r·ρ^e: the exponent is the public challenge.
    ("mpc/ecdsa/zk/enc.py", "prove"): ["pow(e)"],
    ("mpc/ecdsa/zk/aff_g.py", "prove"): ["pow(e)", "pow(e)"],
    ("mpc/ecdsa/zk/log_star.py", "prove"): ["pow(e)"],
    # Π_mul*: r^N0 (the public modulus) and w = r·ρ^e (the public challenge).
    ("mpc/ecdsa/zk/mul_star.py", "prove"): [".pow(key0.n)", "pow(e)"],
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
    ("mpc/ecdsa/zk/log_star.py", "verify"): [
        ".pow(e)",
        ".commit(proof.z1, proof.z3)",
        ".power(e)",
    ],
    ("mpc/ecdsa/zk/mul_star.py", "verify"): [
        ".pow(proof.z1)",
        ".pow(key0.n)",
        ".pow(e)",
        ".commit(proof.z1, proof.z2)",
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
    # A scalar's inverse modulo the group order (an extended GCD, not a power; its time
    # depends on the base). Its one caller, derive_interpolating_value, inverts a Lagrange
    # denominator, a product of differences of public identifiers.
    ("mpc/group/base.py", "Scalar.invert"): ["pow(-1)"],
}
"""Every variable-time exponentiation, by function, with its (public) exponent."""

PUBLIC_EXPONENTS_IN_SECRET_FUNCTIONS: dict[Site, list[str]] = {
    ("mpc/ecdsa/identify.py", "prove_chi"): [".pow(key.n)"],
    ("mpc/ecdsa/zk/enc.py", "prove"): ["pow(e)"],
    ("mpc/ecdsa/zk/aff_g.py", "prove"): ["pow(e)", "pow(e)"],
    ("mpc/ecdsa/zk/log_star.py", "prove"): ["pow(e)"],
    ("mpc/ecdsa/zk/mul_star.py", "prove"): [".pow(key0.n)", "pow(e)"],
}
"""The only variable-time powers allowed in a function that has secret exponents: ρ^e with
the public challenge e, and r^N with the public modulus N."""

PRIMALITY_TESTS: dict[Site, list[str]] = {
    # GMP's Miller–Rabin (mpz_probab_prime_p, through gmpy2.is_prime) raises to
    # (n − 1)/2^k with mpz_powm, variable time, and runs a strong Lucas test on n: used
    # only on public numbers. The secret Paillier primes are tested by
    # primes._probably_prime_secret, on powmod_sec (listed in SECRET_SITES).
    # Verifiers refusing a prime modulus: N is public.
    ("mpc/ecdsa/aux_info.py", "verify_aux_info"): ["gmpy2.is_prime(n, 50)"],
    ("mpc/ecdsa/zk/mod.py", "verify"): ["gmpy2.is_prime(n, 50)"],
}
"""Every gmpy2 call that exponentiates inside GMP, by function, with its arguments."""

SECRET_PRIMALITY_TESTS: frozenset[Site] = frozenset()
"""The sites of :data:`PRIMALITY_TESTS` whose number is secret: none (the safe-prime test
of the Paillier primes runs on powmod_sec)."""

NOT_EXPONENTIATIONS: dict[Site, list[str]] = {
    # coincurve's PublicKey.multiply: a secp256k1 point multiplication in libsecp256k1
    # (secp256k1_ec_pubkey_tweak_mul, constant time), not a power modulo an integer. Its
    # scalar is often secret (k_i·Γ, χ_i·R), so it is not listed among the public sites.
    ("mpc/group/secp256k1.py", "Secp256k1Element.__mul__"): [
        ".multiply(scalar.value.to_bytes(32, 'big'))"
    ],
}
"""Calls named like a helper that are not one: every helper takes two operands."""

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


def _is_other_method(call: ast.Call) -> bool:
    """A method named like a helper called with fewer than two operands: not a helper."""
    func = call.func
    return (
        isinstance(func, ast.Attribute)
        and not (isinstance(func.value, ast.Name) and func.value.id == "gmpy2")
        and f".{func.attr}" in SECRET_CALLS | VARIABLE_TIME_CALLS
        and len(call.args) + len(call.keywords) < 2
    )


def _gmpy2_power(call: ast.Call) -> str | None:
    """The name of a gmpy2 function outside powmod, powmod_sec and the list without powers."""
    func = call.func
    if (
        isinstance(func, ast.Attribute)
        and isinstance(func.value, ast.Name)
        and func.value.id == "gmpy2"
        and func.attr not in {"powmod", "powmod_sec"} | GMPY2_WITHOUT_POWERS
    ):
        return f"gmpy2.{func.attr}"
    return None


def _text(name: str, arguments: list[ast.expr]) -> str:
    return f"{name}({', '.join(ast.unparse(e) for e in arguments)})"


class _Scanner(ast.NodeVisitor):
    def __init__(self, path: str) -> None:
        self.path = path
        self.scope: list[str] = []
        self.secret: dict[Site, list[str]] = defaultdict(list)
        self.public: dict[Site, list[str]] = defaultdict(list)
        self.primality: dict[Site, list[str]] = defaultdict(list)
        self.other: dict[Site, list[str]] = defaultdict(list)

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
        site = (self.path, ".".join(self.scope))
        gmpy2_power = _gmpy2_power(node)
        found = _callee(node)
        if gmpy2_power is not None:
            self.primality[site].append(_text(gmpy2_power, node.args))
        elif _is_other_method(node):
            assert isinstance(node.func, ast.Attribute)
            self.other[site].append(_text(f".{node.func.attr}", node.args))
        elif found is not None:
            name, exponent = found
            (self.secret if name in SECRET_CALLS else self.public)[site].append(
                _text(name, exponent)
            )
        self.generic_visit(node)


class _Scan(NamedTuple):
    secret: dict[Site, list[str]]
    public: dict[Site, list[str]]
    primality: dict[Site, list[str]]
    other: dict[Site, list[str]]


def _scan() -> _Scan:
    scan = _Scan({}, {}, {}, {})
    for path in SCANNED:
        scanner = _Scanner(path)
        scanner.visit(ast.parse((ROOT / path).read_text(encoding="utf-8")))
        scan.secret.update(scanner.secret)
        scan.public.update(scanner.public)
        scan.primality.update(scanner.primality)
        scan.other.update(scanner.other)
    return scan


def test_the_scan_covers_every_module_of_mpc() -> None:
    assert set(SCANNED) >= MUST_BE_SCANNED, sorted(MUST_BE_SCANNED - set(SCANNED))
    listed = {
        path
        for sites in (SECRET_SITES, PUBLIC_SITES, PRIMALITY_TESTS, NOT_EXPONENTIATIONS)
        for path, _ in sites
    }
    assert listed <= set(SCANNED), sorted(listed - set(SCANNED))


def test_secret_exponent_sites_are_exactly_the_expected_ones() -> None:
    assert _scan().secret == SECRET_SITES


def test_variable_time_sites_are_exactly_the_expected_ones() -> None:
    assert _scan().public == PUBLIC_SITES


def test_primality_tests_are_exactly_the_expected_ones() -> None:
    assert _scan().primality == PRIMALITY_TESTS
    assert set(PRIMALITY_TESTS) >= SECRET_PRIMALITY_TESTS


def test_calls_named_like_a_helper_that_are_not_one_are_the_expected_ones() -> None:
    assert _scan().other == NOT_EXPONENTIATIONS


def test_every_function_with_a_secret_exponent_reaches_powmod_sec_and_not_powmod() -> None:
    scan = _scan()
    secret, public = scan.secret, scan.public

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
        # Only ρ^e and r^N, with the public e and N, may use a variable-time power beside them.
        assert public.get(site, []) == PUBLIC_EXPONENTS_IN_SECRET_FUNCTIONS.get(site, []), site
        assert site not in scan.primality, site


def test_no_other_route_to_a_variable_time_power() -> None:
    """gmpy2 only as ``import gmpy2`` and called by name, the helpers only called, and no
    ``**`` or two-argument ``pow`` with a variable exponent."""
    methods = {name[1:] for name in SECRET_CALLS | VARIABLE_TIME_CALLS if name[0] == "."}
    for path in SCANNED:
        tree = ast.parse((ROOT / path).read_text(encoding="utf-8"))
        called = {id(node.func) for node in ast.walk(tree) if isinstance(node, ast.Call)}
        for node in ast.walk(tree):
            where = f"{path}:{getattr(node, 'lineno', '?')}"
            if isinstance(node, ast.ImportFrom):
                assert node.module != "gmpy2", f"{where}: from gmpy2 import …"
                for alias in node.names:
                    assert alias.name != "powmod_secret" or alias.asname is None, where
            if isinstance(node, ast.Import):
                for alias in node.names:
                    assert alias.name != "gmpy2" or alias.asname is None, where
            if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Pow):
                assert isinstance(node.right, ast.Constant), f"{where}: {ast.unparse(node)}"
            if isinstance(node, ast.AugAssign) and isinstance(node.op, ast.Pow):
                assert isinstance(node.value, ast.Constant), f"{where}: {ast.unparse(node)}"
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id == "pow"
            ):
                assert len(node.args) == 3, f"{where}: two-argument pow"
                assert not node.keywords, f"{where}: pow with keywords"
            if (
                isinstance(node, ast.Attribute)
                and isinstance(node.ctx, ast.Load)
                and id(node) not in called
            ):
                # ``mpz = gmpy2.mpz`` is the one alias; ``f = key.multiply`` would hide a power.
                if isinstance(node.value, ast.Name) and node.value.id == "gmpy2":
                    assert node.attr == "mpz", f"{where}: {ast.unparse(node)} not called"
                assert node.attr not in methods, f"{where}: {ast.unparse(node)} not called"
                assert node.attr not in {"__pow__", "__rpow__", "__ipow__"}, where
            if isinstance(node, ast.Name) and node.id in {"pow", "powmod_secret"}:
                assert id(node) in called, f"{where}: {node.id} not called"


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
