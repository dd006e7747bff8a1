#!/usr/bin/env bash
# Makes the README's screenshots: the studio on the demo data under Xvfb.
# Usage: tests/screenshots.sh [BUILD_DIR] [DEMO_DIR]   (after `make build` and `make demo-data`)
set -euo pipefail
build=${1:-build}
demo=${2:-demo}
out=resources/screenshots
checkpoint=resources/demo/cam_vit_demo_patch8.wsss
mkdir -p "$out"
shot() { # NAME IMAGE QUERY CLASS [MORE STUDIO OPTIONS]
  xvfb-run -a -s "-screen 0 1600x1000x24" "$build/bin/wsss-studio" --data "$demo/data" --split val \
    --checkpoint "$checkpoint" --device cpu --image "$2" --query "$3" --class "$4" --screenshot "$out/$1.png" "${@:5}"
}
shot studio val_000003 64,40 pullover
# The inspection panels with the val split evaluated (sweep, per-class bars, per-image IoU).
shot panels val_000003 64,40 pullover --evaluate
echo "screenshots in $out"
