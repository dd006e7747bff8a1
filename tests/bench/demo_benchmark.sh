#!/usr/bin/env bash
# The demo benchmark of the README: the demo dataset (2000 train / 500 val at 128 px), the runs
# cam_gap, cam_gmp, afa, acr, supervised, vitpcm, vitpcm_scale1, usage, usage_final_norm, eca and
# eca_centred
# trained with the same backbone (vit_demo_patch8, the bundled weights or WSSS_BENCH_WEIGHTS) and
# the same budget (iters × batch) on the CPU, each with seeds 0 1 2.
#
# Protocol (the default): train and infer at 128 px. A method whose masks do not depend on the
# background threshold (it scores background itself: supervised, AFA's official aff rule) is
# scored by its own rule. For the others the threshold is chosen on train_sweep, a fixed subset
# of train (300 images), never on val; val is scored at that threshold, with the val-best
# threshold's figure beside it. WSSS_BENCH_PROTOCOL=old: the earlier protocol (train at 64 px,
# infer at the checkpoint's size, the val-best threshold, seed 0) for side-by-side figures.
#
# Results: one line per run and seed in $WSSS_BENCH_RESULTS ($WSSS_BENCH_DIR/results.jsonl), each
# with its settings; a rerun skips the runs already done with the same settings (a long benchmark
# resumes, in another checkout too when it is given the same file) and the table shows only those.
# Then a markdown table (mean ± SD over seeds) and the issue's aims. tests/bench/results/demo.jsonl
# is the record the README's tables are made from.
#
# Environment: WSSS_BENCH_DIR (.bench/demo), WSSS_BENCH_RESULTS (its results.jsonl),
# WSSS_BENCH_ITERS (400), WSSS_BENCH_BATCH (16),
# WSSS_BENCH_SIZE (128; old: 64), WSSS_BENCH_SEEDS ("0 1 2"; old: "0"), WSSS_BENCH_WEIGHTS,
# WSSS_BENCH_RUNS (names; "cam" picks both cam runs), WSSS_BENCH_PROTOCOL (new | old),
# WSSS_BENCH_DINO_ITERS (600: the steps of the `dino` run that is ECA's guider),
# WSSS_BENCH_TRAIN / WSSS_BENCH_VAL / WSSS_BENCH_SWEEP (image counts: 2000 / 500 / 300),
# WSSS_BENCH_PRECISION (fp32 | bf16: `wsss train --precision` of every run, the guider's too;
# inference stays float32), WSSS_BENCH_REFINED (1: also score each run's masks refined by PAR +
# CRF, a line of their own; 0: not).
set -euo pipefail
build=${1:-build}
here=$(cd "$(dirname "$0")" && pwd)
py=/usr/bin/python3
results_py="$here/demo_results.py"
wsss="$build/bin/wsss"
die() { echo "demo benchmark: $*" >&2; exit 1; }
[[ -x "$wsss" ]] || die "$wsss not found: build the wsss target first"
wsss=$(readlink -f "$wsss")

protocol=${WSSS_BENCH_PROTOCOL:-new}
case "$protocol" in
  new) size=${WSSS_BENCH_SIZE:-128}; seeds=${WSSS_BENCH_SEEDS:-0 1 2} ;;
  old) size=${WSSS_BENCH_SIZE:-64}; seeds=${WSSS_BENCH_SEEDS:-0} ;;
  *) die "WSSS_BENCH_PROTOCOL=$protocol: new or old" ;;
esac
work=${WSSS_BENCH_DIR:-.bench/demo}
iters=${WSSS_BENCH_ITERS:-400}
batch=${WSSS_BENCH_BATCH:-16}
ntrain=${WSSS_BENCH_TRAIN:-2000}
nval=${WSSS_BENCH_VAL:-500}
nsweep=${WSSS_BENCH_SWEEP:-300}
precision=${WSSS_BENCH_PRECISION:-fp32}
refined=${WSSS_BENCH_REFINED:-1}
[[ "$refined" == 0 || "$refined" == 1 ]] || die "WSSS_BENCH_REFINED=$refined: 0 or 1"
[[ "$precision" == fp32 || "$precision" == bf16 ]] || die "WSSS_BENCH_PRECISION=$precision: fp32 or bf16"
nprobe=4 # train images of the own-background probe (ACR infers a few seconds an image)
for v in iters batch size ntrain nval nsweep; do
  [[ "${!v}" =~ ^[1-9][0-9]*$ ]] || die "$v=${!v}: a positive integer"
