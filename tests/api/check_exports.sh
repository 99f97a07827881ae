#!/bin/sh
# The library boundary: fails when libillume.so exports a symbol that
# include/illume.h does not declare (an internal function a program could
# come to depend on), or when the header declares a function the library
# does not export (a program calling it would not link).
# Usage: check_exports.sh LIBRARY HEADER C_COMPILER
set -eu
library="$1"
header="$2"
compiler="$3"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# Every shared library also defines the linker's own symbols: those are not the API.
nm -D --defined-only "$library" | awk '{print $NF}' | grep -vxE '_init|_fini|_edata|_end|__bss_start' |
    sort -u > "$work/exported"
# The header's functions: each name followed by '(' once the preprocessor has
# taken out comments and macros (illume_session_options_default is a macro).
"$compiler" -E -P -x c "$header" | grep -oE '\billume_[A-Za-z0-9_]+[[:space:]]*\(' | tr -d '( \t' |
    sort -u > "$work/declared"

status=0
if [ ! -s "$work/declared" ]; then
    echo "no function found in $header"
    status=1
fi
extra=$(comm -23 "$work/exported" "$work/declared")
if [ -n "$extra" ]; then
    echo "exported by $library but not declared in $header:"
    echo "$extra"
    status=1
fi
missing=$(comm -13 "$work/exported" "$work/declared")
if [ -n "$missing" ]; then
    echo "declared in $header but not exported by $library:"
    echo "$missing"
    status=1
fi
if [ "$status" -eq 0 ]; then
    echo "$(wc -l < "$work/exported") symbols exported, exactly the functions of $header"
fi
exit "$status"
