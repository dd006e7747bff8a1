#!/usr/bin/env bash
# `wsss project new` then `wsss export` as a user runs them, on a tiny demo dataset: the VOC
# folder (corrected mask kept byte for byte, rejected image left out, manifest with the
# checkpoint's SHA-256), the COCO JSON (its RLE decoded here by a transliteration of pycocotools'
# rleFrString and compared with the VOC masks pixel by pixel), and a clear message plus a
# non-zero exit for each refusal.
set -euo pipefail
WSSS=${WSSS_BIN:?}
work=${1:?work folder}
mounts=()
cleanup() { for m in "${mounts[@]}"; do umount "$m" 2>/dev/null || true; done; }
trap cleanup EXIT
for m in "$work"/disk_*; do [[ -d "$m" ]] && umount "$m" 2>/dev/null || true; done
rm -rf "$work"; mkdir -p "$work"
export WSSS_THREADS=2
# mount_tmpfs DIR SIZE [ro]: a small file system of its own, when this process may mount one (root).
mount_tmpfs() {
  mkdir -p "$1"
  [[ $(id -u) -eq 0 && -z "${WSSS_TEST_NO_MOUNT:-}" ]] && mount -t tmpfs -o "size=$2${3:+,$3}" tmpfs "$1" 2>/dev/null || return 1
  mounts+=("$1")
}
checksum() { (cd "$1" && find . -type f -print0 | sort -z | xargs -0 sha1sum) | sha1sum; }

"$WSSS" demo-data --out "$work/data" --train 6 --val 3 --size 64 --seed 3 2> /dev/null
"$WSSS" train --method cam --data "$work/data" --out "$work/run" --iters 2 --batch 4 --size 64 \
        --backbone vit_test_patch8 --weights none 2> /dev/null
mapfile -t ids < "$work/data/ImageSets/Segmentation/train.txt"
test "${#ids[@]}" -eq 6

# A project beside the data: its paths are stored relative to it.
"$WSSS" project new --data "$work/data" --checkpoint "$work/run/checkpoint.wsss" --out "$work/study.wsssproj"
python3 - "$work/study.wsssproj" <<'PY'
import json, sys
p = json.load(open(sys.argv[1]))
assert p["format"] == 1 and p["data"] == "data" and p["checkpoint"] == "run/checkpoint.wsss", p
assert p["split"] == "train" and p["masks"] == "study.masks" and p["reviews"] == {}, p
assert set(p["rule"]) == {"bg_threshold", "background", "band_low", "band_high", "par_iterations", "crf", "crf_preset"}, p
PY

fails=0
expect_error() { # name, expected text, then the arguments
  local name=$1 text=$2; shift 2
  if "$WSSS" "$@" > /dev/null 2> "$work/err.txt"; then
    echo "FAIL $name: exit 0"; fails=$((fails + 1)); return
  fi
  if ! grep -qF -- "$text" "$work/err.txt"; then
    echo "FAIL $name: message lacks '$text': $(cat "$work/err.txt")"; fails=$((fails + 1))
  fi
}
expect_error project-exists "--force" project new --data "$work/data" --checkpoint "$work/run/checkpoint.wsss" \
             --out "$work/study.wsssproj"
expect_error project-no-data "is not a folder" project new --data "$work/nodata" \
             --checkpoint "$work/run/checkpoint.wsss" --out "$work/x.wsssproj"
expect_error project-no-checkpoint "is not a file" project new --data "$work/data" \
             --checkpoint "$work/none.wsss" --out "$work/x.wsssproj"
expect_error project-no-split "has no split \"test\"" project new --data "$work/data" \
             --checkpoint "$work/run/checkpoint.wsss" --out "$work/x.wsssproj" --split test
expect_error project-no-image "--image \"val_999999\" is not in split \"train\"" project new --data "$work/data" \
             --checkpoint "$work/run/checkpoint.wsss" --out "$work/x.wsssproj" --image val_999999
test ! -e "$work/x.wsssproj"
# --image: the image the studio opens on.
"$WSSS" project new --data "$work/data" --checkpoint "$work/run/checkpoint.wsss" --out "$work/open.wsssproj" \
        --image "${ids[2]}" > /dev/null
python3 - "$work/open.wsssproj" "${ids[2]}" <<'PY'
import json, sys
assert json.load(open(sys.argv[1]))["image"] == sys.argv[2]
PY

# A rule from a manifest ("rule" key), then the review a person made in the studio: the second
# image corrected by hand (here: its ground truth), the fourth rejected.
printf '{"method": "cam", "rule": {"bg_threshold": 0.3, "background": "band", "band_low": 0.2, "band_high": 0.4}}\n' \
  > "$work/rule_manifest.json"
