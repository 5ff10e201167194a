"""``quorate rotate-codec-key``: a new current key, and every old key kept for decryption."""

from __future__ import annotations

import asyncio
from pathlib import Path

from temporalio.api.common.v1 import Payload
from typer.testing import CliRunner

from quorate.cli import app
from runtime.codec import AesGcmPayloadCodec, CodecKeyTable


def test_rotation_keeps_old_payloads_readable(tmp_path: Path) -> None:
    path = tmp_path / "codec-keys.json"
    before = CodecKeyTable.load_or_create(path)
    payload = Payload(metadata={"encoding": b"json/plain"}, data=b'{"a":1}')
    (sealed,) = asyncio.run(AesGcmPayloadCodec(before).encode([payload]))

    result = CliRunner().invoke(app, ["rotate-codec-key"], env={"QUORATE_DATA_DIR": str(tmp_path)})
    assert result.exit_code == 0, result.output

    after = CodecKeyTable.load(path)
    assert after.current_key_id != before.current_key_id
    assert set(before.keys) < set(after.keys)
    codec = AesGcmPayloadCodec(after)
    assert asyncio.run(codec.decode([sealed])) == [payload]
    (fresh,) = asyncio.run(codec.encode([payload]))
    assert fresh.metadata["encryption-key-id"] == after.current_key_id.encode()
