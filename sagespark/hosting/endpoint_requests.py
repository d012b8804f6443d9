"""Executor side of :class:`~sagespark.hosting.endpoint_model.EndpointModel`: partitions → endpoint calls.

:func:`send_partition` is the ``mapInArrow`` function (module level, bound with ``functools.partial``
to plain arguments, so no model object is shipped). For each Arrow batch it decodes the feature column
once, cuts it into requests bounded by bytes and by rows, sends them from a small thread pool (one
keep-alive connection per thread) with retries, and reassembles the answers in input order. A response
whose row count differs from its request's fails the task, naming the batch: never a short result.

Examples
--------
>>> plan = plan_requests(np.zeros((10, 3), np.float32), "text/csv", max_bytes=40, max_rows=4)
>>> [(start, stop) for start, stop, _ in plan]
[(0, 4), (4, 8), (8, 10)]
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa

from sagespark.algorithms.base import Matrix, OutputField
from sagespark.errors import DataFormatError
from sagespark.formats.text import decode_response, encode_request, encode_string_rows
from sagespark.hosting.client import EndpointClient, EndpointError, RetryPolicy

__all__ = ["SERIALIZERS", "DESERIALIZERS", "EndpointCallSettings", "plan_requests", "send_partition"]

SERIALIZERS = {
    "recordio-protobuf": "application/x-recordio-protobuf",
    "csv": "text/csv",
    "jsonlines": "application/jsonlines",
    "json": "application/json",
    "libsvm": "text/libsvm",
}
"""Request serializer name → Content-Type."""
DESERIALIZERS = {
    "json": "application/json",
    "jsonlines": "application/jsonlines",
    "recordio-protobuf": "application/x-recordio-protobuf",
    "csv": "text/csv",
}
"""Response deserializer name → Accept."""


@dataclass(frozen=True)
class EndpointCallSettings:
    """Everything an executor needs to call the endpoint (plain values: cheap to ship)."""

    url: str
    content_type: str
    accept: str
    fields: tuple[OutputField, ...]
    max_batch_bytes: int = 5 << 20
    max_batch_rows: int = 10_000
    concurrency: int = 4
    timeout_s: float = 60.0
    retry: RetryPolicy = RetryPolicy()


def plan_requests(
    features: Matrix, content_type: str, *, max_bytes: int, max_rows: int,
    encode: Callable[[Any, str], bytes] = encode_request,
) -> list[tuple[int, int, bytes]]:
    """Cut ``features`` into request bodies of at most ``max_rows`` rows and ``max_bytes`` bytes.

    The rows per request adapt to the bytes per row seen so far; an oversized body is halved and
    re-encoded, so rows are encoded about once. ``encode`` turns rows into a body (default
    :func:`~sagespark.formats.text.encode_request`; rows of strings use ``encode_string_rows``).

    Raises
    ------
    EndpointError
        When a single row encodes to more than ``max_bytes``.
    """
    n = int(features.shape[0])
    plan: list[tuple[int, int, bytes]] = []
    rows_per_request = max(1, max_rows)
    start = 0
    while start < n:
        stop = min(n, start + rows_per_request)
        body = encode(features[start:stop], content_type)
        while len(body) > max_bytes:
            if stop - start == 1:
                raise EndpointError(
                    f"Row {start} encodes to {len(body)} bytes as {content_type}, more than the "
                    f"{max_bytes}-byte request limit (maxBatchBytes)."
                )
            stop = start + (stop - start) // 2
            body = encode(features[start:stop], content_type)
        plan.append((start, stop, body))
        bytes_per_row = len(body) / (stop - start)
        # Aim a little under the limit: row sizes vary.
        rows_per_request = max(1, min(max_rows, int(0.9 * max_bytes / max(bytes_per_row, 1.0))))
        start = stop
    return plan


_LOCAL = threading.local()


def _client(settings: EndpointCallSettings) -> EndpointClient:
    clients = getattr(_LOCAL, "clients", None)
    if clients is None:
        clients = _LOCAL.clients = {}
    client = clients.get(settings.url)
    if client is None:
        client = clients[settings.url] = EndpointClient(
            settings.url, timeout_s=settings.timeout_s, retry=settings.retry
        )
    return client


def _call(settings: EndpointCallSettings, body: bytes, rows: int, what: str) -> dict[str, np.ndarray]:
    raw = _client(settings).invoke(
        body, content_type=settings.content_type, accept=settings.accept, what=what
    )
    fields = [(f.name, f.kind) for f in settings.fields]
    outputs = decode_response(raw, settings.accept, fields=fields)
    for name, values in outputs.items():
        if len(values) != rows:
            raise EndpointError(
                f"Endpoint {settings.url} answered {what} ({rows} rows) with {len(values)} rows of "
                f"{name!r}; every input row must get exactly one output row."
            )
    return outputs


def _assemble(
    batch: pa.RecordBatch,
    parts: Sequence[Future[dict[str, np.ndarray]]],
    settings: EndpointCallSettings,
    names: Sequence[str],
) -> pa.RecordBatch:
    from sagespark.data.channels import outputs_to_arrow

    results = [part.result() for part in parts]
    merged = {
        f.name: np.concatenate([np.asarray(r[f.name]) for r in results], axis=0) for f in settings.fields
    }
    out = outputs_to_arrow(merged, settings.fields)
    if out.num_rows != batch.num_rows:  # defensive: the per-request checks make this unreachable
        raise EndpointError(f"Got {out.num_rows} output rows for a batch of {batch.num_rows} rows.")
    return pa.RecordBatch.from_arrays(list(batch.columns) + list(out.columns), names=list(names))


def _string_rows(batch: pa.RecordBatch, positions: Sequence[int], row_offset: int) -> np.ndarray:
    """The ``rows × len(positions)`` object array of the string columns at ``positions``."""
    columns = []
    for position in positions:
        column = batch.column(position)
        name = batch.schema.names[position]
        if not (pa.types.is_string(column.type) or pa.types.is_large_string(column.type)):
            raise DataFormatError(f"Input column {name!r} must be a string column; got {column.type}.")
        if column.null_count:
            row = int(np.flatnonzero(column.is_null().to_numpy(zero_copy_only=False))[0])
            raise DataFormatError(
                f"Input column {name!r}: row {row_offset + row} is null; expected a string."
            )
        columns.append(column.to_numpy(zero_copy_only=False))
    return np.column_stack(columns).astype(object, copy=False)


def send_partition(
    batches: Iterable[pa.RecordBatch],
    *,
    settings: EndpointCallSettings,
    features_position: int,
    features_col: str,
    output_columns: Sequence[str],
    input_positions: Sequence[int] = (),
) -> Iterator[pa.RecordBatch]:
    """``mapInArrow`` function: every input batch with the endpoint's outputs appended, in order.

    Parameters
    ----------
    batches : iterable of pyarrow.RecordBatch
        One partition.
    settings : EndpointCallSettings
        Endpoint URL, formats, bounds and retry policy.
    features_position : int
        Index of the features column in each batch.
    features_col : str
        Its name (for error messages).
    output_columns : sequence of str
        Names of the appended columns (one per ``settings.fields``).
    input_positions : sequence of int
        When given, the string columns whose values make each request row (IP Insights' entity and
        ip), sent instead of the features column.
    """
    from sagespark.data.vectors import vectors_to_matrix

    try:
        from pyspark import TaskContext

        context = TaskContext.get()
        partition = context.partitionId() if context is not None else 0
    except ImportError:  # pragma: no cover - only outside Spark
        partition = 0
    pending: deque[tuple[pa.RecordBatch, list[Future[dict[str, np.ndarray]]]]] = deque()
    window = 2 * max(1, settings.concurrency)
    names: list[str] | None = None
    row_offset = 0
    with ThreadPoolExecutor(max_workers=max(1, settings.concurrency), thread_name_prefix="endpoint") as pool:
        for batch in batches:
            if batch.num_rows == 0:
                continue
            if names is None:
                names = list(batch.schema.names) + list(output_columns)
            if input_positions:
                features: Any = _string_rows(batch, input_positions, row_offset)
                encode: Callable[[Any, str], bytes] = encode_string_rows
            else:
                features = vectors_to_matrix(
                    batch.column(features_position), column=features_col, row_offset=row_offset
                )
                encode = encode_request
            plan = plan_requests(
                features, settings.content_type, max_bytes=settings.max_batch_bytes,
                max_rows=settings.max_batch_rows, encode=encode,
            )  # fmt: skip
            futures = [
                pool.submit(
                    _call,
                    settings,
                    body,
                    stop - start,
                    f"partition {partition} rows {row_offset + start}..{row_offset + stop - 1}",
                )  # fmt: skip
                for start, stop, body in plan
            ]
            pending.append((batch, futures))
            row_offset += batch.num_rows
            while pending and sum(len(f) for _, f in pending) > window:
                done_batch, parts = pending.popleft()
                yield _assemble(done_batch, parts, settings, names)
        while pending:
            done_batch, parts = pending.popleft()
            yield _assemble(done_batch, parts, settings, names or [])