done
for s in $seeds; do [[ "$s" =~ ^[0-9]+$ ]] || die "WSSS_BENCH_SEEDS: \"$s\" is not a seed"; done
[[ -n "${seeds// /}" ]] || die "WSSS_BENCH_SEEDS is empty"
[[ "$protocol" == old ]] || (( nsweep <= ntrain )) || die "WSSS_BENCH_SWEEP=$nsweep exceeds WSSS_BENCH_TRAIN=$ntrain"

# The backbone weights the runs start from, hashed into the settings: a new bundled file is
# another benchmark, not a continuation of this one. The wsss binary's hash is recorded per run
# (a rebuild that adds a method must not void the runs already made), not in the settings.
weights=${WSSS_BENCH_WEIGHTS:-}
if [[ "$weights" == none ]]; then
  weights_sha=none
elif [[ -n "$weights" ]]; then
  [[ -f "$weights" ]] || die "WSSS_BENCH_WEIGHTS=$weights: no such file"
  weights=$(readlink -f "$weights")
  weights_sha=$(sha256sum "$weights" | cut -c1-16)
else
  # Where wsss looks (vision/backbones/backbone_registry.cpp: resourceDir()).
  installed="$(dirname "$wsss")/../share/wsss-studio"
  if [[ -n "${WSSS_RESOURCE_DIR:-}" ]]; then resources=$WSSS_RESOURCE_DIR
  elif [[ -d "$installed/weights" ]]; then resources=$installed
  else resources="$(sed -n 's/^CMAKE_HOME_DIRECTORY:INTERNAL=//p' "$build/CMakeCache.txt" 2>/dev/null)/resources"
  fi
  bundled="$resources/weights/vit_demo_patch8.safetensors"
  [[ -f "$bundled" ]] || die "the bundled weights $bundled are missing (or set WSSS_BENCH_WEIGHTS)"
  weights_sha=$(sha256sum "$bundled" | cut -c1-16)
fi
wsss_sha=$(sha256sum "$wsss" | cut -c1-16)

mkdir -p "$work"
work=$(readlink -f "$work")
exec 9> "$work/.lock"
flock -n 9 || die "another demo benchmark is running in $work"

# The demo data (made once per image counts) with its held-back sweep list and probe list.
data="$work/data_${ntrain}_${nval}"
if [[ ! -f "$data/.complete" ]]; then
  rm -rf -- "$data"
  "$wsss" demo-data --out "$data" --train "$ntrain" --val "$nval" --size 128 --seed 0
  touch "$data/.complete"
fi
splits="$data/ImageSets/Segmentation"
[[ "$protocol" == old ]] || "$py" "$results_py" sweep-list "$data" "$nsweep" 0
head -n "$nprobe" "$splits/train.txt" > "$splits/train_probe.txt"

settings=$("$py" - "$protocol" "$ntrain" "$nval" "$nsweep" "$size" "$iters" "$batch" "${weights:-bundled}" \
                   "$weights_sha" "$precision" <<'PY'
import json, sys
protocol, ntrain, nval, nsweep, size, iters, batch, weights, weights_sha, precision = sys.argv[1:]
old = protocol == "old"
# float32 training is named only when it is not the default, so the settings (and their id) of
# the runs made before the option existed stay the same.
extra = {} if precision == "fp32" else {"precision": precision}
print(json.dumps({**extra, "protocol": protocol,
                  "data": {"train": int(ntrain), "val": int(nval), "size": 128, "seed": 0,
                           "sweep": None if old else int(nsweep)},
                  "train_size": int(size), "infer_size": "the checkpoint's" if old else int(size),
                  "iters": int(iters), "batch": int(batch), "backbone": "vit_demo_patch8",
                  "weights": weights, "weights_sha256": weights_sha}, sort_keys=True))
PY
)
sid=$("$py" "$results_py" settings-id "$settings")
results=${WSSS_BENCH_RESULTS:-$work/results.jsonl}
mkdir -p "$(dirname "$results")"
runs_dir="$work/runs_$sid" # fresh folders per settings, run and seed
echo "# demo benchmark: $protocol protocol, settings $sid, results in $results"

