#!/bin/sh
# Runs a command and checks how it failed: its exit code is one of CODES
# (comma-separated), its stderr matches PATTERN (an extended regular
# expression; with --stdout, its stdout does), and no sanitizer reported
# anything. Usage: expect_exit.sh CODES PATTERN [--stdout] -- COMMAND [ARGS...]
set -u
codes="$1"
pattern="$2"
shift 2
stream=stderr
if [ "$1" = "--stdout" ]; then
    stream=stdout
    shift
fi
[ "$1" = "--" ] && shift
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$@" >"$work/stdout" 2>"$work/raw_stderr"
code=$?
# AddressSanitizer announces each allocation it refuses (allocator_may_return_null):
# that is the out-of-memory path under test, not a report.
grep -v "^==[0-9]*==WARNING: AddressSanitizer failed to allocate" "$work/raw_stderr" >"$work/stderr"
failed=0
case ",$codes," in
*",$code,"*) ;;
*)
    echo "FAIL: exit code $code, expected one of $codes"
    failed=1
    ;;
esac
if ! grep -E -q -e "$pattern" "$work/$stream"; then
    echo "FAIL: $stream does not match /$pattern/"
    failed=1
fi
if grep -E -q -e "Sanitizer|runtime error:|Segmentation fault|Aborted" "$work/stderr"; then
    echo "FAIL: a sanitizer or the system reported a fault"
    failed=1
fi
if [ "$code" -ne 0 ] && [ "$stream" = stderr ] && ! head -n 1 "$work/stderr" | grep -q "illume"; then
    echo "FAIL: the first line of stderr does not name illume"
    failed=1
fi
if [ "$failed" -ne 0 ] || [ -n "${VERBOSE:-}" ]; then
    echo "command: $*"
    echo "--- stdout"
    head -c 4000 "$work/stdout"
    echo "--- stderr"
    head -c 4000 "$work/stderr"
fi
exit "$failed"
