#!/bin/sh
# A dataset of several chunks (the next decoded while one is explained):
# every image gets its output under its own name, copies of one image get
# the same map, and a corrupt image in a later chunk stops the run with an
# error that names it.
# Usage: check_dataset_chunks.sh ILLUME DEMO_DIR
set -eu
illume="$1"
demo="$2"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir "$work/images"
copy=0
# Six samples, 48 rounds: 288 images, three chunks of up to 128.
round=0
while [ $round -lt 48 ]; do
    round=$((round + 1))
    for sample in "$demo"/samples/*.png; do
        cp "$sample" "$work/images/$(printf 'image%03d' $copy)-$(basename "$sample")"
        copy=$((copy + 1))
    done
done
"$illume" explain "$demo/model.onnx" "$work/images" -m saliency -o "$work/out" 2> "$work/log.txt"
test "$(ls "$work/out" | wc -l)" -eq "$copy" || { cat "$work/log.txt"; exit 1; }
for sample in "$demo"/samples/*.png; do
    name=$(basename "$sample" .png)
    first=$(ls "$work"/out/image*-"$name".saliency.npy | head -n 1)
    for map in "$work"/out/image*-"$name".saliency.npy; do
        cmp -s "$map" "$first" || { echo "$map differs from $first"; exit 1; }
    done
done
# A PNG cut short: its signature lists it as an image, its decoding fails.
head -c 100 "$work/images/image000-circle.png" > "$work/images/image200-broken.png"
rm -rf "$work/out"
if "$illume" explain "$demo/model.onnx" "$work/images" -m saliency -o "$work/out" 2> "$work/log.txt"; then
    echo "a corrupt image did not stop the run"
    exit 1
fi
grep -q "image200-broken.png" "$work/log.txt" || { cat "$work/log.txt"; exit 1; }
