#!/usr/bin/env bash
# make bench: ViT and MiT forward times, one training step of cam, afa and acr, and the refinement
# toolkit's (rule, PAR, random walk) beside the same operations in Debian's python3-torch, run in
# the same invocation, the ViT and training cases also under load (load.py); then the dense
# CRF (512×512, 21 labels). The demo benchmark (cam_gap, cam_gmp, afa, acr and supervised, three
# seeds each at 128 px: an hour or more on 2 cores; WSSS_BENCH_PROTOCOL=old: the earlier one-seed
# 64-px protocol, about 10 min) runs with WSSS_BENCH_DEMO=1; tests/bench/demo_benchmark.sh lists
# its other settings.
set -euo pipefail
build=${1:-build}
here=$(cd "$(dirname "$0")" && pwd)
py=/usr/bin/python3

blas=$(readlink -f /usr/lib/x86_64-linux-gnu/libblas.so.3 2>/dev/null || echo unknown)
echo "# bench: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), BLAS $blas"
case "$blas" in
  *openblas*) ;;
  *) echo "# WARNING: LibTorch is on the reference BLAS; install libopenblas0-openmp (packaging/install-deps.sh)";;
esac
# wsss runs OpenBLAS's fastest kernels for this CPU even where OpenBLAS does not know the model
# (vision/core/blas_kernels.h); the python3-torch peers get the same kernels, so the ratios
# compare the code, not the BLAS.
core=$("$build/bin/wsss" info | sed -n 's/^blas: OpenBLAS \([A-Za-z0-9]*\).*/\1/p')
[[ -n "$core" && -z "${OPENBLAS_CORETYPE:-}" ]] && export OPENBLAS_CORETYPE=$core
echo "# OpenBLAS kernels: ${OPENBLAS_CORETYPE:-${core:-not OpenBLAS}} (wsss and the python3-torch peers)"

# "loaded": the same case again while tests/bench/load.py (a separate process whose 2 threads
# multiply matrices, as another job on the user's machine) runs; ours and the peer alternate
# under the same load. Cases too slow to repeat under load get idle figures only.
load_pid=
start_load() { "$py" "$here/load.py" 2 2>/dev/null & load_pid=$!; sleep 1; }
stop_load() { if [[ -n "$load_pid" ]]; then kill "$load_pid" 2>/dev/null || true; wait "$load_pid" 2>/dev/null || true; load_pid=; fi; }
trap stop_load EXIT

# One table row per JSON line of ours: idle wsss and python, then (when given) loaded ones.
table() {
  "$py" - "$@" <<'PY'
import json, sys
lines = [[json.loads(l) for l in a.splitlines()] if a else [] for a in sys.argv[2:6]]
mine, peer, lmine, lpeer = lines
key = sys.argv[1]
for i, (m, p) in enumerate(zip(mine, peer)):
    row = "%-18s %5d %5d %8s" % (m[key], m["size"], m["batch"], m.get("capture", "-")) if key == "preset" else \
          "%-8s %5d %5d %-6s" % (m[key] + ("/bf16" if m.get("precision") == "bf16" else ""), m["size"], m["batch"],
                                 m.get("optimizer", "-"))
    row += " %10.1f %10.1f %6.2f" % (m["median_ms"], p["median_ms"], p["median_ms"] / m["median_ms"])
    if lmine:
        lm, lp = lmine[i], lpeer[i]
        row += " %10.1f %10.1f %6.2f" % (lm["median_ms"], lp["median_ms"], lp["median_ms"] / lm["median_ms"])
    else:
        row += " %10s %10s %6s" % ("-", "-", "-")
    print(row)
PY
}

printf "%-18s %5s %5s %8s %10s %10s %6s %10s %10s %6s\n" preset size batch capture wsss_ms python_ms ratio \
  loaded_wsss loaded_py ratio
for row in "vit_demo_patch8 128 1 loaded" "vit_demo_patch8 128 16 loaded" "vit_small_patch16 224 1 loaded" \
           "vit_small_patch16 384 1" "vit_base_r50_s16 384 1"; do
  set -- $row
  mine=$("$build/tests/bench_vit" "$1" "$2" "$3" 5)
  peer=$("$py" "$here/vit_peer.py" "$1" "$2" "$3" 5)
  lmine= lpeer=
  if [[ "${4:-}" == loaded ]]; then
    start_load
    lmine=$("$build/tests/bench_vit" "$1" "$2" "$3" 5)
    lpeer=$("$py" "$here/vit_peer.py" "$1" "$2" "$3" 5)
    stop_load
  fi
  table preset "$mine" "$peer" "$lmine" "$lpeer"
