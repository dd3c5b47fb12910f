"""The committed REST reference is exactly what the handler table generates."""

from __future__ import annotations

from pathlib import Path

import yaml

from jupyter_mlops.server.openapi import build_document, render_yaml
from jupyter_mlops.server.routes import ROUTES

DOC = Path(__file__).resolve().parents[2] / "docs" / "openapi.yaml"


def test_document_and_table_list_the_same_routes() -> None:
    committed = yaml.safe_load(DOC.read_text())
    table = {route.openapi_path: set(route.handler.operations) for route in ROUTES}
    documented = {path: set(item) - {"parameters"} for path, item in committed["paths"].items()}
    assert documented == table


def test_committed_document_is_up_to_date() -> None:
    assert DOC.read_text() == render_yaml(), (
        "docs/openapi.yaml is stale: run `jupyter mlops openapi -o docs/openapi.yaml`")


def test_every_referenced_schema_exists() -> None:
    document = build_document()
    schemas = document["components"]["schemas"]
    text = yaml.safe_dump(document)
    for line in text.splitlines():
        if "$ref: '#/components/schemas/" in line:
            name = line.split("/")[-1].rstrip("'")
            assert name in schemas, name


def test_every_path_template_is_a_typed_parameter() -> None:
    """A client generator needs each `{name}` declared, with the route's own regex."""
    import re

    document = build_document()
    for route in ROUTES:
        item = document["paths"][route.openapi_path]
        names = re.findall(r"{(\w+)}", route.openapi_path)
        declared = {p["name"]: p for p in item.get("parameters", [])}
        assert sorted(declared) == sorted(names), route.openapi_path
        for name, param in declared.items():
            assert param["in"] == "path" and param["required"] is True
            pattern = param["schema"].get("pattern")
            assert pattern, f"{route.openapi_path}: {name} has no pattern"
            # the example path the auth test requests satisfies the documented pattern
            template = re.escape(route.openapi_path.split("jupyter-mlops/", 1)[1])
            for other in names:
                template = template.replace(re.escape("{" + other + "}"), f"(?P<{other}>.+?)")
            match = re.fullmatch(template, route.example_path)
            assert match and re.fullmatch(pattern, match.group(name)), (route.example_path, name)
