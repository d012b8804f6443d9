"""Server settings: command-line values, then SageMaker's environment variables, then defaults.

Examples
--------
>>> cfg = ServerConfig.from_env({"SAGEMAKER_BIND_TO_PORT": "9000", "SAGEMAKER_MAX_PAYLOAD_IN_MB": "20"})
>>> cfg.port, cfg.max_payload_bytes
(9000, 20971520)
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, replace

__all__ = ["ServerConfig"]

DEFAULT_PORT = 8080
DEFAULT_PAYLOAD_MB = 6
MAX_BATCH_PAYLOAD_MB = 100


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError:
        raise ValueError(f"Environment variable {name} must be an integer; got {raw!r}.") from None


@dataclass(frozen=True)
class ServerConfig:
    """Everything the server needs besides the model.

    Attributes
    ----------
    host, port : str, int
        Where to listen (``127.0.0.1`` unless told otherwise; ``SAGEMAKER_BIND_TO_PORT`` sets the port).
    workers : int
        Server processes sharing the port.
    max_payload_bytes : int
        Request bodies over this get 413 (``SAGEMAKER_MAX_PAYLOAD_IN_MB``, 6 MB by default).
    default_accept : str or None
        Response type for an empty or ``*/*`` Accept (``SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT``); ``None``:
        the served algorithm's own default (JSON; CSV for XGBoost, as SageMaker's container answers).
    batch : bool
        ``SAGEMAKER_BATCH=true``: a batch-transform container (reported by ``/execution-parameters``).
    batch_strategy : str
        ``SAGEMAKER_BATCH_STRATEGY``: ``MULTI_RECORD`` or ``SINGLE_RECORD``.
    max_concurrent_transforms : int
        ``SAGEMAKER_MAX_CONCURRENT_TRANSFORMS`` (defaults to ``workers``).
    """

    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    workers: int = 1
    max_payload_bytes: int = DEFAULT_PAYLOAD_MB << 20
    default_accept: str | None = None
    batch: bool = False
    batch_strategy: str = "MULTI_RECORD"
    max_concurrent_transforms: int = 1

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: object) -> ServerConfig:
        """Read SageMaker's variables from ``env`` (``os.environ`` by default); ``overrides`` win.

        ``None`` overrides are ignored, so parsed command-line options can be passed straight through.
        """
        env = os.environ if env is None else env
        batch = env.get("SAGEMAKER_BATCH", "").strip().lower() == "true"
        payload_mb = _int(env, "SAGEMAKER_MAX_PAYLOAD_IN_MB", DEFAULT_PAYLOAD_MB)
        if not 0 < payload_mb <= MAX_BATCH_PAYLOAD_MB:
            raise ValueError(
                f"SAGEMAKER_MAX_PAYLOAD_IN_MB must be in [1, {MAX_BATCH_PAYLOAD_MB}]; got {payload_mb}."
            )
        strategy = env.get("SAGEMAKER_BATCH_STRATEGY", "MULTI_RECORD").strip().upper() or "MULTI_RECORD"
        if strategy not in ("MULTI_RECORD", "SINGLE_RECORD"):
            raise ValueError(
                f"SAGEMAKER_BATCH_STRATEGY must be MULTI_RECORD or SINGLE_RECORD; got {strategy!r}."
            )
        config = cls(
            port=_int(env, "SAGEMAKER_BIND_TO_PORT", DEFAULT_PORT),
            max_payload_bytes=payload_mb << 20,
            default_accept=env.get("SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT", "").strip() or None,
            batch=batch,
            batch_strategy=strategy,
        )
        config = replace(config, **{k: v for k, v in overrides.items() if v is not None})  # type: ignore[arg-type]
        concurrent = _int(env, "SAGEMAKER_MAX_CONCURRENT_TRANSFORMS", config.workers)
        return replace(config, max_concurrent_transforms=concurrent)

    def execution_parameters(self) -> dict[str, object]:
        """The body of ``GET /execution-parameters`` (SageMaker batch transform asks for it)."""
        return {
            "MaxConcurrentTransforms": self.max_concurrent_transforms,
            "BatchStrategy": self.batch_strategy,
            "MaxPayloadInMB": self.max_payload_bytes >> 20,
        }

    def to_env(self) -> dict[str, str]:
        """The same settings as environment variables, for server worker processes."""
        return {
            "SAGEMAKER_BIND_TO_PORT": str(self.port),
            "SAGEMAKER_MAX_PAYLOAD_IN_MB": str(self.max_payload_bytes >> 20),
            "SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT": self.default_accept or "",
            "SAGEMAKER_BATCH": "true" if self.batch else "false",
            "SAGEMAKER_BATCH_STRATEGY": self.batch_strategy,
            "SAGEMAKER_MAX_CONCURRENT_TRANSFORMS": str(self.max_concurrent_transforms),
        }
