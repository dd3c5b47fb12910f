"""Lineage: from a model version back to the run, notebook, data, commit and environment.

    g = lineage("churn@champion")
    g                     # renders as a small graph in a cell
    g.to_dict()           # nodes and edges, JSON-safe (the panel draws it)
    g.figure()            # a plotly figure of the same graph
    g.first("dataset_version").data["version"]

The walk (edges point from what was made to what it was made from):

    model_version ──produced_by──▶ run ──child_of──▶ parent run (a pipeline's)
    run ──executed──▶ executed notebook (papermill output, with its injected parameters)
        ──rendered_from──▶ source notebook          (or run ──ran──▶ notebook)
    run ──read──▶ dataset_version (the run's dataset inputs, `mlops-dataset://name@version`)
    run ──at_commit──▶ git_commit;  run ──in_environment──▶ environment

Every node carries `open`: what a surface opens for it (a run in the
Experiments panel, a notebook path in JupyterLab, a dataset version in the
Datasets panel). Parts that are gone (a deleted run, a notebook moved away, a
dataset version collected) stay in the graph with `missing=True` and a note,
because a broken link is itself something an auditor needs to see.
"""

from __future__ import annotations

import ast
import html
import json
import re
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import InvalidInput, MLOpsError, NotFound
from ..workspace import Workspace
from ._common import client_of, mlflow_errors, resolve_workspace
from ._data import parse_dataset_source

_RUN_ID = re.compile(r"^[0-9a-f]{32}$")
REQUIREMENTS_ARTIFACT = "environment/requirements.txt"
KIND_COLOURS = {
    "model_version": "#7e57c2", "run": "#1e88e5", "pipeline_run": "#3949ab",
    "executed_notebook": "#f4511e", "notebook": "#fb8c00", "dataset_version": "#43a047",
    "git_commit": "#6d4c41", "environment": "#546e7a",
}


@dataclass(frozen=True)
class LineageNode:
    id: str
    kind: str
    label: str
    data: dict[str, Any] = field(default_factory=dict)
    open: dict[str, Any] | None = None
    missing: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "kind": self.kind, "label": self.label, "data": self.data,
                "open": self.open, "missing": self.missing}


@dataclass(frozen=True)
class LineageEdge:
    source: str
    target: str
    relation: str

    def to_dict(self) -> dict[str, Any]:
        return {"source": self.source, "target": self.target, "relation": self.relation}


def _json_safe(value: Any) -> Any:
    """Parameters read from a notebook can be anything literal_eval accepts."""
    import math

    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, (str, int, bool)) or value is None:
        return value
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [_json_safe(v) for v in value]
    return repr(value)


