#!/bin/sh
# The whole test suite, as CI runs it: the release build's tests (the model
# zoo included), then the same suite built with AddressSanitizer and
# UndefinedBehaviorSanitizer (the zoo and the TensorFlow/JAX exports left
# out: they are slow under ASan, and the release run already compares them),
# then every fuzz target built with clang (docs/fuzzing.md) for two minutes
# on top of its committed corpus, two at a time under both sanitizers. Run
# from the repository root after the build command of the README.
set -eu
jobs=$(nproc 2>/dev/null || echo 2)
# Tests run side by side, more threads than cores: OpenMP threads that spin at
# barriers while another test holds the core would make every test crawl.
export OMP_WAIT_POLICY=passive
build=${ILLUME_BUILD:-build}

ctest --test-dir "$build" --output-on-failure -j "$jobs"

cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DILLUME_SANITIZE=ON -DILLUME_WERROR=ON \
      -DILLUME_VENV="$(pwd)/$build/venv" > /dev/null
cmake --build build-asan -j "$jobs" > /dev/null
ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
    ctest --test-dir build-asan --output-on-failure -j "$jobs" -LE 'zoo|fuzz|frameworks'

CC=clang CXX=clang++ cmake -S . -B build-fuzz -DILLUME_FUZZ=ON -DILLUME_WERROR=ON \
      -DILLUME_VENV="$(pwd)/$build/venv" > /dev/null
cmake --build build-fuzz -j "$jobs" --target fuzz_model_loader fuzz_npy fuzz_image fuzz_rules fuzz_command_line \
    > /dev/null
# A crash fails the run: tests/fuzz/run_fuzzer.sh prints each input that
# caused one in base64 and keeps it in $ILLUME_FUZZ_ARTIFACTS (default
# build-fuzz/artifacts).
ctest --test-dir build-fuzz --output-on-failure -L fuzz -j 2
