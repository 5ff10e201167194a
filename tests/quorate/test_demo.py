"""``quorate demo --json``: every signature it prints verifies with libsecp256k1 / libsodium."""

from __future__ import annotations

import json

import pytest
from coincurve import PublicKeyXOnly
from nacl.signing import VerifyKey
from pydantic import ValidationError
from typer.testing import CliRunner

from quorate.cli import app
from quorate.topology import Topology


def test_demo_json_signatures_verify() -> None:
    result = CliRunner().invoke(app, ["demo", "--messages", "3", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output.strip().splitlines()[-1])
    assert {w["scheme"] for w in report["wallets"]} == {"bip340", "ed25519"}
    assert len(report["signatures"]) == 6
    for entry in report["signatures"]:
        key = bytes.fromhex(entry["public_key"])
        message = bytes.fromhex(entry["message"])
        signature = bytes.fromhex(entry["signature"])
        assert len(entry["signers"]) == 3
        assert "apac-2" not in entry["signers"]  # the backup signs only on failover
        if entry["scheme"] == "bip340":
            assert len(key) == 32
            assert len(message) == 32
            assert PublicKeyXOnly(key).verify(signature, message)
            tampered = bytes([signature[0] ^ 1]) + signature[1:]
            assert not PublicKeyXOnly(key).verify(tampered, message)
        else:
            VerifyKey(key).verify(message, signature)


def test_reference_topology_loads() -> None:
    topology = Topology.load()
    assert topology.threshold == 3
    assert [p.id for p in topology.primaries] == ["us-1", "us-2", "eu-1", "eu-2", "apac-1"]
    assert len(topology.parties) == 6


@pytest.mark.parametrize(
    "data",
    [
        {"threshold": 3, "parties": [{"id": "a", "region": "us", "role": "primary"}] * 3},
        {
            "threshold": 4,
            "parties": [
                {"id": name, "region": "us", "role": "primary"} for name in ("a", "b", "c")
            ],
        },
        {"threshold": 1, "parties": [{"id": "a", "region": "us", "role": "primary"}]},
        {"threshold": 2, "parties": [{"id": "a", "region": "us", "role": "leader"}]},
    ],
    ids=["duplicate-ids", "threshold-above-parties", "threshold-one", "unknown-role"],
)
def test_bad_topologies_are_refused(data: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        Topology.model_validate(data)
