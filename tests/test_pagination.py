from __future__ import annotations

from datetime import UTC, datetime

import pytest

from chalicelib import errors
from chalicelib.pagination import decode_cursor, encode_cursor


def test_a_cursor_round_trips() -> None:
    moment = datetime(2026, 11, 26, 10, 0, 0, 123000, tzinfo=UTC)
    cursor = encode_cursor(moment, "6b0811cac0b015e7f3518c7c")
    assert "=" not in cursor
    assert decode_cursor(cursor) == (moment, "6b0811cac0b015e7f3518c7c")


@pytest.mark.parametrize(
    "cursor",
    [
        "!!!",
        "e30",
        encode_cursor(datetime(2026, 1, 1), "x"),
        "WzEsMl0",
        "bnVsbA",
        encode_cursor(datetime(2026, 1, 1, tzinfo=UTC), "x"),
        encode_cursor(datetime(2026, 1, 1, tzinfo=UTC), "6b0811cac0b015e7f3518c7c\n"),
        encode_cursor(datetime(2026, 1, 1, tzinfo=UTC), "6B0811CAC0B015E7F3518C7C"),
    ],
)
def test_anything_else_is_a_422_on_cursor(cursor: str) -> None:
    with pytest.raises(errors.InvalidInput) as caught:
        decode_cursor(cursor)
    assert caught.value.errors[0].field == "cursor"