class LineageGraph:
    """Nodes and edges from one root; renders in a cell, serialises with `to_dict()`."""

    def __init__(self, root: str) -> None:
        self.root = root
        self._nodes: dict[str, LineageNode] = {}
        self.edges: list[LineageEdge] = []

    # -- building ---------------------------------------------------------------------------
    def add(self, node: LineageNode) -> LineageNode:
        self._nodes.setdefault(node.id, node)
        return self._nodes[node.id]

    def link(self, source: str, target: str, relation: str) -> None:
        edge = LineageEdge(source, target, relation)
        if edge not in self.edges:
            self.edges.append(edge)

    # -- reading ----------------------------------------------------------------------------
    @property
    def nodes(self) -> list[LineageNode]:
        return list(self._nodes.values())

    def node(self, node_id: str) -> LineageNode:
        try:
            return self._nodes[node_id]
        except KeyError:
            raise NotFound(f"No node {node_id!r} in this lineage graph.") from None

    def by_kind(self, kind: str) -> list[LineageNode]:
        return [n for n in self._nodes.values() if n.kind == kind]

    def first(self, kind: str) -> LineageNode | None:
        found = self.by_kind(kind)
        return found[0] if found else None

    def origins(self, node_id: str) -> list[LineageNode]:
        """The nodes `node_id` was made from (one step back)."""
        return [self._nodes[e.target] for e in self.edges if e.source == node_id]

    def depths(self) -> dict[str, int]:
        depth = {self.root: 0}
        queue = deque([self.root])
        while queue:
            current = queue.popleft()
            for edge in self.edges:
                if edge.source == current and edge.target not in depth:
                    depth[edge.target] = depth[current] + 1
                    queue.append(edge.target)
        for node_id in self._nodes:  # unreachable nodes (never, by construction) go last
            depth.setdefault(node_id, max(depth.values(), default=0) + 1)
        return depth

    def to_dict(self) -> dict[str, Any]:
        return {"root": self.root, "nodes": [n.to_dict() for n in self._nodes.values()],
                "edges": [e.to_dict() for e in self.edges]}

    def to_json(self, **kwargs: Any) -> str:
        return json.dumps(self.to_dict(), **kwargs)

    def __repr__(self) -> str:
        return f"<LineageGraph {self.root}: {len(self._nodes)} nodes, {len(self.edges)} edges>"

    def __str__(self) -> str:
        lines = []
        depth = self.depths()
        for node in sorted(self._nodes.values(), key=lambda n: depth[n.id]):
            relation = next((e.relation for e in self.edges if e.target == node.id), "")
            missing = " (missing)" if node.missing else ""
            lines.append(f"{'  ' * depth[node.id]}{relation + ' → ' if relation else ''}"
                         f"{node.kind}: {node.label}{missing}")
        return "\n".join(lines)

    # -- layout and rendering ---------------------------------------------------------------
    def _layout(self) -> dict[str, tuple[int, int]]:
        depth = self.depths()
        columns: dict[int, list[str]] = {}
        for node_id in self._nodes:
            columns.setdefault(depth[node_id], []).append(node_id)
        return {node_id: (col, row) for col, ids in columns.items()
                for row, node_id in enumerate(ids)}

    def _repr_html_(self) -> str:
        width, height, gap_x, gap_y, pad = 200, 46, 56, 14, 8
        layout = self._layout()
        cols = max((c for c, _ in layout.values()), default=0) + 1
        rows = max((r for _, r in layout.values()), default=0) + 1

        def box(node_id: str) -> tuple[int, int]:
            col, row = layout[node_id]
            return pad + col * (width + gap_x), pad + row * (height + gap_y)

        esc = html.escape
        parts = []
        for edge in self.edges:
            x1, y1 = box(edge.source)
            x2, y2 = box(edge.target)
            sx, sy, tx, ty = x1 + width, y1 + height / 2, x2, y2 + height / 2
            mid = (sx + tx) / 2
            parts.append(
                f'<path d="M{sx},{sy} C{mid},{sy} {mid},{ty} {tx},{ty}" fill="none" '
                f'stroke="var(--jp-border-color1, #999)" stroke-width="1.2">'
                f"<title>{esc(edge.relation)}</title></path>")
        for node in self._nodes.values():
            x, y = box(node.id)
            colour = KIND_COLOURS.get(node.kind, "#757575")
            label = node.label if len(node.label) <= 30 else node.label[:29] + "…"
            dash = ' stroke-dasharray="4 3"' if node.missing else ""
            title = esc(json.dumps(node.data, default=str)[:600])
            parts.append(
                f'<g class="jp-mlops-lineage-node" data-kind="{esc(node.kind)}" '
                f'data-id="{esc(node.id)}"><title>{title}</title>'
                f'<rect x="{x}" y="{y}" width="{width}" height="{height}" rx="6" '
                f'fill="var(--jp-layout-color1, #fff)" stroke="{colour}" stroke-width="2"{dash}/>'
                f'<text x="{x + 8}" y="{y + 16}" font-size="10" fill="{colour}">'
                f"{esc(node.kind.replace('_', ' '))}{' (missing)' if node.missing else ''}</text>"
                f'<text x="{x + 8}" y="{y + 34}" font-size="12" '
                f'fill="var(--jp-ui-font-color1, #222)">{esc(label)}</text></g>')
        svg_w = pad * 2 + cols * width + (cols - 1) * gap_x
        svg_h = pad * 2 + rows * height + (rows - 1) * gap_y
        return (f'<div class="jp-mlops-lineage"><svg xmlns="http://www.w3.org/2000/svg" '
                f'width="{svg_w}" height="{svg_h}" viewBox="0 0 {svg_w} {svg_h}" '
                f'font-family="var(--jp-ui-font-family, sans-serif)">{"".join(parts)}</svg></div>')

    def figure(self) -> Any:
        """The graph as a plotly figure (hover a node for its details)."""
        import plotly.graph_objects as go

        layout = self._layout()
        pos = {node_id: (col, -row) for node_id, (col, row) in layout.items()}
        edge_x: list[float | None] = []
        edge_y: list[float | None] = []
        for edge in self.edges:
            (x1, y1), (x2, y2) = pos[edge.source], pos[edge.target]
            edge_x += [x1, x2, None]
            edge_y += [y1, y2, None]
        fig = go.Figure()
        fig.add_trace(go.Scatter(x=edge_x, y=edge_y, mode="lines", hoverinfo="skip",
                                 line={"color": "#9e9e9e", "width": 1}, showlegend=False))
        for kind in dict.fromkeys(n.kind for n in self._nodes.values()):
            nodes = self.by_kind(kind)
            fig.add_trace(go.Scatter(
                x=[pos[n.id][0] for n in nodes], y=[pos[n.id][1] for n in nodes],
                mode="markers+text", name=kind.replace("_", " "),
                text=[n.label if len(n.label) <= 24 else n.label[:23] + "…" for n in nodes],
                textposition="bottom center",
                hovertext=[json.dumps(n.data, default=str)[:400] for n in nodes],
                hoverinfo="text", customdata=[n.id for n in nodes],
                marker={"size": 18, "color": KIND_COLOURS.get(kind, "#757575"),
                        "symbol": ["circle-open" if n.missing else "circle" for n in nodes]}))
        fig.update_layout(template="plotly_white", title=f"lineage of {self.node(self.root).label}",
                          xaxis={"visible": False}, yaxis={"visible": False},
                          margin={"t": 48, "r": 16, "b": 16, "l": 16})
        return fig


