"""Arrow VectorUDT / array columns ⇄ numpy and CSR, without Spark's JVM."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from pyspark.ml.linalg import DenseVector, SparseVector, VectorUDT

from sagespark.data.vectors import (
    VECTOR_ARROW_TYPE,
    is_vector_type,
    matrix_to_vectors,
    numeric_to_array,
    vectors_to_matrix,
)
from sagespark.errors import DataFormatError

finite = st.floats(allow_nan=False, allow_infinity=False, width=64)


def spark_vectors(array: pa.Array) -> list:
    """What Spark itself makes of the Arrow rows: VectorUDT.deserialize of each struct."""
    udt = VectorUDT()
    return [udt.deserialize((r["type"], r["size"], r["indices"], r["values"])) for r in array.to_pylist()]


@settings(max_examples=40, deadline=None)
@given(
    hnp.arrays(np.float64, hnp.array_shapes(min_dims=2, max_dims=2, min_side=1, max_side=12), elements=finite)
)
def test_dense_round_trip_is_exact_in_float64(matrix: np.ndarray) -> None:
    arrow = matrix_to_vectors(matrix)
    assert arrow.type == VECTOR_ARROW_TYPE
    np.testing.assert_array_equal(vectors_to_matrix(arrow, column="f", dtype=np.float64), matrix)
    assert all(isinstance(v, DenseVector) for v in spark_vectors(arrow))
    np.testing.assert_array_equal(np.array([v.toArray() for v in spark_vectors(arrow)]), matrix)


@settings(max_examples=40, deadline=None)
@given(
    st.integers(1, 15),
    st.integers(1, 20),
    st.floats(0.0, 1.0),
    st.integers(0, 2**31 - 1),
)
def test_sparse_round_trip_keeps_csr_structure(n: int, d: int, density: float, seed: int) -> None:
    matrix = sp.random(n, d, density=density, format="csr", random_state=seed, dtype=np.float64)
    arrow = matrix_to_vectors(matrix)
    decoded = vectors_to_matrix(arrow, column="f", dtype=np.float64)
    assert sp.issparse(decoded) and decoded.shape == (n, d)
    np.testing.assert_array_equal(decoded.toarray(), matrix.toarray())
    np.testing.assert_array_equal(decoded.indptr, matrix.indptr)
    vectors = spark_vectors(arrow)
    assert all(isinstance(v, SparseVector) and v.size == d for v in vectors)
    np.testing.assert_array_equal(np.array([v.toArray() for v in vectors]), matrix.toarray())


def test_default_dtype_is_writable_float32() -> None:
    out = vectors_to_matrix(matrix_to_vectors(np.arange(6.0).reshape(3, 2)), column="features")
    assert out.dtype == np.float32 and out.flags.writeable and out.flags.c_contiguous
    np.testing.assert_array_equal(out, np.arange(6.0).reshape(3, 2))


def test_mixed_dense_and_sparse_chunks_give_csr_or_dense_on_request() -> None:
    dense = np.array([[1.0, 0.0, 2.0], [0.0, 3.0, 0.0]])
    sparse = sp.csr_matrix(np.array([[0.0, 0.0, 4.0], [5.0, 0.0, 0.0]]))
    column = pa.chunked_array([matrix_to_vectors(dense), matrix_to_vectors(sparse)])
    expected = np.vstack([dense, sparse.toarray()])
    as_csr = vectors_to_matrix(column, column="features")
    assert sp.issparse(as_csr) and as_csr.dtype == np.float32
    np.testing.assert_array_equal(as_csr.toarray(), expected)
    np.testing.assert_array_equal(vectors_to_matrix(column, column="features", dense=True), expected)
    # Dense-only input can be asked for as CSR too.
    np.testing.assert_array_equal(
        vectors_to_matrix(matrix_to_vectors(dense), column="f", dense=False).toarray(), dense
    )


def test_rows_mixing_dense_and_sparse_within_one_chunk() -> None:
    rows = [
        {"type": 1, "size": None, "indices": None, "values": [1.0, 2.0, 3.0]},
        {"type": 0, "size": 3, "indices": [2], "values": [9.0]},
        {"type": 1, "size": None, "indices": None, "values": [4.0, 5.0, 6.0]},
        {"type": 0, "size": 3, "indices": [0, 1], "values": [7.0, 8.0]},
    ]
    arrow = pa.array(rows, type=VECTOR_ARROW_TYPE)
    expected = np.array([[1, 2, 3], [0, 0, 9], [4, 5, 6], [7, 8, 0]], dtype=np.float64)
    np.testing.assert_array_equal(vectors_to_matrix(arrow, column="f").toarray(), expected)
    np.testing.assert_array_equal(vectors_to_matrix(arrow, column="f", dense=True), expected)
    # A slice starts mid-buffer: offsets must be honoured.
    np.testing.assert_array_equal(vectors_to_matrix(arrow.slice(1, 2), column="f", dense=True), expected[1:3])


def test_sliced_dense_chunks_decode_their_own_rows() -> None:
    matrix = np.arange(20.0).reshape(10, 2)
    arrow = matrix_to_vectors(matrix)
    column = pa.chunked_array([arrow.slice(2, 3), arrow.slice(7, 3)])
    np.testing.assert_array_equal(vectors_to_matrix(column, column="f"), matrix[[2, 3, 4, 7, 8, 9]])


@pytest.mark.parametrize(
    "arrow_type",
    [pa.list_(pa.float32()), pa.list_(pa.float64()), pa.list_(pa.int32()), pa.large_list(pa.int64())],
)
def test_numeric_array_columns(arrow_type: pa.DataType) -> None:
    column = pa.array([[1, 2], [3, 4], [5, 6]], type=arrow_type)
    out = vectors_to_matrix(column, column="pixels", dtype=np.float64)
    np.testing.assert_array_equal(out, [[1, 2], [3, 4], [5, 6]])


def test_fixed_size_list_column_slice() -> None:
    column = pa.array([[1, 2], [3, 4], [5, 6]], type=pa.list_(pa.float64(), 2)).slice(1)
    np.testing.assert_array_equal(vectors_to_matrix(column, column="x"), [[3, 4], [5, 6]])


def test_empty_column_gives_zero_by_zero() -> None:
    out = vectors_to_matrix(pa.chunked_array([], type=VECTOR_ARROW_TYPE), column="f")
    assert out.shape == (0, 0) and out.dtype == np.float32


def test_null_vector_names_column_and_global_row() -> None:
    first = matrix_to_vectors(np.ones((4, 2)))
    second = pa.array(
        [{"type": 1, "size": None, "indices": None, "values": [1.0, 2.0]}, None], type=VECTOR_ARROW_TYPE
    )
    with pytest.raises(DataFormatError, match=r"Column 'pixels': row 5 is null"):
        vectors_to_matrix(pa.chunked_array([first, second]), column="pixels")


def test_row_offset_shifts_reported_rows() -> None:
    column = pa.array([[1.0], None])
    with pytest.raises(DataFormatError, match=r"row 101 is null"):
        vectors_to_matrix(column, column="x", row_offset=100)


def test_dense_rows_of_mixed_sizes_name_rows_and_sizes() -> None:
    column = pa.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0, 7.0]])
    with pytest.raises(DataFormatError, match=r"Column 'f'.*row 0 has size 2 and row 2 \(dense\) has size 3"):
        vectors_to_matrix(column, column="f")


def test_sparse_size_disagreeing_with_dense_length() -> None:
    rows = [
        {"type": 1, "size": None, "indices": None, "values": [1.0, 2.0]},
        {"type": 0, "size": 5, "indices": [4], "values": [1.0]},
    ]
    with pytest.raises(DataFormatError, match=r"row 1 \(sparse\) has size 5"):
        vectors_to_matrix(pa.array(rows, type=VECTOR_ARROW_TYPE), column="f")


def test_sparse_index_out_of_range() -> None:
    rows = [
        {"type": 0, "size": 3, "indices": [0], "values": [1.0]},
        {"type": 0, "size": 3, "indices": [1, 3], "values": [1.0, 2.0]},
    ]
    with pytest.raises(DataFormatError, match=r"row 1 has index 3 outside \[0, 3\)"):
        vectors_to_matrix(pa.array(rows, type=VECTOR_ARROW_TYPE), column="f")


def test_null_element_inside_array_names_row() -> None:
    with pytest.raises(DataFormatError, match=r"Column 'a': row 1 holds a null element"):
        vectors_to_matrix(pa.array([[1.0, 2.0], [3.0, None]]), column="a")


def test_wrong_column_type_names_column_and_expected() -> None:
    with pytest.raises(DataFormatError, match=r"Column 'name': expected a Spark ML Vector or an array"):
        vectors_to_matrix(pa.array(["a", "b"]), column="name")
    with pytest.raises(DataFormatError, match=r"expected an array of numbers"):
        vectors_to_matrix(pa.array([["a"], ["b"]]), column="tokens")


def test_matrix_to_vectors_sorts_non_canonical_csr() -> None:
    unsorted = sp.csr_matrix((np.array([2.0, 1.0]), np.array([3, 0]), np.array([0, 2])), shape=(1, 4))
    arrow = matrix_to_vectors(unsorted)
    assert arrow.to_pylist() == [{"type": 0, "size": 4, "indices": [0, 3], "values": [1.0, 2.0]}]


def test_matrix_to_vectors_rejects_1d() -> None:
    with pytest.raises(DataFormatError, match=r"2-D"):
        matrix_to_vectors(np.ones(3))


def test_is_vector_type() -> None:
    assert is_vector_type(VECTOR_ARROW_TYPE)
    assert not is_vector_type(pa.list_(pa.float64()))


def test_numeric_to_array_casts_and_reports_nulls() -> None:
    np.testing.assert_array_equal(numeric_to_array(pa.array([1, 2, 3]), column="y"), [1.0, 2.0, 3.0])
    with pytest.raises(DataFormatError, match=r"Column 'y': row 4 is null"):
        numeric_to_array(pa.chunked_array([[1.0, 2.0, 3.0], [4.0, None]]), column="y")
    with pytest.raises(DataFormatError, match=r"Column 'y': expected a numeric column; got string"):
        numeric_to_array(pa.array(["a"]), column="y")
