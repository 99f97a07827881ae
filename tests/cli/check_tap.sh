#!/bin/sh
# LRP's tap: the relevance at the first Relu's output, summed over channels,
# has that value's shape with one channel, and (the first layer's flat rule
# passing on all it gets, no bias) the same total as the relevance at the
# input: the conservation gaps --json reports agree.
# Usage: check_tap.sh ILLUME DEMO_DIR
set -eu
illume="$1"
demo="$2"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
tap=/block1/relu/Relu_output_0
"$illume" explain "$demo/model.onnx" "$demo/samples/star.png" -m lrp -o "$work/input.npy" --json "$work/input.json" 2>/dev/null
"$illume" explain "$demo/model.onnx" "$demo/samples/star.png" -m lrp --tap "$tap" --tap-sum -o "$work/tap.npy" \
    --json "$work/tap.json" 2>/dev/null
head -c 128 "$work/tap.npy" | grep -q "'shape': (1, 1, 64, 64)" || { head -c 128 "$work/tap.npy"; exit 1; }
delta() { sed -n 's/.*"delta": \([-0-9.e+]*\).*/\1/p' "$1"; }
input=$(delta "$work/input.json")
at_tap=$(delta "$work/tap.json")
echo "conservation gap at the input $input, at $tap $at_tap"
awk -v a="$input" -v b="$at_tap" 'BEGIN { d = a - b; if (d < 0) d = -d; s = a < 0 ? -a : a; exit !(d <= 1e-4 * (s > 1 ? s : 1)) }'
