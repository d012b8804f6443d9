"""XGBoost's hyperparameters, errors and artifact: what users and other tools rely on."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from sagespark.algorithms import ChannelData, get_algorithm
from sagespark.algorithms.artifact import load_artifact, save_artifact
from sagespark.algorithms.xgboost.collective import tracker_host
from sagespark.algorithms.xgboost.params import booster_params
from sagespark.distributed.context import LocalContext
from sagespark.errors import DataFormatError, InvalidHyperparameterError

ALGO = get_algorithm("xgboost")
HP = ALGO.hyperparameters


def _data(rows: int = 120, seed: int = 0) -> ChannelData:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(rows, 3)).astype(np.float32)
    return ChannelData(x, (x[:, 0] > 0).astype(np.float64))


def test_wire_form_decodes_like_sagemaker_passes_it() -> None:
    hp = HP.from_wire({"num_round": "20", "objective": "multi:softprob", "num_class": "3", "eta": "0.1",
                       "lambda": "2.5", "alpha": "0.5", "eval_metric": "mlogloss,merror", "max_depth": "4",
                       "tree_method": "hist", "early_stopping_rounds": "5"})
    assert (hp["num_round"], hp["num_class"], hp["lambda"], hp["alpha"]) == (20, 3, 2.5, 0.5)
    assert hp["eval_metric"] == ["mlogloss", "merror"]
    assert HP.from_wire(hp.to_wire()) == hp
    defaults = HP.from_dict({"num_round": 1})
    assert (defaults["objective"], defaults["eta"], defaults["max_depth"], defaults["subsample"],
            defaults["booster"], defaults["lambda"]) == ("reg:squarederror", 0.3, 6, 1.0, "gbtree", 1.0)
    assert defaults["num_class"] is None and "num_class" not in defaults.to_wire()


@pytest.mark.parametrize(
    ("values", "match"),
    [
        ({}, "'num_round' parameter of XGBoost is required"),
        ({"num_round": 5, "objective": "multi:softmax"}, "'num_class' parameter of XGBoost is required"),
        ({"num_round": 5, "num_class": 3}, "only for the multi:softmax and multi:softprob"),
        ({"num_round": 5, "eval_metric": "auc"}, "applies to binary classification only"),
        ({"num_round": 5, "eval_metric": "accuracy"}, "'eval_metric' parameter of XGBoost must be"),
        ({"num_round": 5, "lambda": -1}, r"'lambda' parameter of XGBoost must be a float in the range \[0.0"),
        ({"num_round": 5, "max_depth": 0}, "unless grow_policy is 'lossguide'"),
        ({"num_round": 5, "objective": "rank:pairwise"}, "'objective' parameter of XGBoost must be"),
    ],
)
def test_invalid_combinations_are_refused_with_sagemaker_rules(values: dict[str, object], match: str) -> None:
    with pytest.raises(InvalidHyperparameterError, match=match):
        HP.from_dict(values)


def test_parametrised_metrics_and_lossguide_depth_are_accepted() -> None:
    hp = HP.from_dict({"num_round": 1, "objective": "binary:logistic", "eval_metric": ["error@0.7", "auc"],
                       "max_depth": 0, "grow_policy": "lossguide"})
    assert hp["eval_metric"] == ["error@0.7", "auc"]


def test_booster_params_pass_only_what_applies() -> None:
    hp = HP.from_dict({"num_round": 3, "objective": "binary:logistic", "booster": "dart", "rate_drop": 0.2,
                       "tree_method": "gpu_hist", "lambda": 3.0})
    params = booster_params(hp, nthread=2, device="cpu")
    assert params["rate_drop"] == 0.2 and params["lambda"] == 3.0 and params["scale_pos_weight"] == 1.0
    assert (params["tree_method"], params["device"]) == ("hist", "cuda")  # gpu_hist: hist on the GPU
    assert "num_round" not in params and "base_score" not in params and "tweedie_variance_power" not in params
    linear = booster_params(HP.from_dict({"num_round": 3, "booster": "gblinear"}), nthread=1, device="cpu")
    assert "max_depth" not in linear and "rate_drop" not in linear and "scale_pos_weight" not in linear


def test_spark_param_named_lambda() -> None:
    from sagespark import XGBoost

    est = XGBoost(num_round=3, **{"lambda": 2.0})
    assert est.getLambda() == 2.0 and est.getOrDefault("lambda") == 2.0
    assert est.setLambda("4").getLambda() == 4.0  # the wire form works too
    assert est.getParam("lambda").name == "lambda"
    with pytest.raises(InvalidHyperparameterError, match="'lambda' parameter of XGBoost"):
        est.setLambda(-1.0)
    assert est._resolved_hyperparameters()["lambda"] == 4.0


def test_label_errors_name_the_channel_and_row() -> None:
    data = _data()
    bad = ChannelData(data.features, data.label.copy())
    assert bad.label is not None
    bad.label[7] = 3.0
    hp = HP.from_dict({"num_round": 2, "objective": "binary:logistic"})
    with pytest.raises(DataFormatError, match=r"'train' channel, row 7 .*needs labels in \[0, 1\]; got 3.0"):
        ALGO.train(LocalContext(), {"train": bad}, hp)
    multi = HP.from_dict({"num_round": 2, "objective": "multi:softmax", "num_class": 3})
    with pytest.raises(DataFormatError, match="'validation' channel, row 0"):
        shifted = ChannelData(data.features, data.label + 5)
        ALGO.train(LocalContext(), {"train": data, "validation": shifted}, multi)
    with pytest.raises(DataFormatError, match="needs a 'label' column in the 'train' channel"):
        ALGO.train(LocalContext(), {"train": ChannelData(data.features)}, hp)


def test_early_stopping_needs_a_validation_channel() -> None:
    hp = HP.from_dict({"num_round": 5, "early_stopping_rounds": 2})
    with pytest.raises(InvalidHyperparameterError, match="needs a 'validation' channel"):
        ALGO.train(LocalContext(), {"train": _data()}, hp)


def test_artifact_is_plain_xgboost_and_predictions_survive(tmp_path: Path) -> None:
    import xgboost

    data = _data(200)
    hp = HP.from_dict({"num_round": 10, "objective": "binary:logistic", "eval_metric": ["auc"]})
    result = ALGO.train(LocalContext(), {"train": data}, hp)
    save_artifact(tmp_path, ALGO, hp, result.state, result.metrics)
    booster = xgboost.Booster()
    booster.load_model(str(tmp_path / "xgboost-model.json"))  # XGBoost's own file, no sagespark needed
    meta = json.loads((tmp_path / "xgboost-meta.json").read_text())
    assert meta["objective"] == "binary:logistic" and meta["num_features"] == 3 and meta["rounds"] == 10
    loaded = load_artifact(tmp_path)
    assert loaded.manifest["metrics"]["train:auc"] == result.metrics["train:auc"]
    x = np.asarray(data.features)
    out = loaded.predictor.predict({"features": x})
    np.testing.assert_allclose(out["score"], booster.predict(xgboost.DMatrix(x)), rtol=1e-6)
    assert loaded.predictor.feature_dim == 3
    with pytest.raises(DataFormatError, match="trained on 3; expected 3 features per row"):
        loaded.predictor.predict({"features": np.zeros((2, 4), np.float32)})


def test_a_corrupt_model_file_is_an_artifact_error(tmp_path: Path) -> None:
    from sagespark.errors import ArtifactError

    data = _data()
    hp = HP.from_dict({"num_round": 2})
    result = ALGO.train(LocalContext(), {"train": data}, hp)
    save_artifact(tmp_path, ALGO, hp, result.state, result.metrics)
    (tmp_path / "xgboost-model.json").write_text("{not json")
    with pytest.raises(ArtifactError, match="Cannot load the XGBoost model"):
        load_artifact(tmp_path)


def test_tracker_host_is_loopback_on_one_host_and_overridable(monkeypatch: pytest.MonkeyPatch) -> None:
    assert tracker_host("a", ["a", "a", "a"]) == "127.0.0.1"
    monkeypatch.setenv("SAGESPARK_XGBOOST_TRACKER_HOST", "10.1.2.3")
    assert tracker_host("a", ["a", "b"]) == "10.1.2.3"


def test_hosting_answers_csv_scores_by_default_like_sagemaker(tmp_path: Path) -> None:
    from sagespark.formats.text import encode_request
    from sagespark.hosting.invoker import Invoker
    from sagespark.hosting.served_model import load_served_model

    data = _data(200)
    hp = HP.from_dict({"num_round": 5, "objective": "binary:logistic"})
    result = ALGO.train(LocalContext(), {"train": data}, hp)
    save_artifact(tmp_path, ALGO, hp, result.state, result.metrics)
    served = load_served_model(tmp_path)
    x = np.asarray(data.features)[:4]
    expected = served.predictor.predict({"features": x})["score"]
    body = encode_request(x, "text/csv")
    for accept in (None, "*/*"):
        answer = Invoker(served).invoke(body, "text/csv", accept)
        assert (answer.status, answer.content_type) == (200, "text/csv")
        np.testing.assert_allclose(np.array(answer.body.decode().split(), dtype=float), expected, rtol=1e-6)
    # SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT still wins, and verbose JSON adds SageMaker's selectable keys.
    assert Invoker(served, default_accept="application/json").invoke(body, "text/csv", None).content_type == (
        "application/json"
    )
    verbose = Invoker(served).invoke(body, "text/csv", "application/json;verbose=true")
    assert set(json.loads(verbose.body)["predictions"][0]) == {"score", "predicted_label", "probabilities"}
