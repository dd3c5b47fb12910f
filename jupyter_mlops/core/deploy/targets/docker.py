"""The `docker` target: an image per model version, run as a container.

For each version the target generates a build context — the model's files,
our standalone scoring server (`model_server.py`) and a Dockerfile — and
builds it through the Docker SDK (the engine's legacy builder), tagged
`jupyter-mlops/<model>:<version>-<digest>` where the digest covers the
model, the server and the Dockerfile: the same version is built once and
reused by every deployment, a changed base image or server rebuilds.
Containers run with **host networking** (the only mode that works on
engines without a bridge, and no port publishing to get wrong), bound to
127.0.0.1 on a port the target picks, labelled with the deployment and the
version, health-checked by the supervisor through `/ping`, and removed on
stop.

Where the Python environment inside the image comes from (`python_env`):

- `"pip"` (default): `pip install -r requirements.txt`, the requirements
  MLflow logged with the model, during the build (host network). Needs a
  base image with Python and pip (the default `python:3.11-slim`) and an
  index the build can reach.
- `"base"`: the base image already holds everything (a curated serving
  image; what the tests use, since no registry is reachable here).
- `"copy"`: the distributions the model needs, copied from this
  environment (no network at all); the base image needs a compatible
  `python3` (same minor version and platform).

Options: `base_image`, `python` (in the image, default `python3`),
`python_env`, `pip_args` (list), `docker_host` (else `DOCKER_HOST`),
`start_timeout` (s, default 300), `image_prefix`, `rebuild` (bool),
`network` (of the build, default `host`).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import socket
import tempfile
import time
from pathlib import Path
from typing import Any

from ...errors import BackendUnavailable, InvalidInput
from .base import Target, VersionHandle, VersionSpec, VersionStartError, explain_log, slugify

DEFAULT_BASE_IMAGE = "python:3.11-slim"
ENV_BASE_IMAGE = "JUPYTER_MLOPS_DOCKER_BASE_IMAGE"
LABEL_DEPLOYMENT = "org.jupyter-mlops.deployment"
LABEL_VERSION = "org.jupyter-mlops.version"
#: what the scoring server needs besides the model's own requirements
SERVER_REQUIREMENTS = ("mlflow-skinny", "uvicorn", "cloudpickle")
PYTHON_ENVS = ("pip", "base", "copy")


def docker_client(docker_host: str | None = None) -> Any:
    """A connected Docker SDK client, or BackendUnavailable saying how to get an engine."""
    try:
        import docker
    except ImportError as exc:  # pragma: no cover - docker is a dependency
        raise BackendUnavailable("The docker target needs the `docker` Python package.") from exc
    try:
        client = docker.DockerClient(base_url=docker_host) if docker_host \
            else docker.from_env()
        client.ping()
        return client
    except Exception as exc:
        where = docker_host or os.environ.get("DOCKER_HOST") or "the default socket"
        raise BackendUnavailable(
            f"No Docker engine answers at {where}: {exc}. Start one (e.g. Debian's docker.io: "
            "`dockerd --storage-driver=vfs --iptables=false --bridge=none`) and set "
            "DOCKER_HOST, or pass target_options={'docker_host': ...}.") from None


def distribution_closure(names: list[str]) -> dict[str, Any]:
    """The installed distributions `names` need, transitively (markers evaluated here)."""
    import importlib.metadata as metadata

    from packaging.requirements import InvalidRequirement, Requirement
    from packaging.utils import canonicalize_name

    found: dict[str, Any] = {}
    stack = list(names)
    while stack:
        name = canonicalize_name(stack.pop())
        if name in found:
            continue
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            continue
        found[name] = dist
        for text in dist.requires or []:
            try:
                requirement = Requirement(text)
            except InvalidRequirement:
                continue
            if requirement.marker is not None and not requirement.marker.evaluate({"extra": ""}):
                continue
            stack.append(requirement.name)
    return found


#: parts of installed packages a model server never imports (test suites, MLflow's web UI)
PRUNED_PARTS = frozenset({"__pycache__", "tests"})
PRUNED_PREFIXES = ("mlflow/server/js/",)


def vendor_distributions(names: list[str], destination: Path, *, prune: bool = True) -> list[str]:
    """Copy the installed files of `names` and their dependencies into `destination`
    (a site-packages folder); returns `name==version` for each one copied. `prune`
    leaves out test suites and MLflow's web UI (a third of the size of the stack)."""
    destination.mkdir(parents=True, exist_ok=True)
    copied = []
    for name, dist in sorted(distribution_closure(names).items()):
        for file in dist.files or []:
            relative = Path(str(file))
            if relative.is_absolute() or ".." in relative.parts or "__pycache__" in relative.parts:
                continue
            if prune and (PRUNED_PARTS & set(relative.parts[:-1])
                          or relative.as_posix().startswith(PRUNED_PREFIXES)):
                continue
            source = Path(dist.locate_file(file))
            if not source.is_file():
                continue
            target = destination / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
        copied.append(f"{name}=={dist.version}")
    return copied


