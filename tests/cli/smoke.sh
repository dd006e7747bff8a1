#!/usr/bin/env bash
# The CLI end to end on a tiny demo dataset, as a user runs it:
# demo-data → train (cam, supervised, afa, vitpcm, usage, dino, eca, acr) → infer → eval --json.
set -euo pipefail
WSSS=${WSSS_BIN:?}
work=${1:?work folder}
rm -rf "$work"; mkdir -p "$work"
export WSSS_THREADS=2

# What the build runs on; OpenBLAS's kernels are the fastest this CPU runs even where OpenBLAS
# does not know the CPU's model (it would fall back to its oldest ones, about 3× slower).
env -u OPENBLAS_CORETYPE "$WSSS" info > "$work/info.txt"
grep -q '^libtorch: ' "$work/info.txt"
grep -q '^cpu threads: 2$' "$work/info.txt" # the core's own loops on both threads too
grep -q '^bf16 on the cpu: ' "$work/info.txt"
grep -q '^thread budget: fixed by WSSS_THREADS=2$' "$work/info.txt"
# Without WSSS_THREADS the count follows the load, and info says what the budget sees.
env -u WSSS_THREADS "$WSSS" info | grep -Eq '^thread budget: follows the load \(other programs.? threads competing now: [0-9]+; scheduling group: (the root group|autogroup /autogroup-[0-9]+, nice -?[0-9]+|cpu cgroup /.*|unknown)\)$'
if grep '^blas: ' "$work/info.txt" | grep -q 'slower than'; then cat "$work/info.txt" >&2; exit 1; fi

"$WSSS" demo-data --out "$work/data" --train 16 --val 8 --size 64 --seed 3
test -f "$work/data/labelmap.txt"
test "$(wc -l < "$work/data/ImageSets/Segmentation/val.txt")" -eq 8

for method in cam supervised afa vitpcm usage dino; do
  "$WSSS" train --method $method --data "$work/data" --out "$work/run_$method" \
          --iters 3 --batch 4 --size 64 --backbone vit_test_patch8 --weights none
  test -s "$work/run_$method/checkpoint.wsss"
  test -s "$work/run_$method/metrics.jsonl"
  "$WSSS" infer --checkpoint "$work/run_$method/checkpoint.wsss" --data "$work/data" --split val \
          --out "$work/pred_$method" --save-maps
  test "$(ls "$work/pred_$method/SegmentationClass" | wc -l)" -eq 8
  test "$(ls "$work/pred_$method/maps" | wc -l)" -eq 8
  "$WSSS" eval --pred "$work/pred_$method" --data "$work/data" --split val --json --sweep > "$work/eval_$method.json"
  python3 - "$work/eval_$method.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
for key in ("miou", "per_class", "fpr", "fnr", "best_bg_threshold"):
    assert key in r, key
assert 0.0 <= r["miou"] <= 1.0 and 0.0 <= r["fpr"] <= 1.0 and 0.0 <= r["fnr"] <= 1.0, r
assert r["images"] == 8, r
# Where each labelled class's map peaks: the shares of its outcomes add up over every scored map.
p = r["pointing"]
assert p["maps"] > 0 and abs(p["on_item"] + p["on_other_item"] + p["on_background"] + p["on_ignored"] - 1) < 1e-9, p
PY
done

# Inference under autocast to bfloat16 (--precision bf16): recorded in the manifest, maps back in
# float32, scores close to float32's.
"$WSSS" infer --checkpoint "$work/run_cam/checkpoint.wsss" --data "$work/data" --split val \
        --out "$work/pred_cam_bf16" --save-maps --precision bf16
"$WSSS" eval --pred "$work/pred_cam_bf16" --data "$work/data" --split val --json > "$work/eval_cam_bf16.json"
python3 - "$work/pred_cam_bf16" "$work/eval_cam.json" "$work/eval_cam_bf16.json" <<'PY'
import json, struct, sys
manifest = json.load(open(sys.argv[1] + "/manifest.json"))
assert manifest["precision"] == "bf16", manifest
fp32, bf16 = (json.load(open(p)) for p in sys.argv[2:4])
assert abs(fp32["miou"] - bf16["miou"]) < 0.05, (fp32["miou"], bf16["miou"])
first = sorted(__import__("os").listdir(sys.argv[1] + "/maps"))[0]
npy16 = open(sys.argv[1] + "/maps/" + first, "rb").read()
npy32 = open(sys.argv[1].replace("pred_cam_bf16", "pred_cam") + "/maps/" + first, "rb").read()
assert b"'<f4'" in npy16[:128], npy16[:128]
assert len(npy16) == len(npy32) and npy16 != npy32  # the network ran in bfloat16: other roundings
PY
if "$WSSS" infer --checkpoint "$work/run_cam/checkpoint.wsss" --data "$work/data" --split val \
        --out "$work/pred_fp8" --precision fp8 2> "$work/fp8.txt"; then exit 1; fi
