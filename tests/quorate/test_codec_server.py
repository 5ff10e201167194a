"""The remote codec server, over real HTTP: protocol round trip, CORS, and error handling."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from google.protobuf import json_format
from temporalio.api.common.v1 import Payload, Payloads

from quorate.codec_server import DEFAULT_ALLOWED_ORIGINS, build_app, run_codec_server
from runtime.codec import ENCODING, KEY_ID_METADATA_KEY, AesGcmPayloadCodec, CodecKeyTable

Client = TestClient[web.Request, web.Application]

UI_ORIGIN = "http://localhost:8233"
EVIL_ORIGIN = "http://evil.example"
SECRET = b'{"mnemonic":"correct horse battery staple"}'


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _plain_body() -> dict[str, Any]:
    return {
        "payloads": [
            {"metadata": {"encoding": _b64(b"json/plain")}, "data": _b64(SECRET)},
            {"metadata": {"encoding": _b64(b"binary/null")}},
        ]
    }


def _serve(app: web.Application, scenario: Callable[[Client], Awaitable[None]]) -> None:
    # No asyncio pytest plugin is installed: each test runs its own event loop.
    async def main() -> None:
        async with TestClient(TestServer(app)) as client:
            await scenario(client)

    asyncio.run(main())


@pytest.fixture
def table() -> CodecKeyTable:
    return CodecKeyTable.generate()


@pytest.fixture
def codec(table: CodecKeyTable) -> AesGcmPayloadCodec:
    return AesGcmPayloadCodec(table)


@pytest.fixture
def app(codec: AesGcmPayloadCodec) -> web.Application:
    return build_app(codec, DEFAULT_ALLOWED_ORIGINS)


def test_encode_then_decode_round_trip(
    app: web.Application, codec: AesGcmPayloadCodec, table: CodecKeyTable
) -> None:
    async def scenario(client: Client) -> None:
        headers = {"X-Namespace": "default"}
        response = await client.post("/encode", json=_plain_body(), headers=headers)
        assert response.status == 200
        assert response.content_type == "application/json"
        encoded = await response.json()
        assert len(encoded["payloads"]) == 2
        for payload in encoded["payloads"]:
            assert base64.b64decode(payload["metadata"]["encoding"]) == ENCODING
            key_id = base64.b64decode(payload["metadata"][KEY_ID_METADATA_KEY])
            assert key_id == table.current_key_id.encode()
        assert b"correct horse" not in base64.b64decode(encoded["payloads"][0]["data"])

        # What the server sealed, the in-process codec opens (and vice versa below).
        as_proto = json_format.ParseDict(encoded, Payloads())
        assert await codec.decode(as_proto.payloads) == list(
            json_format.ParseDict(_plain_body(), Payloads()).payloads
        )

        response = await client.post("/decode", json=encoded, headers=headers)
        assert response.status == 200
        assert await response.json() == _plain_body()

    _serve(app, scenario)


def test_decodes_what_a_worker_encoded_under_a_path_prefix(
    app: web.Application, codec: AesGcmPayloadCodec
) -> None:
    async def scenario(client: Client) -> None:
        plain = json_format.ParseDict(_plain_body(), Payloads())
        sealed = Payloads(payloads=await codec.encode(plain.payloads))
        # The protocol lets the endpoints live under any prefix, e.g. one per namespace.
        response = await client.post("/default/decode", json=json_format.MessageToDict(sealed))
        assert response.status == 200
        assert await response.json() == _plain_body()

        response = await client.post("/fooencode", json=_plain_body())
        assert response.status == 404

    _serve(app, scenario)


def test_empty_payloads(app: web.Application) -> None:
    async def scenario(client: Client) -> None:
        for path in ("/encode", "/decode"):
            bodies: list[dict[str, Any]] = [{}, {"payloads": []}]
            for body in bodies:
                response = await client.post(path, json=body)
                assert response.status == 200
                assert await response.json() == {"payloads": []}

    _serve(app, scenario)


def test_cors_preflight_for_allowed_origin(app: web.Application) -> None:
    async def scenario(client: Client) -> None:
        response = await client.options(
            "/decode",
            headers={
                "Origin": UI_ORIGIN,
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "content-type,x-namespace",
            },
        )
        assert response.status == 204
        assert response.headers["Access-Control-Allow-Origin"] == UI_ORIGIN
        assert "POST" in response.headers["Access-Control-Allow-Methods"]
        assert "OPTIONS" in response.headers["Access-Control-Allow-Methods"]
        allowed_headers = response.headers["Access-Control-Allow-Headers"].lower()
        assert {"content-type", "x-namespace"} <= {h.strip() for h in allowed_headers.split(",")}
        assert "Origin" in response.headers["Vary"]

        # The actual request carries the header too, so the UI can read the result.
        response = await client.post(
            "/encode", json=_plain_body(), headers={"Origin": "http://127.0.0.1:8233"}
        )
        assert response.status == 200
        assert response.headers["Access-Control-Allow-Origin"] == "http://127.0.0.1:8233"

    _serve(app, scenario)


def test_cors_refuses_other_origins(app: web.Application) -> None:
    async def scenario(client: Client) -> None:
        response = await client.options(
            "/decode",
            headers={"Origin": EVIL_ORIGIN, "Access-Control-Request-Method": "POST"},
        )
        assert "Access-Control-Allow-Origin" not in response.headers
        assert "Access-Control-Allow-Methods" not in response.headers
        assert response.status == 403

        # Not even a preflight-free request from that origin gets decoded.
        response = await client.post("/encode", json=_plain_body(), headers={"Origin": EVIL_ORIGIN})
        assert response.status == 403
        assert "Access-Control-Allow-Origin" not in response.headers

        # The CLI sends no Origin at all and must keep working, without CORS headers.
        response = await client.post("/encode", json=_plain_body())
        assert response.status == 200
        assert "Access-Control-Allow-Origin" not in response.headers

    _serve(app, scenario)


def test_allowed_origins_are_configurable(codec: AesGcmPayloadCodec) -> None:
    custom = "https://temporal.internal.example:8443"
    app = build_app(codec, [custom + "/"])

    async def scenario(client: Client) -> None:
        response = await client.options("/encode", headers={"Origin": custom})
        assert response.headers["Access-Control-Allow-Origin"] == custom
        response = await client.options("/encode", headers={"Origin": UI_ORIGIN})
        assert "Access-Control-Allow-Origin" not in response.headers

    _serve(app, scenario)


@pytest.mark.parametrize("origin", ["*", "null", "", "localhost:8233"])
def test_unsafe_origins_are_rejected(codec: AesGcmPayloadCodec, origin: str) -> None:
    with pytest.raises(ValueError, match="origin"):
        build_app(codec, [origin])


def test_origins_must_be_a_sequence_not_a_string(codec: AesGcmPayloadCodec) -> None:
    with pytest.raises(TypeError):
        build_app(codec, UI_ORIGIN)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"{not json", "not valid JSON"),
        (b"", "not valid JSON"),
        (b"\xff\xfe", "not valid UTF-8 JSON"),
        (b"[1, 2]", "JSON object"),
        (b'{"payloads": "nope"}', "Payloads"),
        (b'{"payloads": [{"data": "a"}]}', "Payloads"),  # not base64
        (b'{"payloads": [{"metadata": "x"}]}', "Payloads"),
        (b'{"payload": []}', "Payloads"),
    ],
)
def test_bad_request_bodies_are_400(app: web.Application, body: bytes, message: str) -> None:
    async def scenario(client: Client) -> None:
        for path in ("/encode", "/decode"):
            response = await client.post(
                path,
                data=body,
                headers={"Content-Type": "application/json", "Origin": UI_ORIGIN},
            )
            assert response.status == 400
            error = (await response.json())["error"]
            assert message in error
            # Errors carry CORS headers so the UI can show them.
            assert response.headers["Access-Control-Allow-Origin"] == UI_ORIGIN

    _serve(app, scenario)


def test_wrong_content_type_is_415(app: web.Application) -> None:
    async def scenario(client: Client) -> None:
        response = await client.post(
            "/decode", data=b'{"payloads": []}', headers={"Content-Type": "text/plain"}
        )
        assert response.status == 415
        assert "application/json" in (await response.json())["error"]

    _serve(app, scenario)


def test_undecryptable_payloads_are_400_without_contents(
    app: web.Application, table: CodecKeyTable
) -> None:
    async def scenario(client: Client) -> None:
        foreign = AesGcmPayloadCodec(CodecKeyTable.generate("k-foreign"))
        [sealed] = await foreign.encode(
            [Payload(metadata={"encoding": b"json/plain"}, data=SECRET)]
        )
        response = await client.post(
            "/decode", json={"payloads": [json_format.MessageToDict(sealed)]}
        )
        assert response.status == 400
        assert "k-foreign" in (await response.json())["error"]

        [sealed] = await AesGcmPayloadCodec(table).encode([Payload(data=SECRET)])
        document = json_format.MessageToDict(sealed)
        data = bytearray(base64.b64decode(document["data"]))
        data[-1] ^= 1
        document["data"] = _b64(bytes(data))
        response = await client.post("/decode", json={"payloads": [document]})
        assert response.status == 400
        text = await response.text()
        assert "authentication" in text
        assert "correct horse" not in text
        assert table.keys[table.current_key_id] not in text

    _serve(app, scenario)


def test_unknown_routes_are_json_errors(app: web.Application) -> None:
    async def scenario(client: Client) -> None:
        response = await client.post("/nope", json={}, headers={"Origin": UI_ORIGIN})
        assert response.status == 404
        assert "error" in await response.json()
        assert response.headers["Access-Control-Allow-Origin"] == UI_ORIGIN
        response = await client.get("/decode")
        assert response.status == 405

    _serve(app, scenario)


def test_run_codec_server_binds_loopback_by_default(
    tmp_path: Path, table: CodecKeyTable, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "codec-keys.json"
    table.save(path)
    calls: list[dict[str, Any]] = []

    def fake_run_app(app: web.Application, **kwargs: Any) -> None:
        calls.append({"app": app, **kwargs})

    monkeypatch.setattr(web, "run_app", fake_run_app)
    run_codec_server(path)
    [call] = calls
    assert call["host"] == "127.0.0.1"
    assert call["port"] == 8888
    assert isinstance(call["app"], web.Application)


def test_run_codec_server_never_invents_keys(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        run_codec_server(tmp_path / "missing.json")
