"""K-Means through Spark (local[2]) on scikit-learn's digits: quality, metrics, persistence, errors."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from ml_digits import digits_arrays, to_vector_df

from sagespark import KMeans, KMeansModel
from sagespark.errors import DataFormatError, InvalidHyperparameterError

pytestmark = pytest.mark.spark


@pytest.fixture(scope="module")
def digits(spark: Any) -> dict[str, Any]:
    x, y = digits_arrays()
    return {
        "x_train": x[:1500], "y_train": y[:1500], "x_test": x[1500:], "y_test": y[1500:],
        "train": to_vector_df(spark, x[:1500], y[:1500], features="pixels").repartition(2),
        "test": to_vector_df(spark, x[1500:], y[1500:], features="pixels"),
    }


@pytest.fixture(scope="module")
def model(digits: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> KMeansModel:
    store = tmp_path_factory.mktemp("kmeans-store")
    kmeans = KMeans(
        k=10, featuresCol="pixels", numWorkers=2, init_method="kmeans++", eval_metrics=["msd", "ssd"],
        storeUri=str(store),
    )
    return kmeans.setTestData(digits["test"]).fit(digits["train"])


def test_clusters_as_well_as_scikit_learn(model: KMeansModel, digits: dict[str, Any]) -> None:
    from sklearn.cluster import KMeans as SkKMeans
    from sklearn.metrics import adjusted_rand_score

    sk = SkKMeans(n_clusters=10, n_init=10, random_state=0).fit(digits["x_train"])
    sk_msd = sk.inertia_ / len(digits["x_train"])
    assert model.metrics["train:msd"] <= 1.1 * sk_msd
    rows = model.transform(digits["train"]).select("label", "closest_cluster").collect()
    clusters = np.array([r["closest_cluster"] for r in rows])
    assert set(np.unique(clusters)) <= set(range(10))
    assert adjusted_rand_score([r["label"] for r in rows], clusters) > 0.5


def test_test_channel_metrics_match_the_transform(model: KMeansModel, digits: dict[str, Any]) -> None:
    rows = model.transform(digits["test"]).select("distance_to_cluster").collect()
    distance = np.array([r[0] for r in rows])
    assert len(distance) == len(digits["x_test"])
    np.testing.assert_allclose(model.metrics["test:msd"], np.mean(distance**2), rtol=1e-4)
    np.testing.assert_allclose(model.metrics["test:ssd"], np.sum(distance**2), rtol=1e-4)
    assert model.getK() == 10 and model.getFeatureDim() == 64


def test_missing_k_is_named(digits: dict[str, Any]) -> None:
    with pytest.raises(InvalidHyperparameterError, match="'k' parameter of KMeans is required"):
        KMeans(featuresCol="pixels").fit(digits["train"])


def test_wrong_features_type_names_the_column(spark: Any) -> None:
    df = spark.createDataFrame([("a",), ("b",)], ["pixels"])
    with pytest.raises(DataFormatError, match="'pixels'"):
        KMeans(k=2, featuresCol="pixels").fit(df)
    with pytest.raises(DataFormatError, match="'features'"):
        KMeans(k=2).fit(df)  # the default column does not exist


def test_transform_checks_columns(model: KMeansModel, digits: dict[str, Any], spark: Any) -> None:
    with pytest.raises(DataFormatError, match="'pixels'"):
        model.transform(spark.createDataFrame([("a",)], ["pixels"]))
    clashing = digits["test"].withColumnRenamed("label", "closest_cluster")
    with pytest.raises(DataFormatError, match="'closest_cluster' already exists"):
        model.transform(clashing)
    renamed = model.copy().setClosestClusterCol("cluster").transform(clashing)
    assert renamed.columns[-2:] == ["cluster", "distance_to_cluster"]


def test_channels_must_be_the_algorithms(digits: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="does not take a 'validation' channel; its channels are"):
        KMeans(k=3).setValidationData(digits["test"])
    with pytest.raises(ValueError, match="'validation'"):
        KMeans(k=3).fitWithChannels(digits["train"], validation=digits["test"])


def test_array_features_and_fit_with_channels(spark: Any, tmp_path: Path) -> None:
    # Plain array<double> columns work as well as Vectors; fitWithChannels takes the test channel.
    rng = np.random.default_rng(3)
    x = np.vstack([rng.normal(0, 0.1, (20, 3)), rng.normal(5, 0.1, (20, 3))])
    df = spark.createDataFrame([(row.tolist(),) for row in x], ["f"])
    model = KMeans(k=2, featuresCol="f", numWorkers=1, storeUri=str(tmp_path)).fitWithChannels(df, test=df)
    assert model.metrics["test:msd"] < 0.1
    clusters = [r[0] for r in model.transform(df).select("closest_cluster").collect()]
    assert len(set(clusters[:20])) == 1 and len(set(clusters[20:])) == 1 and clusters[0] != clusters[-1]

    # Overwrite a saved model with another one: reloading must serve the new model, even in Python
    # workers that still hold the first one.
    def distances(m: KMeansModel) -> list[float]:
        return [r[0] for r in m.transform(df).select("distance_to_cluster").collect()]

    path = str(tmp_path / "saved")
    model.write().save(path)
    first = distances(KMeansModel.load(path))
    shifted = spark.createDataFrame([((row + 100.0).tolist(),) for row in x], ["f"])
    other = KMeans(k=2, featuresCol="f", numWorkers=1, storeUri=str(tmp_path)).fit(shifted)
    other.write().overwrite().save(path)
    second = distances(KMeansModel.load(path))
    assert second == distances(other) and min(second) > 100 > max(first)


def test_pipeline_with_a_java_stage_fits_saves_and_loads(spark: Any, tmp_path: Path) -> None:
    from pyspark.ml import Pipeline, PipelineModel
    from pyspark.ml.feature import VectorAssembler

    rng = np.random.default_rng(5)
    points = np.vstack([rng.normal(0, 0.1, (15, 2)), rng.normal(4, 0.1, (15, 2))])
    rows = [(float(a), float(b)) for a, b in points]
    df = spark.createDataFrame(rows, ["a", "b"])
    pipeline = Pipeline(stages=[
        VectorAssembler(inputCols=["a", "b"], outputCol="features"),
        KMeans(k=2, numWorkers=1, storeUri=str(tmp_path / "store")),
    ])
    pipeline.write().overwrite().save(str(tmp_path / "pipeline"))
    fitted = Pipeline.load(str(tmp_path / "pipeline")).fit(df)
    expected = [r["closest_cluster"] for r in fitted.transform(df).collect()]
    fitted.write().overwrite().save(str(tmp_path / "pipeline-model"))
    loaded = PipelineModel.load(str(tmp_path / "pipeline-model"))
    assert isinstance(loaded.stages[1], KMeansModel)
    assert [r["closest_cluster"] for r in loaded.transform(df).collect()] == expected
