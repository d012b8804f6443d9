"""sagespark: Amazon SageMaker's built-in algorithms as Spark ML estimators, on your own Spark.

Importing sagespark registers the ``sagemaker`` data source with the active SparkSession, if there is
one; :func:`register` does it for a session made later.

Examples
--------
>>> import sagespark
>>> sagespark.__version__
'0.1.0'
"""

from __future__ import annotations

import importlib
from typing import Any

from sagespark._version import __version__
from sagespark.data import register_active as _register_active
from sagespark.errors import (
    ArtifactError,
    DataFormatError,
    InvalidHyperparameterError,
    SageSparkError,
    TrainingError,
)

# Spark ML classes load on first use, so `import sagespark` stays light (no pyspark import). The
# per-algorithm Estimator/Model pairs are found through the ML registry, so a new algorithm needs no
# edit here.
_LAZY = {
    "SageMakerEstimator": "sagespark.ml.estimator",
    "SageMakerModel": "sagespark.ml.model",
}

__all__ = [
    "__version__",
    "register",
    "KMeans",
    "KMeansModel",
    "PCA",
    "PCAModel",
    "SageMakerEstimator",
    "SageMakerModel",
    "ArtifactError",
    "DataFormatError",
    "InvalidHyperparameterError",
    "SageSparkError",
    "TrainingError",
]


def register(spark: Any = None) -> None:
    """Register the ``sagemaker`` data source with ``spark`` (default: the active session).

    Idempotent. Afterwards ``spark.read.format("sagemaker")`` and ``df.write.format("sagemaker")`` work.

    Examples
    --------
    >>> import sagespark                                   # doctest: +SKIP
    >>> sagespark.register(spark)                          # doctest: +SKIP
    >>> spark.read.format("sagemaker").load("/data/train")  # doctest: +SKIP
    """
    from sagespark.data.datasource import register as register_data_source

    register_data_source(spark)


_register_active()


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    if name[:1].isupper():
        from sagespark.ml.registry import public_class

        found = public_class(name)
        if found is not None:
            return found
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
