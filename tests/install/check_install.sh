#!/bin/sh
# Installs the build into a temporary prefix and builds a small program
# against it twice: with pkg-config and with CMake's find_package.
# Usage: check_install.sh BUILD_DIR SOURCE_DIR; CONSUMER_FLAGS are added to
# the program's compile and link flags (the sanitizers of a sanitized build).
set -eu
flags="${CONSUMER_FLAGS:-}"
build="$1"
source="$2"
prefix=$(mktemp -d)
trap 'rm -rf "$prefix"' EXIT
cmake --install "$build" --prefix "$prefix" > /dev/null
libdir=$(dirname "$(find "$prefix" -name 'illume.pc' | head -n 1)")/..
test -x "$prefix/bin/illume"
"$prefix/bin/illume" --version
# The installed command finds the installed demo.
(cd "$prefix" && "$prefix/bin/illume" explain -m gradcam > /dev/null && test -s illume-demo/circle.png)

PKG_CONFIG_PATH="$libdir/pkgconfig" cc $flags -o "$prefix/consumer_pkgconfig" "$source/tests/install/consumer/consumer.c" \
    $(PKG_CONFIG_PATH="$libdir/pkgconfig" pkg-config --cflags --libs illume)
LD_LIBRARY_PATH="$libdir" "$prefix/consumer_pkgconfig"

cmake -S "$source/tests/install/consumer" -B "$prefix/consumer_build" -DCMAKE_PREFIX_PATH="$prefix" \
    -DCMAKE_C_FLAGS="$flags" -DCMAKE_EXE_LINKER_FLAGS="$flags" > /dev/null
cmake --build "$prefix/consumer_build" > /dev/null
LD_LIBRARY_PATH="$libdir" "$prefix/consumer_build/consumer"
