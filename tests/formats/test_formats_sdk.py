"""Compatibility with the SageMaker Python SDK 2.x: it reads what we write, we read what it writes."""

from __future__ import annotations

import io
import os

import numpy as np
import pytest
import scipy.sparse as sp

from sagespark.formats import decode, encode

os.environ.setdefault("SAGEMAKER_SUPPRESS_V2_WARNING", "1")
common = pytest.importorskip("sagemaker.amazon.common")

RNG = np.random.default_rng(11)


def _dense(dtype):
    x = RNG.standard_normal((25, 6)) * 100
    return x.astype(dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int64])
@pytest.mark.parametrize("label_dtype", [None, np.float32, np.float64, np.int64])
def test_sdk_dense_writer_bytes_equal_ours_and_decode(dtype, label_dtype):
    x = _dense(dtype)
    y = None if label_dtype is None else (RNG.integers(0, 3, 25)).astype(label_dtype)
    buf = io.BytesIO()
    common.write_numpy_to_dense_tensor(buf, x, y)
    assert encode(x, y) == buf.getvalue()
    batch = decode(buf.getvalue())
    np.testing.assert_array_equal(batch.features, x)
    if y is not None:
        np.testing.assert_array_equal(batch.labels, y)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("with_labels", [False, True])
def test_sdk_sparse_writer_bytes_equal_ours_and_decode(dtype, with_labels):
    m = sp.random(40, 30, density=0.1, format="csr", dtype=dtype, random_state=4)
    y = np.arange(40, dtype=np.float64) if with_labels else None
    buf = io.BytesIO()
    common.write_spmatrix_to_sparse_tensor(buf, m, y)
    assert encode(m, y) == buf.getvalue()
    got = decode(buf.getvalue())
    assert (got.features != m).nnz == 0 and got.features.shape == m.shape


@pytest.mark.parametrize("sparse", [False, True])
def test_sdk_reads_what_we_write(sparse):
    if sparse:
        x = sp.random(20, 15, density=0.2, format="csr", dtype=np.float32, random_state=5)
    else:
        x = _dense(np.float32)
    n = x.shape[0]
    y = np.arange(n, dtype=np.float64)
    records = common.read_records(io.BytesIO(encode(x, y)))
    assert len(records) == n
    dense = x.toarray() if sparse else x
    for i, record in enumerate(records):
        tensor = record.features["values"].float32_tensor
        row = np.zeros(dense.shape[1], dtype=np.float32)
        if sparse:
            row[np.asarray(tensor.keys, dtype=np.int64)] = tensor.values
            assert list(tensor.shape) == [dense.shape[1]]
        else:
            row[:] = tensor.values
        np.testing.assert_array_equal(row, dense[i])
        assert record.label["values"].float64_tensor.values[0] == y[i]
    payloads = list(common.read_recordio(io.BytesIO(encode(x))))
    assert len(payloads) == n
