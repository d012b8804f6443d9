"""Factorization Machines hyperparameters, named, defaulted and ranged as SageMaker documents them.

Source: "Factorization Machines Hyperparameters" (``fact-machines-hyperparameters``) of the SageMaker
developer guide. ``feature_dim``, ``num_factors`` and ``predictor_type`` are required there; sagespark
infers ``feature_dim`` from the data when it is left out.

The guide lists no default ("None") for ``clip_gradient``, ``eps``, ``rescale_grad`` and the
``*_init_scale`` / ``*_init_value`` values; here such a value is ``"auto"`` when it is not set, and
:func:`optimizer_settings` / :func:`init_spec` say what "not set" means (MXNet's optimizer semantics,
on which SageMaker's implementation is built: no clipping, ``eps=1e-8``, gradients averaged over the
global mini-batch). A ``uniform`` or ``constant`` initialisation without its scale / value is an error,
since the guide gives no default for it.

Examples
--------
>>> hp = FactorizationMachinesHyperparameters.from_wire(
...     {"num_factors": "8", "predictor_type": "regressor", "factors_lr": "0.01"})
>>> hp.epochs, hp.mini_batch_size, hp.bias_lr, hp.factors_lr, hp.clip_gradient
(1, 1000, 0.1, 0.01, 'auto')
"""

from __future__ import annotations

from dataclasses import dataclass

from sagespark.errors import InvalidHyperparameterError
from sagespark.hyperparams import AUTO, Choice, Float, Hyperparameters, Int

__all__ = [
    "FactorizationMachinesHyperparameters",
    "InitSpec",
    "OptimizerSettings",
    "init_spec",
    "optimizer_settings",
    "TERMS",
    "DEFAULT_EPS",
]

TERMS = ("bias", "linear", "factors")
"""The three parameter groups, each with its own learning rate, weight decay and initialisation."""

DEFAULT_EPS = 1e-8
"""Adam's epsilon when ``eps`` is not set (MXNet's Adam default)."""

_INIT_METHODS = ["normal", "uniform", "constant"]


def _lr(term: str, default: float) -> Float:
    return Float(f"The learning rate for the {term} term(s).", default, low=0.0)


def _wd(term: str, default: float) -> Float:
    return Float(f"The weight decay for the {term} term(s).", default, low=0.0)


def _method(term: str) -> Choice:
    return Choice(
        f"The initialization method for the {term} term(s): normal (zero-mean Gaussian with "
        f"{term}_init_sigma), uniform (in [-{term}_init_scale, +{term}_init_scale]) or constant "
        f"({term}_init_value).",
        _INIT_METHODS,
        "normal",
    )


def _scale(term: str) -> Float:
    return Float(f"Range of the {term} initialization when {term}_init_method is uniform.", AUTO, low=0.0,
                 allow_auto=True)


def _sigma(term: str, default: float) -> Float:
    return Float(f"Standard deviation of the {term} initialization when {term}_init_method is normal.",
                 default, low=0.0)


def _value(term: str) -> Float:
    return Float(f"Initial value of the {term} term(s) when {term}_init_method is constant.", AUTO,
                 allow_auto=True)


