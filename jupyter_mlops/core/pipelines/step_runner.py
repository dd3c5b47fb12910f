"""Run one step: papermill on a fresh kernel, with progress, outputs and a clear error.

`execute_step(task, pool, emit)` is the whole job of a step, independent of
where it runs: the local executor calls it in its long-lived worker processes
(`python -m jupyter_mlops.core.pipelines.step_runner`, spoken to over JSON
lines on stdin/stdout); a Dask executor would call the same function on a
cluster worker.

The step's kernel is told who it is through environment variables: the
workspace (`JUPYTER_MLOPS_WORKSPACE`…), the MLflow run to nest under
(`JUPYTER_MLOPS_PARENT_RUN_ID`), its input and output notebooks (for the run
context tracking records) and where `output()` writes
(`JUPYTER_MLOPS_STEP_OUTPUTS`). A pre-started kernel gets them (and its
working folder) from a silent first execution, before any cell runs.

Protocol of the worker process (one JSON object per line):
  parent → worker  {"op": "run", "task": {...}}   {"op": "stop"}
  worker → parent  {"event": "ready", "pid": …, "warm": [...]}
                   {"event": "kernel", "task_id": …, "kernel_pid": …, "warm": …}
                   {"event": "started", "task_id": …, "kernel_pid": …}   (cells about to run)
                   {"event": "progress", "task_id": …, "cells_done": …, "cells_total": …,
                    "current_cell": …}
                   {"event": "result", "task_id": …, "result": {...}}
"""

from __future__ import annotations

import json
import os
import re
import sys
import threading
import time
import traceback
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from .kernel_pool import KernelPool, _run, kill_process_group, setup_code
from .outputs import ENV_STEP_OUTPUTS, read_outputs

_ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]")
MAX_TRACEBACK_CHARS = 20_000
DEFAULT_KERNEL = "python3"

#: variables a step's kernel must not inherit from whoever started the runner
SCRUBBED_ENV = ("JPY_SESSION_NAME", "JUPYTER_MLOPS_PARENT_RUN_ID", "JUPYTER_MLOPS_NOTEBOOK",
                "JUPYTER_MLOPS_OUTPUT_NOTEBOOK", ENV_STEP_OUTPUTS,
                "JUPYTER_MLOPS_PIPELINE_RUN_ID", "JUPYTER_MLOPS_STEP")


@dataclass
class StepTask:
    """Everything a worker needs to run a step (plain values: it travels as JSON)."""

    task_id: str
    run_id: str
    step: str
    attempt: int
    notebook: str
    output_notebook: str
    log_path: str
    outputs_path: str
    cwd: str
    parameters: dict[str, Any] = field(default_factory=dict)
    kernel: str | None = None
    env: dict[str, str | None] = field(default_factory=dict)
    start_timeout: float = 60.0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> StepTask:
        return cls(**dict(data))


@dataclass
class StepError:
    """Why a step failed; for a failing cell, where (index in the output notebook) and what."""

    message: str
    ename: str | None = None
    evalue: str | None = None
    traceback: str | None = None
    cell_index: int | None = None
    source: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class StepResult:
    status: str  # "succeeded" | "failed"
    error: StepError | None = None
    outputs: dict[str, Any] = field(default_factory=dict)
    cells_done: int = 0
    cells_total: int | None = None
    current_cell: int | None = None
    kernel_pid: int | None = None
    warm: bool = False
    started: float = 0.0
    finished: float = 0.0
    timings: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["error"] = self.error.to_dict() if self.error else None
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> StepResult:
        data = dict(data)
        error = data.pop("error", None)
        return cls(error=StepError(**error) if error else None, **data)


def strip_ansi(text: str) -> str:
    return _ANSI.sub("", text)


def kernel_name_of(notebook: Path, requested: str | None) -> str:
    if requested:
        return requested
    try:
        meta = json.loads(notebook.read_text(encoding="utf-8")).get("metadata", {})
        name = (meta.get("kernelspec") or {}).get("name")
    except (OSError, ValueError):
        name = None
    return name or DEFAULT_KERNEL


