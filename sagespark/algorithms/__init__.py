"""Pure-Python implementations of SageMaker's built-in algorithms, registered by name."""

from sagespark.algorithms.base import (
    Algorithm,
    ChannelData,
    InputField,
    OutputField,
    Predictor,
    TrainResult,
    all_algorithms,
    get_algorithm,
    register,
)

__all__ = [
    "Algorithm",
    "ChannelData",
    "InputField",
    "OutputField",
    "Predictor",
    "TrainResult",
    "all_algorithms",
    "get_algorithm",
    "register",
]