# -- notebooks ------------------------------------------------------------------------------
def _parameters_from_source(source: str) -> dict[str, Any]:
    """`name = value` lines of papermill's injected cell (literals, else the source text)."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return {}
    out: dict[str, Any] = {}
    for stmt in tree.body:
        if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and \
                isinstance(stmt.targets[0], ast.Name):
            try:
                out[stmt.targets[0].id] = ast.literal_eval(stmt.value)
            except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
                out[stmt.targets[0].id] = ast.get_source_segment(source, stmt.value)
    return out


def read_executed_notebook(path: Path) -> dict[str, Any]:
    """Injected parameters and papermill's record of an executed notebook."""
    import nbformat

    nb = nbformat.read(str(path), as_version=4)
    parameters: dict[str, Any] = {}
    injected = False
    for cell in nb.cells:
        if "injected-parameters" in (cell.get("metadata", {}).get("tags") or []):
            parameters.update(_parameters_from_source(cell.get("source", "")))
            injected = True
    papermill = dict(nb.metadata.get("papermill") or {})
    if not injected and isinstance(papermill.get("parameters"), dict):
        parameters = dict(papermill["parameters"])
    info = {"parameters": _json_safe(parameters), "injected_cell": injected}
    for key in ("input_path", "output_path", "start_time", "end_time", "duration", "exception"):
        if key in papermill:
            info[key] = _json_safe(papermill[key])
    kernel = (nb.metadata.get("kernelspec") or {}).get("name")
    if kernel:
        info["kernel"] = kernel
    return info


