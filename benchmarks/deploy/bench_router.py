"""What the deployment router costs, and whether its rollouts hold under load.

    python benchmarks/deploy/bench_router.py [--requests 2000] [--canary-requests 10000]
        [--concurrency 4] [--compare-mlflow-serve] [--out benchmarks/results/deploy.md]

Side by side in one run, against the same model server (our MLflow-compatible
scoring server with the example churn model) called directly, all on 127.0.0.1:

1. latency: sequential requests on one keep-alive connection, direct and through
   the router, interleaved in blocks so background load hits both alike;
   the router's added p50 (target ≤ 1 ms);
2. throughput: the same number of requests from `--concurrency` threads,
   direct and through the router (target ≥ 0.8× of direct);
3. a 10 % canary: share of `--canary-requests` answered by the canary
   (target 10 ± 1 %);
4. blue-green switch and rollback under constant load: failed requests
   (target 0), and how long each command took;
5. (with `--compare-mlflow-serve`) time to the first answered /ping of our
   model server vs `mlflow models serve --env-manager local`.

Load is bounded in count and time; nothing listens beyond 127.0.0.1. A fresh
workspace is created under a temporary folder and removed at the end. This
is a benchmark, not a test: it prints and writes figures, it asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from jupyter_mlops.core.deploy import deploy  # noqa: E402
from jupyter_mlops.core.deploy.demo_models import register_churn_model  # noqa: E402
from jupyter_mlops.core.deploy.loadgen import Load, run_load, summary  # noqa: E402
from jupyter_mlops.core.workspace import Workspace  # noqa: E402
from jupyter_mlops.examples import churn  # noqa: E402


def body(rows: int = 1) -> bytes:
    frame = churn.feature_matrix(churn.generate(max(rows, 2), seed=5)).head(rows)
    return json.dumps({"dataframe_split": json.loads(
        frame.to_json(orient="split", index=False))}).encode()


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc)."""
    with open(f"/proc/{pid}/stat") as handle:
        fields = handle.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def latency(direct: str, router: str, payload: bytes, requests: int, router_pid: int,
            block: int = 100) -> dict[str, Any]:
    for url in (direct, router):  # warm both connections and code paths
        run_load(url, payload, requests=50)
    samples: dict[str, list[float]] = {"direct": [], "router": []}
    router_cpu = 0.0
    done = 0
    while done < requests:
        n = min(block, requests - done)
        for name, url in (("direct", direct), ("router", router)):
            before = cpu_seconds(router_pid) if name == "router" else 0.0
            result = run_load(url, payload, requests=n)
            if name == "router":
                router_cpu += cpu_seconds(router_pid) - before
            samples[name].extend(result.latencies_ms())
        done += n
    d, r = summary(samples["direct"]), summary(samples["router"])
    return {"direct": d, "router": r, "added_p50_ms": r["p50"] - d["p50"],
            "added_p95_ms": r["p95"] - d["p95"],
            # CPU the router process spent per proxied request: what the router costs,
            # whatever else the machine is doing (clock ticks of 10 ms, summed over blocks)
            "router_cpu_ms_per_request": router_cpu * 1000 / max(len(samples["router"]), 1)}


def throughput(direct: str, router: str, payload: bytes, requests: int,
               concurrency: int) -> dict[str, Any]:
    figures = {}
    for name, url in (("direct", direct), ("router", router), ("direct_again", direct),
                      ("router_again", router)):
        started = time.perf_counter()
        result = run_load(url, payload, requests=requests, concurrency=concurrency,
                          duration=120)
        elapsed = time.perf_counter() - started
        figures[name] = {"requests": len(result.results), "seconds": elapsed,
                         "rps": len(result.results) / elapsed,
                         "failures": len(result.failures),
                         "non_200": sum(n for s, n in result.statuses.items() if s != 200)}
    direct_rps = (figures["direct"]["rps"] + figures["direct_again"]["rps"]) / 2
    router_rps = (figures["router"]["rps"] + figures["router_again"]["rps"]) / 2
    return {"runs": figures, "direct_rps": direct_rps, "router_rps": router_rps,
            "ratio": router_rps / direct_rps}


