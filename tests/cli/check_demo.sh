#!/bin/sh
# The demo: `illume explain` with no arguments writes a heatmap per sample
# image, and classifies each sample as its file name says.
# Usage: check_demo.sh ILLUME DEMO_DIR
set -eu
illume="$1"
demo="$2"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
"$illume" explain > stdout.txt 2> stderr.txt || { cat stderr.txt; exit 1; }
for sample in "$demo"/samples/*.png; do
    name=$(basename "$sample" .png)
    test -s "illume-demo/$name.png" || { echo "no heatmap for $name"; exit 1; }
    grep -q "^$name.png: target [0-9]* $name (" stdout.txt || { echo "$name not classified as $name:"; cat stdout.txt; exit 1; }
done
grep -q "heatmaps in illume-demo" stderr.txt
