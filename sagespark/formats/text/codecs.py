"""One entry point per direction: request and response bodies ⇄ feature matrices and named outputs.

The server, batch transform, :class:`~sagespark.hosting.deploy.EndpointHandle` and
:class:`~sagespark.hosting.endpoint_model.EndpointModel` all go through these four functions, so a body
written by one is read identically by the others.

Examples
--------
>>> import numpy as np
>>> x = decode_request(b"1,2\\n3,4\\n", "text/csv", feature_dim=2)
>>> x.shape
(2, 2)
>>> encode_response({"closest_cluster": np.array([0.0, 1.0])}, "application/jsonlines",
...                 names=["closest_cluster"], response_key="predictions")
b'{"closest_cluster":0.0}\\n{"closest_cluster":1.0}\\n'
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import scipy.sparse as sp

from sagespark.algorithms.base import Matrix
from sagespark.errors import DataFormatError
from sagespark.formats.text.csv_codec import (
    decode_csv,
    decode_csv_outputs,
    encode_csv_matrix,
    encode_csv_outputs,
)
from sagespark.formats.text.json_codec import (
    decode_json,
    decode_json_outputs,
    decode_jsonlines,
    decode_jsonlines_outputs,
    encode_json_outputs,
    encode_json_request,
    encode_jsonlines_outputs,
    encode_jsonlines_request,
)
from sagespark.formats.text.libsvm_codec import decode_libsvm, encode_libsvm
from sagespark.formats.text.media import (
    CSV,
    JSON,
    JSONLINES,
    LIBSVM,
    RECORDIO,
    RESPONSE_TYPES,
    MediaType,
    UnsupportedMediaType,
    parse_media_type,
)

__all__ = ["decode_request", "encode_request", "encode_response", "decode_response", "check_feature_dim"]


def _media(value: str | MediaType, known: tuple[str, ...] | None = None) -> MediaType:
    if isinstance(value, MediaType):
        return value
    return parse_media_type(value) if known is None else parse_media_type(value, known=known)


def check_feature_dim(features: Matrix, feature_dim: int | None) -> Matrix:
    """Check (and for sparse input, widen) the feature width against what the model expects.

    Raises
    ------
    DataFormatError
        When a row has more or fewer features than ``feature_dim``.
    """
    if feature_dim is None:
        return features
    width = int(features.shape[1])
    if sp.issparse(features) and width < feature_dim:
        # Sparse rows only name their non-zero columns; the model's width is authoritative.
        return sp.csr_matrix(features, shape=(features.shape[0], feature_dim))
    if width != feature_dim:
        raise DataFormatError(
            f"Each row must have {feature_dim} features (the model's feature_dim); got {width}."
        )
    return features


def decode_request(
    body: bytes | memoryview, content_type: str | MediaType, *, feature_dim: int | None = None
) -> Matrix:
    """Decode a request body into the float32 feature matrix a Predictor takes.

    Parameters
    ----------
    body : bytes or memoryview
        The request body.
    content_type : str or MediaType
        ``text/csv``, ``application/json``, ``application/jsonlines``,
        ``application/x-recordio-protobuf`` or ``text/libsvm`` (parameters allowed).
    feature_dim : int, optional
        The model's feature count, checked here so a wrong width fails as a request error.

    Raises
    ------
    UnsupportedMediaType
        For any other content type.
    DataFormatError
        When the body cannot be decoded or has the wrong width.
    """
    media = _media(content_type)
    if media.name == CSV:
        features: Matrix = decode_csv(body)
    elif media.name == JSON:
        features = decode_json(body)
    elif media.name == JSONLINES:
        features = decode_jsonlines(body)
    elif media.name == LIBSVM:
        features = decode_libsvm(bytes(body), num_features=feature_dim)
    elif media.name == RECORDIO:
        from sagespark.formats import decode

        batch = decode(body)
        features = batch.features
        if features is None or features.shape[0] == 0:
            raise DataFormatError("RecordIO-protobuf body holds no records: expected at least one row.")
        if sp.issparse(features):
            features = sp.csr_matrix(features, dtype=np.float32)
        else:
            features = np.asarray(features, dtype=np.float32)
    else:  # pragma: no cover - parse_media_type only returns known names
        raise UnsupportedMediaType(media.name)
    return check_feature_dim(features, feature_dim)


def encode_request(features: Matrix, content_type: str | MediaType) -> bytes:
    """Encode a feature matrix as a request body (the client side of :func:`decode_request`)."""
    media = _media(content_type)
    if media.name == CSV:
        return encode_csv_matrix(features)
    if media.name == JSON:
        return encode_json_request(features)
    if media.name == JSONLINES:
        return encode_jsonlines_request(features)
    if media.name == LIBSVM:
        return encode_libsvm(features)
    from sagespark.formats import encode

    return encode(features)


def _ordered(outputs: Mapping[str, np.ndarray], names: Sequence[str]) -> list[str]:
    ordered = [n for n in names if n in outputs]
    return ordered + [n for n in outputs if n not in ordered]


def encode_response(
    outputs: Mapping[str, np.ndarray],
    accept: str | MediaType,
    *,
    names: Sequence[str],
    response_key: str = "predictions",
) -> bytes:
    """Encode a Predictor's outputs in SageMaker's response shape for ``accept``.

    Parameters
    ----------
    outputs : mapping of str to ndarray
        ``Predictor.predict``'s result.
    accept : str or MediaType
        ``application/json``, ``application/jsonlines``, ``text/csv`` or ``application/x-recordio-protobuf``.
    names : sequence of str
        Output order (the algorithm's ``outputs``); outputs not listed follow in their own order.
    response_key : str
        Top-level JSON key (``"predictions"``, PCA's ``"projections"``).
    """
    media = _media(accept, RESPONSE_TYPES)
    order = _ordered(outputs, names)
    if media.name == JSON:
        return encode_json_outputs(outputs, order, response_key)
    if media.name == JSONLINES:
        return encode_jsonlines_outputs(outputs, order)
    if media.name == CSV:
        return encode_csv_outputs(outputs, order)
    from sagespark.formats import encode_outputs

    return encode_outputs({name: np.asarray(outputs[name]) for name in order})


def decode_response(
    body: bytes, content_type: str | MediaType, *, fields: Sequence[tuple[str, str]] | None = None
) -> dict[str, np.ndarray]:
    """Decode a response body into one array per output (the client side of :func:`encode_response`).

    ``fields`` (``(name, kind)`` pairs) is needed for CSV, whose rows carry no names; for the other
    types it selects and orders the outputs.
    """
    media = _media(content_type, RESPONSE_TYPES)
    names = None if fields is None else [name for name, _ in fields]
    if media.name == JSON:
        return decode_json_outputs(body, names)
    if media.name == JSONLINES:
        return decode_jsonlines_outputs(body, names)
    if media.name == CSV:
        if fields is None:
            raise DataFormatError("Decoding a CSV response needs the output fields: CSV rows carry no names.")
        return decode_csv_outputs(body, fields)
    from sagespark.formats import decode_outputs

    decoded = decode_outputs(body)
    return decoded if names is None else {name: decoded[name] for name in names}