def _notebook_node(ws: Workspace, kind: str, value: str) -> LineageNode:
    data: dict[str, Any] = {"path": value}
    missing = False
    try:
        path = ws.resolve_path(value)
    except MLOpsError as exc:
        # recorded, but outside this workspace: shown, not opened
        return LineageNode(f"{kind}:{value}", kind, Path(value).name,
                           {**data, "note": exc.message}, None, False)
    data["path"] = ws.relpath(path)
    if not path.is_file():
        missing = True
        data["note"] = "the notebook is no longer at this path"
    elif kind == "executed_notebook":
        try:
            data.update(read_executed_notebook(path))
        except Exception as exc:  # a corrupt or foreign file must not break the walk
            data["note"] = f"could not read it: {type(exc).__name__}: {exc}"
    return LineageNode(f"{kind}:{data['path']}", kind, Path(value).name, data,
                       {"type": "notebook", "path": data["path"]}, missing)


# -- runs -----------------------------------------------------------------------------------
def _dataset_node(ws: Workspace, ds_input: Any) -> LineageNode:
    from ..datasets import get_version

    ds = ds_input.dataset
    context = next((t.value for t in ds_input.tags if t.key == "mlflow.data.context"), None)
    parsed = parse_dataset_source(ds.source)
    if parsed is None:  # a dataset MLflow logged itself (pandas, a URL, …)
        return LineageNode(f"dataset:{ds.name}@{ds.digest}", "dataset_version",
                           f"{ds.name}@{ds.digest[:8]}",
                           {"name": ds.name, "digest": ds.digest, "source": ds.source,
                            "source_type": ds.source_type, "context": context}, None, False)
    name, version = parsed
    data: dict[str, Any] = {"name": name, "version": version, "context": context,
                            "source": ds.source}
    missing = False
    try:
        found = get_version(name, version, workspace=ws)
        data.update({"rows": found.rows, "bytes": found.bytes, "kind": found.kind,
                     "tags": list(found.tags), "created": found.created.isoformat()})
    except MLOpsError as exc:
        missing = True
        data["note"] = exc.message
    return LineageNode(f"dataset:{name}@{version}", "dataset_version", f"{name}@{version[:12]}",
                       data, {"type": "dataset", "name": name, "version": version}, missing)


def _run_node(run: Any, kind: str = "run") -> LineageNode:
    info, tags = run.info, dict(run.data.tags)
    data = {"run_id": info.run_id, "name": info.run_name, "experiment_id": str(info.experiment_id),
            "status": info.status, "start_time": info.start_time, "end_time": info.end_time,
            "user": tags.get("mlflow.user") or info.user_id,
            "metrics": _json_safe(dict(run.data.metrics)), "params": dict(run.data.params)}
    return LineageNode(f"run:{info.run_id}", kind, info.run_name or info.run_id[:12], data,
                       {"type": "run", "run_id": info.run_id,
                        "experiment_id": str(info.experiment_id)})


