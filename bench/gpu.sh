#!/usr/bin/env bash
# GPU checks of the optimize stage, for a machine with CUDA: the GPU pytest (RUN_GPU=1) and the
# GPU benchmark. Results go under $OUT (default out/gpu). Run from the repository root:
#   OUT=/tmp/gpu bench/gpu.sh
set -uo pipefail
out="${OUT:-out/gpu}"
mkdir -p "$out"
py="${CHAT2SVG_PYTHON:-.venv/bin/python}"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv > "$out/nvidia-smi.csv" 2>&1 || true
(cd stage-images && RUN_GPU=1 timeout 600 "../$py" -m pytest -q -m gpu -p no:cacheprovider 2>&1) | tee "$out/pytest-gpu.txt"
rc=${PIPESTATUS[0]}
timeout 900 "$py" bench/optimize_bench.py --device cuda --repeat 20 --out "$out/optimize-cuda.json" 2>&1 | tee "$out/optimize-cuda.md"
exit "$rc"
