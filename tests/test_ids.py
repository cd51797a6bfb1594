"""Document ids at the repository boundary: only our own 24-hex form becomes an ObjectId."""

from __future__ import annotations

import pytest
from bson import ObjectId

from chalicelib import ids


def test_a_fresh_id_round_trips_through_its_string_form() -> None:
    oid = ids.new_object_id()
    assert isinstance(oid, ObjectId)
    assert ids.is_valid(str(oid))
    assert ids.to_object_id(str(oid)) == oid


@pytest.mark.parametrize(
    "value",
    [
        "",
        "6b0811cac0b015e7f3518c7",  # 23
        "6b0811cac0b015e7f3518c7c0",  # 25
        "6b0811cac0b015e7f3518c7c\n",  # "^...$" would let the newline through
        "6B0811CAC0B015E7F3518C7C",  # the API only ever writes lower case
        "6b0811cac0b015e7f3518c7g",
        " 6b0811cac0b015e7f3518c7c",
    ],
)
def test_anything_but_24_lower_case_hex_digits_is_no_id(value: str) -> None:
    assert not ids.is_valid(value)
    assert ids.to_object_id(value) is None


def test_a_non_string_is_no_id() -> None:
    assert ids.to_object_id(12345) is None  # type: ignore[arg-type]
