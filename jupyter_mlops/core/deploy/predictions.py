"""The prediction log: every request a deployment answered, as Parquet by day.

Layout: `.mlops/predictions/<deployment>/date=YYYY-MM-DD/part-<time>-<pid>-<seq>.parquet`
(hive-style, so `pyarrow.dataset` and pandas prune by day). One row per
request, mirrored shadow requests included (`shadow=True`, same
`request_id` as the answer they mirror):

    ts (UTC) · request_id · version · role · status · latency_ms · shadow ·
    content_type · request (body) · response (body) · error

The router only appends a tuple to a list on the request path; a background
task writes the buffer every `flush_interval` seconds or `flush_rows` rows
(in a thread, the event loop never waits on Parquet), and the graceful
shutdown writes what is left, so an answered request is never lost on a
stop. Bodies are stored as sent; they are parsed (MLflow's
`dataframe_split` / `dataframe_records` / `instances` / `inputs` JSON, CSV)
only when read, by `log_frame()`, which is what drift reads as its
"current" data.
"""

from __future__ import annotations

import base64
import io
import json
import os
import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from ..errors import InvalidInput

#: a stored request or response body longer than this is cut (and flagged in `error`)
MAX_BODY_BYTES = 1_000_000

COLUMNS = ("ts", "request_id", "version", "role", "status", "latency_ms", "shadow",
           "content_type", "request", "response", "error")


def _schema() -> Any:
    import pyarrow as pa

    return pa.schema([
        ("ts", pa.timestamp("us", tz="UTC")),
        ("request_id", pa.string()),
        ("version", pa.string()),
        ("role", pa.string()),
        ("status", pa.int16()),
        ("latency_ms", pa.float32()),
        ("shadow", pa.bool_()),
        ("content_type", pa.string()),
        ("request", pa.large_string()),
        ("response", pa.large_string()),
        ("error", pa.string()),
    ])


def deployment_log_dir(predictions_dir: Path, deployment: str) -> Path:
    return Path(predictions_dir) / deployment


def _text(body: bytes | None, content_type: str | None) -> tuple[str | None, str | None]:
    if body is None:
        return None, None
    note = None
    if len(body) > MAX_BODY_BYTES:
        body = body[:MAX_BODY_BYTES]
        note = f"body cut at {MAX_BODY_BYTES} bytes"
    if content_type and "parquet" in content_type:
        return "base64:" + base64.b64encode(body).decode(), note
    return body.decode("utf-8", errors="replace"), note


