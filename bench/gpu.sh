#!/usr/bin/env bash
# GPU checks of the optimize stage, for a machine with CUDA: the GPU pytest (RUN_GPU=1) and the
# GPU benchmark, results under $OUT (default out/gpu). Run from the repository root:
#   OUT=/tmp/gpu bench/gpu.sh
# Without the repo's .venv (a bare GPU machine), it uses python3 and installs wheels carried in
# .whl/ (jsonschema, referencing, rpds-py, resvg-py, …) into /tmp/site.
set -uo pipefail
out="${OUT:-out/gpu}"
mkdir -p "$out"
py="${CHAT2SVG_PYTHON:-}"
if [ -z "$py" ]; then
  if [ -x .venv/bin/python ]; then py="$PWD/.venv/bin/python"; else py="$(command -v python3)"; fi
fi
if [ ! -x .venv/bin/python ] && compgen -G ".whl/*.whl" >/dev/null; then
  "$py" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl
  export PYTHONPATH="/tmp/site${PYTHONPATH:+:$PYTHONPATH}"
fi
export PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv > "$out/nvidia-smi.csv" 2>&1 || true
(cd stage-images && RUN_GPU=1 timeout 300 "$py" -m pytest -q -p no:cacheprovider -m gpu 2>&1) | tee "$out/pytest-gpu.txt"
rc=${PIPESTATUS[0]}
timeout 600 "$py" bench/optimize_bench.py --device cuda --repeat 20 --out "$out/optimize-cuda.json" 2>&1 \
  | tee "$out/optimize-cuda.md"
exit "$rc"
