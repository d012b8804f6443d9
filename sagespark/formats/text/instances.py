"""SageMaker's JSON "instance" objects → a feature matrix (shared by JSON and JSON Lines).

An instance is any of the forms SageMaker's built-in algorithms accept:

- a bare list of numbers: ``[1.0, 2.0]``
- ``{"features": [1.0, 2.0]}``
- ``{"data": {"features": {"values": [1.0, 2.0]}}}`` (dense)
- ``{"data": {"features": {"keys": [0, 3], "values": [1.0, 2.0], "shape": [4]}}}`` (sparse; ``keys``
  index the flattened tensor)

Rectangular dense input takes a single numpy conversion; anything else is assembled row by row, which
JSON needs anyway since every value is already a Python object.

Examples
--------
>>> instances_to_matrix([{"features": [1, 2]}, [3, 4]])
array([[1., 2.],
       [3., 4.]], dtype=float32)
>>> m = instances_to_matrix([{"data": {"features": {"keys": [1], "values": [5.0], "shape": [3]}}}])
>>> m.toarray()
array([[0., 5., 0.]], dtype=float32)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import scipy.sparse as sp

from sagespark.errors import DataFormatError

__all__ = ["instances_to_matrix", "matrix_to_instances"]


def _tensor(instance: Any, where: str) -> tuple[list[Any], list[Any] | None, int | None]:
    """(values, keys or None, width or None) of one instance."""
    if isinstance(instance, list):
        return instance, None, None
    if not isinstance(instance, dict):
        raise DataFormatError(
            f'{where}: expected a list of numbers or an object with "features"; '
            f"got {type(instance).__name__}."
        )
    if "features" in instance:
        tensor = instance["features"]
    elif isinstance(instance.get("data"), dict) and "features" in instance["data"]:
        tensor = instance["data"]["features"]
    else:
        raise DataFormatError(
            f'{where}: expected a "features" list or a "data": {{"features": {{"values": [...]}}}} object; '
            f"got keys {sorted(instance)}."
        )
    if isinstance(tensor, list):
        return tensor, None, None
    if not isinstance(tensor, dict) or "values" not in tensor:
        raise DataFormatError(f'{where}: "features" must be a list or an object with "values".')
    values = tensor["values"]
    keys = tensor.get("keys") or None
    shape = tensor.get("shape")
    width = None
    if shape:
        if not isinstance(shape, list) or len(shape) != 1 or not isinstance(shape[0], int):
            raise DataFormatError(f'{where}: "shape" must be a one-element list of ints; got {shape!r}.')
        width = shape[0]
    if not isinstance(values, list) or (keys is not None and not isinstance(keys, list)):
        raise DataFormatError(f'{where}: "values" and "keys" must be lists.')
    if keys is not None and len(keys) != len(values):
        raise DataFormatError(f"{where}: {len(keys)} keys but {len(values)} values.")
    return values, keys, width


def _numbers(values: list[Any], where: str, what: str, dtype: Any) -> np.ndarray:
    try:
        out = np.array(values, dtype=dtype)
    except (TypeError, ValueError):
        out = None
    if out is None or out.ndim != 1 or any(isinstance(v, (str, bool)) for v in values):
        raise DataFormatError(f"{where}: {what} must be a flat list of numbers.")
    return out


def instances_to_matrix(
    instances: Sequence[Any], *, locations: Sequence[str] | None = None
) -> np.ndarray | sp.csr_matrix:
    """Decode instances into a float32 dense array, or CSR when any instance is sparse.

    Parameters
    ----------
    instances : sequence
        Decoded JSON instances (see the module docstring for the accepted forms).
    locations : sequence of str, optional
        How to name each instance in errors (``"line 3"``); ``"instance i"`` by default.

    Raises
    ------
    DataFormatError
        Naming the instance that is malformed, or whose width differs from the first one's.
    """
    if len(instances) == 0:
        raise DataFormatError("No instances in the request: expected at least one row.")

    def where(i: int) -> str:
        return locations[i] if locations is not None else f"instance {i}"

    # Fast path: every instance dense and of one width → one conversion.
    rows = [inst["features"] if isinstance(inst, dict) and "features" in inst else inst for inst in instances]
    if all(isinstance(r, list) for r in rows):
        try:
            dense = np.array(rows, dtype=np.float32)
            if dense.ndim == 2 and dense.dtype == np.float32 and dense.shape[1] > 0:
                if not any(isinstance(v, (str, bool)) for v in rows[0]):
                    return dense
        except (TypeError, ValueError):
            pass

    parsed = [_tensor(inst, where(i)) for i, inst in enumerate(instances)]
    sparse = any(keys is not None for _, keys, _ in parsed)
    widths = {w for _, _, w in parsed if w is not None}
    if not sparse:
        width = len(parsed[0][0])
        arrays = []
        for i, (values, _, w) in enumerate(parsed):
            row = _numbers(values, where(i), '"values"', np.float32)
            if len(row) != width or (w is not None and w != len(row)):
                raise DataFormatError(
                    f"{where(i)} has {len(row)} features; expected {width} like the first row."
                )
            arrays.append(row)
        return np.vstack(arrays)

    if len(widths) > 1:
        raise DataFormatError(f'Instances disagree on the sparse "shape": {sorted(widths)}.')
    declared = widths.pop() if widths else None
    indptr = np.zeros(len(parsed) + 1, dtype=np.int64)
    all_keys: list[np.ndarray] = []
    all_values: list[np.ndarray] = []
    width = declared or 0
    for i, (values, keys, _) in enumerate(parsed):
        vals = _numbers(values, where(i), '"values"', np.float32)
        idx = (
            np.arange(len(vals), dtype=np.int64)
            if keys is None
            else _numbers(keys, where(i), '"keys"', np.int64)
        )
        if len(idx):
            if idx.min() < 0:
                raise DataFormatError(f"{where(i)}: negative key {int(idx.min())}.")
            top = int(idx.max())
            if declared is not None and top >= declared:
                raise DataFormatError(f"{where(i)}: key {top} is outside the shape [{declared}].")
            width = max(width, top + 1)
        all_keys.append(idx)
        all_values.append(vals)
        indptr[i + 1] = indptr[i] + len(vals)
    indices = np.concatenate(all_keys) if all_keys else np.empty(0, np.int64)
    data = np.concatenate(all_values) if all_values else np.empty(0, np.float32)
    matrix = sp.csr_matrix((data, indices, indptr), shape=(len(parsed), width))
    matrix.sum_duplicates()
    return matrix


def matrix_to_instances(features: np.ndarray | sp.spmatrix) -> list[dict[str, Any]]:
    """The inverse: SageMaker's instance objects (dense ``features`` lists, or sparse ``data`` tensors).

    Examples
    --------
    >>> matrix_to_instances(np.array([[1.0, 0.0]], dtype=np.float32))
    [{'features': [1.0, 0.0]}]
    """
    if sp.issparse(features):
        csr = sp.csr_matrix(features)
        width = int(csr.shape[1])
        indptr = csr.indptr.tolist()
        keys = csr.indices.tolist()
        values = csr.data.tolist()
        return [
            {"data": {"features": {"keys": keys[a:b], "values": values[a:b], "shape": [width]}}}
            for a, b in zip(indptr[:-1], indptr[1:])
        ]
    dense = np.asarray(features)
    if dense.ndim == 1:
        dense = dense.reshape(1, -1)
    return [{"features": row} for row in dense.tolist()]
