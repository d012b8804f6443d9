"""Media types: parse ``Content-Type`` / ``Accept`` headers and name the formats sagespark speaks.

SageMaker clients send a handful of spellings for the same format (``text/csv``, ``text/csv;
charset=utf-8``, ``application/jsonlines``, ``application/x-jsonlines``); everything downstream works
with one canonical name per format, so the spellings are folded here, once.

Examples
--------
>>> parse_media_type("text/csv; charset=utf-8")
MediaType(name='text/csv', params={'charset': 'utf-8'})
>>> negotiate_accept("application/json;q=0.5, text/csv", default="application/json").name
'text/csv'
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = [
    "CSV",
    "JSON",
    "JSONLINES",
    "RECORDIO",
    "LIBSVM",
    "REQUEST_TYPES",
    "RESPONSE_TYPES",
    "MediaType",
    "UnsupportedMediaType",
    "parse_media_type",
    "negotiate_accept",
]

CSV = "text/csv"
JSON = "application/json"
JSONLINES = "application/jsonlines"
RECORDIO = "application/x-recordio-protobuf"
LIBSVM = "text/libsvm"

_ALIASES = {
    "text/csv": CSV,
    "text/x-csv": CSV,
    "application/csv": CSV,
    "csv": CSV,
    "application/json": JSON,
    "json": JSON,
    "application/jsonlines": JSONLINES,
    "application/x-jsonlines": JSONLINES,
    "application/jsonl": JSONLINES,
    "application/x-ndjson": JSONLINES,
    "jsonlines": JSONLINES,
    "application/x-recordio-protobuf": RECORDIO,
    "recordio-protobuf": RECORDIO,
    "text/libsvm": LIBSVM,
    "text/x-libsvm": LIBSVM,
    "application/x-libsvm": LIBSVM,
    "libsvm": LIBSVM,
}

REQUEST_TYPES = (CSV, JSON, JSONLINES, RECORDIO, LIBSVM)
"""Request bodies the decoders understand."""
RESPONSE_TYPES = (JSON, JSONLINES, CSV, RECORDIO)
"""Response bodies the encoders write."""


class UnsupportedMediaType(ValueError):
    """A media type sagespark does not speak (HTTP 415 for requests, 406 for Accept)."""


@dataclass(frozen=True)
class MediaType:
    """A canonical media type name with its lower-cased parameters (``verbose``, ``charset``, ``q``)."""

    name: str
    params: dict[str, str] = field(default_factory=dict)

    @property
    def verbose(self) -> bool:
        """SageMaker's ``; verbose=true`` switch (k-NN, IP Insights)."""
        return self.params.get("verbose", "").lower() in ("true", "1")


def parse_media_type(header: str | None, *, known: tuple[str, ...] = REQUEST_TYPES) -> MediaType:
    """Fold one media type (with parameters) onto its canonical name.

    Raises
    ------
    UnsupportedMediaType
        When the type is empty or not among ``known``.
    """
    text = (header or "").strip()
    base, _, rest = text.partition(";")
    name = _ALIASES.get(base.strip().lower())
    if name is None or name not in known:
        shown = text or "(none)"
        raise UnsupportedMediaType(
            f"Unsupported media type {shown!r}; supported types are {', '.join(known)}."
        )
    params: dict[str, str] = {}
    for part in rest.split(";"):
        key, sep, value = part.partition("=")
        if sep:
            params[key.strip().lower()] = value.strip().strip('"')
    return MediaType(name, params)


def negotiate_accept(
    header: str | None, *, default: str, known: tuple[str, ...] = RESPONSE_TYPES
) -> MediaType:
    """Pick the response type for an ``Accept`` header, honouring ``q`` weights.

    An empty header or a bare ``*/*`` gives ``default`` (SageMaker's
    ``SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT``).

    Raises
    ------
    UnsupportedMediaType
        When no listed type is supported.
    """
    text = (header or "").strip()
    if not text:
        return parse_media_type(default, known=known)
    candidates: list[tuple[float, int, str]] = []
    for index, item in enumerate(text.split(",")):
        item = item.strip()
        if not item:
            continue
        q = 1.0
        for part in item.split(";")[1:]:
            key, _, value = part.partition("=")
            if key.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        candidates.append((-q, index, item))
    for neg_q, _, item in sorted(candidates):
        if neg_q >= 0:
            continue
        base = item.split(";")[0].strip().lower()
        if base in ("*/*", "application/*", "text/*"):
            chosen = parse_media_type(default, known=known)
            if base == "*/*" or chosen.name.startswith(base[:-1]):
                return chosen
            continue
        try:
            return parse_media_type(item, known=known)
        except UnsupportedMediaType:
            continue
    raise UnsupportedMediaType(
        f"None of the accepted media types {text!r} is supported; supported types are {', '.join(known)}."
    )
