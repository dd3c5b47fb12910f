#!/usr/bin/env bash
# The README's two commands, and the steps they share.
#
#   ./run.sh demo [DIR] [-- jupyter lab args]   install, create the demo workspace, open JupyterLab on it
#   ./run.sh test [pytest args]                 install what the tests need, run every suite
#   ./run.sh install                            (development) editable install with test tools
#
# Everything the project needs is installed from here: Debian packages
# (chromium for the browser tests, node if missing), Python packages into
# .venv (override with MLOPS_VENV), npm packages into node_modules.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$ROOT"
VENV="${MLOPS_VENV:-$ROOT/.venv}"
export PATH="$VENV/bin:$PATH"
export PIP_DISABLE_PIP_VERSION_CHECK=1
SECONDS=0

step() { printf '\n==> [%4ss] %s\n' "$SECONDS" "$*"; }

# pip on some machines prints one harmless warning per missing find-links folder
quiet() { "$@" 2>&1 | { grep -v "is ignored: it is neither a file nor a directory" || true; }; }

# run a chatty command with its output in .logs/NAME.log, shown only when it fails
logged() {
  local name="$1"; shift
  mkdir -p "$ROOT/.logs"
  if ! "$@" >"$ROOT/.logs/$name.log" 2>&1; then
    tail -40 "$ROOT/.logs/$name.log" >&2
    echo "error: '$*' failed; full log in .logs/$name.log" >&2
    return 1
  fi
}

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"
  elif command -v sudo >/dev/null 2>&1; then sudo "$@"
  else echo "error: root is needed to run: $*" >&2; return 1
  fi
}

apt_install() {
  local missing=() pkg
  for pkg in "$@"; do dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  step "Installing Debian packages: ${missing[*]}"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
}

ensure_tools() {
  command -v python3 >/dev/null 2>&1 || apt_install python3 python3-venv
  command -v node >/dev/null 2>&1 || apt_install nodejs npm
}

ensure_venv() {
  if [ ! -x "$VENV/bin/python" ]; then
    step "Creating the virtualenv $VENV"
    python3 -m venv "$VENV"
  fi
  step "Installing the build tools (JupyterLab, hatch)"
  quiet pip install -q --upgrade pip
  quiet pip install -q "jupyterlab>=4.4,<5" "hatchling>=1.5" "hatch-nodejs-version>=0.3.2" \
    "hatch-jupyter-builder>=0.5" editables
}

build_frontend() {  # $1: build script (build or build:prod)
  step "Building the JupyterLab extension (jlpm $1)"
  logged jlpm-install jlpm install
  logged jlpm-build jlpm "$1"
}

# pip copies shared data through a development symlink into the source tree: drop it first
unlink_dev_extension() {
  local lab_ext="$VENV/share/jupyter/labextensions/jupyter-mlops"
  if [ -L "$lab_ext" ]; then rm "$lab_ext"; fi
  rm -f jupyter_mlops/labextension/install.json
}

install_dev() {
  ensure_tools
  ensure_venv
  build_frontend build
  unlink_dev_extension
  step "Installing jupyter_mlops (editable) with its test tools"
  quiet pip install -q --no-build-isolation -e ".[test]"
  logged labextension-develop jupyter labextension develop --overwrite .
}

install_user() {
  ensure_tools
  ensure_venv
  build_frontend build:prod
  unlink_dev_extension
  step "Installing jupyter_mlops (pip install .)"
  quiet pip install -q --no-build-isolation .
}

check_enabled() {
  local server lab
  server="$(jupyter server extension list 2>&1 | sed 's/\x1b\[[0-9;]*m//g')"
  lab="$(jupyter labextension list 2>&1 | sed 's/\x1b\[[0-9;]*m//g')"
  grep -Eq "jupyter_mlops [0-9.]+ OK" <<<"$server" \
    || { echo "$server" >&2; echo "error: the server extension is not enabled" >&2; return 1; }
  grep -Eq "jupyter-mlops v[0-9.]+ enabled +OK" <<<"$lab" \
    || { echo "$lab" >&2; echo "error: the labextension is not enabled" >&2; return 1; }
  echo "jupyter_mlops server extension and jupyter-mlops labextension: enabled, OK"
}

cmd_demo() {
  local dir="mlops-demo"
  if [ $# -gt 0 ] && [ "$1" != "--" ]; then dir="$1"; shift; fi
  install_user
  check_enabled
  step "Creating the demo workspace in $dir and starting JupyterLab"
  exec jupyter mlops demo "$dir" "$@"
}

cmd_test() {
  install_dev
  check_enabled
  # chromium for the browser tests; docker.io and debootstrap for the docker deploy target,
  # whose tests start the engine and build their own base image; postgresql for the team
  # set-up's test (a private cluster as the shared state DB)
  apt_install chromium docker.io debootstrap postgresql
  step "Installing the browser test tools (ui-tests)"
  (cd ui-tests && logged npm-ci npm ci --no-audit --no-fund)

  rm -rf test-results ui-tests/test-results
  mkdir -p test-results
  local failed=0
  step "Python tests (pytest)"
  python -m pytest -p no:cacheprovider --junitxml=test-results/pytest.xml "$@" || failed=1
  step "Frontend unit tests (jest)"
  jlpm test || failed=1
  step "Browser tests (Galata in $(/usr/bin/chromium --version 2>/dev/null || echo chromium))"
  (cd ui-tests && npx playwright test) || failed=1
  step "Summary (all suites took ${SECONDS}s with the installs)"
  python scripts/test_summary.py test-results/pytest.xml test-results/jest-junit.xml \
    ui-tests/test-results/junit.xml || failed=1
  return $failed
}

case "${1:-}" in
  demo) shift; cmd_demo "$@" ;;
  test) shift; cmd_test "$@" ;;
  install) shift; install_dev; check_enabled ;;
  *) sed -n '2,12p' "$0"; exit 2 ;;
esac