"$WSSS" project new --data "$work/data" --checkpoint "$work/run/checkpoint.wsss" --out "$work/study.wsssproj" \
        --rule "$work/rule_manifest.json" --force
mkdir -p "$work/study.masks"
cp "$work/data/SegmentationClass/${ids[1]}.png" "$work/study.masks/"
python3 - "$work/study.wsssproj" "${ids[1]}" "${ids[3]}" <<'PY'
import json, sys
path, corrected, rejected = sys.argv[1:]
p = json.load(open(path))
assert p["rule"]["background"] == "band" and abs(p["rule"]["band_low"] - 0.2) < 1e-6, p["rule"]
p["reviews"] = {corrected: "corrected", rejected: "rejected"}
json.dump(p, open(path, "w"), indent=2)
PY

"$WSSS" export --project "$work/study.wsssproj" --out "$work/voc" 2> /dev/null
test "$(wc -l < "$work/voc/ImageSets/Segmentation/train.txt")" -eq 5
test "$(ls "$work/voc/SegmentationClass" | wc -l)" -eq 5
test ! -e "$work/voc/SegmentationClass/${ids[3]}.png"
cmp "$work/voc/SegmentationClass/${ids[1]}.png" "$work/study.masks/${ids[1]}.png"
test -f "$work/voc/labelmap.txt"
sha=$(sha256sum "$work/run/checkpoint.wsss" | cut -d' ' -f1)
python3 - "$work/voc/manifest.json" "$sha" "${ids[1]}" "${ids[3]}" <<'PY'
import json, sys
m = json.load(open(sys.argv[1]))
sha, corrected, rejected = sys.argv[2:]
assert m["format"] == "voc" and m["method"] == "cam" and m["checkpoint_sha256"] == sha, m
assert m["corrected"] == [corrected] and m["rejected"] == [rejected] and m["images"] == 5, m
assert m["rule"]["background"] == "band" and m["complete"] is True, m
PY
ls "$work" | grep -q '\.partial-' && { echo "a staging folder was left behind"; exit 1; }

"$WSSS" export --project "$work/study.wsssproj" --out "$work/coco" --format coco 2> /dev/null
test "$(ls "$work/coco" | tr '\n' ' ')" = "annotations.json labelmap.txt manifest.json "
python3 - "$work/coco" "$work/voc" "$sha" <<'PY'
import json, os, struct, sys, zlib
coco_dir, voc_dir, sha = sys.argv[1:]

def rle_from_string(s):  # pycocotools common/maskApi.c rleFrString, line for line
    counts, p = [], 0
    while p < len(s):
        x, k, more = 0, 0, True
        while more:
            c = ord(s[p]) - 48
            x |= (c & 0x1F) << 5 * k
            more = c & 0x20
            p += 1; k += 1
            if not more and (c & 0x10):
                x |= -1 << 5 * k
        if len(counts) > 2:
            x += counts[-2]
        counts.append(x)
    return counts

def decode(counts, h, w):  # column-major runs, background first → rows of 0/1
    flat, v = [], 0
    for c in counts:
        flat += [v] * c; v ^= 1
    assert len(flat) == h * w, (len(flat), h, w)
    return [[flat[x * h + y] for x in range(w)] for y in range(h)]

