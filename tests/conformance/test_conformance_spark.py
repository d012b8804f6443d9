"""Conformance, part 2 (Spark): fit, transform, persistence and Pipelines for every algorithm.

One tiny fit per algorithm (module-scoped), on the recipe of ``conformance_examples.py``; every test
below reuses it. Parametrised over :func:`sagespark.ml.registry.estimators`.
"""

from __future__ import annotations

import math
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from conformance_examples import EXAMPLES, Example, column_name, to_dataframe

from sagespark.ml.estimator import SageMakerEstimator
from sagespark.ml.model import SageMakerModel
from sagespark.ml.params import output_param_name, pascal_case
from sagespark.ml.registry import estimators

pytestmark = pytest.mark.spark

PAIRS = estimators()


@dataclass
class Fitted:
    name: str
    example: Example
    estimator: SageMakerEstimator
    model: SageMakerModel
    train: Any
    test: Any
    tmp: Path


@pytest.fixture(scope="module", params=sorted(PAIRS))
def fitted(request: pytest.FixtureRequest, spark: Any, tmp_path_factory: pytest.TempPathFactory) -> Fitted:
    name = request.param
    est_cls = PAIRS[name]
    algorithm = est_cls.sagemaker_algorithm
    example = EXAMPLES[name](np.random.default_rng(7))
    tmp = tmp_path_factory.mktemp(f"conformance-{name}")
    columns = {f.param: column_name(f) for f in algorithm.inputs}
    est = est_cls(**example.params, **columns, numWorkers=2, storeUri=str(tmp / "store"))
    train = to_dataframe(spark, algorithm, example.train).repartition(2)
    test = to_dataframe(spark, algorithm, example.test or example.train)
    if "test" in algorithm.channels:
        est.setTestData(test)
    elif "validation" in algorithm.channels:  # e.g. IP Insights scores its validation channel
        est.setValidationData(test)
    return Fitted(name, example, est, est.fit(train), train, test, tmp)


def _fields(model: SageMakerModel) -> tuple[Any, ...]:
    """The outputs this model writes (they may depend on its hyperparameters, e.g. predictor_type)."""
    return model.sagemaker_algorithm.output_fields(model.hyperparameters)


def _outputs(df: Any, model: SageMakerModel, rows: list[Any] | None = None) -> dict[str, np.ndarray]:
    """The output columns of a transformed DataFrame (or of its collected ``rows``), keyed by output name."""
    rows = df.collect() if rows is None else rows
    out: dict[str, np.ndarray] = {}
    for field in _fields(model):
        column = model.getOrDefault(output_param_name(field.name))
        if field.verbose or column not in df.columns:
            continue
        values = [r[column] for r in rows]
        out[field.name] = (
            np.array([v.toArray() for v in values]) if field.kind == "vector" else np.array(values)
        )
    return out


def _assert_same_outputs(a: dict[str, np.ndarray], b: dict[str, np.ndarray]) -> None:
    assert a.keys() == b.keys()
    for key in a:
        if a[key].dtype.kind in "fc":
            np.testing.assert_allclose(a[key], b[key], rtol=1e-6, atol=1e-9, err_msg=key)
        else:
            assert a[key].tolist() == b[key].tolist(), key


def test_fit_reports_metrics_under_sagemaker_names(fitted: Fitted) -> None:
    metrics = fitted.model.metrics
    assert set(fitted.example.metrics) <= set(metrics)
    for key, value in metrics.items():
        assert re.fullmatch(r"(train|validation|test):[A-Za-z0-9_]+", key), key
        assert isinstance(value, float) and math.isfinite(value), (key, value)


def test_model_knows_its_resolved_hyperparameters(fitted: Fitted) -> None:
    hp = fitted.model.hyperparameters
    for key, value in fitted.example.params.items():
        assert hp[key] == value
    features = fitted.example.train.get("features")
    if features is not None and "feature_dim" in fitted.model.sagemaker_algorithm.hyperparameters.fields():
        assert hp["feature_dim"] == features.shape[1]  # inferred from the data
        assert fitted.model.getOrDefault("feature_dim") == features.shape[1]
    assert fitted.model.artifact_uri.startswith(str(fitted.tmp / "store"))


def test_output_schema_is_input_schema_plus_declared_outputs(fitted: Fitted) -> None:
    from pyspark.ml.linalg import VectorUDT
    from pyspark.sql.types import DoubleType, StringType

    kinds = {"double": DoubleType(), "vector": VectorUDT(), "string": StringType()}
    out = fitted.model.transform(fitted.test)
    declared = [f for f in _fields(fitted.model) if not f.verbose]
    assert out.schema.fields[: len(fitted.test.schema)] == fitted.test.schema.fields
    added = out.schema.fields[len(fitted.test.schema) :]
    assert [(f.name, f.dataType) for f in added] == [(f.name, kinds[f.kind]) for f in declared]


