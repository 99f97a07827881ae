#!/bin/sh
# Runs the loader fuzz target for SECONDS over a corpus seeded with every
# model the robustness fixtures write (the random-bytes files aside: they only
# slow mutation down). A crash leaves its input in WORK_DIR/artifacts/; keep it
# under tests/fuzz/regressions/ once the loader is fixed.
# Usage: run_fuzzer.sh FUZZER MODELS_DIR WORK_DIR SECONDS
set -eu
fuzzer="$1"
models="$2"
work="$3"
seconds="$4"
rm -rf "$work"
mkdir -p "$work/corpus" "$work/seeds" "$work/artifacts"
find "$models" -type f -name '*.onnx' ! -name 'random_*' | while read -r model; do
    cp "$model" "$work/seeds/$(echo "${model#"$models"/}" | tr / _)"
done
# Allocations over 64 MiB fail as malloc would (the loader must report out of
# memory), instead of libFuzzer calling them a crash.
export ASAN_OPTIONS="allocator_may_return_null=1:max_allocation_size_mb=64:detect_leaks=1${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}"
status=0
"$fuzzer" -max_total_time="$seconds" -timeout=20 -rss_limit_mb=4096 -malloc_limit_mb=1000000 -max_len=16384 \
    -print_final_stats=1 -artifact_prefix="$work/artifacts/" "$work/corpus" "$work/seeds" || status=$?
if [ "$status" -ne 0 ]; then
    echo "run_fuzzer: the fuzzer failed (exit $status); inputs that crashed it:"
    ls -l "$work/artifacts"
fi
exit "$status"
