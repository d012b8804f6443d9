"""The generic Spark ML Estimator behind every algorithm's ``fit``.

``_fit`` is a template: validate the hyperparameters from the Params, select and rename the input
columns of every channel, and hand the channel DataFrames to the barrier launcher, which reads each
DataFrame once on the workers and writes the artifact to the Store. The driver only ever sees the
artifact's URI and the metrics.

Examples
--------
>>> from sagespark import KMeans                                        # doctest: +SKIP
>>> model = KMeans(k=3, numWorkers=2).setTestData(test_df).fit(train_df)  # doctest: +SKIP
>>> model.metrics["test:msd"]                                           # doctest: +SKIP
0.41
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from pyspark.ml import Estimator
from pyspark.ml.util import DefaultParamsReadable, DefaultParamsWritable

from sagespark.ml.params import AlgorithmParams

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

    from sagespark.hyperparams import Hyperparameters
    from sagespark.ml.model import SageMakerModel

__all__ = ["SageMakerEstimator"]


class SageMakerEstimator(
    AlgorithmParams, Estimator["SageMakerModel"], DefaultParamsWritable, DefaultParamsReadable
):
    """Spark ML Estimator for one SageMaker built-in algorithm.

    Subclasses set ``sagemaker_algorithm`` (the :class:`~sagespark.algorithms.base.Algorithm`) and
    ``model_class`` (the matching :class:`~sagespark.ml.model.SageMakerModel`); their Params are
    generated from the algorithm's declaration (see :mod:`sagespark.ml.params`).

    Extra channels (``"test"``, ``"validation"``, ...) are DataFrames, not Params: set them with
    :meth:`setTestData` / :meth:`setValidationData` / :meth:`setChannelData` before :meth:`fit`, or pass
    them to :meth:`fitWithChannels`. They are not saved with the Estimator.

    Examples
    --------
    >>> from sagespark import PCA                                          # doctest: +SKIP
    >>> pca = PCA(num_components=2, mini_batch_size=100, featuresCol="f")  # doctest: +SKIP
    >>> pca.fitWithChannels(train_df, test=test_df).metrics                # doctest: +SKIP
    """

    _role: ClassVar[str] = "estimator"
    model_class: ClassVar[type[SageMakerModel]]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "sagemaker_algorithm" in cls.__dict__:
            from sagespark.ml.registry import register_estimator

            register_estimator(cls)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._channels: dict[str, DataFrame] = {}

    # -- extra channels ----------------------------------------------------------------------
    def _check_channel(self, channel: str) -> None:
        accepted = self.sagemaker_algorithm.channels
        if channel == "train":
            raise ValueError("The 'train' channel is the DataFrame passed to fit(); set only extra channels.")
        if channel not in accepted:
            raise ValueError(
                f"{type(self).__name__} does not take a {channel!r} channel; "
                f"its channels are {list(accepted)}."
            )

    def setChannelData(self, channel: str, dataset: DataFrame | None) -> SageMakerEstimator:
        """Use ``dataset`` as channel ``channel`` in later fits (``None`` removes it).

        Raises
        ------
        ValueError
            When the algorithm has no such channel.
        """
        self._check_channel(channel)
        if dataset is None:
            self._channels.pop(channel, None)
        else:
            self._channels[channel] = dataset
        return self

    def setTestData(self, dataset: DataFrame | None) -> SageMakerEstimator:
        """Use ``dataset`` as the ``test`` channel: metrics such as ``test:msd`` are computed on it."""
        return self.setChannelData("test", dataset)

    def setValidationData(self, dataset: DataFrame | None) -> SageMakerEstimator:
        """Use ``dataset`` as the ``validation`` channel (for algorithms that take one)."""
        return self.setChannelData("validation", dataset)

    def getChannelData(self) -> dict[str, DataFrame]:
        """The extra channels set so far, by name."""
        return dict(self._channels)

    def copy(self, extra: Any = None) -> SageMakerEstimator:
        that = super().copy(extra)
        that._channels = dict(self._channels)  # copy.copy would share the dict
        return that

    # -- fitting -----------------------------------------------------------------------------
    def fitWithChannels(
        self,
        train: DataFrame,
        validation: DataFrame | None = None,
        test: DataFrame | None = None,
        **channels: DataFrame | None,
    ) -> SageMakerModel:
        """Fit on ``train`` with exactly the extra channels given here (those set before are ignored).

        Parameters
        ----------
        train : DataFrame
            The ``train`` channel.
        validation, test, **channels : DataFrame, optional
            Extra channels by SageMaker channel name; each must be one the algorithm takes.

        Examples
        --------
        >>> model = KMeans(k=3).fitWithChannels(train_df, test=test_df)  # doctest: +SKIP
        """
        extra = {"validation": validation, "test": test, **channels}
        given = {name: df for name, df in extra.items() if df is not None}
        for name in given:
            self._check_channel(name)
        return self._fit_channels({"train": train, **given})

    def _fit(self, dataset: DataFrame) -> SageMakerModel:
        return self._fit_channels({"train": dataset, **self._channels})

    def _resolved_hyperparameters(self) -> Hyperparameters:
        """Validate the hyperparameter Params into the algorithm's ``Hyperparameters``."""
        return self.sagemaker_algorithm.hyperparameters.from_dict(self._hyperparameter_values())

    def _fit_channels(self, channels: dict[str, DataFrame]) -> SageMakerModel:
        from sagespark.data.columns import select_inputs
        from sagespark.distributed.launcher import train_on_spark
        from sagespark.distributed.store import Store

        algorithm = self.sagemaker_algorithm
        hp = self._resolved_hyperparameters()
        columns = self._input_columns()
        # Optional inputs (required_for_training=False) are taken where the channel has the column.
        selected = {name: select_inputs(df, algorithm.inputs, columns) for name, df in channels.items()}
        train = channels["train"]
        num_workers = self.getOrDefault("numWorkers") or train.sparkSession.sparkContext.defaultParallelism
        store_uri = self.getOrDefault("storeUri")
        outcome = train_on_spark(
            selected,
            algorithm,
            hp,
            num_workers=int(num_workers),
            store=Store.from_uri(store_uri),
            use_gpu=self.getOrDefault("useGpu"),
        )
        model = self.model_class()
        self._copyValues(model)
        model._set_training_result(
            outcome.artifact_uri, outcome.metrics, outcome.hyperparameters, store_uri=store_uri
        )
        return model
