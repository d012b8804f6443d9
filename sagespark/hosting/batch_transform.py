"""Batch transform, SageMaker's semantics, in-process: one ``<file>.out`` per input file.

``SplitType`` says how a file is cut into records: ``None`` sends the whole file as one request,
``Line`` splits on newlines, ``RecordIO`` on RecordIO records. With ``MULTI_RECORD`` (the default)
consecutive records are packed into requests up to the payload limit; with ``SINGLE_RECORD`` each record
is its own request. Outputs are assembled as SageMaker's ``AssembleWith=Line`` does: each response ends
with a newline. The predictor runs in this process through the same :class:`Invoker` as the server, so
the outputs are byte-identical to what the endpoint answers.

Line splitting is done on blocks of up to the payload limit cut at their last newline, so packing a
request costs no per-line Python.

Examples
--------
>>> summary = run_batch_transform("model/", "in/", "out/", content_type="text/csv",   # doctest: +SKIP
...                               split_type="Line", accept="application/jsonlines")
>>> summary.files, summary.requests                                                  # doctest: +SKIP
(3, 3)
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from sagespark.errors import DataFormatError, SageSparkError
from sagespark.formats.text import JSON, RECORDIO, RESPONSE_TYPES, parse_media_type
from sagespark.hosting.config import DEFAULT_PAYLOAD_MB, MAX_BATCH_PAYLOAD_MB
from sagespark.hosting.invoker import Invoker
from sagespark.hosting.served_model import load_served_model, resolve_model_path

__all__ = ["TransformSummary", "TransformError", "run_batch_transform", "line_batches", "record_batches"]

SPLIT_TYPES = ("None", "Line", "RecordIO")


class TransformError(SageSparkError, RuntimeError):
    """A batch transform request failed; the message names the file and the records."""


@dataclass
class TransformSummary:
    """What a batch transform did."""

    files: int = 0
    requests: int = 0
    input_bytes: int = 0
    seconds: float = 0.0

    def describe(self) -> str:
        return (
            f"Transformed {self.files} file(s) ({self.input_bytes} bytes) in {self.requests} request(s), "
            f"{self.seconds:.2f} s."
        )


def line_batches(f: BinaryIO, max_bytes: int, *, single: bool = False) -> Iterator[tuple[int, bytes]]:
    """Yield ``(first line number, body)``: whole lines packed up to ``max_bytes`` (or one per body).

    Raises
    ------
    DataFormatError
        When one line is longer than ``max_bytes``.
    """
    line_no = 1
    carry = b""
    while True:
        block = f.read(max_bytes - len(carry)) if not single else f.readline()
        if single:
            if not block:
                return
            if block.strip():
                if len(block) > max_bytes:
                    raise DataFormatError(
                        f"Line {line_no} is {len(block)} bytes, over the {max_bytes}-byte limit."
                    )
                yield line_no, block
            line_no += 1
            continue
        data = carry + block
        if not block:
            if data.strip():
                yield line_no, data
            return
        cut = data.rfind(b"\n")
        if cut < 0:
            if len(data) >= max_bytes:
                raise DataFormatError(f"Line {line_no} is longer than the {max_bytes}-byte payload limit.")
            carry = data
            continue
        body, carry = data[: cut + 1], data[cut + 1 :]
        if body.strip():
            yield line_no, body
        line_no += body.count(b"\n")


def record_batches(f: BinaryIO, max_bytes: int, *, single: bool = False) -> Iterator[tuple[int, bytes]]:
    """Yield ``(first record index, body)``: whole RecordIO records re-framed, packed up to ``max_bytes``."""
    from sagespark.formats.recordio import frame, iter_records

    group: list[bytes] = []
    size = 0
    first = 0
    for index, payload in enumerate(iter_records(f)):
        framed = frame(payload)
        if len(framed) > max_bytes:
            raise DataFormatError(f"Record {index} is {len(framed)} bytes, over the {max_bytes}-byte limit.")
        if group and (single or size + len(framed) > max_bytes):
            yield first, b"".join(group)
            group, size = [], 0
        if not group:
            first = index
        group.append(framed)
        size += len(framed)
    if group:
        yield first, b"".join(group)


def _input_files(source: Path) -> list[tuple[Path, Path]]:
    """(file, path relative to the input root), hidden files skipped, in a stable order."""
    if source.is_file():
        return [(source, Path(source.name))]
    if not source.is_dir():
        raise TransformError(f"Batch transform input {source} does not exist.")
    files = []
    for path in sorted(source.rglob("*")):
        relative = path.relative_to(source)
        if path.is_file() and not any(part.startswith((".", "_")) for part in relative.parts):
            files.append((path, relative))
    return files


def run_batch_transform(
    model_dir: str | os.PathLike[str],
    input_path: str | os.PathLike[str],
    output_path: str | os.PathLike[str],
    *,
    content_type: str = "text/csv",
    split_type: str = "Line",
    accept: str | None = None,
    max_payload_mb: int | None = None,
    batch_strategy: str = "MULTI_RECORD",
) -> TransformSummary:
    """Transform every file under ``input_path`` into ``<output_path>/<relative path>.out``.

    Parameters
    ----------
    model_dir : path-like
        Artifact directory or ``model.tar.gz``.
    input_path, output_path : path-like
        An input file or folder (walked recursively), and the output folder.
    content_type : str
        Media type of the input records.
    split_type : str
        ``"None"``, ``"Line"`` or ``"RecordIO"``.
    accept : str, optional
        Output media type (``$SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT``, else the algorithm's default:
        JSON, or CSV for XGBoost).
    max_payload_mb : int, optional
        Request bound (``$SAGEMAKER_MAX_PAYLOAD_IN_MB`` or 6).
    batch_strategy : str
        ``"MULTI_RECORD"`` or ``"SINGLE_RECORD"``.

    Raises
    ------
    TransformError
        Naming the file and the first line / record of the failing request.
    """
    if split_type not in SPLIT_TYPES:
        raise ValueError(f"split_type must be one of {SPLIT_TYPES}; got {split_type!r}.")
    if batch_strategy not in ("MULTI_RECORD", "SINGLE_RECORD"):
        raise ValueError(f"batch_strategy must be MULTI_RECORD or SINGLE_RECORD; got {batch_strategy!r}.")
    payload_mb = max_payload_mb or int(os.environ.get("SAGEMAKER_MAX_PAYLOAD_IN_MB", DEFAULT_PAYLOAD_MB))
    if not 0 < payload_mb <= MAX_BATCH_PAYLOAD_MB:
        raise ValueError(f"The payload limit must be in [1, {MAX_BATCH_PAYLOAD_MB}] MB; got {payload_mb}.")
    max_bytes = payload_mb << 20
    request_type = parse_media_type(content_type)
    invoker = Invoker(load_served_model(resolve_model_path(model_dir, None)))
    # SageMaker's variable first, then the algorithm's own default (CSV for XGBoost, JSON otherwise).
    default_accept = os.environ.get("SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT", "").strip()
    response_type = parse_media_type(accept or default_accept or invoker.model.default_accept,
                                     known=RESPONSE_TYPES)
    # A JSON document cannot be concatenated with another: JSON lines go one per request.
    single = batch_strategy == "SINGLE_RECORD" or (split_type == "Line" and request_type.name == JSON)
    unit = "record" if split_type == "RecordIO" else "line"

    summary = TransformSummary()
    started = time.perf_counter()
    out_root = Path(output_path)
    for path, relative in _input_files(Path(input_path)):
        target = out_root / relative.parent / (relative.name + ".out")
        target.parent.mkdir(parents=True, exist_ok=True)
        staging = target.with_name(f".{target.name}.tmp")
        with open(path, "rb") as source, open(staging, "wb") as sink:
            if split_type == "None":
                body = source.read()
                if len(body) > max_bytes:
                    raise TransformError(
                        f"{path} is {len(body)} bytes, over the {payload_mb} MB payload limit; "
                        "use split_type Line or RecordIO."
                    )
                batches: Iterator[tuple[int, bytes]] = iter([(1, body)])
            elif split_type == "Line":
                batches = line_batches(source, max_bytes, single=single)
            else:
                batches = record_batches(source, max_bytes, single=single)
            try:
                for first, body in batches:
                    result = invoker.invoke(body, request_type.name, response_type.name)
                    summary.requests += 1
                    if result.status != 200:
                        where = f"starting at {unit} {first}" if split_type != "None" else "(whole file)"
                        raise TransformError(
                            f"{path}: the request {where} failed with HTTP {result.status}: "
                            f"{result.body.decode(errors='replace').strip()}"
                        )
                    sink.write(result.body)
                    if response_type.name != RECORDIO and not result.body.endswith(b"\n"):
                        sink.write(b"\n")
            except DataFormatError as err:
                staging.unlink(missing_ok=True)
                raise TransformError(f"{path}: {err}") from None
            except BaseException:
                staging.unlink(missing_ok=True)
                raise
        staging.replace(target)
        summary.files += 1
        summary.input_bytes += path.stat().st_size
    summary.seconds = time.perf_counter() - started
    return summary
