"""The model artifact: a directory with ``manifest.json`` plus the algorithm's payload (DESIGN.md section 4).

``manifest.json`` records what is needed to load and describe a model without running code from it: the
format version, the sagespark version that wrote it, the algorithm's registry name, the hyperparameters
in SageMaker's wire form, the input and output spec, and the final metrics. The payload is whatever
:meth:`Algorithm.save` writes (``.npy``/``.npz``, JSON, safetensors, a library's own format), never
pickle. For SageMaker's layout the directory is packed as ``model.tar.gz``; unpacking it rejects path
traversal, links, devices and oversized archives.

Examples
--------
>>> import tempfile
>>> from sagespark.algorithms.artifact import load_artifact, save_artifact
>>> model_dir = tempfile.mkdtemp()
>>> save_artifact(model_dir, KMeans, hp, state, {"train:msd": 0.12})     # doctest: +SKIP
>>> loaded = load_artifact(model_dir)                                       # doctest: +SKIP
>>> loaded.predictor.predict({"features": x})["closest_cluster"]           # doctest: +SKIP
"""

from __future__ import annotations

import atexit
import gzip
import json
import lzma
import math
import os
import shutil
import stat
import tarfile
import tempfile
import zlib
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Mapping

from sagespark._version import __version__
from sagespark.algorithms.base import Algorithm, Predictor, get_algorithm
from sagespark.errors import ArtifactError, InvalidHyperparameterError
from sagespark.hyperparams import Hyperparameters

__all__ = [
    "FORMAT_VERSION",
    "MANIFEST",
    "LoadedModel",
    "save_artifact",
    "read_manifest",
    "load_artifact",
    "pack_model_tarball",
    "safe_extract",
]

FORMAT_VERSION = 1
"""Version of the artifact layout this sagespark writes and reads."""
MANIFEST = "manifest.json"
_REQUIRED_KEYS = ("format_version", "algorithm", "hyperparameters")


@dataclass(frozen=True)
class LoadedModel:
    """A loaded artifact: the algorithm class, its hyperparameters, the ready predictor and the manifest.

    Examples
    --------
    >>> loaded = load_artifact("model.tar.gz")                # doctest: +SKIP
    >>> loaded.algorithm.name, loaded.metrics                 # doctest: +SKIP
    ('kmeans', {'train:msd': 0.12})
    """

    algorithm: type[Algorithm]
    hyperparameters: Hyperparameters
    predictor: Predictor
    manifest: dict[str, Any]
    directory: Path | None = field(default=None, compare=False)

    @property
    def metrics(self) -> dict[str, float]:
        """The final training metrics recorded in the manifest."""
        return _decode_metrics(self.manifest.get("metrics", {}))


def _encode_metrics(metrics: Mapping[str, float]) -> dict[str, float | str]:
    # Strict JSON has no NaN/Infinity; other readers (the Scala bridge, jq) must parse the manifest.
    out: dict[str, float | str] = {}
    for name, value in metrics.items():
        number = float(value)
        out[str(name)] = number if math.isfinite(number) else str(number)
    return out


def _decode_metrics(metrics: Mapping[str, Any]) -> dict[str, float]:
    return {str(k): float(v) for k, v in metrics.items()}


