"""JupyterLab for the browser tests: Galata's test settings on a fresh workspace.

Galata turns authentication off for the browser; the REST routes' auth is
covered by tests/server/test_auth.py against a server that has it on.
"""

import os
from pathlib import Path

from jupyterlab.galata import configure_jupyter_server

configure_jupyter_server(c)  # noqa: F821 - `c` is injected by the config loader

c.ServerApp.port = int(os.environ.get("MLOPS_UI_PORT", "8899"))  # noqa: F821
c.ServerApp.allow_root = True  # noqa: F821
# the tests read the workspace root back from the panel, so it must be known
root = Path(os.environ.get("JUPYTERLAB_GALATA_ROOT_DIR", Path(__file__).parent / ".galata-root"))
root.mkdir(parents=True, exist_ok=True)
c.ServerApp.root_dir = str(root.resolve())  # noqa: F821
