"""HTML for a notebook cell: a deployment's status and traffic split, a shadow comparison."""

from __future__ import annotations

import html
from typing import Any

_STATUS_COLOURS = {"running": "var(--jp-success-color1, #2e7d32)",
                   "degraded": "var(--jp-warn-color1, #ef6c00)",
                   "starting": "var(--jp-info-color1, #0277bd)",
                   "failed": "var(--jp-error-color1, #c62828)",
                   "down": "var(--jp-error-color1, #c62828)"}
_ROLE_COLOURS = {"stable": "var(--jp-brand-color1, #1976d2)",
                 "candidate": "var(--jp-warn-color1, #ef6c00)"}


def _e(value: Any) -> str:
    return html.escape("" if value is None else str(value))


def _ms(value: Any) -> str:
    return "–" if value is None else f"{value:.1f}"


def deployment_html(state: dict[str, Any]) -> str:
    """`state` is `Deployment.to_dict()`."""
    status = state.get("status", "?")
    colour = _STATUS_COLOURS.get(status, "var(--jp-ui-font-color2, #666)")
    versions = state.get("versions") or []
    bar = "".join(
        f'<div title="{_e(v["key"])} {v["weight"]:g}%" style="width:{v["weight"]}%;'
        f'background:{_ROLE_COLOURS.get(v["role"], "#999")};height:100%;color:white;'
        f'font-size:11px;overflow:hidden;white-space:nowrap;padding-left:4px">'
        f'{_e(v["key"])} {v["weight"]:g}%</div>'
        for v in versions if v["role"] in ("stable", "candidate") and v["weight"] > 0)
    rows = []
    for v in versions:
        stats = v.get("stats") or {}
        health = "✔" if v.get("healthy") else ("✘" if v.get("state") == "running" else "–")
        rows.append(
            "<tr>" + "".join(f"<td>{cell}</td>" for cell in (
                _e(v["key"]), _e(v["role"]), f'{v["weight"]:g}%', _e(v["state"]), health,
                _e(stats.get("requests", 0)), f'{(stats.get("error_rate") or 0):.1%}',
                _ms(stats.get("p50_ms")), _ms(stats.get("p95_ms")), _e(v.get("error") or ""),
            )) + "</tr>")
    strategy = state.get("strategy") or {}
    rollout = state.get("rollout") or {}
    progress = ""
    if rollout:
        progress = (f'<div>rollout of <b>{_e(rollout.get("candidate"))}</b> '
                    f'({_e(rollout.get("kind"))}): <b>{_e(rollout.get("state"))}</b>')
        if rollout.get("kind") == "canary" and strategy.get("steps"):
            steps = strategy["steps"]
            step = int(rollout.get("step") or 0)
            progress += " · steps " + " → ".join(
                (f"<b>{s:g}%</b>" if i == step and rollout.get("state") == "running"
                 else f"{s:g}%") for i, s in enumerate(steps))
        if rollout.get("reason"):
            progress += f' · {_e(rollout["reason"])}'
        progress += "</div>"
    header = ("<th>version</th><th>role</th><th>traffic</th><th>state</th><th>healthy</th>"
              "<th>requests (1 min)</th><th>errors</th><th>p50 ms</th><th>p95 ms</th><th></th>")
    return (
        '<div class="jp-mlops-deployment" style="font-family:var(--jp-ui-font-family)">'
        f'<div><b>{_e(state.get("name"))}</b> · <span style="color:{colour}"><b>{_e(status)}'
        f'</b></span> · <code>{_e(state.get("url"))}/invocations</code> · '
        f'{_e(state.get("target"))} · {_e(strategy.get("kind", "single"))}</div>'
        f'<div style="display:flex;height:18px;margin:6px 0;border:1px solid '
        f'var(--jp-border-color1, #ccc);width:100%;max-width:600px">{bar}</div>'
        f"{progress}"
        f'<table class="jp-mlops-table"><thead><tr>{header}</tr></thead>'
        f'<tbody>{"".join(rows)}</tbody></table>'
        + (f'<div style="color:var(--jp-error-color1,#c62828)">{_e(state.get("error"))}</div>'
           if state.get("error") else "")
        + "</div>")


def deployments_html(states: list[dict[str, Any]]) -> str:
    if not states:
        return "<i>No deployments yet: <code>%deploy name@champion --name my-api</code></i>"
    rows = []
    for s in states:
        traffic = ", ".join(f"{k} {w:g}%" for k, w in (s.get("traffic") or {}).items())
        rows.append("<tr>" + "".join(f"<td>{_e(c)}</td>" for c in (
            s["name"], s["status"], s["url"], s["target"],
            (s.get("strategy") or {}).get("kind", "single"), traffic)) + "</tr>")
    return ('<table class="jp-mlops-table"><thead><tr><th>name</th><th>status</th><th>url</th>'
            "<th>target</th><th>strategy</th><th>traffic</th></tr></thead><tbody>"
            + "".join(rows) + "</tbody></table>")


def shadow_html(comparison: Any) -> str:
    c = comparison
    agreement = "–" if c.agreement_rate is None else f"{c.agreement_rate:.1%}"
    drift = "–" if c.drifted is None else (
        f'{"drifted" if c.drifted else "no drift"} ({_e(c.drift_test)} '
        f'{c.drift_statistic:.3g})' if c.drift_statistic is not None else _e(c.drift_test))
    return (f'<div class="jp-mlops-shadow"><b>{_e(c.deployment)}</b>: shadow '
            f'<b>{_e(c.challenger)}</b> vs champion <b>{_e(c.champion)}</b> on '
            f'{c.requests} requests ({c.rows} rows) · agreement <b>{agreement}</b> · '
            f'prediction drift {drift} · challenger errors {c.challenger_errors} · '
            f'p50 {_ms(c.champion_p50_ms)} ms vs {_ms(c.challenger_p50_ms)} ms</div>')
