from __future__ import annotations

from typing import Any

import pytest
from openapi_spec_validator import validate
from pydantic import BaseModel

from chalicelib.openapi import build_document
from chalicelib.routing import Api, Context, RawBody, Router, RouteSpec
from tests.support import Http
from tests.test_routing import probe_app


@pytest.fixture
def document(client: Http) -> dict[str, Any]:
    reply = client.get("/openapi.json")
    assert reply.status == 200
    body: dict[str, Any] = reply.json
    return body


def test_the_served_document_is_valid_openapi_3_1(document: dict[str, Any]) -> None:
    validate(document)
    assert document["openapi"] == "3.1.0"


def test_every_declared_route_is_documented_and_fallbacks_are_not(
    document: dict[str, Any], app: Api
) -> None:
    declared = {(s.path, s.method.lower()) for s in app.specs if s.include_in_schema}
    documented = {(path, method) for path, item in document["paths"].items() for method in item}
    assert documented == declared
    assert "/{proxy+}" not in document["paths"]
    assert ("/health", "get") in documented


def test_errors_are_documented_as_problem_json(document: dict[str, Any]) -> None:
    ready = document["paths"]["/ready"]["get"]["responses"]
    assert set(ready) == {"200", "503", "default"}
    schema = ready["503"]["content"]["application/problem+json"]["schema"]
    assert schema == {"$ref": "#/components/schemas/Problem"}
    assert {"type", "title", "status", "detail", "code"} <= set(
        document["components"]["schemas"]["Problem"]["required"]
    )


def test_bodies_queries_and_path_parameters_come_from_the_declarations() -> None:
    document = build_document(probe_app.specs, title="probe")
    validate(document)
    create = document["paths"]["/things"]["post"]
    body_ref = create["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    body = document["components"]["schemas"][body_ref.rsplit("/", 1)[1]]
    assert body["required"] == ["name", "size"]
    assert body["additionalProperties"] is False
    assert {"201", "400", "413", "415", "422"} <= set(create["responses"])
    listing = document["paths"]["/things"]["get"]
    assert {
        p["name"]: p["schema"]["maximum"] for p in listing["parameters"] if "maximum" in p["schema"]
    } == {"limit": 100}
    item = document["paths"]["/things/{thing_id}"]["get"]
    assert item["parameters"][0] == {
        "name": "thing_id",
        "in": "path",
        "required": True,
        "schema": {"type": "string"},
    }
    assert "204" in document["paths"]["/things/{thing_id}"]["delete"]["responses"]


def test_operation_names_must_be_unique() -> None:
    spec = RouteSpec(path="/a", method="GET", name="same", summary="", description="", tag="t")
    twin = RouteSpec(path="/b", method="GET", name="same", summary="", description="", tag="t")
    with pytest.raises(ValueError, match="unique"):
        build_document([spec, twin], title="x")


def test_an_image_upload_documents_a_raw_image_body_and_a_multipart_form(
    document: dict[str, Any],
) -> None:
    upload = document["paths"]["/images"]["post"]
    body = upload["requestBody"]
    assert body["required"] is True
    assert set(body["content"]) == {"image/*", "multipart/form-data"}
    assert body["content"]["image/*"]["schema"] == {"type": "string", "format": "binary"}
    ref = body["content"]["multipart/form-data"]["schema"]["$ref"]
    form = document["components"]["schemas"][ref.rsplit("/", 1)[1]]
    assert form["required"] == ["file"]
    assert form["properties"]["file"]["type"] == "string"
    assert form["properties"]["file"]["format"] == "binary"
    assert {"type": "string", "maxLength": 300} in form["properties"]["alt"]["anyOf"]
    assert {"type": "null"} in form["properties"]["alt"]["anyOf"]
    assert {"400", "413", "415", "422"} <= set(upload["responses"])


def test_a_raw_body_is_documented_from_the_route_declaration() -> None:
    class Form(BaseModel):
        data: bytes
        note: str

    router = Router(__name__, tag="raw")

    @router.route("/raw", "PUT", raw_body=RawBody({"text/csv": None, "multipart/form-data": Form}))
    def put_raw(ctx: Context) -> None:
        """Take bytes."""

    @router.route("/optional", "PUT", raw_body=RawBody({"application/pdf": None}, required=False))
    def put_optional(ctx: Context) -> None:
        """Take bytes, or nothing."""

    document = build_document(router.specs, title="raw")
    validate(document)
    raw = document["paths"]["/raw"]["put"]["requestBody"]
    assert raw["required"] is True
    assert raw["content"]["text/csv"] == {"schema": {"type": "string", "format": "binary"}}
    form = raw["content"]["multipart/form-data"]["schema"]
    assert form == {"$ref": "#/components/schemas/Form"}
    assert document["components"]["schemas"]["Form"]["required"] == ["data", "note"]
    optional = document["paths"]["/optional"]["put"]["requestBody"]
    assert optional["required"] is False


def test_a_route_declares_a_json_body_or_a_raw_body_not_both() -> None:
    class Thing(BaseModel):
        name: str

    router = Router(__name__, tag="raw")
    with pytest.raises(ValueError, match="not both"):
        router.route("/both", "POST", body=Thing, raw_body=RawBody({"image/*": None}))