grep -q 'precision "fp8" is not known' "$work/fp8.txt"
test ! -e "$work/pred_fp8"

# Per-image scores (--per-image): one row per val image, the worst first, each in [0, 1]; the
# dataset's own masks as the predictions score 1 on every image.
"$WSSS" eval --pred "$work/pred_cam" --data "$work/data" --split val --per-image "$work/per_image_cam.csv" > /dev/null
"$WSSS" eval --pred "$work/data" --data "$work/data" --split val --per-image "$work/per_image_gt.csv" > /dev/null
python3 - "$work/per_image_cam.csv" "$work/per_image_gt.csv" "$work/data/ImageSets/Segmentation/val.txt" <<'PY'
import csv, sys
cam, gt = (list(csv.DictReader(open(p))) for p in sys.argv[1:3])
ids = set(open(sys.argv[3]).read().split())
for rows in (cam, gt):
    assert {r["id"] for r in rows} == ids and len(rows) == len(ids), rows
    assert all(0.0 <= float(r[k]) <= 1.0 for r in rows for k in ("miou", "fpr", "fnr", "pixel_accuracy")), rows
mious = [float(r["miou"]) for r in cam]
assert mious == sorted(mious), mious
assert all(float(r["miou"]) == 1.0 and float(r["fpr"]) == 0.0 for r in gt), gt
PY

# ECA with the dino run as its guider (--guider); its masks are the CARM argmax. Without a
# guider it does not start, and says how to give one.
"$WSSS" train --method eca --data "$work/data" --out "$work/run_eca" --iters 3 --batch 4 --size 64 \
        --backbone vit_test_patch8 --weights none --guider "$work/run_dino/checkpoint.wsss" 2> "$work/eca_train.txt"
grep -q 'the backbone of a dino run' "$work/eca_train.txt"
"$WSSS" infer --checkpoint "$work/run_eca/checkpoint.wsss" --data "$work/data" --split val --out "$work/pred_eca"
test "$(ls "$work/pred_eca/SegmentationClass" | wc -l)" -eq 8
grep -q '"map": "carm"' "$work/pred_eca/manifest.json"
# Its guider swapped on the trained run (--set guider=FILE): read over the checkpoint's copy. (The
# other guider starts from another seed: the runs above all start from seed 0's weights.)
"$WSSS" train --method cam --data "$work/data" --out "$work/run_cam_seed5" --iters 1 --batch 4 --size 64 \
        --backbone vit_test_patch8 --weights none --val-split none --seed 5
"$WSSS" infer --checkpoint "$work/run_eca/checkpoint.wsss" --data "$work/data" --split val \
        --out "$work/pred_eca_maps" --save-maps
"$WSSS" infer --checkpoint "$work/run_eca/checkpoint.wsss" --data "$work/data" --split val \
        --out "$work/pred_eca_guider" --save-maps --set guider="$work/run_cam_seed5/checkpoint.wsss"
one=$(ls "$work/pred_eca_maps/maps" | head -n 1)
if cmp -s "$work/pred_eca_maps/maps/$one" "$work/pred_eca_guider/maps/$one"; then
  echo "infer --set guider=FILE left the checkpoint's guider"; exit 1
fi
if "$WSSS" train --method eca --data "$work/data" --out "$work/run_eca_none" --iters 1 --backbone vit_test_patch8 \
        --weights none 2> "$work/eca_none.txt"; then
  echo "eca without a guider must fail"; exit 1
fi
grep -q -- '--guider FILE' "$work/eca_none.txt"

# ACR: SGD at its own lr, and gradient maps (a backward pass per image at inference).
# Another of the method's maps through the rule: afa's seg head; a map it lacks is one error.
"$WSSS" infer --checkpoint "$work/run_afa/checkpoint.wsss" --data "$work/data" --split val \
        --out "$work/pred_afa_seg" --map seg
test "$(ls "$work/pred_afa_seg/SegmentationClass" | wc -l)" -eq 8
grep -q '"map": "seg"' "$work/pred_afa_seg/manifest.json"
if "$WSSS" infer --checkpoint "$work/run_afa/checkpoint.wsss" --data "$work/data" --split val \
        --out "$work/pred_afa_bad" --map nosuch 2> "$work/bad_map.txt"; then
  echo "infer --map nosuch must fail"; exit 1
fi
grep -q 'has no map "nosuch"' "$work/bad_map.txt"

