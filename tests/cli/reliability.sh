#!/usr/bin/env bash
# What a user owns is never overwritten, lost or silently mixed: the CLI under bad input and faults,
# as a user meets them (README, "What happens when…"). Each case checks the message, the exit
# status and what stays on disk. A full or read-only disk is a small tmpfs where this process may
# mount one (root); elsewhere a file-size limit stands in for the full disk and permissions for
# the read-only folder.
set -euo pipefail
WSSS=${WSSS_BIN:?}
work=${1:?work folder}
mounts=()
cleanup() {
  for m in "${mounts[@]}"; do umount "$m" 2>/dev/null || true; done
  for p in $(jobs -p); do kill -9 "$p" 2>/dev/null || true; done
}
trap cleanup EXIT
for m in "$work"/disk_*; do [[ -d "$m" ]] && umount "$m" 2>/dev/null || true; done
rm -rf "$work"; mkdir -p "$work"
export WSSS_THREADS=1
passed=0

fail() { echo "FAIL: $*" >&2; exit 1; }
ok() { passed=$((passed + 1)); echo "ok $passed - $*"; }
# expect_error FILE CMD...: CMD must exit 1 (an error, not a crash); its stderr goes to FILE.
expect_error() {
  local out=$1; shift
  local rc=0
  "$@" > /dev/null 2> "$out" || rc=$?
  [[ $rc -eq 1 ]] || { cat "$out" >&2; fail "expected exit 1, got $rc: $*"; }
}
has() { grep -qF -- "$2" "$1" || { cat "$1" >&2; fail "\"$2\" not in $1"; }; }
checksum() { (cd "$1" && find . -type f ! -name '.wsss.lock' -print0 | sort -z | xargs -0 sha1sum) | sha1sum; }
# mount_tmpfs DIR SIZE [ro]: a small file system of its own, when this process may mount one
# (WSSS_TEST_NO_MOUNT=1 tries the stand-ins instead).
mount_tmpfs() {
  mkdir -p "$1"
  [[ $(id -u) -eq 0 && -z "${WSSS_TEST_NO_MOUNT:-}" ]] && mount -t tmpfs -o "size=$2${3:+,$3}" tmpfs "$1" 2>/dev/null || return 1
  mounts+=("$1")
}
# free_bytes DIR
free_bytes() { df -B1 --output=avail "$1" | tail -n 1 | tr -d ' '; }
# fill DIR LEAVE: a filler file so that about LEAVE bytes stay free.
fill() {
  local free; free=$(free_bytes "$1")
  local size=$(( free > $2 ? free - $2 : 0 ))
  head -c "$size" /dev/zero > "$1/filler" 2>/dev/null || true
}
# A tiny cam run's flags; "$WSSS" "${tiny[@]}" … & makes $! the trainer itself, for kill -9.
tiny=(train --method cam --backbone vit_test_patch8 --weights none --size 64 --batch 2)

"$WSSS" demo-data --out "$work/data" --train 8 --val 6 --size 64 --seed 4 > /dev/null
"$WSSS" "${tiny[@]}" --data "$work/data" --out "$work/run" --iters 3 > /dev/null 2>&1
ckpt="$work/run/checkpoint.wsss"

# 1. infer into the dataset, or into its ground truth: refused, nothing touched.
before=$(checksum "$work/data")
expect_error "$work/e1.txt" "$WSSS" infer --checkpoint "$ckpt" --data "$work/data" --out "$work/data"
has "$work/e1.txt" "is the dataset itself"
expect_error "$work/e1b.txt" "$WSSS" infer --checkpoint "$ckpt" --data "$work/data" --out "$work/data/SegmentationClass"
has "$work/e1b.txt" "holds files that no \`wsss infer\` wrote"
mkdir -p "$work/mine"; echo "my notes" > "$work/mine/labelmap.txt"
expect_error "$work/e1c.txt" "$WSSS" infer --checkpoint "$ckpt" --data "$work/data" --out "$work/mine"
has "$work/e1c.txt" "\"$work/mine\" holds files that no \`wsss infer\` wrote (labelmap.txt)"
[[ "$(checksum "$work/data")" == "$before" && "$(cat "$work/mine/labelmap.txt")" == "my notes" ]] || fail "user files changed"
# An earlier output of infer is ours to replace.
"$WSSS" infer --checkpoint "$ckpt" --data "$work/data" --out "$work/pred" 2> /dev/null
"$WSSS" infer --checkpoint "$ckpt" --data "$work/data" --out "$work/pred" 2> /dev/null
grep -q '"complete": true' "$work/pred/manifest.json" || fail "a rerun into an earlier output failed"
ok "infer never writes into the dataset or a folder of other files"

