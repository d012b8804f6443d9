"""RecordIO framing: streaming reads, split records, and corrupt input with exact byte offsets."""

from __future__ import annotations

import io
import struct

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sagespark.errors import DataFormatError
from sagespark.formats import decode, encode, frame, iter_records, read, write_records
from sagespark.formats.recordio import MAGIC

MAGIC_BYTES = struct.pack("<I", MAGIC)


def part(payload: bytes, cflag: int) -> bytes:
    pad = b"\0" * (-len(payload) % 4)
    return struct.pack("<II", MAGIC, cflag << 29 | len(payload)) + payload + pad


class TrickleReader(io.RawIOBase):
    """Returns at most 3 bytes per read, like a slow pipe, and counts how much was read."""

    def __init__(self, data: bytes) -> None:
        self._data = io.BytesIO(data)

    def readable(self) -> bool:
        return True

    def read(self, n: int = -1) -> bytes:
        return self._data.read(min(n, 3) if n > 0 else 3)


@settings(max_examples=50, deadline=None)
@given(st.lists(st.binary(max_size=40), max_size=12))
def test_frame_and_iter_records_round_trip(payloads):
    data = b"".join(frame(p) for p in payloads)
    assert len(data) % 4 == 0
    assert list(iter_records(io.BytesIO(data))) == payloads
    assert list(iter_records(TrickleReader(data))) == payloads


def test_iter_records_is_lazy():
    data = frame(b"a") + b"garbage!"
    it = iter_records(io.BytesIO(data))
    assert next(it) == b"a"
    with pytest.raises(DataFormatError, match="byte offset 12"):
        next(it)


def test_split_records_are_joined_with_the_magic_word():
    # dmlc splits a payload where the magic word occurs and joins the parts with it again.
    stream = part(b"abcd", 1) + part(b"efgh", 2) + part(b"ij", 3) + frame(b"next")
    expected = b"abcd" + MAGIC_BYTES + b"efgh" + MAGIC_BYTES + b"ij"
    assert list(iter_records(io.BytesIO(stream))) == [expected, b"next"]


def test_split_protobuf_record_decodes():
    # Split exactly where dmlc would: a payload holding the magic word, cut there and the word dropped.
    values = np.array([[1.0, struct.unpack("<f", MAGIC_BYTES)[0], 3.0]], dtype=np.float32)
    payload = encode(values)[8:]
    payload = payload[: struct.unpack("<I", encode(values)[4:8])[0]]
    at = payload.find(MAGIC_BYTES)
    assert at > 0
    first, rest = payload[:at], payload[at + 4 :]
    stream = part(first, 1) + part(rest, 3)
    batch = decode(stream)
    np.testing.assert_array_equal(batch.features.view(np.uint32), values.view(np.uint32))
    (streamed,) = list(read(io.BytesIO(stream), max_batch_bytes=8))
    np.testing.assert_array_equal(streamed.features.view(np.uint32), values.view(np.uint32))


def test_magic_word_inside_a_cflag0_payload_is_not_a_record_start():
    values = np.array([[struct.unpack("<f", MAGIC_BYTES)[0]] * 4] * 50, dtype=np.float32)
    values[::3, 1] = 1.0
    batch = decode(encode(values, np.arange(50.0)))
    np.testing.assert_array_equal(batch.features.view(np.uint32), values.view(np.uint32))


