"""k-NN through Spark: sagespark.KNN on digits across 2 workers, verbose columns, sklearn agreement."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.neighbors import KNeighborsClassifier

pytestmark = pytest.mark.spark


def _frame(spark: Any, x: np.ndarray, y: np.ndarray) -> Any:
    from pyspark.ml.linalg import Vectors

    rows = [(i, Vectors.dense(r.tolist()), float(t)) for i, (r, t) in enumerate(zip(x, y))]
    return spark.createDataFrame(rows, ["id", "pixels", "digit"])


def test_knn_fits_on_two_workers_and_matches_sklearn(spark: Any, tmp_path: Any) -> None:
    import sagespark

    x, y = load_digits(return_X_y=True)
    x_train, y_train, x_test, y_test = x[:1200], y[:1200], x[1200:1500], y[1200:1500]
    train = _frame(spark, x_train, y_train).repartition(2)
    test = _frame(spark, x_test, y_test)
    knn = sagespark.KNN(k=5, predictor_type="classifier", sample_size=5000, featuresCol="pixels",
                        labelCol="digit", numWorkers=2, storeUri=str(tmp_path))
    model = knn.setTestData(test).fit(train)
    assert isinstance(model, sagespark.KNNModel)
    assert model.hyperparameters["feature_dim"] == 64 and model.getSampleSize() == 5000

    out = model.setVerbose(True).transform(test).orderBy("id").collect()
    predicted = np.array([r["predicted_label"] for r in out])
    sklearn = KNeighborsClassifier(n_neighbors=5, algorithm="brute").fit(x_train, y_train).predict(x_test)
    assert (predicted == sklearn).mean() >= 0.99  # equal but for distance / vote ties
    assert model.metrics["test:accuracy"] == pytest.approx(float((predicted == y_test).mean()))
    distances = np.array([r["distances"].toArray() for r in out])
    labels = np.array([r["labels"].toArray() for r in out])
    assert distances.shape == labels.shape == (300, 5)
    assert (np.diff(distances, axis=1) >= 0).all()
    assert set(np.unique(labels)) <= set(np.unique(y_train))
    plain = model.setVerbose(False).transform(test)
    assert "distances" not in plain.columns and "labels" not in plain.columns
