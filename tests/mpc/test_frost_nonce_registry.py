"""Single use of FROST signing nonces below the vault (RFC 9591 §5.2, "nonce reuse").

The vault marks nonces consumed durably before a share leaves it; this is the check
beneath it, in :mod:`mpc.frost.round1`: once a pair of nonces has gone into a signature
share, no object holding the same nonces signs again in the process, whether it is the
same :class:`SigningNonces`, one restored with ``unsafe_import_signing_nonces`` or one
rebuilt from the scalars.
"""

from __future__ import annotations

import ast
import threading
from pathlib import Path

import pytest

from mpc.frost import (
    Ciphersuite,
    KeyShare,
    PublicKeyPackage,
    SigningPackage,
    aggregate,
    commit,
    sign,
)
from mpc.frost.errors import MalformedPackage, NonceReuse
from mpc.frost.round1 import (
    SigningNonces,
    signing_nonces_from_scalars,
    unsafe_import_signing_nonces,
)
from tests.helpers.ceremony import identifiers_for, run_dkg
from tests.helpers.rng import DeterministicRng
from tests.helpers.suites import PARTIES, SUITE_IDS, SUITES
from tests.mpc.frost_nonce_registry import isolated_nonce_registry

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module", params=SUITES, ids=SUITE_IDS)
def keys(request: pytest.FixtureRequest) -> tuple[Ciphersuite, list[KeyShare], PublicKeyPackage]:
    cs: Ciphersuite = request.param
    ids = identifiers_for(cs, PARTIES[:3])
    shares, public = run_dkg(cs, ids, 2, DeterministicRng(f"nonce-registry/{cs.id}"))
    return cs, [shares[i] for i in ids], public


def _package(
    cs: Ciphersuite, mine: SigningNonces, other_share: KeyShare, message: bytes, seed: str
) -> SigningPackage:
    """A two-signer package with our commitments and a fresh co-signer's."""
    _, theirs = commit(other_share, DeterministicRng(seed))
    return SigningPackage(cs, [mine.commitments, theirs], message)


def test_a_second_sign_with_the_same_object_raises(keys) -> None:
    cs, shares, _ = keys
    nonces, _ = commit(shares[0], DeterministicRng(f"same-object/{cs.id}"))
    sign(_package(cs, nonces, shares[1], b"first", f"co-1/{cs.id}"), nonces, shares[0])
    assert nonces.consumed
    with pytest.raises(NonceReuse):
        sign(_package(cs, nonces, shares[1], b"second", f"co-2/{cs.id}"), nonces, shares[0])


def test_export_and_import_do_not_reset_single_use(keys) -> None:
    cs, shares, _ = keys
    nonces, _ = commit(shares[0], DeterministicRng(f"export/{cs.id}"))
    exported = nonces.unsafe_export()
    first, _ = unsafe_import_signing_nonces(shares[0], exported)
    second, _ = unsafe_import_signing_nonces(shares[0], exported)
    sign(_package(cs, first, shares[1], b"first", f"co-3/{cs.id}"), first, shares[0])
    # A restored copy made before the first use is refused too, and so is the original.
    assert second.consumed
    assert nonces.consumed
    with pytest.raises(NonceReuse):
        sign(_package(cs, second, shares[1], b"second", f"co-4/{cs.id}"), second, shares[0])
    with pytest.raises(NonceReuse):
        nonces.consume()
    # A copy restored after the use is refused as well, and consumed nonces are not exported.
    third, _ = unsafe_import_signing_nonces(shares[0], exported)
    with pytest.raises(NonceReuse):
        sign(_package(cs, third, shares[1], b"third", f"co-5/{cs.id}"), third, shares[0])
    with pytest.raises(NonceReuse):
        nonces.unsafe_export()


def test_rebuilding_from_the_same_scalars_does_not_reset_single_use(keys) -> None:
    cs, shares, _ = keys
    group = cs.group
    rng = DeterministicRng(f"scalars/{cs.id}")
    hiding, binding = group.random_nonzero_scalar(rng), group.random_nonzero_scalar(rng)
    first, _ = signing_nonces_from_scalars(shares[0], hiding, binding)
    sign(_package(cs, first, shares[1], b"first", f"co-6/{cs.id}"), first, shares[0])
    again, _ = signing_nonces_from_scalars(shares[0], hiding, binding)
    assert again.consumed
    assert "consumed" in repr(again)
    with pytest.raises(NonceReuse):
        sign(_package(cs, again, shares[1], b"second", f"co-7/{cs.id}"), again, shares[0])


