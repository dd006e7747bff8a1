#!/usr/bin/env bash
# The Debian package as a user gets it: CPack builds it from this build tree into the work folder,
# dpkg -x unpacks it into a scratch root, and the programs run from there — `wsss --version`,
# `wsss demo-data`, a training run from the installed backbone weights, inference with the
# installed demo checkpoint; the desktop entry and the AppStream metadata are validated.
# Environment: WSSS_CPACK_CONFIG (the build's CPackConfig.cmake), WSSS_CPACK (cpack),
# WSSS_VERSION (the project's version), WSSS_GUI (1 when the studio is built).
set -euo pipefail
config=${WSSS_CPACK_CONFIG:?}
cpack=${WSSS_CPACK:-cpack}
version=${WSSS_VERSION:?}
gui=${WSSS_GUI:?}
work=${1:?work folder}
fail() { echo "package: $*" >&2; exit 1; }

# Only a machine without the packaging tools skips (CTest: SKIP_RETURN_CODE 77); the checkers
# come with them from packaging/install-deps.sh, so a missing one is a failure.
for tool in "$cpack" dpkg-deb dpkg-shlibdeps; do
  command -v "$tool" > /dev/null || { echo "package: SKIP, no $tool (make deps installs it)"; exit 77; }
done
for tool in desktop-file-validate appstreamcli; do
  command -v "$tool" > /dev/null || fail "no $tool: run make deps"
done

rm -rf "$work"; mkdir -p "$work"
work=$(readlink -f "$work")
export WSSS_THREADS=2
unset WSSS_RESOURCE_DIR # the installed copy must find its resources by itself

