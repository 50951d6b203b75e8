#!/usr/bin/env bash
# Runs the PyTorch reference benchmark, installing torch into bench/.venv on
# first use (a CPU run; the wheel from PyPI is large, a few GB with its
# CUDA runtime libraries). Arguments go to pytorch_reference.py.
set -euo pipefail
cd "$(dirname "$0")"
if [ ! -x .venv/bin/python ] || ! .venv/bin/python -c 'import torch' 2>/dev/null; then
  python3 -m venv .venv
  .venv/bin/pip install -q torch==2.15.0 numpy
fi
exec .venv/bin/python pytorch_reference.py "$@"