# Each run: a name, the method, and its extra flags (both cam poolings named explicitly: GAP,
# Zhou et al.'s CAM; GMP, AFA's Table 1 baseline). WSSS_BENCH_RUNS picks some by name.
# ECA's guider is one `dino` run of WSSS_BENCH_DINO_ITERS steps (below); a length other than the
# default is named in eca's flags ("@dino_1200"), so its results are not taken for the default's.
dino_iters=${WSSS_BENCH_DINO_ITERS:-600}
[[ "$dino_iters" =~ ^[1-9][0-9]*$ ]] || die "WSSS_BENCH_DINO_ITERS=$dino_iters: a positive integer"
dino_token=@dino
(( dino_iters == 600 )) || dino_token=@dino_$dino_iters
# eca_centred: the same with the guider's keys centred per image (center_keys, see the README's
# method notes: the demo's dino guider shares one key direction). vitpcm_scale1: ViT-PCM inferring
# at the training size (infer_scale 1, chosen on train_sweep) instead of the official 2.5×.
# usage_final_norm: USAGE's classifier on the final LayerNorm's tokens (final_norm, chosen on
# train_sweep) instead of MCTformer's un-normalised ones.
runs=("cam_gap|cam|--set pooling=gap" "cam_gmp|cam|--set pooling=gmp" "afa|afa|" "acr|acr|" "supervised|supervised|"
      "vitpcm|vitpcm|" "vitpcm_scale1|vitpcm|--set infer_scale=1" "usage|usage|" "usage_final_norm|usage|--set final_norm=true"
      "eca|eca|--guider $dino_token"
      "eca_centred|eca|--guider $dino_token --set center_keys=true")
if [[ -n "${WSSS_BENCH_RUNS:-}" ]]; then
  picked=()
  for want in $WSSS_BENCH_RUNS; do
    found=0
    for run in "${runs[@]}"; do
      name=${run%%|*}
      if [[ "$name" == "$want" || ( "$want" == cam && "$name" == cam_* ) ]]; then picked+=("$run"); found=1; fi
    done
    (( found )) || die "WSSS_BENCH_RUNS: no run \"$want\" (cam, cam_gap, cam_gmp, afa, acr, supervised, vitpcm, vitpcm_scale1, usage, usage_final_norm, eca, eca_centred)"
  done
  runs=("${picked[@]}")
fi

if [[ "$protocol" == old ]]; then
  train_flags=()              # scores val after training, as it did: its best threshold is the checkpoint's
  infer_size=()               # the checkpoint's size
else
  train_flags=(--val-split none)
  infer_size=(--size "$size")
fi
[[ "$precision" == fp32 ]] || train_flags+=(--precision "$precision")

infer() { # CHECKPOINT SPLIT OUT [FLAGS…]: into a folder of its own, made afresh
  local checkpoint=$1 split=$2 out=$3
  shift 3
  rm -rf -- "$out"
  "$wsss" infer --checkpoint "$checkpoint" --data "$data" --split "$split" --out "$out" ${infer_size[@]+"${infer_size[@]}"} "$@"
}

# DIR TRAIN-FLAGS…: `wsss train` into DIR/train, saving every $save_every steps; a training
# stopped part-way (a checkpoint, no DIR/train_seconds) resumes from its last save instead of
# starting over. DIR/train_seconds is the sum of the pieces' wall times.
save_every=50
train_resumable() {
  local dir=$1
  shift
  local start spent=0 resume=0 rc=0 ticker
  if [[ -f "$dir/train/checkpoint.wsss" && -f "$dir/train_seconds.partial" ]]; then
    spent=$(cat "$dir/train_seconds.partial")
    resume=1
    echo "# resuming $dir/train (${spent} s spent before)" >&2
  else
    rm -rf -- "$dir/train" "$dir/train_seconds" "$dir/train_seconds.partial"
    echo 0 > "$dir/train_seconds.partial"
  fi
  start=$(date +%s)
  # The time spent so far, kept current: a benchmark killed mid-run still counts its piece.
  # (Without the lock's descriptor: a ticker left behind by a killed benchmark must not hold it.)
  ( exec 9>&-; while sleep 30; do echo $(( spent + $(date +%s) - start )) > "$dir/train_seconds.partial"; done ) &
  ticker=$!
  if (( resume )); then
    "$wsss" train --resume --out "$dir/train" --data "$data" || rc=$?
  else
    "$wsss" train --out "$dir/train" --save-every "$save_every" "$@" || rc=$?
  fi
  kill "$ticker" 2> /dev/null || true
  wait "$ticker" 2> /dev/null || true
  (( rc == 0 )) || return "$rc"
  echo $(( spent + $(date +%s) - start )) > "$dir/train_seconds"
  rm -f -- "$dir/train_seconds.partial"
}

