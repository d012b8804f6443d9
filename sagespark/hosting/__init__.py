"""Hosting: the SageMaker-compatible endpoint, local deployment, the EndpointModel client, batch transform.

Names are imported lazily so ``import sagespark.hosting`` stays cheap (the Transformer pulls in pyspark).

Examples
--------
>>> from sagespark.hosting import deploy_local          # doctest: +SKIP
>>> with deploy_local("/tmp/model") as endpoint:          # doctest: +SKIP
...     endpoint.predict([[0.0, 1.0]])
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ["EndpointHandle", "EndpointModel", "EndpointError", "deploy_local", "run_batch_transform", "serve"]

_WHERE = {
    "EndpointHandle": "sagespark.hosting.deploy",
    "deploy_local": "sagespark.hosting.deploy",
    "EndpointModel": "sagespark.hosting.endpoint_model",
    "EndpointError": "sagespark.hosting.client",
    "run_batch_transform": "sagespark.hosting.batch_transform",
    "serve": "sagespark.hosting.server",
}


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        return getattr(importlib.import_module(_WHERE[name]), name)
    raise AttributeError(f"module 'sagespark.hosting' has no attribute {name!r}")
