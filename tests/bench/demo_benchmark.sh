#!/usr/bin/env bash
# The demo benchmark of the README: the demo dataset (2000 train / 500 val at 128 px), `cam`,
# `afa`, `acr` and `supervised` trained with the same backbone (vit_demo_patch8, the bundled
# weights or WSSS_BENCH_WEIGHTS) and the same budget on the CPU; val mIoU of each method's masks
# (at its best background threshold where it has one) and wall time. Results go to
# $WORK/results.jsonl and a table on stdout.
set -euo pipefail
build=${1:-build}
work=${WSSS_BENCH_DIR:-.bench/demo}
iters=${WSSS_BENCH_ITERS:-400}
batch=${WSSS_BENCH_BATCH:-16}
size=${WSSS_BENCH_SIZE:-64} # the scale vit_demo_patch8 was pretrained at
weights=${WSSS_BENCH_WEIGHTS:-} # another pretrained backbone file than the bundled one
wsss="$build/bin/wsss"
mkdir -p "$work"
[[ -f "$work/data/labelmap.txt" ]] || "$wsss" demo-data --out "$work/data" --train 2000 --val 500 --size 128 --seed 0
[[ -n "${WSSS_BENCH_RUNS:-}" ]] || : > "$work/results.jsonl"
# Each run: a name, the method, and its extra flags (the cam baseline with GMP, AFA's Table 1
# baseline, and with GAP, Zhou et al.'s CAM and the method's default). WSSS_BENCH_RUNS picks some by name.
runs=("cam|cam|--set pooling=gmp" "cam_gap|cam|--set pooling=gap" "afa|afa|" "acr|acr|" "supervised|supervised|")
if [[ -n "${WSSS_BENCH_RUNS:-}" ]]; then
  picked=()
  for run in "${runs[@]}"; do [[ " $WSSS_BENCH_RUNS " == *" ${run%%|*} "* ]] && picked+=("$run"); done
  runs=("${picked[@]}")
fi
for run in "${runs[@]}"; do
  IFS='|' read -r name method extra <<< "$run"
  start=$(date +%s)
  # shellcheck disable=SC2086
  "$wsss" train --method "$method" --data "$work/data" --out "$work/run_$name" --iters "$iters" --batch "$batch" \
          --size "$size" --seed 0 ${weights:+--weights "$weights"} $extra
  trained=$(date +%s)
  "$wsss" infer --checkpoint "$work/run_$name/checkpoint.wsss" --data "$work/data" --split val \
          --out "$work/pred_$name" --save-maps
  "$wsss" eval --pred "$work/pred_$name" --data "$work/data" --split val --json --sweep > "$work/eval_$name.json"
  /usr/bin/python3 - "$work/eval_$name.json" "$name" $((trained - start)) "$iters" "$batch" >> "$work/results.jsonl" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
print(json.dumps({"method": sys.argv[2], "train_seconds": int(sys.argv[3]), "iters": int(sys.argv[4]),
                  "batch": int(sys.argv[5]), "miou_default_rule": r["miou"],
                  "best_bg_threshold": r.get("best_bg_threshold"), "miou_best_threshold": r.get("best_miou"),
                  "fpr": r["fpr"], "fnr": r["fnr"]}))
PY
done
/usr/bin/python3 - "$work/results.jsonl" <<'PY'
import json, sys
rows = {}
for l in open(sys.argv[1]):  # the latest result of each run
    r = json.loads(l)
    rows[r["method"]] = r
rows = list(rows.values())
upper = next(r for r in rows if r["method"] == "supervised")["miou_default_rule"]
print("| method | val mIoU | rule | ratio to supervised | train time |")
print("|---|---|---|---|---|")
for r in rows:
    # Methods that predict background themselves are scored by their argmax.
    if r["method"] == "supervised" or r["miou_best_threshold"] is None:
        miou, rule = r["miou_default_rule"], "argmax"
    else:
        miou, rule = r["miou_best_threshold"], "bg threshold %.2f (best)" % r["best_bg_threshold"]
    print("| %s | %.1f | %s | %.2f | %d s (%d iters × %d) |" % (r["method"], 100 * miou, rule, miou / upper,
          r["train_seconds"], r["iters"], r["batch"]))
PY
