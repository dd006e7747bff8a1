#!/usr/bin/env bash
# `wsss train --distributed` and `wsss infer --distributed` as a user launches them: two processes
# with Gloo on the loopback. Rank 0 writes the run, rank 1 nothing; the run's loss is the one
# process's with the combined batch; two ranks' inference is one process's; a missing variable, a
# rank killed mid-run and a rank 0 alone are errors that say so, not hangs.
set -euo pipefail
WSSS=${WSSS_BIN:?}
work=${1:?work folder}
cleanup() { for p in $(jobs -p); do kill -9 "$p" 2>/dev/null || true; done; }
trap cleanup EXIT
rm -rf "$work"; mkdir -p "$work"
export WSSS_THREADS=1
passed=0

fail() { echo "FAIL: $*" >&2; exit 1; }
ok() { passed=$((passed + 1)); echo "ok $passed - $*"; }
has() { grep -qF -- "$2" "$1" || { cat "$1" >&2; fail "\"$2\" not in $1"; }; }
# A TCP port free on the loopback now.
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
# The total loss of the last line of a metrics.jsonl.
last_loss() { grep '"loss"' "$1" | tail -n 1 | sed -E 's/.*"total":([-0-9.eE+]+).*/\1/'; }
# No warm-up: the steps move the weights, so a wrong gradient shows in the loss.
tiny=(train --method cam --backbone vit_test_patch8 --weights none --size 64 --device cpu --warmup 0)

"$WSSS" demo-data --out "$work/data" --train 8 --val 2 --size 64 --seed 3 > /dev/null 2>&1

# 1. Two ranks of batch 2 = one process of batch 4: same loss; only rank 0 writes (a save at step 2,
#    which rank 1 waits for, and the end).
export WORLD_SIZE=2 MASTER_ADDR=127.0.0.1 MASTER_PORT
MASTER_PORT=$(free_port)
RANK=0 timeout 300 "$WSSS" "${tiny[@]}" --data "$work/data" --out "$work/r0" --iters 4 --batch 2 --save-every 2 --distributed \
  > "$work/r0.log" 2>&1 & rank0=$!
rc1=0; RANK=1 timeout 300 "$WSSS" "${tiny[@]}" --data "$work/data" --out "$work/r1" --iters 4 --batch 2 --save-every 2 --distributed \
  > "$work/r1.log" 2>&1 || rc1=$?
rc0=0; wait "$rank0" || rc0=$?
[[ $rc0 -eq 0 && $rc1 -eq 0 ]] || { cat "$work/r0.log" "$work/r1.log" >&2; fail "ranks exited $rc0 and $rc1"; }
[[ -f "$work/r0/checkpoint.wsss" && -f "$work/r0/metrics.jsonl" ]] || fail "rank 0 wrote no run"
[[ ! -e "$work/r1" ]] || fail "rank 1 wrote into its --out"
grep -aqF '\"world_size\":2' "$work/r0/checkpoint.wsss" || fail "the run does not record its world size"
unset WORLD_SIZE MASTER_ADDR MASTER_PORT
"$WSSS" "${tiny[@]}" --data "$work/data" --out "$work/single" --iters 4 --batch 4 > /dev/null 2>&1
awk -v a="$(last_loss "$work/r0/metrics.jsonl")" -v b="$(last_loss "$work/single/metrics.jsonl")" \
  'BEGIN { d = a - b; if (d < 0) d = -d; exit !(a != "" && d < 1e-5) }' ||
  fail "2 ranks' loss $(last_loss "$work/r0/metrics.jsonl") is not one process's $(last_loss "$work/single/metrics.jsonl")"
ok "two ranks of --batch 2 train as one process of --batch 4; rank 0 alone writes"

