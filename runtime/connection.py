"""The Temporal connection every process opens: Quorate's encrypted data converter on top.

Over mutual TLS when the settings name a client certificate (production), in plain gRPC
to a loopback address otherwise (the embedded dev server); :class:`runtime.settings.Settings`
refuses anything else at start-up.
"""

from __future__ import annotations

from temporalio.client import Client

from runtime.codec import CodecKeyTable, data_converter
from runtime.settings import Settings


async def connect(settings: Settings, key_table: CodecKeyTable | None = None) -> Client:
    table = key_table or CodecKeyTable.load(settings.codec_keys_path)
    tls = settings.temporal_tls
    return await Client.connect(
        settings.temporal_target,
        namespace=settings.temporal_namespace,
        data_converter=data_converter(table),
        tls=False if tls is None else tls.client_config(),
    )
