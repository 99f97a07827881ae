#!/bin/sh
# Re-exports the committed model fixtures and checks that they are still what
# export_models.py makes: the same manifest and files, the same inputs, and
# references that agree by the rule of model_check (ONNX bytes may differ
# between exporter versions, so the models themselves are not compared).
# Usage: check_fixtures.sh PYTHON EXPORT_SCRIPT COMMITTED_DIR SCRATCH_DIR MODEL_CHECK
set -eu
python=$1 script=$2 committed=$3 scratch=$4 checker=$5
rm -rf "$scratch"
log=$("$python" "$script" fixtures "$scratch" 2>&1) || {
    echo "$log"
    exit 1
}
cmp "$committed/manifest.txt" "$scratch/manifest.txt"
fresh_files=$(cd "$scratch" && ls)
committed_files=$(cd "$committed" && ls)
if [ "$fresh_files" != "$committed_files" ]; then
    echo "the committed fixtures differ from the export's files:"
    echo "committed: $committed_files"
    echo "exported:  $fresh_files"
    exit 1
fi
for fresh in "$scratch"/*.npy; do
    name=$(basename "$fresh")
    case "$name" in
        *.input.npy) tolerance=0 ;;
        *) tolerance=1e-4 ;;
    esac
    report=$("$checker" --compare "$fresh" "$committed/$name" --tolerance "$tolerance") || {
        echo "$report"
        exit 1
    }
done
echo "the committed fixtures match a fresh export ($(echo "$fresh_files" | wc -l) files)"