def save_artifact(
    directory: str | os.PathLike[str],
    algorithm: type[Algorithm],
    hp: Hyperparameters,
    state: Any,
    metrics: Mapping[str, float],
) -> None:
    """Write a model artifact: the algorithm's payload, then ``manifest.json``.

    The manifest is written last (atomically, through a rename), so a directory with a manifest always
    holds a complete artifact.

    Parameters
    ----------
    directory : path-like
        Where to write; created if missing.
    algorithm : type[Algorithm]
        The registered algorithm that trained ``state``.
    hp : Hyperparameters
        The resolved hyperparameters (inferred values filled in), stored in wire form.
    state : Any
        What ``algorithm.train`` returned as ``TrainResult.state``; written by ``algorithm.save``.
    metrics : Mapping[str, float]
        Final metrics, e.g. ``{"train:msd": 0.12}``.

    Raises
    ------
    ArtifactError
        When the algorithm's ``save`` writes a file named ``manifest.json`` itself.

    Examples
    --------
    >>> save_artifact("/tmp/model", KMeans, hp, state, {"train:msd": 0.12})   # doctest: +SKIP
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    manifest_path = directory / MANIFEST
    if manifest_path.exists():
        manifest_path.unlink()  # a stale manifest must never describe a new, half-written payload
    algorithm.save(state, directory)
    if manifest_path.exists():
        raise ArtifactError(
            f"{algorithm.__name__}.save wrote {MANIFEST!r}, a name reserved for the artifact manifest."
        )
    manifest = {
        "format_version": FORMAT_VERSION,
        "sagespark_version": __version__,
        "algorithm": algorithm.name,
        "hyperparameters": hp.to_wire(),
        "inputs": [asdict(f) for f in algorithm.inputs],
        "outputs": [asdict(f) for f in algorithm.output_fields(hp)],
        "response_key": algorithm.response_key,
        "metrics": _encode_metrics(metrics),
    }
    staging = directory / f".{MANIFEST}.tmp"
    staging.write_text(json.dumps(manifest, indent=2, sort_keys=True, allow_nan=False) + "\n")
    staging.replace(manifest_path)


def read_manifest(directory: str | os.PathLike[str]) -> dict[str, Any]:
    """Read and check ``manifest.json`` of an artifact directory (no payload is loaded).

    Raises
    ------
    ArtifactError
        When the manifest is missing, not valid JSON, lacks a required key, or has a format version this
        sagespark cannot read.
    """
    path = Path(directory) / MANIFEST
    if not path.is_file():
        raise ArtifactError(f"{Path(directory)} is not a sagespark model artifact: it has no {MANIFEST}.")
    try:
        manifest = json.loads(path.read_bytes())
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise ArtifactError(f"{path} is corrupt: it is not valid JSON ({err}).") from None
    if not isinstance(manifest, dict):
        raise ArtifactError(f"{path} is corrupt: expected a JSON object, got {type(manifest).__name__}.")
    missing = [key for key in _REQUIRED_KEYS if key not in manifest]
    if missing:
        raise ArtifactError(f"{path} is corrupt: it lacks the key(s) {missing}.")
    version = manifest["format_version"]
    if type(version) is not int or version != FORMAT_VERSION:
        raise ArtifactError(
            f"{path} has format_version {version!r}; sagespark {__version__} reads format_version "
            f"{FORMAT_VERSION} only (written by sagespark {manifest.get('sagespark_version', 'unknown')})."
        )
    if not isinstance(manifest["hyperparameters"], dict):
        raise ArtifactError(f"{path} is corrupt: 'hyperparameters' must be a JSON object of strings.")
    if not isinstance(manifest.get("metrics", {}), dict):
        raise ArtifactError(f"{path} is corrupt: 'metrics' must be a JSON object.")
    return manifest


def _artifact_root(extracted: Path) -> Path:
    # SageMaker's model.tar.gz has the files at its root; also accept one wrapping directory.
    if (extracted / MANIFEST).is_file():
        return extracted
    entries = [p for p in extracted.iterdir()]
    if len(entries) == 1 and entries[0].is_dir() and (entries[0] / MANIFEST).is_file():
        return entries[0]
    return extracted


def _extract_to_temp(tar_path: Path) -> Path:
    dest = Path(tempfile.mkdtemp(prefix="sagespark-model-"))
    # The predictor may read (or memory-map) payload files lazily, so the copy lives as long as the process.
    atexit.register(shutil.rmtree, dest, True)
    safe_extract(tar_path, dest)
    return _artifact_root(dest)


def load_artifact(path: str | os.PathLike[str]) -> LoadedModel:
    """Load a model artifact from a directory or a ``model.tar.gz``.

    Loading never executes code from the artifact: the algorithm is looked up by name in sagespark's
    registry, and its ``load`` reads data files only.

    Raises
    ------
    ArtifactError
        When the path does not exist, the tarball is unsafe, the manifest is missing or corrupt, the format
        version or algorithm is unknown, or the payload cannot be read.

    Examples
    --------
    >>> model = load_artifact("/tmp/model")                                     # doctest: +SKIP
    >>> model.predictor.predict({"features": x})                              # doctest: +SKIP
    """
    path = Path(path)
    if path.is_dir():
        directory = path
    elif path.is_file():
        directory = _extract_to_temp(path)
    else:
        raise ArtifactError(f"No model artifact at {path}: no such file or directory.")
    manifest = read_manifest(directory)
    name = manifest["algorithm"]
    try:
        algorithm = get_algorithm(str(name))
    except KeyError as err:
        raise ArtifactError(f"{directory / MANIFEST} names an unknown algorithm: {err.args[0]}") from None
    wire = manifest["hyperparameters"]
    try:
        hp = algorithm.hyperparameters.from_wire({str(k): str(v) for k, v in wire.items()})
    except InvalidHyperparameterError as err:
        raise ArtifactError(
            f"{directory / MANIFEST} holds invalid hyperparameters for {name}: {err}"
        ) from None
    try:
        predictor = algorithm.load(directory, hp)
    except ArtifactError:
        raise
    except (OSError, ValueError, KeyError, EOFError) as err:
        raise ArtifactError(
            f"The {name} payload in {directory} could not be loaded: {type(err).__name__}: {err}"
        ) from err
    return LoadedModel(algorithm, hp, predictor, manifest, directory)


# -- model.tar.gz ------------------------------------------------------------------------------
MAX_EXTRACT_BYTES = 64 << 30
"""Default bound on the total size of the files in a tarball (a decompression bomb stops here)."""
MAX_EXTRACT_MEMBERS = 100_000
"""Default bound on the number of entries in a tarball."""


def pack_model_tarball(directory: str | os.PathLike[str], tar_path: str | os.PathLike[str]) -> None:
    """Pack an artifact directory as a gzip tarball with its files at the root (SageMaker's layout).

    Entries are sorted and carry no owner names, so equal directories give equal archives.

    Raises
    ------
    ArtifactError
        When ``directory`` is not a directory or contains a symbolic link or special file.

    Examples
    --------
    >>> pack_model_tarball("/tmp/model", "/tmp/model.tar.gz")     # doctest: +SKIP
    """
    directory = Path(directory)
    if not directory.is_dir():
        raise ArtifactError(f"Cannot pack {directory}: it is not a directory.")
    entries = sorted(directory.rglob("*"))
    for entry in entries:
        if entry.is_symlink() or not (entry.is_file() or entry.is_dir()):
            raise ArtifactError(f"Cannot pack {directory}: {entry} is a link or special file.")

    def normalise(info: tarfile.TarInfo) -> tarfile.TarInfo:
        info.uid = info.gid = 0
        info.uname = info.gname = ""
        return info

    tar_path = Path(tar_path)
    staging = tar_path.with_name(f".{tar_path.name}.tmp")
    with tarfile.open(staging, "w:gz", format=tarfile.PAX_FORMAT) as tar:
        for entry in entries:
            tar.add(entry, arcname=entry.relative_to(directory).as_posix(), recursive=False, filter=normalise)
    staging.replace(tar_path)


def _check_member(member: tarfile.TarInfo, tar_path: Path) -> str:
    name = member.name
    parts = name.replace("\\", "/").split("/")
    where = f"{tar_path} entry {name!r}"
    if name.startswith(("/", "\\")) or (name[:1].isalpha() and name[1:2] == ":"):
        raise ArtifactError(f"Unsafe tarball: {where} has an absolute path.")
    if ".." in parts:
        raise ArtifactError(f"Unsafe tarball: {where} leaves the extraction directory ('..').")
    if member.issym() or member.islnk():
        raise ArtifactError(f"Unsafe tarball: {where} is a link (to {member.linkname!r}).")
    if not (member.isfile() or member.isdir()):
        raise ArtifactError(f"Unsafe tarball: {where} is a device, FIFO or other special file.")
    return "/".join(p for p in parts if p not in ("", "."))


def safe_extract(
    tar_path: str | os.PathLike[str],
    dest: str | os.PathLike[str],
    *,
    max_total_bytes: int = MAX_EXTRACT_BYTES,
    max_members: int = MAX_EXTRACT_MEMBERS,
) -> None:
    """Extract a (possibly compressed) tarball into ``dest``, accepting plain files and directories only.

    Every entry is checked before anything is written: absolute paths, ``..`` components, symbolic and
    hard links, devices and FIFOs are rejected, as are archives over ``max_members`` entries or
    ``max_total_bytes`` of file data. Permissions are not taken from the archive.

    Raises
    ------
    ArtifactError
        Naming the tarball and the offending entry.

    Examples
    --------
    >>> safe_extract("model.tar.gz", "/tmp/model")       # doctest: +SKIP
    """
    tar_path, dest = Path(tar_path), Path(dest)
    try:
        tar = tarfile.open(tar_path, "r:*")
    except (tarfile.TarError, OSError) as err:
        raise ArtifactError(f"{tar_path} is not a readable tarball: {err}") from None
    with tar:
        try:
            members = []
            seen: set[str] = set()
            total = 0
            for member in tar:
                relative = _check_member(member, tar_path)
                if relative in seen and not member.isdir():
                    raise ArtifactError(f"Unsafe tarball: {tar_path} has the entry {member.name!r} twice.")
                seen.add(relative)
                members.append((member, relative))
                if len(members) > max_members:
                    raise ArtifactError(f"Unsafe tarball: {tar_path} has more than {max_members} entries.")
                total += member.size if member.isfile() else 0
                if total > max_total_bytes:
                    raise ArtifactError(
                        f"Unsafe tarball: {tar_path} holds more than {max_total_bytes} bytes of files."
                    )
            dest.mkdir(parents=True, exist_ok=True)
            root = dest.resolve()
            for member, relative in members:
                _extract_member(tar, member, root, relative, tar_path)
        except (tarfile.TarError, EOFError, zlib.error, gzip.BadGzipFile, lzma.LZMAError) as err:
            raise ArtifactError(f"{tar_path} is a corrupt tarball: {err}") from None


def _extract_member(
    tar: tarfile.TarFile, member: tarfile.TarInfo, root: Path, relative: str, tar_path: Path
) -> None:
    target = (root / relative).resolve() if relative else root
    # Defence in depth: the name checks above already exclude this, but a resolved path is the real test.
    if target != root and root not in target.parents:
        raise ArtifactError(f"Unsafe tarball: {tar_path} entry {member.name!r} leaves {root}.")
    try:
        if member.isdir():
            target.mkdir(parents=True, exist_ok=True)
            return
        target.parent.mkdir(parents=True, exist_ok=True)
        source = tar.extractfile(member)
        if source is None:
            raise ArtifactError(f"{tar_path} entry {member.name!r} has no data.")
        with source, open(target, "wb") as out:
            shutil.copyfileobj(source, out, 8 << 20)
        os.chmod(target, stat.S_IRUSR | stat.S_IWUSR | stat.S_IRGRP | stat.S_IROTH)
    except OSError as err:
        raise ArtifactError(f"Cannot extract {tar_path} entry {member.name!r} into {root}: {err}") from err