# A config key that changes how maps are made applies to a trained checkpoint at inference
# (--set), recorded in the manifest; a key the method does not have is one error naming it.
"$WSSS" infer --checkpoint "$work/run_afa/checkpoint.wsss" --data "$work/data" --split val \
        --out "$work/pred_afa_minmax" --set cam_normalization=min_max
test "$(ls "$work/pred_afa_minmax/SegmentationClass" | wc -l)" -eq 8
grep -q '"config_overrides"' "$work/pred_afa_minmax/manifest.json"
grep -q '"cam_normalization": "min_max"' "$work/pred_afa_minmax/manifest.json"
if "$WSSS" infer --checkpoint "$work/run_afa/checkpoint.wsss" --data "$work/data" --split val \
        --out "$work/pred_afa_badset" --set no_such_key=1 2> "$work/bad_set.txt"; then
  echo "infer --set no_such_key must fail"; exit 1
fi
grep -q 'no_such_key' "$work/bad_set.txt"

# A finished run cannot be resumed, and says so.
if "$WSSS" train --resume --out "$work/run_afa" 2> "$work/resume.txt"; then
  echo "resuming a finished run must fail"; exit 1
fi
grep -q "already finished" "$work/resume.txt"

"$WSSS" train --method acr --data "$work/data" --out "$work/run_acr" --iters 2 --batch 2 --size 64 \
        --backbone vit_test_patch8 --weights none --val-split none --set preset=paper
test -s "$work/run_acr/checkpoint.wsss"
test "$(wc -l < "$work/run_acr/metrics.jsonl")" -ge 1
"$WSSS" infer --checkpoint "$work/run_acr/checkpoint.wsss" --data "$work/data" --split val \
        --out "$work/pred_acr" --save-maps
test "$(ls "$work/pred_acr/SegmentationClass" | wc -l)" -eq 8
test "$(ls "$work/pred_acr/maps" | wc -l)" -eq 8

# One image's inspection as .npy files.
first=$(head -n 1 "$work/data/ImageSets/Segmentation/val.txt")
"$WSSS" inspect --checkpoint "$work/run_cam/checkpoint.wsss" --image "$work/data/JPEGImages/$first.jpg" \
        --out "$work/inspect"
for f in input.npy tokens.npy attn_0.npy attn_1.npy scores.npy cam.npy inspection.json; do
  test -s "$work/inspect/$f" || { echo "inspect wrote no $f"; exit 1; }
done
# With the checkpoint's config changed (--set, as infer's): cam's maps without the flip average.
"$WSSS" inspect --checkpoint "$work/run_cam/checkpoint.wsss" --image "$work/data/JPEGImages/$first.jpg" \
        --out "$work/inspect_noflip" --set flip_inference=false
cmp -s "$work/inspect/input.npy" "$work/inspect_noflip/input.npy"
if cmp -s "$work/inspect/cam.npy" "$work/inspect_noflip/cam.npy"; then
  echo "inspect --set flip_inference=false gave the flip-averaged maps"; exit 1
fi

# The rule's switches: PAR and the β band (255 = ignore) on the cam maps.
"$WSSS" infer --checkpoint "$work/run_cam/checkpoint.wsss" --data "$work/data" --split val \
        --out "$work/pred_par" --par --band 0.35,0.55
test "$(ls "$work/pred_par/SegmentationClass" | wc -l)" -eq 8
grep -q '"par_iterations": 10' "$work/pred_par/manifest.json"

# --crf as refine's: palette PNGs of each image's size, the rule recorded in the manifest.
"$WSSS" infer --checkpoint "$work/run_cam/checkpoint.wsss" --data "$work/data" --split val \
        --out "$work/pred_crf" --crf --bg-threshold 0.45
grep -q '"crf": true' "$work/pred_crf/manifest.json"
grep -q '"crf": false' "$work/pred_cam/manifest.json"
python3 - "$work" <<'PY'
import os, struct, sys, zlib
w = sys.argv[1]
def png(path):  # (width, height, colour type, pixel rows) of an 8-bit PNG
    data = open(path, "rb").read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", path
    pos, idat, head = 8, b"", None
    while pos < len(data):
        n, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        if kind == b"IHDR":
            head = struct.unpack(">IIBB", body[:10])
        elif kind == b"IDAT":
            idat += body
        pos += 12 + n
    width, height, depth, colour = head
    assert depth == 8, (path, depth)
    raw = zlib.decompress(idat)
    stride = width * (1 if colour == 3 else 3 if colour == 2 else 1) + 1
    return width, height, colour, [raw[r * stride:(r + 1) * stride] for r in range(height)]
