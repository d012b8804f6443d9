"""sagespark: Amazon SageMaker's built-in algorithms as Spark ML estimators, on your own Spark.

Examples
--------
>>> import sagespark
>>> sagespark.__version__
'0.1.0'
"""

from __future__ import annotations

from sagespark._version import __version__
from sagespark.errors import (
    ArtifactError,
    DataFormatError,
    InvalidHyperparameterError,
    SageSparkError,
    TrainingError,
)

__all__ = [
    "__version__",
    "ArtifactError",
    "DataFormatError",
    "InvalidHyperparameterError",
    "SageSparkError",
    "TrainingError",
]
