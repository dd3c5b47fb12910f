"""Rich notebook rendering of a version: schema and profile with inline SVG sparklines.

Plain HTML and SVG only — no JavaScript — so it renders in JupyterLab, in a
saved notebook on GitHub, in nbviewer and in papermill's output alike, and
it is trusted without any widget state.
"""

from __future__ import annotations

import html
from typing import Any

MAX_COLUMNS_SHOWN = 60
SPARK_W, SPARK_H = 100, 22


def human_bytes(n: int | None) -> str:
    if n is None:
        return ""
    size = float(n)
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if size < 1024 or unit == "TB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} B"


def _fmt(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.4g}"
    return html.escape(str(value))


def sparkline(counts: list[int], title: str = "") -> str:
    """Bars scaled to the tallest one; an empty or all-zero input gives nothing."""
    if not counts or max(counts) <= 0:
        return ""
    peak = max(counts)
    width = SPARK_W / len(counts)
    bars = []
    for i, count in enumerate(counts):
        height = 0 if count == 0 else max(1.0, SPARK_H * count / peak)
        bars.append(f'<rect x="{i * width:.2f}" y="{SPARK_H - height:.2f}" '
                    f'width="{max(width - 1, 0.5):.2f}" height="{height:.2f}"/>')
    label = f"<title>{html.escape(title)}</title>" if title else ""
    return (f'<svg width="{SPARK_W}" height="{SPARK_H}" viewBox="0 0 {SPARK_W} {SPARK_H}" '
            f'style="fill:var(--jp-brand-color1,#1976d2);vertical-align:middle" '
            f'role="img">{label}{"".join(bars)}</svg>')


def _column_spark(col: dict[str, Any]) -> str:
    hist = col.get("histogram")
    if hist:
        edges = hist["edges"]
        return sparkline(hist["counts"], f"{_fmt(edges[0])} … {_fmt(edges[-1])}")
    top = col.get("top") or []
    if top:
        return sparkline([t["count"] for t in top[:12]],
                         ", ".join(f"{t['value']}: {t['count']}" for t in top[:5]))
    return ""


def _column_row(col: dict[str, Any]) -> str:
    share = col.get("null_share")
    nulls = "" if share is None else f"{share:.1%}"
    lo, hi = col.get("min_iso", col.get("min")), col.get("max_iso", col.get("max"))
    mean = None if col.get("kind") == "datetime" else col.get("mean")
    if col.get("top") and col.get("histogram") is None:
        top = col["top"][0]
        lo, hi = f"top: {top['value']}", f"({top['count']})"
    cells = [html.escape(col["name"]), html.escape(col.get("dtype", "")),
             html.escape(col.get("kind", "")), nulls, _fmt(col.get("distinct")),
             _fmt(lo), _fmt(hi), _fmt(mean), _fmt(col.get("std")), _column_spark(col)]
    return "<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>"


def _schema_rows(schema: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{"name": c["name"], "dtype": c["dtype"]} for c in schema]


def version_html(version: Any) -> str:
    meta = [f"<b>{html.escape(version.name)}</b>@<code>{html.escape(version.short)}</code>",
            html.escape(version.kind)]
    if version.rows is not None:
        meta.append(f"{version.rows:,} rows")
    if version.files is not None:
        meta.append(f"{version.files:,} files")
    meta.append(human_bytes(version.bytes))
    meta.append(html.escape(version.created.strftime("%Y-%m-%d %H:%M:%S UTC")))
    if version.tags:
        meta.append("tags: " + ", ".join(f"<code>{html.escape(t)}</code>" for t in version.tags))
    if version.new is False:
        meta.append("<i>unchanged: same version as before</i>")
    parts = ['<div class="jp-mlops-dataset-version">', "<div>" + " · ".join(meta) + "</div>"]
    if version.source:
        parts.append(f"<div>source: <code>{html.escape(version.source)}</code></div>")
    columns = (version.profile or {}).get("columns") or _schema_rows(version.schema or [])
    if columns:
        head = ["column", "dtype", "kind", "nulls", "distinct", "min", "max", "mean", "std",
                "distribution"]
        parts.append('<table style="font-size:var(--jp-ui-font-size1,12px)"><thead><tr>'
                     + "".join(f"<th>{h}</th>" for h in head) + "</tr></thead><tbody>")
        parts.extend(_column_row(col) for col in columns[:MAX_COLUMNS_SHOWN])
        parts.append("</tbody></table>")
        if len(columns) > MAX_COLUMNS_SHOWN:
            parts.append(f"<div>… {len(columns) - MAX_COLUMNS_SHOWN} more columns</div>")
    parts.append("</div>")
    return "".join(parts)


def versions_table_html(rows: list[dict[str, Any]]) -> str:
    """A plain table of datasets or versions (used by `%datasets` without widgets)."""
    if not rows:
        return "<div>No datasets yet: <code>%snapshot df name</code> creates one.</div>"
    head = list(rows[0])
    out = ["<table><thead><tr>", *(f"<th>{html.escape(h)}</th>" for h in head),
           "</tr></thead><tbody>"]
    for row in rows:
        out.append("<tr>" + "".join(f"<td>{_fmt(row[h])}</td>" for h in head) + "</tr>")
    out.append("</tbody></table>")
    return "".join(out)
