#!/usr/bin/env bash
# The demo benchmark's bookkeeping on a tiny setting: each run and seed gives its line and its
# refined line (PAR + CRF, threshold chosen on train_sweep), the table shows both, and a rerun
# redoes nothing.
set -euo pipefail
build=${1:?build folder}
work=${2:?work folder}
here=$(cd "$(dirname "$0")" && pwd)
rm -rf "$work"; mkdir -p "$work"
export WSSS_THREADS=2 WSSS_BENCH_DIR="$work/bench" WSSS_BENCH_RESULTS="$work/results.jsonl" WSSS_BENCH_WEIGHTS=none \
       WSSS_BENCH_ITERS=2 WSSS_BENCH_TRAIN=24 WSSS_BENCH_VAL=6 WSSS_BENCH_SWEEP=6 WSSS_BENCH_SEEDS=0 \
       WSSS_BENCH_RUNS="cam_gap supervised"
bash "$here/../bench/demo_benchmark.sh" "$build" > "$work/first.txt" 2>&1 || { cat "$work/first.txt"; exit 1; }
python3 - "$work/results.jsonl" <<'PY'
import json, sys
rows = [json.loads(line) for line in open(sys.argv[1])]
kinds = sorted((r["run"], r.get("kind") or "run") for r in rows)
assert kinds == [("cam_gap", "refined"), ("cam_gap", "run"), ("supervised", "refined"), ("supervised", "run")], kinds
cam = next(r for r in rows if r["run"] == "cam_gap" and r.get("kind") == "refined")
assert cam["threshold_chosen_on"] == "train_sweep" and 0 < cam["threshold"] <= 1, cam
assert cam["refinement"] == {"par_iterations": 10, "crf": True, "crf_preset": "psa"}, cam["refinement"]
sup = next(r for r in rows if r["run"] == "supervised" and r.get("kind") == "refined")
assert sup["threshold"] is None and 0 <= sup["val_miou"] <= 1, sup
PY
grep -q '^# refined masks: PAR' "$work/first.txt"
grep -q '^| cam_gap | 0 | ' "$work/first.txt"
grep -q '^aim, refined: best weak cam_gap' "$work/first.txt"
# A rerun finds every run and refinement done: nothing is trained, inferred or recorded again.
lines=$(wc -l < "$work/results.jsonl")
bash "$here/../bench/demo_benchmark.sh" "$build" > "$work/second.txt" 2>&1 || { cat "$work/second.txt"; exit 1; }
test "$(wc -l < "$work/results.jsonl")" -eq "$lines"
if grep -q 'refined masks (PAR + CRF)$\|^train \|^infer ' "$work/second.txt"; then cat "$work/second.txt"; exit 1; fi
test "$(grep -c 'done earlier with these settings (skipped)' "$work/second.txt")" -eq 2
