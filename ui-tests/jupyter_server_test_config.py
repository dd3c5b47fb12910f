"""JupyterLab for the browser tests: Galata's test settings on a fresh workspace.

Galata turns authentication off for the browser; the REST routes' auth is
covered by tests/server/test_auth.py against a server that has it on.
"""

import glob
import os
import tempfile
from pathlib import Path

from jupyterlab.galata import configure_jupyter_server

_made_by_galata = os.path.join(tempfile.gettempdir(), "galata-*")
_before = set(glob.glob(_made_by_galata))
configure_jupyter_server(c)  # noqa: F821 - `c` is injected by the config loader
# Galata makes a root and a workspaces folder in the temp dir on every start (the root
# even when JUPYTERLAB_GALATA_ROOT_DIR names another): keep the workspaces beside the
# test results and remove the folders it just made, which are still empty
_workspaces = Path(__file__).parent / "test-results" / "lab-workspaces"
_workspaces.mkdir(parents=True, exist_ok=True)
c.LabApp.workspaces_dir = str(_workspaces)  # noqa: F821
for _made in set(glob.glob(_made_by_galata)) - _before:
    try:
        os.rmdir(_made)
    except OSError:  # not empty: not one of the folders made above
        pass

c.ServerApp.port = int(os.environ.get("MLOPS_UI_PORT", "8899"))  # noqa: F821
c.ServerApp.allow_root = True  # noqa: F821
# the tests read the workspace root back from the panel, so it must be known
root = Path(os.environ.get("JUPYTERLAB_GALATA_ROOT_DIR", Path(__file__).parent / ".galata-root"))
root.mkdir(parents=True, exist_ok=True)
c.ServerApp.root_dir = str(root.resolve())  # noqa: F821
