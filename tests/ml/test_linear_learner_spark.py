"""Linear Learner through Spark: per-predictor-type output columns, the validation channel, metrics."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

pytestmark = pytest.mark.spark


def _frame(spark: Any, x: np.ndarray, y: np.ndarray) -> Any:
    from pyspark.ml.linalg import Vectors

    rows = [(i, Vectors.dense(r.tolist()), float(t)) for i, (r, t) in enumerate(zip(x, y))]
    return spark.createDataFrame(rows, ["id", "f", "target"])


def test_multiclass_scores_are_probability_vectors(spark: Any, tmp_path: Any) -> None:
    from pyspark.ml.linalg import VectorUDT
    from pyspark.sql.types import DoubleType

    from sagespark import LinearLearner

    rng = np.random.default_rng(0)
    centres = np.array([[0.0, 4.0], [4.0, 0.0], [-4.0, -4.0]])
    y = rng.integers(0, 3, 300)
    x = centres[y] + rng.normal(size=(300, 2))
    train, valid = _frame(spark, x[:200], y[:200]), _frame(spark, x[200:], y[200:])
    est = LinearLearner(predictor_type="multiclass_classifier", num_classes=3, num_models=4,
                        mini_batch_size=50, featuresCol="f", labelCol="target", numWorkers=2,
                        storeUri=str(tmp_path))
    model = est.fitWithChannels(train, validation=valid)
    assert model.metrics["validation:multiclass_accuracy"] >= 0.95
    out = model.transform(valid)
    assert out.schema["score"].dataType == VectorUDT()
    assert out.schema["predicted_label"].dataType == DoubleType()
    rows = out.select("score", "predicted_label", "target").collect()
    scores = np.array([r["score"].toArray() for r in rows])
    np.testing.assert_allclose(scores.sum(axis=1), 1.0, rtol=1e-9)
    predicted = np.array([r["predicted_label"] for r in rows])
    np.testing.assert_array_equal(predicted, scores.argmax(axis=1))
    assert float((predicted == np.array([r["target"] for r in rows])).mean()) >= 0.95


def test_regressor_writes_only_a_score(spark: Any, tmp_path: Any) -> None:
    from sagespark import LinearLearner, LinearLearnerModel

    rng = np.random.default_rng(1)
    x = rng.normal(size=(200, 3))
    y = x @ np.array([3.0, -2.0, 0.5]) + 10.0 + 0.1 * rng.normal(size=200)
    df = _frame(spark, x, y)
    model = LinearLearner(predictor_type="regressor", featuresCol="f", labelCol="target", numWorkers=2,
                          mini_batch_size=20, storeUri=str(tmp_path / "store")).setTestData(df).fit(df)
    assert model.metrics["test:rmse"] < 0.5
    out = model.transform(df)
    assert out.columns == ["id", "f", "target", "score"]
    path = str(tmp_path / "model")
    model.write().overwrite().save(path)
    again = LinearLearnerModel.load(path)
    assert again.getPredictorType() == "regressor"
    got = np.array([r["score"] for r in again.transform(df).orderBy("id").collect()])
    assert float(np.sqrt(np.mean((got - y) ** 2))) < 0.5
