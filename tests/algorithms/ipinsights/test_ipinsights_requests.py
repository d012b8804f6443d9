"""Request bodies of string rows (IP Insights' ``entity,ip``): decoding, encoding and their errors."""

from __future__ import annotations

import numpy as np
import pytest

from sagespark.errors import DataFormatError
from sagespark.formats.text import UnsupportedMediaType, decode_string_rows, encode_string_rows

NAMES = ["entity", "ip"]
TYPES = ["text/csv", "application/json", "application/jsonlines"]


@pytest.mark.parametrize("content_type", TYPES)
def test_rows_round_trip_including_commas_and_quotes(content_type: str) -> None:
    rows = np.array([["plain", "1.2.3.4"], ["a,b", "5.6.7.8"], ['say "hi"', "9.9.9.9"], ["ü", "0.0.0.0"]],
                    dtype=object)
    decoded = decode_string_rows(encode_string_rows(rows, content_type), content_type, names=NAMES)
    assert decoded["entity"].tolist() == rows[:, 0].tolist()
    assert decoded["ip"].tolist() == rows[:, 1].tolist()
    assert decoded["entity"].dtype == object


def test_csv_accepts_blanks_around_fields_crlf_and_blank_lines() -> None:
    decoded = decode_string_rows(b"entity_id_1, 192.168.1.2\r\n\r\nentity_id_2 ,10.10.1.2", "text/csv",
                                 names=NAMES)
    assert decoded["entity"].tolist() == ["entity_id_1", "entity_id_2"]
    assert decoded["ip"].tolist() == ["192.168.1.2", "10.10.1.2"]


def test_json_accepts_every_instance_form() -> None:
    body = (b'{"instances": [{"data": {"features": {"values": ["a", "1.1.1.1"]}}}, '
            b'{"features": ["b", "2.2.2.2"]}, {"data": ["c", "3.3.3.3"]}, ["d", "4.4.4.4"]]}')
    decoded = decode_string_rows(body, "application/json", names=NAMES)
    assert decoded["entity"].tolist() == ["a", "b", "c", "d"]
    assert decode_string_rows(b'["e", "5.5.5.5"]', "application/json", names=NAMES)["ip"].tolist() == [
        "5.5.5.5"]


@pytest.mark.parametrize(
    ("body", "content_type", "message"),
    [
        (b"a,1.1.1.1\nb,2.2.2.2,x\n", "text/csv", "CSV line 2 has 3 fields; expected 2"),
        (b"  \n", "text/csv", "CSV body is empty"),
        (b'{"instances": [["a", "1.1.1.1"], ["b", 7]]}', "application/json",
         "instance 1: expected a list of 2"),
        (b'{"instances": []}', "application/json", "No instances"),
        (b'["a", "1.1.1.1"]\n\n{"features": ["b"]}\n', "application/jsonlines",
         "line 3: expected a list of 2"),
        (b'["a", "1.1.1.1"]\n{oops\n', "application/jsonlines", "JSON Lines line 2 is not valid JSON"),
    ],
)
def test_malformed_bodies_name_the_line_or_instance(body: bytes, content_type: str, message: str) -> None:
    with pytest.raises(DataFormatError, match=message):
        decode_string_rows(body, content_type, names=NAMES)


def test_recordio_cannot_carry_strings() -> None:
    with pytest.raises(UnsupportedMediaType, match="cannot carry string rows"):
        decode_string_rows(b"\x00", "application/x-recordio-protobuf", names=NAMES)
    with pytest.raises(UnsupportedMediaType):
        encode_string_rows(np.array([["a", "1.1.1.1"]], dtype=object), "application/x-recordio-protobuf")
