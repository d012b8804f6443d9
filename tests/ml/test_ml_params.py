"""Spark Params generated from an algorithm's declaration (no Spark session needed)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, ClassVar

import pytest

from sagespark.algorithms.base import Algorithm, InputField, OutputField, Predictor, TrainResult
from sagespark.errors import InvalidHyperparameterError
from sagespark.hyperparams import AUTO, Bool, Choice, Float, Hyperparameters, Int
from sagespark.ml.estimator import SageMakerEstimator
from sagespark.ml.kmeans import KMeans, KMeansModel
from sagespark.ml.model import SageMakerModel
from sagespark.ml.params import camel_case, output_param_name, pascal_case
from sagespark.ml.pca import PCA
from sagespark.ml.registry import estimator_for, estimators, module_name


class ToyHP(Hyperparameters):
    display_name = "Toy"
    n_things = Int("How many things.", low=1)
    rate = Float("A rate.", 0.5, low=0.0, high=1.0)
    mode = Choice("A mode.", ["a", "b"], "a")
    flag = Bool("A flag.", True)
    width = Int("Width.", AUTO, low=1, allow_auto=True)


class Toy(Algorithm):
    """Test-only algorithm (not registered): a label input and a verbose output."""

    name: ClassVar[str] = "toy"
    hyperparameters: ClassVar[type[Hyperparameters]] = ToyHP
    inputs = (InputField("features", "vector", "featuresCol"), InputField("label", "double", "labelCol"))
    outputs = (OutputField("score", "double"), OutputField("neighbour_labels", "vector", verbose=True))

    @classmethod
    def train(cls, ctx: Any, data: Any, hp: Any) -> TrainResult:
        raise NotImplementedError

    @classmethod
    def write_state(cls, state: Any, directory: Path) -> None:
        raise NotImplementedError

    @classmethod
    def load(cls, directory: Path, hp: Any) -> Predictor:
        raise NotImplementedError


class ToyModel(SageMakerModel):
    sagemaker_algorithm = Toy


class ToyEstimator(SageMakerEstimator):
    sagemaker_algorithm = Toy
    model_class = ToyModel


def test_name_conversions() -> None:
    assert camel_case("mini_batch_size") == "miniBatchSize"
    assert pascal_case("k") == "K"
    assert pascal_case("featuresCol") == "FeaturesCol"
    assert output_param_name("distance_to_cluster") == "distanceToClusterCol"


def test_every_declaration_becomes_a_param() -> None:
    est = ToyEstimator()
    names = {p.name for p in est.params}
    assert names == {
        "n_things", "rate", "mode", "flag", "width",
        "featuresCol", "labelCol", "scoreCol", "neighbourLabelsCol", "verbose",
        "numWorkers", "storeUri", "useGpu",
    }
    assert est.getParam("rate").doc.startswith("A rate.")
    assert "(required)" in est.getParam("n_things").doc


def test_defaults_follow_the_spec() -> None:
    est = ToyEstimator()
    assert not est.isDefined("n_things")  # required: no default
    assert est.getRate() == 0.5 and est.getMode() == "a" and est.getFlag() is True
    assert est.getWidth() == "auto"  # 'auto' stays 'auto'
    assert (est.getFeaturesCol(), est.getLabelCol()) == ("features", "label")
    assert (est.getScoreCol(), est.getNeighbourLabelsCol()) == ("score", "neighbour_labels")
    assert est.getVerbose() is False
    assert est.getNumWorkers() is None and est.getStoreUri() is None and est.getUseGpu() is None


def test_keyword_constructor_and_setters_validate_and_canonicalise() -> None:
    est = ToyEstimator(n_things="4", rate=1, flag="False", featuresCol="f", numWorkers=2)
    assert est.getNThings() == 4 and isinstance(est.getNThings(), int)
    assert est.getRate() == 1.0 and est.getFlag() is False
    assert est.setWidth("7") is est and est.getWidth() == 7
    est.set(est.mode, "b")
    assert est.getOrDefault("mode") == "b"
    expected = {"n_things": 4, "rate": 1.0, "mode": "b", "flag": False, "width": 7}
    assert est._hyperparameter_values() == expected


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("n_things", 0, "The 'n_things' parameter of Toy must be an int in the range [1, inf). Got 0"),
        ("rate", "x", "The 'rate' parameter of Toy must be a float in the range [0.0, 1.0]. Got 'x'"),
        ("mode", "c", "The 'mode' parameter of Toy must be a str among {'a', 'b'}. Got 'c' instead."),
        ("flag", "maybe", "The 'flag' parameter of Toy must be a bool. Got 'maybe' instead."),
        ("width", 0, "The 'width' parameter of Toy must be an int in the range [1, inf) or \"auto\"."),
    ],
)
def test_bad_values_raise_typed_errors_everywhere(name: str, value: Any, message: str) -> None:
    with pytest.raises(InvalidHyperparameterError, match=re.escape(message)):
        ToyEstimator(**{name: value})
    est = ToyEstimator()
    with pytest.raises(InvalidHyperparameterError):
        getattr(est, "set" + pascal_case(name))(value)
    with pytest.raises(InvalidHyperparameterError):
        est.set(est.getParam(name), value)  # PySpark's set() would re-wrap it in a bare ValueError
    with pytest.raises(InvalidHyperparameterError):
        est.copy({est.getParam(name): value})


def test_framework_params_are_validated() -> None:
    with pytest.raises(InvalidHyperparameterError, match="'numWorkers' parameter of ToyEstimator"):
        ToyEstimator(numWorkers=0)


def test_unknown_keyword_names_the_closest_param() -> None:
    with pytest.raises(TypeError, match="Did you mean 'mini_batch_size'"):
        KMeans(k=3, miniBatchSize=10)
    with pytest.raises(TypeError, match="unexpected parameter 'bogus'"):
        KMeans(bogus=1)


def test_model_gets_hyperparameter_getters_but_no_setters() -> None:
    model = ToyModel()
    assert hasattr(model, "getRate") and not hasattr(model, "setRate")
    assert hasattr(model, "setFeaturesCol") and hasattr(model, "setScoreCol")
    assert not model.hasParam("numWorkers")
    with pytest.raises(TypeError, match="unexpected parameter 'rate'"):
        ToyModel(rate=0.1)


def test_verbose_outputs_are_written_only_when_asked() -> None:
    model = ToyModel(scoreCol="s")
    assert model._output_columns() == {"score": "s"}
    model._set(verbose=True)
    assert model._output_columns() == {"score": "s", "neighbour_labels": "neighbour_labels"}


def test_a_shadowing_hyperparameter_is_refused_at_class_creation() -> None:
    class BadHP(Hyperparameters):
        param = Int("Would generate getParam, which Params already has.", 1)

    class Bad(Toy):
        hyperparameters = BadHP

    with pytest.raises(TypeError, match="getParam"):

        class BadEstimator(SageMakerEstimator):
            sagemaker_algorithm = Bad


def test_kmeans_and_pca_params_use_sagemaker_names() -> None:
    kmeans = KMeans(k=10, mini_batch_size=500, featuresCol="pixels")
    assert kmeans.getK() == 10 and kmeans.getMiniBatchSize() == 500
    assert kmeans.getInitMethod() == "random" and kmeans.getEvalMetrics() == ["msd"]
    assert not kmeans.hasParam("labelCol")  # K-Means reads no label
    assert KMeansModel().getClosestClusterCol() == "closest_cluster"
    pca = PCA(num_components=2)
    assert pca.getNumComponents() == 2 and pca.getSubtractMean() is True
    assert pca.getParam("projectionCol") is not None


def test_registry_finds_every_pair() -> None:
    found = estimators()
    assert found["kmeans"] is KMeans and found["pca"] is PCA
    assert "toy" not in found  # unregistered algorithms stay out of the suite
    assert estimator_for("pca") is PCA
    assert module_name("linear-learner") == "sagespark.ml.linear_learner"
    with pytest.raises(KeyError, match="No Spark Estimator"):
        estimator_for("no-such-algorithm")


def test_import_sagespark_is_light_and_exports_the_pairs() -> None:
    import subprocess
    import sys

    code = "import sys, sagespark; assert 'pyspark' not in sys.modules; print(sagespark.KMeans.__module__)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "sagespark.ml.kmeans"


def test_none_clears_a_param() -> None:
    est = ToyEstimator(n_things=3, rate=0.25, storeUri="/tmp/x")
    est.setParams(rate=None, storeUri=None, n_things=None)
    assert est.getRate() == 0.5 and est.getStoreUri() is None
    assert est.setRate(0.75).setRate(None).getRate() == 0.5
    assert not est.isSet("n_things") and not est.isDefined("n_things")
