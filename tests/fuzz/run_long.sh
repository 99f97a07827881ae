#!/bin/sh
# Runs every fuzz target (or the TARGETs named) for as long as asked: each
# through run_fuzzer.sh (its committed corpus, dictionary, sanitizers,
# per-input timeout and crash artifacts as in CI), JOBS at a time, then prints
# per target the inputs run, libFuzzer's coverage (cov: edges, ft: features),
# the corpus it reached and whether it failed. With --merge, the inputs that
# add coverage (libFuzzer -merge=1) are folded into tests/fuzz/corpus/TARGET/.
# Run from the repository root after building the fuzz build:
#   CC=clang CXX=clang++ cmake -S . -B build-fuzz -DILLUME_FUZZ=ON
#   cmake --build build-fuzz --target fuzz_model_loader fuzz_npy fuzz_image fuzz_rules fuzz_command_line
# and, for the loader's extra seeds, `ctest --test-dir build-fuzz -R robustness/fixtures`.
# Usage: tests/fuzz/run_long.sh [--build DIR] [--runs N | --seconds S] [--jobs J] [--merge] [TARGET...]
set -eu
build=build-fuzz
limit=3600
jobs=2
merge=0
while [ $# -gt 0 ]; do
    case "$1" in
        --build) build="$2"; shift 2 ;;
        --runs) limit="runs=$2"; shift 2 ;;
        --seconds) limit="$2"; shift 2 ;;
        --jobs) jobs="$2"; shift 2 ;;
        --merge) merge=1; shift ;;
        -*) echo "run_long: unknown option $1" >&2; exit 2 ;;
        *) break ;;
    esac
done
fuzz_dir="$(pwd)/tests/fuzz"
list="$build/tests/fuzz/fuzz_targets.txt"
if [ ! -f "$list" ]; then
    echo "run_long: $list is missing: configure $build with -DILLUME_FUZZ=ON and build the fuzz targets" >&2
    exit 2
fi
work="$build/tests/fuzz/long"
artifacts="${ILLUME_FUZZ_ARTIFACTS:-$build/artifacts}"
mkdir -p "$work"
wanted="$*"

run_one() { # TARGET FUZZER MAX_LEN TIMEOUT [SEEDS]
    sh "$fuzz_dir/run_fuzzer.sh" "$2" "$1" "$fuzz_dir" "$work/$1" "$limit" "$3" "$4" "$artifacts" "${5:-}" \
        > "$work/$1.log" 2>&1 && echo 0 > "$work/$1.status" || echo $? > "$work/$1.status"
}

running=0
while read -r target fuzzer max_len timeout seeds; do
    case " $wanted " in
        "  ") ;;
        *" $target "*) ;;
        *) continue ;;
    esac
    echo "run_long: $target ($limit) -> $work/$target.log"
    run_one "$target" "$fuzzer" "$max_len" "$timeout" "$seeds" &
    running=$((running + 1))
    if [ "$running" -ge "$jobs" ]; then
        wait
        running=0
    fi
done < "$list"
wait

failed=0
printf '%-14s %12s %8s %8s %8s %10s  %s\n' target inputs cov ft corpus exec/s result
while read -r target fuzzer max_len timeout seeds; do
    [ -f "$work/$target.status" ] || continue
    log="$work/$target.log"
    status=$(cat "$work/$target.status")
    rm "$work/$target.status"
    inputs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
    speed=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")
    # The last status line libFuzzer printed: "#N\tEVENT cov: C ft: F corp: K/SIZE ...".
    last=$(grep -E '^#[0-9]+[[:space:]].*cov: ' "$log" | tail -1)
    cov=$(echo "$last" | sed -n 's/.* cov: \([0-9]*\).*/\1/p')
    ft=$(echo "$last" | sed -n 's/.* ft: \([0-9]*\).*/\1/p')
    corpus=$(echo "$last" | sed -n 's/.* corp: \([0-9]*\/[0-9a-zA-Z]*\).*/\1/p')
    result="0 crashes"
    if [ "$status" -ne 0 ]; then
        result="FAILED (exit $status, see $log and $artifacts)"
        failed=1
    fi
    printf '%-14s %12s %8s %8s %8s %10s  %s\n' "$target" "${inputs:-?}" "${cov:-?}" "${ft:-?}" "${corpus:-?}" \
        "${speed:-?}" "$result"
    if [ "$merge" -eq 1 ] && [ "$status" -eq 0 ]; then
        mkdir -p "$fuzz_dir/corpus/$target"
        OMP_NUM_THREADS=1 ASAN_OPTIONS=allocator_may_return_null=1:max_allocation_size_mb=64:detect_leaks=0 \
            "$fuzzer" -merge=1 -timeout="$timeout" -max_len="$max_len" -close_fd_mask=3 \
            "$fuzz_dir/corpus/$target" "$work/$target/corpus" > "$work/$target.merge.log" 2>&1
        echo "  merged: $(ls "$fuzz_dir/corpus/$target" | wc -l) files," \
             "$(du -sk "$fuzz_dir/corpus/$target" | cut -f1) KiB in tests/fuzz/corpus/$target"
    fi
done < "$list"
exit "$failed"
