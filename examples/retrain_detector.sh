#!/usr/bin/env bash
# Retrain the default detector after a colorizer changes, and write its matrix.
#
#   examples/retrain_detector.sh CORPUS WORK [extra `cfx train detector` options]
#
# CORPUS is a corpus built by `python -m cfx.data.corpus` (train/, val/ and the never-seen
# parts unseen-select/ and unseen-test/); WORK a folder for the sets, the feature cache and
# the results. Steps (each skips what an earlier run finished):
#   1. examples/make_blind_sets.py: every shipped neural colorizer, the hint-conditioned ones
#      with 0-20 simulated points as well (NAME+hints), the three transfers and the recolouring,
#      made from every photo of CORPUS;
#   2. `cfx train detector --cache-dir` (litenet.lite0-ms, laundered views, 5 epochs) on
#      CORPUS's train/val against all of them but the recolouring: the shipped recipe; its
#      card lists each colorizer's weights sha256;
#   3. `cfx eval detector --matrix` on the never-seen test part (unseen-test), as written,
#      as JPEG q75 copies and as half-size JPEG q60 copies (examples/make_detector_tests.py),
#      and on local colourings (a colorized rectangle of 10-50 % of the photo), in resize and
#      patch mode.
# The weights land in WORK/litenet.lite0-ms.safetensors; copy them (and the .json card and
# the log) to weights/ to ship them. docs/detection.md shows the numbers of the last run.
set -euo pipefail
CORPUS=$(realpath "$1")
WORK=$2
shift 2
HERE=$(dirname "$(realpath "$0")")
mkdir -p "$WORK"
cd "$WORK"

COLORIZERS=unet.lite0,unet.lite0-guided,iizuka.compact,zhang.compact,koala.compact,autoencoder.compact
HINTED=unet.lite0-guided
python "$HERE/make_blind_sets.py" "$CORPUS" blind --colorizers "$COLORIZERS" --hinted "$HINTED" \
    --methods global,welsh,reinhard --recolour >&2

NAMES=()  # every set but the gray inputs
for dir in blind/*/; do
    name=$(basename "$dir")
    [ "$name" = gray ] || NAMES+=("$name")
done
SETS=()  # trained on: all but the recolouring, which is kept for the tests (docs/detection.md)
for n in "${NAMES[@]}"; do
    [ "$n" = recolour-reinhard ] || SETS+=(--colorized "$n=blind/$n")
done
if [ ! -f litenet.lite0-ms.safetensors ]; then
    cfx train detector --natural "$CORPUS" --model litenet.lite0-ms --cache-dir cache --views 2 --launder \
        "${SETS[@]}" --epochs 5 --lr 1e-2 --lr-step 3 -b 64 --precision bf16 --half \
        --log-file litenet.lite0-ms.train-log.jsonl -o litenet.lite0-ms.safetensors "$@" > train.json
fi

# the never-seen test part: as written, laundered, and locally coloured
TEST=unseen-test
python "$HERE/make_detector_tests.py" launder "$CORPUS" blind tests/launder --part "$TEST" >&2
python "$HERE/make_detector_tests.py" local "$CORPUS" blind tests/local --part "$TEST" \
    --names "$(IFS=,; echo "${NAMES[*]}")" >&2
DETECTORS=(--weights litenet.lite0-ms.safetensors)
[ -n "${OLD_DETECTOR:-}" ] && DETECTORS+=(--weights "$OLD_DETECTOR")
evaluate() {  # NAME NATURAL DIR-OF-SETS [cfx eval detector options]
    local name=$1 natural=$2 sets=$3
    shift 3
    local args=()
    for n in "${NAMES[@]}"; do args+=(--colorized "$n=$sets/$n"); done
    cfx eval detector --natural "$natural" --matrix "${args[@]}" "${DETECTORS[@]}" "$@" \
        --report "eval-$name.json" > /dev/null
}
mkdir -p as-written
for n in "${NAMES[@]}"; do ln -sfn "$(realpath "blind/$n/$TEST")" "as-written/$n"; done
evaluate test "$CORPUS/$TEST" as-written
evaluate q75 tests/launder/q75/natural tests/launder/q75
evaluate half-q60 tests/launder/half-q60/natural tests/launder/half-q60
evaluate local "$CORPUS/$TEST" tests/local --mode resize
evaluate local-patch "$CORPUS/$TEST" tests/local --mode patch
for mode in local local-patch; do
    python "$HERE/make_detector_tests.py" by-area "eval-$mode.json" tests/local > "by-area-$mode.json"
done
echo "reports: $WORK/eval-{test,q75,half-q60,local,local-patch}.json, by-area-{local,local-patch}.json" >&2
