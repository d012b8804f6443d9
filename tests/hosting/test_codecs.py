"""Request/response codecs: every content type, dense and sparse, round trips and located errors."""

from __future__ import annotations

import json

import numpy as np
import pytest
import scipy.sparse as sp

from sagespark.errors import DataFormatError
from sagespark.formats.text import (
    UnsupportedMediaType,
    decode_csv,
    decode_libsvm,
    decode_request,
    decode_response,
    encode_libsvm,
    encode_request,
    encode_response,
    negotiate_accept,
    parse_media_type,
)

X = np.array([[0.1, -2.5, 3.0], [1e-8, 0.0, 123456.789]], dtype=np.float32)
REQUEST_TYPES = [
    "text/csv",
    "application/json",
    "application/jsonlines",
    "text/libsvm",
    "application/x-recordio-protobuf",
]


def _dense(m: object) -> np.ndarray:
    return m.toarray() if sp.issparse(m) else np.asarray(m)  # type: ignore[union-attr]


@pytest.mark.parametrize("content_type", REQUEST_TYPES)
def test_dense_requests_round_trip_exactly(content_type: str) -> None:
    body = encode_request(X, content_type)
    decoded = decode_request(body, content_type, feature_dim=3)
    assert decoded.dtype == np.float32
    np.testing.assert_array_equal(_dense(decoded), X)


@pytest.mark.parametrize(
    "content_type",
    ["application/json", "application/jsonlines", "text/libsvm", "application/x-recordio-protobuf"],
)
def test_sparse_requests_stay_sparse(content_type: str) -> None:
    m = sp.csr_matrix(np.array([[0, 0, 2.5, 0, 0], [1, 0, 0, 0, -1]], dtype=np.float32))
    decoded = decode_request(encode_request(m, content_type), content_type, feature_dim=5)
    assert sp.issparse(decoded)
    np.testing.assert_array_equal(decoded.toarray(), m.toarray())


def test_csv_large_body_uses_whole_body_parser() -> None:
    x = np.random.default_rng(0).normal(size=(3000, 7)).astype(np.float32)
    body = encode_request(x, "text/csv")
    assert len(body) > 16 << 10
    np.testing.assert_array_equal(decode_csv(body), x)
    bad = body.replace(b"\n", b"\nabc,", 1)
    with pytest.raises(DataFormatError, match="line 2"):
        decode_csv(bad)


@pytest.mark.parametrize(
    ("body", "where"),
    [
        (b"1,2,3\n4,x,6\n", "line 2, column 2"),
        (b"1,2,3\n4,5\n", "line 2 has 2 values; expected 3"),
        (b"1,2,3\n4,,6\n", "line 2, column 2"),
        (b"1,nan,3\n", "line 1, column 2"),
        (b"\n\n", "empty"),
        (b"1,2\xff\n", "byte offset 3"),
    ],
)
def test_csv_errors_name_the_place(body: bytes, where: str) -> None:
    with pytest.raises(DataFormatError, match=where):
        decode_csv(body)


def test_json_instance_forms() -> None:
    forms = [
        {"instances": [{"features": [1, 2]}, {"features": [3, 4]}]},
        {
            "instances": [
                {"data": {"features": {"values": [1, 2]}}},
                {"data": {"features": {"values": [3, 4]}}},
            ]
        },
        [[1, 2], [3, 4]],
        {"instances": [[1, 2], [3, 4]]},
    ]
    for doc in forms:
        got = decode_request(json.dumps(doc).encode(), "application/json")
        np.testing.assert_array_equal(_dense(got), [[1, 2], [3, 4]])
    single = decode_request(b"[1, 2, 3]", "application/json")
    assert single.shape == (1, 3)


def test_json_sparse_with_shape_and_width_check() -> None:
    doc = {"instances": [{"data": {"features": {"keys": [3], "values": [7.0], "shape": [6]}}}]}
    m = decode_request(json.dumps(doc).encode(), "application/json", feature_dim=6)
    assert m.shape == (1, 6) and m[0, 3] == 7.0
    bad = {"instances": [{"data": {"features": {"keys": [9], "values": [7.0], "shape": [6]}}}]}
    with pytest.raises(DataFormatError, match="key 9 is outside the shape"):
        decode_request(json.dumps(bad).encode(), "application/json")


