"""The checked-in generated module is exactly what protoc makes from proto/record.proto."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
GENERATED = ROOT / "sagespark" / "formats" / "_generated"


def test_regenerating_record_pb2_gives_identical_files(tmp_path):
    pytest.importorskip("grpc_tools")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "grpc_tools.protoc",
            f"-I{ROOT / 'proto'}",
            f"--python_out={tmp_path}",
            f"--pyi_out={tmp_path}",
            str(ROOT / "proto" / "record.proto"),
        ],
        check=True,
    )
    for name in ("record_pb2.py", "record_pb2.pyi"):
        assert (tmp_path / name).read_text() == (GENERATED / name).read_text(), name


def test_schema_field_numbers_match_sagemaker():
    from sagespark.formats._generated.record_pb2 import Float32Tensor, Record, Value

    fields = {f.name: f.number for f in Value.DESCRIPTOR.fields}
    assert fields == {"float32_tensor": 2, "float64_tensor": 3, "int32_tensor": 7, "bytes": 9}
    assert {f.name: f.number for f in Record.DESCRIPTOR.fields} == {
        "features": 1,
        "label": 2,
        "uid": 3,
        "metadata": 4,
        "configuration": 5,
    }
    assert Record.DESCRIPTOR.full_name == "aialgs.data.Record"
    assert all(f.is_packed for f in Float32Tensor.DESCRIPTOR.fields)
