"""multipart/form-data parsing: named parts, or a 400 ``malformed_multipart``."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chalicelib import errors
from chalicelib.images import form

CT = "multipart/form-data; boundary=x"


def body(*parts: tuple[str, bytes], filename: str | None = None) -> bytes:
    out = b""
    for name, data in parts:
        disposition = f'form-data; name="{name}"'
        if filename is not None and name == "file":
            disposition += f'; filename="{filename}"'
        out += f"--x\r\nContent-Disposition: {disposition}\r\n".encode()
        if name == "file":
            out += b"Content-Type: image/jpeg\r\n"
        out += b"\r\n" + data + b"\r\n"
    return out + b"--x--\r\n"


def test_named_parts_keep_their_bytes_file_name_and_type() -> None:
    parts = form.parse(body(("file", b"\xff\xd8\x00\r\n"), ("token", b"abc")), CT)
    assert bytes(parts["file"].data) == b"\xff\xd8\x00\r\n"
    assert parts["file"].content_type == "image/jpeg"
    assert parts["token"].text == "abc"
    assert parts["token"].filename is None
    with_name = form.parse(body(("file", b"x"), filename="Zoë.jpg"), CT)
    assert with_name["file"].filename == "Zoë.jpg"


@pytest.mark.parametrize(
    "content_type",
    [
        "multipart/form-data",
        "multipart/form-data; boundary=",
        "multipart/form-data; boundary=\u20ac",  # not latin-1: no header on the wire can say it
        "multipart/form-data; boundary=" + "x" * 300,  # python-multipart allows 256
    ],
)
def test_a_content_type_without_a_usable_boundary_is_a_400(content_type: str) -> None:
    with pytest.raises(errors.BadRequest) as caught:
        form.parse(body(("token", b"abc")), content_type)
    assert caught.value.code == "malformed_multipart"


def test_more_parts_than_allowed_are_refused() -> None:
    allowed = [(f"f{i}", b"v") for i in range(form.MAX_PARTS)]
    assert len(form.parse(body(*allowed), CT)) == form.MAX_PARTS
    with pytest.raises(errors.BadRequest, match="too many parts"):
        form.parse(body(*allowed, ("one_more", b"v")), CT)


PIECES = st.sampled_from(
    [
        b"--x\r\n",
        b"--x--\r\n",
        b"\r\n",
        b'Content-Disposition: form-data; name="file"; filename="a.jpg"\r\n',
        b"Content-Type: image/jpeg\r\n",
        b"name*=UTF-8''%C3",
        b"\xff",
        b"\x00",
    ]
)


@settings(max_examples=400, deadline=None)
@given(
    st.lists(PIECES | st.binary(max_size=8), max_size=30).map(b"".join),
    st.sampled_from([CT, 'multipart/form-data; boundary="x"']) | st.text(max_size=60),
)
def test_any_body_and_content_type_parse_or_are_a_400(data: bytes, content_type: str) -> None:
    try:
        parts = form.parse(data, content_type)
    except errors.BadRequest as exc:
        assert exc.code == "malformed_multipart"  # noqa: PT017 (Hypothesis decides)
        return
    assert all(name and isinstance(part, form.Part) for name, part in parts.items())
