"""``multipart/form-data`` bodies, parsed with python-multipart (``cgi`` left Python 3.13)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from chalicelib import errors, lazy

if TYPE_CHECKING:
    from python_multipart import exceptions as multipart_errors
    from python_multipart import multipart
else:
    multipart = lazy.module("python_multipart.multipart")
    multipart_errors = lazy.module("python_multipart.exceptions")

MAX_PARTS = 20


@dataclass
class Part:
    name: str = ""
    filename: str | None = None
    content_type: str | None = None
    data: bytearray = field(default_factory=bytearray)

    @property
    def text(self) -> str:
        return self.data.decode("utf-8", errors="replace")


def parse(body: bytes, content_type: str) -> dict[str, Part]:
    """The named parts of a multipart body; a malformed body is a 400."""
    try:
        # A header value is latin-1 on the wire; API Gateway may hand us any text.
        _, params = multipart.parse_options_header(content_type.encode("latin-1"))
    except UnicodeEncodeError:
        raise _malformed("The Content-Type header is not latin-1 text.") from None
    boundary = params.get(b"boundary")
    if not boundary:
        raise _malformed("The multipart body has no boundary.")
    parts: list[Part] = []
    header_name = bytearray()
    header_value = bytearray()
    headers: dict[str, bytes] = {}

    def on_part_begin() -> None:
        if len(parts) == MAX_PARTS:  # stop at once, not after parsing thousands
            raise _malformed("The multipart body has too many parts.")
        headers.clear()
        parts.append(Part())

    def on_header_field(data: bytes, start: int, end: int) -> None:
        header_name.extend(data[start:end])

    def on_header_value(data: bytes, start: int, end: int) -> None:
        header_value.extend(data[start:end])

    def on_header_end() -> None:
        # Raw bytes: browsers write file names in UTF-8, which a text decode here would garble.
        headers[header_name.decode("latin-1").lower()] = bytes(header_value)
        header_name.clear()
        header_value.clear()

    def on_headers_finished() -> None:
        _, disposition = multipart.parse_options_header(headers.get("content-disposition", b""))
        part = parts[-1]
        part.name = disposition.get(b"name", b"").decode("utf-8", "replace")
        filename = disposition.get(b"filename")
        part.filename = None if filename is None else filename.decode("utf-8", "replace")
        kind = headers.get("content-type")
        part.content_type = None if kind is None else kind.decode("utf-8", "replace")

    def on_part_data(data: bytes, start: int, end: int) -> None:
        parts[-1].data.extend(data[start:end])

    try:
        parser = multipart.MultipartParser(
            boundary,
            callbacks={
                "on_part_begin": on_part_begin,
                "on_header_field": on_header_field,
                "on_header_value": on_header_value,
                "on_header_end": on_header_end,
                "on_headers_finished": on_headers_finished,
                "on_part_data": on_part_data,
            },
        )
        parser.write(body)
        parser.finalize()
    # A bad boundary (over 256 bytes) as much as a bad body.
    except multipart_errors.FormParserError:
        raise _malformed("The multipart body is malformed.") from None
    return {part.name: part for part in parts if part.name}


def _malformed(detail: str) -> errors.BadRequest:
    return errors.BadRequest(detail, code="malformed_multipart")
