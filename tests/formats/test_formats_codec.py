"""Dense and sparse encode/decode: byte equality with the generated classes, exact round trips."""

from __future__ import annotations

import io

import numpy as np
import pytest
import scipy.sparse as sp
from formats_reference import reference_dense, reference_sparse
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from sagespark.errors import DataFormatError
from sagespark.formats import RecordBatch, decode, encode, read, write

DTYPES = [np.float32, np.float64, np.int32]
SETTINGS = settings(max_examples=40, deadline=None)


def _elements(dtype):
    if dtype == np.int32:
        return st.integers(-(2**31), 2**31 - 1)
    width = 32 if dtype == np.float32 else 64
    return st.floats(allow_nan=True, allow_infinity=True, width=width)


@st.composite
def dense_case(draw, max_rows=40, max_cols=12):
    dtype = draw(st.sampled_from(DTYPES))
    n = draw(st.integers(0, max_rows))
    d = draw(st.integers(0, max_cols))
    x = draw(hnp.arrays(dtype, (n, d), elements=_elements(dtype)))
    label_dtype = draw(st.sampled_from([None, np.float32, np.float64, np.int64]))
    y = None
    if label_dtype is not None:
        elements = st.integers(-(2**31), 2**31 - 1) if label_dtype == np.int64 else _elements(label_dtype)
        y = draw(hnp.arrays(label_dtype, (n,), elements=elements))
    return x, y


@st.composite
def sparse_case(draw):
    x, y = draw(dense_case(max_cols=30))
    n, d = x.shape
    keep = draw(hnp.arrays(np.bool_, (n, d), elements=st.booleans()))
    dense = np.where(keep, x, 0).astype(x.dtype)
    m = sp.csr_matrix(dense)
    m.eliminate_zeros()
    return m, y


def _canon_nan(a):
    # Protobuf's Python classes pass floats through Python objects, which may quieten NaN payloads.
    if a is not None and a.dtype.kind == "f":
        a = np.where(np.isnan(a), np.nan, a).astype(a.dtype)
    return a


def _same_bits(a, b):
    assert a.dtype == b.dtype and a.shape == b.shape
    assert np.array_equal(a.view(np.uint8), b.view(np.uint8))


def _label_dtype(y):
    return np.dtype(np.int32) if y.dtype.kind in "iu" else y.dtype


@SETTINGS
@given(dense_case())
def test_dense_bytes_match_generated_classes(case):
    x, y = map(_canon_nan, case)
    assert encode(x, y) == reference_dense(x, y)


@SETTINGS
@given(dense_case())
def test_dense_round_trip_is_exact(case):
    x, y = case
    batch = decode(encode(x, y))
    if x.shape[0] == 0:
        assert batch.features.shape == (0, 0) and batch.labels is None
        return
    _same_bits(batch.features, x)
    if y is None:
        assert batch.labels is None
    else:
        _same_bits(batch.labels, y.astype(_label_dtype(y)))


@SETTINGS
@given(dense_case())
def test_decode_reads_generated_class_bytes(case):
    x, y = map(_canon_nan, case)
    batch = decode(reference_dense(x, y))
    if x.shape[0]:
        np.testing.assert_array_equal(batch.features, x)


@SETTINGS
@given(sparse_case())
def test_sparse_bytes_match_generated_classes(case):
    m, y = case
    m.data = _canon_nan(m.data)
    assert encode(m, _canon_nan(y)) == reference_sparse(m, _canon_nan(y))


@SETTINGS
@given(sparse_case())
def test_sparse_round_trip_is_exact(case):
    m, y = case
    batch = decode(encode(m, y))
    if m.shape[0] == 0:
        return
    got = batch.features
    if m.shape[1] == 0:  # zero-width sparse rows carry nothing that marks them sparse
        assert got.shape == m.shape
        return
    assert sp.issparse(got) and got.shape == m.shape
    np.testing.assert_array_equal(got.indptr, m.indptr)
    np.testing.assert_array_equal(got.indices, m.indices)
    _same_bits(got.data, m.data)
    if y is not None:
        _same_bits(batch.labels, y.astype(_label_dtype(y)))


@SETTINGS
@given(dense_case(max_rows=60), st.integers(1, 300))
def test_streaming_read_equals_one_shot(case, batch_bytes):
    x, y = case
    data = encode(x, y)
    batches = list(read(io.BytesIO(data), max_batch_bytes=batch_bytes))
    assert sum(len(b) for b in batches) == x.shape[0]
    if x.shape[0]:
        whole = decode(data)
        _same_bits(np.concatenate([b.features for b in batches]), whole.features)
        if y is not None:
            _same_bits(np.concatenate([b.labels for b in batches]), whole.labels)