@pytest.mark.parametrize(
    ("body", "where"),
    [
        (b'{"instances": [{"features": [1, 2]}, {"features": [1]}]}', "instance 1 has 1 features"),
        (b'{"instances": [{"features": [1, "a"]}]}', "instance 0"),
        (b'{"instances": [{"foo": 1}]}', "instance 0"),
        (b'{"instances": [1, 2', "byte offset"),
        (b'{"other": 1}', "instances"),
    ],
)
def test_json_errors_name_the_instance(body: bytes, where: str) -> None:
    with pytest.raises(DataFormatError, match=where):
        decode_request(body, "application/json")


def test_jsonlines_errors_name_the_line() -> None:
    with pytest.raises(DataFormatError, match="line 3"):
        decode_request(b'[1, 2]\n{"features": [3, 4]}\n{"features": [5\n', "application/jsonlines")
    with pytest.raises(DataFormatError, match="line 2 has 1 features"):
        decode_request(b"[1, 2]\n[3]\n", "application/jsonlines")


def test_libsvm_codec_and_errors() -> None:
    body = encode_libsvm(sp.csr_matrix(np.array([[0, 1.5, 0], [2, 0, 0]], dtype=np.float32)))
    assert body == b"0 2:1.5\n0 1:2\n"
    np.testing.assert_array_equal(decode_libsvm(body, num_features=3).toarray(), [[0, 1.5, 0], [2, 0, 0]])
    with pytest.raises(DataFormatError, match="line 2"):
        decode_libsvm(b"0 1:1\n0 0:3\n")
    with pytest.raises(DataFormatError, match="beyond the 3 features"):
        decode_libsvm(b"0 4:1\n", num_features=3)


def test_wrong_feature_dimension_is_a_data_error() -> None:
    with pytest.raises(DataFormatError, match="must have 4 features"):
        decode_request(b"1,2,3\n", "text/csv", feature_dim=4)


def test_media_types() -> None:
    assert parse_media_type("text/csv; charset=utf-8").name == "text/csv"
    assert parse_media_type("application/x-jsonlines").name == "application/jsonlines"
    with pytest.raises(UnsupportedMediaType):
        parse_media_type("text/plain")
    assert negotiate_accept("", default="text/csv").name == "text/csv"
    assert negotiate_accept("*/*", default="application/jsonlines").name == "application/jsonlines"
    assert negotiate_accept("image/png, text/csv;q=0.5", default="application/json").name == "text/csv"
    assert negotiate_accept("application/json; verbose=true", default="text/csv").verbose
    with pytest.raises(UnsupportedMediaType):
        negotiate_accept("image/png", default="application/json")


KMEANS_OUT = {"closest_cluster": np.array([1.0, 0.0]), "distance_to_cluster": np.array([0.25, 3.5])}
PCA_OUT = {"projection": np.array([[0.5, -1.25], [2.0, 0.125]], dtype=np.float32)}


def test_response_shapes_match_sagemaker() -> None:
    names = ["closest_cluster", "distance_to_cluster"]
    assert json.loads(encode_response(KMEANS_OUT, "application/json", names=names)) == {
        "predictions": [
            {"closest_cluster": 1.0, "distance_to_cluster": 0.25},
            {"closest_cluster": 0.0, "distance_to_cluster": 3.5},
        ]
    }
    lines = encode_response(KMEANS_OUT, "application/jsonlines", names=names).splitlines()
    assert [json.loads(line) for line in lines] == [
        {"closest_cluster": 1.0, "distance_to_cluster": 0.25},
        {"closest_cluster": 0.0, "distance_to_cluster": 3.5},
    ]
    assert encode_response(KMEANS_OUT, "text/csv", names=names) == b"1.0,0.25\n0.0,3.5\n"
    pca = json.loads(
        encode_response(PCA_OUT, "application/json", names=["projection"], response_key="projections")
    )
    assert pca == {"projections": [{"projection": [0.5, -1.25]}, {"projection": [2.0, 0.125]}]}
    assert encode_response(PCA_OUT, "text/csv", names=["projection"]) == b"0.5,-1.25\n2,0.125\n"


@pytest.mark.parametrize(
    "accept", ["application/json", "application/jsonlines", "text/csv", "application/x-recordio-protobuf"]
)
def test_responses_round_trip(accept: str) -> None:
    for outputs, fields, key in [
        (KMEANS_OUT, [("closest_cluster", "double"), ("distance_to_cluster", "double")], "predictions"),
        (PCA_OUT, [("projection", "vector")], "projections"),
    ]:
        body = encode_response(outputs, accept, names=[n for n, _ in fields], response_key=key)
        decoded = decode_response(body, accept, fields=fields)
        assert list(decoded) == [n for n, _ in fields]
        for name, _ in fields:
            np.testing.assert_array_equal(
                np.asarray(decoded[name]).astype(outputs[name].dtype), outputs[name]
            )
