"""`jupyter mlops datasets …`: the terminal surface of dataset snapshots.

    jupyter mlops datasets list
    jupyter mlops datasets versions NAME [--limit N]
    jupyter mlops datasets snapshot PATH --name NAME [--tag T]... [--description TEXT]
                                    [--verify] [--profile]
    jupyter mlops datasets show NAME[@REF]
    jupyter mlops datasets diff NAME A B
    jupyter mlops datasets validate NAME[@REF] [--expectations FILE.json]
    jupyter mlops datasets verify NAME[@REF] [--audit]
    jupyter mlops datasets gc [--dry-run] [--grace-seconds S]

Every command takes `--workspace/-w` and `--json`; REF is `latest` (the
default), a tag or a hash prefix of 4+ characters. For scripts that used
`dvc add`: re-snapshotting an unchanged file costs a stat and a lookup and
says "unchanged" with the same version. Exit codes: 0 success; 1 a user
error (unknown dataset or version, missing path, no expectations stored) or,
for `verify`, an object that no longer hashes to its name; 3 a backend that
does not answer; `EXIT_VALIDATION_FAILED` (6) when `validate` finds failures.
"""

from __future__ import annotations

import argparse
import functools
import json
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from .core import datasets as ds
from .core.datasets.access import TABULAR_SUFFIXES
from .core.datasets.render import human_bytes
from .core.errors import InvalidInput
from .core.workspace import Workspace
from .render import print_json, text_table, when

#: `datasets validate` exit code when the version breaks some of its expectations
EXIT_VALIDATION_FAILED = 6
#: folder files listed by `show` (the JSON output has the count)
FOLDER_FILES_SHOWN = 20

Command = Callable[[argparse.Namespace, Workspace], int]


# -- plumbing ----------------------------------------------------------------------------------
def _with_ws(fn: Command) -> Callable[[argparse.Namespace], int]:
    """Open the workspace for one command and release its connections afterwards."""

    @functools.wraps(fn)
    def run(args: argparse.Namespace) -> int:
        ws = Workspace.resolve(getattr(args, "workspace", None))
        try:
            return fn(args, ws)
        finally:
            ws.close()

    return run


def split_ref(text: str) -> tuple[str, str]:
    """`name@ref` → (name, ref); a bare `name` means its latest version."""
    name, _, ref = text.strip().partition("@")
    if not name:
        raise InvalidInput(f"{text!r} is not a dataset reference; write NAME or NAME@REF "
                           "(REF: latest, a tag or a hash prefix).")
    return ds.validate_name(name), ref.strip() or "latest"


def _cell(value: Any) -> str:
    if value is None or isinstance(value, bool):
        return "" if value is None else ("yes" if value else "no")
    if isinstance(value, (int, float)):
        if isinstance(value, int) or 1e4 <= abs(value) < 1e15:
            return f"{value:,.0f}"
        return f"{value:.4g}"
    return str(value)


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]], right: str = "") -> str:
    """Aligned columns of formatted cells; headers named in `right` (comma-separated) are
    right-aligned."""
    return text_table(headers, [[_cell(c) for c in row] for row in rows],
                      right=right.split(","))


def _facts(v: ds.DatasetVersion) -> list[str]:
    """Kind, rows or files (when known) and size: the one-line description of a version."""
    return [v.kind] + [f"{n:,} {unit}" for n, unit in ((v.rows, "rows"), (v.files, "files"))
                       if n is not None] + [human_bytes(v.bytes)]


def _profiled(ws: Workspace, version: ds.DatasetVersion
              ) -> tuple[ds.DatasetVersion, str | None]:
    """The version, profiled if it is a tabular file seen for the first time (so it has rows
    and columns, like a table); else why it has no profile."""
    if version.profile is not None or version.kind == "table":
        return version, None
    if version.kind == "folder":
        return version, "a folder has no profile"
    if Path(version.source or "").suffix.lower() not in TABULAR_SUFFIXES:
        return version, "not a tabular file (CSV, TSV, Parquet, JSON)"
    try:
        ds.profile_version(version.name, version.version, ws)
    except InvalidInput as exc:
        return version, exc.message
    fresh = ds.get_version(version.name, version.version, ws)
    fresh.new = version.new
    return fresh, None


# -- list, versions ----------------------------------------------------------------------------
@_with_ws
def cmd_list(args: argparse.Namespace, ws: Workspace) -> int:
    found = ds.list_datasets(ws)
    if args.json:
        print_json([d.to_dict() for d in found])
        return 0
    if not found:
        print("no datasets yet: `jupyter mlops datasets snapshot PATH --name NAME` makes one")
        return 0
    rows = [[d.name, (d.latest or "")[:12], d.versions, ", ".join(sorted(d.tags)),
             d.latest_rows, human_bytes(d.latest_bytes)] for d in found]
    print(table(["dataset", "latest", "versions", "tags", "rows", "size"], rows,
                right="versions,rows,size"))
    return 0


