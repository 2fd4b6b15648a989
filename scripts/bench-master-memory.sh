#!/usr/bin/env bash
# The master's peak memory (max RSS, from /usr/bin/time) with the data on the master (central mode)
# and with the data at the workers (--data-at-workers), on the same LIBSVM file split into M parts.
# Usage: scripts/bench-master-memory.sh FILE M [EPOCHS] [LAMBDA1] [LAMBDA2]
# Training is cut short by --max-epochs (the memory of interest is the data's, not convergence's) and
# the central master gets --fstar so that it does not run the reference solver (that would add the
# solver's memory to the run's).
set -euo pipefail
file=$1
M=$2
epochs=${3:-3}
l1=${4:-1e-4}
l2=${5:-1e-3}
here=$(cd "$(dirname "$0")/.." && pwd)
soda=(node "$here/packages/cli/bin/soda.js")
work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

"${soda[@]}" data split "$file" --parts "$M" --out-dir "$work/parts" > /dev/null 2>&1

# run_master LABEL MASTER-ARGS... : starts the master under /usr/bin/time, M workers, waits, prints
run_master() {
  local label=$1 port=$((7400 + RANDOM % 500))
  shift
  local worker_args=("$@")
  /usr/bin/time -f '%M' -o "$work/$label.rss" "${soda[@]}" master --workers "$M" --port "$port" \
    --host 127.0.0.1 --lambda1 "$l1" --lambda2 "$l2" --tol 0 --max-epochs "$epochs" \
    --checkpoint-every 0 --out "$work/out-$label" "${MASTER_ARGS[@]}" > "$work/$label.log" &
  local master=$!
  sleep 1
  pids=()
  for ((i = 0; i < M; i++)); do
    "${soda[@]}" worker --master "ws://127.0.0.1:$port" --give-up 600 "${worker_args[@]}" > /dev/null 2>&1 &
    pids+=($!)
  done
  wait "$master"
  for p in "${pids[@]}"; do wait "$p" || true; done
  pids=()
  local rss
  rss=$(cat "$work/$label.rss")
  echo "$label: master max RSS $((rss / 1024)) MiB ($(grep -c '"msg":"progress"' "$work/$label.log") progress lines, $(grep -o '"reason":"[^"]*"' "$work/$label.log" | tail -1))"
}

MASTER_ARGS=(--data "$file" --fstar 1e-9)
run_master central
MASTER_ARGS=(--data-at-workers --manifest "$work/parts/manifest.json")
run_master at-workers --data "$work/parts/part-{shard}.svm"