class PredictionLog:
    """Buffered, day-partitioned Parquet writer for one deployment (one writer process)."""

    def __init__(self, directory: Path, *, flush_rows: int = 5000,
                 flush_interval: float = 2.0) -> None:
        self.directory = Path(directory)
        self.flush_rows = flush_rows
        self.flush_interval = flush_interval
        self._buffer: list[tuple[Any, ...]] = []
        self._lock = threading.Lock()
        self._seq = 0
        self.written_rows = 0
        self.written_files = 0
        self.failed_flushes = 0
        self.last_error: str | None = None

    def append(self, ts: float, request_id: str, version: str, role: str, status: int,
               latency_ms: float, shadow: bool, content_type: str | None,
               request: bytes | None, response: bytes | None, error: str | None) -> None:
        """Called on the request path: only a list append."""
        self._buffer.append((ts, request_id, version, role, status, latency_ms, shadow,
                             content_type, request, response, error))

    @property
    def buffered(self) -> int:
        return len(self._buffer)

    def flush(self) -> int:
        """Write everything buffered; returns the rows written. Safe from any thread."""
        with self._lock:
            rows, self._buffer = self._buffer, []
            if not rows:
                return 0
            try:
                self._write(rows)
            except Exception as exc:
                # keep the rows for the next attempt rather than lose them
                self._buffer[:0] = rows
                self.failed_flushes += 1
                self.last_error = f"{type(exc).__name__}: {exc}"
                raise
            self.written_rows += len(rows)
            return len(rows)

    def _write(self, rows: list[tuple[Any, ...]]) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        by_day: dict[str, list[tuple[Any, ...]]] = {}
        for row in rows:
            day = time.strftime("%Y-%m-%d", time.gmtime(row[0]))
            by_day.setdefault(day, []).append(row)
        schema = _schema()
        for day, day_rows in by_day.items():
            columns: dict[str, list[Any]] = {name: [] for name in COLUMNS}
            for (ts, request_id, version, role, status, latency_ms, shadow, content_type,
                 request, response, error) in day_rows:
                request_text, note_in = _text(request, content_type)
                response_text, note_out = _text(response, None)
                columns["ts"].append(int(ts * 1_000_000))
                columns["request_id"].append(request_id)
                columns["version"].append(version)
                columns["role"].append(role)
                columns["status"].append(status)
                columns["latency_ms"].append(latency_ms)
                columns["shadow"].append(shadow)
                columns["content_type"].append(content_type)
                columns["request"].append(request_text)
                columns["response"].append(response_text)
                notes = [n for n in (error, note_in, note_out) if n]
                columns["error"].append("; ".join(notes) if notes else None)
            table = pa.table({name: pa.array(columns[name], type=schema.field(name).type)
                              for name in COLUMNS}, schema=schema)
            folder = self.directory / f"date={day}"
            folder.mkdir(parents=True, exist_ok=True)
            self._seq += 1
            stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime())
            final = folder / f"part-{stamp}-{os.getpid()}-{self._seq:06d}.parquet"
            tmp = folder / f".{final.name}.tmp"
            pq.write_table(table, tmp, compression="zstd")
            os.replace(tmp, final)  # readers never see half a file
            self.written_files += 1

    def compact(self, *, max_parts_today: int = 200) -> int:
        """Merge the small files of past days into one per day (and today's once they are
        more than `max_parts_today`); returns the files removed. Runs under the writer's
        lock, so it never races this log's own flushes; a reader listing a folder in the
        middle may see a row twice, which `read_log` drops."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        removed = 0
        today = time.strftime("%Y-%m-%d", time.gmtime())
        with self._lock:
            for day, folder in _day_folders(self.directory):
                parts = sorted(folder.glob("part-*.parquet"))
                if len(parts) < 2 or (day == today and len(parts) <= max_parts_today):
                    continue
                table = pa.concat_tables(pq.read_table(p, schema=_schema()) for p in parts)
                final = folder / f"part-{day.replace('-', '')}T000000-compacted-" \
                                 f"{os.getpid()}-{int(time.time())}.parquet"
                tmp = folder / f".{final.name}.tmp"
                pq.write_table(table.sort_by("ts"), tmp, compression="zstd")
                os.replace(tmp, final)
                for part in parts:
                    part.unlink(missing_ok=True)
                    removed += 1
        return removed

    async def run(self, compact_every: float = 600.0) -> None:
        """Flush on a timer (or sooner when the buffer is large) until cancelled; compact
        the day folders every `compact_every` seconds."""
        import asyncio

        waited = 0.0
        since_compaction = compact_every  # once at start-up
        step = min(0.25, self.flush_interval)
        while True:
            await asyncio.sleep(step)
            waited += step
            since_compaction += step
            if self._buffer and (waited >= self.flush_interval
                                 or len(self._buffer) >= self.flush_rows):
                waited = 0.0
                try:
                    await asyncio.to_thread(self.flush)
                except Exception:
                    pass  # kept in the buffer, reported in status(); retried next tick
            if since_compaction >= compact_every:
                since_compaction = 0.0
                try:
                    await asyncio.to_thread(self.compact)
                except Exception as exc:
                    self.last_error = f"compaction: {type(exc).__name__}: {exc}"

    def status(self) -> dict[str, Any]:
        return {"directory": str(self.directory), "buffered": self.buffered,
                "written_rows": self.written_rows, "written_files": self.written_files,
                "failed_flushes": self.failed_flushes, "last_error": self.last_error}


# -- reading -----------------------------------------------------------------------------------
def _as_utc(value: Any) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, (int, float)):
        return datetime.fromtimestamp(value, tz=timezone.utc)
    if isinstance(value, timedelta):
        return datetime.now(timezone.utc) - value
    if isinstance(value, str):
        text = value.strip()
        units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
        if text[:-1].replace(".", "", 1).isdigit() and text[-1:] in units:
            return datetime.now(timezone.utc) - timedelta(seconds=float(text[:-1])
                                                          * units[text[-1]])
        try:
            value = datetime.fromisoformat(text)
        except ValueError:
            raise InvalidInput(f"since/until take a datetime, an ISO time or a duration like "
                               f"'15m', '2h', '7d'; got {value!r}.") from None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    try:  # pandas Timestamp and the like
        return _as_utc(value.to_pydatetime())
    except AttributeError:
        raise InvalidInput(f"Cannot read {value!r} as a time.") from None


def _day_folders(directory: Path) -> list[tuple[str, Path]]:
    folders = []
    for entry in directory.glob("date=*"):
        if entry.is_dir():
            folders.append((entry.name[5:], entry))
    return sorted(folders)


def read_log(predictions_dir: Path, deployment: str, *, last: int | None = None,
                     since: Any = None, until: Any = None, version: str | None = None,
                     shadow: bool | None = None) -> Any:
    """The raw log as a DataFrame, oldest first.

    `last` keeps the newest N rows (after the other filters); `since`/`until`
    take datetimes, ISO strings or durations ('15m', '2h', '7d'); `version`
    keeps one version's rows; `shadow` True/False keeps only mirrored or only
    answered requests. Files are visited newest day first and only as far as
    needed, so `last=1000` reads a few files however long the log is.
    """
    import pandas as pd
    import pyarrow as pa
    import pyarrow.parquet as pq

    if last is not None and (not isinstance(last, int) or last < 1):
        raise InvalidInput(f"last must be a positive number of rows, got {last!r}.")
    directory = deployment_log_dir(predictions_dir, deployment)
    start, end = _as_utc(since), _as_utc(until)
    schema = _schema()
    tables = []
    rows = 0
    for day, folder in reversed(_day_folders(directory)):
        if start is not None and day < start.strftime("%Y-%m-%d"):
            break
        if end is not None and day > end.strftime("%Y-%m-%d"):
            continue
        for path in sorted(folder.glob("part-*.parquet"), reverse=True):
            table = pq.read_table(path, schema=schema)
            mask = None
            import pyarrow.compute as pc

            if start is not None:
                mask = pc.greater_equal(table["ts"], pa.scalar(start, pa.timestamp("us", "UTC")))
            if end is not None:
                upper = pc.less(table["ts"], pa.scalar(end, pa.timestamp("us", "UTC")))
                mask = upper if mask is None else pc.and_(mask, upper)
            if version is not None:
                same = pc.equal(table["version"], version)
                mask = same if mask is None else pc.and_(mask, same)
            if shadow is not None:
                same = pc.equal(table["shadow"], bool(shadow))
                mask = same if mask is None else pc.and_(mask, same)
            if mask is not None:
                table = table.filter(mask)
            if table.num_rows:
                tables.append(table)
                rows += table.num_rows
            if last is not None and rows >= last * 1 and start is None:
                break
        if last is not None and rows >= last and start is None:
            break
    if not tables:
        frame = schema.empty_table().to_pandas()
    else:
        frame = pa.concat_tables(tables).to_pandas()
    frame = frame.drop_duplicates(["ts", "request_id", "version", "shadow"])
    frame = frame.sort_values(["ts", "shadow"], kind="stable").reset_index(drop=True)
    if last is not None:
        frame = frame.tail(last).reset_index(drop=True)
    return frame


# -- parsing bodies ----------------------------------------------------------------------------
def parse_inputs(body: str | None, content_type: str | None) -> Any:
    """A request body in MLflow's scoring formats, as a DataFrame (None if unreadable)."""
    import pandas as pd

    if body is None:
        return None
    try:
        if content_type and "csv" in content_type:
            return pd.read_csv(io.StringIO(body))
        if body.startswith("base64:"):
            return pd.read_parquet(io.BytesIO(base64.b64decode(body[7:])))
        data = json.loads(body)
    except Exception:
        return None
    if not isinstance(data, dict):
        return None
    try:
        if "dataframe_split" in data:
            split = data["dataframe_split"]
            return pd.DataFrame(split.get("data", []), columns=split.get("columns"),
                                index=split.get("index"))
        if "dataframe_records" in data:
            return pd.DataFrame.from_records(data["dataframe_records"])
        for key in ("instances", "inputs"):
            if key in data:
                value = data[key]
                if isinstance(value, dict):
                    return pd.DataFrame(value)
                if value and isinstance(value[0], dict):
                    return pd.DataFrame.from_records(value)
                return pd.DataFrame({"input": list(value)})
    except Exception:
        return None
    return None


