"""Read a training job's channels (``input/data/<channel>/``) into :class:`ChannelData`.

Files are RecordIO-protobuf (``application/x-recordio-protobuf``) or headerless CSV (``text/csv``), as
``inputdataconfig.json``'s ``ContentType`` says; without it, a file is recognised by RecordIO's magic
word. In CSV, the label comes first when the algorithm reads a label; for unsupervised algorithms every
column is a feature. An algorithm whose inputs are strings (IP Insights) reads CSV rows of those strings
(``entity,ip``) into :attr:`ChannelData.columns`. Pipe mode reads the FIFO ``<channel>_0``.

Examples
--------
>>> data = read_channel(JobLayout("/opt/ml"), "train", {"ContentType": "text/csv"}, KMeans)   # doctest: +SKIP
>>> data.features.shape                                                                      # doctest: +SKIP
(1000, 10)
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
import scipy.sparse as sp

from sagespark.algorithms.base import Algorithm, ChannelData
from sagespark.errors import DataFormatError
from sagespark.jobs.layout import JobLayout

__all__ = ["read_channel", "channel_files"]

_RECORDIO_MAGIC = b"\x0a\x23\xd7\xce"
_RECORDIO_TYPES = ("application/x-recordio-protobuf", "application/x-recordio")


def channel_files(directory: Path) -> list[Path]:
    """The data files of a channel directory (recursively; hidden files skipped), sorted."""
    return [
        p
        for p in sorted(directory.rglob("*"))
        if p.is_file() and not any(part.startswith(".") for part in p.relative_to(directory).parts)
    ]


def _is_recordio(path: Path, content_type: str | None) -> bool:
    if content_type:
        base = content_type.split(";")[0].strip().lower()
        if base in _RECORDIO_TYPES:
            return True
        if base in ("text/csv", "csv"):
            return False
        raise DataFormatError(
            f"Channel content type {content_type!r} is not supported; use "
            "application/x-recordio-protobuf or text/csv."
        )
    with open(path, "rb") as f:
        return f.read(4) == _RECORDIO_MAGIC


def _read_recordio(f: BinaryIO) -> tuple[list[Any], list[np.ndarray]]:
    from sagespark.formats import read

    features, labels = [], []
    for batch in read(f):
        features.append(batch.features)
        if batch.labels is not None:
            labels.append(np.asarray(batch.labels, dtype=np.float64).reshape(-1))
    return features, labels


def _stack(parts: list[Any], where: str) -> Any:
    parts = [p for p in parts if p is not None and p.shape[0] > 0]
    if not parts:
        raise DataFormatError(f"{where} holds no records.")
    widths = {int(p.shape[1]) for p in parts}
    if len(widths) > 1:
        raise DataFormatError(f"{where} mixes feature widths {sorted(widths)}; every record needs the same.")
    if any(sp.issparse(p) for p in parts):
        return sp.csr_matrix(sp.vstack([sp.csr_matrix(p) for p in parts]), dtype=np.float32)
    return np.vstack(parts).astype(np.float32, copy=False)


def _string_inputs(algorithm: type[Algorithm]) -> list[str]:
    """Input names when every training input is a string (IP Insights' entity, ip); else empty."""
    needed = [f for f in algorithm.inputs if f.required_for_training]
    return [f.name for f in needed] if needed and all(f.kind == "string" for f in needed) else []


def _read_string_rows(sources: list[Path], content_type: str | None, channel: str, names: list[str]
                      ) -> ChannelData:
    """CSV files of string rows (``entity,ip``) → :attr:`ChannelData.columns`, one object array each."""
    from sagespark.formats.text import decode_string_rows

    parts: dict[str, list[np.ndarray]] = {name: [] for name in names}
    for path in sources:
        try:
            if _is_recordio(path, content_type):
                raise DataFormatError(
                    f"expected text/csv rows of {', '.join(names)}; RecordIO-protobuf carries numbers only."
                )
            rows = decode_string_rows(path.read_bytes(), "text/csv", names=names)
        except DataFormatError as err:
            raise DataFormatError(f"Channel {channel!r}, file {path}: {err}") from None
        for name in names:
            parts[name].append(rows[name])
    return ChannelData(None, columns={name: np.concatenate(parts[name]) for name in names})


def read_channel(
    layout: JobLayout, channel: str, config: Mapping[str, Any], algorithm: type[Algorithm]
) -> ChannelData:
    """Read every file of ``channel`` into one :class:`ChannelData`.

    Raises
    ------
    DataFormatError
        When the channel is missing or empty, a file cannot be decoded (naming the file), or files
        disagree on the feature width.
    """
    from sagespark.formats.text import decode_csv

    content_type = config.get("ContentType")
    has_label = any(f.name == "label" for f in algorithm.inputs)
    if str(config.get("TrainingInputMode", "File")).lower() == "pipe":
        sources = [layout.pipe(channel)]
        if not sources[0].exists():
            raise DataFormatError(f"Channel {channel!r} is in Pipe mode but {sources[0]} does not exist.")
    else:
        directory = layout.channel_dir(channel)
        if not directory.is_dir():
            raise DataFormatError(f"Channel {channel!r} has no data directory {directory}.")
        sources = channel_files(directory)
        if not sources:
            raise DataFormatError(f"Channel {channel!r} has no files in {directory}.")
    strings = _string_inputs(algorithm)
    if strings:
        return _read_string_rows(sources, content_type, channel, strings)
    features: list[Any] = []
    labels: list[np.ndarray] = []
    for path in sources:
        try:
            if _is_recordio(path, content_type):
                with open(path, "rb") as f:
                    got_features, got_labels = _read_recordio(f)
                features.extend(got_features)
                labels.extend(got_labels)
            else:
                table = decode_csv(path.read_bytes(), dtype=np.float64)
                if has_label:
                    labels.append(table[:, 0])
                    table = table[:, 1:]
                features.append(table.astype(np.float32))
        except DataFormatError as err:
            raise DataFormatError(f"Channel {channel!r}, file {path}: {err}") from None
    matrix = _stack(features, f"Channel {channel!r}")
    label = np.concatenate(labels) if labels else None
    if label is not None and len(label) != matrix.shape[0]:
        raise DataFormatError(
            f"Channel {channel!r} has {matrix.shape[0]} records but {len(label)} labels; "
            "every record needs a label or none may have one."
        )
    return ChannelData(matrix, label)
