"""Where steps run: a pluggable executor, a pool of local worker processes by default.

The orchestrator (`runs.py`) only ever calls `submit(task, on_event)`, `cancel()`
and `shutdown()`; events (`started`, `progress`, `result`) come back through the
callback, from whatever thread the executor uses. A Dask executor implements
the same three methods by submitting `step_runner.execute_step` to a
`distributed.Client` (progress through a `distributed.Queue`, cancel by
killing the kernel from a worker plugin) — nothing else changes.

`LocalProcessExecutor` keeps `max_workers` long-lived worker processes
(`python -m jupyter_mlops.core.pipelines.step_runner`), each with a kernel
started ahead of need; a worker that dies (or is killed to stop a step that
would not stop) is replaced. The pool is bounded: extra steps wait in a queue.

Executors are chosen by name: `local` built in, others from the
`jupyter_mlops.executors` entry point group, loaded only when asked for.
"""

from __future__ import annotations

import atexit
import itertools
import json
import os
import subprocess
import sys
import threading
import time
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import Callable
from typing import Any

from ..errors import InvalidInput
from .kernel_pool import kill_process_group
from .step_runner import SCRUBBED_ENV, StepError, StepResult, StepTask

ENV_EXECUTOR = "JUPYTER_MLOPS_EXECUTOR"
ENV_MAX_WORKERS = "JUPYTER_MLOPS_MAX_WORKERS"
ENV_PRESTART = "JUPYTER_MLOPS_PRESTART_KERNELS"
ENV_WORKER_LOG = "JUPYTER_MLOPS_WORKER_LOG"
#: after a kernel is killed, how long its worker may take to report before it is killed too
CANCEL_ESCALATION_S = 5.0
#: workers dying before their first "ready" this many times in a row stop being replaced
MAX_STARTUP_FAILURES = 3

EventCallback = Callable[["StepHandle", str, dict[str, Any]], None]


class StepHandle:
    """A submitted step: wait for its result, or cancel it."""

    def __init__(self, task: StepTask, on_event: EventCallback | None) -> None:
        self.task = task
        self.on_event = on_event
        self.state = "pending"  # pending → running → done
        self.kernel_pid: int | None = None
        self.result: StepResult | None = None
        self.cancel_reason: str | None = None
        self.submitted = time.monotonic()
        self.started: float | None = None  # when its cells started to run (monotonic)
        self._done = threading.Event()
        self._executor: Executor | None = None

    @property
    def done(self) -> bool:
        return self._done.is_set()

    def wait(self, timeout: float | None = None) -> StepResult | None:
        self._done.wait(timeout)
        return self.result

    def cancel(self, reason: str = "cancelled") -> None:
        if self._executor is not None and not self.done:
            self._executor.cancel(self, reason)

    def _emit(self, event: str, data: dict[str, Any]) -> None:
        if self.on_event is not None:
            try:
                self.on_event(self, event, data)
            except Exception:  # a failing listener must not break the executor
                pass

    def _finish(self, result: StepResult) -> None:
        if self.done:
            return
        self.result = result
        self.state = "done"
        self._done.set()
        self._emit("result", result.to_dict())


class Executor(ABC):
    """The interface every executor implements."""

    name = "abstract"

    @property
    @abstractmethod
    def max_parallel(self) -> int:
        """How many steps run at once."""

    @abstractmethod
    def submit(self, task: StepTask, on_event: EventCallback | None = None) -> StepHandle:
        """Queue a step; returns at once."""

    @abstractmethod
    def cancel(self, handle: StepHandle, reason: str = "cancelled") -> None:
        """Stop a step: a queued one never starts, a running one has its kernel killed."""

    @abstractmethod
    def shutdown(self, wait: bool = True) -> None:
        """Stop workers and kernels."""

    def describe(self) -> dict[str, Any]:
        return {"name": self.name, "max_parallel": self.max_parallel}


