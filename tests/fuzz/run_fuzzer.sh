#!/bin/sh
# Runs one fuzz target for LIMIT (seconds, or runs=N inputs) on top of its committed corpus
# (FUZZ_DIR/corpus/TARGET) and the inputs that once broke it
# (FUZZ_DIR/regressions/TARGET), with its dictionary, under the sanitizers of
# the fuzz build (AddressSanitizer and UndefinedBehaviorSanitizer). What the
# run adds stays in WORK_DIR/corpus: the committed corpus is not touched
# (tests/fuzz/run_long.sh --merge folds finds back into it). SEEDS_DIR, when
# given, adds its .onnx files but the random-bytes ones, which only slow
# mutation down (the loader's: every model the robustness fixtures write).
#
# A crash, a hang past TIMEOUT seconds or an input past 4 GiB of memory fails
# the run. Each input that did it is printed as base64 (CI's log keeps it:
# `base64 -d > input` gives it back) and copied to $ILLUME_FUZZ_ARTIFACTS,
# else ARTIFACTS_DIR, as TARGET-NAME; fix what it found and keep it under
# tests/fuzz/regressions/TARGET/, which every build replays.
# Usage: run_fuzzer.sh FUZZER TARGET FUZZ_DIR WORK_DIR LIMIT MAX_LEN TIMEOUT ARTIFACTS_DIR [SEEDS_DIR]
set -eu
fuzzer="$1"
target="$2"
fuzz_dir="$3"
work="$4"
case "$5" in
    runs=*) limit="-runs=${5#runs=}" ;;
    *) limit="-max_total_time=$5" ;;
esac
max_len="$6"
timeout="$7"
artifacts="${ILLUME_FUZZ_ARTIFACTS:-$8}"
seeds="${9:-}"
rm -rf "$work"
mkdir -p "$work/corpus" "$work/seeds" "$work/artifacts"
for folder in "$fuzz_dir/corpus/$target" "$fuzz_dir/regressions/$target"; do
    if [ -d "$folder" ]; then cp "$folder"/* "$work/seeds/" 2>/dev/null || true; fi
done
if [ -n "$seeds" ]; then
    find "$seeds" -type f -name '*.onnx' ! -name 'random_*' | while read -r model; do
        cp "$model" "$work/seeds/$(echo "${model#"$seeds"/}" | tr / _)"
    done
fi
# Allocations over 64 MiB fail as malloc would (the code must report out of
# memory), instead of libFuzzer calling them a crash. One OpenMP thread: two
# targets run side by side on CI's two cores.
export ASAN_OPTIONS="allocator_may_return_null=1:max_allocation_size_mb=64:detect_leaks=1${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}"
export OMP_NUM_THREADS=1
status=0
"$fuzzer" "$limit" -timeout="$timeout" -rss_limit_mb=4096 -malloc_limit_mb=1000000 \
    -max_len="$max_len" -dict="$fuzz_dir/dictionaries/$target.dict" -close_fd_mask=3 -print_final_stats=1 \
    -artifact_prefix="$work/artifacts/" "$work/corpus" "$work/seeds" || status=$?
if [ "$status" -ne 0 ]; then
    echo "run_fuzzer: $target failed (exit $status); the inputs that did it:"
    mkdir -p "$artifacts"
    for input in "$work/artifacts"/*; do
        [ -f "$input" ] || continue
        kept="$artifacts/$target-$(basename "$input")"
        cp "$input" "$kept"
        echo "$kept ($(wc -c < "$input") bytes), base64:"
        base64 -w 0 "$input"
        echo
        echo "reproduce: $fuzzer $kept"
    done
fi
exit "$status"
