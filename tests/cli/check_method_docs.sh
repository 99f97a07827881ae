#!/bin/sh
# Every method of the method table (explain/methods.c), as `illume explain
# --help` lists them, has a section of docs/methods.md naming it in its
# heading, so that adding a method without documenting it fails.
# Usage: check_method_docs.sh ILLUME METHODS_MD
set -eu
illume=$1 docs=$2
methods=$("$illume" explain --help | sed -n '/^Methods/,/^$/p' | sed -n 's/^  \([a-z+-]*\) .*/\1/p')
[ -n "$methods" ] || { echo "illume explain --help lists no methods"; exit 1; }
missing=0
for method in $methods; do
    if ! grep '^## ' "$docs" | grep -F -q "\`$method\`"; then
        echo "docs/methods.md has no section naming \`$method\`"
        missing=1
    fi
done
[ "$missing" -eq 0 ] && echo "every method ($(echo $methods | wc -w)) has its section"
exit "$missing"
