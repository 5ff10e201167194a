"""The topology file: the reference deployment loads; bad ones are refused with a typed error."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from runtime.topology import Topology


def test_reference_topology_loads() -> None:
    topology = Topology.load()
    assert topology.threshold == 3
    assert [p.id for p in topology.primaries] == ["us-1", "us-2", "eu-1", "eu-2", "apac-1"]
    assert [p.task_queue for p in topology.parties][-1] == "party.apac-2"
    assert len(topology.parties) == 6


def test_toml_round_trip_keeps_public_keys() -> None:
    reference = Topology.load()
    keyed = Topology(
        threshold=reference.threshold,
        parties=tuple(
            p.model_copy(
                update={
                    "sealing_public_key": f"{n:064x}",
                    "message_signing_public_key": f"{n + 100:064x}",
                }
            )
            for n, p in enumerate(reference.parties, start=9)
        ),
    )
    import tomllib

    assert Topology.model_validate(tomllib.loads(keyed.to_toml())) == keyed


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
        {
            "threshold": 2,
            "parties": [
                {"id": "a", "region": "us", "role": "primary", "sealing_public_key": "zz"},
                {"id": "b", "region": "us", "role": "primary"},
            ],
        },
    ],
    ids=["duplicate-ids", "threshold-above-parties", "threshold-one", "unknown-role", "bad-key"],
)
def test_bad_topologies_are_refused(data: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        Topology.model_validate(data)
