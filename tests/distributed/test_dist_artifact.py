"""Model artifacts: manifest + payload round trip, tarballs, and refusal of corrupt or unsafe input."""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path

import numpy as np
import pytest
from dist_toy_algorithm import NAME, ToyAlgorithm, ToyHyperparameters

from sagespark import __version__
from sagespark.algorithms.artifact import (
    FORMAT_VERSION,
    load_artifact,
    pack_model_tarball,
    safe_extract,
    save_artifact,
)
from sagespark.errors import ArtifactError

MEANS = np.array([0.5, -2.0, 3.25])


def _save(directory: Path, metrics: dict[str, float] | None = None) -> None:
    hp = ToyHyperparameters.from_dict({"feature_dim": 3, "scale": "2.5"})
    state = {"means": MEANS, "rows_per_rank": np.array([2, 3])}
    save_artifact(directory, ToyAlgorithm, hp, state, metrics or {"train:rows": 5.0})


def test_round_trip_gives_a_working_predictor(tmp_path: Path) -> None:
    _save(tmp_path / "model", {"train:rows": 5.0, "train:loss": float("nan")})
    loaded = load_artifact(tmp_path / "model")
    assert loaded.algorithm is ToyAlgorithm
    assert loaded.hyperparameters == ToyHyperparameters.from_dict({"feature_dim": 3, "scale": 2.5})
    x = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 1.0]], dtype=np.float32)
    np.testing.assert_allclose(loaded.predictor.predict({"features": x})["score"], (x @ MEANS) * 2.5)
    assert loaded.metrics["train:rows"] == 5.0 and np.isnan(loaded.metrics["train:loss"])


def test_manifest_records_what_describes_the_model(tmp_path: Path) -> None:
    _save(tmp_path)
    manifest = json.loads((tmp_path / "manifest.json").read_text())  # strict JSON: no NaN literals
    assert manifest["format_version"] == FORMAT_VERSION
    assert manifest["sagespark_version"] == __version__
    assert manifest["algorithm"] == NAME
    assert manifest["hyperparameters"] == {"feature_dim": "3", "fail_on_rank": "-1", "scale": "2.5"}
    assert [f["name"] for f in manifest["inputs"]] == ["features", "label"]
    assert manifest["outputs"] == [{"name": "score", "kind": "double", "verbose": False}]
    assert manifest["metrics"] == {"train:rows": 5.0}
    # No pickle: every payload file is a .npy that loads with allow_pickle=False.
    payload = sorted(p.name for p in tmp_path.iterdir() if p.name != "manifest.json")
    assert payload == ["means.npy", "rows_per_rank.npy"]


def test_tarball_round_trip_has_files_at_the_root(tmp_path: Path) -> None:
    _save(tmp_path / "model")
    tar_path = tmp_path / "model.tar.gz"
    pack_model_tarball(tmp_path / "model", tar_path)
    with tarfile.open(tar_path) as tar:
        assert sorted(tar.getnames()) == ["manifest.json", "means.npy", "rows_per_rank.npy"]
    loaded = load_artifact(tar_path)
    assert loaded.algorithm is ToyAlgorithm
    np.testing.assert_array_equal(loaded.predictor.means, MEANS)  # type: ignore[attr-defined]


def test_packing_is_deterministic(tmp_path: Path) -> None:
    _save(tmp_path / "model")
    pack_model_tarball(tmp_path / "model", tmp_path / "a.tar.gz")
    pack_model_tarball(tmp_path / "model", tmp_path / "b.tar.gz")
    with tarfile.open(tmp_path / "a.tar.gz") as a, tarfile.open(tmp_path / "b.tar.gz") as b:
        assert [(m.name, m.size, m.uid, m.uname) for m in a] == [(m.name, m.size, m.uid, m.uname) for m in b]


def _rewrite_manifest(directory: Path, **changes: object) -> None:
    manifest = json.loads((directory / "manifest.json").read_text())
    for key, value in changes.items():
        if value is None:
            manifest.pop(key)
        else:
            manifest[key] = value
    (directory / "manifest.json").write_text(json.dumps(manifest))


def test_missing_manifest(tmp_path: Path) -> None:
    with pytest.raises(ArtifactError, match="no manifest.json"):
        load_artifact(tmp_path)
    with pytest.raises(ArtifactError, match="no such file"):
        load_artifact(tmp_path / "absent")


def test_corrupt_manifest(tmp_path: Path) -> None:
    _save(tmp_path)
    (tmp_path / "manifest.json").write_text('{"format_version": 1, "algorithm": ')
    with pytest.raises(ArtifactError, match="not valid JSON"):
        load_artifact(tmp_path)
    (tmp_path / "manifest.json").write_text("[1, 2]")
    with pytest.raises(ArtifactError, match="expected a JSON object"):
        load_artifact(tmp_path)


def test_manifest_without_algorithm(tmp_path: Path) -> None:
    _save(tmp_path)
    _rewrite_manifest(tmp_path, algorithm=None)
    with pytest.raises(ArtifactError, match=r"lacks the key\(s\) \['algorithm'\]"):
        load_artifact(tmp_path)


