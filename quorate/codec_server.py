"""An HTTP codec server so the Temporal UI and CLI can show Quorate's encrypted payloads.

Implements Temporal's remote codec protocol: ``POST …/encode`` and ``POST …/decode``
take a ``temporal.api.common.v1.Payloads`` message as proto-JSON (``{"payloads":
[{"metadata": {k: base64}, "data": base64}, …]}``) and return the transformed message in
the same form. Only the last path segment is checked, as the protocol requires, so the
server can sit behind a prefix (``/default/decode``). Malformed requests and payloads that
fail to decrypt get 400 with a JSON body ``{"error": "..."}`` (the protocol's status); a
decryption error names the problem and the key id, never payload contents or keys.

Usage::

    python -m quorate.codec_server --key-table ~/.quorate/codec-keys.json
    temporal workflow show -w <id> --codec-endpoint http://127.0.0.1:8888
    # UI: Settings → Codec Server → http://127.0.0.1:8888

Anyone who can reach this server can decrypt Quorate's payloads, so it binds to loopback
by default and does no authentication of its own: expose it only behind something that
does. It cannot be used to forge requests, though: ``/encode`` seals in the codec's
display-only domain (:meth:`AesGcmPayloadCodec.encode_display_only`), which ``/decode``
opens and every worker and client refuses, so a start or signal sent from the UI with an
encoded input fails closed like a plaintext one. ``/decode`` lets payloads that are not
sealed through unchanged, so the UI can show everything a history holds.

Browsers are held to an origin allow-list; requests carrying any other ``Origin`` are
refused outright rather than merely left without CORS headers, since a browser sends
"simple" cross-site requests without a preflight and DNS-rebinding pages appear same-host.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
from collections.abc import Awaitable, Callable, Sequence
from typing import Final

import temporalio.api.common.v1
from aiohttp import hdrs, web
from aiohttp.typedefs import Handler, Middleware
from google.protobuf import json_format

from runtime.codec import AesGcmPayloadCodec, CodecError, CodecKeyTable
from runtime.tls import is_loopback_host

__all__ = [
    "DEFAULT_ALLOWED_ORIGINS",
    "DEFAULT_HOST",
    "DEFAULT_PORT",
    "build_app",
    "main",
    "run_codec_server",
]

logger = logging.getLogger(__name__)

DEFAULT_HOST: Final = "127.0.0.1"
DEFAULT_PORT: Final = 8888
# The Temporal dev server's UI (`temporal server start-dev`), under both of its names.
DEFAULT_ALLOWED_ORIGINS: Final[tuple[str, ...]] = (
    "http://127.0.0.1:8233",
    "http://localhost:8233",
)

ALLOWED_METHODS: Final = "POST, OPTIONS"
ALLOWED_HEADERS: Final = "Content-Type, X-Namespace"
# The UI decodes a whole history page per request; Temporal allows payloads up to 2 MiB
# each, so aiohttp's 1 MiB default body limit would reject ordinary histories.
MAX_REQUEST_BYTES: Final = 64 * 1024 * 1024
PREFLIGHT_MAX_AGE_SECONDS: Final = 600

_Transform = Callable[
    [Sequence[temporalio.api.common.v1.Payload]],
    Awaitable[list[temporalio.api.common.v1.Payload]],
]


def _normalize_origins(origins: Sequence[str]) -> frozenset[str]:
    normalized: set[str] = set()
    for origin in origins:
        value = origin.strip().rstrip("/").lower()
        # A wildcard would let any web page the operator visits decrypt Quorate's payloads
        # through this server; "null" is the origin of sandboxed iframes and file:// pages.
        if value in {"", "*", "null"} or "://" not in value:
            raise ValueError(f"allowed origin {origin!r} must be a scheme://host[:port] origin")
        normalized.add(value)
    return frozenset(normalized)


def _error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)


def _cors_middleware(allowed_origins: frozenset[str]) -> Middleware:
    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        origin = request.headers.get(hdrs.ORIGIN)
        if origin is not None and origin.lower() not in allowed_origins:
            # No CORS headers either, so the browser shows the page nothing.
            return _error(403, "origin not allowed")
        try:
            response = await handler(request)
        except web.HTTPException as exc:
            # Routing and body-size failures as JSON too, and with CORS headers below,
            # so the UI can show why rather than an opaque network error.
            response = _error(exc.status, exc.reason)
        if origin is not None:  # allowed, by the check above
            response.headers[hdrs.ACCESS_CONTROL_ALLOW_ORIGIN] = origin
            # Responses differ by Origin; shared caches must not mix them up.
            response.headers[hdrs.VARY] = hdrs.ORIGIN
        return response

    return middleware


async def _preflight(request: web.Request) -> web.StreamResponse:
    # Reached only for requests without an Origin or with an allowed one (the middleware
    # refuses the rest and adds Access-Control-Allow-Origin to these).
    response = web.Response(status=204)
    response.headers[hdrs.ALLOW] = ALLOWED_METHODS
    if hdrs.ORIGIN in request.headers:
        response.headers[hdrs.ACCESS_CONTROL_ALLOW_METHODS] = ALLOWED_METHODS
        response.headers[hdrs.ACCESS_CONTROL_ALLOW_HEADERS] = ALLOWED_HEADERS
        response.headers[hdrs.ACCESS_CONTROL_MAX_AGE] = str(PREFLIGHT_MAX_AGE_SECONDS)
    return response


def _payloads_handler(transform: _Transform) -> Handler:
    async def handle(request: web.Request) -> web.StreamResponse:
        # Requiring application/json (which the CLI and UI always send) also means a
        # browser must preflight the request, so the origin check sees it first.
        if request.content_type != "application/json":
            return _error(415, "Content-Type must be application/json")
        body = await request.read()
        try:
            # Decode explicitly: json.loads(bytes) would guess UTF-16/32 from the first
            # bytes, and JSON on the wire is UTF-8 (RFC 8259).
            document = json.loads(body.decode("utf-8"))
        except UnicodeDecodeError:
            return _error(400, "request body is not valid UTF-8 JSON")
        except json.JSONDecodeError as exc:
            return _error(
                400,
                f"request body is not valid JSON: {exc.msg} (line {exc.lineno}, "
                f"column {exc.colno})",
            )
        if not isinstance(document, dict):
            return _error(400, 'request body must be a JSON object {"payloads": [...]}')
        try:
            message = json_format.ParseDict(document, temporalio.api.common.v1.Payloads())
        except json_format.ParseError as exc:
            return _error(400, f"request body is not a temporal.api.common.v1.Payloads: {exc}")
        try:
            transformed = await transform(message.payloads)
        except CodecError as exc:
            # CodecError messages are written to be safe to show: no plaintext, no keys.
            return _error(400, exc.message)
        # Built by hand rather than MessageToDict(Payloads): that omits an empty list,
        # and clients expect the "payloads" field to be present.
        return web.json_response(
            {"payloads": [json_format.MessageToDict(payload) for payload in transformed]}
        )

    return handle


def build_app(
    codec: AesGcmPayloadCodec,
    allowed_origins: Sequence[str] = DEFAULT_ALLOWED_ORIGINS,
) -> web.Application:
    """The codec server as an aiohttp application (for :func:`run_codec_server` and tests)."""
    if isinstance(allowed_origins, str):
        # A bare string is a Sequence[str] of characters: certainly a mistake.
        raise TypeError("allowed_origins must be a sequence of origins, not a string")
    app = web.Application(
        middlewares=[_cors_middleware(_normalize_origins(allowed_origins))],
        client_max_size=MAX_REQUEST_BYTES,
    )
    # "Only the final part of the URL" decides encode vs decode, per the protocol. /encode
    # seals for display only: what it returns, workers refuse (see the module docstring).
    transforms: tuple[tuple[str, _Transform], ...] = (
        ("encode", codec.encode_display_only),
        ("decode", codec.decode),
    )
    for operation, transform in transforms:
        path = rf"/{{prefix:(?:.*/)?}}{operation}"
        app.router.add_route("POST", path, _payloads_handler(transform))
        app.router.add_route("OPTIONS", path, _preflight)
    return app


def run_codec_server(
    key_table_path: str | os.PathLike[str],
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    allowed_origins: Sequence[str] = DEFAULT_ALLOWED_ORIGINS,
) -> None:
    """Serve the codec for the key table at ``key_table_path`` until interrupted."""
    # load, never load_or_create: a freshly generated key could decode nothing.
    table = CodecKeyTable.load(key_table_path)
    if not is_loopback_host(host):
        logger.warning(
            "codec server listening on %s: anyone who can reach it can decrypt Quorate "
            "payloads; put an authenticating proxy in front of it",
            host,
        )
    logger.info("codec server keys: %r", table)  # key ids only; see CodecKeyTable.__repr__
    web.run_app(build_app(AesGcmPayloadCodec(table), allowed_origins), host=host, port=port)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m quorate.codec_server",
        description="Serve Temporal's remote codec protocol for Quorate's encrypted payloads.",
    )
    parser.add_argument("--key-table", required=True, help="path of the codec key table JSON")
    parser.add_argument("--host", default=DEFAULT_HOST)
    parser.add_argument("--port", type=int, default=DEFAULT_PORT)
    parser.add_argument(
        "--allow-origin",
        action="append",
        dest="allowed_origins",
        metavar="ORIGIN",
        help="browser origin allowed to call the server (repeatable; "
        f"default: {', '.join(DEFAULT_ALLOWED_ORIGINS)})",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO)
    run_codec_server(
        args.key_table,
        host=args.host,
        port=args.port,
        allowed_origins=args.allowed_origins or DEFAULT_ALLOWED_ORIGINS,
    )


if __name__ == "__main__":
    main()
