"""Node URLs as they may be shown: in errors, logs, histories.

A provider's URL often carries its credential (``user:password@``, or an API key in the
path or query, as hosted Ethereum and Solana endpoints do), and error messages travel
into Temporal histories and to clients. So only scheme, host and port are ever shown.
"""

from __future__ import annotations

from urllib.parse import urlsplit


def shown_url(url: str) -> str:
    """``url`` without credentials, path or query: ``scheme://host[:port]``."""
    parts = urlsplit(url)
    host = parts.hostname or "?"
    if ":" in host:
        host = f"[{host}]"
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}"
