#!/usr/bin/env bash
# Colour a folder of old photos, then ask the detector whether each result looks machine-colorized.
#   examples/check_colorized.sh examples/old_photos out/
# Writes out/verdicts.jsonl (one cfx.detect/1 record per image); exits 3 if any is caught.
set -euo pipefail
src=${1:?usage: check_colorized.sh SRC_DIR OUT_DIR}
out=${2:?usage: check_colorized.sh SRC_DIR OUT_DIR}
mkdir -p "$out"
cfx colorize "$src" -o "$out" --json --quiet \
  | cfx detect - --json --fail-on-colorized > "$out/verdicts.jsonl"
