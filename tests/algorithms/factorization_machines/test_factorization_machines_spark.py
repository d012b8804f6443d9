"""Factorization Machines on Spark: sparse one-hot ratings, against Spark MLlib's FMRegressor."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))
from fm_ratings import arrow_rows, make_ratings  # noqa: E402

pytestmark = pytest.mark.spark

RATINGS = dict(seed=11, users=300, items=200, train=24_000, test=3_000, noise=0.8)


def _frame(spark: Any, split: str, rows: int) -> Any:
    from pyspark.ml.linalg import VectorUDT
    from pyspark.sql.types import DoubleType, LongType, StructField, StructType

    schema = StructType([StructField("id", LongType()), StructField("onehot", VectorUDT()),
                         StructField("rating", DoubleType())])
    ids = spark.range(0, rows, numPartitions=2)
    df = ids.mapInArrow(lambda it: arrow_rows(it, split, RATINGS), schema).cache()
    df.count()
    return df


def test_lower_held_out_rmse_than_mllib_fm_regressor_on_the_same_split(spark: Any, tmp_path: Path) -> None:
    from pyspark.ml.evaluation import RegressionEvaluator
    from pyspark.ml.regression import FMRegressor

    import sagespark

    spark.sparkContext.addPyFile(str(HERE / "fm_ratings.py"))
    r = make_ratings(**RATINGS)
    train, test = _frame(spark, "train", len(r.train_y)), _frame(spark, "test", len(r.test_y))
    factors = 8
    fm = sagespark.FactorizationMachines(
        num_factors=factors, predictor_type="regressor", epochs=30, mini_batch_size=250,
        linear_lr=0.005, factors_lr=0.005, linear_wd=1e-4, factors_wd=1e-4, bias_wd=0.0,
        featuresCol="onehot", labelCol="rating", numWorkers=2, storeUri=str(tmp_path / "store"),
    )
    model = fm.setTestData(test).fit(train)
    assert model.hyperparameters["feature_dim"] == r.users + r.items  # inferred from the sparse vectors
    evaluator = RegressionEvaluator(labelCol="rating", predictionCol="score", metricName="rmse")
    ours = evaluator.evaluate(model.transform(test))
    assert ours == pytest.approx(model.metrics["test:rmse"], rel=1e-5)  # training's metric = transform's

    mllib = FMRegressor(factorSize=factors, featuresCol="onehot", labelCol="rating", seed=0).fit(train)
    theirs = evaluator.setPredictionCol("prediction").evaluate(mllib.transform(test))
    print(f"held-out RMSE: sagespark {ours:.4f}, MLlib FMRegressor {theirs:.4f}, noise floor {r.noise}")
    assert ours < theirs
    assert ours <= 1.1 * r.noise  # a small set (80 ratings per user), yet close to the noise floor
