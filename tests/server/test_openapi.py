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
    documented = {path: set(item) for path, item in committed["paths"].items()}
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
