"""The ASGI application behind ``sagespark serve``: SageMaker's hosting contract, no web framework.

Routes: ``GET /ping`` (200, empty body: the app only exists once the model is loaded),
``POST /invocations``, ``GET /execution-parameters``, and ``GET /model`` (sagespark's description of the
outputs, which :class:`~sagespark.hosting.endpoint_model.EndpointModel` uses to name its columns).

Bodies over the payload limit get 413, both from ``Content-Length`` before any byte is read and while
reading a body without one. Small requests are answered on the event loop (a thread hop costs more than
the prediction); large ones run in a thread so ``/ping`` stays responsive meanwhile.

Examples
--------
>>> app = InvocationsApp(served_model, ServerConfig())              # doctest: +SKIP
>>> import uvicorn; uvicorn.run(app, port=8080)                       # doctest: +SKIP
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
from collections.abc import Awaitable, Callable, MutableMapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from sagespark.hosting.config import ServerConfig
from sagespark.hosting.invoker import Invocation, Invoker
from sagespark.hosting.served_model import ServedModel, load_served_model, resolve_model_path

__all__ = ["InvocationsApp", "create_app", "MODEL_PATH_ENV"]

logger = logging.getLogger("sagespark.hosting")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

MODEL_PATH_ENV = "SAGESPARK_MODEL_PATH"
"""Set by ``sagespark serve`` for its worker processes: the artifact each one loads."""

# Bodies at least this large are predicted in a worker thread.
_OFFLOAD_BYTES = 64 << 10
# An oversized body is read and discarded up to this many times the limit, so clients that send the whole
# body before reading (most do) see the 413 instead of a reset; beyond it the connection is closed.
_DRAIN_FACTOR = 4


class _PayloadTooLarge(Exception):
    def __init__(self, finished: bool) -> None:
        super().__init__("payload too large")
        self.finished = finished  # whether the whole body has been received already


class InvocationsApp:
    """ASGI 3 application serving one model.

    Parameters
    ----------
    model : ServedModel
        The loaded model.
    config : ServerConfig
        Payload limit, default Accept and batch settings.
    """

    def __init__(self, model: ServedModel, config: ServerConfig) -> None:
        self.model = model
        self.config = config
        self.invoker = Invoker(model, default_accept=config.default_accept)
        self._execution_parameters = json.dumps(config.execution_parameters()).encode()
        self._model_info = json.dumps(model.describe()).encode()
        # Large predictions leave the event loop (so /ping answers while they run) for ONE thread: the
        # predictor's numpy work already uses the cores, and more threads would only contend for them.
        self._predict_thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sagespark-predict")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "http":
            try:
                await self._http(scope, receive, send)
            except Exception:  # the last line of defence: log it, answer one generic line
                logger.exception("Unhandled error in %s %s", scope.get("method"), scope.get("path"))
                await _respond(send, Invocation.error(500, "Internal server error; see the server log."))
        elif kind == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        path, method = scope["path"], scope["method"]
        if path == "/ping":
            if method not in ("GET", "HEAD"):
                return await _respond(send, Invocation.error(405, "Use GET /ping."))
            return await _respond(send, Invocation(200, b"", "text/plain"))
        if path == "/invocations":
            if method != "POST":
                return await _respond(send, Invocation.error(405, "Use POST /invocations."))
            return await self._invocations(scope, receive, send)
        if path == "/execution-parameters" and method == "GET":
            return await _respond(send, Invocation(200, self._execution_parameters, "application/json"))
        if path == "/model" and method == "GET":
            return await _respond(send, Invocation(200, self._model_info, "application/json"))
        await _respond(send, Invocation.error(404, f"No route {method} {path}."))

    async def _invocations(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = _headers(scope)
        limit = self.config.max_payload_bytes
        too_large = Invocation.error(
            413, f"Request body is larger than the {limit >> 20} MB limit (SAGEMAKER_MAX_PAYLOAD_IN_MB)."
        )
        declared = headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            # Nothing is buffered; the body is drained (bounded) so the client can read the 413.
            drained = await _drain(receive, _DRAIN_FACTOR * limit)
            return await _respond(send, too_large, close=not drained)
        negotiated = self.invoker.negotiate(headers.get("content-type"), headers.get("accept"))
        if isinstance(negotiated, Invocation):
            return await _respond(send, negotiated)
        try:
            body = await _read_body(receive, limit)
        except _PayloadTooLarge as err:
            drained = err.finished or await _drain(receive, _DRAIN_FACTOR * limit)
            return await _respond(send, too_large, close=not drained)
        if body is None:  # the client went away
            return None
        content_type, accept = headers.get("content-type"), headers.get("accept")
        if len(body) < _OFFLOAD_BYTES:
            result = self.invoker.invoke(body, content_type, accept)
        else:
            loop = asyncio.get_running_loop()
            result = await loop.run_in_executor(
                self._predict_thread, self.invoker.invoke, body, content_type, accept
            )
        await _respond(send, result)


def _headers(scope: Scope) -> dict[str, str]:
    return {name.decode("latin-1"): value.decode("latin-1") for name, value in scope["headers"]}


async def _read_body(receive: Receive, limit: int) -> bytes | None:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunk = message.get("body", b"")
        if chunk:
            size += len(chunk)
            if size > limit:
                raise _PayloadTooLarge(finished=not message.get("more_body", False))
            chunks.append(chunk)
        if not message.get("more_body", False):
            return chunks[0] if len(chunks) == 1 else b"".join(chunks)


async def _drain(receive: Receive, budget: int) -> bool:
    """Read and drop the rest of a body; ``False`` when it exceeds ``budget`` or the client left."""
    seen = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return False
        seen += len(message.get("body", b""))
        if seen > budget:
            return False
        if not message.get("more_body", False):
            return True


async def _respond(send: Send, result: Invocation, *, close: bool = False) -> None:
    headers = [
        (b"content-type", result.content_type.encode("latin-1")),
        (b"content-length", str(len(result.body)).encode()),
    ]
    if close:
        # The unread rest of the body would otherwise be parsed as the next request.
        headers.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": result.status, "headers": headers})
    await send({"type": "http.response.body", "body": result.body})


def create_app() -> InvocationsApp:
    """Worker-process factory (``uvicorn sagespark.hosting.app:create_app --factory``).

    Loads the model named by ``$SAGESPARK_MODEL_PATH`` (or ``/opt/ml/model``) before the worker accepts
    connections, so a successful ``/ping`` always means the model is loaded.
    """
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    path = os.environ.get(MODEL_PATH_ENV)
    model_path = resolve_model_path(path, None if path else "/opt/ml")
    model = load_served_model(model_path)
    config = ServerConfig.from_env()
    logger.info("Serving %s model from %s (pid %d)", model.algorithm, model_path, os.getpid())
    return InvocationsApp(model, config)
