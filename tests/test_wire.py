from __future__ import annotations

import base64
import datetime as dt
import json

import pytest
from bson import ObjectId
from chalice.app import Request
from pydantic import BaseModel, ConfigDict, Field

from chalicelib import errors, wire
from chalicelib.problem import Problem


class Sample(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: str = Field(min_length=1)
    tags: list[str] = []


def make_request(body: bytes, content_type: str | None = "application/json") -> Request:
    headers = {} if content_type is None else {"content-type": content_type}
    return Request(
        {
            "multiValueQueryStringParameters": None,
            "headers": headers,
            "pathParameters": {},
            "requestContext": {"httpMethod": "POST", "resourcePath": "/x", "path": "/x"},
            # Base64, as API Gateway sends any body: bytes that are not UTF-8 arrive intact.
            "body": base64.b64encode(body).decode(),
            "isBase64Encoded": True,
            "stageVariables": {},
        }
    )


def test_datetimes_encode_as_iso_8601_utc_with_z() -> None:
    aware = dt.datetime(2026, 1, 2, 5, 4, 5, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    naive = dt.datetime(2026, 1, 2, 3, 4, 5)
    encoded = json.loads(wire.dumps({"aware": aware, "naive": naive}))
    assert encoded == {"aware": "2026-01-02T03:04:05Z", "naive": "2026-01-02T03:04:05Z"}


def test_ids_models_and_sets_encode() -> None:
    oid = ObjectId()
    encoded = json.loads(wire.dumps({"id": oid, "model": Sample(title="a"), "s": {1}}))
    assert encoded == {"id": str(oid), "model": {"title": "a", "tags": []}, "s": [1]}


class Stamped(BaseModel):
    at: dt.datetime
    note: str
    inner: list[Sample]


def test_a_model_encodes_exactly_as_its_json_dump_does_inside_a_document() -> None:
    model = Stamped(
        at=dt.datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=dt.UTC),
        note='Zoë says "hi"\n\u2028</script>',
        inner=[Sample(title="a", tags=["x"])],
    )
    alone = wire.dumps(model)
    inside = wire.dumps({"m": model})
    assert alone == model.model_dump_json()
    assert inside == '{"m":' + alone + "}"
    assert json.loads(alone)["at"] == "2026-01-02T03:04:05.678000Z"
    assert "Zoë" in alone


@pytest.mark.parametrize(
    ("sent", "length"),
    [
        (None, None),
        ("", None),
        ("12", 12),
        ("0", 0),
        ("000012", 12),
        ("0" * 5000 + "7", 7),
        ("9" * 5000, 10**18),  # int() refuses over 4,300 digits; capped, still too large
        ("\u00b2", None),  # "²".isdigit() is true, yet int("²") raises
        ("\u0661\u0662", None),
        ("-1", None),
        (" 12", None),
        ("1e3", None),
    ],
)
def test_a_client_number_is_ascii_digits_or_absent(sent: str | None, length: int | None) -> None:
    assert wire.parse_decimal(sent) == length


def test_json_nested_thousands_deep_is_malformed_not_a_crash() -> None:
    deep = b"[" * 100_000 + b"]" * 100_000
    with pytest.raises(errors.BadRequest) as caught:
        wire.parse_json_body(make_request(deep), Sample)
    assert caught.value.code == "malformed_json"


def test_plain_data_is_written_byte_for_byte_as_the_json_module_writes_it() -> None:
    document = {
        "text": 'Zoë says "hi"\n\u2028</script>\x01\x7f',
        "numbers": [0, -1, 2.5, 1e16, 0.1, 10**18],
        "flags": [True, False, None],
        "nested": {"empty": {}, "list": [], "s": "\\"},
    }
    expected = json.dumps(document, separators=(",", ":"), ensure_ascii=False)
    assert wire.dumps(document) == expected


def test_unknown_objects_are_refused_not_stringified() -> None:
    with pytest.raises(TypeError):
        wire.dumps({"x": object()})


def test_a_valid_body_is_parsed_into_its_model() -> None:
    parsed = wire.parse_json_body(make_request(b'{"title": "hi", "tags": ["a"]}'), Sample)
    assert parsed == Sample(title="hi", tags=["a"])


def test_a_json_suffix_media_type_is_accepted() -> None:
    request = make_request(b'{"title": "hi"}', "application/merge-patch+json; charset=utf-8")
    assert wire.parse_json_body(request, Sample).title == "hi"


@pytest.mark.parametrize("content_type", [None, "text/plain", "application/x-www-form-urlencoded"])
def test_a_body_that_is_not_json_is_unsupported(content_type: str | None) -> None:
    with pytest.raises(errors.UnsupportedMediaType):
        wire.parse_json_body(make_request(b'{"title": "hi"}', content_type), Sample)


@pytest.mark.parametrize("raw", [b"{", b'{"title": }', b"\xff\xfe"])
def test_malformed_json_is_a_bad_request(raw: bytes) -> None:
    with pytest.raises(errors.BadRequest) as caught:
        wire.parse_json_body(make_request(raw), Sample)
    assert caught.value.code == "malformed_json"


def test_each_failing_field_is_named() -> None:
    request = make_request(b'{"title": "", "tags": ["ok", {"$gt": ""}], "extra": 1}')
    with pytest.raises(errors.InvalidInput) as caught:
        wire.parse_json_body(request, Sample)
    fields = [e.field for e in caught.value.errors]
    assert fields == ["title", "tags.1", "extra"]


def test_a_body_that_is_not_an_object_names_the_body() -> None:
    with pytest.raises(errors.InvalidInput) as caught:
        wire.parse_json_body(make_request(b"[1, 2]"), Sample)
    assert [e.field for e in caught.value.errors] == ["body"]


@pytest.mark.parametrize(
    ("error", "status", "header"),
    [
        (errors.BadRequest("x"), 400, None),
        (errors.InvalidInput.field("email", "taken"), 422, None),
        (errors.Unauthenticated("x"), 401, ("WWW-Authenticate", "Bearer")),
        (errors.Forbidden("x", code="email_not_verified"), 403, None),
        (errors.NotFound("x"), 404, None),
        (errors.MethodNotAllowed("x", allowed=["GET", "OPTIONS"]), 405, ("Allow", "GET, OPTIONS")),
        (errors.Conflict("x"), 409, None),
        (errors.PreconditionFailed("x"), 412, None),
        (errors.PayloadTooLarge("x"), 413, None),
        (errors.UnsupportedMediaType("x"), 415, None),
        (errors.RateLimited("x", retry_after=42), 429, ("Retry-After", "42")),
        (errors.UpstreamFailed("x"), 502, None),
        (errors.Unavailable("x", retry_after=7), 503, ("Retry-After", "7")),
    ],
)
def test_the_error_map(
    error: errors.DomainError, status: int, header: tuple[str, str] | None
) -> None:
    response = wire.error_to_response(error)
    assert response.status_code == status
    assert response.headers["Content-Type"] == "application/problem+json"
    body = json.loads(response.body)
    assert body["status"] == status
    assert body["code"] == error.code
    assert body["type"] == f"urn:snapboard:problem:{error.code}"
    assert body["detail"] == error.detail
    if header is not None:
        assert response.headers[header[0]] == header[1]


def test_field_errors_appear_in_the_problem_body() -> None:
    body = json.loads(wire.error_to_response(errors.InvalidInput.field("email", "taken")).body)
    assert body["errors"] == [{"field": "email", "message": "taken"}]


@pytest.mark.parametrize(
    "error",
    [
        errors.NotFound("No such post."),
        errors.InvalidInput.field("title", "Too long: \u00e9\ud800"),
        errors.InvalidInput.fields(
            [errors.FieldError(f"f{i}", "bad") for i in range(30)], total=30
        ),
        errors.RateLimited("Slow down.", retry_after=3),
    ],
)
def test_every_problem_body_is_what_the_documented_problem_model_describes(
    error: errors.DomainError,
) -> None:
    # wire writes the body without pydantic; the document describes it with Problem.
    body = json.loads(wire.error_to_response(error).body)
    assert set(body) <= set(Problem.model_fields)
    assert Problem.model_validate(body).model_dump(exclude_none=True) == body


def test_a_rate_limit_never_asks_to_retry_in_zero_seconds() -> None:
    assert errors.RateLimited("x", retry_after=0).retry_after == 1


# ------------------------------------------------------------ bounded error reports


def test_a_body_of_450_000_unknown_keys_is_refused_with_one_short_error() -> None:
    # The finding's body (5.3 MB); the route's body limit is not checked here.
    wide = json.dumps({f"k{i}": 1 for i in range(450_000)}, separators=(",", ":")).encode()
    assert len(wide) > 5_000_000
    with pytest.raises(errors.InvalidInput) as caught:
        wire.parse_json_body(make_request(wide), Sample)
    assert [e.field for e in caught.value.errors] == ["body"]
    assert "450000 members" in caught.value.errors[0].message
    response = wire.error_to_response(caught.value)
    assert response.status_code == 422
    assert len(response.body) < 1000


def test_a_wide_object_deep_inside_the_body_is_refused_too() -> None:
    wide = {"title": "x", "tags": [{f"k{i}": i for i in range(1000)}]}
    with pytest.raises(errors.InvalidInput) as caught:
        wire.parse_json_body(make_request(json.dumps(wide).encode()), Sample)
    assert "1000 members" in caught.value.errors[0].message


def test_the_member_limit_leaves_room_to_name_each_unknown_field() -> None:
    # Sample declares two fields: twenty unknown ones are still named one by one.
    limit = wire.member_limit(Sample)
    assert limit == 2 + wire.MAX_REPORTED_ERRORS
    body = {"title": "x", **{f"extra{i}": 1 for i in range(limit - 1)}}
    with pytest.raises(errors.InvalidInput) as caught:
        wire.parse_json_body(make_request(json.dumps(body).encode()), Sample)
    assert caught.value.errors[0].field == "extra0"


def test_a_422_lists_the_first_errors_and_counts_the_rest() -> None:
    body = {"title": "", **{f"extra{i}": 1 for i in range(21)}}  # 22 failures
    with pytest.raises(errors.InvalidInput) as caught:
        wire.parse_json_body(make_request(json.dumps(body).encode()), Sample)
    problem = json.loads(wire.error_to_response(caught.value).body)
    assert len(problem["errors"]) == wire.MAX_REPORTED_ERRORS
    assert problem["errors"][0]["field"] == "title"
    assert problem["detail"].endswith("(and 2 more errors)")


def test_a_megabyte_long_key_is_clipped_in_the_report() -> None:
    body = {"title": "x", "k" * 1_000_000: 1}
    with pytest.raises(errors.InvalidInput) as caught:
        wire.parse_json_body(make_request(json.dumps(body).encode()), Sample)
    response = wire.error_to_response(caught.value)
    problem = json.loads(response.body)
    assert problem["errors"][0]["field"] == "k" * (wire.MAX_FIELD_CHARS - 1) + "\u2026"
    assert len(response.body) < 2000


def test_every_problem_is_clipped_whoever_raised_it() -> None:
    many = [errors.FieldError(f"f{i}" * 100, "m" * 10_000) for i in range(1000)]
    response = wire.error_to_response(errors.InvalidInput("d" * 100_000, errors=many))
    problem = json.loads(response.body)
    assert len(problem["errors"]) == wire.MAX_REPORTED_ERRORS
    assert len(problem["detail"]) == wire.MAX_DETAIL_CHARS
    assert {len(e["message"]) for e in problem["errors"]} == {wire.MAX_MESSAGE_CHARS}
    assert len(response.body) < 10_000


class Paging(BaseModel):
    model_config = ConfigDict(extra="forbid")

    limit: int = 20


def make_query_request(params: dict[str, list[str]]) -> Request:
    return Request(
        {
            "multiValueQueryStringParameters": params,
            "headers": {},
            "pathParameters": {},
            "requestContext": {"httpMethod": "GET", "resourcePath": "/x", "path": "/x"},
            "body": None,
            "stageVariables": {},
        }
    )


def test_a_query_of_thousands_of_parameters_is_refused_with_one_error() -> None:
    request = make_query_request({f"p{i}": ["1"] for i in range(5000)})
    with pytest.raises(errors.InvalidInput) as caught:
        wire.parse_query(request, Paging)
    assert [e.field for e in caught.value.errors] == ["query"]


# ------------------------------------------------------------------ entity tags


@pytest.mark.parametrize(
    ("header", "matches"),
    [
        (None, False),
        ('"v2"', True),
        ('W/"v2"', True),  # weak comparison
        ("*", True),
        (' "v1" , W/"v2" ', True),
        ('"v1",,"v2"', True),  # empty list elements are allowed
        ('"a,b", "v2"', True),  # a comma may sit inside a tag
        ('"v1"', False),
        ('"V2"', False),
        ("v2", False),  # unquoted: not an entity tag
        ('"v2', False),
        ('"v2" garbage', False),
        ('w/"v2"', False),  # the weak prefix is case-sensitive
        ("", False),
    ],
)
def test_if_none_match_compares_weakly(header: str | None, matches: bool) -> None:
    assert wire.none_match(header, '"v2"') is matches


@pytest.mark.parametrize(
    ("header", "holds"),
    [
        (None, True),
        ("*", True),
        ('"v2"', True),
        ('"v1", "v2"', True),
        ('W/"v2"', False),  # strong comparison: a weak tag never matches
        ('"v1"', False),
        ("v2", False),
        ("", False),
    ],
)
def test_if_match_compares_strongly(header: str | None, holds: bool) -> None:
    assert wire.if_match(header, '"v2"') is holds


def test_every_array_a_route_accepts_is_bounded() -> None:
    # What lets parse_json_body bound objects only: pydantic compares an array's
    # length with max_length before it validates a single item.
    from app import app

    unbounded = []
    for spec in app.specs:
        for model in (spec.body, spec.query):
            pending: list[object] = [] if model is None else [model.model_json_schema()]
            while pending:
                node = pending.pop()
                if isinstance(node, dict):
                    if node.get("type") == "array" and "maxItems" not in node:
                        unbounded.append(f"{spec.method} {spec.path}")
                    pending.extend(node.values())
                elif isinstance(node, list):
                    pending.extend(node)
    assert unbounded == []
