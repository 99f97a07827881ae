#!/bin/sh
# A dataset run writes one .npy per image and method; run again, it skips
# every image (they are done) and leaves the outputs as they were.
# Usage: check_resume.sh ILLUME DEMO_DIR
set -eu
illume="$1"
demo="$2"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$illume" explain "$demo/model.onnx" "$demo/samples" -m saliency,gradcam -o "$work/out" 2> "$work/first.txt"
count=$(ls "$demo"/samples/*.png | wc -l)
test "$(ls "$work/out" | wc -l)" -eq $((count * 2))
before=$(cat "$work"/out/*.npy | cksum)
"$illume" explain "$demo/model.onnx" "$demo/samples" -m saliency,gradcam -o "$work/out" 2> "$work/second.txt"
grep -q "$count images were already explained" "$work/second.txt" || { cat "$work/second.txt"; exit 1; }
test "$before" = "$(cat "$work"/out/*.npy | cksum)"
