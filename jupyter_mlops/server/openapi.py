"""The OpenAPI document of the REST API, generated from the handler table.

`docs/openapi.yaml` is this function's output, committed so that readers
need not run anything; a test regenerates it and fails when they differ.
"""

from __future__ import annotations

import re
from typing import Any

import yaml
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from .. import __version__
from .models import ErrorResponse
from .routes import ROUTES

REF = "#/components/schemas/{model}"


def _ref(model: type[BaseModel]) -> dict[str, str]:
    return {"$ref": REF.format(model=model.__name__)}


def _json(model: type[BaseModel]) -> dict[str, Any]:
    return {"application/json": {"schema": _ref(model)}}


def _query_parameters(model: type[BaseModel]) -> list[dict[str, Any]]:
    schema = model.model_json_schema()
    required = set(schema.get("required", []))
    params = []
    for name, prop in schema.get("properties", {}).items():
        prop = dict(prop)
        description = prop.pop("description", None)
        prop.pop("title", None)
        param: dict[str, Any] = {"name": name, "in": "query", "required": name in required,
                                 "schema": prop}
        if description:
            param["description"] = description
        params.append(param)
    return params


_GROUP = re.compile(r"\(\?P<(?P<name>\w+)>")


def _group_regex(pattern: str, start: int) -> str:
    """The regex of the named group whose body starts at `start` (balanced parentheses)."""
    depth, i = 1, start
    while i < len(pattern) and depth:
        if pattern[i] == "\\":
            i += 2
            continue
        depth += {"(": 1, ")": -1}.get(pattern[i], 0)
        i += 1
    return pattern[start:i - 1]


def _path_parameters(route: Any) -> list[dict[str, Any]]:
    """`{name}` in the templated path, typed by the route's named regex group."""
    groups = {m.group("name"): _group_regex(route.pattern, m.end())
              for m in _GROUP.finditer(route.pattern)}
    params = []
    for name in re.findall(r"{(\w+)}", route.openapi_path):
        schema: dict[str, Any] = {"type": "string"}
        if name in groups:
            schema["pattern"] = f"^{groups[name]}$"
        params.append({"name": name, "in": "path", "required": True, "schema": schema})
    return params


def build_document() -> dict[str, Any]:
    models: set[type[BaseModel]] = {ErrorResponse}
    paths: dict[str, Any] = {}
    for route in ROUTES:
        item: dict[str, Any] = {}
        for method, op in sorted(route.handler.operations.items()):
            operation: dict[str, Any] = {
                "summary": op.summary,
                "tags": [route.capability],
                "security": [{"token": []}],
                "responses": {},
            }
            ok: dict[str, Any] = {"description": "Success"}
            if op.response is not None:
                ok["content"] = _json(op.response)
                models.add(op.response)
            operation["responses"][str(op.status)] = ok
            if op.query is not None:
                operation["parameters"] = _query_parameters(op.query)
            if op.body is not None:
                operation["requestBody"] = {"required": True, "content": _json(op.body)}
                models.add(op.body)
            errors = {"400": "Invalid input", "403": "Not authenticated",
                      "404": "Not found", "503": "A backing store is unavailable"}
            for status, text in errors.items():
                operation["responses"].setdefault(
                    status, {"description": text, "content": _json(ErrorResponse)})
            item[method] = operation
        path_params = _path_parameters(route)
        if path_params:
            item = {"parameters": path_params, **item}
        paths[route.openapi_path] = item
    _, defs = models_json_schema(
        [(m, "serialization") for m in sorted(models, key=lambda m: m.__name__)],
        ref_template=REF)
    return {
        "openapi": "3.1.0",
        "info": {"title": "jupyter-mlops REST API", "version": __version__.split("+")[0],
                 "description": "Served by the jupyter-mlops Jupyter server extension under "
                                "the server's base URL. Every route needs the server's token "
                                "(Authorization: token …) or a logged-in session."},
        "paths": paths,
        "components": {
            "schemas": defs.get("$defs", {}),
            "securitySchemes": {"token": {"type": "apiKey", "in": "header",
                                          "name": "Authorization"}},
        },
    }


def render_yaml() -> str:
    return yaml.safe_dump(build_document(), sort_keys=False, allow_unicode=True, width=100)
