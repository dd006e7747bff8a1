#!/usr/bin/env bash
# Installs every build, run and test dependency of WSSS Studio from Debian packages.
# Idempotent: quiet when everything is present. Uses sudo when not root.
# Usage: packaging/install-deps.sh [--bench]   (--bench adds python3-torch, the benchmarks' peer)
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config ccache
  qt6-base-dev qt6-base-dev-tools libqt6opengl6-dev libgl-dev
  libtorch-dev libgloo-dev libopenblas0-openmp  # libgloo-dev: the headers c10d's Gloo process group includes
  libopencv-dev libpng-dev libjpeg-dev zlib1g-dev
  libimgui-dev libqcustomplot-dev
  nlohmann-json3-dev libcli11-dev libssl-dev
  xvfb xauth libgl1-mesa-dri libglx-mesa0 python3
  dataset-fashion-mnist
  dpkg-dev desktop-file-utils appstream  # make package (dpkg-shlibdeps) and its test's validators
)
if [[ "${1:-}" == "--bench" ]]; then
  packages+=(python3-torch python3-numpy)
fi

missing=()
for p in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [[ "$status" == "install ok installed" ]] || missing+=("$p")
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

sudo=()
[[ $(id -u) -eq 0 ]] || sudo=(sudo)
echo "install-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