def canary_share(dep: Any, router: str, payload: bytes, candidate: str, requests: int,
                 concurrency: int) -> dict[str, Any]:
    # hold the canary at 10 %: a bake longer than the run, judged never (min_requests huge)
    dep.set_strategy("canary", model=candidate, steps=[10, 100], bake=3600,
                     min_requests=10_000_000)
    result = run_load(router, payload, requests=requests, concurrency=concurrency,
                      duration=300)
    versions = result.versions
    share = versions.count(candidate) / max(len(versions), 1)
    dep.rollback(reason="benchmark: canary share measured")
    return {"requests": len(versions), "canary": versions.count(candidate), "share": share,
            "failures": len(result.failures),
            "non_200": sum(n for s, n in result.statuses.items() if s != 200)}


def blue_green(dep: Any, router: str, payload: bytes, candidate: str,
               concurrency: int) -> dict[str, Any]:
    loads = [Load(router, payload, duration=180) for _ in range(concurrency)]
    for load in loads:
        load.start()
    time.sleep(1.0)
    started = time.perf_counter()
    dep.set_strategy("blue_green", model=candidate)  # starts green, 0 % of traffic
    green_ready = time.perf_counter() - started
    time.sleep(1.0)
    t0 = time.perf_counter()
    dep.promote()
    switch = time.perf_counter() - t0
    time.sleep(2.0)
    t0 = time.perf_counter()
    dep.rollback()
    rollback = time.perf_counter() - t0
    time.sleep(2.0)
    for load in loads:
        load.stop()
    results = [r for load in loads for r in load.outcome.results]
    failures = [f for load in loads for f in load.failures]
    served: dict[str, int] = {}
    for _, _, version, _ in results:
        served[version or "?"] = served.get(version or "?", 0) + 1
    return {"requests": len(results), "failures": len(failures),
            "non_200": sum(1 for _, s, _, _ in results if s != 200),
            "served": served, "green_start_s": green_ready, "switch_s": switch,
            "rollback_s": rollback, "failure_samples": failures[:3]}


def time_to_ping(command: list[str], port: int, env: dict[str, str], timeout: float = 180):
    import http.client

    started = time.perf_counter()
    log = tempfile.TemporaryFile()
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL,
                               stderr=log, start_new_session=True)
    try:
        while time.perf_counter() - started < timeout:
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
                conn.request("GET", "/ping")
                if conn.getresponse().status == 200:
                    return time.perf_counter() - started
            except OSError:
                pass
            if process.poll() is not None:
                log.seek(0)
                tail = log.read().decode(errors="replace").strip().splitlines()[-3:]
                print(f"{command[0]} exited {process.returncode}: {' / '.join(tail)}",
                      file=sys.stderr)
                return None
            time.sleep(0.05)
        return None
    finally:
        try:
            os.killpg(process.pid, 15)
        except ProcessLookupError:  # it exited on its own (a failed start)
            pass
        process.wait(30)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def startup(source: str, env: dict[str, str]) -> dict[str, Any]:
    ours, theirs = free_port(), free_port()
    own = time_to_ping([sys.executable, "-m", "jupyter_mlops.core.deploy.model_server",
                        "--model", source, "--port", str(ours)], ours, env)
    mlflow_cli = shutil.which("mlflow", path=os.path.dirname(sys.executable)) or "mlflow"
    # `mlflow models serve` starts `uvicorn` through bash: it must find the venv's one
    env = {**env, "PATH": os.pathsep.join([os.path.dirname(sys.executable),
                                           env.get("PATH", os.defpath)])}
    serve = time_to_ping([mlflow_cli, "models", "serve", "--env-manager", "local", "-m",
                          source, "-p", str(theirs), "-h", "127.0.0.1"], theirs, env)
    return {"own_model_server_s": own, "mlflow_models_serve_s": serve}


