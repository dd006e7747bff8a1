#!/usr/bin/env bash
# Makes the README's screenshots: the studio on the demo data under Xvfb.
# Usage: tests/screenshots.sh [BUILD_DIR] [DEMO_DIR] [RUNS_DIR]   (after `make build` and
# `make demo-data`; RUNS_DIR holds the demo benchmark's run_<name>/ folders, for the AFA and ACR shots)
set -euo pipefail
build=${1:-build}
demo=${2:-demo}
runs=${3:-.bench/demo}
out=resources/screenshots
mkdir -p "$out"
shot() { # NAME CHECKPOINT IMAGE QUERY CLASS [MORE STUDIO OPTIONS]
  xvfb-run -a -s "-screen 0 1600x1000x24" "$build/bin/wsss-studio" --data "$demo/data" --split val \
    --checkpoint "$2" --device cpu --image "$3" --query "$4" --class "$5" --screenshot "$out/$1.png" "${@:6}"
}
cam=resources/demo/cam_vit_demo_patch8.wsss
shot studio "$cam" val_000003 64,40 pullover
# The inspection panels with the val split evaluated (sweep, per-class bars, per-image IoU).
shot panels "$cam" val_000003 64,40 pullover --evaluate
# AFA's propagated map with its learned affinity and random-walk transition of the query patch,
# and ACR's refined maps of every labelled class side by side.
if [[ -f "$runs/run_afa/checkpoint.wsss" ]]; then
  shot afa "$runs/run_afa/checkpoint.wsss" val_000003 64,40 pullover --panel affinity
fi
if [[ -f "$runs/run_acr/checkpoint.wsss" ]]; then
  shot acr "$runs/run_acr/checkpoint.wsss" val_000003 64,40 pullover --panel class-maps
fi
# The training panel under the inspection, following a short afa run the CLI writes (loss curves
# with the learning rate, val mIoU every 40 steps, the kept checkpoints).
train_dir=.bench/screenshots/afa # relative: the panel's log shows it
rm -rf "$train_dir"
"$build/bin/wsss" train --method afa --data "$demo/data" --out "$train_dir" --iters 120 --batch 8 \
  --val-every 40 --save-every 40 --keep-checkpoints
shot training "$train_dir/checkpoint.wsss" val_000003 64,40 pullover --follow "$train_dir" --mask
# Correcting masks: a project whose val_000003 was corrected (its ground truth stands in for a
# hand correction), one image accepted and one rejected; the Correct toolbar and review badges.
proj=.bench/screenshots/correct.wsssproj
rm -rf .bench/screenshots/correct.wsssproj .bench/screenshots/correct.masks
"$build/bin/wsss" project new --data "$demo/data" --split val --checkpoint "$cam" --out "$proj"
mkdir -p .bench/screenshots/correct.masks
cp "$demo/data/SegmentationClass/val_000003.png" .bench/screenshots/correct.masks/
python3 - "$proj" <<'PY'
import json, sys
project = json.load(open(sys.argv[1]))
project["reviews"] = {"val_000001": "accepted", "val_000002": "rejected", "val_000003": "corrected"}
json.dump(project, open(sys.argv[1], "w"), indent=2)
PY
xvfb-run -a -s "-screen 0 1600x1000x24" "$build/bin/wsss-studio" "$proj" --device cpu --image val_000003 \
  --query 64,40 --class pullover --mask --screenshot "$out/correct.png"
echo "screenshots in $out"