# 2. kill -9 at arbitrary moments of a run that saves every step: every resume continues.
"$WSSS" "${tiny[@]}" --data "$work/data" --out "$work/killed" --iters 400 --save-every 1 > /dev/null 2>&1 &
pid=$!
for delay in 0.7 0.45 0.9 0.3 1.1 0.6; do
  for _ in $(seq 100); do [[ -f "$work/killed/checkpoint.wsss" ]] && break; sleep 0.05; done
  sleep "$delay"
  kill -9 "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true
  "$WSSS" train --resume --out "$work/killed" > /dev/null 2> "$work/e2.txt" &
  pid=$!
  sleep 0.3
  if ! kill -0 "$pid" 2>/dev/null; then
    wait "$pid" || { grep -q "already finished" "$work/e2.txt" && break; cat "$work/e2.txt" >&2; fail "resume after kill -9"; }
  fi
done
wait "$pid" || { grep -q "already finished" "$work/e2.txt" || { cat "$work/e2.txt" >&2; fail "final resume"; }; }
ls -a "$work/killed" | grep -q '\.tmp-' && fail "temporaries left after the resumed run"
ok "a run killed (-9) six times resumes every time"

# 3. train into a finished run's folder: refused without --force.
before=$(sha1sum < "$ckpt")
expect_error "$work/e3.txt" "$WSSS" "${tiny[@]}" --data "$work/data" --out "$work/run" --iters 2
has "$work/e3.txt" "already holds a cam run (finished, 3 steps); --resume continues it, --force starts over"
[[ "$(sha1sum < "$ckpt")" == "$before" ]] || fail "the finished run's checkpoint changed"
"$WSSS" "${tiny[@]}" --data "$work/data" --out "$work/forced" --iters 2 > /dev/null 2>&1
"$WSSS" "${tiny[@]}" --data "$work/data" --out "$work/forced" --iters 2 --force > /dev/null 2>&1
ok "a finished run is not overwritten without --force"

# 4. a folder in use by another process: the second says who holds it.
"$WSSS" "${tiny[@]}" --data "$work/data" --out "$work/busy" --iters 100000 --save-every 100000 > /dev/null 2>&1 &
busy=$!
for _ in $(seq 200); do [[ -s "$work/busy/.wsss.lock" ]] && break; sleep 0.05; done
expect_error "$work/e4.txt" "$WSSS" "${tiny[@]}" --data "$work/data" --out "$work/busy" --iters 2 --force
has "$work/e4.txt" "\"$work/busy\" is in use by another process (pid $busy, wsss train --method cam"
"$WSSS" infer --checkpoint "$ckpt" --data "$work/data" --out "$work/pred_lock" > /dev/null 2>&1 &
infer=$!
for _ in $(seq 200); do [[ -s "$work/pred_lock/.wsss.lock" ]] && break; kill -0 $infer 2>/dev/null || break; sleep 0.01; done
if kill -0 $infer 2>/dev/null; then
  rc=0; "$WSSS" infer --checkpoint "$ckpt" --data "$work/data" --out "$work/pred_lock" > /dev/null 2> "$work/e4b.txt" || rc=$?
  if kill -0 $infer 2>/dev/null; then
    [[ $rc -eq 1 ]] || fail "a second infer into a folder being written must fail"
    has "$work/e4b.txt" "is in use by another process (pid $infer, wsss infer of val with cam"
  fi
fi
wait $infer
kill -9 $busy; wait $busy 2>/dev/null || true
ok "a folder being written is locked, and the refusal names the holder"

