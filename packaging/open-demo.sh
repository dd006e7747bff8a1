#!/usr/bin/env bash
# Opens the studio on the demo project: the demo dataset plus the checkpoint of the method that
# ranks first on the demo benchmark (README) — the one bundled in resources/demo/, or, when absent,
# one trained here by the project's own CLI on first run, with the same recipe.
set -euo pipefail
build=${1:-build}
demo=${2:-demo}
wsss=$build/bin/wsss
# ECA with its guider's keys centred (the benchmark's eca_centred, seed 0), packed to fp16.
checkpoint=resources/demo/eca_vit_demo_patch8.wsss
# Its masks refined as an export would be (PAR, then the dense CRF): the rule the benchmark's
# refined figure was measured with. ECA scores the background itself, so no threshold is chosen.
rule=(--rule resources/demo/eca_vit_demo_patch8.rule.json)
if [[ ! -f "$checkpoint" ]]; then
  checkpoint=$demo/run_eca/checkpoint.wsss
  if [[ ! -f "$checkpoint" ]]; then
    echo "Training the demo checkpoint (a dino guider, then eca, vit_demo_patch8) — once, about half an hour on a CPU:" >&2
    # The benchmark's recipe: the guider is 600 DINO steps on the train images (labels unused).
    if [[ ! -f "$demo/run_dino/checkpoint.wsss" ]]; then
      "$wsss" train --method dino --data "$demo/data" --out "$demo/run_dino" --iters 600 --batch 16 --size 128 \
        --seed 0 --val-split none --precision bf16
    fi
    "$wsss" train --method eca --data "$demo/data" --out "$demo/run_eca" --iters 400 --batch 16 --size 128 \
      --seed 0 --val-split none --precision bf16 --guider "$demo/run_dino/checkpoint.wsss" --set center_keys=true
  fi
fi
# The project keeps the user's review states and corrected masks: made once, never overwritten
# (a project made by an earlier version stays on the checkpoint it was made with).
# It opens on val_000247, a dress beside a bag, both found by the maps.
if [[ ! -f "$demo/demo.wsssproj" ]]; then
  "$wsss" project new --data "$demo/data" --split val --checkpoint "$checkpoint" --out "$demo/demo.wsssproj" \
    --image val_000247 "${rule[@]}"
elif ! grep -qF "$(basename "$checkpoint")" "$demo/demo.wsssproj"; then
  echo "$demo/demo.wsssproj was made with another checkpoint and is left as it is; remove it (and" \
       "$demo/demo.masks) to open the demo on $(basename "$checkpoint")" >&2
fi
exec "$build/bin/wsss-studio" "$demo/demo.wsssproj"
