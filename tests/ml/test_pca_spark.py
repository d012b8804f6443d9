"""PCA through Spark (local[2]) on scikit-learn's digits, checked against scikit-learn's PCA."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from ml_digits import digits_arrays, to_vector_df

from sagespark import PCA, PCAModel

pytestmark = pytest.mark.spark


@pytest.fixture(scope="module")
def fitted(spark: Any, tmp_path_factory: pytest.TempPathFactory) -> tuple[PCAModel, Any, np.ndarray]:
    x, _ = digits_arrays()
    df = to_vector_df(spark, x).repartition(2)
    # numWorkers left out: Spark's default parallelism (2 in local[2]).
    pca = PCA(num_components=5, mini_batch_size=200, storeUri=str(tmp_path_factory.mktemp("pca-store")))
    return pca.setTestData(df).fit(df), df, x


def test_projection_spans_scikit_learns_principal_subspace(fitted: tuple[PCAModel, Any, np.ndarray]) -> None:
    from sklearn.decomposition import PCA as SkPCA

    model, df, x = fitted
    rows = model.transform(df).select("id", "projection").collect()
    order = np.array([r["id"] for r in rows])
    projection = np.array([r["projection"].toArray() for r in rows])
    assert projection.shape == (len(x), 5)
    reference = SkPCA(n_components=5).fit(x).transform(x[order])
    # Same subspace: the reference is an exact linear image of our projection (components may be
    # ordered or signed differently).
    coef, *_ = np.linalg.lstsq(projection, reference, rcond=None)
    residual = np.linalg.norm(projection @ coef - reference) / np.linalg.norm(reference)
    assert residual < 1e-3
    np.testing.assert_allclose(
        np.sort(projection.var(axis=0)), np.sort(reference.var(axis=0)), rtol=1e-3
    )


def test_loading_checks_what_was_saved(fitted: tuple[PCAModel, Any, np.ndarray], tmp_path: Any) -> None:
    from sagespark import KMeansModel
    from sagespark.errors import ArtifactError

    model = fitted[0]
    model.write().save(str(tmp_path / "pca"))
    with pytest.raises(ArtifactError, match="PCAModel"):
        KMeansModel.load(str(tmp_path / "pca"))
    with pytest.raises(ArtifactError, match="holds a 'pca' model, not 'kmeans'"):
        KMeansModel.from_artifact(model.artifact_uri)
    with pytest.raises(Exception, match="already exists"):
        model.write().save(str(tmp_path / "pca"))  # no silent overwrite without overwrite()


def test_model_reports_hyperparameters_and_renames_output(fitted: tuple[PCAModel, Any, np.ndarray]) -> None:
    model, df, x = fitted
    assert model.getNumComponents() == 5 and model.getFeatureDim() == x.shape[1]
    assert model.hyperparameters["subtract_mean"] is True
    out = model.copy().setProjectionCol("pcs").transform(df.limit(3))
    assert out.columns == ["id", "features", "pcs"]
    assert all(len(r["pcs"]) == 5 for r in out.collect())
