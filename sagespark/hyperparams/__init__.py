"""Declarative hyperparameter specs shared by Spark Params, validation, the CLI and training jobs."""

from sagespark.hyperparams.descriptors import (
    AUTO,
    REQUIRED,
    Bool,
    Choice,
    Float,
    Hyperparameter,
    Int,
    List,
    Str,
)
from sagespark.hyperparams.spec import Hyperparameters

__all__ = [
    "AUTO",
    "REQUIRED",
    "Bool",
    "Choice",
    "Float",
    "Hyperparameter",
    "Hyperparameters",
    "Int",
    "List",
    "Str",
]
