"""The declarative hyperparameter specs: defaults, validation messages, and SageMaker's wire form."""

from __future__ import annotations

import pytest

from sagespark.errors import InvalidHyperparameterError
from sagespark.hyperparams import AUTO, Bool, Choice, Float, Hyperparameters, Int, List


class DemoHP(Hyperparameters):
    display_name = "Demo"
    k = Int("Clusters.", low=2)
    feature_dim = Int("Features.", low=1, inferred=True)
    rate = Float("Rate.", 0.1, low=0.0, low_open=True, high=1.0)
    mode = Choice("Mode.", ["regular", "randomized"], "regular")
    flag = Bool("Flag.", True)
    trials = Int("Trials.", AUTO, low=1, allow_auto=True)
    metrics = List("Metrics.", Choice("metric", ["msd", "ssd"]), ["msd"])


def test_defaults_and_inferred_value_left_open() -> None:
    hp = DemoHP.from_dict({"k": 3})
    assert hp.to_dict() == {
        "k": 3, "feature_dim": None, "rate": 0.1, "mode": "regular", "flag": True,
        "trials": "auto", "metrics": ["msd"],
    }
    assert DemoHP.required_names() == ["k", "feature_dim"]


def test_wire_strings_decode_to_python_values() -> None:
    hp = DemoHP.from_wire({
        "k": "10", "feature_dim": "64", "rate": "0.5", "mode": "randomized", "flag": "False",
        "trials": "auto", "metrics": '["msd", "ssd"]',
    })
    assert (hp.k, hp.feature_dim, hp.rate, hp.mode, hp.flag, hp.trials, hp.metrics) == (
        10, 64, 0.5, "randomized", False, "auto", ["msd", "ssd"],
    )
    assert DemoHP.from_wire(hp.to_wire()) == hp
    assert hp.to_wire()["flag"] == "False" and hp.to_wire()["metrics"] == '["msd", "ssd"]'
    assert DemoHP.from_dict({"k": "4", "metrics": "msd,ssd"}).metrics == ["msd", "ssd"]
    assert DemoHP.from_dict({"k": "4.0"}).k == 4


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"k": 1}, "The 'k' parameter of Demo must be an int in the range [2, inf). Got 1 instead."),
        ({"k": "2.5"}, "The 'k' parameter of Demo must be an int in the range [2, inf). Got '2.5' instead."),
        ({"k": True}, "The 'k' parameter of Demo must be an int"),
        ({"k": 3, "rate": 0.0}, "The 'rate' parameter of Demo must be a float in the range (0.0, 1.0]."),
        ({"k": 3, "rate": "nan"}, "The 'rate' parameter of Demo must be a float"),
        ({"k": 3, "mode": "fast"}, "must be a str among {'regular', 'randomized'}. Got 'fast' instead."),
        ({"k": 3, "flag": "maybe"}, "The 'flag' parameter of Demo must be a bool"),
        ({"k": 3, "trials": 0}, 'must be an int in the range [1, inf) or "auto"'),
        ({"k": 3, "metrics": '["mse"]'}, "must be a list whose items are each a str among {'msd', 'ssd'}"),
        ({}, "The 'k' parameter of Demo is required and was not given."),
        ({"k": 3, "kk": 1}, "Unknown hyperparameter(s) ['kk'] for Demo"),
    ],
)
def test_invalid_values_raise_sklearn_style_messages(values: dict[str, object], message: str) -> None:
    with pytest.raises(InvalidHyperparameterError) as info:
        DemoHP.from_dict(values)
    assert message in str(info.value)
    assert isinstance(info.value, ValueError)


def test_inferred_required_value_is_an_error_when_inference_is_off() -> None:
    with pytest.raises(InvalidHyperparameterError, match="'feature_dim' parameter of Demo is required"):
        DemoHP.from_dict({"k": 3}, allow_missing_inferred=False)


def test_replace_validates_and_keeps_other_values() -> None:
    hp = DemoHP.from_dict({"k": 3, "rate": 0.2}).replace(feature_dim=8)
    assert (hp.k, hp.rate, hp.feature_dim) == (3, 0.2, 8)
    with pytest.raises(InvalidHyperparameterError):
        hp.replace(feature_dim=0)


def test_an_invalid_default_fails_at_declaration() -> None:
    # Python 3.11 wraps errors raised in __set_name__ in a RuntimeError; the cause is ours.
    with pytest.raises((InvalidHyperparameterError, RuntimeError)) as info:

        class Broken(Hyperparameters):
            k = Int("Clusters.", 1, low=2)

    cause = info.value if isinstance(info.value, InvalidHyperparameterError) else info.value.__cause__
    assert isinstance(cause, InvalidHyperparameterError)
    assert "Got 1 instead" in str(cause)


class OptionalHP(Hyperparameters):
    display_name = "Opt"
    reduction = Choice("Reduction.", ["sign", "fjlt"], None)
    pq_m = Int("Sub-quantizers.", None, values=(1, 2, 4, 8))


def test_optional_values_stay_unset_and_leave_the_wire_form() -> None:
    hp = OptionalHP.from_dict({})
    assert (hp.reduction, hp.pq_m) == (None, None)
    assert hp.to_wire() == {}
    given = OptionalHP.from_wire({"reduction": "fjlt", "pq_m": "4"})
    assert given.to_dict() == {"reduction": "fjlt", "pq_m": 4}
    with pytest.raises(InvalidHyperparameterError, match=r"must be an int among \{1, 2, 4, 8\}. Got 3"):
        OptionalHP.from_dict({"pq_m": 3})
