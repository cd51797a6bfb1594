from __future__ import annotations

import base64
import json
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chalicelib import errors, ids
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
        base64.urlsafe_b64encode(b"[" * 5000).decode(),  # deeper than json's recursion limit
        encode_cursor(datetime(2026, 1, 1, tzinfo=UTC), "x"),
        encode_cursor(datetime(2026, 1, 1, tzinfo=UTC), "6b0811cac0b015e7f3518c7c\n"),
        encode_cursor(datetime(2026, 1, 1, tzinfo=UTC), "6B0811CAC0B015E7F3518C7C"),
    ],
)
def test_anything_else_is_a_422_on_cursor(cursor: str) -> None:
    with pytest.raises(errors.InvalidInput) as caught:
        decode_cursor(cursor)
    assert caught.value.errors[0].field == "cursor"


@settings(max_examples=300, deadline=None)
@given(
    st.one_of(
        st.lists(st.one_of(st.text(), st.integers(), st.none(), st.datetimes().map(str))),
        st.tuples(st.datetimes(timezones=st.just(UTC)).map(datetime.isoformat), st.text()),
        st.text(),
    )
)
def test_whatever_a_client_encodes_decodes_to_our_position_or_a_422(payload: object) -> None:
    raw = base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")
    try:
        position = decode_cursor(raw)
    except errors.InvalidInput as exc:
        assert [e.field for e in exc.errors] == ["cursor"]  # noqa: PT017 (Hypothesis decides)
        return
    assert ids.to_object_id(position[1]) is not None  # the page query can use it as it is
