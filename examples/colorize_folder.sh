#!/usr/bin/env bash
# Colour every photo under a folder, resumably, and keep a JSON Lines log of the run.
#   examples/colorize_folder.sh examples/old_photos out/ [more cfx colorize options]
# The output mirrors the folder tree. Rerun it after an interruption: finished images are
# skipped, the rest are done.
set -euo pipefail
src=${1:?usage: colorize_folder.sh SRC_DIR OUT_DIR [cfx colorize options]}
out=${2:?usage: colorize_folder.sh SRC_DIR OUT_DIR [cfx colorize options]}
shift 2
mkdir -p "$out"
cfx colorize "$src" -o "$out" --skip-existing --json "$@" >> "$out/colorize.jsonl" \
  || echo "some inputs failed: see the records with \"error\" in $out/colorize.jsonl" >&2