# ECA's guider: one `dino` run on the demo's train images (labels unused), made once per settings
# with seed 0 and WSSS_BENCH_DINO_ITERS steps; "@dino" in a run's flags stands for its checkpoint.
guider() {
  local dir="$runs_dir/guider_dino_$dino_iters"
  if [[ ! -f "$dir/train_seconds" ]]; then
    mkdir -p "$dir"
    train_resumable "$dir" --method dino --data "$data" --iters "$dino_iters" --batch "$batch" \
            --size "$size" --seed 0 ${weights:+--weights "$weights"} --val-split none --precision "$precision" >&2
  fi
  echo "$dir/train/checkpoint.wsss"
}

# "own" when the method scores background itself (its masks are the same at thresholds 0 and 1:
# with a threshold, 1 makes every pixel background and 0 almost none), else "threshold". Probed
# once per checkpoint and kept in DIR/rule, so refine_one does not probe again after run_one.
rule_of() { # CHECKPOINT DIR
  local checkpoint=$1 dir=$2 rule=threshold
  if [[ -f "$dir/rule" && "$dir/rule" -nt "$checkpoint" ]]; then cat "$dir/rule"; return; fi
  infer "$checkpoint" train_probe "$dir/probe_t0" --bg-threshold 0 >&2
  infer "$checkpoint" train_probe "$dir/probe_t1" --bg-threshold 1 >&2
  if diff -rq "$dir/probe_t0/SegmentationClass" "$dir/probe_t1/SegmentationClass" > /dev/null; then rule=own; fi
  rm -rf -- "$dir/probe_t0" "$dir/probe_t1"
  echo "$rule" > "$dir/rule"
  echo "$rule"
}

# A finished run's masks refined by PAR (10 iterations) and the dense CRF, as `wsss infer --par
# --crf` writes them for a user's export, recorded as a line of their own. For a threshold rule
# the threshold is chosen on train_sweep by `wsss eval --sweep --par --crf` over its saved maps
# (never on val); a method with its own background is refined as it is.
refine_one() { # NAME METHOD FLAGS SEED
  local name=$1 method=$2 recorded=$3 seed=$4
  local dir="$runs_dir/${name}_s$seed"
  local checkpoint="$dir/train/checkpoint.wsss"
  [[ -f "$checkpoint" && -f "$dir/train_seconds" ]] || die "$name seed $seed: no finished training to refine in $dir"
  local rule threshold=() sweep_args=()
  rule=$(rule_of "$checkpoint" "$dir")
  if [[ "$rule" == threshold ]]; then
    [[ -d "$dir/pred_train_sweep/maps" ]] || infer "$checkpoint" train_sweep "$dir/pred_train_sweep" --save-maps
    "$wsss" eval --pred "$dir/pred_train_sweep" --data "$data" --split train_sweep --json --sweep --par --crf \
            > "$dir/eval_train_sweep_refined.json"
    threshold=(--bg-threshold "$("$py" -c 'import json,sys; print(json.load(open(sys.argv[1]))["best_bg_threshold"])' \
                                "$dir/eval_train_sweep_refined.json")")
    sweep_args=(--sweep-eval "$dir/eval_train_sweep_refined.json")
  fi
  rm -rf -- "$dir/pred_train_sweep/maps" # float maps of every class: 200 MB a run on the demo
  infer "$checkpoint" val "$dir/pred_val_refined" --par --crf ${threshold[@]+"${threshold[@]}"}
  "$wsss" eval --pred "$dir/pred_val_refined" --data "$data" --split val --json > "$dir/eval_val_refined.json"
  "$py" "$results_py" record-refined "$results" --settings "$settings" --run "$name" --method "$method" \
        --flags "$recorded" --seed "$seed" --wsss-sha "$wsss_sha" --rule "$rule" ${sweep_args[@]+"${sweep_args[@]}"} \
        --val-eval "$dir/eval_val_refined.json" --val-manifest "$dir/pred_val_refined/manifest.json"
}

