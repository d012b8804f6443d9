"""K-Means and PCA hyperparameters: SageMaker names, defaults, ranges, wire decoding, error messages."""

from __future__ import annotations

import pytest

from sagespark.algorithms import get_algorithm
from sagespark.algorithms.kmeans import KMeans, KMeansHyperparameters
from sagespark.algorithms.kmeans.hyperparameters import resolve_extra_center_factor, resolve_num_trials
from sagespark.algorithms.pca import PCA, PCAHyperparameters
from sagespark.algorithms.pca.hyperparameters import sketch_width
from sagespark.errors import InvalidHyperparameterError


def test_registry_names_and_outputs() -> None:
    assert get_algorithm("kmeans") is KMeans
    assert get_algorithm("pca") is PCA
    assert [f.name for f in KMeans.outputs] == ["closest_cluster", "distance_to_cluster"]
    assert [f.kind for f in KMeans.outputs] == ["double", "double"]
    assert [(f.name, f.kind) for f in PCA.outputs] == [("projection", "vector")]
    assert PCA.response_key == "projections"
    assert KMeans.channels == PCA.channels == ("train", "test")


def test_kmeans_defaults_match_sagemaker() -> None:
    hp = KMeansHyperparameters.from_dict({"k": 4})
    assert hp.to_dict() == {
        "k": 4,
        "feature_dim": None,
        "mini_batch_size": 5000,
        "epochs": 1,
        "init_method": "random",
        "extra_center_factor": "auto",
        "local_lloyd_max_iter": 300,
        "local_lloyd_tol": 0.0001,
        "local_lloyd_init_method": "kmeans++",
        "local_lloyd_num_trials": "auto",
        "half_life_time_size": 0,
        "eval_metrics": ["msd"],
    }
    assert KMeansHyperparameters.required_names() == ["k", "feature_dim"]


def test_kmeans_wire_strings_decode() -> None:
    hp = KMeansHyperparameters.from_wire({
        "k": "10", "feature_dim": "64", "eval_metrics": '["msd","ssd"]', "extra_center_factor": "auto",
        "local_lloyd_num_trials": "3", "local_lloyd_tol": "0.01", "init_method": "kmeans++",
    })
    assert hp["eval_metrics"] == ["msd", "ssd"]
    assert resolve_extra_center_factor(hp) == 10
    assert resolve_num_trials(hp) == 3
    assert hp["local_lloyd_tol"] == 0.01 and hp["feature_dim"] == 64
    assert KMeansHyperparameters.from_wire(hp.to_wire()) == hp
    assert KMeansHyperparameters.from_dict({"k": 2, "eval_metrics": "ssd"})["eval_metrics"] == ["ssd"]
    three = KMeansHyperparameters.from_dict({"k": 2, "extra_center_factor": 3})
    assert resolve_extra_center_factor(three) == 3


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"k": 0}, "The 'k' parameter of KMeans must be an int in the range [1, inf). Got 0 instead."),
        ({"k": "2.5"},
         "The 'k' parameter of KMeans must be an int in the range [1, inf). Got '2.5' instead."),
        ({"k": 2, "local_lloyd_tol": "1.5"},
         "The 'local_lloyd_tol' parameter of KMeans must be a float in the range [0.0, 1.0]. "
         "Got '1.5' instead."),
        ({"k": 2, "init_method": "kmeans"},
         "The 'init_method' parameter of KMeans must be a str among {'random', 'kmeans++'}. "
         "Got 'kmeans' instead."),
        ({"k": 2, "extra_center_factor": 0},
         "The 'extra_center_factor' parameter of KMeans must be an int in the range [1, inf) or \"auto\". "
         "Got 0 instead."),
        ({"k": 2, "local_lloyd_num_trials": "none"}, "'local_lloyd_num_trials' parameter of KMeans"),
        ({"k": 2, "half_life_time_size": -1},
         "'half_life_time_size' parameter of KMeans must be an int in the range [0, inf)"),
        ({"k": 2, "epochs": 0}, "'epochs' parameter of KMeans must be an int in the range [1, inf)"),
        ({"k": 2, "eval_metrics": '["msd","mae"]'}, "'eval_metrics' parameter of KMeans must be a list whose "
                                                    "items are each a str among {'msd', 'ssd'}"),
        ({"k": 2, "mini_batch_size": 0}, "'mini_batch_size' parameter of KMeans"),
        ({}, "The 'k' parameter of KMeans is required and was not given."),
        ({"k": 2, "num_components": 3}, "Unknown hyperparameter(s) ['num_components'] for KMeans"),
    ],
)
def test_kmeans_invalid_values(values: dict[str, object], message: str) -> None:
    with pytest.raises(InvalidHyperparameterError) as info:
        KMeansHyperparameters.from_dict(values)
    assert message in str(info.value)


def test_pca_defaults_and_wire() -> None:
    hp = PCAHyperparameters.from_wire({"num_components": "3", "subtract_mean": "False",
                                       "algorithm_mode": "randomized", "extra_components": "-1"})
    assert (hp["subtract_mean"], hp["algorithm_mode"], hp["extra_components"]) == (False, "randomized", -1)
    default = PCAHyperparameters.from_dict({"num_components": 3})
    got = (default["algorithm_mode"], default["subtract_mean"], default["extra_components"])
    assert got == ("regular", True, -1)
    assert set(PCAHyperparameters.required_names()) == {"num_components", "feature_dim", "mini_batch_size"}
    assert PCAHyperparameters.from_wire(hp.to_wire()) == hp


def test_pca_extra_components_default_means_max_of_10_and_num_components() -> None:
    assert sketch_width(PCAHyperparameters.from_dict({"num_components": 3}), feature_dim=500) == 13
    assert sketch_width(PCAHyperparameters.from_dict({"num_components": 40}), feature_dim=500) == 80
    assert sketch_width(PCAHyperparameters.from_dict({"num_components": 3, "extra_components": 0}),
                        feature_dim=500) == 3
    assert sketch_width(PCAHyperparameters.from_dict({"num_components": 3}), feature_dim=8) == 8


def test_pca_mini_batch_size_is_inferred_when_missing() -> None:
    import numpy as np

    from sagespark.algorithms import ChannelData

    hp = PCA.infer_hyperparameters(PCAHyperparameters.from_dict({"num_components": 2}),
                                   ChannelData(np.zeros((5, 7), np.float32)))
    assert (hp["mini_batch_size"], hp["feature_dim"]) == (500, 7)


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"num_components": 0}, "The 'num_components' parameter of PCA must be an int in the range [1, inf). "
                                "Got 0 instead."),
        ({"num_components": 2, "extra_components": -2},
         "The 'extra_components' parameter of PCA must be an int in the range [-1, inf). Got -2 instead."),
        ({"num_components": 2, "algorithm_mode": "fast"},
         "The 'algorithm_mode' parameter of PCA must be a str among {'regular', 'randomized'}. "
         "Got 'fast' instead."),
        ({"num_components": 2, "subtract_mean": "maybe"},
         "The 'subtract_mean' parameter of PCA must be a bool. Got 'maybe' instead."),
        ({"num_components": 2, "mini_batch_size": -5}, "'mini_batch_size' parameter of PCA"),
        ({}, "The 'num_components' parameter of PCA is required and was not given."),
    ],
)
def test_pca_invalid_values(values: dict[str, object], message: str) -> None:
    with pytest.raises(InvalidHyperparameterError) as info:
        PCAHyperparameters.from_dict(values)
    assert message in str(info.value)