@_with_ws
def cmd_versions(args: argparse.Namespace, ws: Workspace) -> int:
    versions = ds.list_versions(args.name, ws)
    if args.limit is not None:
        versions = versions[:max(args.limit, 0)]
    if args.json:
        print_json([v.to_dict(profile=False) for v in versions])
        return 0
    rows = [[v.short, when(v.created), v.kind, v.rows, human_bytes(v.bytes), ", ".join(v.tags),
             v.description or ""] for v in versions]
    print(table(["version", "created (UTC)", "kind", "rows", "size", "tags", "description"],
                rows, right="rows,size"))
    return 0


# -- snapshot ----------------------------------------------------------------------------------
@_with_ws
def cmd_snapshot(args: argparse.Namespace, ws: Workspace) -> int:
    """The user's own shell: any readable path is fine, relative to the current directory."""
    path = Path(args.path).expanduser()  # core refuses a missing path, naming it
    started = time.perf_counter()
    version = ds.snapshot(path, args.name, tags=args.tag or None, description=args.description,
                          workspace=ws, profile=False, verify=args.verify)
    took = time.perf_counter() - started
    profile_s, profile_note = None, None
    if args.profile:
        started = time.perf_counter()
        version, profile_note = _profiled(ws, version)
        profile_s = time.perf_counter() - started
    if args.json:
        print_json({**version.to_dict(profile=False), "seconds": took,
                     "profile_seconds": profile_s, "profile_error": profile_note})
        return 0
    state = "new" if version.new else "unchanged (same version as before)"
    tags = f" [{', '.join(version.tags)}]" if version.tags else ""
    print(f"{version.name}@{version.short} {state}: {', '.join(_facts(version))}{tags}, "
          f"in {took:.3f} s")
    print(f"  version {version.version}")
    if profile_s is not None:
        print(f"  profile {'not made: ' + profile_note if profile_note else 'stored'} "
              f"({profile_s:.3f} s)")
    return 0


# -- show --------------------------------------------------------------------------------------
def _column_row(col: dict[str, Any]) -> list[Any]:
    share = col.get("null_share")
    lo, hi, mean, top = col.get("min_iso", col.get("min")), col.get("max_iso", col.get("max")), \
        col.get("mean"), ""
    if col.get("kind") == "datetime":
        mean = None
    if col.get("top") and col.get("histogram") is None:
        top = ", ".join(f"{t['value']} ({t['count']:,})" for t in col["top"][:3])
    return [col["name"], col.get("dtype", ""), col.get("kind", ""),
            "" if share is None else f"{share:.1%}", col.get("distinct"), lo, hi, mean, top]


def _folder_lines(ws: Workspace, version: ds.DatasetVersion) -> list[str]:
    from .core.datasets.access import read_manifest
    from .core.datasets.objects import store_for

    files = read_manifest(store_for(ws), version.version)["files"]
    rows = [[f["path"], human_bytes(f["size"]), f["hash"][:12]]
            for f in files[:FOLDER_FILES_SHOWN]]
    lines = [table(["file", "size", "object"], rows, right="size")]
    if len(files) > FOLDER_FILES_SHOWN:
        lines.append(f"… {len(files) - FOLDER_FILES_SHOWN} more files")
    return lines


def _header(version: ds.DatasetVersion) -> list[str]:
    lines = [f"{version.name}@{version.short}  "
             + " · ".join(_facts(version) + [f"{when(version.created)} UTC"])]
    for label, value in (("version", version.version), ("tags", ", ".join(version.tags)),
                         ("source", version.source), ("description", version.description),
                         ("by", version.actor)):
        if value:
            lines.append(f"  {label:<11} {value}")
    return lines


@_with_ws
def cmd_show(args: argparse.Namespace, ws: Workspace) -> int:
    name, ref = split_ref(args.ref)
    version, note = _profiled(ws, ds.get_version(name, ref, ws))
    if args.json:
        print_json({**version.to_dict(), "profile_error": note})
        return 0
    lines = _header(version)
    columns = (version.profile or {}).get("columns")
    if columns:
        lines.append("")
        lines.append(table(["column", "dtype", "kind", "nulls", "distinct", "min", "max",
                            "mean", "top"], [_column_row(c) for c in columns],
                           right="nulls,distinct,min,max,mean"))
    elif version.schema:
        lines += ["", table(["column", "dtype"], [[c["name"], c["dtype"]]
                                                  for c in version.schema])]
    if version.kind == "folder":
        lines += [""] + _folder_lines(ws, version)
    elif not columns and note:
        lines.append(f"  {'profile':<11} none: {note}")
    print("\n".join(lines))
    return 0