def parse_outputs(body: str | None) -> list[Any] | None:
    """The `predictions` of an answer (a list, one entry per input row), or None."""
    if not body:
        return None
    try:
        data = json.loads(body)
    except Exception:
        return None
    if isinstance(data, dict):
        data = data.get("predictions", data.get("outputs"))
    if isinstance(data, dict):  # column-oriented output
        try:
            keys = list(data)
            return [dict(zip(keys, values)) for values in zip(*data.values())]
        except TypeError:
            return None
    if not isinstance(data, list):
        return None
    if data and all(isinstance(item, dict) and list(item) == ["0"] for item in data):
        # an unnamed Series or column (a pyfunc returning pd.Series): the values themselves
        return [item["0"] for item in data]
    return data


def _records(body: str | None, content_type: str | None) -> list[dict[str, Any]] | None:
    """A request body as a list of {column: value} rows, without pandas for JSON (fast:
    a frame per request would dominate reading a long log)."""
    if body is None:
        return None
    if (content_type and "csv" in content_type) or body.startswith("base64:"):
        frame = parse_inputs(body, content_type)
        return None if frame is None else frame.to_dict(orient="records")
    try:
        data = json.loads(body)
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    try:
        if "dataframe_split" in data:
            split = data["dataframe_split"]
            columns = split.get("columns") or []
            return [dict(zip(columns, row)) for row in split.get("data", [])]
        if "dataframe_records" in data:
            return [row for row in data["dataframe_records"] if isinstance(row, dict)]
        for key in ("instances", "inputs"):
            if key in data:
                value = data[key]
                if isinstance(value, dict):
                    keys = list(value)
                    columns = [v if isinstance(v, list) else [v] for v in value.values()]
                    return [dict(zip(keys, row)) for row in zip(*columns)]
                if value and isinstance(value[0], dict):
                    return list(value)
                return [{"input": item} for item in value]
    except (TypeError, AttributeError):
        return None
    return None


