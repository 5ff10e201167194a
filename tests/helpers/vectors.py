"""The one loader for the test vectors in ``tests/vectors/`` (sources in its README.md)."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

VECTORS = Path(__file__).resolve().parent.parent / "vectors"


def load_json(name: str) -> Any:
    with (VECTORS / name).open() as handle:
        return json.load(handle)


def load_csv(name: str) -> list[dict[str, str]]:
    with (VECTORS / name).open(newline="") as handle:
        return list(csv.DictReader(handle))
