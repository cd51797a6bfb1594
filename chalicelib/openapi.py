"""The OpenAPI 3.1 document, built from the routes' own declarations.

Request and response schemas come from the same pydantic models the routes
validate with, so the document describes exactly what the server accepts.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any, Literal, cast

from pydantic import BaseModel
from pydantic.json_schema import JsonSchemaMode, models_json_schema

from chalicelib import wire
from chalicelib.problem import Problem
from chalicelib.routespec import RouteSpec

OPENAPI_VERSION = "3.1.0"
API_VERSION = "0.1.0"
_REF = "#/components/schemas/{model}"
_PATH_PARAM = re.compile(r"{(\w+)}")
# Bytes as sent. "format: binary" is what generators (openapi-typescript among
# them) recognise, and what pydantic writes for a ``bytes`` field of a form.
_BINARY = {"type": "string", "format": "binary"}

_ERROR_TEXT = {
    400: "Malformed request",
    401: "Missing or invalid access token",
    403: "Not allowed for this user",
    404: "No such resource",
    409: "Conflicts with the current state",
    412: "The If-Match precondition failed",
    413: "Body larger than 4,669,440 bytes",
    415: "Unsupported Content-Type",
    422: "Invalid input; `errors` names each field",
    429: "Rate limited; see Retry-After",
    502: "An upstream service failed",
    503: "Temporarily unavailable; see Retry-After",
}


def build_document(specs: Iterable[RouteSpec], *, title: str) -> dict[str, Any]:
    documented = [spec for spec in specs if spec.include_in_schema]
    names = [spec.name for spec in documented]
    duplicates = {name for name in names if names.count(name) > 1}
    if duplicates:
        raise ValueError(f"operation names must be unique: {sorted(duplicates)}")

    refs, components = _schemas(documented)
    paths: dict[str, dict[str, Any]] = {}
    for spec in documented:
        paths.setdefault(spec.path, {})[spec.method.lower()] = _operation(spec, refs)
    return {
        "openapi": OPENAPI_VERSION,
        "info": {
            "title": title.capitalize(),
            "version": API_VERSION,
            "description": "Photo posts: accounts, posts with image galleries, a public feed.",
        },
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "bearerFormat": "JWT",
                    "description": "Access token from POST /auth/login or /auth/refresh.",
                }
            },
        },
    }


SchemaKey = tuple[type[BaseModel], Literal["validation", "serialization"]]


def _schemas(specs: list[RouteSpec]) -> tuple[dict[SchemaKey, Any], dict[str, Any]]:
    wanted: dict[SchemaKey, None] = {(Problem, "serialization"): None}
    for spec in specs:
        if spec.body is not None:
            wanted[(spec.body, "validation")] = None
        if spec.raw_body is not None:
            for form in spec.raw_body_forms.values():
                if form is not None:
                    wanted[(form, "validation")] = None
        if spec.response is not None:
            wanted[(spec.response, "serialization")] = None
    keys: list[tuple[type[BaseModel], JsonSchemaMode]] = list(wanted)
    refs, top = models_json_schema(keys, ref_template=_REF)
    return {cast(SchemaKey, key): value for key, value in refs.items()}, top.get("$defs", {})


def _operation(spec: RouteSpec, refs: dict[SchemaKey, Any]) -> dict[str, Any]:
    operation: dict[str, Any] = {
        "operationId": spec.name,
        "summary": spec.summary,
        "tags": [spec.tag],
        "responses": _responses(spec, refs),
    }
    if spec.description:
        operation["description"] = spec.description
    if spec.auth == "optional":
        operation["security"] = [{}, {"bearer": []}]
    elif spec.auth is not None:
        operation["security"] = [{"bearer": []}]
    parameters = _path_parameters(spec.path) + _query_parameters(spec.query)
    if parameters:
        operation["parameters"] = parameters
    if spec.body is not None:
        operation["requestBody"] = {
            "required": spec.body_required,
            "content": {wire.JSON: {"schema": refs[(spec.body, "validation")]}},
        }
    elif spec.raw_body is not None:
        operation["requestBody"] = {
            "required": spec.raw_body.required,
            "content": {
                media_type: {"schema": {**_BINARY} if form is None else refs[(form, "validation")]}
                for media_type, form in spec.raw_body_forms.items()
            },
        }
    return operation


def _responses(spec: RouteSpec, refs: dict[SchemaKey, Any]) -> dict[str, Any]:
    responses: dict[str, Any] = {}
    if spec.status == 204:
        responses["204"] = {"description": "Done; no content"}
    else:
        success: dict[str, Any] = {"description": spec.summary or "Success"}
        if spec.response is not None:
            schema = refs[(spec.response, "serialization")]
            success["content"] = {spec.response_media_type: {"schema": schema}}
        responses[str(spec.status)] = success
    statuses = set(spec.errors)
    if spec.body is not None or spec.raw_body is not None:
        statuses |= {400, 413, 415, 422}
    if spec.query is not None:
        statuses.add(422)
    if spec.auth is not None:
        statuses.add(401)
    if spec.auth in ("verified", "admin"):
        statuses.add(403)
    problem = {wire.PROBLEM_JSON: {"schema": refs[(Problem, "serialization")]}}
    for status in sorted(statuses):
        responses[str(status)] = {
            "description": _ERROR_TEXT.get(status, "Error"),
            "content": problem,
        }
    responses["default"] = {"description": "Unexpected error", "content": problem}
    return responses


def _path_parameters(path: str) -> list[dict[str, Any]]:
    return [
        {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
        for name in _PATH_PARAM.findall(path)
    ]


def _query_parameters(model: type[BaseModel] | None) -> list[dict[str, Any]]:
    if model is None:
        return []
    schema = model.model_json_schema(ref_template=_REF)
    required = set(schema.get("required", []))
    parameters = []
    for name, field_schema in schema.get("properties", {}).items():
        parameter: dict[str, Any] = {
            "name": name,
            "in": "query",
            "required": name in required,
            "schema": field_schema,
        }
        if "description" in field_schema:
            parameter["description"] = field_schema["description"]
        parameters.append(parameter)
    return parameters
