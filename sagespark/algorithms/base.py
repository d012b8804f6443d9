"""What every algorithm declares: hyperparameters, input and output specs, train, save and load.

Algorithms are pure Python (numpy / scipy / torch); they never import Spark. The Spark layer
(:mod:`sagespark.ml`), the training-job contract and the HTTP server all drive an algorithm through
this one interface, so they agree by construction.

Examples
--------
>>> from sagespark.algorithms import get_algorithm
>>> algo = get_algorithm("kmeans")          # doctest: +SKIP
>>> [f.name for f in algo.output_spec]      # doctest: +SKIP
['closest_cluster', 'distance_to_cluster']
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Mapping, TypeAlias

import numpy as np
import scipy.sparse as sp

from sagespark.errors import ArtifactError
from sagespark.hyperparams import Hyperparameters

if TYPE_CHECKING:
    from sagespark.distributed.context import TrainContext

__all__ = [
    "Matrix",
    "InputField",
    "OutputField",
    "ChannelData",
    "TrainResult",
    "Predictor",
    "Algorithm",
]

Matrix: TypeAlias = np.ndarray | sp.csr_matrix
"""A batch of feature rows: a dense 2-D array or a CSR matrix."""

@dataclass(frozen=True)
class InputField:
    """One input an algorithm reads.

    Attributes
    ----------
    name : str
        Key in the batch mapping (``"features"``, ``"label"``, ``"entity"``, ``"ip"``).
    kind : str
        ``"vector"`` (Spark ML Vector / numeric array, decoded to :data:`Matrix`), ``"double"``,
        or ``"string"``.
    param : str
        The Spark column Param that names the column (``featuresCol``, ``labelCol``).
    required_for_training : bool
        Whether a fit fails without it.
    """

    name: str
    kind: str
    param: str
    required_for_training: bool = True
    used_for_prediction: bool = True

@dataclass(frozen=True)
class OutputField:
    """One output column / response field, named as SageMaker's responses name it.

    ``kind`` is ``"double"``, ``"vector"`` (Spark ML dense vector; a JSON list), or ``"string"``.
    ``verbose`` outputs appear only when verbose output is asked for (k-NN, IP Insights).
    """

    name: str
    kind: str
    verbose: bool = False

@dataclass
class ChannelData:
    """One worker's share of one channel, decoded once from Arrow.

    ``features`` is a float32 dense array or CSR matrix (``n_rows × feature_dim``); ``label`` is a
    float64 array or ``None``; ``columns`` holds any other inputs by name (strings as object arrays).
    """

    features: Matrix | None
    label: np.ndarray | None = None
    columns: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def num_rows(self) -> int:
        if self.features is not None:
            return int(self.features.shape[0])
        if self.label is not None:
            return int(self.label.shape[0])
        return int(next(iter(self.columns.values())).shape[0]) if self.columns else 0

@dataclass
class TrainResult:
    """What ``train`` returns on rank 0: the model state to save and the final metrics."""

    state: Any
    metrics: dict[str, float] = field(default_factory=dict)

class Predictor(ABC):
    """A loaded model. ``predict`` takes a batch mapping and returns one array per output field.

    The Spark Model's ``transform``, the HTTP endpoint and batch transform all call this same object.
    """

    @abstractmethod
    def predict(self, batch: Mapping[str, Any], *, verbose: bool = False) -> dict[str, np.ndarray]:
        """Predict for every row of ``batch``.

        Parameters
        ----------
        batch : Mapping[str, Any]
            ``{"features": Matrix, ...}`` keyed by :class:`InputField` names.
        verbose : bool
            Also compute the verbose output fields.

        Returns
        -------
        dict[str, numpy.ndarray]
            One array per output field, each with ``n_rows`` rows (2-D for ``"vector"`` fields).
        """

    @property
    @abstractmethod
    def feature_dim(self) -> int | None:
        """Number of features the model expects (``None`` when not vector input)."""

class Algorithm(ABC):
    """A SageMaker built-in algorithm. Subclasses are registered with :func:`register`."""

    name: ClassVar[str]
    """Registry name, as in ``sagespark train --algorithm kmeans``."""
    hyperparameters: ClassVar[type[Hyperparameters]]
    inputs: ClassVar[tuple[InputField, ...]] = (InputField("features", "vector", "featuresCol"),)
    outputs: ClassVar[tuple[OutputField, ...]]
    channels: ClassVar[tuple[str, ...]] = ("train", "test")
    response_key: ClassVar[str] = "predictions"
    """Top-level key of the JSON response (``"projections"`` for PCA, ``"scores"`` for RCF)."""
    default_accept: ClassVar[str] = "application/json"
    """Response type for an empty or ``*/*`` Accept when ``SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT`` is unset
    (SageMaker's XGBoost answers ``text/csv``)."""

    @classmethod
    def output_fields(cls, hp: Hyperparameters | Mapping[str, Any] | None) -> tuple[OutputField, ...]:
        """The outputs a model trained with ``hp`` writes; default: :attr:`outputs`.

        Algorithms whose outputs depend on a hyperparameter (Linear Learner's ``predictor_type``: a
        regressor has no ``predicted_label``, a multiclass ``score`` is a vector) override this;
        :attr:`outputs` then lists every output the algorithm can write, for the column Params.
        """
        return cls.outputs

    @classmethod
    def infer_hyperparameters(cls, hp: Hyperparameters, train: ChannelData) -> Hyperparameters:
        """Fill in values inferred from the data (``feature_dim``); called on every rank."""
        if "feature_dim" in hp.fields() and hp["feature_dim"] is None and train.features is not None:
            return hp.replace(feature_dim=int(train.features.shape[1]))
        return hp

    @classmethod
    @abstractmethod
    def train(
        cls, ctx: TrainContext, data: Mapping[str, ChannelData], hp: Hyperparameters
    ) -> TrainResult:
        """Train on this rank's share of every channel; collectives go through ``ctx``.

        Runs on every rank; only rank 0's result is saved.
        """

    state_type: ClassVar[type] = object
    """The type of ``TrainResult.state`` that :meth:`save` accepts."""

    @classmethod
    def save(cls, state: Any, directory: Path) -> None:
        """Check that ``state`` is a :attr:`state_type`, then write it with :meth:`write_state`."""
        if not isinstance(state, cls.state_type):
            raise ArtifactError(
                f"{cls.__name__} cannot save a {type(state).__name__}; expected {cls.state_type.__name__}."
            )
        cls.write_state(state, directory)

    @classmethod
    @abstractmethod
    def write_state(cls, state: Any, directory: Path) -> None:
        """Write the model payload into ``directory`` (no pickle)."""

    @classmethod
    @abstractmethod
    def load(cls, directory: Path, hp: Hyperparameters) -> Predictor:
        """Load the payload written by :meth:`save`; never executes code from it."""

_REGISTRY: dict[str, type[Algorithm]] = {}

def register(cls: type[Algorithm]) -> type[Algorithm]:
    """Class decorator: add an algorithm to the registry under ``cls.name``."""
    _REGISTRY[cls.name] = cls
    return cls

def _load_builtins() -> None:
    # Every sub-package of sagespark.algorithms is an algorithm: adding a folder is all it takes.
    import importlib
    import pkgutil

    import sagespark.algorithms as package

    for info in pkgutil.iter_modules(package.__path__):
        if info.ispkg:
            importlib.import_module(f"{package.__name__}.{info.name}")

def get_algorithm(name: str) -> type[Algorithm]:
    """The registered algorithm called ``name``.

    Raises
    ------
    KeyError
        With the list of known names, when ``name`` is not registered.
    """
    _load_builtins()
    try:
        return _REGISTRY[name]
    except KeyError:
        raise KeyError(f"Unknown algorithm {name!r}; known algorithms are {sorted(_REGISTRY)}.") from None

def all_algorithms() -> dict[str, type[Algorithm]]:
    """Every registered algorithm by name."""
    _load_builtins()
    return dict(_REGISTRY)
