#!/bin/sh
# Compile csrc/plainnet.c with tests/c/test_core.c under AddressSanitizer and
# UndefinedBehaviorSanitizer (and strict C99 warnings) and run it, once with the
# x86-64 AVX2 dispatch and once baseline only, then both again at -O3 without
# sanitizers; all must pass and give the same bits (the digest).  The baseline
# builds also call libm's exp where the others may use pn_exp.h's vector path.
# tests/c/test_exp.c then checks that row exp against libm on its own.  Then the
# CPython extension csrc/pn_lists.c, built with the sanitizers, runs its tests.
# Any report fails.  Usage: tools/sanitize.sh  (CC=gcc|clang, PYTHON=python)
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
        -Icsrc csrc/plainnet.c tests/c/test_core.c -lm -lpthread -o "$out/test_core"
    ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
        "$out/test_core" | tee "$out/log"
    digests="$digests $(sed -n 's/.*digest //p' "$out/log")"
done
set -- $digests
if [ "$#" -ne 4 ] || [ "$1" != "$2" ] || [ "$1" != "$3" ] || [ "$1" != "$4" ]; then
    echo "sanitize: the builds give different bits:$digests" >&2
    exit 1
fi

# The row exp of csrc/pn_exp.h against libm's exp, bit for bit, on 10^7
# inputs (tests/c/test_exp.c): with the sanitizers, at -O3, and compiled out
# (-DPN_NO_VEXP, where the test is told to expect the scalar path).  On a CPU
# with AVX2 and FMA under glibc the test fails if the vector path is not on.
for variant in "$sanitizers" "-O3" "-O3 -DPN_NO_VEXP"; do
    echo "sanitize: $CC $variant (tests/c/test_exp.c)"
    $CC -std=c99 -pedantic -Wall -Wextra -Werror -g -ffp-contract=off $variant \
        -Icsrc tests/c/test_exp.c -lm -o "$out/test_exp"
    case "$variant" in
    *PN_NO_VEXP*) expect_scalar=1 ;;
    *) expect_scalar=${PN_EXP_EXPECT_SCALAR:-} ;;
    esac
    PN_EXP_EXPECT_SCALAR=$expect_scalar ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
        UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 "$out/test_exp"
done

# The C measuring programs in benchmarks/ are run by hand, not by the suite:
# compile them here (-Werror), so that a change of the core's internals they
# reach into cannot leave them broken.
# (adam_step and bench_exp are written for x86-64 with AVX2; team_ab uses
# the public API only.)
case "$(uname -m)" in
x86_64 | amd64)
    for prog in adam_step bench_exp; do
        echo "sanitize: $CC -O3 benchmarks/$prog.c (compiled only)"
        $CC -std=c99 -Wall -Wextra -Werror -O3 -ffp-contract=off -fno-math-errno -mavx2 -Icsrc \
            "benchmarks/$prog.c" -lm -lpthread -o "$out/$prog"
    done
    ;;
esac
echo "sanitize: $CC -O3 benchmarks/team_ab.c (compiled only)"
$CC -std=c99 -pedantic -Wall -Wextra -Werror -O3 -ffp-contract=off -fno-math-errno -Icsrc \
    benchmarks/team_ab.c csrc/plainnet.c -lm -lpthread -o "$out/team_ab"

# ThreadSanitizer: the read-only functions on one network from many threads
# (tests/c/test_threads.c), where the compiler and the kernel support it.
if echo 'int main(void){return 0;}' | $CC -x c -fsanitize=thread - -o "$out/tsan_probe" 2>/dev/null \
        && "$out/tsan_probe" 2>/dev/null; then
    echo "sanitize: $CC -fsanitize=thread (tests/c/test_threads.c)"
    $CC -std=c99 -Wall -Wextra -Werror -O1 -g -fsanitize=thread -ffp-contract=off -Icsrc \
        tests/c/test_threads.c csrc/plainnet.c -lm -lpthread -o "$out/test_threads"
    TSAN_OPTIONS=halt_on_error=1 "$out/test_threads"
else
    echo "sanitize: ThreadSanitizer skipped: $CC cannot build or run -fsanitize=thread here"
fi

# plainnet._pn_lists (csrc/pn_lists.c) runs inside CPython: build it with the
# sanitizers into a copy of the installed package and run its tests and the
# parity tests there.  Needs the python on PATH to have plainnet (with the C
# core) and pytest, as in CI; skipped with the reason otherwise.
PY=${PYTHON:-python}
pkg=$("$PY" -c 'import os, plainnet._pn_lists, plainnet._pn_c, pytest, plainnet
print(os.path.dirname(plainnet.__file__))' 2>/dev/null) || pkg=""
if [ -z "$pkg" ]; then
    echo "sanitize: plainnet._pn_lists skipped: $PY lacks plainnet with its C modules, or pytest"
else
    echo "sanitize: plainnet._pn_lists under AddressSanitizer and UBSan"
    cp -r "$pkg" "$out/plainnet"
    rm -f "$out"/plainnet/_pn_lists.*
    $CC -shared -fPIC -std=c99 -Wall -Wextra -Werror $sanitizers -g -ffp-contract=off \
        -Icsrc -I"$("$PY" -c 'import sysconfig; print(sysconfig.get_paths()["include"])')" \
        csrc/pn_lists.c csrc/plainnet.c -lm \
        -o "$out/plainnet/_pn_lists$("$PY" -c 'import sysconfig; print(sysconfig.get_config_var("EXT_SUFFIX"))')"
    # Python itself is not instrumented: the runtimes are preloaded, and leaks
    # (the interpreter's own, at exit) are not checked.
    preload="$($CC -print-file-name=libasan.so):$($CC -print-file-name=libubsan.so)"
    root=$(pwd)
    (cd "$out" && LD_PRELOAD="$preload" ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 \
        UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 PYTHONPATH="$out" \
        "$PY" -m pytest -q -p no:cacheprovider "$root/tests/test_pn_lists.py" "$root/tests/test_parity.py" \
        "$root/tests/test_faults.py" -k "not ctrl_c and not interrupt")
fi
echo "sanitize: clean"
