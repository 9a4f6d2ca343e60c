#!/bin/sh
# Compile csrc/plainnet.c with tests/c/test_core.c under AddressSanitizer and
# UndefinedBehaviorSanitizer (and strict C99 warnings) and run it, once with the
# x86-64 AVX2 dispatch and once baseline only, then both again at -O3 without
# sanitizers; all must pass and give the same bits (the digest).  Any report fails.  Usage: tools/sanitize.sh  (CC=gcc|clang)
set -eu
cd "$(dirname "$0")/.."
CC=${CC:-cc}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
digests=""
sanitizers="-O1 -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer"
for variant in "$sanitizers" "$sanitizers -DPN_NO_DISPATCH" "-O3" "-O3 -DPN_NO_DISPATCH"; do
    echo "sanitize: $CC $variant"
    $CC -std=c99 -pedantic -Wall -Wextra -Werror -g -ffp-contract=off $variant \
        -Icsrc csrc/plainnet.c tests/c/test_core.c -lm -o "$out/test_core"
    ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
        "$out/test_core" | tee "$out/log"
    digests="$digests $(sed -n 's/.*digest //p' "$out/log")"
done
set -- $digests
if [ "$#" -ne 4 ] || [ "$1" != "$2" ] || [ "$1" != "$3" ] || [ "$1" != "$4" ]; then
    echo "sanitize: the builds give different bits:$digests" >&2
    exit 1
fi
echo "sanitize: clean"
