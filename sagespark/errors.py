"""The one exception hierarchy of sagespark.

Every error the library raises on purpose derives from :class:`SageSparkError`, so callers can catch
the library's errors in one place, while the built-in bases (``ValueError``, ``RuntimeError``) keep
``except ValueError`` code working.

Examples
--------
>>> from sagespark.errors import DataFormatError, SageSparkError
>>> try:
...     raise DataFormatError("bad magic at byte offset 8")
... except SageSparkError as err:
...     print(err)
bad magic at byte offset 8
"""

from __future__ import annotations

__all__ = [
    "SageSparkError",
    "InvalidHyperparameterError",
    "DataFormatError",
    "TrainingError",
    "ArtifactError",
]


class SageSparkError(Exception):
    """Base class of every error sagespark raises on purpose."""


class InvalidHyperparameterError(SageSparkError, ValueError):
    """A hyperparameter is missing, of the wrong type, or out of its range."""


class DataFormatError(SageSparkError, ValueError):
    """Input data does not have the expected format.

    The message names where: the column, the row, or the byte offset, and what was expected.
    """


class TrainingError(SageSparkError, RuntimeError):
    """Training failed on a worker; the message carries that worker's last log lines."""


class ArtifactError(SageSparkError):
    """A model artifact is missing, corrupt, unsafe, or of an unknown format version."""