def test_transformer_output_equals_predictor_output_row_by_row(fitted: Fitted) -> None:
    out = fitted.model.transform(fitted.test.repartition(3))  # several partitions, uneven batches
    # One action: Spark's round-robin repartition orders rows by their bytes, so a projection that
    # prunes columns (the outputs too) would see another order.
    rows = out.collect()
    inputs = fitted.example.test or fitted.example.train
    ids = [r["id"] for r in rows]
    assert sorted(ids) == list(range(len(next(iter(inputs.values())))))  # every row, once
    predictor = fitted.model.load_predictor()
    order = np.asarray(ids)
    dtypes = {"vector": np.float32, "double": np.float64, "string": object}
    batch = {
        f.name: inputs[f.name][order].astype(dtypes[f.kind])
        for f in fitted.model.sagemaker_algorithm.inputs
        if f.used_for_prediction and f.name in inputs
    }
    expected = {k: np.asarray(v) for k, v in predictor.predict(batch).items()}
    got = _outputs(out, fitted.model, rows)
    _assert_same_outputs(got, {k: expected[k] for k in got})


def test_transform_keeps_every_input_column_and_row_order(fitted: Fitted) -> None:
    out = fitted.model.transform(fitted.test)
    before = fitted.test.collect()
    after = out.collect()
    assert [r["id"] for r in after] == [r["id"] for r in before]
    for column in fitted.test.columns:
        assert [r[column] for r in after] == [r[column] for r in before]


def test_output_columns_can_be_renamed(fitted: Fitted) -> None:
    model = fitted.model.copy()
    for field in model.sagemaker_algorithm.outputs:
        getattr(model, "set" + pascal_case(output_param_name(field.name)))("my_" + field.name)
    out = model.transform(fitted.test)
    for field in _fields(model):
        assert ("my_" + field.name in out.columns) != field.verbose
    assert fitted.model.getOrDefault(output_param_name(model.sagemaker_algorithm.outputs[0].name)) == (
        model.sagemaker_algorithm.outputs[0].name
    )  # the copy did not change the original


def test_estimator_save_load_round_trips_params(fitted: Fitted) -> None:
    from pyspark.ml import Pipeline

    path = str(fitted.tmp / "estimator")
    fitted.estimator.write().overwrite().save(path)
    loaded = type(fitted.estimator).load(path)
    assert loaded.uid == fitted.estimator.uid
    original = {p.name: v for p, v in fitted.estimator.extractParamMap().items()}
    assert {p.name: v for p, v in loaded.extractParamMap().items()} == original

    pipeline_path = str(fitted.tmp / "pipeline")
    Pipeline(stages=[fitted.estimator]).write().overwrite().save(pipeline_path)
    stage = Pipeline.load(pipeline_path).getStages()[0]
    assert type(stage) is type(fitted.estimator)
    assert {p.name: v for p, v in stage.extractParamMap().items()} == original


def test_saved_model_is_self_contained(fitted: Fitted) -> None:
    model_cls = type(fitted.model)
    expected = _outputs(fitted.model.transform(fitted.test), fitted.model)
    first, second = str(fitted.tmp / "model-a"), str(fitted.tmp / "model-b")
    fitted.model.write().overwrite().save(first)
    loaded = model_cls.load(first)
    assert loaded.uid == fitted.model.uid
    assert loaded.artifact_uri.startswith(first)  # reads its own copy, not the training store
    assert loaded.metrics == fitted.model.metrics
    assert loaded.hyperparameters == fitted.model.hyperparameters
    loaded.write().overwrite().save(second)
    shutil.rmtree(first)  # the second copy must not need the first
    again = model_cls.load(second)
    _assert_same_outputs(_outputs(again.transform(fitted.test), again), expected)
    # Overwriting the directory a model was loaded from keeps a working artifact.
    again.write().overwrite().save(second)
    _assert_same_outputs(_outputs(model_cls.load(second).transform(fitted.test), again), expected)


def test_pipeline_model_save_load(fitted: Fitted) -> None:
    from pyspark.ml import PipelineModel

    expected = _outputs(fitted.model.transform(fitted.test), fitted.model)
    path = str(fitted.tmp / "pipeline-model")
    PipelineModel(stages=[fitted.model]).write().overwrite().save(path)
    loaded = PipelineModel.load(path)
    stage = loaded.stages[0]
    assert type(stage) is type(fitted.model) and stage.metrics == fitted.model.metrics
    _assert_same_outputs(_outputs(loaded.transform(fitted.test), fitted.model), expected)


def test_model_from_an_existing_artifact_directory_or_tarball(fitted: Fitted) -> None:
    from sagespark.algorithms.artifact import pack_model_tarball

    model_cls = type(fitted.model)
    columns = {f.param: column_name(f) for f in model_cls.sagemaker_algorithm.inputs}
    expected = _outputs(fitted.model.transform(fitted.test), fitted.model)
    tarball = fitted.tmp / "model.tar.gz"
    pack_model_tarball(fitted.model.local_artifact_dir(), tarball)
    for uri in (fitted.model.artifact_uri, str(tarball)):
        model = model_cls.from_artifact(uri, **columns)
        assert model.hyperparameters == fitted.model.hyperparameters
        assert model.metrics == fitted.model.metrics
        _assert_same_outputs(_outputs(model.transform(fitted.test), model), expected)
