#!/usr/bin/env bash
# `wsss refine` as a user runs it: a mask and refined maps from a .npy of class maps, and a
# clear message plus a non-zero exit for each kind of bad input.
set -euo pipefail
WSSS=${WSSS_BIN:?}
work=${1:?work folder}
rm -rf "$work"; mkdir -p "$work"
export WSSS_THREADS=2

# A 24×20 binary PPM and .npy files written with the standard library only.
python3 - "$work" <<'PY'
import math, os, struct, sys
w = sys.argv[1]
with open(os.path.join(w, "img.ppm"), "wb") as f:
    f.write(b"P6 24 20 255\n" + bytes((x * 10 + y * 3 + c * 70) % 256 for y in range(20) for x in range(24) for c in range(3)))
def npy(name, descr, shape, values, fmt):
    d = "{'descr': '%s', 'fortran_order': False, 'shape': (%s), }" % (descr, ", ".join(map(str, shape)) + ("," if len(shape) == 1 else ""))
    d += " " * (63 - (10 + len(d)) % 64) + "\n"
    with open(os.path.join(w, name), "wb") as f:
        f.write(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(d)) + d.encode() + struct.pack("<%d%s" % (len(values), fmt), *values))
vals = [0.9 if (i % 12) < 4 else 0.2 for i in range(2 * 10 * 12)]
npy("maps.npy", "<f4", (2, 10, 12), vals, "f")
npy("maps64.npy", "<f8", (2, 10, 12), vals, "d")
npy("int32.npy", "<i4", (2, 10, 12), [int(v * 10) for v in vals], "i")
npy("nan.npy", "<f4", (2, 10, 12), [math.nan] + vals[1:], "f")
with open(os.path.join(w, "maps.npy"), "rb") as f:
    data = f.read()
with open(os.path.join(w, "short.npy"), "wb") as f:
    f.write(data[:-16])
PY

"$WSSS" refine --image "$work/img.ppm" --maps "$work/maps.npy" --out "$work/mask.png" --labels cat,dog --band 0.35,0.55
test -s "$work/mask.png"
# NumPy's default float64 gives the float32 mask.
"$WSSS" refine --image "$work/img.ppm" --maps "$work/maps64.npy" --out "$work/mask64.png" --labels cat,dog --band 0.35,0.55
cmp "$work/mask.png" "$work/mask64.png"
"$WSSS" refine --image "$work/img.ppm" --maps "$work/maps.npy" --out "$work/refined.npy" --par --device cpu
test "$(stat -c %s "$work/refined.npy")" -eq $((128 + 2 * 20 * 24 * 4))
"$WSSS" refine --image "$work/img.ppm" --maps "$work/maps.npy" --out "$work/crf.png" --crf --device cpu
test -s "$work/crf.png"
"$WSSS" refine --image "$work/img.ppm" --maps "$work/maps.npy" --out "$work/crf.npy" --par --crf --device cpu
test "$(stat -c %s "$work/crf.npy")" -eq $((128 + 2 * 20 * 24 * 4))

fails=0
expect_error() { # name, expected text, then the arguments
  local name=$1 text=$2; shift 2
  if "$WSSS" refine "$@" 2> "$work/err.txt"; then
    echo "FAIL $name: exit 0"; fails=$((fails + 1)); return
  fi
  if ! grep -qF -- "$text" "$work/err.txt"; then
    echo "FAIL $name: message lacks '$text': $(cat "$work/err.txt")"; fails=$((fails + 1))
  fi
}
expect_error truncated "short.npy" --image "$work/img.ppm" --maps "$work/short.npy" --out "$work/x.png"
expect_error int32 "int32.npy\": dtype '<i4' is not supported" --image "$work/img.ppm" --maps "$work/int32.npy" --out "$work/x.png"
expect_error nan "nan.npy" --image "$work/img.ppm" --maps "$work/nan.npy" --out "$work/x.png"
expect_error labels "--labels names 3" --image "$work/img.ppm" --maps "$work/maps.npy" --out "$work/x.png" --labels cat,dog,cow
expect_error image "missing.jpg" --image "$work/missing.jpg" --maps "$work/maps.npy" --out "$work/x.png"
test ! -e "$work/x.png"
test "$fails" -eq 0
echo "cli refine: 8 passed, 0 failed"