class FactorizationMachinesHyperparameters(Hyperparameters):
    """SageMaker Factorization Machines hyperparameters (names, defaults and ranges of the guide)."""

    display_name = "FactorizationMachines"

    feature_dim = Int("The dimension of the input feature space (inferred when left out).", low=1,
                      inferred=True)
    num_factors = Int("The dimensionality of factorization.", low=1)
    predictor_type = Choice("The type of predictor.", ["binary_classifier", "regressor"])
    epochs = Int("The number of training epochs to run.", 1, low=1)
    mini_batch_size = Int("The size of mini-batch used for training (per worker).", 1000, low=1)

    bias_lr = _lr("bias", 0.1)
    linear_lr = _lr("linear", 0.001)
    factors_lr = _lr("factorization", 0.0001)
    bias_wd = _wd("bias", 0.01)
    linear_wd = _wd("linear", 0.001)
    factors_wd = _wd("factorization", 0.00001)

    bias_init_method = _method("bias")
    bias_init_scale = _scale("bias")
    bias_init_sigma = _sigma("bias", 0.01)
    bias_init_value = _value("bias")
    linear_init_method = _method("linear")
    linear_init_scale = _scale("linear")
    linear_init_sigma = _sigma("linear", 0.01)
    linear_init_value = _value("linear")
    factors_init_method = _method("factors")
    factors_init_scale = _scale("factors")
    factors_init_sigma = _sigma("factors", 0.001)
    factors_init_value = _value("factors")

    clip_gradient = Float(
        "Clip the gradient by projecting onto [-clip_gradient, +clip_gradient] (a negative value or "
        "auto: no clipping).",
        AUTO,
        allow_auto=True,
    )
    eps = Float("Epsilon of the optimizer, to avoid division by 0 (auto: 1e-8).", AUTO, low=0.0,
                allow_auto=True)
    rescale_grad = Float(
        "Multiplies the summed mini-batch gradient before the update (auto: 1 / rows in the global "
        "mini-batch, i.e. the mean).",
        AUTO,
        low=0.0,
        low_open=True,
        allow_auto=True,
    )


@dataclass(frozen=True)
class InitSpec:
    """How one parameter group starts: ``method`` with its ``amount`` (sigma, scale or value)."""

    method: str
    amount: float


@dataclass(frozen=True)
class OptimizerSettings:
    """Per-group learning rates and weight decays, plus the Adam constants and gradient handling."""

    lr: dict[str, float]
    wd: dict[str, float]
    eps: float
    clip: float | None
    rescale: float | None
    """``None``: divide the summed gradient by the global mini-batch's row count."""


def init_spec(hp: Hyperparameters, term: str) -> InitSpec:
    """The initialisation of ``term`` (``"bias"``, ``"linear"`` or ``"factors"``).

    Raises
    ------
    InvalidHyperparameterError
        For ``uniform`` without ``<term>_init_scale`` or ``constant`` without ``<term>_init_value``.

    Examples
    --------
    >>> hp = FactorizationMachinesHyperparameters.from_dict(
    ...     {"num_factors": 4, "predictor_type": "regressor", "bias_init_method": "constant",
    ...      "bias_init_value": 3.5})
    >>> init_spec(hp, "bias"), init_spec(hp, "factors")
    (InitSpec(method='constant', amount=3.5), InitSpec(method='normal', amount=0.001))
    """
    method = hp[f"{term}_init_method"]
    key = {"normal": "sigma", "uniform": "scale", "constant": "value"}[method]
    amount = hp[f"{term}_init_{key}"]
    if amount == AUTO:
        raise InvalidHyperparameterError(
            f"The '{term}_init_{key}' parameter of FactorizationMachines is required when "
            f"{term}_init_method is {method!r} and was not given."
        )
    return InitSpec(method, float(amount))


def optimizer_settings(hp: Hyperparameters) -> OptimizerSettings:
    """The optimizer's settings with the unset (``"auto"``) values resolved.

    Examples
    --------
    >>> hp = FactorizationMachinesHyperparameters.from_dict(
    ...     {"num_factors": 4, "predictor_type": "regressor", "clip_gradient": -1})
    >>> s = optimizer_settings(hp)
    >>> s.lr["factors"], s.eps, s.clip, s.rescale
    (0.0001, 1e-08, None, None)
    """
    clip = hp["clip_gradient"]
    rescale = hp["rescale_grad"]
    return OptimizerSettings(
        lr={t: float(hp[f"{t}_lr"]) for t in TERMS},
        wd={t: float(hp[f"{t}_wd"]) for t in TERMS},
        eps=DEFAULT_EPS if hp["eps"] == AUTO else float(hp["eps"]),
        clip=None if clip == AUTO or float(clip) < 0 else float(clip),
        rescale=None if rescale == AUTO else float(rescale),
    )
