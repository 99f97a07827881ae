#!/bin/sh
# --device cuda where no CUDA device is visible (or the build has no CUDA
# backend): run, explain and bench exit with code 6 and say why, whatever
# --fast and --autotune ask for; they do not crash. Skipped (77) where a
# device is visible: cuda/gpu_backend tests the backend there.
# Usage: check_cuda_absent.sh ILLUME DEMO_DIR
set -u
illume="$1"
demo="$2"
expect="sh $(dirname "$0")/../robustness/expect_exit.sh"
if "$illume" info --backends | grep -E -q "^cuda: compiled; [1-9]"; then
    echo "a CUDA device is visible: nothing to check here"
    exit 77
fi
absent="CUDA device [0-9]+ is not there|this build has no CUDA backend"
status=0
$expect 6 "$absent" -- "$illume" run "$demo/model.onnx" "$demo/samples/star.png" --device cuda --fast || status=1
$expect 6 "$absent" -- "$illume" explain "$demo/model.onnx" "$demo/samples/star.png" --device cuda:1 --autotune \
    || status=1
$expect 6 "$absent" -- "$illume" bench "$demo/model.onnx" --device cuda --fast --autotune --iterations 1 || status=1
exit "$status"