async def _apply_setup(kc: Any, code: str, timeout: float) -> None:
    """Run `code` silently through a ready client; RuntimeError if it fails."""
    msg_id = kc.execute(code, silent=True, store_history=False)
    deadline = time.monotonic() + timeout
    while True:
        reply = await kc.get_shell_msg(timeout=max(0.1, deadline - time.monotonic()))
        if reply.get("parent_header", {}).get("msg_id") == msg_id:
            break
    if reply["content"].get("status") != "ok":
        content = reply["content"]
        raise RuntimeError(f"kernel set-up failed: {content.get('ename')}: "
                           f"{content.get('evalue')}")


_languages: dict[str, str] = {}


def kernel_language(kernel_name: str) -> str | None:
    """The kernelspec's language (papermill needs one; bare notebooks carry none)."""
    if kernel_name not in _languages:
        try:
            from jupyter_client.kernelspec import KernelSpecManager

            _languages[kernel_name] = KernelSpecManager().get_kernel_spec(kernel_name).language
        except Exception:
            return None
    return _languages[kernel_name]


def _register_engine() -> str:
    """A papermill engine that runs on a kernel and client we already hold.

    papermill's own engine lets nbclient start (and later shut down, waiting
    for it) the kernel; ours hands nbclient a kernel that is already up and a
    client that already saw it ready, and keeps the shutdown for the pool.
    """
    from papermill.clientwrap import PapermillNotebookClient
    from papermill.engines import NBClientEngine, papermill_engines
    from papermill.log import logger
    from papermill.utils import merge_kwargs, remove_args

    class MLOpsEngine(NBClientEngine):
        @classmethod
        def execute_managed_notebook(cls, nb_man: Any, kernel_name: str, log_output: bool = False,
                                     stdout_file: Any = None, stderr_file: Any = None,
                                     start_timeout: float = 60, execution_timeout: Any = None,
                                     kc: Any = None, **kwargs: Any) -> Any:
            kwargs = remove_args(["input_path"], **kwargs)
            safe_kwargs = remove_args(["timeout", "startup_timeout"], **kwargs)
            final = merge_kwargs(
                safe_kwargs, timeout=execution_timeout if execution_timeout else kwargs.get(
                    "timeout"),
                startup_timeout=start_timeout, kernel_name=kernel_name, log=logger,
                log_output=log_output, stdout_file=stdout_file, stderr_file=stderr_file)
            client = PapermillNotebookClient(nb_man, **final)
            client.kc = kc
            return client.execute()

    papermill_engines.register(ENGINE_NAME, MLOpsEngine)
    return ENGINE_NAME


ENGINE_NAME = "jupyter-mlops"
_engine: list[str] = []


def _error_of(exc: BaseException, current_cell: int | None) -> StepError:
    from papermill.exceptions import PapermillExecutionError

    if isinstance(exc, PapermillExecutionError):
        tb = strip_ansi("\n".join(exc.traceback or []))
        return StepError(
            message=f"{exc.ename}: {strip_ansi(str(exc.evalue))} (cell {exc.cell_index})",
            ename=exc.ename, evalue=strip_ansi(str(exc.evalue)),
            traceback=tb[-MAX_TRACEBACK_CHARS:], cell_index=exc.cell_index,
            source=(exc.source or "")[:2000])
    ename = type(exc).__name__
    evalue = strip_ansi(str(exc)).strip()
    if ename == "DeadKernelError":
        evalue = evalue or "the kernel died"
    return StepError(message=f"{ename}: {evalue}"[:2000], ename=ename, evalue=evalue[:5000],
                     traceback=strip_ansi("".join(traceback.format_exception(exc)))[
                         -MAX_TRACEBACK_CHARS:],
                     cell_index=current_cell)


class _Progress:
    """nbclient hooks → progress events (code cells only: what nbclient executes)."""

    def __init__(self, emit: Callable[..., None], task_id: str) -> None:
        self.emit = emit
        self.task_id = task_id
        self.done = 0
        self.total: int | None = None
        self.current: int | None = None

    def count(self, notebook: Path, parameters: bool) -> None:
        """Cells nbclient will run: non-empty code cells, and papermill's injected one."""
        try:
            cells = json.loads(notebook.read_text(encoding="utf-8")).get("cells", [])
        except (OSError, ValueError):
            return
        self.total = sum(1 for c in cells if c.get("cell_type") == "code"
                         and "".join(c.get("source", "")).strip()
                         and "injected-parameters" not in c.get("metadata", {}).get("tags", []))
        self.total += 1 if parameters else 0

    def cell_start(self, cell: Any = None, cell_index: int | None = None, **_kw: Any) -> None:
        self.current = cell_index
        self._send()

    def cell_executed(self, cell: Any = None, cell_index: int | None = None, **_kw: Any) -> None:
        self.done += 1
        self._send()

    def _send(self) -> None:
        self.emit("progress", task_id=self.task_id, cells_done=self.done,
                  cells_total=self.total, current_cell=self.current)


