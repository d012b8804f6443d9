"""Reading the training shards that the Scala bridge writes, as the Arrow batches ``mapInArrow`` gives.

The bridge's ``TrainingShards.export`` makes every barrier task write its partition to flat files before
the Python worker starts (see ``bridge/src/main/scala/org/sagespark/bridge/TrainingShards.scala``); the
worker receives one string per partition, a JSON manifest. :func:`batches_from_shards` reads each file with
one ``numpy.fromfile`` and rebuilds, zero copy, the Arrow arrays Spark would have sent (the VectorUDT
struct for vectors, lists for arrays, float64 for numbers), so decoding and its row-level errors stay
in :mod:`sagespark.data.channels`. Skipping Spark's per-value Arrow writer halves the hand-off.

Examples
--------
>>> import json, os, tempfile, numpy as np
>>> d = tempfile.mkdtemp()
>>> np.array([1, 0], np.int8).tofile(os.path.join(d, "0.valid"))
>>> np.array([2.5, np.nan]).tofile(os.path.join(d, "0.value"))
>>> manifest = {"dir": d, "rows": 2, "columns": [{"name": "label", "kind": "double",
...             "files": {"valid": "0.valid", "value": "0.value"}}]}
>>> batch = read_shard(json.dumps(manifest))
>>> batch.column("label").to_pylist()
[2.5, None]
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterable, Iterator
from typing import Any

import numpy as np
import pyarrow as pa

from sagespark.data.vectors import VECTOR_ARROW_TYPE
from sagespark.errors import DataFormatError

__all__ = ["batches_from_shards", "read_shard"]

_SECTION_TYPES = {
    "type": np.int8,
    "size": np.int32,
    "count": np.int32,
    "indices": np.int32,
    "values": np.float32,
    "nulls": np.int64,
    "valid": np.int8,
    "value": np.float64,
}


def batches_from_shards(manifests: Iterable[str]) -> Iterator[pa.RecordBatch]:
    """The data batches of the shard manifests a barrier task receives (the bridge's export).

    Each shard's directory is deleted once read (the bridge deletes it again when the task ends).
    """
    for text in manifests:
        yield read_shard(text)


def read_shard(manifest: str) -> pa.RecordBatch:
    """One shard as an Arrow batch with the columns of the exported DataFrame.

    Raises
    ------
    DataFormatError
        When a file is shorter than the manifest says (a shard written by another version).
    """
    found = json.loads(manifest)
    folder, rows = found["dir"], int(found["rows"])
    try:
        arrays, names = [], []
        for column in found["columns"]:
            sections = {name: _section(folder, file, name) for name, file in column["files"].items()}
            arrays.append(_column(column, sections, rows))
            names.append(column["name"])
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return pa.RecordBatch.from_arrays(arrays, names)


def _section(folder: str, file: str, name: str) -> np.ndarray:
    return np.fromfile(os.path.join(folder, file), dtype=_SECTION_TYPES[name])


def _column(column: dict[str, Any], s: dict[str, np.ndarray], rows: int) -> pa.Array:
    name, kind = column["name"], column["kind"]
    if kind == "double":
        _check_length(name, "value", s["value"], rows)
        return pa.array(s["value"], type=pa.float64(), mask=s["valid"] == 0)
    _check_length(name, "type", s["type"], rows)
    missing = s["type"] < 0
    offsets = _offsets(s["count"])
    _check_length(name, "values", s["values"], int(offsets[-1]))
    mask = pa.array(missing) if missing.any() else None
    values = pa.array(s["values"], type=pa.float32())
    if kind == "array":
        nulls = s.get("nulls", np.zeros(0, np.int64))
        if len(nulls):
            valid = np.ones(len(s["values"]), dtype=bool)
            valid[nulls] = False
            values = pa.array(s["values"], type=pa.float32(), mask=~valid)
        return _lists(offsets, values, mask)
    sparse = s["type"] == 0
    index_offsets = _offsets(np.where(sparse, s["count"], 0))
    _check_length(name, "indices", s["indices"], int(index_offsets[-1]))
    fields = [
        pa.array(np.where(missing, 1, s["type"]).astype(np.int8), type=pa.int8()),
        pa.array(s["size"], type=pa.int32()),
        _lists(index_offsets, pa.array(s["indices"], type=pa.int32())),
        _lists(offsets, values),
    ]
    struct_type = pa.struct([pa.field(f.name, t.type, f.nullable) for f, t in zip(VECTOR_ARROW_TYPE, fields)])
    return pa.StructArray.from_arrays(fields, fields=list(struct_type), mask=mask)


def _offsets(counts: np.ndarray) -> np.ndarray:
    offsets = np.zeros(len(counts) + 1, dtype=np.int64)
    np.cumsum(counts, out=offsets[1:])
    return offsets


def _lists(offsets: np.ndarray, values: pa.Array, mask: pa.Array | None = None) -> pa.Array:
    # Spark's own Arrow lists have int32 offsets; a shard with more values than they can count (a
    # partition of over two billion numbers) needs 64-bit ones.
    if offsets[-1] < 2**31:
        return pa.ListArray.from_arrays(pa.array(offsets.astype(np.int32)), values, mask=mask)
    return pa.LargeListArray.from_arrays(pa.array(offsets), values, mask=mask)


def _check_length(column: str, section: str, values: np.ndarray, expected: int) -> None:
    if len(values) != expected:
        raise DataFormatError(
            f"Training shard of column {column!r} is damaged: section {section!r} holds {len(values)} "
            f"values, the manifest implies {expected}."
        )
