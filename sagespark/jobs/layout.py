"""SageMaker's training-job layout under ``/opt/ml`` (or any root), and reading its config files.

Examples
--------
>>> layout = JobLayout("/opt/ml")
>>> str(layout.hyperparameters)
'/opt/ml/input/config/hyperparameters.json'
>>> str(layout.channel_dir("train"))
'/opt/ml/input/data/train'
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sagespark.errors import DataFormatError

__all__ = ["JobLayout", "read_json_config", "FAILURE_LIMIT"]

FAILURE_LIMIT = 1024
"""SageMaker shows the first 1024 characters of ``output/failure``."""


@dataclass(frozen=True)
class JobLayout:
    """Paths of one training job's files."""

    root: Path

    def __init__(self, root: str | os.PathLike[str]) -> None:
        object.__setattr__(self, "root", Path(root))

    @property
    def config_dir(self) -> Path:
        return self.root / "input" / "config"

    @property
    def hyperparameters(self) -> Path:
        return self.config_dir / "hyperparameters.json"

    @property
    def input_data_config(self) -> Path:
        return self.config_dir / "inputdataconfig.json"

    @property
    def resource_config(self) -> Path:
        return self.config_dir / "resourceconfig.json"

    @property
    def data_dir(self) -> Path:
        return self.root / "input" / "data"

    def channel_dir(self, channel: str) -> Path:
        return self.data_dir / channel

    def pipe(self, channel: str, epoch: int = 0) -> Path:
        """Pipe mode's FIFO for ``channel`` and ``epoch`` (``<channel>_<epoch>``)."""
        return self.data_dir / f"{channel}_{epoch}"

    @property
    def model_dir(self) -> Path:
        return self.root / "model"

    @property
    def output_dir(self) -> Path:
        return self.root / "output"

    @property
    def failure(self) -> Path:
        return self.output_dir / "failure"

    def write_failure(self, reason: str) -> None:
        """Write the one-line reason (at most 1024 characters) SageMaker reports for a failed job."""
        text = " ".join(str(reason).split()) or "Training failed."
        if len(text) > FAILURE_LIMIT:
            text = text[: FAILURE_LIMIT - 3] + "..."
        self.output_dir.mkdir(parents=True, exist_ok=True)
        self.failure.write_text(text)


def read_json_config(path: Path, *, default: Any) -> Any:
    """Read one of the job's JSON config files; ``default`` when the file is absent.

    Raises
    ------
    DataFormatError
        When the file is not valid JSON (naming the file, line and column).
    """
    if not path.is_file():
        return default
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as err:
        raise DataFormatError(
            f"{path} is not valid JSON: {err.msg} at line {err.lineno}, column {err.colno}."
        ) from None