GOOD = encode(np.ones((1, 1), dtype=np.float32))  # one valid 28-byte record


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"\x00" * 8, "Bad RecordIO magic at byte offset 0"),
        (GOOD + b"\x01\x02\x03\x04\x00\x00\x00\x00", "Bad RecordIO magic at byte offset 28"),
        (GOOD + MAGIC_BYTES, "Truncated RecordIO header at byte offset 28"),
        (GOOD + MAGIC_BYTES + b"\x05\x00", "Truncated RecordIO header at byte offset 28"),
        (GOOD + struct.pack("<II", MAGIC, 100) + b"abcd", "Truncated RecordIO payload at byte offset 36"),
        (GOOD + struct.pack("<II", MAGIC, (1 << 29) - 1), "promises 536870911 bytes"),
        (GOOD + part(b"ab", 2), "cflag 2 at byte offset 28 has no first part"),
        (GOOD + part(b"ab", 3), "cflag 3 at byte offset 28 has no first part"),
        (GOOD + part(b"ab", 1) + frame(b"x"), "starting at byte offset 28 is interrupted at byte offset 40"),
        (GOOD + part(b"ab", 1) + part(b"cd", 1), "interrupted at byte offset 40 by a record with cflag 1"),
        (GOOD + part(b"ab", 1) + part(b"cd", 2), "starting at byte offset 28 has no last part"),
        (GOOD + frame(b"abc")[:-1], "Truncated RecordIO padding at byte offset 39"),
    ],
)
def test_corrupt_framing_names_the_byte_offset(data, message):
    with pytest.raises(DataFormatError, match=message):
        decode(data)
    with pytest.raises(
        DataFormatError, match=message.split(" at byte")[0] if "padding" in message else "byte offset"
    ):
        list(read(io.BytesIO(data), max_batch_bytes=16))


@pytest.mark.parametrize("cut", [1, 4, 7, 9, 20])
def test_truncated_stream_never_returns_partial_rows(cut):
    data = encode(np.ones((4, 3), dtype=np.float32))
    with pytest.raises(DataFormatError, match="Truncated RecordIO"):
        decode(data[:-cut])
    with pytest.raises(DataFormatError, match="Truncated RecordIO"):
        list(read(io.BytesIO(data[:-cut]), max_batch_bytes=20))


def test_iter_records_reports_offsets_for_corruption():
    with pytest.raises(DataFormatError, match="Bad RecordIO magic at byte offset 28"):
        list(iter_records(io.BytesIO(GOOD + b"\x01\x02\x03\x04\x00\x00\x00\x00")))
    with pytest.raises(DataFormatError, match="Truncated RecordIO payload at byte offset 36"):
        list(iter_records(io.BytesIO(GOOD + struct.pack("<II", MAGIC, 100) + b"abcd")))
    with pytest.raises(DataFormatError, match="no last part"):
        list(iter_records(io.BytesIO(part(b"ab", 1))))


def test_oversized_payload_is_refused():
    class Huge(bytes):
        def __len__(self) -> int:
            return 1 << 29

    with pytest.raises(DataFormatError, match="at most 536870911"):
        frame(Huge())


def test_large_record_in_small_batches_is_read_whole():
    x = np.arange(5000, dtype=np.float64).reshape(2, 2500)
    (a, b) = list(read(io.BytesIO(encode(x)), max_batch_bytes=64))
    np.testing.assert_array_equal(np.vstack([a.features, b.features]), x)


def test_write_records_pads_each_record():
    buf = io.BytesIO()
    assert write_records(buf, [b"a" * 3, b"b" * 4]) == 12 + 12


def _fuzz_source() -> bytes:
    import scipy.sparse as sp

    # Records of one width, all labelled: a clean stream decodes, so mutations probe the parser.
    rng = np.random.default_rng(0)
    dense = encode(rng.standard_normal((30, 6)).astype(np.float32), rng.integers(0, 3, 30))
    sparse = encode(sp.random(40, 6, density=0.3, format="csr", random_state=0), np.arange(40.0))
    ints = encode(rng.integers(-1000, 1000, (20, 6)).astype(np.int32), np.ones(20))
    return dense + sparse + ints


FUZZ_SOURCE = _fuzz_source()


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, len(FUZZ_SOURCE) - 1), st.integers(0, 255)), min_size=1, max_size=4),
    st.integers(0, len(FUZZ_SOURCE)),
)
def test_corrupted_streams_raise_data_format_error_or_decode(mutations, cut):
    data = bytearray(FUZZ_SOURCE[:cut])
    for at, value in mutations:
        if at < len(data):
            data[at] = value
    try:
        batch = decode(bytes(data))
    except DataFormatError:
        return
    # Whatever decodes must agree with a record-by-record reading of the same bytes.
    assert len(batch) == len(list(iter_records(io.BytesIO(bytes(data)))))
    assert batch.features.shape[1] == 6 or len(batch) == 0