# 5. infer onto a read-only or full disk: an error, and a manifest that does not claim to be whole.
if mount_tmpfs "$work/disk_ro" 1m ro; then
  expect_error "$work/e5.txt" "$WSSS" infer --checkpoint "$ckpt" --data "$work/data" --out "$work/disk_ro/pred"
  has "$work/e5.txt" "Read-only file system"
  has "$work/e5.txt" "$work/disk_ro/pred"
fi
if mount_tmpfs "$work/disk_infer" 4m; then
  "$WSSS" infer --checkpoint "$ckpt" --data "$work/data" --out "$work/disk_infer/probe" --save-maps 2> /dev/null
  per_image=$(( $(du -sbc "$work/disk_infer/probe/maps" "$work/disk_infer/probe/SegmentationClass" | tail -n 1 | cut -f1) / 6 + 8192 ))
  rm -rf "$work/disk_infer/probe"
  fill "$work/disk_infer" $(( 3 * per_image + 16384 ))
  expect_error "$work/e5b.txt" "$WSSS" infer --checkpoint "$ckpt" --data "$work/data" --out "$work/disk_infer/pred" --save-maps
  rm -f "$work/disk_infer/filler"
else
  # No mount here: a file-size limit fails the first write as a full disk would.
  rc=0
  ( trap '' XFSZ; ulimit -f 4; exec "$WSSS" infer --checkpoint "$ckpt" --data "$work/data" --out "$work/disk_infer/pred" --save-maps ) \
    > /dev/null 2> "$work/e5b.txt" || rc=$?
  [[ $rc -eq 1 ]] || { cat "$work/e5b.txt" >&2; fail "infer on a full disk exited $rc"; }
fi
has "$work/e5b.txt" "stopped after"
python3 - "$work/disk_infer/pred" <<'PY'
import json, os, sys
out = sys.argv[1]
m = json.load(open(os.path.join(out, "manifest.json")))
assert m["complete"] is False, m
masks = sorted(f[:-4] for f in os.listdir(os.path.join(out, "SegmentationClass")) if f.endswith(".png"))
maps = sorted(f[:-4] for f in os.listdir(os.path.join(out, "maps")) if f.endswith(".npy"))
assert masks == maps, (masks, maps)
listed = os.path.join(out, "ImageSets/Segmentation/val.txt")
if os.path.exists(listed):
    assert sorted(open(listed).read().split()) == masks, (listed, masks)
    assert "error" in m and m["images"] == len(masks), m
assert not [f for _, _, fs in os.walk(out) for f in fs if ".tmp-" in f], "temporaries left"
PY
ok "infer on a read-only or full disk fails, and the manifest says incomplete"

# 6. a full disk while training: an error naming what to free, the last checkpoint kept, no temporaries.
"$WSSS" "${tiny[@]}" --data "$work/data" --out "$work/sizes" --iters 100000 --save-every 1 > /dev/null 2>&1 &
pid=$!
for _ in $(seq 400); do [[ -f "$work/sizes/resume-1.state" && -f "$work/sizes/checkpoint.wsss" ]] && break; sleep 0.02; done
kill -9 $pid; wait $pid 2>/dev/null || true
state=$(stat -c %s "$work"/sizes/resume-*.state | head -n 1)
checkpoint=$(stat -c %s "$work/sizes/checkpoint.wsss")
if mount_tmpfs "$work/disk_train" 4m; then
  run="$work/disk_train/run"
  mkdir -p "$run"
  fill "$work/disk_train" $(( state + checkpoint + state / 2 + 16384 ))
  expect_error "$work/e6.txt" "$WSSS" "${tiny[@]}" --data "$work/data" --out "$run" --iters 6 --save-every 1
  has "$work/e6.txt" "cannot save step 2"
  has "$work/e6.txt" "The checkpoint of step 1 in \"$run\" is kept with its resume state; free about"
  [[ -f "$run/resume-1.state" ]] || fail "the last good resume state is gone"
  ls -a "$run" | grep -q '\.tmp-' && fail "a temporary was left on the full disk"
  rm "$work/disk_train/filler"
  "$WSSS" train --resume --out "$run" > /dev/null 2>&1 || fail "resume after freeing the disk"
