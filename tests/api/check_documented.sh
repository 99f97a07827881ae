#!/bin/sh
# docs/api.md quotes the example program whole: fails when its first C block
# under the heading "## The example program" differs from tests/api/example.c.
# Usage: check_documented.sh DOC PROGRAM
set -eu
awk '/^## The example program/ { section = 1; next }
     section && /^## / { exit }
     section && !inside && /^```c$/ { inside = 1; next }
     inside && /^```$/ { exit }
     inside { print }' "$1" | diff -u - "$2"
