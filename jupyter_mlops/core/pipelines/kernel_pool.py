"""Kernels started ahead of need, used once, and retired without blocking.

A step's cost on a quiet machine is mostly the kernel: ≈ 0.6 s to start,
≈ 0.01 s per trivial cell. A runner process that lives across steps (the
server, the scheduler, `run_pipeline` in a notebook) can launch the next
kernel while it waits for work, so the next step finds one ready. Kernels
are **fresh, never reused**: each runs exactly one step, then is retired, so
no state leaks from one step into the next.

Retiring never blocks the runner: the kernel gets a shutdown request (so its
`atexit` handlers run: open MLflow runs are ended and metric buffers
flushed), and a reaper thread kills its process group if it is still alive
after a grace period. About one kernel in six does not exit on the request
(jupyter_client would wait ≈ 3 s for it); the next step no longer pays that.

Everything that talks ZMQ runs on the owning thread (the worker's main
thread); the reaper only waits on and signals processes.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

#: how long a retired kernel may take to exit on its own before it is killed (s)
DEFAULT_GRACE_S = 5.0
#: how long a pre-started kernel may stay unused before it is replaced (s)
MAX_IDLE_S = 3600.0


def _run(coro: Any) -> Any:
    from jupyter_core.utils import ensure_event_loop

    return ensure_event_loop().run_until_complete(coro)


def kill_process_group(pid: int | None) -> None:
    """SIGKILL a kernel and whatever it started (kernels run in their own session)."""
    if not pid:
        return
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError, OSError):
        try:
            os.kill(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError, OSError):
            pass


@dataclass
class PooledKernel:
    """A kernel manager with its process; `warm` when it was started before it was needed."""

    km: Any
    kernel_name: str
    warm: bool
    started: float = field(default_factory=time.monotonic)
    kc: Any = None  # a client whose channels are up and that saw the kernel ready
    connecting: Any = None  # the asyncio task connecting `kc` in the background
    failed: bool = False

    async def _connect(self, timeout: float) -> Any:
        kc = self.km.client()
        kc.start_channels()
        try:
            await kc.wait_for_ready(timeout=timeout)
        except BaseException:
            kc.stop_channels()
            raise
        kc.allow_stdin = False
        self.kc = kc
        return kc

    def connect_soon(self, timeout: float, on_done: Any = None) -> None:
        """Start connecting in the background; it progresses whenever the owner thread's
        event loop runs (while the worker waits for work, or while papermill runs a step)."""
        if self.kc is not None or self.connecting is not None:
            return
        from jupyter_core.utils import ensure_event_loop

        task = ensure_event_loop().create_task(self._connect(timeout))

        def done(t: Any) -> None:
            if t.cancelled() or t.exception() is not None:
                self.failed = True
            if on_done is not None:
                on_done(self)

        task.add_done_callback(done)
        self.connecting = task

    async def connect(self, timeout: float) -> Any:
        """A ready client (jupyter_client's ready handshake costs ≈ 0.2 s: paid once, early)."""
        if self.kc is None:
            if self.connecting is None or (self.connecting.done() and self.failed):
                self.failed = False
                self.connecting = None
                return await self._connect(timeout)
            await self.connecting
        return self.kc

    def disconnect(self) -> None:
        if self.connecting is not None and not self.connecting.done():
            self.connecting.cancel()
        if self.kc is not None:
            try:
                self.kc.stop_channels()
            except Exception:
                pass
            self.kc = None

    @property
    def process(self) -> Any:
        provisioner = getattr(self.km, "provisioner", None)
        return getattr(provisioner, "process", None)

    @property
    def pid(self) -> int | None:
        return getattr(self.process, "pid", None)

    def alive(self) -> bool:
        process = self.process
        return process is not None and process.poll() is None


class KernelPool:
    """Per-process pool: `acquire()` a kernel (pre-started if one is ready), `retire()` it."""

    def __init__(self, size: int = 1, grace: float = DEFAULT_GRACE_S,
                 base_env: Mapping[str, str] | None = None) -> None:
        self.size = max(0, int(size))
        self.grace = grace
        self.base_env = dict(base_env if base_env is not None else os.environ)
        self._warm: list[PooledKernel] = []
        self._retiring: list[PooledKernel] = []
        self._lock = threading.Lock()
        self._reaper_wake = threading.Event()
        self._reaper: threading.Thread | None = None
        self._deadlines: dict[int, float] = {}
        self._closed = False
        self.on_ready: Any = None  # called with each pre-started kernel once it is connected

    # -- starting ---------------------------------------------------------------------------
    def _start(self, kernel_name: str, *, cwd: str | None, env: Mapping[str, str | None] | None,
               warm: bool) -> PooledKernel:
        from jupyter_client.manager import AsyncKernelManager

        full_env = dict(self.base_env)
        for key, value in (env or {}).items():
            if value is None:
                full_env.pop(key, None)
            else:
                full_env[key] = value
        km = AsyncKernelManager(kernel_name=kernel_name)
        _run(km.start_kernel(cwd=cwd or os.getcwd(), env=full_env))
        return PooledKernel(km, kernel_name, warm)

    def prestart(self, kernel_name: str = "python3") -> None:
        """Launch kernels until `size` are ready for `kernel_name` (returns at once: the
        kernel boots in its own process while this one waits for work)."""
        if self.size <= 0 or self._closed:
            return
        self._drop_stale()
        while sum(1 for k in self._warm if k.kernel_name == kernel_name) < self.size:
            try:
                self._warm.append(self._start(kernel_name, cwd=None, env=None, warm=True))
            except Exception:
                return  # an unknown kernel name fails the step later, with its own message
        # other kernel names beyond the pool size are not kept
        others = [k for k in self._warm if k.kernel_name != kernel_name]
        for kernel in others[max(0, self.size - 1):]:
            self._warm.remove(kernel)
            self.retire(kernel, graceful=False)

    def _drop_stale(self) -> None:
        now = time.monotonic()
        for kernel in list(self._warm):
            if not kernel.alive() or kernel.failed or now - kernel.started > MAX_IDLE_S:
                self._warm.remove(kernel)
                self.retire(kernel, graceful=False)

    def connect_soon(self, timeout: float = 60.0) -> None:
        """Connect to pre-started kernels in the background (see PooledKernel.connect_soon);
        `on_ready(kernel)` is called as each one is up."""
        for kernel in self._warm:
            if kernel.kc is None and kernel.connecting is None and kernel.alive():
                kernel.connect_soon(timeout, self.on_ready)

    def ready_count(self) -> int:
        """Pre-started kernels that are up and connected: a step on one starts at once."""
        return sum(1 for k in self._warm if k.kc is not None and k.alive())

    def warm_names(self) -> list[str]:
        return [k.kernel_name for k in self._warm if k.alive()]

    def acquire(self, kernel_name: str, *, cwd: str,
                env: Mapping[str, str | None]) -> PooledKernel:
        """A pre-started kernel of that name when one is alive, else a new one started now.

        A pre-started kernel was launched before the step's environment and folder
        were known: the caller applies them with `setup_code()` before running cells.
        """
        self._drop_stale()
        candidates = [k for k in self._warm if k.kernel_name == kernel_name and k.alive()
                      and not k.failed]
        candidates.sort(key=lambda k: (k.kc is None, k.started))  # connected ones first
        if candidates:
            self._warm.remove(candidates[0])
            return candidates[0]
        return self._start(kernel_name, cwd=cwd, env=env, warm=False)

    # -- retiring ---------------------------------------------------------------------------
    def retire(self, kernel: PooledKernel, *, graceful: bool = True) -> None:
        """Ask the kernel to exit and return at once; the reaper kills it after `grace`."""
        pid = kernel.pid
        kernel.disconnect()
        if graceful and kernel.alive():
            try:
                _run(kernel.km.request_shutdown())
            except Exception:
                graceful = False
        with self._lock:
            self._retiring.append(kernel)
            if pid:
                self._deadlines[pid] = time.monotonic() + (self.grace if graceful else 0.0)
        if not graceful:
            kill_process_group(pid)
        self._ensure_reaper()
        self._reaper_wake.set()

    def _ensure_reaper(self) -> None:
        if self._reaper is None or not self._reaper.is_alive():
            self._reaper = threading.Thread(target=self._reap_loop, name="mlops-kernel-reaper",
                                            daemon=True)
            self._reaper.start()

    def _reap_loop(self) -> None:
        while True:
            with self._lock:
                pending = [(k, self._deadlines.get(k.pid or -1, 0.0)) for k in self._retiring
                           if k.alive()]
            if not pending:
                self._reaper_wake.wait(5.0)
                self._reaper_wake.clear()
                if self._closed:
                    return
                continue
            now = time.monotonic()
            for kernel, deadline in pending:
                if now >= deadline:
                    kill_process_group(kernel.pid)
                    try:
                        kernel.process.wait(timeout=1.0)
                    except Exception:
                        pass
            soonest = min(d for _k, d in pending)
            self._reaper_wake.wait(max(0.05, min(0.25, soonest - time.monotonic())))
            self._reaper_wake.clear()

    def cleanup(self) -> None:
        """Release files and sockets of kernels that have exited (call from the owner thread)."""
        with self._lock:
            gone = [k for k in self._retiring if not k.alive()]
            self._retiring = [k for k in self._retiring if k.alive()]
            for kernel in gone:
                self._deadlines.pop(kernel.pid or -1, None)
        for kernel in gone:
            try:
                process = kernel.process
                if process is not None:
                    process.wait(timeout=0)  # collect the exit status: no zombie
            except Exception:
                pass
            try:
                _run(kernel.km.cleanup_resources())
            except Exception:
                pass

    @property
    def retiring(self) -> int:
        with self._lock:
            return sum(1 for k in self._retiring if k.alive())

    def close(self, *, kill: bool = True) -> None:
        """Kill every kernel this pool owns (warm and retiring)."""
        self._closed = True
        for kernel in self._warm:
            kill_process_group(kernel.pid)
            self._retiring.append(kernel)
        self._warm.clear()
        if kill:
            with self._lock:
                for kernel in self._retiring:
                    kill_process_group(kernel.pid)
        deadline = time.monotonic() + 2.0
        while self.retiring and time.monotonic() < deadline:
            time.sleep(0.02)
        self.cleanup()
        self._reaper_wake.set()

    def pids(self) -> list[int]:
        """Processes of every kernel this pool still owns (for a last-resort kill)."""
        with self._lock:
            kernels = list(self._warm) + list(self._retiring)
        return [k.pid for k in kernels if k.pid and k.alive()]


def setup_code(env: Mapping[str, str | None], cwd: str) -> str:
    """Code run silently in a pre-started kernel: the step's environment and folder."""
    import json

    sets = {k: v for k, v in env.items() if v is not None}
    unsets = [k for k, v in env.items() if v is None]
    return (
        "import os as _mlops_os\n"
        f"_mlops_os.environ.update({json.dumps(sets)})\n"
        f"for _mlops_k in {json.dumps(unsets)}:\n"
        "    _mlops_os.environ.pop(_mlops_k, None)\n"
        f"_mlops_os.chdir({json.dumps(cwd)})\n"
        "del _mlops_os\n"
        "try:\n    del _mlops_k\nexcept NameError:\n    pass\n"
    )
