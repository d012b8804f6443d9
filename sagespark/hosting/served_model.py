"""The model a server or batch transform hosts: a loaded artifact plus what its responses look like.

Examples
--------
>>> served = load_served_model("/opt/ml/model")           # doctest: +SKIP
>>> served.output_names, served.response_key               # doctest: +SKIP
(['closest_cluster', 'distance_to_cluster'], 'predictions')
"""

from __future__ import annotations

import importlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sagespark.algorithms.base import InputField, OutputField, Predictor
from sagespark.errors import ArtifactError

__all__ = ["ServedModel", "load_served_model", "resolve_model_path", "import_plugins", "PLUGINS_ENV"]

PLUGINS_ENV = "SAGESPARK_PLUGINS"
"""Comma-separated modules imported before a model loads, so third-party algorithms can register."""


@dataclass(frozen=True)
class ServedModel:
    """A ready Predictor with the facts the codecs need (output order, JSON response key, width)."""

    algorithm: str
    predictor: Predictor
    outputs: tuple[OutputField, ...]
    response_key: str
    feature_dim: int | None
    inputs: tuple[InputField, ...] = ()
    default_accept: str = "application/json"
    """The algorithm's response type for an empty or ``*/*`` Accept, unless the server is told otherwise."""

    @property
    def string_inputs(self) -> list[str]:
        """The input names when every prediction input is a string (IP Insights' ``entity``, ``ip``):
        requests then carry rows of strings instead of numeric features. Empty otherwise."""
        used = [f for f in self.inputs if f.used_for_prediction]
        return [f.name for f in used] if used and all(f.kind == "string" for f in used) else []

    @property
    def output_names(self) -> list[str]:
        """Non-verbose outputs in the algorithm's declared order (verbose ones follow when present)."""
        return [f.name for f in self.outputs]

    def describe(self) -> dict[str, Any]:
        """What ``GET /model`` reports: enough for a client to name its output columns."""
        return {
            "algorithm": self.algorithm,
            "outputs": [{"name": f.name, "kind": f.kind, "verbose": f.verbose} for f in self.outputs],
            "response_key": self.response_key,
            "feature_dim": self.feature_dim,
        }


def import_plugins(spec: str | None = None) -> None:
    """Import the modules named in ``spec`` (default: ``$SAGESPARK_PLUGINS``) so they can register."""
    for name in (spec if spec is not None else os.environ.get(PLUGINS_ENV, "")).split(","):
        if name.strip():
            importlib.import_module(name.strip())


def resolve_model_path(model_dir: str | os.PathLike[str] | None, root: str | os.PathLike[str] | None) -> Path:
    """The artifact to serve: ``model_dir`` if given, else ``<root>/model`` (SageMaker's layout).

    Inside ``<root>/model`` an unpacked artifact (``manifest.json``) wins over a ``model.tar.gz``.

    Raises
    ------
    ArtifactError
        When neither is given or nothing is there.
    """
    if model_dir is not None:
        path = Path(model_dir)
    elif root is not None:
        path = Path(root) / "model"
    else:
        raise ArtifactError("No model to serve: pass --model-dir DIR or --root DIR (SageMaker's /opt/ml).")
    if path.is_dir() and not (path / "manifest.json").exists() and (path / "model.tar.gz").is_file():
        return path / "model.tar.gz"
    if not path.exists():
        raise ArtifactError(f"No model artifact at {path}: no such file or directory.")
    return path


def load_served_model(path: str | os.PathLike[str]) -> ServedModel:
    """Load an artifact (directory or ``model.tar.gz``) through the algorithm registry.

    Raises
    ------
    ArtifactError
        When the artifact is missing, corrupt or names an unknown algorithm.
    """
    from sagespark.algorithms.artifact import load_artifact

    import_plugins()
    loaded = load_artifact(path)
    algorithm = loaded.algorithm
    try:
        feature_dim = loaded.predictor.feature_dim
    except Exception:  # a predictor that cannot tell simply gets no width check
        feature_dim = None
    return ServedModel(
        algorithm=algorithm.name,
        predictor=loaded.predictor,
        outputs=tuple(algorithm.output_fields(loaded.hyperparameters)),
        response_key=str(loaded.manifest.get("response_key", algorithm.response_key)),
        feature_dim=None if feature_dim is None else int(feature_dim),
        inputs=tuple(algorithm.inputs),
        default_accept=algorithm.default_accept,
    )
