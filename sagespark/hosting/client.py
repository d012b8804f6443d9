"""A small HTTP client for endpoints: keep-alive connections, retries with backoff, clear errors.

Built on the standard library's ``http.client`` so Spark executors need nothing beyond sagespark.
Connection errors and 5xx answers (and 429) are retried with exponential backoff and full jitter, for a
bounded number of attempts; any other 4xx is the caller's mistake and fails at once with the server's
one-line reason.

Examples
--------
>>> client = EndpointClient("http://127.0.0.1:8080")                                  # doctest: +SKIP
>>> client.invoke(b"1,2,3\\n", content_type="text/csv", accept="application/json")     # doctest: +SKIP
b'{"predictions":[...]}'
"""

from __future__ import annotations

import http.client
import random
import time
import urllib.parse
from dataclasses import dataclass

from sagespark.errors import SageSparkError

__all__ = ["EndpointError", "RetryPolicy", "EndpointClient"]

_RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})


class EndpointError(SageSparkError, RuntimeError):
    """An endpoint call failed: a 4xx answer, or retries ran out. ``status`` is the last HTTP status."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class RetryPolicy:
    """Bounded exponential backoff with full jitter: attempt ``i`` waits ``U(0, min(cap, base * 2**i))``."""

    max_attempts: int = 5
    base_delay_s: float = 0.1
    max_delay_s: float = 5.0

    def delay(self, attempt: int, rng: random.Random) -> float:
        return rng.uniform(0.0, min(self.max_delay_s, self.base_delay_s * (2**attempt)))


class EndpointClient:
    """One keep-alive connection to an endpoint (not thread-safe: use one client per thread).

    Parameters
    ----------
    url : str
        The endpoint's base URL (``http://host:port``); a trailing ``/invocations`` is accepted.
    timeout_s : float
        Socket timeout per attempt (SageMaker allows 60 s per invocation).
    retry : RetryPolicy
        How often and how patiently to retry.
    """

    def __init__(self, url: str, *, timeout_s: float = 60.0, retry: RetryPolicy | None = None) -> None:
        parsed = urllib.parse.urlsplit(url if "://" in url else f"http://{url}")
        if parsed.scheme not in ("http", "https") or not parsed.hostname:
            raise ValueError(f"Endpoint URL must look like http://host:port; got {url!r}.")
        self.scheme = parsed.scheme
        self.host = parsed.hostname
        self.port = parsed.port or (443 if parsed.scheme == "https" else 80)
        base = parsed.path.rstrip("/")
        if base.endswith("/invocations"):
            base = base[: -len("/invocations")]
        self.base_path = base
        self.url = f"{self.scheme}://{parsed.netloc}{base}"
        self.timeout_s = timeout_s
        self.retry = retry or RetryPolicy()
        self._conn: http.client.HTTPConnection | None = None
        self._rng = random.Random()

    def _connection(self) -> http.client.HTTPConnection:
        if self._conn is None:
            factory = http.client.HTTPSConnection if self.scheme == "https" else http.client.HTTPConnection
            self._conn = factory(self.host, self.port, timeout=self.timeout_s)
        return self._conn

    def close(self) -> None:
        """Close the kept-alive connection."""
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def request(
        self, method: str, path: str, body: bytes | None = None, headers: dict[str, str] | None = None
    ) -> tuple[int, bytes, str]:
        """One request on the kept-alive connection, no retries: ``(status, body, content type)``.

        Raises
        ------
        OSError, http.client.HTTPException
            On connection failure (the connection is dropped so the next call reconnects).
        """
        conn = self._connection()
        try:
            conn.request(method, self.base_path + path, body=body, headers=headers or {})
            response = conn.getresponse()
            data = response.read()
        except (OSError, http.client.HTTPException):
            self.close()
            raise
        if response.getheader("connection", "").lower() == "close":
            self.close()
        return response.status, data, response.getheader("content-type", "")

    def invoke(self, body: bytes, *, content_type: str, accept: str, what: str = "request") -> bytes:
        """POST ``/invocations`` with retries; returns the response body of a 200.

        Raises
        ------
        EndpointError
            On a non-retryable status (with the server's reason) or when every attempt failed.
        """
        headers = {"Content-Type": content_type, "Accept": accept, "Content-Length": str(len(body))}
        last = ""
        status: int | None = None
        for attempt in range(self.retry.max_attempts):
            if attempt:
                time.sleep(self.retry.delay(attempt - 1, self._rng))
            try:
                status, data, _ = self.request("POST", "/invocations", body, headers)
            except (TimeoutError, OSError, http.client.HTTPException) as err:
                status, last = None, f"{type(err).__name__}: {err}"
                continue
            if status == 200:
                return data
            reason = " ".join(data[:500].decode("utf-8", "replace").split())
            if status not in _RETRY_STATUSES:
                raise EndpointError(
                    f"Endpoint {self.url} rejected the {what} with HTTP {status}: {reason}", status
                )
            last = f"HTTP {status}: {reason}"
        raise EndpointError(
            f"Endpoint {self.url} failed the {what} after {self.retry.max_attempts} attempts; "
            f"last error: {last}",
            status,
        )
