"""The Temporal connection every process opens: Quorate's encrypted data converter on top."""

from __future__ import annotations

from temporalio.client import Client

from runtime.codec import CodecKeyTable, data_converter
from runtime.settings import Settings


async def connect(settings: Settings, key_table: CodecKeyTable | None = None) -> Client:
    table = key_table or CodecKeyTable.load(settings.codec_keys_path)
    return await Client.connect(
        settings.temporal_target,
        namespace=settings.temporal_namespace,
        data_converter=data_converter(table),
    )
