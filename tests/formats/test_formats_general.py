"""Records outside the canonical layout: any valid protobuf encoding is read; what a matrix cannot hold
raises a DataFormatError naming the record, never dropped silently."""

from __future__ import annotations

import io
import struct

import numpy as np
import pytest
import scipy.sparse as sp

from sagespark.errors import DataFormatError
from sagespark.formats import Record, decode, encode, frame, iter_records, read_records, write_records


def varint(v: int) -> bytes:
    out = bytearray()
    while True:
        byte = v & 0x7F
        v >>= 7
        out.append(byte | (0x80 if v else 0))
        if not v:
            return bytes(out)


def ld(field: int, payload: bytes) -> bytes:
    return varint(field << 3 | 2) + varint(len(payload)) + payload


def unpacked_f32(values) -> bytes:
    return b"".join(b"\x0d" + struct.pack("<f", v) for v in values)


def entry(key: str, value: bytes, value_first: bool = False) -> bytes:
    k, v = ld(1, key.encode()), ld(2, value)
    return v + k if value_first else k + v


def test_unpacked_reordered_and_split_fields_are_read():
    # Row 0: unpacked float32 values; row 1: map entry with the value before the key and the label
    # before the features; row 2: the packed values split across two occurrences.
    row0 = ld(1, entry("values", ld(2, unpacked_f32([1.0, 2.0]))))
    row1 = ld(2, entry("values", ld(2, ld(1, struct.pack("<f", 9.0))))) + ld(
        1, entry("values", ld(2, ld(1, struct.pack("<2f", 3.0, 4.0))), value_first=True)
    )
    row2 = ld(1, entry("values", ld(2, ld(1, struct.pack("<f", 5.0)) + ld(1, struct.pack("<f", 6.0)))))
    data = b"".join(frame(r) for r in (row0, row1, row2))
    with pytest.raises(DataFormatError, match="Record 0 .*no label but Record 1"):
        decode(data)
    labelled = b"".join(
        frame(r + ld(2, entry("values", ld(2, ld(1, struct.pack("<f", 7.0)))))) for r in (row0, row2)
    )
    batch = decode(labelled + frame(row1))
    np.testing.assert_array_equal(batch.features, [[1, 2], [5, 6], [3, 4]])
    np.testing.assert_array_equal(batch.labels, [7, 7, 9])


def test_multi_dimensional_shape_is_flattened():
    r = Record()
    r.features["values"].float64_tensor.values.extend(range(6))
    r.features["values"].float64_tensor.shape.extend([2, 3])
    batch = decode(frame(r.SerializeToString()) * 2)
    assert batch.features.shape == (2, 6)


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda r: setattr(r, "uid", "a"), "'uid'"),
        (lambda r: setattr(r, "metadata", "{}"), "'metadata'"),
        (lambda r: r.features["other"].float32_tensor.values.append(1.0), "exactly one feature 'values'"),
        (lambda r: r.label["score"].float32_tensor.values.append(1.0), "labels \\['score'\\]"),
        (lambda r: r.label["values"].float32_tensor.values.extend([1.0, 2.0]), "holds 2 values"),
    ],
)
def test_content_a_matrix_cannot_hold_raises_naming_the_record(build, message):
    good = Record()
    good.features["values"].float32_tensor.values.extend([1.0])
    bad = Record()
    bad.features["values"].float32_tensor.values.extend([1.0])
    build(bad)
    data = frame(good.SerializeToString()) * 3 + frame(bad.SerializeToString())
    with pytest.raises(
        DataFormatError,
        match=f"Record 3 at byte offset {3 * len(frame(good.SerializeToString()))}.*{message}",
    ):
        decode(data)
    # ... and the generic reader returns it whole.
    records = list(read_records(io.BytesIO(data)))
    assert records[3] == bad


def test_bytes_values_raise_and_read_records_returns_them():
    r = Record()
    r.features["values"].bytes.value.append(b"\x89PNG")
    data = frame(r.SerializeToString())
    with pytest.raises(DataFormatError, match="Record 0 .*bytes value"):
        decode(data)
    (back,) = read_records(io.BytesIO(data))
    assert back.features["values"].bytes.value[0] == b"\x89PNG"


def test_invalid_protobuf_payload_names_record_and_offset():
    good = encode(np.ones((2, 2), np.float32))
    data = good + frame(b"\x0a\x05\x01")  # a length running past the end of the payload
    with pytest.raises(DataFormatError, match=f"Record 2 at byte offset {len(good)} is not a valid"):
        decode(data)


def test_dense_rows_of_different_widths_name_the_record():
    data = encode(np.ones((3, 4), np.float32)) + encode(np.ones((1, 5), np.float32))
    with pytest.raises(DataFormatError, match="Record 3 .*has 5 columns but Record 0 .*has 4"):
        decode(data)


def test_mixed_dense_and_sparse_records_give_csr():
    dense = np.array([[1.0, 0.0, 2.0]], dtype=np.float32)
    sparse = sp.csr_matrix(np.array([[0.0, 3.0, 0.0], [0.0, 0.0, 0.0]], dtype=np.float32))
    batch = decode(encode(dense) + encode(sparse) + encode(dense))
    assert sp.issparse(batch.features)
    np.testing.assert_array_equal(batch.features.toarray(), np.vstack([dense, sparse.toarray(), dense]))


def test_mixed_tensor_types_promote():
    batch = decode(encode(np.ones((1, 2), np.float32)) + encode(np.full((1, 2), 2.0)))
    assert batch.features.dtype == np.float64
    np.testing.assert_array_equal(batch.features, [[1, 1], [2, 2]])


def test_sparse_key_outside_shape_names_the_record():
    r = Record()
    t = r.features["values"].float32_tensor
    t.values.append(1.0)
    t.keys.append(10)
    t.shape.append(5)
    data = encode(sp.csr_matrix(np.eye(5, dtype=np.float32))) + frame(r.SerializeToString())
    with pytest.raises(DataFormatError, match="Record 5 .*key 10 is outside the shape \\[5\\]"):
        decode(data)


def test_keys_and_values_of_different_counts():
    r = Record()
    t = r.features["values"].float32_tensor
    t.values.extend([1.0, 2.0])
    t.keys.append(1)
    t.shape.append(5)
    with pytest.raises(DataFormatError, match="Record 0 .*1 keys for 2 values"):
        decode(frame(r.SerializeToString()))


def test_generic_write_records_round_trip_and_empty_stream():
    buf = io.BytesIO()
    write_records(buf, [b"", b"abcde"])
    assert decode(b"").features.shape == (0, 0)
    assert list(iter_records(io.BytesIO(buf.getvalue()))) == [b"", b"abcde"]


def test_undecodable_map_key_raises_data_format_error():
    # proto2 strings are not UTF-8 checked, so a key can be arbitrary bytes.
    row = ld(1, ld(1, b"\xff\xfe") + ld(2, ld(2, ld(1, struct.pack("<f", 1.0)))))
    with pytest.raises(DataFormatError, match=r"Record 0 .*features \[\"b'\\\\xff\\\\xfe'\"\]"):
        decode(frame(row))