def execute_step(task: StepTask, pool: KernelPool, emit: Callable[..., None]) -> StepResult:
    """Run the step's notebook with papermill; never raises (failures are in the result)."""
    import papermill

    started = time.time()
    t0 = time.perf_counter()
    notebook = Path(task.notebook)
    output = Path(task.output_notebook)
    output.parent.mkdir(parents=True, exist_ok=True)
    Path(task.outputs_path).unlink(missing_ok=True)
    env = {**{k: None for k in SCRUBBED_ENV}, **task.env,
           ENV_STEP_OUTPUTS: task.outputs_path}
    progress = _Progress(emit, task.task_id)
    result = StepResult(status="failed", started=started)
    kernel = None
    log = open(task.log_path, "a", encoding="utf-8", buffering=1)  # noqa: SIM115
    try:
        log.write(f"=== {task.step} attempt {task.attempt} · {notebook} → {output} · "
                  f"{time.strftime('%Y-%m-%d %H:%M:%S')}\n")
        name = kernel_name_of(notebook, task.kernel)
        progress.count(notebook, bool(task.parameters))
        if not _engine:
            _engine.append(_register_engine())
        kernel = pool.acquire(name, cwd=task.cwd, env=env)
        result.kernel_pid = kernel.pid
        result.warm = kernel.warm
        emit("kernel", task_id=task.task_id, kernel_pid=kernel.pid, warm=kernel.warm)
        t1 = time.perf_counter()
        kc = _run(kernel.connect(task.start_timeout))
        if kernel.warm:
            _run(_apply_setup(kc, setup_code(env, task.cwd), task.start_timeout))
        # the next step's kernel boots while this one runs (its connect progresses whenever
        # the event loop runs, i.e. while papermill waits on this kernel)
        pool.prestart(name)
        pool.connect_soon()
        t2 = time.perf_counter()
        result.timings.update(acquire=t1 - t0, setup=t2 - t1)
        emit("started", task_id=task.task_id, kernel_pid=kernel.pid, warm=kernel.warm)
        papermill.execute_notebook(
            str(notebook), str(output), parameters=task.parameters or None,
            engine_name=ENGINE_NAME, kernel_name=name, language=kernel_language(name),
            progress_bar=False, log_output=False, stdout_file=log, stderr_file=log,
            start_timeout=task.start_timeout, cwd=task.cwd, km=kernel.km, kc=kc,
            on_cell_start=progress.cell_start, on_cell_executed=progress.cell_executed,
        )
        result.timings["execute"] = time.perf_counter() - t2
        result.status = "succeeded"
    except BaseException as exc:  # noqa: BLE001 - everything is reported, nothing escapes
        result.error = _error_of(exc, progress.current)
        try:
            log.write(f"--- failed: {result.error.message}\n")
            if result.error.traceback:
                log.write(result.error.traceback + "\n")
        except Exception:
            pass
        if isinstance(exc, (KeyboardInterrupt, SystemExit)):
            raise
    finally:
        if kernel is not None:
            pool.retire(kernel)
        try:
            result.outputs = read_outputs(task.outputs_path)
        except (OSError, ValueError) as exc:
            if result.status == "succeeded":
                result.status = "failed"
                result.error = StepError(message=f"cannot read the step's outputs: {exc}",
                                         ename=type(exc).__name__, evalue=str(exc))
        result.cells_done = progress.done
        result.cells_total = progress.total
        result.current_cell = progress.current
        result.finished = time.time()
        try:
            log.write(f"=== {result.status} in {result.finished - started:.2f}s\n")
        except Exception:
            pass
        log.close()
    return result


# -- the worker process ------------------------------------------------------------------------
class _Channel:
    """JSON lines to the parent; the real stdout is kept for it alone."""

    def __init__(self, out: Any) -> None:
        self.out = out
        self.lock = threading.Lock()

    def emit(self, event: str, **data: Any) -> None:
        line = json.dumps({"event": event, **data}, default=str)
        with self.lock:
            self.out.write(line + "\n")
            self.out.flush()