def read_palette_png(path):  # 8-bit palette PNG → rows of indices (all five filters)
    data = open(path, "rb").read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    at, idat = 8, b""
    while at < len(data):
        n, kind = struct.unpack(">I4s", data[at:at + 8])
        body = data[at + 8:at + 8 + n]
        if kind == b"IHDR":
            w, h, depth, colour = struct.unpack(">IIBB", body[:10])
            assert depth == 8 and colour == 3, (depth, colour)
        elif kind == b"IDAT":
            idat += body
        at += 12 + n
    raw, rows, prev = zlib.decompress(idat), [], [0] * w
    for y in range(h):
        f, line = raw[y * (w + 1)], list(raw[y * (w + 1) + 1:(y + 1) * (w + 1)])
        for x in range(w):
            a, b = line[x - 1] if x else 0, prev[x]
            c = prev[x - 1] if x else 0
            if f == 1: line[x] = (line[x] + a) & 255
            elif f == 2: line[x] = (line[x] + b) & 255
            elif f == 3: line[x] = (line[x] + (a + b) // 2) & 255
            elif f == 4:
                pa, pb, pc = abs(b - c), abs(a - c), abs(a + b - 2 * c)
                line[x] = (line[x] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append(line); prev = line
    return rows

coco = json.load(open(os.path.join(coco_dir, "annotations.json")))
ids = open(os.path.join(voc_dir, "ImageSets/Segmentation/train.txt")).read().split()
assert [c["id"] for c in coco["categories"]] == list(range(1, 11)), coco["categories"]
assert len(coco["images"]) == len(ids) == 5
for image, id_ in zip(coco["images"], ids):
    assert image["file_name"] == "JPEGImages/%s.jpg" % id_, image
    mask = read_palette_png(os.path.join(voc_dir, "SegmentationClass", id_ + ".png"))
    h, w = len(mask), len(mask[0])
    assert (image["height"], image["width"]) == (h, w), image
    present = sorted({v for row in mask for v in row} - {0, 255})
    anns = [a for a in coco["annotations"] if a["image_id"] == image["id"]]
    assert [a["category_id"] for a in anns] == present, (id_, present, anns)
    for a in anns:
        assert a["segmentation"]["size"] == [h, w] and a["iscrowd"] == 0
        got = decode(rle_from_string(a["segmentation"]["counts"]), h, w)
        want = [[int(v == a["category_id"]) for v in row] for row in mask]
        assert got == want, (id_, a["category_id"])
        assert a["area"] == sum(map(sum, want))
        xs = [x for row in want for x, v in enumerate(row) if v]
        ys = [y for y, row in enumerate(want) if any(row)]
        assert a["bbox"] == [min(xs), min(ys), max(xs) - min(xs) + 1, max(ys) - min(ys) + 1], a["bbox"]
m = json.load(open(os.path.join(coco_dir, "manifest.json")))
assert m["format"] == "coco" and m["checkpoint_sha256"] == sha and m["annotations"] == len(coco["annotations"]), m
assert "255" in m["ignore"], m
PY

# Refusals: a non-empty folder without --force (kept as it was), the dataset, an unknown format.
mkdir -p "$work/taken"; echo keep > "$work/taken/notes.txt"
expect_error not-empty "--force" export --project "$work/study.wsssproj" --out "$work/taken"
test "$(ls "$work/taken")" = "notes.txt"
"$WSSS" export --project "$work/study.wsssproj" --out "$work/taken" --force 2> /dev/null
test -f "$work/taken/manifest.json" && test ! -e "$work/taken/notes.txt"
expect_error inside-data "inside the dataset" export --project "$work/study.wsssproj" --out "$work/data/export"
test ! -e "$work/data/export"
expect_error format "yolo" export --project "$work/study.wsssproj" --out "$work/y" --format yolo
expect_error no-project "nothere.wsssproj" export --project "$work/nothere.wsssproj" --out "$work/z"

# A read-only folder and a full disk: the reason, and nothing at --out (an earlier export there
# stays as it was); no staging folder is left behind.
if mount_tmpfs "$work/disk_ro" 1m ro; then
  expect_error read-only "Read-only file system" export --project "$work/study.wsssproj" --out "$work/disk_ro/voc"
  test -z "$(ls -A "$work/disk_ro")"
elif [[ $(id -u) -ne 0 ]]; then
  mkdir -p "$work/locked"; chmod 555 "$work/locked"
  expect_error read-only "Permission denied" export --project "$work/study.wsssproj" --out "$work/locked/voc"
  test -z "$(ls -A "$work/locked")"; chmod 755 "$work/locked"
else
  echo "skipped the read-only folder: root, and no tmpfs may be mounted here"
fi
if mount_tmpfs "$work/disk_full" 1m; then
  "$WSSS" export --project "$work/study.wsssproj" --out "$work/disk_full/earlier" 2> /dev/null
  before=$(checksum "$work/disk_full/earlier")
  size=$(du -sb "$work/disk_full/earlier" | cut -f1)
  free=$(df -B1 --output=avail "$work/disk_full" | tail -n 1 | tr -d ' ')
  head -c $(( free - size / 2 )) /dev/zero > "$work/disk_full/filler" 2> /dev/null || true
  expect_error full "No space left on device" export --project "$work/study.wsssproj" --out "$work/disk_full/voc"
  test ! -e "$work/disk_full/voc"
  expect_error full-force "unchanged" export --project "$work/study.wsssproj" --out "$work/disk_full/earlier" --force
  test "$(checksum "$work/disk_full/earlier")" = "$before"
  test "$(ls "$work/disk_full" | tr '\n' ' ')" = "earlier filler "
else
  echo "skipped the full disk: no tmpfs may be mounted here"
fi
test "$fails" -eq 0
echo "cli export: all checks passed"
