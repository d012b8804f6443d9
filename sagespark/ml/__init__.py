"""Spark ML layer: a generic Estimator/Model pair and one small subclass pair per algorithm.

Attributes resolve lazily, so importing :mod:`sagespark.ml` does not import every algorithm.

Examples
--------
>>> from sagespark.ml import KMeans       # doctest: +SKIP
>>> KMeans(k=3).getK()                     # doctest: +SKIP
3
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ["SageMakerEstimator", "SageMakerModel"]

# The per-algorithm pairs (KMeans, KMeansModel, ...) resolve through the registry, so none is listed.
_LAZY = {
    "SageMakerEstimator": "sagespark.ml.estimator",
    "SageMakerModel": "sagespark.ml.model",
}


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
