"""Factorization Machines hyperparameters: SageMaker's names, defaults, ranges and "not set" values."""

from __future__ import annotations

import pytest

from sagespark.algorithms.factorization_machines.hyperparameters import (
    FactorizationMachinesHyperparameters as HP,
)
from sagespark.algorithms.factorization_machines.hyperparameters import init_spec, optimizer_settings
from sagespark.errors import InvalidHyperparameterError

REQUIRED = {"num_factors": 4, "predictor_type": "regressor"}


def test_defaults_are_the_developer_guide_defaults() -> None:
    hp = HP.from_dict(REQUIRED)
    expected = {
        "epochs": 1, "mini_batch_size": 1000, "bias_lr": 0.1, "linear_lr": 0.001, "factors_lr": 0.0001,
        "bias_wd": 0.01, "linear_wd": 0.001, "factors_wd": 0.00001, "bias_init_method": "normal",
        "linear_init_method": "normal", "factors_init_method": "normal", "bias_init_sigma": 0.01,
        "linear_init_sigma": 0.01, "factors_init_sigma": 0.001,
    }
    assert {k: hp[k] for k in expected} == expected
    unset = ["clip_gradient", "eps", "rescale_grad"] + [
        f"{t}_init_{a}" for t in ("bias", "linear", "factors") for a in ("scale", "value")]
    assert all(hp[name] == "auto" for name in unset)
    assert sorted(HP.required_names()) == ["feature_dim", "num_factors", "predictor_type"]


def test_wire_form_round_trips() -> None:
    hp = HP.from_wire({"num_factors": "64", "predictor_type": "binary_classifier", "feature_dim": "10000",
                       "clip_gradient": "5.0", "factors_init_method": "uniform", "factors_init_scale": "0.1"})
    assert HP.from_wire(hp.to_wire()) == hp
    assert init_spec(hp, "factors").amount == 0.1 and optimizer_settings(hp).clip == 5.0


@pytest.mark.parametrize(("name", "bad"), [
    ("num_factors", 0), ("predictor_type", "multiclass_classifier"), ("factors_lr", -0.1),
    ("linear_wd", -1.0), ("bias_init_method", "xavier"), ("eps", -1e-8), ("rescale_grad", 0.0),
    ("mini_batch_size", 0), ("epochs", 0),
])
def test_out_of_range_values_are_rejected_by_name(name: str, bad: object) -> None:
    with pytest.raises(InvalidHyperparameterError, match=f"The '{name}' parameter of FactorizationMachines"):
        HP.from_dict({**REQUIRED, name: bad})


def test_a_negative_clip_gradient_means_no_clipping_as_in_mxnet() -> None:
    assert optimizer_settings(HP.from_dict({**REQUIRED, "clip_gradient": -1.0})).clip is None


def test_constant_initialisation_needs_its_value() -> None:
    with pytest.raises(InvalidHyperparameterError, match="'bias_init_value' parameter .* required"):
        init_spec(HP.from_dict({**REQUIRED, "bias_init_method": "constant"}), "bias")