def test_streaming_read_of_sparse_rows_in_small_batches():
    m = sp.random(300, 50, density=0.05, format="csr", dtype=np.float32, random_state=3)
    y = np.arange(300, dtype=np.float64)
    batches = list(read(io.BytesIO(encode(m, y)), max_batch_bytes=200))
    assert len(batches) > 10
    assert (sp.vstack([b.features for b in batches]) != m).nnz == 0
    np.testing.assert_array_equal(np.concatenate([b.labels for b in batches]), y)


def test_large_batch_takes_vectorised_paths_and_matches_reference():
    rng = np.random.default_rng(7)
    x = rng.standard_normal((2000, 17)).astype(np.float32)
    y = rng.integers(0, 5, 2000).astype(np.float64)
    data = encode(x, y)
    assert data == reference_dense(x, y)
    batch = decode(data)
    np.testing.assert_array_equal(batch.features, x)
    np.testing.assert_array_equal(batch.labels, y)
    m = sp.random(2000, 300, density=0.02, format="csr", dtype=np.float64, random_state=2)
    data = encode(m, y)
    assert data == reference_sparse(m, y)
    assert (decode(data).features != m).nnz == 0


def test_sparse_rows_without_values_and_with_large_keys():
    m = sp.csr_matrix(
        (np.array([1.5, -2.0], np.float32), np.array([0, 70000]), np.array([0, 0, 2, 2])), shape=(3, 70001)
    )
    batch = decode(encode(m))
    assert batch.features.shape == (3, 70001)
    np.testing.assert_array_equal(batch.features.toarray(), m.toarray())


def test_write_then_read_file(tmp_path):
    x = np.arange(12, dtype=np.float64).reshape(4, 3)
    path = tmp_path / "part-0.pbr"
    with open(path, "wb") as f:
        written = write(f, x, np.ones(4))
    assert written == path.stat().st_size
    with open(path, "rb") as f:
        (batch,) = list(read(f))
    assert isinstance(batch, RecordBatch)
    np.testing.assert_array_equal(batch.features, x)
    assert path.read_bytes() == encode(x, np.ones(4))


def test_int64_features_go_to_int32_with_range_check():
    x = np.array([[1, -2]], dtype=np.int64)
    assert decode(encode(x)).features.dtype == np.int32
    with pytest.raises(DataFormatError, match="int32 range"):
        encode(np.array([[2**40]], dtype=np.int64))


@pytest.mark.parametrize(
    ("features", "labels", "message"),
    [
        (np.zeros(3), None, "2-D"),
        (np.zeros((2, 2), dtype=np.complex64), None, "complex64"),
        (np.zeros((2, 2)), np.zeros(3), "3 values but features has 2 rows"),
        (np.zeros((2, 2)), np.zeros((2, 2)), "1-D"),
        (np.array([["a"]]), None, "dtype"),
    ],
)
def test_encode_rejects_bad_input(features, labels, message):
    with pytest.raises(DataFormatError, match=message):
        encode(features, labels)


def test_one_very_long_sparse_row_among_short_rows():
    # Padding every row to the longest would waste memory: that block is written by scattering.
    rng = np.random.default_rng(5)
    rows = [np.array([int(rng.integers(0, 9000))]) for _ in range(300)]
    rows[150] = np.arange(0, 9000, 2)
    indptr = np.cumsum([0] + [r.size for r in rows])
    m = sp.csr_matrix(
        (rng.standard_normal(indptr[-1]).astype(np.float32), np.concatenate(rows), indptr), shape=(300, 9000)
    )
    y = rng.integers(-5, 5, 300).astype(np.int64)
    data = encode(m, y)
    assert data == reference_sparse(m, y)
    batch = decode(data)
    assert (batch.features != m).nnz == 0
    np.testing.assert_array_equal(batch.labels, y)


def test_equal_length_records_of_different_layouts_are_told_apart():
    # float64 rows of 1 value and float32 rows of 2 values have payloads of the same length.
    a = np.arange(40, dtype=np.float64).reshape(40, 1)
    b = np.arange(80, dtype=np.float32).reshape(40, 2)
    assert len(encode(a[:1])) == len(encode(b[:1]))
    with pytest.raises(DataFormatError, match="Record 40 .*has 2 columns but Record 0 .*has 1"):
        decode(encode(a) + encode(b))
    c = np.arange(40, dtype=np.float64).reshape(20, 2)
    batch = decode(encode(b) + encode(c))
    assert batch.features.dtype == np.float64
    np.testing.assert_array_equal(batch.features, np.vstack([b, c]))


def test_write_in_blocks_equals_one_encode(monkeypatch):
    import sagespark.formats.stream as stream_module

    monkeypatch.setattr(stream_module, "_WRITE_BLOCK_BYTES", 500)
    x = np.random.default_rng(1).standard_normal((97, 7))
    m = sp.random(97, 40, density=0.1, format="csr", random_state=1)
    for features in (x, m):
        f = io.BytesIO()
        assert write(f, features, np.arange(97.0)) == len(f.getvalue())
        assert f.getvalue() == encode(features, np.arange(97.0))