def _requirement_names(model_dir: Path) -> list[str]:
    names = list(SERVER_REQUIREMENTS)
    requirements = model_dir / "requirements.txt"
    if requirements.is_file():
        from packaging.requirements import InvalidRequirement, Requirement

        for line in requirements.read_text().splitlines():
            line = line.split("#", 1)[0].strip()
            if not line or line.startswith("-"):
                continue
            try:
                name = Requirement(line).name
            except InvalidRequirement:
                continue
            names.append("mlflow-skinny" if name.lower() == "mlflow" else name)
    return names


class DockerTarget(Target):
    name = "docker"
    blocking_launch = True

    def __init__(self, options: dict[str, Any] | None = None) -> None:
        super().__init__(options)
        self.start_timeout = float(self.options.get("start_timeout", 300))
        env = self.options.get("python_env", "pip")
        if env not in PYTHON_ENVS:
            raise InvalidInput(f"python_env must be one of {', '.join(PYTHON_ENVS)}, got {env!r}.")
        self.python_env = env
        self.base_image = (self.options.get("base_image") or os.environ.get(ENV_BASE_IMAGE)
                           or DEFAULT_BASE_IMAGE)
        self.python = self.options.get("python", "python3")
        self.prefix = self.options.get("image_prefix", "jupyter-mlops")
        self._client: Any = None

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = docker_client(self.options.get("docker_host"))
        return self._client

    # -- image -------------------------------------------------------------------------------
    def dockerfile(self, requirements: bool) -> str:
        """As few steps as possible: with the legacy builder on a `vfs` engine (the only
        storage driver that works in some sandboxes) every step copies the whole image.
        Vendored packages (`python_env="copy"`) sit in /opt/mlops/site-packages, which
        the server puts on sys.path itself; the environment is set by `docker run`."""
        lines = [f"FROM {self.base_image}", "COPY . /opt/mlops/"]
        if self.python_env == "pip" and requirements:
            pip_args = " ".join(self.options.get("pip_args") or [])
            lines.append(f"RUN {self.python} -m pip install --no-cache-dir {pip_args} "
                         "-r /opt/mlops/model/requirements.txt "
                         + " ".join(SERVER_REQUIREMENTS[1:]))
        lines.append("CMD " + json.dumps([
            self.python, "/opt/mlops/mlops_model_server.py", "--model", "/opt/mlops/model",
            "--host", "127.0.0.1", "--port", "8080"]))
        return "\n".join(lines) + "\n"

    def _model_files(self, spec: VersionSpec, into: Path) -> None:
        source = spec.source
        if source.startswith("file://"):
            from urllib.parse import urlparse
            from urllib.request import url2pathname

            source = url2pathname(urlparse(source).path)
        if Path(source).is_dir():
            shutil.copytree(source, into)
            return
        import mlflow.artifacts

        tracking = spec.env.get("MLFLOW_TRACKING_URI")
        downloaded = mlflow.artifacts.download_artifacts(artifact_uri=source,
                                                         tracking_uri=tracking)
        shutil.copytree(downloaded, into)

    def build(self, spec: VersionSpec) -> str:
        """Build (or reuse) the image of a version; its tag."""
        server = Path(__file__).resolve().parent.parent / "model_server.py"
        with tempfile.TemporaryDirectory(prefix="mlops-build-") as folder:
            context = Path(folder)
            self._model_files(spec, context / "model")
            shutil.copy2(server, context / "mlops_model_server.py")
            has_requirements = (context / "model" / "requirements.txt").is_file()
            if self.python_env == "copy":
                vendor_distributions(_requirement_names(context / "model"),
                                     context / "site-packages")
            dockerfile = self.dockerfile(has_requirements)
            (context / "Dockerfile").write_text(dockerfile)
            (context / ".dockerignore").write_text("Dockerfile\n.dockerignore\n")
            digest = _digest(context)
            version = slugify(spec.model_version)
            tag = f"{self.prefix}/{slugify(spec.model_name)}:v{version}-{digest}"
            if not self.options.get("rebuild"):
                try:
                    self.client.images.get(tag)
                    return tag
                except Exception:
                    pass
            import docker.errors

            try:
                self.client.images.build(
                    path=str(context), tag=tag, rm=True, forcerm=True, pull=False,
                    network_mode=self.options.get("network", "host"))
            except docker.errors.BuildError as exc:
                tail = [str(line.get("stream") or line.get("error") or "").strip()
                        for line in exc.build_log][-8:]
                raise VersionStartError(
                    f"Building the image of {spec.key} from {self.base_image} failed: "
                    f"{exc.msg}. Last build lines: {' | '.join(t for t in tail if t)}",
                    details={"version": spec.key, "base_image": self.base_image}) from None
            except docker.errors.APIError as exc:
                raise VersionStartError(f"The engine refused to build {spec.key}: "
                                        f"{exc.explanation or exc}") from None
            return tag

    # -- containers --------------------------------------------------------------------------
    def launch(self, spec: VersionSpec) -> VersionHandle:
        tag = self.build(spec)
        port = spec.port or _free_port()
        name = f"mlops-{slugify(spec.deployment)}-{spec.slug}-{os.urandom(3).hex()}"
        command = [self.python, "/opt/mlops/mlops_model_server.py", "--model",
                   "/opt/mlops/model", "--host", "127.0.0.1", "--port", str(port),
                   "--name", spec.key]
        import docker.errors

        try:
            container = self.client.containers.run(
                tag, command=command, name=name, detach=True, network_mode="host",
                labels={LABEL_DEPLOYMENT: spec.deployment, LABEL_VERSION: spec.key},
                environment={"PYTHONUNBUFFERED": "1", "PYTHONDONTWRITEBYTECODE": "1"})
        except docker.errors.APIError as exc:
            raise VersionStartError(f"The engine refused to run {spec.key} ({tag}): "
                                    f"{exc.explanation or exc}") from None
        return VersionHandle(target=self.name, key=spec.key, host="127.0.0.1", port=port,
                             container_id=container.id, image=tag,
                             extra={"container_name": name})

    def _container(self, handle: VersionHandle) -> Any:
        import docker.errors

        if not handle.container_id:
            return None
        try:
            return self.client.containers.get(handle.container_id)
        except docker.errors.NotFound:
            return None

    def alive(self, handle: VersionHandle) -> bool:
        container = self._container(handle)
        return container is not None and container.status in ("running", "created")

    def failure(self, handle: VersionHandle) -> str:
        container = self._container(handle)
        if container is None:
            return "the container is gone"
        text = self.logs(handle, 40)
        state = container.attrs.get("State", {})
        return f"{explain_log(text)} (container exit code {state.get('ExitCode')})"

    def stop(self, handle: VersionHandle, timeout: float = 10.0) -> None:
        container = self._container(handle)
        if container is None:
            return
        import docker.errors

        try:
            container.stop(timeout=max(1, int(timeout)))
        except docker.errors.APIError:
            pass
        try:
            container.remove(force=True)
        except docker.errors.NotFound:
            pass
        except docker.errors.APIError:
            time.sleep(0.5)
            try:
                container.remove(force=True)
            except docker.errors.APIError:
                pass

    def logs(self, handle: VersionHandle, tail: int = 200) -> str:
        container = self._container(handle)
        if container is None:
            return ""
        return container.logs(tail=tail).decode("utf-8", errors="replace")

    def adopt(self, record: dict[str, Any]) -> VersionHandle | None:
        if not record.get("container_id") or not record.get("port"):
            return None
        handle = VersionHandle(target=self.name, key=record["key"], host="127.0.0.1",
                               port=record["port"], container_id=record["container_id"],
                               image=record.get("image"))
        return handle if self.alive(handle) else None

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "base_image": self.base_image,
                "python_env": self.python_env}


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _digest(context: Path) -> str:
    """A short hash of every file of the build context (names and bytes)."""
    digest = hashlib.sha256()
    for path in sorted(p for p in context.rglob("*") if p.is_file()):
        digest.update(path.relative_to(context).as_posix().encode())
        with open(path, "rb") as handle:
            for chunk in iter(lambda: handle.read(1 << 20), b""):
                digest.update(chunk)
    return digest.hexdigest()[:12]