ids = open(os.path.join(w, "data/ImageSets/Segmentation/val.txt")).read().split()
differs = 0
for i in ids:
    gw, gh, _, _ = png(os.path.join(w, "data/SegmentationClass", i + ".png"))
    cw, ch, colour, crf = png(os.path.join(w, "pred_crf/SegmentationClass", i + ".png"))
    assert colour == 3, (i, "not a palette PNG", colour)
    assert (cw, ch) == (gw, gh), (i, (cw, ch), (gw, gh))
    differs += crf != png(os.path.join(w, "pred_cam/SegmentationClass", i + ".png"))[3]
print("infer --crf: %d of %d masks differ from the plain rule's" % (differs, len(ids)))
PY

# eval --sweep --par --crf: each threshold's refined masks scored on the saved maps. At the
# threshold it picks they are the masks `infer --par --crf` writes, so both score the same.
"$WSSS" eval --pred "$work/pred_cam" --data "$work/data" --split val --json --sweep --par --crf \
        > "$work/eval_cam_refined.json"
t=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["best_bg_threshold"])' "$work/eval_cam_refined.json")
"$WSSS" infer --checkpoint "$work/run_cam/checkpoint.wsss" --data "$work/data" --split val \
        --out "$work/pred_refined" --par --crf --bg-threshold "$t"
"$WSSS" eval --pred "$work/pred_refined" --data "$work/data" --split val --json > "$work/eval_refined.json"
python3 - "$work/eval_cam_refined.json" "$work/eval_refined.json" <<'PY'
import json, sys
swept, inferred = (json.load(open(p)) for p in sys.argv[1:3])
assert swept["sweep_refinement"] == {"par_iterations": 10, "crf": True, "crf_preset": "psa"}, swept["sweep_refinement"]
assert swept["sweep_thresholds"] == [round(i * 0.05, 6) for i in range(1, 21)], swept["sweep_thresholds"]
assert abs(swept["best_miou"] - inferred["miou"]) < 1e-12, (swept["best_miou"], inferred["miou"])
PY
if "$WSSS" eval --pred "$work/pred_cam" --data "$work/data" --split val --crf 2> "$work/err.txt"; then
  echo "eval --crf without --sweep was accepted"; exit 1
fi
grep -q 'add --sweep' "$work/err.txt"
# A sweep over an output without maps says where the maps should be instead of printing no sweep.
if "$WSSS" eval --pred "$work/pred_crf" --data "$work/data" --split val --sweep 2> "$work/err.txt"; then
  echo "eval --sweep without saved maps succeeded"; exit 1
fi
grep -q 'pred_crf/maps" (`wsss infer --save-maps` writes them)' "$work/err.txt"

# Pretraining says how good the backbone is, per class and on its own training items.
"$WSSS" pretrain --backbone vit_test_patch8 --out "$work/pretrained.safetensors" --iters 2 --batch 4 --size 32 \
        --multi-fraction 0 --eval-images 200 > "$work/pretrain.txt" 2>&1
test -s "$work/pretrained.safetensors"
grep -Eq 'accuracy [0-9.]+% \(raw weights [0-9.]+%; train-split items [0-9.]+%\)' "$work/pretrain.txt"
test "$(grep '^per class:' "$work/pretrain.txt" | grep -Eo ' [0-9]+%' | wc -l)" -eq 10
grep -q '^most confused (true → answer, images): ' "$work/pretrain.txt"
# --resume: only of an interrupted run (none here: the finished one left no state), and with the
# saved run's options, not new ones.
if "$WSSS" pretrain --resume --out "$work/pretrained.safetensors" 2> "$work/err.txt"; then
  echo "pretrain --resume accepted a finished run"; exit 1
fi
grep -q 'pretrained.safetensors.resume" is missing' "$work/err.txt"
if "$WSSS" pretrain --resume --out "$work/pretrained.safetensors" --lr 1e-4 2> "$work/err.txt"; then
  echo "pretrain --resume accepted a new --lr"; exit 1
fi
grep -q 'drop --lr' "$work/err.txt"

# Bad input gets a clear message and a non-zero exit.
if "$WSSS" train --method cam --data "$work/data" --out "$work/bad" --iters 1 --backbone vit_test_patch8 \
     --weights none --set pool=gap 2> "$work/err.txt"; then
  echo "train accepted an unknown config key"; exit 1
fi
grep -q '"pool"' "$work/err.txt"
if "$WSSS" infer --checkpoint "$work/data/labelmap.txt" --data "$work/data" --out "$work/bad" 2> "$work/err.txt"; then
  echo "infer accepted a non-checkpoint"; exit 1
fi
grep -q "labelmap.txt" "$work/err.txt"
echo "cli smoke: 1 passed, 0 failed"