def log_frame(predictions_dir: Path, deployment: str, *, last: int | None = None,
              since: Any = None, until: Any = None, version: str | None = None,
              shadow: bool | None = False, include_errors: bool = False) -> Any:
    """One row per *input row* with its features, the `prediction`, and `_ts`,
    `_request_id`, `_version`, `_shadow`: the "current" data of a drift check.

    `last` counts requests, as in `read_log`. Requests whose body does not parse
    (or, unless `include_errors`, that were not answered with 2xx) are skipped.
    """
    import pandas as pd

    log = read_log(predictions_dir, deployment, last=last, since=since, until=until,
                   version=version, shadow=shadow)
    rows: list[dict[str, Any]] = []
    for ts, request_id, row_version, status, is_shadow, content_type, request, response in zip(
            log["ts"], log["request_id"], log["version"], log["status"], log["shadow"],
            log["content_type"], log["request"], log["response"]):
        if not include_errors and not 200 <= int(status) < 300:
            continue
        records = _records(request, content_type)
        if not records:
            continue
        outputs = parse_outputs(response)
        if outputs is None or len(outputs) != len(records):
            outputs = [None] * len(records)
        meta = {"_ts": ts, "_request_id": request_id, "_version": row_version,
                "_shadow": bool(is_shadow)}
        for record, output in zip(records, outputs):
            row = dict(record)
            if isinstance(output, dict):
                row.update({f"prediction_{k}": v for k, v in output.items()})
            else:
                row["prediction"] = output
            row.update(meta)
            rows.append(row)
    if not rows:
        return pd.DataFrame(columns=["prediction", "_ts", "_request_id", "_version", "_shadow"])
    return pd.DataFrame.from_records(rows)


def __getattr__(name: str) -> Any:
    """The shadow comparison moved to `shadow.py`; imports from here keep working."""
    if name in ("ShadowComparison", "compare_shadow"):
        from . import shadow

        return getattr(shadow, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
