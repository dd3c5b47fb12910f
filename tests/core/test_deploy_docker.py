"""The docker target on a real engine: an image built per model version through the Docker
SDK, run as a container with host networking, served through the router, removed on stop.

No registry is reachable on these machines, so the test builds its own base image: a
minimal Debian (debootstrap, with Debian's python3) plus the serving stack copied from this
environment (`vendor_distributions`), imported with `docker import`. The engine is Debian's
`docker.io` (vfs storage, no bridge) started here when none answers; its data root and the
base image's tarball are cached under /tmp between runs (keyed by a hash of the vendored
distributions), so only the first run pays for debootstrap (~1-2 min).

Skipped, with the reason, only where no engine can start (no `dockerd`, not root, or the
engine does not come up) or debootstrap cannot fetch Debian's packages.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tarfile
import time
from collections.abc import Iterator
from pathlib import Path

import docker.errors  # noqa: F401 - docker.errors.* below
import pytest

from jupyter_mlops.core.deploy import deploy
from jupyter_mlops.core.deploy.demo_models import register_churn_model
from jupyter_mlops.core.deploy.loadgen import post
from jupyter_mlops.core.deploy.targets.docker import distribution_closure, vendor_distributions
from jupyter_mlops.core.workspace import Workspace
from jupyter_mlops.examples import churn

pytestmark = pytest.mark.slow

ENGINE_DIR = Path(os.environ.get("JUPYTER_MLOPS_TEST_DOCKERD_DIR",
                                "/tmp/jupyter-mlops-dockerd"))
CACHE_DIR = Path(os.environ.get("JUPYTER_MLOPS_TEST_DOCKER_CACHE",
                                "/tmp/jupyter-mlops-docker-cache"))
SUITE = "bookworm"
MIRROR = os.environ.get("JUPYTER_MLOPS_TEST_DEBIAN_MIRROR", "http://deb.debian.org/debian")
SERVING_STACK = ["mlflow-skinny", "scikit-learn", "pandas", "numpy", "scipy", "cloudpickle",
                 "uvicorn", "skops"]


def _answers(host: str) -> bool:
    try:
        import docker

        docker.DockerClient(base_url=host, timeout=5).ping()
        return True
    except Exception:
        return False


@pytest.fixture(scope="module")
def engine() -> Iterator[str]:
    """A Docker engine's URL: DOCKER_HOST or the default socket if one answers, else
    Debian's dockerd started here (and stopped at the end; its data root stays)."""
    for candidate in (os.environ.get("DOCKER_HOST"), "unix:///var/run/docker.sock",
                      f"unix://{ENGINE_DIR}/docker.sock"):
        if candidate and _answers(candidate):
            yield candidate
            return
    dockerd = shutil.which("dockerd")
    if dockerd is None:
        pytest.skip("no Docker engine answers and `dockerd` is not installed "
                    "(apt-get install -y docker.io)")
    if os.geteuid() != 0:
        pytest.skip("no Docker engine answers and starting dockerd needs root")
    ENGINE_DIR.mkdir(parents=True, exist_ok=True)
    host = f"unix://{ENGINE_DIR}/docker.sock"
    log = open(ENGINE_DIR / "dockerd.log", "ab")
    process = subprocess.Popen(
        [dockerd, "--storage-driver=vfs", "--iptables=false", "--bridge=none",
         "--ip-masq=false", "-H", host, "--data-root", str(ENGINE_DIR / "data"),
         "--exec-root", str(ENGINE_DIR / "exec"), "--pidfile", str(ENGINE_DIR / "dockerd.pid")],
        stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + 30
    while not _answers(host):
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            tail = (ENGINE_DIR / "dockerd.log").read_text(errors="replace")[-600:]
            pytest.skip(f"dockerd did not come up: {tail}")
        time.sleep(0.2)
    try:
        yield host
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
        subprocess.run(["umount", str(ENGINE_DIR / "exec" / "netns" / "default")],
                       capture_output=True)
        log.close()


def _stack_key() -> str:
    versions = sorted(f"{name}=={dist.version}"
                      for name, dist in distribution_closure(SERVING_STACK).items())
    text = json.dumps([SUITE, sys.version_info[:2], versions, "pruned"])
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def _build_rootfs_tar(tar_path: Path) -> None:
    debootstrap = shutil.which("debootstrap")
    if debootstrap is None:
        pytest.skip("building the test base image needs debootstrap (apt-get install -y "
                    "debootstrap)")
    work = Path(tempfile_dir()) / f"rootfs-{os.getpid()}"
    shutil.rmtree(work, ignore_errors=True)
    result = subprocess.run([debootstrap, "--variant=minbase", "--include=python3", SUITE,
                             str(work), MIRROR], capture_output=True, text=True, timeout=900)
    if result.returncode != 0:
        shutil.rmtree(work, ignore_errors=True)
        pytest.skip(f"debootstrap could not build a Debian root from {MIRROR}: "
                    f"{(result.stderr or result.stdout)[-400:]}")
    for junk in ("var/cache/apt/archives", "var/lib/apt/lists", "usr/share/doc",
                 "usr/share/man", "usr/share/locale"):
        shutil.rmtree(work / junk, ignore_errors=True)
    python = sorted((work / "usr/lib").glob("python3.*"))[0].name
    assert python == f"python{sys.version_info[0]}.{sys.version_info[1]}", (
        f"the image's {python} cannot load this environment's compiled packages")
    vendor_distributions(SERVING_STACK, work / "usr/local/lib" / python / "dist-packages")
    tmp = tar_path.with_suffix(".tmp")
    with tarfile.open(tmp, "w") as tar:
        tar.add(work, arcname=".")
    os.replace(tmp, tar_path)
    shutil.rmtree(work, ignore_errors=True)


def tempfile_dir() -> str:
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    return str(CACHE_DIR)


@pytest.fixture(scope="module")
def base_image(engine: str) -> str:
    import docker

    client = docker.DockerClient(base_url=engine, timeout=600)
    tag = f"jupyter-mlops-test/serving-base:{_stack_key()}"
    try:
        client.images.get(tag)
        return tag
    except docker.errors.ImageNotFound:
        pass
    tar_path = CACHE_DIR / f"serving-base-{_stack_key()}.tar"
    for stale in CACHE_DIR.glob("serving-base-*.tar"):  # a changed stack: drop the old one
        if stale != tar_path:
            stale.unlink(missing_ok=True)
    for image in client.images.list(name=tag.partition(":")[0]):
        client.images.remove(image.id, force=True)
    if not tar_path.exists():
        CACHE_DIR.mkdir(parents=True, exist_ok=True)
        _build_rootfs_tar(tar_path)
    repository, _, version = tag.partition(":")
    client.api.import_image_from_file(str(tar_path), repository=repository, tag=version)
    client.images.get(tag)
    return tag


@pytest.fixture(scope="module")
def model(module_ws: Workspace) -> str:
    return "churn/" + register_churn_model(module_ws, alias="champion")


@pytest.mark.timeout(1500)
def test_docker_target_builds_serves_and_removes_a_model_version(engine, base_image, model,
                                                                 module_ws):
    import docker

    options = {"base_image": base_image, "python_env": "base", "docker_host": engine}
    dep = deploy("churn@champion", name="churn-docker", target="docker",
                 target_options=options, workspace=module_ws, timeout=900)
    client = docker.DockerClient(base_url=engine)
    try:
        version = dep.versions[0]
        assert version.key == model and version.container_id and version.image
        assert version.image.startswith("jupyter-mlops/churn:v1-")
        container = client.containers.get(version.container_id)
        assert container.status == "running"
        assert container.attrs["HostConfig"]["NetworkMode"] == "host"
        assert container.labels["org.jupyter-mlops.deployment"] == "churn-docker"

        frame = churn.feature_matrix(churn.generate(5, seed=11))
        result = dep.predict(frame)
        assert len(result) == 5 and result.attrs["version"] == model
        status, headers, body = post(dep.url, b'{"dataframe_split": {"columns": ["a"], '
                                              b'"data": [[1]]}}')
        assert status == 400 and headers["x-mlops-version"] == model
        assert "MLOPS_MODEL_SERVER_READY" in dep.logs(version=model)
        assert dep.health()[model]["healthy"]
    finally:
        dep.stop()
    with pytest.raises(docker.errors.NotFound):
        client.containers.get(version.container_id)
    assert client.images.get(version.image)  # kept: the next deploy of this version reuses it
    # this run's model is unique to its throw-away workspace: free the engine's disk (vfs)
    client.images.remove(version.image, force=True)
    client.images.prune(filters={"dangling": True})
