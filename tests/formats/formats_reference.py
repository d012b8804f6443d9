"""Reference encoders built on the generated protobuf classes, the way SageMaker's SDK builds records."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from sagespark.formats._generated.record_pb2 import Record
from sagespark.formats.recordio import frame

TENSOR_FIELD = {
    np.dtype(np.float32): "float32_tensor",
    np.dtype(np.float64): "float64_tensor",
    np.dtype(np.int32): "int32_tensor",
}


def tensor_field(dtype: np.dtype) -> str:
    dtype = np.dtype(dtype)
    return "int32_tensor" if dtype.kind in "iu" else TENSOR_FIELD[dtype]


def reference_dense(x: np.ndarray, y: np.ndarray | None = None) -> bytes:
    out = []
    for i in range(x.shape[0]):
        record = Record()
        getattr(record.features["values"], tensor_field(x.dtype)).values.extend(x[i].tolist())
        if y is not None:
            getattr(record.label["values"], tensor_field(y.dtype)).values.extend([y[i].item()])
        out.append(frame(record.SerializeToString()))
    return b"".join(out)


def reference_sparse(m: sp.csr_matrix, y: np.ndarray | None = None) -> bytes:
    out = []
    for i in range(m.shape[0]):
        record = Record()
        tensor = getattr(record.features["values"], tensor_field(m.dtype))
        lo, hi = m.indptr[i], m.indptr[i + 1]
        tensor.values.extend(m.data[lo:hi].tolist())
        tensor.keys.extend(m.indices[lo:hi].tolist())
        tensor.shape.extend([m.shape[1]])
        if y is not None:
            getattr(record.label["values"], tensor_field(y.dtype)).values.extend([y[i].item()])
        out.append(frame(record.SerializeToString()))
    return b"".join(out)
