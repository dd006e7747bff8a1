#!/usr/bin/env bash
# Makes the README's screenshots: the studio on the demo data under Xvfb.
# Usage: tests/screenshots.sh [BUILD_DIR] [DEMO_DIR] [RUNS_DIR]   (after `make build` and
# `make demo-data`; RUNS_DIR holds the demo benchmark's <name>_s0/train/ runs, for the shots of
# the other methods: by default the newest .bench/demo/runs_<settings>/)
set -euo pipefail
build=${1:-build}
demo=${2:-demo}
runs=${3:-$(ls -dt .bench/demo/runs_*/ 2> /dev/null | head -n 1)}
out=resources/screenshots
mkdir -p "$out"
shot() { # NAME CHECKPOINT IMAGE QUERY CLASS [MORE STUDIO OPTIONS]
  xvfb-run -a -s "-screen 0 1600x1000x24" "$build/bin/wsss-studio" --data "$demo/data" --split val \
    --checkpoint "$2" --device cpu --image "$3" --query "$4" --class "$5" --screenshot "$out/$1.png" "${@:6}"
}
demo_checkpoint=resources/demo/eca_vit_demo_patch8.wsss
# The first screen of `make run`: the demo project as packaging/open-demo.sh writes it (the
# bundled ECA checkpoint with its refined rule, PAR + CRF), on val_000247 (a dress beside a bag):
# the pseudo-mask over the dress's CARM, the query patch on the dress.
first=.bench/screenshots/first.wsssproj
mkdir -p .bench/screenshots
rm -rf "$first" .bench/screenshots/first.masks
"$build/bin/wsss" project new --data "$demo/data" --split val --checkpoint "$demo_checkpoint" --out "$first" \
  --image val_000247 --rule resources/demo/eca_vit_demo_patch8.rule.json
first_view=(--device cpu --query "32,64" --class dress --mask) # the query on the dress, over its CARM
xvfb-run -a -s "-screen 0 1600x1000x24" "$build/bin/wsss-studio" "$first" "${first_view[@]}" --screenshot "$out/studio.png"
# The inspection panels with the val split evaluated under that rule (the sweep of refined masks,
# per-class bars, per-image IoU; a few minutes: a CRF per image and threshold).
xvfb-run -a -s "-screen 0 1600x1000x24" "$build/bin/wsss-studio" "$first" "${first_view[@]}" --evaluate \
  --screenshot "$out/panels.png"
# Where the first screen's checkpoint fails: val_000184, whose trousers' CARM (and CAM) is highest
# on the background and lowest on the trousers (the argmax inverts the mask).
shot eca_inverted "$demo_checkpoint" val_000184 8,8 trouser --panel class-maps
# The other methods on the same image, each on the map that shows why it scores below `cam`:
# AFA's own CAMs and the query's learned affinity; ACR's refined map and the query's nearly
# uniform patch attention; ViT-PCM's pseudo-mask (its own background) and per-class maps; USAGE's
# maps of the two classes; ECA's CARM with its guider's affinity of a background patch.
method_shot() { # NAME MAP PANEL QUERY [MORE STUDIO OPTIONS]
  local checkpoint="$runs/${1}_s0/train/checkpoint.wsss"
  [[ -f "$checkpoint" ]] || { echo "no $checkpoint: skipping the $1 shot" >&2; return 0; }
  shot "$1" "$checkpoint" val_000007 "$4" dress --map "$2" --panel "$3" "${@:5}"
}
method_shot afa cam affinity 64,64
method_shot acr acr affinity 64,64
method_shot vitpcm pcm class-maps 64,64 --mask
# ViT-PCM inferring at the training size (infer_scale 1): the items' own classes.
method_shot vitpcm_scale1 pcm class-maps 64,64 --mask
method_shot usage usage class-maps 64,64
# Why: USAGE's spatial distribution α of the two classes, which should cover the items and does
# not (the dress's is near 0 everywhere, the bag's on the bag's top edge only).
[[ ! -f "$runs/usage_s0/train/checkpoint.wsss" ]] ||
  shot usage_alpha "$runs/usage_s0/train/checkpoint.wsss" val_000007 64,64 dress --map usage_alpha --panel class-maps
# USAGE on the final LayerNorm's tokens (final_norm, the benchmark's usage_final_norm).
method_shot usage_final_norm usage class-maps 64,64
# ECA: its dress CARM, and the guider's key cosine of a background patch, high over items too.
method_shot eca carm affinity 16,16
# The same with the guider's keys centred (center_keys): the corner patch's row is low on the items.
method_shot eca_centred carm affinity 16,16
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
"$build/bin/wsss" project new --data "$demo/data" --split val --checkpoint "$demo_checkpoint" --out "$proj"
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