# 2. Two ranks infer the split into one folder: the very files one process writes.
MASTER_PORT=$(free_port)
export WORLD_SIZE=2 MASTER_ADDR=127.0.0.1 MASTER_PORT
infer=(infer --checkpoint "$work/r0/checkpoint.wsss" --data "$work/data" --split train --device cpu)
RANK=0 timeout 300 "$WSSS" "${infer[@]}" --out "$work/infer2" --distributed > "$work/i0.log" 2>&1 & rank0=$!
rc1=0; RANK=1 timeout 300 "$WSSS" "${infer[@]}" --out "$work/infer2" --distributed > "$work/i1.log" 2>&1 || rc1=$?
rc0=0; wait "$rank0" || rc0=$?
[[ $rc0 -eq 0 && $rc1 -eq 0 ]] || { cat "$work/i0.log" "$work/i1.log" >&2; fail "infer ranks exited $rc0 and $rc1"; }
unset WORLD_SIZE MASTER_ADDR MASTER_PORT
"$WSSS" "${infer[@]}" --out "$work/infer1" > /dev/null 2>&1
diff -r "$work/infer1" "$work/infer2" > /dev/null || fail "2 ranks' inference differs from one process's"
[[ $(ls "$work/infer2/SegmentationClass" | wc -l) -eq 8 ]] || fail "not every image has its mask"
ok "two ranks infer the masks, list and manifest one process writes"

# 3. A variable missing: named.
rc=0; RANK=0 WORLD_SIZE=2 MASTER_PORT=29500 "$WSSS" "${tiny[@]}" --data "$work/data" --out "$work/e2" --iters 2 \
  --distributed > /dev/null 2> "$work/e2.txt" || rc=$?
[[ $rc -eq 1 ]] || fail "a missing MASTER_ADDR exited $rc"
has "$work/e2.txt" "MASTER_ADDR is not set"
ok "a missing MASTER_ADDR is named"

# 4. Rank 1 killed mid-run: rank 0 stops with an error at once, well within its timeout.
export WORLD_SIZE=2 MASTER_ADDR=127.0.0.1 WSSS_DIST_TIMEOUT=20
MASTER_PORT=$(free_port); export MASTER_PORT
start=$(date +%s)
RANK=0 timeout 120 "$WSSS" "${tiny[@]}" --data "$work/data" --out "$work/k0" --iters 100000 --batch 2 \
  --distributed > /dev/null 2> "$work/k0.txt" & rank0=$!
RANK=1 "$WSSS" "${tiny[@]}" --data "$work/data" --out "$work/k1" --iters 100000 --batch 2 --distributed \
  > /dev/null 2>&1 & rank1=$!
# Rank 0 opens metrics.jsonl once the ranks have met and shared its weights.
for _ in $(seq 600); do [[ -e "$work/k0/metrics.jsonl" ]] && break; sleep 0.1; done
sleep 1 # a few steps together
{ kill -9 "$rank1"; wait "$rank1"; } 2> /dev/null || true
rc=0; wait "$rank0" || rc=$?
elapsed=$(( $(date +%s) - start ))
[[ $rc -eq 1 ]] || { cat "$work/k0.txt" >&2; fail "rank 0 exited $rc after its peer died"; }
has "$work/k0.txt" "distributed rank 0 of 2:"
has "$work/k0.txt" "a peer process exited or did not answer within 20 s (WSSS_DIST_TIMEOUT)"
[[ $elapsed -lt 60 ]] || fail "rank 0 took ${elapsed}s to notice"
ok "rank 1 killed: rank 0 exits 1 naming itself and the timeout (${elapsed}s)"

# 5. Rank 0 alone: its peers never come; the timeout's error says what to check.
MASTER_PORT=$(free_port) WSSS_DIST_TIMEOUT=2
rc=0; RANK=0 timeout 60 "$WSSS" "${tiny[@]}" --data "$work/data" --out "$work/a0" --iters 2 --distributed \
  > /dev/null 2> "$work/a0.txt" || rc=$?
[[ $rc -eq 1 ]] || { cat "$work/a0.txt" >&2; fail "a lone rank 0 exited $rc"; }
has "$work/a0.txt" "the ranks did not meet within 2 s"
ok "a lone rank 0 gives up after WSSS_DIST_TIMEOUT"

echo "distributed: $passed passed"