def _watch_parent(parent_pid: int, pool: KernelPool) -> None:
    """Die with the parent: a runner killed mid-step must not leave kernels running."""
    while True:
        time.sleep(0.5)
        if os.getppid() != parent_pid:
            for pid in pool.pids():
                kill_process_group(pid)
            kill_process_group(_current_kernel_pid[0])
            os._exit(1)


_current_kernel_pid: list[int | None] = [None]


def worker_main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="jupyter-mlops step worker")
    parser.add_argument("--prestart", type=int, default=1)
    parser.add_argument("--kernel", default=DEFAULT_KERNEL)
    parser.add_argument("--grace", type=float, default=5.0)
    args = parser.parse_args(argv)

    # stdout belongs to the protocol; anything printed by libraries goes to stderr
    proto = os.fdopen(os.dup(1), "w", encoding="utf-8", buffering=1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    channel = _Channel(proto)
    parent_pid = os.getppid()
    base_env = {k: v for k, v in os.environ.items() if k not in SCRUBBED_ENV}
    pool = KernelPool(size=args.prestart, grace=args.grace, base_env=base_env)
    threading.Thread(target=_watch_parent, args=(parent_pid, pool), daemon=True,
                     name="mlops-parent-watch").start()

    import papermill  # noqa: F401 - paid once per worker, not per step

    last_kernel = args.kernel

    def ready() -> None:
        channel.emit("ready", pid=os.getpid(), warm=pool.warm_names(), kernels=pool.pids(),
                     connected=pool.ready_count())

    def kernels_up(_kernel: Any) -> None:
        channel.emit("kernels", connected=pool.ready_count(), kernels=pool.pids())

    pool.on_ready = kernels_up
    pool.prestart(last_kernel)
    pool.connect_soon()
    ready()
    lines = _LineReader(sys.stdin.fileno())
    try:
        while True:
            line = lines.readline(0.5)  # runs the event loop: background connects progress
            if line is None:
                pool.cleanup()
                continue
            if not line:
                break  # the parent closed the pipe (or died)
            try:
                message = json.loads(line)
            except ValueError:
                continue
            op = message.get("op")
            if op == "stop":
                break
            if op != "run":
                continue
            pool.cleanup()
            task = StepTask.from_dict(message["task"])
            try:
                last_kernel = kernel_name_of(Path(task.notebook), task.kernel)
            except Exception:
                pass
            result = _run_task(task, pool, channel)
            channel.emit("result", task_id=task.task_id, result=result.to_dict())
            pool.prestart(last_kernel)  # (normally launched when the step started)
            pool.connect_soon()
            ready()
    finally:
        pool.close()
    return 0


class _LineReader:
    """Lines from a pipe, waiting on the event loop (so background tasks run meanwhile)."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.buffer = b""
        self.eof = False

    def readline(self, timeout: float) -> str | None:
        """A line ('' at EOF), or None when nothing came within `timeout`."""
        while b"\n" not in self.buffer and not self.eof:
            if not _run(self._readable(timeout)):
                return None
            chunk = os.read(self.fd, 65536)
            if not chunk:
                self.eof = True
            self.buffer += chunk
        if b"\n" in self.buffer:
            line, self.buffer = self.buffer.split(b"\n", 1)
            return line.decode("utf-8", "replace") or " "
        line, self.buffer = self.buffer, b""
        return line.decode("utf-8", "replace")

    async def _readable(self, timeout: float) -> bool:
        import asyncio

        loop = asyncio.get_running_loop()
        future = loop.create_future()
        loop.add_reader(self.fd, lambda: future.done() or future.set_result(True))
        try:
            return await asyncio.wait_for(future, timeout)
        except asyncio.TimeoutError:
            return False
        finally:
            loop.remove_reader(self.fd)


def _run_task(task: StepTask, pool: KernelPool, channel: _Channel) -> StepResult:
    def emit(event: str, **data: Any) -> None:
        if event == "kernel":
            _current_kernel_pid[0] = data.get("kernel_pid")
        channel.emit(event, **data)

    try:
        return execute_step(task, pool, emit)
    finally:
        _current_kernel_pid[0] = None


if __name__ == "__main__":
    sys.exit(worker_main())
