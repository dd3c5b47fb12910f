"""The wheel `pip install .` builds carries both halves and everything loaded at run time."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def wheel_names(tmp_path_factory) -> set[str]:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                    "-q", "-w", str(out), str(ROOT)], check=True, capture_output=True,
                   timeout=600)
    (wheel,) = out.glob("jupyter_mlops-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        return set(archive.namelist())


def test_wheel_enables_the_server_extension(wheel_names: set[str]) -> None:
    assert any(n.endswith("data/etc/jupyter/jupyter_server_config.d/jupyter_mlops.json")
               for n in wheel_names)


def test_wheel_ships_the_prebuilt_labextension(wheel_names: set[str]) -> None:
    lab = "data/share/jupyter/labextensions/jupyter-mlops/"
    assert any(n.endswith(lab + "package.json") for n in wheel_names)
    assert any(lab + "static/remoteEntry." in n for n in wheel_names)
    assert any(n.endswith(lab + "schemas/jupyter-mlops/panel.json") for n in wheel_names)
    assert any(n.endswith(lab + "install.json") for n in wheel_names)


def test_wheel_ships_the_migrations(wheel_names: set[str]) -> None:
    for name in ("migrations/env.py", "migrations/script.py.mako",
                 "migrations/versions/0001_initial.py", "migrations/versions/0002_event_actor.py"):
        assert f"jupyter_mlops/core/db/{name}" in wheel_names, name


def test_schema_folder_holds_only_settings_of_real_plugins() -> None:
    """JupyterLab serves every JSON under schema/ as a plugin's settings: a stray file there
    (a data schema, a sub-folder) breaks the settings API and with it the whole page."""
    schema_dir = ROOT / "schema"
    sources = "\n".join(p.read_text() for p in (ROOT / "src").rglob("*.ts*"))
    assert not [p for p in schema_dir.iterdir() if p.is_dir()], "no sub-folders in schema/"
    for schema in schema_dir.glob("*.json"):
        plugin = schema.stem
        assert (f"${{PLUGIN_PREFIX}}:{plugin}" in sources
                or f"jupyter-mlops:{plugin}" in sources), f"no plugin for schema/{schema.name}"


def test_every_stylesheet_is_loaded() -> None:
    """JupyterLab loads `styleModule` (style/index.js) for a prebuilt extension and
    `style` (index.css) elsewhere: a panel's CSS missing from either shows unstyled."""
    style = ROOT / "style"
    sheets = {p.name for p in style.glob("*.css")} - {"index.css"}
    js = (style / "index.js").read_text(encoding="utf-8")
    css = (style / "index.css").read_text(encoding="utf-8")
    assert not [s for s in sheets if f"'./{s}'" not in js], "style/index.js misses a sheet"
    assert not [s for s in sheets if f"'{s}'" not in css], "style/index.css misses a sheet"
