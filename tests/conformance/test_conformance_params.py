"""Conformance, part 1 (no Spark): every algorithm's Params mirror its declaration exactly.

Parametrised over every registered algorithm with a Spark pair (:func:`sagespark.ml.registry.estimators`),
so a new algorithm is checked without anyone writing these tests again.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from conformance_examples import EXAMPLES

from sagespark.errors import InvalidHyperparameterError
from sagespark.hyperparams import AUTO, REQUIRED, Bool, Choice, Float, Hyperparameter, Int, List
from sagespark.ml.estimator import SageMakerEstimator
from sagespark.ml.params import output_param_name, pascal_case
from sagespark.ml.registry import estimators

PAIRS = estimators()
ALGORITHMS = sorted(PAIRS)


def test_the_builtin_pairs_are_found() -> None:
    assert {"kmeans", "pca"} <= set(ALGORITHMS)


@pytest.mark.parametrize("name", ALGORITHMS)
def test_every_algorithm_has_a_conformance_recipe(name: str) -> None:
    assert name in EXAMPLES, f"add a tiny-data recipe for {name!r} in tests/conformance/recipes/"


def _sample(d: Hyperparameter) -> Any:
    """A valid, non-default value for ``d`` (the default when nothing else is valid)."""
    if isinstance(d, Int):
        low = 1 if d.low is None else d.low
        candidate = low + 1 if d.high is None or low + 1 <= d.high else low
        return candidate if candidate != d.default else low
    if isinstance(d, Float):
        low = 0.0 if d.low is None else float(d.low)
        high = low + 2.0 if d.high is None else float(d.high)
        return (low + high) / 2
    if isinstance(d, Choice):
        return d.options[-1] if d.options[-1] != d.default else d.options[0]
    if isinstance(d, Bool):
        return not d.default if isinstance(d.default, bool) else True
    if isinstance(d, List):
        return [_sample(d.item)]
    return d.default


def _invalid(d: Hyperparameter) -> list[Any]:
    if isinstance(d, Int):
        bad: list[Any] = ["not-a-number", 1.5]
        bad += [] if d.low is None else [d.low - 1]
        bad += [] if d.high is None else [d.high + 1]
        return bad
    if isinstance(d, Float):
        bad = ["not-a-number", float("nan")]
        bad += [] if d.low is None else [d.low - 1.0] + ([d.low] if d.low_open else [])
        bad += [] if d.high is None else [d.high + 1.0] + ([d.high] if d.high_open else [])
        return bad
    if isinstance(d, Choice):
        return ["not-an-option", 3]
    if isinstance(d, Bool):
        return ["maybe"]
    return []


def _fields(name: str) -> list[tuple[str, str, Hyperparameter]]:
    algorithm = PAIRS[name].sagemaker_algorithm
    return [(name, hp, d) for hp, d in algorithm.hyperparameters.fields().items()]


HYPERPARAMETERS = [case for name in ALGORITHMS for case in _fields(name)]
IDS = [f"{a}.{h}" for a, h, _ in HYPERPARAMETERS]


@pytest.mark.parametrize(("name", "hp", "descriptor"), HYPERPARAMETERS, ids=IDS)
def test_every_hyperparameter_is_a_param_with_camelcase_accessors(
    name: str, hp: str, descriptor: Hyperparameter
) -> None:
    est_cls = PAIRS[name]
    est, model = est_cls(), est_cls.model_class()
    param = est.getParam(hp)
    assert param.name == hp and param.doc.startswith(descriptor.doc)
    assert callable(getattr(est, "set" + pascal_case(hp))) and callable(getattr(est, "get" + pascal_case(hp)))
    assert callable(getattr(model, "get" + pascal_case(hp))) and model.hasParam(hp)
    if descriptor.default is REQUIRED:
        assert not est.hasDefault(hp)
    else:
        assert est.getOrDefault(hp) == descriptor.default
        if descriptor.allow_auto and descriptor.default == AUTO:
            assert est.getOrDefault(hp) == "auto"


@pytest.mark.parametrize(("name", "hp", "descriptor"), HYPERPARAMETERS, ids=IDS)
def test_set_get_and_wire_round_trip(name: str, hp: str, descriptor: Hyperparameter) -> None:
    est: SageMakerEstimator = PAIRS[name]()
    value = descriptor.validate(_sample(descriptor))
    getattr(est, "set" + pascal_case(hp))(value)
    assert getattr(est, "get" + pascal_case(hp))() == value
    wire = descriptor.encode(value)
    assert isinstance(wire, str)
    est2: SageMakerEstimator = PAIRS[name](**{hp: wire})  # SageMaker's string form is accepted as well
    assert est2.getOrDefault(hp) == value
    assert descriptor.encode(est2.getOrDefault(hp)) == wire


CHECKED = [case for case in HYPERPARAMETERS if _invalid(case[2])]


@pytest.mark.parametrize(("name", "hp", "descriptor"), CHECKED, ids=[f"{a}.{h}" for a, h, _ in CHECKED])
def test_invalid_values_raise_invalid_hyperparameter_error(
    name: str, hp: str, descriptor: Hyperparameter
) -> None:
    for bad in _invalid(descriptor):
        with pytest.raises(InvalidHyperparameterError, match=re.escape(f"The '{hp}' parameter of ")) as info:
            PAIRS[name](**{hp: bad})
        assert f"Got {bad!r} instead." in str(info.value)
        with pytest.raises(InvalidHyperparameterError):
            getattr(PAIRS[name](), "set" + pascal_case(hp))(bad)


@pytest.mark.parametrize("name", ALGORITHMS)
def test_column_params_derive_from_inputs_and_outputs(name: str) -> None:
    est_cls = PAIRS[name]
    algorithm = est_cls.sagemaker_algorithm
    for est in (est_cls(), est_cls.model_class()):
        for field in algorithm.inputs:
            assert est.getOrDefault(field.param) == field.name
            assert callable(getattr(est, "set" + pascal_case(field.param)))
        for out in algorithm.outputs:
            assert est.getOrDefault(output_param_name(out.name)) == out.name
        assert est.hasParam("labelCol") == any(f.param == "labelCol" for f in algorithm.inputs)
        assert not est.hasParam("predictionCol")


@pytest.mark.parametrize("name", ALGORITHMS)
def test_required_hyperparameters_are_named_when_missing(name: str) -> None:
    est: SageMakerEstimator = PAIRS[name]()
    hp_cls = est.sagemaker_algorithm.hyperparameters
    required = [n for n, d in hp_cls.fields().items() if d.required and not d.inferred]
    for missing in required:
        values = {n: _sample(d) for n, d in hp_cls.fields().items() if d.required and n != missing}
        with pytest.raises(InvalidHyperparameterError, match=f"'{missing}' parameter .* required"):
            PAIRS[name](**values)._resolved_hyperparameters()
