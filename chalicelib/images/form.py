"""``multipart/form-data`` bodies, parsed with python-multipart (``cgi`` left Python 3.13)."""

from __future__ import annotations

from dataclasses import dataclass, field

from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartParser, parse_options_header

from chalicelib import errors

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
    _, params = parse_options_header(content_type)
    boundary = params.get(b"boundary")
    if not boundary:
        raise errors.BadRequest("The multipart body has no boundary.", code="malformed_multipart")
    parts: list[Part] = []
    header_name = bytearray()
    header_value = bytearray()
    headers: dict[str, str] = {}

    def on_part_begin() -> None:
        headers.clear()
        parts.append(Part())

    def on_header_field(data: bytes, start: int, end: int) -> None:
        header_name.extend(data[start:end])

    def on_header_value(data: bytes, start: int, end: int) -> None:
        header_value.extend(data[start:end])

    def on_header_end() -> None:
        headers[header_name.decode("latin-1").lower()] = header_value.decode("utf-8", "replace")
        header_name.clear()
        header_value.clear()

    def on_headers_finished() -> None:
        _, disposition = parse_options_header(headers.get("content-disposition", ""))
        part = parts[-1]
        part.name = disposition.get(b"name", b"").decode("utf-8", "replace")
        filename = disposition.get(b"filename")
        part.filename = None if filename is None else filename.decode("utf-8", "replace")
        part.content_type = headers.get("content-type")

    def on_part_data(data: bytes, start: int, end: int) -> None:
        parts[-1].data.extend(data[start:end])

    parser = MultipartParser(
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
    try:
        parser.write(body)
        parser.finalize()
    except FormParserError:
        raise errors.BadRequest(
            "The multipart body is malformed.", code="malformed_multipart"
        ) from None
    if len(parts) > MAX_PARTS:
        raise errors.BadRequest(
            "The multipart body has too many parts.", code="malformed_multipart"
        )
    return {part.name: part for part in parts if part.name}