class _Worker:
    """The parent's side of one worker process."""

    _ids = itertools.count(1)

    def __init__(self, executor: LocalProcessExecutor) -> None:
        self.id = next(self._ids)
        self.executor = executor
        self.ready = False
        self.ever_ready = False
        self.warm: list[str] = []
        self.kernel_pids: list[int] = []  # its pre-started kernels, for a last-resort kill
        self.connected = 0  # pre-started kernels up and connected
        self.handle: StepHandle | None = None
        self.kill_at: float | None = None
        env = {k: v for k, v in os.environ.items() if k not in SCRUBBED_ENV}
        env.setdefault("PYTHONUNBUFFERED", "1")
        env.setdefault("MLFLOW_LOGGING_LEVEL", "WARNING")
        log_path = os.environ.get(ENV_WORKER_LOG)
        self._stderr = open(log_path, "a") if log_path else subprocess.DEVNULL  # noqa: SIM115
        self.process = subprocess.Popen(
            [executor.python, "-m", "jupyter_mlops.core.pipelines.step_runner",
             "--prestart", str(executor.prestart_kernels), "--grace", str(executor.kernel_grace)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._stderr, env=env,
            text=True, bufsize=1, close_fds=True,
        )
        self._write_lock = threading.Lock()
        self.reader = threading.Thread(target=self._read, name=f"mlops-worker-{self.id}",
                                       daemon=True)
        self.reader.start()

    @property
    def pid(self) -> int:
        return self.process.pid

    def send(self, message: dict[str, Any]) -> bool:
        try:
            with self._write_lock:
                assert self.process.stdin is not None
                self.process.stdin.write(json.dumps(message) + "\n")
                self.process.stdin.flush()
            return True
        except (OSError, ValueError, AssertionError):
            return False

    def _read(self) -> None:
        stream = self.process.stdout
        assert stream is not None
        for line in stream:
            try:
                message = json.loads(line)
            except ValueError:
                continue
            self.executor._on_message(self, message)
        code = self.process.wait()
        self.executor._on_exit(self, code)

    def kill(self) -> None:
        try:
            self.process.kill()
        except OSError:
            pass

    def close_files(self) -> None:
        for stream in (self.process.stdin, self.process.stdout):
            try:
                if stream is not None:
                    stream.close()
            except OSError:
                pass
        if self._stderr not in (None, subprocess.DEVNULL):
            try:
                self._stderr.close()
            except OSError:
                pass


class LocalProcessExecutor(Executor):
    """Steps in long-lived local worker processes, at most `max_workers` at once."""

    name = "local"

    def __init__(self, max_workers: int | None = None, prestart_kernels: int | None = None,
                 kernel_grace: float = 5.0, python: str | None = None) -> None:
        if max_workers is None:
            max_workers = int(os.environ.get(ENV_MAX_WORKERS) or 0) or (os.cpu_count() or 1)
        if prestart_kernels is None:
            prestart_kernels = int(os.environ.get(ENV_PRESTART, "1"))
        if max_workers < 1:
            raise InvalidInput(f"max_workers must be at least 1, got {max_workers}.")
        self._max_workers = int(max_workers)
        self.prestart_kernels = max(0, int(prestart_kernels))
        self.kernel_grace = kernel_grace
        self.python = python or sys.executable
        self._lock = threading.RLock()
        self._pending: deque[StepHandle] = deque()
        self._workers: list[_Worker] = []
        self._closed = False
        self._startup_failures = 0  # workers that died before they were ever ready
        self._watchdog: threading.Thread | None = None
        self._wake = threading.Event()

    @property
    def max_parallel(self) -> int:
        return self._max_workers

    def describe(self) -> dict[str, Any]:
        with self._lock:
            return {"name": self.name, "max_parallel": self._max_workers,
                    "prestart_kernels": self.prestart_kernels,
                    "workers": [{"pid": w.pid, "ready": w.ready, "busy": w.handle is not None,
                                 "warm": list(w.warm), "connected": w.connected}
                                for w in self._workers],
                    "queued": len(self._pending)}

    # -- lifecycle --------------------------------------------------------------------------
    def start(self) -> LocalProcessExecutor:
        """Spawn the workers now (they start their kernels while nothing runs yet)."""
        with self._lock:
            if self._closed:
                raise InvalidInput("This executor was shut down.")
            while len(self._workers) < self._max_workers:
                self._workers.append(_Worker(self))
            if self._watchdog is None:
                self._watchdog = threading.Thread(target=self._watch, daemon=True,
                                                  name="mlops-executor-watch")
                self._watchdog.start()
        return self

    def wait_ready(self, timeout: float = 60.0) -> bool:
        """Block until every worker is idle with its pre-started kernels up (benchmarks, tests)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if self._workers and all(
                        w.ready and w.handle is None
                        and w.connected >= min(1, self.prestart_kernels) for w in self._workers):
                    return True
            time.sleep(0.02)
        return False

    def shutdown(self, wait: bool = True) -> None:
        with self._lock:
            self._closed = True
            pending = list(self._pending)
            self._pending.clear()
            workers = list(self._workers)
        for handle in pending:
            handle._finish(_failed("the executor shut down before the step started",
                                   "Cancelled"))
        for worker in workers:
            if worker.handle is not None:
                kill_process_group(worker.handle.kernel_pid)
            worker.send({"op": "stop"})  # a worker stops by killing its kernels
        deadline = time.monotonic() + (3.0 if wait else 0.5)
        for worker in workers:
            try:
                worker.process.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                worker.kill()
            for pid in worker.kernel_pids:
                kill_process_group(pid)
        self._wake.set()

    # -- submitting -------------------------------------------------------------------------
    def submit(self, task: StepTask, on_event: EventCallback | None = None) -> StepHandle:
        handle = StepHandle(task, on_event)
        handle._executor = self
        with self._lock:
            if self._closed:
                raise InvalidInput("This executor was shut down.")
            if not self._workers:
                self.start()
            self._pending.append(handle)
            self._dispatch()
        return handle

    def _dispatch(self) -> None:
        """Give queued steps to idle, ready workers (lock held)."""
        while self._pending:
            idle = [w for w in self._workers if w.ready and w.handle is None
                    and w.process.poll() is None]
            if not idle:
                return
            handle = self._pending.popleft()
            kernel = handle.task.kernel
            worker = next((w for w in idle if kernel is None or kernel in w.warm), idle[0])
            worker.handle = handle
            worker.ready = False
            handle.state = "running"
            if not worker.send({"op": "run", "task": handle.task.to_dict()}):
                worker.handle = None
                handle.state = "pending"
                self._pending.appendleft(handle)
                worker.kill()
                return

    def cancel(self, handle: StepHandle, reason: str = "cancelled") -> None:
        with self._lock:
            if handle.done:
                return
            handle.cancel_reason = reason
            if handle in self._pending:
                self._pending.remove(handle)
                handle._finish(_failed(reason, "Cancelled"))
                return
            worker = next((w for w in self._workers if w.handle is handle), None)
            if worker is None:
                return
            worker.kill_at = time.monotonic() + CANCEL_ESCALATION_S
            pid = handle.kernel_pid
        if pid:
            kill_process_group(pid)  # papermill reports a dead kernel; the worker lives on
        self._wake.set()

    # -- messages from workers --------------------------------------------------------------
    def _on_message(self, worker: _Worker, message: dict[str, Any]) -> None:
        event = message.get("event")
        if event == "ready":
            with self._lock:
                worker.ready = True
                worker.ever_ready = True
                self._startup_failures = 0
                worker.warm = list(message.get("warm") or [])
                worker.kernel_pids = [int(p) for p in message.get("kernels") or []]
                worker.connected = int(message.get("connected") or 0)
                self._dispatch()
            return
        if event == "kernels":
            with self._lock:
                worker.kernel_pids = [int(p) for p in message.get("kernels") or []]
                worker.connected = int(message.get("connected") or 0)
            return
        handle = worker.handle
        if handle is None or message.get("task_id") != handle.task.task_id:
            return
        if event == "kernel":
            handle.kernel_pid = message.get("kernel_pid")
            if handle.cancel_reason is not None:
                kill_process_group(handle.kernel_pid)
        elif event == "started":  # the kernel is ready: timeouts count from here
            handle.kernel_pid = message.get("kernel_pid") or handle.kernel_pid
            handle.started = time.monotonic()
            handle._emit("started", message)
        elif event == "progress":
            handle._emit("progress", message)
        elif event == "result":
            result = StepResult.from_dict(message.get("result") or {})
            with self._lock:
                worker.handle = None
                worker.kill_at = None
            handle._finish(result)

    def _on_exit(self, worker: _Worker, code: int) -> None:
        with self._lock:
            handle = worker.handle
            worker.handle = None
            if worker in self._workers:
                self._workers.remove(worker)
            replace = not self._closed
        worker.close_files()
        if handle is not None:
            kill_process_group(handle.kernel_pid)
            reason = handle.cancel_reason or (
                f"the step's worker process (pid {worker.pid}) exited with code {code}")
            handle._finish(_failed(reason, "WorkerDied" if handle.cancel_reason is None
                                   else "Cancelled", kernel_pid=handle.kernel_pid))
        if not worker.ever_ready:
            self._startup_failures += 1
        if replace and self._startup_failures >= MAX_STARTUP_FAILURES:
            log_hint = (f"see {os.environ[ENV_WORKER_LOG]}" if os.environ.get(ENV_WORKER_LOG)
                        else f"set {ENV_WORKER_LOG}=/path/to/file to see why")
            with self._lock:
                stranded = list(self._pending) if not self._workers else []
                if stranded:
                    self._pending.clear()
            for pending in stranded:
                pending._finish(_failed(
                    f"the step worker processes keep exiting at start-up (code {code}); "
                    f"{log_hint}", "WorkerDied"))
            return
        if replace:
            with self._lock:
                if not self._closed and len(self._workers) < self._max_workers:
                    self._workers.append(_Worker(self))
                self._dispatch()

    def _watch(self) -> None:
        """Kill workers whose cancelled step would not stop."""
        while not self._closed:
            self._wake.wait(0.5)
            self._wake.clear()
            now = time.monotonic()
            with self._lock:
                stuck = [w for w in self._workers if w.kill_at is not None and now >= w.kill_at]
            for worker in stuck:
                worker.kill_at = None
                worker.kill()

    def worker_pids(self) -> list[int]:
        with self._lock:
            return [w.pid for w in self._workers]


def _failed(message: str, ename: str, kernel_pid: int | None = None) -> StepResult:
    now = time.time()
    return StepResult(status="failed", error=StepError(message=message, ename=ename,
                                                       evalue=message),
                      kernel_pid=kernel_pid, started=now, finished=now)


# -- choosing an executor -----------------------------------------------------------------------
_BUILTIN: dict[str, Callable[..., Executor]] = {"local": LocalProcessExecutor}
_shared: dict[str, Executor] = {}
_shared_lock = threading.Lock()


def executor_class(name: str) -> Callable[..., Executor]:
    """`local`, or an executor registered under the `jupyter_mlops.executors` entry points."""
    if name in _BUILTIN:
        return _BUILTIN[name]
    from importlib.metadata import entry_points

    for ep in entry_points(group="jupyter_mlops.executors"):
        if ep.name == name:
            return ep.load()
    known = sorted({*_BUILTIN, *(ep.name for ep in entry_points(group="jupyter_mlops.executors"))})
    raise InvalidInput(f"Unknown executor {name!r}; available: {', '.join(known)}.")


def get_executor(name: str | None = None, **options: Any) -> Executor:
    """The process-wide executor of that name (created, and its workers spawned, on first use)."""
    name = name or os.environ.get(ENV_EXECUTOR) or "local"
    with _shared_lock:
        executor = _shared.get(name)
        if executor is None or getattr(executor, "_closed", False):
            executor = executor_class(name)(**options)
            if hasattr(executor, "start"):
                executor.start()
            _shared[name] = executor
        return executor


def configure_executor(name: str = "local", **options: Any) -> Executor:
    """Replace the shared executor of that name (the server's traitlets end here)."""
    with _shared_lock:
        old = _shared.pop(name, None)
    if old is not None:
        old.shutdown(wait=False)
    return get_executor(name, **options)


def shutdown_executors() -> None:
    with _shared_lock:
        executors = list(_shared.values())
        _shared.clear()
    for executor in executors:
        try:
            executor.shutdown(wait=False)
        except Exception:
            pass


atexit.register(shutdown_executors)

