"""One invocation, start to finish, without HTTP: decode → predict → encode, with SageMaker's status codes.

The ASGI server and batch transform both call :meth:`Invoker.invoke`, so an endpoint and a batch job give
byte-identical answers for the same body. Errors become a status and a one-line reason; the traceback of
an unexpected failure goes to the log, never into the response.

Examples
--------
>>> invoker = Invoker(load_served_model("/opt/ml/model"))                        # doctest: +SKIP
>>> result = invoker.invoke(b"1,2\\n", "text/csv", "application/json")            # doctest: +SKIP
>>> result.status, result.content_type                                           # doctest: +SKIP
(200, 'application/json')
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sagespark.errors import DataFormatError
from sagespark.formats.text import (
    RESPONSE_TYPES,
    MediaType,
    UnsupportedMediaType,
    decode_request,
    decode_string_rows,
    encode_response,
    negotiate_accept,
    parse_media_type,
)
from sagespark.hosting.served_model import ServedModel

__all__ = ["Invocation", "Invoker", "one_line"]

logger = logging.getLogger("sagespark.hosting")

_INTERNAL = "Internal error while serving the request; the server log has the details."


def one_line(message: str, limit: int = 1024) -> str:
    """Collapse a message onto one line and bound its length (responses and failure files)."""
    text = " ".join(str(message).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


@dataclass(frozen=True)
class Invocation:
    """The outcome of one invocation: HTTP status, body and its content type."""

    status: int
    body: bytes
    content_type: str

    @classmethod
    def error(cls, status: int, message: str) -> Invocation:
        return cls(status, (one_line(message) + "\n").encode(), "text/plain; charset=utf-8")


class Invoker:
    """Runs invocations against one :class:`ServedModel`.

    Parameters
    ----------
    model : ServedModel
        What to predict with.
    default_accept : str, optional
        The response type for an empty or ``*/*`` Accept (``SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT``);
        ``None``: the algorithm's own default (JSON, or CSV for XGBoost, as SageMaker's containers answer).
    """

    def __init__(self, model: ServedModel, *, default_accept: str | None = None) -> None:
        self.model = model
        chosen = default_accept or model.default_accept
        self.default_accept = parse_media_type(chosen, known=RESPONSE_TYPES).name

    def negotiate(
        self, content_type: str | None, accept: str | None
    ) -> tuple[MediaType, MediaType] | Invocation:
        """Parse both media types, or the 415 / 406 response that rejects them."""
        try:
            request_type = parse_media_type(content_type)
        except UnsupportedMediaType as err:
            return Invocation.error(415, str(err))
        try:
            response_type = negotiate_accept(accept, default=self.default_accept)
        except UnsupportedMediaType as err:
            return Invocation.error(406, str(err))
        return request_type, response_type

    def invoke(self, body: bytes | memoryview, content_type: str | None, accept: str | None) -> Invocation:
        """Answer one request; never raises."""
        negotiated = self.negotiate(content_type, accept)
        if isinstance(negotiated, Invocation):
            return negotiated
        request_type, response_type = negotiated
        model = self.model
        try:
            if model.string_inputs:  # rows of strings (IP Insights' entity,ip), not numeric features
                batch = decode_string_rows(body, request_type, names=model.string_inputs)
            else:
                batch = {"features": decode_request(body, request_type, feature_dim=model.feature_dim)}
            verbose = response_type.verbose or request_type.verbose
            outputs = model.predictor.predict(batch, verbose=verbose)
            payload = encode_response(
                outputs, response_type, names=model.output_names, response_key=model.response_key
            )
        except DataFormatError as err:
            return Invocation.error(400, str(err))
        except UnsupportedMediaType as err:  # a content type this model's inputs cannot come in
            return Invocation.error(415, str(err))
        except Exception:
            logger.exception("Invocation failed (%s → %s)", request_type.name, response_type.name)
            return Invocation.error(500, _INTERNAL)
        return Invocation(200, payload, response_type.name)
