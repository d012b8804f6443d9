"""Executor-side prediction for :meth:`SageMakerModel.transform`: module-level, never a closure over a model.

Spark ships :func:`predict_arrays` (bound to plain arguments with :func:`functools.partial`) to the
Python workers as a scalar Arrow UDF: only the model's input columns travel to Python and only the
outputs come back, as one struct; every other column stays in the JVM. Each worker process loads the
Predictor once per artifact URI (Spark reuses Python workers, so later tasks find it cached) and decodes
each Arrow batch in one go.

Examples
--------
>>> import pyarrow as pa
>>> from sagespark.algorithms.base import InputField, OutputField
>>> from sagespark.ml.transform import predict_arrays
>>> predict_arrays(pa.array([[3.0, 4.0]]), artifact_uri="/models/m", store_uri=None, token="",
...     inputs=(InputField("features", "vector", "featuresCol"),),
...     outputs=(OutputField("score", "double"),), verbose=False)       # doctest: +SKIP
<pyarrow.lib.StructArray object at ...>
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import TYPE_CHECKING

import pyarrow as pa

if TYPE_CHECKING:
    from sagespark.algorithms.base import InputField, OutputField, Predictor

__all__ = ["predict_arrays", "load_cached_predictor"]

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


def predict_arrays(
    *columns: pa.Array,
    artifact_uri: str,
    store_uri: str | None,
    token: str,
    inputs: tuple[InputField, ...],
    outputs: tuple[OutputField, ...],
    verbose: bool,
) -> pa.StructArray:
    """Scalar Arrow UDF body: the input columns of one batch in, one struct of the outputs out.

    Parameters
    ----------
    *columns : pyarrow.Array
        One array per input of ``inputs``, in order.
    artifact_uri, store_uri, token : str
        Where the model artifact lives, the Store that reads it, and the model instance's cache token.
    inputs : tuple[InputField, ...]
        The inputs the Predictor reads.
    outputs : tuple[OutputField, ...]
        The outputs, the fields of the returned struct.
    verbose : bool
        Passed to ``Predictor.predict``.
    """
    from sagespark.data.channels import batch_from_arrow, outputs_to_arrow

    predictor = load_cached_predictor(artifact_uri, store_uri, token)
    batch = pa.RecordBatch.from_arrays(list(columns), names=[f.name for f in inputs])
    predicted = predictor.predict(batch_from_arrow(batch, inputs), verbose=verbose)
    out = outputs_to_arrow({f.name: predicted[f.name] for f in outputs}, outputs)
    if out.num_rows != batch.num_rows:
        raise RuntimeError(
            f"The predictor returned {out.num_rows} rows for a batch of {batch.num_rows} rows."
        )
    return pa.StructArray.from_arrays(out.columns, fields=list(out.schema))