run_one() { # NAME METHOD FLAGS SEED
  local name=$1 method=$2 flags=$3 seed=$4 recorded=$3 # results name the flags as written ("@dino")
  [[ "$flags" != *"$dino_token"* ]] || flags=${flags//"$dino_token"/$(guider)}
  local dir="$runs_dir/${name}_s$seed"
  local train="$dir/train" checkpoint="$dir/train/checkpoint.wsss"
  mkdir -p "$dir"
  # A training that finished (its time recorded) is kept: only what came after it is redone.
  if [[ ! -f "$checkpoint" || ! -f "$dir/train_seconds" ]]; then
    # shellcheck disable=SC2086
    train_resumable "$dir" --method "$method" --data "$data" --iters "$iters" --batch "$batch" \
            --size "$size" --seed "$seed" ${weights:+--weights "$weights"} ${train_flags[@]+"${train_flags[@]}"} $flags
  fi

  local rule sweep_args=()
  rule=$(rule_of "$checkpoint" "$dir")
  local threshold=()
  if [[ "$rule" == threshold && "$protocol" == new ]]; then
    infer "$checkpoint" train_sweep "$dir/pred_train_sweep" --save-maps
    "$wsss" eval --pred "$dir/pred_train_sweep" --data "$data" --split train_sweep --json --sweep > "$dir/eval_train_sweep.json"
    threshold=(--bg-threshold "$("$py" -c 'import json,sys; print("%.2f" % json.load(open(sys.argv[1]))["best_bg_threshold"])' \
                                "$dir/eval_train_sweep.json")")
    sweep_args=(--sweep-eval "$dir/eval_train_sweep.json")
    # (its maps stay for refine_one, which deletes them)
  fi
  infer "$checkpoint" val "$dir/pred_val" --save-maps ${threshold[@]+"${threshold[@]}"}
  "$wsss" eval --pred "$dir/pred_val" --data "$data" --split val --json --sweep > "$dir/eval_val.json"
  rm -rf -- "$dir/pred_val/maps" # the masks stay; `wsss infer --save-maps` on the checkpoint gives them again
  "$py" "$results_py" record "$results" --settings "$settings" --run "$name" --method "$method" --flags "$recorded" \
        --seed "$seed" --wsss-sha "$wsss_sha" --rule "$rule" --train-seconds "$(cat "$dir/train_seconds")" ${sweep_args[@]+"${sweep_args[@]}"} \
        --val-eval "$dir/eval_val.json" --val-manifest "$dir/pred_val/manifest.json"
}

failed=()
for seed in $seeds; do # seed-major: a first complete table of seed 0 comes soonest
  for run in "${runs[@]}"; do
    IFS='|' read -r name method flags <<< "$run"
    if "$py" "$results_py" has "$results" "$sid" "$name" "$method" "$flags" "$seed"; then
      echo "# $name seed $seed: done earlier with these settings (skipped)"
    else
      echo "# $name seed $seed"
      set +e
      (set -e; run_one "$name" "$method" "$flags" "$seed")
      rc=$?
      set -e
      (( rc == 0 )) || { echo "demo benchmark: $name seed $seed failed (exit $rc); going on" >&2; failed+=("$name/$seed"); continue; }
    fi
    # The refined masks: of the new protocol, for a run whose checkpoint is here (a run recorded
    # in another checkout has none: its refined line comes from there).
    if [[ "$protocol" == new && "$refined" == 1 && -f "$runs_dir/${name}_s$seed/train_seconds" ]] &&
       ! "$py" "$results_py" has-refined "$results" "$sid" "$name" "$method" "$flags" "$seed"; then
      echo "# $name seed $seed: refined masks (PAR + CRF)"
      set +e
      (set -e; refine_one "$name" "$method" "$flags" "$seed")
      rc=$?
      set -e
      (( rc == 0 )) || { echo "demo benchmark: refining $name seed $seed failed (exit $rc); going on" >&2; failed+=("$name/$seed refined"); }
    fi
  done
done

"$py" "$results_py" table "$results" "$sid"
(( ${#failed[@]} == 0 )) || die "failed: ${failed[*]} (rerun to retry them; finished runs are kept)"