# CPack installs the build tree into its own folder under -B, but the install script also writes
# install_manifest.txt into the build folder: keep the user's (from `ninja install`) as it was.
build=$(dirname "$(readlink -f "$config")")
manifest=$build/install_manifest.txt
if [[ -f "$manifest" ]]; then cp -p "$manifest" "$work/install_manifest.saved"; fi
restore_manifest() {
  if [[ -f "$work/install_manifest.saved" ]]; then cp -p "$work/install_manifest.saved" "$manifest"
  else rm -f "$manifest"; fi
}
trap restore_manifest EXIT
start=$SECONDS
"$cpack" --config "$config" -B "$work/cpack" > "$work/cpack.log" 2>&1 || { cat "$work/cpack.log" >&2; fail "cpack failed"; }
restore_manifest; trap - EXIT
echo "cpack: $((SECONDS - start)) s"
debs=("$work"/cpack/*.deb)
[[ ${#debs[@]} -eq 1 && -f "${debs[0]}" ]] || fail "expected one .deb in $work/cpack, found: ${debs[*]}"
deb=${debs[0]}
echo "package: $(basename "$deb"), $(du -k "$deb" | cut -f1) KiB"

# The control fields: name, version, and Depends naming Debian packages (all installed here,
# since this build links them) that include the libraries the binaries link.
[[ "$(dpkg-deb -f "$deb" Package)" == wsss-studio ]] || fail "$deb: Package is not wsss-studio"
[[ "$(dpkg-deb -f "$deb" Version)" == "$version" ]] || fail "$deb: Version $(dpkg-deb -f "$deb" Version), not $version"
depends=$(dpkg-deb -f "$deb" Depends)
echo "Depends: $depends"
for lib in libc6 'libstdc\+\+6' 'libtorch[0-9.]*' 'libopencv-core[0-9]*'; do
  grep -Eq "(^|, )$lib( |,|$)" <<< "$depends" || fail "Depends lacks $lib: $depends"
done
if [[ "$gui" == 1 ]]; then
  for lib in libqt6widgets6 qt6-qpa-plugins; do
    grep -Eq "(^|, )$lib( |,|$)" <<< "$depends" || fail "Depends lacks $lib: $depends"
  done
fi
while read -r pkg; do
  [[ "$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null)" == "install ok installed" ]] \
    || fail "Depends names $pkg, which is not an installed Debian package here"
done < <(tr ',' '\n' <<< "$depends" | sed -E 's/^ *//; s/[ |].*//')

# Everything under /usr, nothing else.
if dpkg-deb -c "$deb" | awk '{print $6}' | grep -Ev '^\./(usr(/.*)?)?$'; then
  fail "$deb installs outside /usr (above)"
fi

root=$work/root
dpkg -x "$deb" "$root"
bin=$root/usr/bin
share=$root/usr/share
for f in "$bin/wsss" "$share/wsss-studio/weights/vit_demo_patch8.safetensors" \
         "$share/wsss-studio/demo/cam_vit_demo_patch8.wsss" "$share/wsss-studio/demo/cam_vit_demo_patch8.rule.json" \
         "$share/wsss-studio/demo/eca_vit_demo_patch8.wsss" "$share/wsss-studio/demo/eca_vit_demo_patch8.rule.json"; do
  [[ -s "$f" ]] || fail "the package has no ${f#"$root"}"
done
if ldd "$bin/wsss" | grep 'not found'; then fail "${bin#"$root"}/wsss: libraries not found (above)"; fi

# --version: the version, LibTorch's, CUDA, and the installed resource folder (not the source tree's).
"$bin/wsss" --version > "$work/version.txt"
cat "$work/version.txt"
grep -qx "wsss $version" "$work/version.txt" || fail "wsss --version does not print \"wsss $version\""
grep -Eqx 'libtorch: [0-9]+\.[0-9]+\.[0-9]+' "$work/version.txt" || fail "wsss --version prints no libtorch version"
grep -Eqx 'cuda: (not available|available, [0-9]+ device\(s\))' "$work/version.txt" || fail "wsss --version says nothing of CUDA"
grep -qx "resources: $share/wsss-studio" "$work/version.txt" \
  || fail "the installed wsss does not use its resources in $share/wsss-studio"
"$bin/wsss" version | cmp -s - "$work/version.txt" || fail "wsss version differs from wsss --version"

# The installed tool at work: demo data, a training step from the installed vit_demo_patch8
# weights (the default --weights), inference with the installed demo checkpoint.
"$bin/wsss" demo-data --out "$work/data" --train 4 --val 2 --size 64 --seed 1
test "$(wc -l < "$work/data/ImageSets/Segmentation/train.txt")" -eq 4 || fail "demo-data: not 4 train images"
test "$(wc -l < "$work/data/ImageSets/Segmentation/val.txt")" -eq 2 || fail "demo-data: not 2 val images"
test "$(ls "$work/data/JPEGImages" | wc -l)" -eq 6 || fail "demo-data: not 6 images in $work/data/JPEGImages"
test -s "$work/data/labelmap.txt" || fail "demo-data wrote no labelmap.txt"
"$bin/wsss" train --method cam --data "$work/data" --out "$work/run" --iters 1 --batch 2 --size 64 \
        --backbone vit_demo_patch8 --val-split none
test -s "$work/run/checkpoint.wsss" || fail "train wrote no $work/run/checkpoint.wsss"
"$bin/wsss" infer --checkpoint "$share/wsss-studio/demo/cam_vit_demo_patch8.wsss" --data "$work/data" \
        --split val --out "$work/pred"
test "$(ls "$work/pred/SegmentationClass" | wc -l)" -eq 2 || fail "infer with the installed demo checkpoint: not 2 masks"
# The first screen's checkpoint (ECA, its guider inside) with its refined rule (PAR + CRF) starts a
# project, as packaging/open-demo.sh does.
"$bin/wsss" infer --checkpoint "$share/wsss-studio/demo/eca_vit_demo_patch8.wsss" --data "$work/data" \
        --split val --out "$work/pred_eca" --par --crf
test "$(ls "$work/pred_eca/SegmentationClass" | wc -l)" -eq 2 || fail "infer with the installed ECA demo checkpoint: not 2 masks"
"$bin/wsss" project new --data "$work/data" --split val --checkpoint "$share/wsss-studio/demo/eca_vit_demo_patch8.wsss" \
        --rule "$share/wsss-studio/demo/eca_vit_demo_patch8.rule.json" --out "$work/demo.wsssproj" > /dev/null
grep -q '"crf": true' "$work/demo.wsssproj" || fail "the demo project does not carry the demo checkpoint's rule"

if [[ "$gui" != 1 ]]; then
  [[ ! -e "$bin/wsss-studio" && ! -d "$share/applications" ]] || fail "a GUI-less build packaged the studio"
  echo "package: 1 passed, 0 failed (without the studio)"
  exit 0
fi

# The studio starts from the installed files and agrees on the version.
if ldd "$bin/wsss-studio" | grep 'not found'; then fail "${bin#"$root"}/wsss-studio: libraries not found (above)"; fi
QT_QPA_PLATFORM=offscreen "$bin/wsss-studio" --version > "$work/studio_version.txt"
grep -qx "wsss-studio $version" "$work/studio_version.txt" \
  || fail "wsss-studio --version prints \"$(cat "$work/studio_version.txt")\", not wsss-studio $version"

# The desktop entry: valid, named by the AppStream id, its program and icon installed.
id=io.github.wsss_studio
desktop=$share/applications/$id.desktop
metainfo=$share/metainfo/$id.metainfo.xml
[[ -f "$desktop" ]] || fail "the package has no ${desktop#"$root"}"
[[ -f "$metainfo" ]] || fail "the package has no ${metainfo#"$root"}"
desktop-file-validate "$desktop" || fail "desktop-file-validate rejects ${desktop#"$root"}"
exec_bin=$(sed -n 's/^Exec=\([^ ]*\).*/\1/p' "$desktop")
[[ -x "$bin/$exec_bin" ]] || fail "${desktop#"$root"}: Exec=$exec_bin is not in /usr/bin"
icon=$(sed -n 's/^Icon=//p' "$desktop")
[[ -f "$share/icons/hicolor/scalable/apps/$icon.svg" ]] || fail "${desktop#"$root"}: no icon $icon.svg in hicolor/scalable/apps"
python3 - "$share/icons/hicolor/scalable/apps/$icon.svg" <<'PY'
import sys, xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
assert root.tag == "{http://www.w3.org/2000/svg}svg", (sys.argv[1], root.tag)
PY

# The AppStream metadata: valid offline, launching this desktop file, its newest release this version.
appstreamcli validate --no-net "$metainfo" || fail "appstreamcli rejects ${metainfo#"$root"}"
# The tree as a software centre reads it: the metainfo's desktop file and icon where it names them.
appstreamcli validate-tree --no-net "$root" || fail "appstreamcli validate-tree rejects the unpacked package in $root"
python3 - "$metainfo" "$id" "$version" <<'PY'
import sys, xml.etree.ElementTree as ET
path, cid, version = sys.argv[1:]
c = ET.parse(path).getroot()
assert c.findtext("id") == cid, (path, "id", c.findtext("id"))
assert c.findtext("launchable[@type='desktop-id']") == cid + ".desktop", (path, "launchable")
releases = [r.get("version") for r in c.iter("release")]
assert releases and releases[0] == version, (path, "newest release", releases, "package", version)
PY
echo "package: 1 passed, 0 failed"