# -- diff --------------------------------------------------------------------------------------
def _change(delta: dict[str, Any] | None, fmt: Callable[[Any], str] = _cell) -> str:
    if not delta:
        return ""
    a, b = delta.get("a"), delta.get("b")
    return fmt(a) if a == b else f"{fmt(a)} → {fmt(b)}"


def _diff_lines(result: ds.DatasetDiff) -> list[str]:
    lines = [result.summary(),
             f"  rows     {_change(result.rows)}",
             f"  size     {_change(result.bytes, human_bytes)}"]
    for label, cols in (("added", result.added_columns), ("removed", result.removed_columns)):
        lines += [f"  {label:<8} {c['name']} ({c['dtype']})" for c in cols]
    lines += [f"  retyped  {c['name']} ({c['from']} → {c['to']})" for c in result.retyped_columns]
    for label, files in (("added", result.added_files), ("removed", result.removed_files),
                         ("changed", result.changed_files)):
        lines += [f"  {label:<8} file {f}" for f in files]
    if result.columns:
        rows = []
        for col in result.columns:
            shift = col.get("mean_shift_std")
            tvd = col.get("category_tvd")
            rows.append([col["name"], "*" if col.get("changed") else "",
                         _change(col.get("null_share"), lambda x: f"{x:.1%}"),
                         _change(col.get("distinct")),
                         _change(col.get("mean")),
                         "" if shift is None else f"{shift:+.2f}",
                         "" if tvd is None else f"{tvd:.3f}"])
        lines += ["", table(["column", "changed", "nulls", "distinct", "mean", "shift (std)",
                             "categories tvd"], rows)]
    elif not result.identical and not result.profiles_compared and result.kind_a != "folder":
        lines.append("  (no profiles to compare column by column)")
    return lines


@_with_ws
def cmd_diff(args: argparse.Namespace, ws: Workspace) -> int:
    result = ds.diff(args.name, args.a, args.b, ws)
    if args.json:
        print_json({**result.to_dict(), "summary": result.summary()})
    else:
        print("\n".join(_diff_lines(result)))
    return 0


# -- validate, verify, gc ----------------------------------------------------------------------
def _read_expectations(path: str) -> dict[str, Any]:
    """Expectations from a JSON file (a one-off check; stored ones stay as they are)."""
    try:
        spec = json.loads(Path(path).expanduser().read_text(encoding="utf-8"))
    except OSError as exc:
        raise InvalidInput(f"Cannot read expectations from {path}: {exc.strerror}.") from exc
    except ValueError as exc:
        raise InvalidInput(f"{path} is not JSON: {exc}.") from exc
    return spec


def _examples(failure: ds.Failure) -> str:
    """A nullable check keeps the rows of its missing values; others keep values."""
    if failure.check == "nullable":
        return ", ".join(f"row {e}" for e in failure.examples)
    return ", ".join(json.dumps(e, default=str) for e in failure.examples)


@_with_ws
def cmd_validate(args: argparse.Namespace, ws: Workspace) -> int:
    name, ref = split_ref(args.ref)
    version = ds.get_version(name, ref, ws)
    spec = _read_expectations(args.expectations) if args.expectations else name
    report = ds.validate(version, spec, ws)
    report.dataset = name
    code = 0 if report.passed else EXIT_VALIDATION_FAILED
    if args.json:
        print_json({**report.to_dict(), "version": version.version, "summary": report.summary()})
        return code
    where = f"{name}@{version.short}"
    if report.passed:
        print(f"{where}: all expectations met ({report.rows:,} rows, "
              f"{report.columns_checked} column(s) checked)")
        return code
    print(f"{where}: {len(report.failures)} expectation(s) failed on {report.rows:,} rows")
    rows = [[f.column or "(table)", f.check, f.count, _examples(f), f.message]
            for f in report.failures]
    print(table(["column", "check", "count", "examples", "message"], rows, right="count"))
    return code


@_with_ws
def cmd_verify(args: argparse.Namespace, ws: Workspace) -> int:
    name, ref = split_ref(args.ref)
    report = ds.verify(name, ref, ws, audit=args.audit)
    short = report["version"][:12]
    if args.json:
        print_json({"name": name, **report})
    elif report["ok"]:
        digest = f"; sha256 {report['sha256']}" if report.get("sha256") else ""
        print(f"{name}@{short}: intact{digest}")
    else:
        print(f"error: {name}@{short} is corrupt: {report['detail']}; snapshot the data again",
              file=sys.stderr)
    return 0 if report["ok"] else 1


