"""OpenAPI 3.0 documents assembled from per-domain fragments.

Each domain describes its own paths in ``domain_services/<domain>/openapi.py`` (a
``FRAGMENT`` dict with ``paths`` and optional ``components``). A deployment's document is the
union of the fragments of the blueprints it serves, so the monolith's document is exactly
the sum of the services' ones. Errors every operation can produce are added here once.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from typing import Any

from flask import Flask, jsonify

Fragment = Mapping[str, Any]

MAX_ID = 2**31 - 1
ERROR = {
    "type": "object",
    "required": ["error"],
    "properties": {"error": {"type": "string"}},
}
_ERRORS = {
    "400": ("BadRequest", "the request is malformed or a value is invalid"),
    "401": ("Unauthorized", "missing, invalid or expired credentials"),
    "403": ("Forbidden", "the caller may not do this (another user's data, a role it lacks)"),
    "404": ("NotFound", "no such resource"),
    "409": ("Conflict", "conflicts with existing state"),
    "413": ("PayloadTooLarge", "request body too large"),
    "429": ("TooManyRequests", "throttled"),
    "502": ("BadGateway", "an external system (the payment provider) failed"),
    "503": ("ServiceUnavailable", "the database is unavailable"),
}
_BASE_COMPONENTS: dict[str, Any] = {
    "schemas": {"Error": ERROR},
    "responses": {
        name: {"description": text, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
        for name, text in _ERRORS.values()
    },
}


def ref(schema: str) -> dict[str, str]:
    """A reference to a component schema."""
    return {"$ref": f"#/components/schemas/{schema}"}


def errors(*codes: int) -> dict[str, Any]:
    """Error responses for ``codes`` (all shaped ``{"error": str}``)."""
    return {str(code): {"$ref": f"#/components/responses/{_ERRORS[str(code)][0]}"} for code in codes}


def ok(description: str, schema: Mapping[str, Any], status: int = 200) -> dict[str, Any]:
    """A JSON success response."""
    return {str(status): {"description": description, "content": {"application/json": {"schema": dict(schema)}}}}


def body(schema: Mapping[str, Any]) -> dict[str, Any]:
    """A required JSON request body."""
    return {"required": True, "content": {"application/json": {"schema": dict(schema)}}}


def id_param(name: str, where: str = "path", *, required: bool = True, description: str = "") -> dict[str, Any]:
    """A positive 32-bit id parameter (path or query)."""
    return {
        "name": name,
        "in": where,
        "required": required,
        "description": description or f"{name} (positive integer)",
        "schema": {"type": "integer", "minimum": 1, "maximum": MAX_ID},
    }


def text_param(name: str, description: str, *, max_length: int = 100) -> dict[str, Any]:
    """An optional free-text query parameter."""
    return {"name": name, "in": "query", "required": False, "description": description,
            "schema": {"type": "string", "maxLength": max_length}}


PAGE_PARAMS = [
    {"name": "limit", "in": "query", "required": False, "description": "page size; with it the list is paged",
     "schema": {"type": "integer", "minimum": 1, "maximum": 1000}},
    {"name": "offset", "in": "query", "required": False, "description": "rows to skip",
     "schema": {"type": "integer", "minimum": 0, "maximum": 2**31}},
]


def health_fragment(path: str) -> dict[str, Any]:
    """The health route of a deployment."""
    schema = {"type": "object", "required": ["status"], "properties": {"status": {"type": "boolean"}}}
    return {"paths": {path: {"get": {"summary": "health", "operationId": f"health{path.replace('/', '_')}",
                                     "responses": ok("healthy", schema)}}}}


def _with_common_errors(operation: dict[str, Any]) -> dict[str, Any]:
    responses = operation.setdefault("responses", {})
    common = [503]
    if "requestBody" in operation:
        common += [400, 413]
    for code, response in errors(*common).items():
        responses.setdefault(code, response)
    return operation


def document(title: str, fragments: Iterable[Fragment], *, version: str = "1.0.0") -> dict[str, Any]:
    """Merge ``fragments`` into one OpenAPI 3.0 document; a path defined twice is an error."""
    doc: dict[str, Any] = {
        "openapi": "3.0.3",
        "info": {"title": title, "version": version,
                 "description": 'JSON API; every error is {"error": "<message>"} with a 4xx status.'},
        "paths": {},
        "components": copy.deepcopy(_BASE_COMPONENTS),
    }
    for fragment in fragments:
        for path, item in copy.deepcopy(dict(fragment.get("paths", {}))).items():
            if path in doc["paths"]:
                raise ValueError(f"path {path} is described by two fragments")
            doc["paths"][path] = {method: _with_common_errors(op) for method, op in item.items()}
        for section, entries in fragment.get("components", {}).items():
            doc["components"].setdefault(section, {}).update(copy.deepcopy(entries))
    return doc


def install(app: Flask, title: str, fragments: Iterable[Fragment]) -> dict[str, Any]:
    """Serve the assembled document at ``GET /openapi.json``; returns it."""
    spec = document(title, fragments)
    app.add_url_rule("/openapi.json", "openapi", lambda: jsonify(spec))
    return spec
