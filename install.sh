#!/usr/bin/env bash
# Sets up .venv with a CPU build of PyTorch and a2i (with its C++ extension) on a fresh machine.
# Needs only Python 3.11, pip and gcc. Safe to run again: it only installs what is missing.
set -euo pipefail
cd "$(dirname "$0")"
PY=${PYTHON:-python3}
VENV=${A2I_VENV:-.venv}
[ -x "$VENV/bin/python" ] || "$PY" -m venv "$VENV"
PIP="$VENV/bin/python -m pip"
$PIP install -q --upgrade pip 2>&1 | grep -v "is ignored" || true
# torch first and pinned: an unpinned torch would pull a multi-GB CUDA build.
$VENV/bin/python -c "import torch" 2>/dev/null || $PIP install -q torch==2.13.0 2>&1 | grep -v "is ignored" || true
$PIP install -q setuptools wheel ninja 2>&1 | grep -v "is ignored" || true
# --no-build-isolation: the extension in csrc/ compiles against the torch installed above.
$PIP install -q --no-build-isolation -e ".[test,ray,media]" 2>&1 | grep -vE "is ignored|^\s*$|!!|\*\*\*|wheel_obj|setuptools|SetuptoolsDeprecationWarning|Please|See https|License|By 2026|project.license" || true
$VENV/bin/python -c "import torch, a2i_cli; print('a2i installed, torch', torch.__version__)"