@_with_ws
def cmd_gc(args: argparse.Namespace, ws: Workspace) -> int:
    report = ds.gc(dry_run=args.dry_run, workspace=ws, grace_seconds=args.grace_seconds)
    if args.json:
        print_json({**report.to_dict(), "summary": report.summary()})
        return 0
    verb = "would remove" if report.dry_run else "removed"
    print(f"gc {verb} {len(report.objects)} object(s) and {len(report.temps)} temp file(s), "
          f"{human_bytes(report.bytes)}; {report.referenced} referenced, "
          f"{report.kept_recent} younger than {args.grace_seconds:g} s kept")
    rows = [[o["key"][:12], "object", human_bytes(o["size"])] for o in report.objects]
    rows += [[t["name"], "temp", human_bytes(t["size"])] for t in report.temps]
    rows += [[c[:12], "checkout", ""] for c in report.checkouts]
    if rows:
        print(table(["object", "what", "size"], rows, right="size"))
    return 0


# -- registration ------------------------------------------------------------------------------
def add_datasets_commands(sub: Any, with_workspace: Callable[[argparse.ArgumentParser],
                                                             argparse.ArgumentParser]) -> None:
    """Register `datasets …` on the `jupyter mlops` sub-parsers."""
    datasets = sub.add_parser("datasets", help="snapshot, inspect, diff and validate datasets")
    dsub = datasets.add_subparsers(dest="datasets_command", metavar="COMMAND")
    datasets.set_defaults(func=lambda _args: (datasets.print_help(), 0)[1])
    ref_help = "NAME or NAME@REF (REF: latest, a tag or a hash prefix; default latest)"

    with_workspace(dsub.add_parser("list", help="every dataset with its newest version")
                   ).set_defaults(func=cmd_list)

    versions = with_workspace(dsub.add_parser("versions",
                                              help="a dataset's versions, newest first"))
    versions.add_argument("name")
    versions.add_argument("--limit", type=int, default=None, help="at most N versions")
    versions.set_defaults(func=cmd_versions)

    snap = with_workspace(dsub.add_parser(
        "snapshot", help="store a file or folder as a version (unchanged data: same version)"))
    snap.add_argument("path", help="a file or folder (relative to the current directory)")
    snap.add_argument("--name", "-n", required=True, help="the dataset's name")
    snap.add_argument("--tag", "-t", action="append", default=[],
                      help="tag the version (repeatable); a tag moves from its previous version")
    snap.add_argument("--description", "-d", default=None)
    snap.add_argument("--verify", action="store_true",
                      help="re-hash files even when size and modification time are unchanged")
    snap.add_argument("--profile", action="store_true",
                      help="profile a tabular file now (otherwise on first `show`)")
    snap.set_defaults(func=cmd_snapshot)

    def by_ref(command: str, func: Callable[[argparse.Namespace], int], what: str
               ) -> argparse.ArgumentParser:
        parser = with_workspace(dsub.add_parser(command, help=what))
        parser.add_argument("ref", metavar="NAME[@REF]", help=ref_help)
        parser.set_defaults(func=func)
        return parser

    by_ref("show", cmd_show, "a version's schema and column profile")

    diff = with_workspace(dsub.add_parser("diff", help="what changed from version A to B"))
    diff.add_argument("name")
    diff.add_argument("a", metavar="A", help="the older version: a tag, hash prefix or latest")
    diff.add_argument("b", metavar="B", help="the newer version")
    diff.set_defaults(func=cmd_diff)

    validate = by_ref("validate", cmd_validate, f"check a version against the dataset's "
                      f"expectations (exit {EXIT_VALIDATION_FAILED} when some fail)")
    validate.add_argument("--expectations", "-e", metavar="FILE.json", default=None,
                          help="check against these expectations instead of the stored ones")
    by_ref("verify", cmd_verify, "re-hash a version's stored object (exit 1 when corrupt)"
           ).add_argument("--audit", action="store_true", help="also record its SHA-256")

    gc = with_workspace(dsub.add_parser("gc", help="remove objects no version references"))
    gc.add_argument("--dry-run", action="store_true", help="only list what would be removed")
    gc.add_argument("--grace-seconds", type=float, default=600.0,
                    help="keep objects younger than this (a snapshot may be writing them; "
                         "default 600)")
    gc.set_defaults(func=cmd_gc)

