"""``sagespark train``: SageMaker's training-job contract for any registered algorithm.

Reads ``input/config/hyperparameters.json`` (string values, decoded by the algorithm's spec),
``inputdataconfig.json`` (per-channel ``ContentType`` / ``TrainingInputMode``) and
``resourceconfig.json`` (hosts), trains on this host with a :class:`LocalContext`, and writes the model
artifact into ``model/`` (SageMaker tars that directory itself; ``sagespark serve --root`` serves it as
is). On failure it writes a one-line reason to ``output/failure`` and returns a non-zero status.

Multi-host jobs are not supported yet: a ``resourceconfig.json`` listing several hosts fails with a clear
reason. (Train on several machines with the Spark estimators instead.)

Examples
--------
>>> run_training_job("/opt/ml", algorithm="kmeans")      # doctest: +SKIP
0
"""

from __future__ import annotations

import logging
import os
import sys
import traceback
from collections.abc import Mapping
from typing import Any

from sagespark.errors import DataFormatError, InvalidHyperparameterError, TrainingError
from sagespark.jobs.channels import read_channel
from sagespark.jobs.layout import JobLayout, read_json_config

__all__ = ["run_training_job", "ALGORITHM_ENV"]

ALGORITHM_ENV = "SAGESPARK_ALGORITHM"
"""Names the algorithm when ``--algorithm`` is not given, so an image can fix it."""

logger = logging.getLogger("sagespark.jobs")

# Keys SageMaker itself adds to hyperparameters.json (script mode, tuning jobs); not the algorithm's.
_RESERVED_PREFIXES = ("sagemaker_", "_")


def _hyperparameters(raw: Any, layout: JobLayout) -> dict[str, str]:
    if not isinstance(raw, dict):
        raise DataFormatError(f"{layout.hyperparameters} must hold a JSON object of strings.")
    wire: dict[str, str] = {}
    for key, value in raw.items():
        if key.startswith(_RESERVED_PREFIXES):
            continue
        # SageMaker passes strings; JSON numbers and booleans from hand-written files mean the same.
        wire[key] = (
            value
            if isinstance(value, str)
            else ("True" if value is True else "False" if value is False else str(value))
        )
    return wire


def _check_single_host(resource: Mapping[str, Any], layout: JobLayout) -> None:
    hosts = resource.get("hosts") or []
    if len(hosts) > 1:
        raise TrainingError(
            f"{layout.resource_config} lists {len(hosts)} hosts {hosts}; sagespark training jobs run on one "
            "host for now. Use InstanceCount=1, or train across machines with sagespark's Spark estimators."
        )


def _train(layout: JobLayout, algorithm_name: str | None) -> None:
    from sagespark.algorithms.artifact import save_artifact
    from sagespark.algorithms.base import get_algorithm
    from sagespark.distributed.context import LocalContext

    name = algorithm_name or os.environ.get(ALGORITHM_ENV)
    if not name:
        raise TrainingError(f"No algorithm given: pass --algorithm NAME or set {ALGORITHM_ENV}.")
    try:
        algorithm = get_algorithm(name)
    except KeyError as err:
        raise TrainingError(str(err.args[0])) from None

    wire = _hyperparameters(read_json_config(layout.hyperparameters, default={}), layout)
    hp = algorithm.hyperparameters.from_wire(wire)
    _check_single_host(read_json_config(layout.resource_config, default={}), layout)

    input_config = read_json_config(layout.input_data_config, default=None)
    if input_config is None:  # no config: every directory under input/data is a channel
        found = (
            sorted(p.name for p in layout.data_dir.iterdir() if p.is_dir())
            if layout.data_dir.is_dir()
            else []
        )
        input_config = {channel: {} for channel in found}
    if not isinstance(input_config, dict):
        raise DataFormatError(f"{layout.input_data_config} must hold a JSON object keyed by channel.")
    unknown = sorted(set(input_config) - set(algorithm.channels))
    if unknown:
        raise DataFormatError(
            f"Channel(s) {unknown} are not supported by {algorithm.name}; "
            f"its channels are {list(algorithm.channels)}."
        )
    if "train" not in input_config:
        raise DataFormatError(
            f"The 'train' channel is required; the job has channels {sorted(input_config)}."
        )
    data = {
        channel: read_channel(layout, channel, cfg or {}, algorithm) for channel, cfg in input_config.items()
    }
    for channel, channel_data in data.items():
        logger.info("Channel %s: %d records", channel, channel_data.num_rows)

    hp = algorithm.infer_hyperparameters(hp, data["train"])
    result = algorithm.train(LocalContext(), data, hp)
    layout.model_dir.mkdir(parents=True, exist_ok=True)
    save_artifact(layout.model_dir, algorithm, hp, result.state, result.metrics)
    for metric, value in sorted(result.metrics.items()):
        print(f"#metric: {metric}={value}", flush=True)
    logger.info("Model written to %s", layout.model_dir)


def run_training_job(root: str | os.PathLike[str] = "/opt/ml", *, algorithm: str | None = None) -> int:
    """Run one training job against the layout at ``root``; returns the process exit status.

    Parameters
    ----------
    root : path-like
        The ``/opt/ml`` layout root.
    algorithm : str, optional
        Registered algorithm name (default ``$SAGESPARK_ALGORITHM``).

    Returns
    -------
    int
        0 on success; 1 after writing the reason to ``output/failure``.
    """
    logging.basicConfig(
        level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    layout = JobLayout(root)
    if layout.failure.exists():
        layout.failure.unlink()  # a stale reason must not describe this run
    try:
        _train(layout, algorithm)
    except (DataFormatError, InvalidHyperparameterError, TrainingError) as err:
        logger.error("Training failed: %s", err)
        layout.write_failure(f"{type(err).__name__}: {err}")
        return 1
    except Exception as err:  # the failure file must be written whatever went wrong
        traceback.print_exc()
        layout.write_failure(f"Internal error: {type(err).__name__}: {err}")
        return 2
    return 0
