"""One Spark fit: two workers joined by XGBoost's collective, a validation channel, early stopping."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from sklearn.datasets import load_breast_cancer
from sklearn.metrics import roc_auc_score

pytestmark = pytest.mark.spark


def test_fit_with_validation_early_stopping_and_verbose_transform(spark: Any, tmp_path: Any) -> None:
    import xgboost
    from pyspark.ml.linalg import Vectors

    from sagespark import XGBoost, XGBoostModel

    x, y = load_breast_cancer(return_X_y=True)
    rng = np.random.default_rng(0)
    order = rng.permutation(len(y))
    train_idx, valid_idx = order[:400], order[400:]

    def frame(idx: np.ndarray) -> Any:
        rows = [(int(i), Vectors.dense(x[i].tolist()), float(y[i])) for i in idx]
        return spark.createDataFrame(rows, ["id", "f", "target"])

    train, valid = frame(train_idx).repartition(2), frame(valid_idx)
    est = XGBoost(num_round=300, objective="binary:logistic", eta=0.3, eval_metric=["auc", "logloss"],
                  early_stopping_rounds=10, featuresCol="f", labelCol="target", numWorkers=2,
                  storeUri=str(tmp_path / "store"))
    est.setLambda(2.0)
    model = est.setValidationData(valid).fit(train)

    assert isinstance(model, XGBoostModel) and model.getLambda() == 2.0
    assert {"train:auc", "train:logloss", "validation:auc", "validation:logloss"} <= set(model.metrics)
    # Plain xgboost reads the artifact; early stopping kept fewer rounds than asked for.
    booster = xgboost.Booster()
    booster.load_model(str(model.local_artifact_dir() / "xgboost-model.json"))
    assert booster.num_boosted_rounds() < 300

    out = model.setVerbose(True).transform(valid).orderBy("id").collect()
    score = np.array([r["score"] for r in out])
    labels = np.array([r["target"] for r in out])
    assert roc_auc_score(labels, score) >= 0.98
    # XGBoost's distributed AUC combines the workers' own AUCs: close to, not equal to, the global one.
    assert model.metrics["validation:auc"] == pytest.approx(roc_auc_score(labels, score), abs=0.01)
    assert [r["predicted_label"] for r in out] == [float(s > 0.5) for s in score]
    np.testing.assert_allclose([r["probabilities"].toArray()[1] for r in out], score)
