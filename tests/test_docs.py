"""The configuration reference names every knob a user can turn: each configurable
trait of the server extension, each JUPYTER_MLOPS_* variable the code reads and each
JupyterLab setting. A new knob without a line in docs/configuration.md fails here."""

from __future__ import annotations

import json
import re
from pathlib import Path

from jupyter_mlops.server.app import MLOps

ROOT = Path(__file__).resolve().parents[1]
CONFIG_DOC = (ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")


def test_every_trait_is_documented() -> None:
    traits = [name for name, trait in MLOps.class_traits(config=True).items()
              if trait.this_class is MLOps]
    assert "run_scheduler" in traits
    missing = [t for t in traits if f"`c.MLOps.{t}`" not in CONFIG_DOC]
    assert not missing, f"docs/configuration.md lacks the traits {missing}"


def test_every_environment_variable_is_documented() -> None:
    found: set[str] = set()
    for path in (ROOT / "jupyter_mlops").rglob("*.py"):
        found.update(re.findall(r"JUPYTER_MLOPS_[A-Z][A-Z_]*[A-Z]", path.read_text("utf-8")))
    assert "JUPYTER_MLOPS_WORKSPACE" in found
    missing = sorted(v for v in found if f"`{v}`" not in CONFIG_DOC)
    assert not missing, f"docs/configuration.md lacks the variables {missing}"


def test_every_jupyterlab_setting_is_documented() -> None:
    for schema in sorted((ROOT / "schema").glob("*.json")):
        properties = json.loads(schema.read_text("utf-8")).get("properties", {})
        missing = [p for p in properties if f"`{p}`" not in CONFIG_DOC]
        assert not missing, f"docs/configuration.md lacks {schema.name}: {missing}"
