#!/bin/sh
# Runs every node test of the manifest on the device ILLUME_TEST_DEVICE
# names (the gpu label runs them on CUDA), in one ctest: exit 77 (skipped)
# when the first says the device is not there, else the count of failures.
# Usage: run_node_tests_on_device.sh NODE_TESTS NODE_TEST MANIFEST
# (NODE_TESTS: the folder make_node_tests.py wrote)
set -u
tests="$1"
runner="$2"
manifest="$3"
failures=0
count=0
for name in $(sed -n 's/^run[ \t]\{1,\}\(test_[A-Za-z0-9_]*\)[ \t]*$/\1/p' "$manifest"); do
    "$runner" "$tests/$name" > /dev/null 2>&1
    code=$?
    if [ "$code" -eq 77 ]; then
        echo "SKIP: $ILLUME_TEST_DEVICE is not there"
        exit 77
    fi
    count=$((count + 1))
    if [ "$code" -ne 0 ]; then
        failures=$((failures + 1))
        echo "FAIL $name on $ILLUME_TEST_DEVICE"
    fi
done
echo "$count node tests on $ILLUME_TEST_DEVICE, $failures failures"
[ "$failures" -eq 0 ]
