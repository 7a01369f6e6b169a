#!/usr/bin/env bash
# Sets up .venv with a CPU build of PyTorch and a2i (with its C++ extension) on a fresh machine.
# Needs only Python 3.11, pip and gcc. Safe to run again: it only installs what is missing.
set -euo pipefail
cd "$(dirname "$0")"
PY=${PYTHON:-python3}
VENV=${A2I_VENV:-.venv}
LOG=$(mktemp)
trap 'rm -f "$LOG"' EXIT

pip_install() {  # quiet on success, the whole pip log and a non-zero exit on failure
  if ! "$VENV/bin/python" -m pip install "$@" >"$LOG" 2>&1; then
    cat "$LOG" >&2
    echo "install.sh: 'pip install $*' failed (log above)" >&2
    exit 1
  fi
}

[ -x "$VENV/bin/python" ] || "$PY" -m venv "$VENV"
VENV=$(cd "$VENV" && pwd)  # absolute, for the check below that runs outside the source tree
pip_install --upgrade pip
# torch first and pinned: an unpinned torch would pull a multi-GB CUDA build.
# TORCH_INDEX_URL (e.g. https://download.pytorch.org/whl/cpu) picks where that wheel comes from
# on machines whose pip does not already serve the CPU build.
"$VENV/bin/python" -c "import torch" 2>/dev/null || pip_install torch==2.13.0 ${TORCH_INDEX_URL:+--index-url "$TORCH_INDEX_URL"}
pip_install setuptools wheel ninja
# --no-build-isolation: the extension in csrc/ compiles against the torch installed above.
pip_install --no-build-isolation -e ".[test,ray,media,tensorboard,fast,onnx]"
(cd / && "$VENV/bin/python" -c "import torch, a2i_cli, a2i_cli.inference.ops as o; print('a2i installed, torch', torch.__version__, '| C++ ops:', o.ops_status())")
