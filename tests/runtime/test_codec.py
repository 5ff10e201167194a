"""AES-GCM payload codec and its key table: confidentiality, integrity, rotation, storage."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import re
import stat
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path

import pytest
from pydantic import BaseModel, ValidationError
from temporalio.api.common.v1 import Payload
from temporalio.contrib.pydantic import PydanticPayloadConverter

from runtime.codec import (
    ENCODING,
    KEY_ID_METADATA_KEY,
    NONCE_SIZE,
    TAG_SIZE,
    AesGcmPayloadCodec,
    CodecError,
    CodecKeyTable,
    DecryptionError,
    MalformedPayloadError,
    UnknownKeyError,
    data_converter,
)

SECRET = b'{"seed":"correct horse battery staple","share":"0f1e2d3c4b5a"}'


def _payload(data: bytes = SECRET, encoding: bytes = b"json/plain") -> Payload:
    return Payload(metadata={"encoding": encoding, "messageType": b"quorate.Test"}, data=data)


def _with(payload: Payload, *, data: bytes | None = None, key_id: bytes | None = None) -> Payload:
    """A copy of ``payload`` with its data or key-id metadata replaced."""
    copy = Payload()
    copy.CopyFrom(payload)
    if data is not None:
        copy.data = data
    if key_id is not None:
        copy.metadata[KEY_ID_METADATA_KEY] = key_id
    return copy


# No asyncio pytest plugin is installed: drive the async codec from synchronous tests.
def encode(codec: AesGcmPayloadCodec, payloads: Sequence[Payload]) -> list[Payload]:
    return asyncio.run(codec.encode(payloads))


def decode(codec: AesGcmPayloadCodec, payloads: Sequence[Payload]) -> list[Payload]:
    return asyncio.run(codec.decode(payloads))


@pytest.fixture
def table() -> CodecKeyTable:
    return CodecKeyTable.generate()


@pytest.fixture
def codec(table: CodecKeyTable) -> AesGcmPayloadCodec:
    return AesGcmPayloadCodec(table)


# --- the codec -----------------------------------------------------------------------------


def test_round_trip(codec: AesGcmPayloadCodec) -> None:
    originals = [_payload(), _payload(b"", b"binary/null"), Payload(data=bytes(range(256)))]
    encoded = encode(codec, originals)
    assert len(encoded) == len(originals)
    assert decode(codec, encoded) == originals


def test_encoded_payload_format(codec: AesGcmPayloadCodec, table: CodecKeyTable) -> None:
    original = _payload()
    [encoded] = encode(codec, [original])
    assert dict(encoded.metadata) == {
        "encoding": ENCODING,
        KEY_ID_METADATA_KEY: table.current_key_id.encode(),
    }
    # nonce || ciphertext (same length as the serialized inner payload) || tag
    assert len(encoded.data) == NONCE_SIZE + len(original.SerializeToString()) + TAG_SIZE


def test_ciphertext_hides_plaintext_and_inner_metadata(codec: AesGcmPayloadCodec) -> None:
    [encoded] = encode(codec, [_payload()])
    wire = encoded.SerializeToString()
    for fragment in (SECRET, b"correct horse", b"0f1e2d3c4b5a", b"json/plain", b"quorate.Test"):
        assert fragment not in wire


def test_each_encode_uses_a_fresh_nonce(codec: AesGcmPayloadCodec) -> None:
    same = [_payload() for _ in range(50)]
    encoded = encode(codec, same) + encode(codec, same)
    nonces = {p.data[:NONCE_SIZE] for p in encoded}
    assert len(nonces) == len(encoded)
    assert len({p.data for p in encoded}) == len(encoded)


def test_rotation_keeps_old_payloads_readable(table: CodecKeyTable) -> None:
    [old_payload] = encode(AesGcmPayloadCodec(table), [_payload()])

    rotated = table.rotate()
    assert rotated.current_key_id != table.current_key_id
    assert set(rotated.key_ids) == {table.current_key_id, rotated.current_key_id}
    assert table.key_ids == (table.current_key_id,)  # the original table is untouched

    codec = AesGcmPayloadCodec(rotated)
    assert decode(codec, [old_payload]) == [_payload()]
    [new_payload] = encode(codec, [_payload()])
    assert new_payload.metadata[KEY_ID_METADATA_KEY] == rotated.current_key_id.encode()
    assert decode(codec, [new_payload]) == [_payload()]

    # And the pre-rotation table cannot read what the new key sealed.
    with pytest.raises(UnknownKeyError):
        decode(AesGcmPayloadCodec(table), [new_payload])


def test_unknown_key_id_is_a_typed_error(codec: AesGcmPayloadCodec) -> None:
    [encoded] = encode(AesGcmPayloadCodec(CodecKeyTable.generate("k-elsewhere")), [_payload()])
    with pytest.raises(UnknownKeyError, match="k-elsewhere") as caught:
        decode(codec, [encoded])
    assert isinstance(caught.value, CodecError)


@pytest.mark.parametrize("index", [0, NONCE_SIZE - 1, NONCE_SIZE, NONCE_SIZE + 5, -TAG_SIZE, -1])
def test_tampered_data_fails_authentication(codec: AesGcmPayloadCodec, index: int) -> None:
    [encoded] = encode(codec, [_payload()])
    data = bytearray(encoded.data)
    data[index] ^= 0x01
    with pytest.raises(DecryptionError):
        decode(codec, [_with(encoded, data=bytes(data))])


def test_truncated_data_fails(codec: AesGcmPayloadCodec) -> None:
    [encoded] = encode(codec, [_payload()])
    with pytest.raises(DecryptionError):
        decode(codec, [_with(encoded, data=encoded.data[:-1])])
    with pytest.raises(MalformedPayloadError):
        decode(codec, [_with(encoded, data=encoded.data[: NONCE_SIZE + TAG_SIZE - 1])])


def test_swapped_key_id_fails(table: CodecKeyTable) -> None:
    rotated = table.rotate()
    codec = AesGcmPayloadCodec(rotated)
    [encoded] = encode(codec, [_payload()])
    with pytest.raises(DecryptionError):
        decode(codec, [_with(encoded, key_id=table.current_key_id.encode())])


def test_key_id_is_bound_even_when_two_ids_share_a_key() -> None:
    # Only the associated data can catch this swap: the key bytes are identical.
    key = "11" * 32
    codec = AesGcmPayloadCodec(CodecKeyTable(current_key_id="a", keys={"a": key, "b": key}))
    [encoded] = encode(codec, [_payload()])
    assert decode(codec, [encoded]) == [_payload()]
    with pytest.raises(DecryptionError):
        decode(codec, [_with(encoded, key_id=b"b")])


def test_missing_key_id_is_malformed(codec: AesGcmPayloadCodec) -> None:
    [encoded] = encode(codec, [_payload()])
    del encoded.metadata[KEY_ID_METADATA_KEY]
    with pytest.raises(MalformedPayloadError):
        decode(codec, [encoded])


def test_unencrypted_payloads_pass_through(codec: AesGcmPayloadCodec) -> None:
    plain = [_payload(), _payload(b"", b"binary/null"), Payload(), Payload(data=b"raw")]
    [encrypted] = encode(codec, [_payload(b"mixed")])
    decoded = decode(codec, [*plain, encrypted])
    assert decoded[:-1] == plain
    assert decoded[-1] == _payload(b"mixed")


def test_error_messages_reveal_no_plaintext_or_key(table: CodecKeyTable) -> None:
    codec = AesGcmPayloadCodec(table)
    [encoded] = encode(codec, [_payload()])
    tampered = _with(encoded, data=encoded.data[:-1] + bytes([encoded.data[-1] ^ 1]))
    with pytest.raises(DecryptionError) as failed:
        decode(codec, [tampered])
    with pytest.raises(UnknownKeyError) as unknown:
        decode(AesGcmPayloadCodec(CodecKeyTable.generate()), [encoded])
    for error in (failed.value, unknown.value):
        text = f"{error!s} {error!r}"
        assert "correct horse" not in text
        assert table.keys[table.current_key_id] not in text.lower()
        # Nor via a chained exception in a traceback.
        assert error.__cause__ is None
        assert error.__context__ is None or error.__suppress_context__


# --- the key table -------------------------------------------------------------------------


def test_generate() -> None:
    table = CodecKeyTable.generate()
    assert re.fullmatch(r"k-\d{8}-[0-9a-f]{8}", table.current_key_id)
    assert table.key_ids == (table.current_key_id,)
    assert len(table.current_key) == 32
    assert CodecKeyTable.generate().current_key != table.current_key
    assert CodecKeyTable.generate("k-manual").current_key_id == "k-manual"


def test_table_is_immutable(table: CodecKeyTable) -> None:
    with pytest.raises(ValidationError):
        table.current_key_id = "other"  # type: ignore[misc]


def test_key_lookup(table: CodecKeyTable) -> None:
    assert table.key(table.current_key_id) == bytes.fromhex(table.keys[table.current_key_id])
    with pytest.raises(UnknownKeyError):
        table.key("k-missing")


def test_uppercase_hex_is_normalized() -> None:
    key = "AB" * 32
    assert CodecKeyTable(current_key_id="a", keys={"a": key}).keys == {"a": key.lower()}


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"current_key_id": "a", "keys": {"a": "ab" * 31}}, "32 bytes"),
        ({"current_key_id": "a", "keys": {"a": "ab" * 33}}, "32 bytes"),
        ({"current_key_id": "a", "keys": {"a": "ab" * 16}}, "32 bytes"),  # an AES-128 key
        ({"current_key_id": "a", "keys": {"a": "zz" * 32}}, "32 bytes"),
        ({"current_key_id": "a", "keys": {"a": " ab" * 32}}, "32 bytes"),
        ({"current_key_id": "b", "keys": {"a": "ab" * 32}}, "not in the key table"),
        ({"current_key_id": "a", "keys": {}}, "at least 1"),
        ({"current_key_id": "a b", "keys": {"a b": "ab" * 32}}, "pattern"),
        ({"current_key_id": "a", "keys": {"a": "ab" * 32}, "extra": 1}, "Extra inputs"),
    ],
)
def test_table_validation(fields: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message) as caught:
        CodecKeyTable.model_validate(fields)
    # hide_input_in_errors: a malformed key must not end up in a log via the error text.
    assert "abababab" not in str(caught.value)


def test_repr_hides_keys(table: CodecKeyTable) -> None:
    rotated = table.rotate()
    codec = AesGcmPayloadCodec(rotated)
    for text in (repr(rotated), str(rotated), f"{rotated!r}", repr(codec), str(codec)):
        assert rotated.current_key_id in text
        for key_hex in rotated.keys.values():
            assert key_hex not in text.lower()
            assert key_hex[:16] not in text.lower()


def test_save_load_round_trip_and_mode(tmp_path: Path, table: CodecKeyTable) -> None:
    path = tmp_path / "codec-keys.json"
    table.save(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert CodecKeyTable.load(path) == table
    assert set(json.loads(path.read_text())) == {"current_key_id", "keys"}
    assert list(tmp_path.iterdir()) == [path]  # no temporary files left behind

    # Overwriting a permissive file (e.g. created by hand) still leaves it 0600.
    path.chmod(0o644)
    rotated = table.rotate()
    rotated.save(str(path))
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert CodecKeyTable.load(str(path)) == rotated
    assert list(tmp_path.iterdir()) == [path]


def test_load_rejects_invalid_file(tmp_path: Path) -> None:
    path = tmp_path / "codec-keys.json"
    path.write_text(json.dumps({"current_key_id": "a", "keys": {"a": "00" * 16}}))
    with pytest.raises(ValidationError):
        CodecKeyTable.load(path)


def test_load_or_create(tmp_path: Path) -> None:
    path = tmp_path / "codec-keys.json"
    created = CodecKeyTable.load_or_create(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert CodecKeyTable.load_or_create(path) == created
    assert CodecKeyTable.load(path) == created
    assert list(tmp_path.iterdir()) == [path]


def test_load_or_create_never_clobbers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Simulate losing the race: another process creates the file between our existence
    # check and our write. Its table must win, not ours.
    path = tmp_path / "codec-keys.json"
    theirs = CodecKeyTable.generate("k-theirs")
    real_generate = CodecKeyTable.generate.__func__  # type: ignore[attr-defined]

    def generate_while_racing(cls: type[CodecKeyTable], key_id: str | None = None) -> object:
        theirs.save(path)
        return real_generate(cls, key_id)

    monkeypatch.setattr(CodecKeyTable, "generate", classmethod(generate_while_racing))
    assert CodecKeyTable.load_or_create(path) == theirs
    assert CodecKeyTable.load(path) == theirs
    assert list(tmp_path.iterdir()) == [path]


# --- the data converter --------------------------------------------------------------------


class SigningRequest(BaseModel):
    wallet_id: str
    amount: Decimal
    requested_at: dt.datetime
    signers: tuple[str, ...]


def test_data_converter_round_trips_pydantic_models(table: CodecKeyTable) -> None:
    converter = data_converter(table)
    assert isinstance(converter.payload_codec, AesGcmPayloadCodec)
    assert converter.payload_converter_class is PydanticPayloadConverter

    request = SigningRequest(
        wallet_id="wallet-7f3a9c",
        amount=Decimal("12.500000001"),
        requested_at=dt.datetime(2024, 5, 1, 12, 30, tzinfo=dt.UTC),
        signers=("eu-1", "us-1", "apac-1"),
    )
    payloads = asyncio.run(converter.encode([request, "memo"]))
    for payload in payloads:
        assert payload.metadata["encoding"] == ENCODING
        assert b"wallet-7f3a9c" not in payload.data
        assert b"memo" not in payload.data

    assert asyncio.run(converter.decode(payloads, [SigningRequest, str])) == [request, "memo"]

    stranger = data_converter(CodecKeyTable.generate())
    with pytest.raises(UnknownKeyError):
        asyncio.run(stranger.decode(payloads, [SigningRequest, str]))