@pytest.mark.parametrize("version", [2, 0, "1", 1.0])
def test_unknown_format_version(tmp_path: Path, version: object) -> None:
    _save(tmp_path)
    _rewrite_manifest(tmp_path, format_version=version)
    with pytest.raises(ArtifactError, match="format_version"):
        load_artifact(tmp_path)


def test_unknown_algorithm(tmp_path: Path) -> None:
    _save(tmp_path)
    _rewrite_manifest(tmp_path, algorithm="no-such-algorithm")
    with pytest.raises(ArtifactError, match="unknown algorithm.*no-such-algorithm"):
        load_artifact(tmp_path)


def test_invalid_hyperparameters(tmp_path: Path) -> None:
    _save(tmp_path)
    _rewrite_manifest(tmp_path, hyperparameters={"feature_dim": "zero"})
    with pytest.raises(ArtifactError, match="invalid hyperparameters.*feature_dim"):
        load_artifact(tmp_path)


def test_missing_payload(tmp_path: Path) -> None:
    _save(tmp_path)
    (tmp_path / "means.npy").unlink()
    with pytest.raises(ArtifactError, match="payload.*could not be loaded.*means.npy"):
        load_artifact(tmp_path)


def test_pickled_payload_is_refused(tmp_path: Path) -> None:
    _save(tmp_path)
    np.save(tmp_path / "means.npy", np.array([{"evil": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(ArtifactError, match="could not be loaded"):
        load_artifact(tmp_path)


# -- malicious tarballs -----------------------------------------------------------------------
def _tar(path: Path, *members: tuple[tarfile.TarInfo, bytes | None]) -> Path:
    with tarfile.open(path, "w:gz") as tar:
        for info, data in members:
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    return path


def _file(name: str, data: bytes = b"x") -> tuple[tarfile.TarInfo, bytes]:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    return info, data


def _special(name: str, kind: bytes, link: str = "") -> tuple[tarfile.TarInfo, None]:
    info = tarfile.TarInfo(name)
    info.type, info.linkname = kind, link
    return info, None


@pytest.mark.parametrize(
    ("member", "message"),
    [
        (_file("/etc/evil"), "absolute path"),
        (_file("../evil"), r"\.\."),
        (_file("ok/../../evil"), r"\.\."),
        (_special("link", tarfile.SYMTYPE, "/etc/passwd"), "is a link"),
        (_special("hard", tarfile.LNKTYPE, "/etc/passwd"), "is a link"),
        (_special("dev", tarfile.CHRTYPE), "device"),
        (_special("fifo", tarfile.FIFOTYPE), "device, FIFO"),
    ],
)
def test_unsafe_entries_are_rejected_before_anything_is_written(
    tmp_path: Path, member: tuple[tarfile.TarInfo, bytes | None], message: str
) -> None:
    tar_path = _tar(tmp_path / "evil.tar.gz", _file("manifest.json", b"{}"), member)
    dest = tmp_path / "out" / "dest"
    with pytest.raises(ArtifactError, match=message):
        safe_extract(tar_path, dest)
    assert not dest.exists()
    assert not (tmp_path / "evil").exists() and not (tmp_path / "out" / "evil").exists()
    with pytest.raises(ArtifactError, match="Unsafe tarball"):
        load_artifact(tar_path)


def test_size_and_member_bounds(tmp_path: Path) -> None:
    tar_path = _tar(tmp_path / "big.tar.gz", _file("a", b"x" * 600), _file("b", b"y" * 600))
    with pytest.raises(ArtifactError, match="more than 1000 bytes"):
        safe_extract(tar_path, tmp_path / "dest", max_total_bytes=1000)
    with pytest.raises(ArtifactError, match="more than 1 entries"):
        safe_extract(tar_path, tmp_path / "dest", max_members=1)
    safe_extract(tar_path, tmp_path / "dest")
    assert (tmp_path / "dest" / "b").read_bytes() == b"y" * 600


def test_duplicate_entries_are_rejected(tmp_path: Path) -> None:
    tar_path = _tar(tmp_path / "dup.tar.gz", _file("manifest.json", b"{}"), _file("manifest.json", b"[]"))
    with pytest.raises(ArtifactError, match="twice"):
        safe_extract(tar_path, tmp_path / "dest")


def test_corrupt_tarball(tmp_path: Path) -> None:
    _save(tmp_path / "model")
    pack_model_tarball(tmp_path / "model", tmp_path / "model.tar.gz")
    data = (tmp_path / "model.tar.gz").read_bytes()
    (tmp_path / "cut.tar.gz").write_bytes(data[: len(data) // 2])
    with pytest.raises(ArtifactError, match="corrupt tarball"):
        safe_extract(tmp_path / "cut.tar.gz", tmp_path / "dest")
    (tmp_path / "junk.tar.gz").write_bytes(b"not a tarball at all")
    with pytest.raises(ArtifactError, match="not a readable tarball"):
        load_artifact(tmp_path / "junk.tar.gz")


def test_packing_refuses_symlinks(tmp_path: Path) -> None:
    _save(tmp_path / "model")
    (tmp_path / "model" / "link").symlink_to("/etc/passwd")
    with pytest.raises(ArtifactError, match="link"):
        pack_model_tarball(tmp_path / "model", tmp_path / "model.tar.gz")
