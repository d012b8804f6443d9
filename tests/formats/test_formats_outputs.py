"""Inference responses: named outputs in the label map, one Record per row."""

from __future__ import annotations

import io

import numpy as np
import pytest

from sagespark.errors import DataFormatError
from sagespark.formats import Record, decode_outputs, encode_outputs, frame, read_records


def test_outputs_round_trip_and_layout():
    outputs = {
        "closest_cluster": np.array([2.0, 0.0, 1.0]),
        "distance_to_cluster": np.array([0.5, 1.5, 2.5], dtype=np.float32),
        "projection": np.arange(6, dtype=np.float64).reshape(3, 2),
        "one_column": np.ones((3, 1)),
    }
    data = encode_outputs(outputs)
    back = decode_outputs(data)
    assert set(back) == set(outputs)
    for name, value in outputs.items():
        assert back[name].shape == value.shape
        np.testing.assert_array_equal(back[name], value.astype(np.float32))
    records = list(read_records(io.BytesIO(data)))
    assert len(records) == 3 and not records[0].features
    assert list(records[1].label["projection"].float32_tensor.values) == [2.0, 3.0]
    assert list(records[1].label["closest_cluster"].float32_tensor.values) == [0.0]


def test_outputs_match_generated_classes():
    outputs = {"score": np.array([0.25, 0.75]), "predicted_label": np.array([0.0, 1.0])}
    expected = b""
    for i in range(2):
        r = Record()
        for name in outputs:
            r.label[name].float32_tensor.values.append(outputs[name][i])
        expected += frame(r.SerializeToString())
    for name in outputs:
        np.testing.assert_array_equal(
            decode_outputs(expected)[name], decode_outputs(encode_outputs(outputs))[name]
        )


@pytest.mark.parametrize(
    ("outputs", "message"),
    [
        ({}, "at least one"),
        ({"a": np.zeros(2), "b": np.zeros(3)}, "3 rows; expected 2"),
        ({"a": np.zeros((2, 2, 2))}, "expected \\(n,\\) or \\(n, k\\)"),
        ({"a": np.array(["x", "y"])}, "expected numbers"),
    ],
)
def test_encode_outputs_rejects_bad_input(outputs, message):
    with pytest.raises(DataFormatError, match=message):
        encode_outputs(outputs)


def test_decode_outputs_rejects_records_with_different_names():
    data = encode_outputs({"a": np.zeros(1)}) + encode_outputs({"b": np.zeros(1)})
    with pytest.raises(DataFormatError, match="Record 1 has outputs \\['b'\\]"):
        decode_outputs(data)


def test_vectorised_and_generic_decoding_agree(monkeypatch):
    import sagespark.formats.outputs as outputs_module

    rng = np.random.default_rng(3)
    outputs = {
        "projection": rng.standard_normal((50, 4)),
        "score": rng.standard_normal(50),
        "k1": rng.standard_normal((50, 1)),
        "empty": np.zeros((50, 0)),
    }
    data = encode_outputs(outputs)
    assert outputs_module._decode_outputs_fast(np.frombuffer(data, np.uint8)) is not None
    fast = decode_outputs(data)
    monkeypatch.setattr(outputs_module, "_decode_outputs_fast", lambda buf: None)
    slow = decode_outputs(data)
    assert list(fast) == list(slow) == sorted(outputs)
    for name in outputs:
        assert fast[name].shape == slow[name].shape == outputs[name].shape
        np.testing.assert_array_equal(fast[name], slow[name])
