"""The workers' codec fails closed: only what Quorate's converter sealed is ever decoded.

The end-to-end counterpart, a plaintext ``temporal workflow execute`` against running
workers, is tests/integration/test_wire.py.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest
import temporalio.api.failure.v1
from temporalio.api.common.v1 import Payload
from temporalio.exceptions import ApplicationError

from runtime.codec import (
    DISPLAY_ONLY_PURPOSE,
    ENCODING,
    KEY_ID_METADATA_KEY,
    PURPOSE_METADATA_KEY,
    AesGcmPayloadCodec,
    CodecError,
    CodecKeyTable,
    DecryptionError,
    DisplayOnlyPayloadError,
    FailClosedPayloadCodec,
    MalformedPayloadError,
    UnknownKeyError,
    UnsealedPayloadError,
    data_converter,
)

MARKER = b"4a5bd8c2e0f1-plaintext-request-marker"
PLAIN_SIGN = b'{"wallet_id":"w-victim","message":"' + MARKER + b'"}'


def _run(codec: AesGcmPayloadCodec, payloads: Sequence[Payload], *, encode: bool) -> list[Payload]:
    # No asyncio pytest plugin is needed: drive the async codec from synchronous tests.
    return asyncio.run(codec.encode(payloads) if encode else codec.decode(payloads))


@pytest.fixture
def table() -> CodecKeyTable:
    return CodecKeyTable.generate()


@pytest.fixture
def strict(table: CodecKeyTable) -> FailClosedPayloadCodec:
    return FailClosedPayloadCodec(table)


def _refusal(codec: AesGcmPayloadCodec, payload: Payload) -> CodecError:
    with pytest.raises(CodecError) as caught:
        _run(codec, [payload], encode=False)
    error = caught.value
    # Whatever was refused, nothing of its data is in the error or a chained one.
    assert MARKER not in f"{error!s} {error!r}".encode()
    assert error.__cause__ is None
    assert error.__context__ is None or error.__suppress_context__
    return error


def test_the_data_converter_uses_the_fail_closed_codec(table: CodecKeyTable) -> None:
    assert isinstance(data_converter(table).payload_codec, FailClosedPayloadCodec)


@pytest.mark.parametrize(
    "payload",
    [
        # What `temporal workflow execute --input '{...}'` writes.
        Payload(metadata={"encoding": b"json/plain"}, data=PLAIN_SIGN),
        # A plaintext None, and what a client without any converter sends.
        Payload(metadata={"encoding": b"binary/null"}),
        Payload(),
        Payload(data=PLAIN_SIGN),
        Payload(metadata={"encoding": b"binary/plain"}, data=PLAIN_SIGN),
        # An encoding that only differs in case is not ours either.
        Payload(metadata={"encoding": ENCODING.upper()}, data=PLAIN_SIGN),
    ],
    ids=["json-plain", "binary-null", "empty", "no-metadata", "binary-plain", "case"],
)
def test_unsealed_payloads_are_refused(strict: FailClosedPayloadCodec, payload: Payload) -> None:
    error = _refusal(strict, payload)
    assert isinstance(error, UnsealedPayloadError)
    # A non-retryable ApplicationError: the SDK fails the workflow, not its task, so a
    # forged start is closed at once instead of being retried forever.
    assert isinstance(error, ApplicationError)
    assert error.non_retryable
    assert error.type == "UnsealedPayloadError"


def test_the_same_payloads_pass_the_display_codec(table: CodecKeyTable) -> None:
    # The codec server shows a history as it is, plaintext included.
    plain = Payload(metadata={"encoding": b"json/plain"}, data=PLAIN_SIGN)
    assert _run(AesGcmPayloadCodec(table), [plain], encode=False) == [plain]


def test_untrusted_encoding_names_are_bounded_and_escaped(strict: FailClosedPayloadCodec) -> None:
    payload = Payload(metadata={"encoding": b"\x1b[31m" + b"x" * 500}, data=PLAIN_SIGN)
    message = _refusal(strict, payload).message
    assert "\x1b" not in message
    assert len(message) < 300


def test_unknown_key_is_refused_but_retryable(strict: FailClosedPayloadCodec) -> None:
    [foreign] = _run(
        AesGcmPayloadCodec(CodecKeyTable.generate("k-stranger")),
        [Payload(metadata={"encoding": b"json/plain"}, data=PLAIN_SIGN)],
        encode=True,
    )
    error = _refusal(strict, foreign)
    assert isinstance(error, UnknownKeyError)
    assert "k-stranger" in error.message
    # Retryable on purpose: after a key rotation a worker may briefly lack the new key,
    # and a failed workflow task is picked up again once a worker holds it.
    assert not error.non_retryable


def test_what_the_codec_server_encodes_is_refused_by_workers(
    strict: FailClosedPayloadCodec, table: CodecKeyTable
) -> None:
    display = AesGcmPayloadCodec(table)
    original = Payload(metadata={"encoding": b"json/plain"}, data=PLAIN_SIGN)
    [sealed] = asyncio.run(display.encode_display_only([original]))
    assert sealed.metadata["encoding"] == ENCODING
    assert sealed.metadata[PURPOSE_METADATA_KEY] == DISPLAY_ONLY_PURPOSE
    assert MARKER not in sealed.SerializeToString()
    # The display codec (the codec server's /decode) opens it...
    assert _run(display, [sealed], encode=False) == [original]
    # ...workers refuse it, non-retryably.
    error = _refusal(strict, sealed)
    assert isinstance(error, DisplayOnlyPayloadError)
    assert error.non_retryable


def test_display_only_refusal_comes_before_any_decryption(strict: FailClosedPayloadCodec) -> None:
    # Garbage under the marker: had the codec tried to decrypt, this would be a
    # DecryptionError. Refused payloads are never opened.
    garbage = Payload(
        metadata={
            "encoding": ENCODING,
            KEY_ID_METADATA_KEY: strict.key_table.current_key_id.encode(),
            PURPOSE_METADATA_KEY: DISPLAY_ONLY_PURPOSE,
        },
        data=bytes(64),
    )
    assert isinstance(_refusal(strict, garbage), DisplayOnlyPayloadError)


def test_stripping_the_display_marker_does_not_make_a_worker_payload(
    strict: FailClosedPayloadCodec, table: CodecKeyTable
) -> None:
    [sealed] = asyncio.run(
        AesGcmPayloadCodec(table).encode_display_only([Payload(data=PLAIN_SIGN)])
    )
    del sealed.metadata[PURPOSE_METADATA_KEY]
    # The AAD differs between the two domains, so the ciphertext does not authenticate.
    error = _refusal(strict, sealed)
    assert isinstance(error, DecryptionError)
    assert error.non_retryable


def test_a_marker_added_to_a_worker_payload_does_not_authenticate(table: CodecKeyTable) -> None:
    [sealed] = _run(AesGcmPayloadCodec(table), [Payload(data=PLAIN_SIGN)], encode=True)
    sealed.metadata[PURPOSE_METADATA_KEY] = DISPLAY_ONLY_PURPOSE
    assert isinstance(_refusal(AesGcmPayloadCodec(table), sealed), DecryptionError)
    sealed.metadata[PURPOSE_METADATA_KEY] = b"something-else"
    assert isinstance(_refusal(AesGcmPayloadCodec(table), sealed), MalformedPayloadError)


def test_tampered_payloads_are_refused_non_retryably(strict: FailClosedPayloadCodec) -> None:
    [sealed] = _run(strict, [Payload(data=PLAIN_SIGN)], encode=True)
    sealed.data = sealed.data[:-1] + bytes([sealed.data[-1] ^ 1])
    error = _refusal(strict, sealed)
    assert isinstance(error, DecryptionError)
    assert error.non_retryable


def test_one_unsealed_payload_refuses_the_whole_batch(strict: FailClosedPayloadCodec) -> None:
    sealed = _run(strict, [Payload(data=b"a"), Payload(data=b"b")], encode=True)
    with pytest.raises(UnsealedPayloadError):
        _run(strict, [sealed[0], Payload(data=PLAIN_SIGN), sealed[1]], encode=False)


def test_what_the_converter_writes_it_reads_back(table: CodecKeyTable) -> None:
    converter = data_converter(table)
    # None, the SDK's empty result, is a payload like any other: sealed, and read back.
    payloads = asyncio.run(converter.encode([None, {"wallet_id": "w"}, ""]))
    assert all(p.metadata["encoding"] == ENCODING for p in payloads)
    assert asyncio.run(converter.decode(payloads)) == [None, {"wallet_id": "w"}, ""]


def test_failures_are_sealed_and_a_plaintext_failure_attribute_is_refused(
    table: CodecKeyTable,
) -> None:
    converter = data_converter(table)
    failure = temporalio.api.failure.v1.Failure()
    error = ApplicationError("wallet w-victim is locked", type="WalletBusy")
    asyncio.run(converter.encode_failure(error, failure))
    assert failure.message == "Encoded failure"
    assert failure.encoded_attributes.metadata["encoding"] == ENCODING
    decoded = asyncio.run(converter.decode_failure(failure))
    assert isinstance(decoded, ApplicationError)
    assert decoded.message == "wallet w-victim is locked"

    # A forged failure whose encoded attributes are plain JSON is refused too.
    forged = temporalio.api.failure.v1.Failure(message="Encoded failure")
    forged.encoded_attributes.CopyFrom(
        Payload(metadata={"encoding": b"json/plain"}, data=b'{"message":"all good"}')
    )
    forged.application_failure_info.SetInParent()
    with pytest.raises(UnsealedPayloadError):
        asyncio.run(converter.decode_failure(forged))
