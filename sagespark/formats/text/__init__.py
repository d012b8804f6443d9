"""Text codecs (CSV, JSON, JSON Lines, libsvm) and the request/response dispatch of the hosting layer.

Examples
--------
>>> from sagespark.formats.text import decode_request
>>> decode_request(b'{"instances": [[1, 2]]}', "application/json").tolist()
[[1.0, 2.0]]
"""

from sagespark.formats.text.codecs import (
    check_feature_dim,
    decode_request,
    decode_response,
    encode_request,
    encode_response,
)
from sagespark.formats.text.csv_codec import decode_csv, encode_csv_matrix
from sagespark.formats.text.json_codec import decode_json, decode_jsonlines
from sagespark.formats.text.libsvm_codec import decode_libsvm, encode_libsvm
from sagespark.formats.text.media import (
    CSV,
    JSON,
    JSONLINES,
    LIBSVM,
    RECORDIO,
    REQUEST_TYPES,
    RESPONSE_TYPES,
    MediaType,
    UnsupportedMediaType,
    negotiate_accept,
    parse_media_type,
)
from sagespark.formats.text.string_rows import STRING_ROW_TYPES, decode_string_rows, encode_string_rows

__all__ = [
    "CSV",
    "JSON",
    "JSONLINES",
    "LIBSVM",
    "RECORDIO",
    "REQUEST_TYPES",
    "RESPONSE_TYPES",
    "STRING_ROW_TYPES",
    "MediaType",
    "UnsupportedMediaType",
    "check_feature_dim",
    "decode_csv",
    "decode_json",
    "decode_jsonlines",
    "decode_libsvm",
    "decode_request",
    "decode_response",
    "decode_string_rows",
    "encode_csv_matrix",
    "encode_libsvm",
    "encode_request",
    "encode_response",
    "encode_string_rows",
    "negotiate_accept",
    "parse_media_type",
]