def test_same_nonces_under_another_key_share_are_refused(keys) -> None:
    """The fingerprint leaves the signer out: the same nonces are spent for every share."""
    cs, shares, _ = keys
    group = cs.group
    rng = DeterministicRng(f"other-share/{cs.id}")
    hiding, binding = group.random_nonzero_scalar(rng), group.random_nonzero_scalar(rng)
    mine, _ = signing_nonces_from_scalars(shares[0], hiding, binding)
    mine.consume()
    theirs, _ = signing_nonces_from_scalars(shares[1], hiding, binding)
    with pytest.raises(NonceReuse):
        theirs.consume()


def test_distinct_nonces_keep_working(keys) -> None:
    cs, shares, public = keys
    rng = DeterministicRng(f"distinct/{cs.id}")
    for n in range(5):
        message = f"message {n}".encode()
        round1 = [commit(k, rng) for k in shares[:2]]
        package = SigningPackage(cs, [c for _, c in round1], message)
        sig_shares = [
            sign(package, nonces, k) for (nonces, _), k in zip(round1, shares[:2], strict=True)
        ]
        signature = aggregate(package, sig_shares, public)
        cs.verify_bytes(message, signature.to_bytes(), public.verifying_key.to_bytes())


def test_a_refused_request_leaves_the_nonces_usable(keys) -> None:
    """Only a share actually computed spends the nonces: a package sign refuses does not."""
    cs, shares, _ = keys
    nonces, _ = commit(shares[0], DeterministicRng(f"refused/{cs.id}"))
    _, stranger = commit(shares[1], DeterministicRng(f"stranger/{cs.id}"))
    _, other = commit(shares[2], DeterministicRng(f"other/{cs.id}"))
    with pytest.raises(Exception, match="not in the signing package"):
        sign(SigningPackage(cs, [stranger, other], b"m"), nonces, shares[0])
    assert not nonces.consumed
    restored, _ = unsafe_import_signing_nonces(shares[0], nonces.unsafe_export())
    sign(_package(cs, restored, shares[1], b"m", f"co-8/{cs.id}"), restored, shares[0])
    assert nonces.consumed


def test_commitments_must_belong_to_the_nonces(keys) -> None:
    """The registry is keyed by the commitments, so a mismatched pair is refused."""
    cs, shares, _ = keys
    group = cs.group
    rng = DeterministicRng(f"mismatch/{cs.id}")
    hiding, binding = group.random_nonzero_scalar(rng), group.random_nonzero_scalar(rng)
    _, other = commit(shares[0], rng)
    with pytest.raises(MalformedPackage):
        SigningNonces(hiding, binding, other)


def test_concurrent_consumers_get_the_nonces_once(keys) -> None:
    cs, shares, _ = keys
    nonces, _ = commit(shares[0], DeterministicRng(f"threads/{cs.id}"))
    exported = nonces.unsafe_export()
    copies = [unsafe_import_signing_nonces(shares[0], exported)[0] for _ in range(16)]
    outcomes: list[str] = []
    barrier = threading.Barrier(len(copies))

    def use(copy: SigningNonces) -> None:
        barrier.wait()
        try:
            copy.consume()
        except NonceReuse:
            outcomes.append("refused")
        else:
            outcomes.append("used")

    threads = [threading.Thread(target=use, args=(c,)) for c in copies]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["refused"] * 15 + ["used"]


def test_the_isolated_registry_is_for_tests_and_restores_the_outer_one(keys) -> None:
    cs, shares, _ = keys
    group = cs.group
    rng = DeterministicRng(f"isolation/{cs.id}")
    hiding, binding = group.random_nonzero_scalar(rng), group.random_nonzero_scalar(rng)
    signing_nonces_from_scalars(shares[0], hiding, binding)[0].consume()
    with isolated_nonce_registry():
        # Inside, the outer registry's entries are not visible: fixed nonces sign again.
        signing_nonces_from_scalars(shares[0], hiding, binding)[0].consume()
        with pytest.raises(NonceReuse):
            signing_nonces_from_scalars(shares[0], hiding, binding)[0].consume()
    # Outside again, the nonces consumed before the block are still refused.
    with pytest.raises(NonceReuse):
        signing_nonces_from_scalars(shares[0], hiding, binding)[0].consume()


def test_only_tests_reach_the_registry_escape() -> None:
    """No module outside tests/ names the private escape (or the registry itself)."""
    names = {"_unsafe_isolated_nonce_registry", "_consumed_nonces", "_ConsumedNonces"}
    offenders = []
    for path in sorted(ROOT.rglob("*.py")):
        relative = path.relative_to(ROOT)
        if relative.parts[0] in {".venv", "tests"} or relative == Path("mpc/frost/round1.py"):
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        used = {node.id for node in ast.walk(tree) if isinstance(node, ast.Name)}
        used |= {node.attr for node in ast.walk(tree) if isinstance(node, ast.Attribute)}
        used |= {
            alias.name
            for node in ast.walk(tree)
            if isinstance(node, ast.ImportFrom)
            for alias in node.names
        }
        if used & names:
            offenders.append(str(relative))
    assert offenders == []
