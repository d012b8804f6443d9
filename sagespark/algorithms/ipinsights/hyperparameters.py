"""IP Insights hyperparameters, named, defaulted and ranged as the SageMaker developer guide documents them.

Source: "IP Insights Hyperparameters" (``ip-insights-hyperparameters``) of the SageMaker developer guide,
with the ranges the SageMaker Python SDK validates (``sagemaker.amazon.ipinsights``).
``num_entity_vectors`` and ``vector_dim`` are required. ``batch_metrics_publish_interval`` only sets how
often training progress is logged.

Examples
--------
>>> hp = IPInsightsHyperparameters.from_wire({"num_entity_vectors": "100", "vector_dim": "16"})
>>> hp.epochs, hp.mini_batch_size, hp.random_negative_sampling_rate, hp.weight_decay
(10, 10000, 1, 1e-05)
"""

from __future__ import annotations

from sagespark.hyperparams import Float, Hyperparameters, Int

__all__ = ["IPInsightsHyperparameters"]


class IPInsightsHyperparameters(Hyperparameters):
    """SageMaker IP Insights hyperparameters (wire names, defaults and ranges of the developer guide)."""

    display_name = "IPInsights"

    num_entity_vectors = Int(
        "The number of entity embedding vectors; entities are hashed into them (about twice the number "
        "of distinct entities keeps collisions rare).", low=1, high=250_000_000,
    )  # fmt: skip
    vector_dim = Int("The size of the entity and IP embedding vectors.", low=4, high=4096)
    batch_metrics_publish_interval = Int(
        "Every how many mini-batches training progress is logged.", 1000, low=1
    )
    epochs = Int("The number of passes over the training data.", 10, low=1)
    learning_rate = Float("The learning rate of the Adam optimizer.", 0.001, low=1e-6, high=10.0)
    mini_batch_size = Int("The number of true (entity, IP) pairs per mini-batch on each worker.", 10_000,
                          low=1, high=500_000)
    num_ip_encoder_layers = Int("The number of fully connected layers that encode the IP embedding.", 1,
                                low=0, high=100)
    random_negative_sampling_rate = Int(
        "Negative samples per true pair made by pairing the entity with a uniformly random IPv4 address.",
        1, low=0, high=500,
    )  # fmt: skip
    shuffled_negative_sampling_rate = Int(
        "Negative samples per true pair made by pairing the entity with the IP of another pair in the "
        "mini-batch.", 1, low=0, high=500,
    )  # fmt: skip
    weight_decay = Float("The L2 weight decay coefficient.", 0.00001, low=0.0, high=10.0)