done
echo "# ratio = python3-torch time / wsss time (> 1: wsss is faster); loaded: beside load.py's 2 busy threads"

# One training step (forward, losses, backward, optimiser step) of cam, afa and acr on the demo
# backbone at 128 px, batch 16, beside the same step in python3-torch (train_step_peer.py says
# what its afa leaves out), idle and loaded.
repeats=${WSSS_BENCH_TRAIN_REPEATS:-3}
printf "%-8s %5s %5s %-6s %10s %10s %6s %10s %10s %6s\n" method size batch optim wsss_ms python_ms ratio \
  loaded_wsss loaded_py ratio
for method in cam afa acr; do
  mine=$("$build/tests/bench_train_step" "$method" "$repeats" 16 128)
  peer=$("$py" "$here/train_step_peer.py" "$method" "$repeats" 16 128)
  start_load
  lmine=$("$build/tests/bench_train_step" "$method" "$repeats" 16 128)
  lpeer=$("$py" "$here/train_step_peer.py" "$method" "$repeats" 16 128)
  stop_load
  table method "$mine" "$peer" "$lmine" "$lpeer"
done
# The same under `--precision bf16` (autocast to bfloat16 in ours and in the peer): matrix
# products at twice the rate on CPUs with AVX-512 BF16, emulated and slower elsewhere.
for method in cam acr; do
  mine=$("$build/tests/bench_train_step" "$method" "$repeats" 16 128 bf16)
  peer=$("$py" "$here/train_step_peer.py" "$method" "$repeats" 16 128 bf16)
  start_load
  lmine=$("$build/tests/bench_train_step" "$method" "$repeats" 16 128 bf16)
  lpeer=$("$py" "$here/train_step_peer.py" "$method" "$repeats" 16 128 bf16)
  stop_load
  table method "$mine" "$peer" "$lmine" "$lpeer"
done
echo "# train step: median of $repeats after 2 warm-up steps; afa timed after its seg switch; /bf16: --precision bf16"

# MiT-B1 at 512 with AFA's stage-4 stride 1 (capture = the two stage-4 blocks' attention logits).
printf "%-18s %5s %5s %6s %8s %12s %14s %7s\n" preset size batch stride capture wsss_ms python_ms ratio
for row in "mit_b1 512 1 1 3"; do
  set -- $row
  mine=$("$build/tests/bench_mit" "$1" "$2" "$3" "$4" "$5")
  peer=$("$py" "$here/mit_peer.py" "$1" "$2" "$3" "$4" "$5")
  "$py" - "$mine" "$peer" <<'PY'
import json, sys
mine = [json.loads(l) for l in sys.argv[1].splitlines()]
peer = [json.loads(l) for l in sys.argv[2].splitlines()]
for m, p in zip(mine, peer):
    print("%-18s %5d %5d %6d %8s %12.1f %14.1f %7.2f" % (m["preset"], m["size"], m["batch"], m["stride"], m["capture"],
          m["median_ms"], p["median_ms"], p["median_ms"] / m["median_ms"]))
PY
done

"$build/tests/bench_crf" 512 21 3

# Refinement toolkit: rule, PAR at 512², random walks (bench_refine beside refine_peer.py).
mine=$("$build/tests/bench_refine" 5)
peer=$("$py" "$here/refine_peer.py" 5)
"$py" - "$mine" "$peer" <<'PY'
import json, sys
mine = [json.loads(l) for l in sys.argv[1].splitlines()]
peer = {p["case"]: p for p in map(json.loads, sys.argv[2].splitlines())}
print("%-16s %-12s %12s %14s %8s" % ("refine case", "shape", "wsss_ms", "python_ms", "ratio"))
for m in mine:
    p = peer[m["case"]]
    print("%-16s %-12s %12.2f %14.2f %8.2f" % (m["case"], m["shape"], m["median_ms"], p["median_ms"],
          p["median_ms"] / m["median_ms"]))
PY

if [[ "${WSSS_BENCH_DEMO:-0}" == "1" ]]; then
  bash "$here/demo_benchmark.sh" "$build"
fi

# Studio redraws with a cached inspection (built with the GUI only).
if [[ -x "$build/tests/bench_studio" ]]; then "$build/tests/bench_studio" 21 2>/dev/null; fi
