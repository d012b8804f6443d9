"""Batch transform over a folder: SplitType None / Line / RecordIO, one <file>.out each, via the CLI too."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hosting_helpers import blobs

from sagespark.algorithms.artifact import load_artifact
from sagespark.formats import decode_outputs, encode
from sagespark.formats.text import encode_request
from sagespark.hosting.batch_transform import TransformError, line_batches, run_batch_transform


def _inputs(folder: Path) -> dict[str, np.ndarray]:
    parts = {"a.csv": blobs(n=40, seed=1), "sub/b.csv": blobs(n=7, seed=2)}
    for name, x in parts.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(encode_request(x, "text/csv"))
    return parts


def test_line_split_gives_one_output_line_per_input_line(kmeans_dir: Path, tmp_path: Path) -> None:
    parts = _inputs(tmp_path / "in")
    predictor = load_artifact(kmeans_dir).predictor
    summary = run_batch_transform(
        kmeans_dir,
        tmp_path / "in",
        tmp_path / "out",
        content_type="text/csv",
        split_type="Line",
        accept="application/jsonlines",
        max_payload_mb=1,
    )
    assert summary.files == 2
    for name, x in parts.items():
        lines = (tmp_path / "out" / (name + ".out")).read_text().splitlines()
        assert len(lines) == len(x)
        expected = predictor.predict({"features": x})
        got = [json.loads(line) for line in lines]
        assert [g["closest_cluster"] for g in got] == expected["closest_cluster"].tolist()
        assert [g["distance_to_cluster"] for g in got] == expected["distance_to_cluster"].tolist()


def test_none_split_sends_whole_files(kmeans_dir: Path, tmp_path: Path) -> None:
    parts = _inputs(tmp_path / "in")
    run_batch_transform(kmeans_dir, tmp_path / "in", tmp_path / "out", split_type="None", accept="text/csv")
    out = (tmp_path / "out" / "a.csv.out").read_text()
    assert len(out.splitlines()) == len(parts["a.csv"]) and out.endswith("\n")


def test_recordio_split_and_single_record_strategy(kmeans_dir: Path, tmp_path: Path) -> None:
    x = blobs(n=12, seed=5)
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "part.pbr").write_bytes(encode(x))
    summary = run_batch_transform(
        kmeans_dir,
        tmp_path / "in",
        tmp_path / "out",
        content_type="application/x-recordio-protobuf",
        split_type="RecordIO",
        accept="application/x-recordio-protobuf",
        batch_strategy="SINGLE_RECORD",
    )
    assert summary.requests == 12
    got = decode_outputs((tmp_path / "out" / "part.pbr.out").read_bytes())
    expected = load_artifact(kmeans_dir).predictor.predict({"features": x})
    np.testing.assert_array_equal(
        got["closest_cluster"].reshape(-1), expected["closest_cluster"].astype(np.float32)
    )


def test_json_lines_with_line_split_go_one_per_request(kmeans_dir: Path, tmp_path: Path) -> None:
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "x.json").write_text(
        '{"instances": [[0,0,0,0]]}\n{"instances": [[8,8,8,8], [0,0,0,0]]}\n'
    )
    summary = run_batch_transform(
        kmeans_dir, tmp_path / "in", tmp_path / "out", content_type="application/json", split_type="Line"
    )
    assert summary.requests == 2
    lines = (tmp_path / "out" / "x.json.out").read_text().splitlines()
    assert [len(json.loads(line)["predictions"]) for line in lines] == [1, 2]


def test_bad_input_names_file_and_line(kmeans_dir: Path, tmp_path: Path) -> None:
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "bad.csv").write_text("1,2,3,4\n5,6,7\n")
    with pytest.raises(TransformError, match=r"bad.csv.*HTTP 400.*line 2"):
        run_batch_transform(kmeans_dir, tmp_path / "in", tmp_path / "out")
    assert not list((tmp_path / "out").rglob("*.out"))


def test_line_batches_pack_whole_lines(tmp_path: Path) -> None:
    path = tmp_path / "f"
    path.write_bytes(b"".join(b"%d,1\n" % i for i in range(100)))
    with open(path, "rb") as f:
        batches = list(line_batches(f, 64))
    assert b"".join(body for _, body in batches) == path.read_bytes()
    assert all(len(body) <= 64 and body.endswith(b"\n") for _, body in batches)
    assert batches[1][0] == batches[0][1].count(b"\n") + 1


def test_cli_transform(kmeans_dir: Path, tmp_path: Path) -> None:
    _inputs(tmp_path / "in")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "sagespark.cli",
            "transform",
            "--model-dir",
            str(kmeans_dir),
            "--input",
            str(tmp_path / "in"),
            "--output",
            str(tmp_path / "out"),
            "--content-type",
            "text/csv",
            "--split-type",
            "Line",
            "--accept",
            "application/json",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "Transformed 2 file(s)" in result.stdout
    assert (
        json.loads((tmp_path / "out" / "sub" / "b.csv.out").read_text())["predictions"][0]["closest_cluster"]
        >= 0
    )
