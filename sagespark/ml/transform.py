"""Executor-side prediction for :meth:`SageMakerModel.transform`: module-level, never a closure over a model.

Spark ships :func:`predict_batches` (bound to plain arguments with :func:`functools.partial`) to the
Python workers of a ``mapInArrow`` stage. Each worker process loads the Predictor once per artifact URI
(Spark reuses Python workers, so later tasks find it cached), decodes every Arrow batch in one go, and
appends the output columns to the batch, so every input column and every row passes through in order.

Examples
--------
>>> import pyarrow as pa
>>> from sagespark.ml.transform import rename_inputs
>>> batch = pa.RecordBatch.from_pydict({"id": [1, 2], "f": [[0.0, 1.0], [2.0, 3.0]]})
>>> rename_inputs(batch, {"features": 1}).schema.names
['features']
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import TYPE_CHECKING, Iterable, Iterator

import pyarrow as pa

if TYPE_CHECKING:
    from sagespark.algorithms.base import InputField, OutputField, Predictor

__all__ = ["predict_batches", "load_cached_predictor", "rename_inputs"]

_PREDICTORS: OrderedDict[tuple[str, str | None, str], Predictor] = OrderedDict()
_LOCK = threading.Lock()
_MAX_CACHED = 4
"""Predictors kept per Python worker; the least recently used goes first, so memory stays bounded."""


def load_cached_predictor(artifact_uri: str, store_uri: str | None, token: str = "") -> Predictor:
    """The Predictor of ``artifact_uri``, loaded once per Python process (and model instance) and reused.

    ``token`` identifies the model instance: a path overwritten with another model and loaded again
    gets a new token, so a long-lived worker never keeps serving the previous model. The artifact
    comes through :meth:`Store.local_copy`; loading never executes code from the artifact.
    """
    key = (token, store_uri, artifact_uri)
    with _LOCK:  # one load per key even when a worker runs several tasks' threads
        predictor = _PREDICTORS.get(key)
        if predictor is None:
            from sagespark.algorithms.artifact import load_artifact
            from sagespark.distributed.store import Store

            local = Store.from_uri(store_uri).local_copy(artifact_uri)
            predictor = load_artifact(local).predictor
            _PREDICTORS[key] = predictor
            while len(_PREDICTORS) > _MAX_CACHED:
                _PREDICTORS.popitem(last=False)
        _PREDICTORS.move_to_end(key)
    return predictor


def rename_inputs(batch: pa.RecordBatch, positions: dict[str, int]) -> pa.RecordBatch:
    """The input columns at ``positions`` (by index, so duplicate names elsewhere cannot confuse it),
    renamed to the algorithm's input names."""
    names = list(positions)
    return pa.RecordBatch.from_arrays([batch.column(positions[n]) for n in names], names=names)


def predict_batches(
    batches: Iterable[pa.RecordBatch],
    *,
    artifact_uri: str,
    store_uri: str | None,
    token: str,
    inputs: tuple[InputField, ...],
    positions: dict[str, int],
    outputs: tuple[OutputField, ...],
    output_columns: tuple[str, ...],
    verbose: bool,
) -> Iterator[pa.RecordBatch]:
    """``mapInArrow`` function: each input batch with the output columns appended.

    Parameters
    ----------
    batches : Iterable[pyarrow.RecordBatch]
        The partition, every column of the input DataFrame.
    artifact_uri, store_uri, token : str
        Where the model artifact lives, the Store that reads it, and the model instance's cache token.
    inputs : tuple[InputField, ...]
        The inputs the Predictor reads; ``positions`` gives each one's column index in the batch.
    outputs : tuple[OutputField, ...]
        The outputs to write, named ``output_columns`` in the result.
    verbose : bool
        Passed to ``Predictor.predict``.
    """
    from sagespark.data.channels import batch_from_arrow, outputs_to_arrow

    predictor = load_cached_predictor(artifact_uri, store_uri, token)
    names = None
    for batch in batches:
        if batch.num_rows == 0:
            continue  # nothing to predict, and an empty yield adds no rows
        mapping = batch_from_arrow(rename_inputs(batch, positions), inputs)
        predicted = predictor.predict(mapping, verbose=verbose)
        out = outputs_to_arrow({f.name: predicted[f.name] for f in outputs}, outputs)
        if out.num_rows != batch.num_rows:
            raise RuntimeError(
                f"The predictor returned {out.num_rows} rows for a batch of {batch.num_rows} rows."
            )
        if names is None:
            names = list(batch.schema.names) + list(output_columns)
        appended = [out.column(f.name) for f in outputs]
        yield pa.RecordBatch.from_arrays(list(batch.columns) + appended, names=names)
