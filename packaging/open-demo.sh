#!/usr/bin/env bash
# Opens the studio on the demo project: the demo dataset plus a checkpoint — the one bundled in
# resources/demo/, or, when absent, one trained here by the project's own CLI on first run.
set -euo pipefail
build=${1:-build}
demo=${2:-demo}
checkpoint=resources/demo/cam_vit_demo_patch8.wsss
# Its masks refined as an export would be (PAR, then the dense CRF) at the threshold that
# `wsss eval --sweep --par --crf` chose for it on the benchmark's train_sweep images (README).
rule=(--rule resources/demo/cam_vit_demo_patch8.rule.json)
if [[ ! -f "$checkpoint" ]]; then
  rule=() # a checkpoint trained here starts from its own threshold
  checkpoint=$demo/run_cam/checkpoint.wsss
  if [[ ! -f "$checkpoint" ]]; then
    echo "Training a demo checkpoint (cam, vit_demo_patch8) — once, a few minutes on a CPU:" >&2
    # The bundled checkpoint's recipe (README "A short tour"), scored on val instead of train_sweep.
    "$build/bin/wsss" train --method cam --data "$demo/data" --out "$demo/run_cam" --iters 400 --batch 16 --size 128 \
      --seed 0 --set pooling=gap --precision bf16
  fi
fi
# The project keeps the user's review states and corrected masks: made once, never overwritten.
# It opens on val_000176, where the maps find both items (a shirt and trousers).
if [[ ! -f "$demo/demo.wsssproj" ]]; then
  "$build/bin/wsss" project new --data "$demo/data" --split val --checkpoint "$checkpoint" --out "$demo/demo.wsssproj" \
    --image val_000176 ${rule[@]+"${rule[@]}"}
fi
exec "$build/bin/wsss-studio" "$demo/demo.wsssproj"