def fmt(value: float | None, unit: str = "", digits: int = 2) -> str:
    return "–" if value is None else f"{value:.{digits}f}{unit}"


def report(figures: dict[str, Any]) -> str:
    lat, thr = figures["latency"], figures["throughput"]
    can, bg = figures["canary"], figures["blue_green"]
    env = figures["environment"]
    ok = lambda flag: "✅" if flag else "❌"  # noqa: E731
    lines = [
        "# Deployment router benchmark",
        "",
        f"Run {env['when']} on {env['machine']} ({env['cpus']} CPUs, load average "
        f"{env['load_before']} before the run), Python {env['python']}, uvicorn "
        f"{env['uvicorn']} (http: {env['uvicorn_http']}, loop: {env['uvicorn_loop']}). "
        "Model: the example churn classifier (scikit-learn, 1 row per request) in our "
        "MLflow-compatible model server; everything on 127.0.0.1.",
        "",
        f"Command: `{figures['command']}`",
        "",
        "| figure | direct | router | result | target |",
        "|---|---|---|---|---|",
        f"| p50 latency, sequential ({lat['direct']['n']} requests each) | "
        f"{fmt(lat['direct']['p50'], ' ms')} | {fmt(lat['router']['p50'], ' ms')} | "
        f"{lat['added_p50_ms']:+.2f} ms {ok(lat['added_p50_ms'] <= 1.0)} | ≤ +1 ms |",
        f"| p95 latency, sequential | {fmt(lat['direct']['p95'], ' ms')} | "
        f"{fmt(lat['router']['p95'], ' ms')} | {lat['added_p95_ms']:+.2f} ms | – |",
        f"| router CPU per proxied request | – | "
        f"{fmt(lat['router_cpu_ms_per_request'], ' ms', 3)} | – | – |",
        f"| throughput, {figures['concurrency']} concurrent clients | "
        f"{fmt(thr['direct_rps'], ' req/s', 0)} | {fmt(thr['router_rps'], ' req/s', 0)} | "
        f"{fmt(thr['ratio'], '×')} {ok(thr['ratio'] >= 0.8)} | ≥ 0.8× |",
        f"| 10 % canary share of {can['requests']} requests | – | "
        f"{can['canary']} to the canary | {can['share']:.2%} "
        f"{ok(abs(can['share'] - 0.10) <= 0.01)} | 10 ± 1 % |",
        f"| blue-green switch + rollback under load ({bg['requests']} requests) | – | "
        f"{bg['failures']} failed, {bg['non_200']} non-200 | "
        f"switch {fmt(bg['switch_s'], ' s', 3)}, rollback {fmt(bg['rollback_s'], ' s', 3)} "
        f"{ok(bg['failures'] == 0 and bg['non_200'] == 0)} | 0 failed |",
    ]
    if figures.get("startup"):
        st = figures["startup"]
        lines += [
            "",
            "Start-up, launch to first answered `/ping` (same model, same machine): our model "
            f"server {fmt(st['own_model_server_s'], ' s', 1)}, `mlflow models serve "
            f"--env-manager local` {fmt(st['mlflow_models_serve_s'], ' s', 1)}.",
        ]
    lines += [
        "",
        "Details:",
        "",
        "```json",
        json.dumps({k: v for k, v in figures.items() if k != "command"}, indent=2,
                   default=str),
        "```",
        "",
        "Notes: the router is one Python process (a bare ASGI app on uvicorn, and our own "
        "keep-alive HTTP/1.1 client to the versions); it shares the machine's cores with the "
        "model server and with the load generator (Python threads), so on a 2-core machine "
        "the throughput figure is a lower bound of what a dedicated core would give. The "
        "canary share is exact by construction (smooth weighted round robin) for requests "
        "without a sticky key. Green's start includes loading the model.",
    ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=2000,
                        help="sequential requests per side for latency and throughput")
    parser.add_argument("--canary-requests", type=int, default=10_000)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--compare-mlflow-serve", action="store_true")
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "deploy.md"))
    parser.add_argument("--keep", action="store_true", help="keep the temporary workspace")
    args = parser.parse_args(argv)

    import uvicorn

    folder = Path(tempfile.mkdtemp(prefix="mlops-bench-deploy-"))
    ws = Workspace.resolve(folder)
    figures: dict[str, Any] = {
        "command": "python benchmarks/deploy/bench_router.py " + " ".join(argv or sys.argv[1:]),
        "concurrency": args.concurrency,
        "environment": {
            "when": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            "machine": platform.platform(terse=True), "cpus": os.cpu_count(),
            "python": platform.python_version(), "uvicorn": uvicorn.__version__,
            "uvicorn_http": _which_http(), "uvicorn_loop": _which_loop(),
            "load_before": " ".join(f"{x:.2f}" for x in os.getloadavg()),
        },
    }
    dep = None
    try:
        print("registering two versions of the churn model…", flush=True)
        v1 = register_churn_model(ws, alias="champion")
        v2 = register_churn_model(ws, c=0.05, seed=1, alias="challenger")
        candidate = f"churn/{v2}"
        print("deploying churn@champion…", flush=True)
        dep = deploy("churn@champion", name="bench", workspace=ws)
        router = dep.url
        direct = dep.versions[0].url
        payload = body()
        print(f"router {router}, model server {direct}", flush=True)

        print(f"latency: {args.requests} sequential requests each…", flush=True)
        router_pid = dep._row()["router_pid"]
        figures["latency"] = latency(direct, router, payload, args.requests, router_pid)
        print(json.dumps(figures["latency"], default=str), flush=True)

        print(f"throughput: {args.requests} requests × {args.concurrency} clients…", flush=True)
        figures["throughput"] = throughput(direct, router, payload, args.requests,
                                           args.concurrency)
        print(json.dumps(figures["throughput"], default=str), flush=True)

        print(f"canary share of {args.canary_requests} requests…", flush=True)
        figures["canary"] = canary_share(dep, router, payload, candidate,
                                         args.canary_requests, args.concurrency)
        print(json.dumps(figures["canary"]), flush=True)

        print("blue-green switch and rollback under load…", flush=True)
        figures["blue_green"] = blue_green(dep, router, payload, candidate, args.concurrency)
        print(json.dumps(figures["blue_green"]), flush=True)

        if args.compare_mlflow_serve:
            print("start-up: our model server vs mlflow models serve…", flush=True)
            env = dict(os.environ, MLFLOW_TRACKING_URI=ws.tracking_uri)
            figures["startup"] = startup(_source(dep), env)
            print(json.dumps(figures["startup"]), flush=True)
        figures["environment"]["load_after"] = " ".join(f"{x:.2f}" for x in os.getloadavg())
        figures["versions"] = {"stable": f"churn/{v1}", "candidate": candidate}
    finally:
        if dep is not None:
            dep.stop()
        ws.close()
        if not args.keep:
            shutil.rmtree(folder, ignore_errors=True)
    text = report(figures)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text)
    print(text)
    return 0


def _source(dep: Any) -> str:
    row = dep._row()
    return next(v["source"] for v in row["versions"] if v["role"] in ("stable", "standby"))


def _which_http() -> str:
    try:
        import httptools  # noqa: F401

        return "httptools"
    except ImportError:
        return "h11"


def _which_loop() -> str:
    try:
        import uvloop  # noqa: F401

        return "uvloop"
    except ImportError:
        return "asyncio"


if __name__ == "__main__":
    sys.exit(main())