def _add_run(graph: LineageGraph, ws: Workspace, client: Any, run_id: str, parent: str | None,
             relation: str) -> None:
    try:
        with mlflow_errors(ws.tracking_uri, not_found=f"Run {run_id!r} not found."):
            run = client.get_run(run_id)
    except NotFound as exc:
        node = graph.add(LineageNode(f"run:{run_id}", "run", run_id[:12],
                                     {"run_id": run_id, "note": exc.message}, None, True))
        if parent is not None:
            graph.link(parent, node.id, relation)
        return
    run_node = graph.add(_run_node(run))
    if parent is not None:
        graph.link(parent, run_node.id, relation)
    tags = dict(run.data.tags)

    parent_id = tags.get("mlflow.parentRunId")
    if parent_id:
        try:
            with mlflow_errors(ws.tracking_uri):
                parent_run = client.get_run(parent_id)
            graph.add(_run_node(parent_run, "pipeline_run"))
        except MLOpsError as exc:
            graph.add(LineageNode(f"run:{parent_id}", "pipeline_run", parent_id[:12],
                                  {"run_id": parent_id, "note": exc.message}, None, True))
        graph.link(run_node.id, f"run:{parent_id}", "child_of")

    notebook = tags.get("mlops.notebook") or (
        tags.get("mlflow.source.name") if tags.get("mlflow.source.type") == "NOTEBOOK" else None)
    output = tags.get("mlops.output_notebook")
    source_node = _notebook_node(ws, "notebook", notebook) if notebook else None
    if output:
        executed = graph.add(_notebook_node(ws, "executed_notebook", output))
        graph.link(run_node.id, executed.id, "executed")
        if source_node is not None:
            graph.add(source_node)
            graph.link(executed.id, source_node.id, "rendered_from")
    elif source_node is not None:
        graph.add(source_node)
        graph.link(run_node.id, source_node.id, "ran")

    for ds_input in (run.inputs.dataset_inputs if run.inputs else []):
        node = graph.add(_dataset_node(ws, ds_input))
        graph.link(run_node.id, node.id, "read")

    commit = tags.get("mlflow.source.git.commit")
    if commit:
        dirty = tags.get("mlops.git.dirty")
        node = graph.add(LineageNode(
            f"git:{commit}", "git_commit", commit[:10] + ("*" if dirty == "true" else ""),
            {"commit": commit, "branch": tags.get("mlflow.source.git.branch"),
             "repo_url": tags.get("mlflow.source.git.repoURL"),
             "dirty": None if dirty is None else dirty == "true"},
            {"type": "git", "commit": commit}))
        graph.link(run_node.id, node.id, "at_commit")

    env_hash = tags.get("mlops.env.hash")
    if env_hash:
        node = graph.add(LineageNode(
            f"env:{env_hash}", "environment",
            f"python {tags.get('mlops.python', '?')} · {env_hash[:8]}",
            {"hash": env_hash, "python": tags.get("mlops.python"),
             "platform": tags.get("mlops.platform"), "host": tags.get("mlops.host"),
             "requirements": REQUIREMENTS_ARTIFACT},
            {"type": "artifact", "run_id": run_id, "path": REQUIREMENTS_ARTIFACT}))
        graph.link(run_node.id, node.id, "in_environment")


def lineage(obj: Any, version: Any = None, *, workspace: Workspace | None = None) -> LineageGraph:
    """The lineage of a model version (`"churn@champion"`, `"churn/3"`, a ModelVersion,
    or `("churn", 3)`), or of a run given by its id."""
    from .models import ModelVersion, as_ref, fetch_version, to_model_version

    ws = resolve_workspace(workspace)
    client = client_of(ws)
    if isinstance(obj, str) and version is None and _RUN_ID.match(obj.strip()):
        graph = LineageGraph(f"run:{obj.strip()}")
        _add_run(graph, ws, client, obj.strip(), None, "")
        return graph
    if not isinstance(obj, (str, ModelVersion)):
        raise InvalidInput(f"lineage() takes a model version ('name@alias', 'name/3', a "
                           f"ModelVersion) or a run id, got {type(obj).__name__}.")
    mv = to_model_version(ws, fetch_version(ws, as_ref(obj, version)), with_run=False)
    root = LineageNode(
        f"model:{mv.name}/{mv.version}", "model_version", f"{mv.name} v{mv.version}",
        {"name": mv.name, "version": mv.version, "aliases": mv.aliases, "flavor": mv.flavor,
         "source_uri": mv.source_uri, "model_id": mv.model_id, "run_id": mv.run_id,
         "created": mv.created.isoformat() if mv.created else None},
        {"type": "model", "name": mv.name, "version": mv.version})
    graph = LineageGraph(root.id)
    graph.add(root)
    if mv.run_id:
        _add_run(graph, ws, client, mv.run_id, root.id, "produced_by")
    return graph
