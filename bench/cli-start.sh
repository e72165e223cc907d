#!/usr/bin/env bash
# Start-up benchmark (issue 10), on the embedded default:
#   hit:  a cache hit through `chat2svg generate`, in-process (a new process each time, as a user runs it);
#   miss: a cache miss through a running `chat2svg serve` whose workers are warm, sent with
#         `chat2svg generate --server`, each with a prompt not seen before.
# Every figure is wall time of the whole command, from the shell. Results: docs/benchmarks.md.
# Usage: bench/cli-start.sh [runs=5]   (KEEP=1 keeps the outputs and reports)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
runs="${1:-5}"
cli="$root/bin/chat2svg"
work="$(mktemp -d)"
serve_pid=""
cleanup() {
  if [ -n "$serve_pid" ]; then kill -INT "$serve_pid" 2>/dev/null && wait "$serve_pid" 2>/dev/null || true; fi
  if [ -n "${KEEP:-}" ]; then echo "kept: $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT

# Prints "min median max" (seconds) of the numbers on stdin.
stats() { sort -n | awk '{ v[NR] = $1 } END { printf "min %.2f s, median %.2f s, max %.2f s (n=%d)\n", v[1], v[int((NR + 1) / 2)], v[NR], NR }'; }
# Runs a command, discarding its output; prints its wall seconds.
wall() {
  local start end
  start=$(date +%s.%N)
  "$@" >/dev/null 2>"$work/last.err" || { cat "$work/last.err" >&2; return 1; }
  end=$(date +%s.%N)
  echo "$end - $start" | bc
}

echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg); $(nproc) cores"

export CHAT2SVG_HOME="$work/home"
echo "filling the cache (one miss; builds the CLI bundle if it is stale)"
wall "$cli" generate "a red fox" --out "$work/out/fox.svg" >/dev/null
echo -n "hit, in-process:   "
for _ in $(seq "$runs"); do
  wall "$cli" generate "a red fox" --out "$work/out/fox.svg"
  grep -q '"cache": "hit"' "$work/out/fox.report.json"
done | stats

export CHAT2SVG_HOME="$work/serve-home"
"$cli" serve --port 0 >"$work/serve.out" 2>"$work/serve.err" &
serve_pid=$!
# serve prints its URL once its workers are warm.
for _ in $(seq 600); do
  [ -s "$work/serve.out" ] && break
  kill -0 "$serve_pid" 2>/dev/null || { cat "$work/serve.err" >&2; exit 1; }
  sleep 0.1
done
url="$(head -n 1 "$work/serve.out")"
prompts=("a green frog on a lily pad" "a yellow kite in the sky" "a cup of coffee on a table"
  "a snowman with a scarf" "a sailboat on the sea" "a red bicycle" "a house with a tree"
  "a blue bird on a branch" "a slice of watermelon" "a lighthouse by the sea")
echo -n "miss, via serve:   "
for i in $(seq 0 $((runs - 1))); do
  prompt="${prompts[$((i % ${#prompts[@]}))]} (run $i)"
  wall "$cli" generate --server "$url" "$prompt" --out "$work/out/miss-$i.svg"
  grep -q '"cache": "miss"' "$work/out/miss-$i.report.json"
done | stats
echo "optimize in those misses (ms, from the run reports): $(
  cat "$work"/out/miss-*.report.json | grep -A3 '"name": "optimize"' | grep -o '"durationMs": [0-9.]*' | cut -d' ' -f2 | tr '\n' ' '
)"
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