else
  run="$work/disk_train/run"
  rc=0
  ( trap '' XFSZ; ulimit -f $(( (checkpoint + state) / 2048 )); exec "$WSSS" train --method cam --backbone vit_test_patch8 \
      --weights none --size 64 --batch 2 --val-split none --data "$work/data" --out "$run" --iters 6 --save-every 1 ) \
    > /dev/null 2> "$work/e6.txt" || rc=$?
  [[ $rc -eq 1 ]] || { cat "$work/e6.txt" >&2; fail "train on a full disk exited $rc"; }
  has "$work/e6.txt" "cannot save step"
  has "$work/e6.txt" "free about"
  ls -a "$run" | grep -q '\.tmp-' && fail "a temporary was left on the full disk"
fi
ok "a full disk while training keeps the last checkpoint and says what to free"

# 7. class lists: a stray labelmap line is rejected; another class list is refused, not shifted.
cp -r "$work/data" "$work/data_renamed"
sed -i 's/^sandal:/slipper:/' "$work/data_renamed/labelmap.txt"
expect_error "$work/e7.txt" "$WSSS" infer --checkpoint "$ckpt" --data "$work/data_renamed" --out "$work/pred_renamed"
has "$work/e7.txt" "slipper"
has "$work/e7.txt" "are not the checkpoint's"
expect_error "$work/e7b.txt" "$WSSS" eval --pred "$work/pred" --data "$work/data_renamed"
has "$work/e7b.txt" "the predictions come from a model of other classes"
cp -r "$work/data" "$work/data_garbage"
echo "garbage :::" >> "$work/data_garbage/labelmap.txt"
expect_error "$work/e7c.txt" "$WSSS" "${tiny[@]}" --data "$work/data_garbage" --out "$work/run_garbage" --iters 1
has "$work/e7c.txt" "line 13: class \"garbage\" has no colour"
ok "class lists that differ are refused"

# 9. messages that help.
mkdir -p "$work/weights_dir"
expect_error "$work/e9.txt" "$WSSS" train --method cam --backbone vit_test_patch8 --size 64 --data "$work/data" --out "$work/run_w" --iters 1 --weights "$work/weights_dir"
has "$work/e9.txt" "is a folder, not a .safetensors file"
printf 'PK\003\004rest of a zip' > "$work/model.pth"
expect_error "$work/e9b.txt" "$WSSS" train --method cam --backbone vit_test_patch8 --size 64 --data "$work/data" --out "$work/run_w" --iters 1 --weights "$work/model.pth"
has "$work/e9b.txt" "is a PyTorch .pth file (zip), not safetensors; convert it once"
expect_error "$work/e9c.txt" "$WSSS" eval --pred "$work/no_such_pred" --data "$work/data"
has "$work/e9c.txt" "--pred \"$work/no_such_pred\" does not exist"
"$WSSS" train --method cam --backbone vit_test_patch8 --weights none --size 64 --data "$work/data" --out "$work/run_batch" --iters 1 --batch 20 > /dev/null 2> "$work/e9d.txt"
has "$work/e9d.txt" "--batch 20 is larger than the 8 images of split \"train\""
# A run started with a relative --data resumes from any folder.
( cd "$work" && exec "$WSSS" train --method cam --backbone vit_test_patch8 --weights none --size 64 --batch 2 \
    --val-split none --data data --out rel --iters 400 --save-every 2 > /dev/null 2>&1 ) &
pid=$!
for _ in $(seq 400); do [[ -f "$work/rel/checkpoint.wsss" ]] && break; sleep 0.02; done
kill -9 $pid; wait $pid 2>/dev/null || true
( cd / && "$WSSS" train --resume --out "$work/rel" > /dev/null 2> "$work/e9e.txt" ) ||
  grep -q "already finished" "$work/e9e.txt" || { cat "$work/e9e.txt" >&2; fail "resume from another folder"; }
ok "messages name folders, .pth files, missing predictions, oversized batches; relative data resumes"

echo "cli reliability: $passed passed, 0 failed"
