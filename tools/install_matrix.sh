#!/usr/bin/env bash
# How plainnet installs, case by case, each in a fresh virtual environment and
# each followed by the tutorial's tests run against the installed copy:
#
#   1 default   pip install '.[test]' with a C compiler and cffi: backends c, python;
#               csrc/plainnet.c compiled once; plainnet info shows its flags
#   2 no-cc     CC=false: the install succeeds as pure Python and says so loudly
#   3 no-cffi   a C wheel installed where cffi is missing: python only, and asking
#               for "c" raises BackendUnavailable saying how to get it
#   4 offline   the pure wheel (py3-none-any, size printed) from a local folder,
#               pip install --no-index, as on a machine without a network
#   5 require   PLAINNET_REQUIRE_C=1 CC=false: the install fails, loudly
#   6 sdist     python -m build --sdist holds csrc/ and tests/; it builds both a
#               pure and a C wheel, and its own tests pass on the C one
#   7 contents  check-wheel-contents on the pure and the C wheel; neither holds
#               the build script (csrc/build_ffi.py) or C sources
#   8 lists     csrc/pn_lists.c made not to compile (CPython only): the C core
#               installs without plainnet._pn_lists, says so, passes the suite;
#               with PLAINNET_REQUIRE_C=1 the install fails
#
# Usage: tools/install_matrix.sh            (PYTHON=python3.X to choose the interpreter)
# Prints one PASS/FAIL line per case; exits 1 if any case fails.  Builds work on
# a copy of the files git knows (tracked or not ignored), so local build output
# (build/, *.so) cannot leak in.  PIP_CACHE_DIR is shared between the cases;
# KEEP=1 keeps the work folder.
set -uo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
PYTHON=${PYTHON:-python3}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/plainnet-install.XXXXXX")
if [ "${KEEP:-0}" = 1 ]; then
    echo "install_matrix: work folder $WORK (kept)"
else
    trap 'rm -rf "$WORK"' EXIT
fi
export PIP_CACHE_DIR=${PIP_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/plainnet-pip}
export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1 PIP_PROGRESS_BAR=off
unset PLAINNET_NO_C PLAINNET_REQUIRE_C PLAINNET_BACKEND PYTHONPATH
TEST_DEPS=("pytest>=7" "hypothesis>=6" numpy)
FAILED=()
START=$SECONDS

# -- helpers ------------------------------------------------------------------

# The source tree as a clean checkout would have it: tracked and unignored files.
(cd "$ROOT" && git ls-files -co --exclude-standard -z \
    | grep -zv '^tools/wasm/node_modules/' \
    | xargs -0 -I{} sh -c 'test -f "{}" && printf "%s\0" "{}"' \
    | tar --null -T - -cf "$WORK/source.tar") || { echo "install_matrix: cannot copy the source" >&2; exit 2; }

# fresh_source NAME: a new copy of the source tree (one per build: setuptools
# reuses build/ in the tree, which would hide a failing compiler).
fresh_source() {
    mkdir -p "$WORK/$1" && tar -xf "$WORK/source.tar" -C "$WORK/$1" && echo "$WORK/$1"
}

# new_venv NAME: a fresh virtual environment; prints its path.
new_venv() {
    "$PYTHON" -m venv "$WORK/venv-$1" && echo "$WORK/venv-$1"
}

# with_test_deps VENV: make pytest, hypothesis and numpy importable in VENV,
# from one shared folder (a .pth after VENV's own site-packages).
with_test_deps() {
    local site
    if [ ! -d "$WORK/test-deps" ]; then
        "$TOOLS/bin/python" -m pip install --quiet --target "$WORK/test-deps" "${TEST_DEPS[@]}" || return 1
    fi
    site=$("$1/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
    echo "$WORK/test-deps" > "$site/plainnet-test-deps.pth"
}

# tutorial VENV [TESTS_DIR]: the tutorial's tests against the plainnet installed in
# VENV, from a folder where no plainnet source is importable.
tutorial() {
    local tests=${2:-$ROOT/tests}
    mkdir -p "$WORK/run"
    (cd "$WORK/run" && "$1/bin/python" -m pytest "$tests/test_tutorial.py" -q -p no:cacheprovider)
}

# suite VENV: the whole test suite against the plainnet installed in VENV.
suite() {
    mkdir -p "$WORK/run"
    (cd "$WORK/run" && "$1/bin/python" -m pytest "$ROOT/tests" -q -p no:cacheprovider -x)
}

# backends VENV: available_backends() of the installed copy, which must be the
# one in VENV (not a source tree).
backends() {
    (cd "$WORK/run" && "$1/bin/python" -c '
import sys, plainnet
assert plainnet.__file__.startswith(sys.prefix), "plainnet imported from %s" % plainnet.__file__
print(plainnet.available_backends())')
}

# wheel_tag VENV: the tags the installed plainnet was built with (from its WHEEL file).
wheel_tag() {
    "$1/bin/python" - <<'PY'
import glob, os, sysconfig
(info,) = glob.glob(os.path.join(sysconfig.get_paths()["purelib"], "plainnet-*.dist-info"))
print(" ".join(l.split(":", 1)[1].strip() for l in open(os.path.join(info, "WHEEL")) if l.startswith("Tag:")))
PY
}

LOG=
# case N TITLE FUNCTION: run FUNCTION with its output in a log; PASS/FAIL line.
case_() {
    local n=$1 title=$2 fn=$3 t0=$SECONDS
    LOG="$WORK/case$n.log"
    DETAIL=
    if "$fn" >"$LOG" 2>&1; then
        echo "PASS $n $title ($((SECONDS - t0)) s)${DETAIL:+: $DETAIL}"
    else
        echo "FAIL $n $title ($((SECONDS - t0)) s)${DETAIL:+: $DETAIL}"
        sed 's/^/    | /' "$LOG" | tail -40
        FAILED+=("$n")
    fi
}

# expect WHAT ACTUAL WANTED: fail the case unless ACTUAL == WANTED.
expect() {
    if [ "$2" != "$3" ]; then
        echo "expected $1 $3, got $2"
        DETAIL="$1 $2, expected $3"
        return 1
    fi
}

# -- the cases ------------------------------------------------------------------

TOOLS=$(new_venv tools) || exit 2
"$TOOLS/bin/python" -m pip install --quiet build check-wheel-contents >"$WORK/tools.log" 2>&1 || {
    cat "$WORK/tools.log"; echo "install_matrix: cannot install build and check-wheel-contents" >&2; exit 2; }
mkdir -p "$WORK/run"

case_default() {
    local venv src got
    local compiles t0=$SECONDS
    venv=$(new_venv default) && src=$(fresh_source src-default) || return 1
    "$venv/bin/python" -m pip install -v "${src}[test]" >"$WORK/default-build.log" 2>&1 || {
        tail -30 "$WORK/default-build.log"; return 1; }
    # the C core is compiled once, and linked into both extensions
    compiles=$(grep -c -- '-c csrc/plainnet\.c ' "$WORK/default-build.log")
    tutorial "$venv" || return 1
    got=$(backends "$venv") || return 1
    DETAIL="backends $got, wheel $(wheel_tag "$venv"), csrc/plainnet.c compiled $compiles time(s), install $((SECONDS - t0)) s"
    expect backends "$got" "['c', 'python']" && expect "compiles of csrc/plainnet.c" "$compiles" 1 || return 1
    (cd "$WORK/run" && "$venv/bin/plainnet" info) | tee "$WORK/default-info.log"
    grep -q -- "flags: .*-ffp-contract=off" "$WORK/default-info.log" || { DETAIL="$DETAIL; plainnet info lacks the flags"; return 1; }
}

case_no_compiler() {
    local venv src got
    venv=$(new_venv no-cc) && src=$(fresh_source src-no-cc) || return 1
    "$venv/bin/python" -m pip install --quiet cffi || return 1  # only the compiler is missing
    with_test_deps "$venv" || return 1
    CC=false LDSHARED=false "$venv/bin/python" -m pip install -v "$src" >"$WORK/no-cc-build.log" 2>&1 || {
        tail -30 "$WORK/no-cc-build.log"; return 1; }
    grep -q "the C core was NOT built" "$WORK/no-cc-build.log" || {
        echo "no fallback banner in the build output"; DETAIL="no banner"; return 1; }
    grep -A2 "the C core was NOT built" "$WORK/no-cc-build.log" | head -3
    suite "$venv" | tail -3 || return 1  # the pure install passes the whole suite
    got=$(backends "$venv") || return 1
    DETAIL="banner shown, backends $got, wheel $(wheel_tag "$venv")"
    expect backends "$got" "['python']" && expect tag "$(wheel_tag "$venv")" py3-none-any
}

case_no_cffi() {
    local venv src got wheel
    venv=$(new_venv no-cffi) && src=$(fresh_source src-c-wheel) || return 1
    PLAINNET_REQUIRE_C=1 "$TOOLS/bin/python" -m pip wheel --quiet --no-deps -w "$WORK/c-wheel" "$src" || return 1
    wheel=$(ls "$WORK"/c-wheel/plainnet-*.whl) || return 1
    echo "C wheel: $(basename "$wheel")"
    with_test_deps "$venv" || return 1
    "$venv/bin/python" -m pip install --quiet --no-deps "$wheel" || return 1
    if "$venv/bin/python" -c 'import cffi' 2>/dev/null; then
        echo "cffi is importable in the no-cffi venv"; return 1
    fi
    tutorial "$venv" || return 1
    got=$(backends "$venv") || return 1
    DETAIL="$(basename "$wheel") without cffi: backends $got"
    expect backends "$got" "['python']" || return 1
    (cd "$WORK/run" && "$venv/bin/python" -c '
import plainnet
try:
    plainnet.set_backend("c")
except plainnet.BackendUnavailable as exc:
    print("BackendUnavailable:", exc)
    assert "`pip install cffi`" in str(exc), "the message does not say to install cffi"
else:
    raise SystemExit("set_backend(\"c\") did not raise without cffi")') || {
        DETAIL="$DETAIL; set_backend('c') message wrong"; return 1; }
}

case_offline() {
    local venv src wheel size
    venv=$(new_venv offline) && src=$(fresh_source src-pure-wheel) || return 1
    PLAINNET_NO_C=1 "$TOOLS/bin/python" -m pip wheel --quiet --no-deps -w "$WORK/pure-wheel" "$src" || return 1
    wheel=$(ls "$WORK"/pure-wheel/plainnet-*.whl) || return 1
    size=$(wc -c <"$wheel")
    DETAIL="$(basename "$wheel"), $size bytes ($(( (size + 1023) / 1024 )) KiB)"
    case $wheel in *-py3-none-any.whl) ;; *) echo "not a pure wheel: $wheel"; return 1 ;; esac
    with_test_deps "$venv" || return 1
    "$venv/bin/python" -m pip install --quiet --no-index --find-links "$WORK/pure-wheel" plainnet || return 1
    tutorial "$venv" || return 1
    got=$(backends "$venv") || return 1
    DETAIL="$DETAIL, backends $got"
    expect backends "$got" "['python']"
}

case_require_c() {
    local venv src out
    venv=$(new_venv require) && src=$(fresh_source src-require) || return 1
    if PLAINNET_REQUIRE_C=1 CC=false LDSHARED=false "$venv/bin/python" -m pip install "$src" \
            >"$WORK/require.log" 2>&1; then
        cat "$WORK/require.log"; echo "the install succeeded"; DETAIL="exit status 0"; return 1
    fi
    out=$(grep -m1 "PLAINNET_REQUIRE_C=1 but the C core cannot be built" "$WORK/require.log" | sed "s/^ *//") || {
        cat "$WORK/require.log"; DETAIL="failed, but without the message"; return 1; }
    echo "$out"
    DETAIL="failed as it should: ${out:0:110}"
    if "$venv/bin/python" -c 'import plainnet' 2>/dev/null; then
        DETAIL="plainnet got installed anyway"; return 1
    fi
}

case_sdist() {
    local src sdist venv name missing=0
    src=$(fresh_source src-sdist) || return 1
    "$TOOLS/bin/python" -m build --sdist -o "$WORK/sdist" "$src" || return 1
    sdist=$(ls "$WORK"/sdist/plainnet-*.tar.gz) || return 1
    name=$(basename "$sdist" .tar.gz)
    for f in setup.py pyproject.toml MANIFEST.in README.md csrc/plainnet.c csrc/plainnet.h csrc/pn_lists.c \
             csrc/build_ffi.py src/plainnet/_pn_c.pyi src/plainnet/_pn_lists.pyi \
             tests/conftest.py tests/test_tutorial.py; do
        tar -tzf "$sdist" "$name/$f" >/dev/null 2>&1 || { echo "sdist lacks $f"; missing=1; }
    done
    if tar -tzf "$sdist" | grep -E '\.(so|o|pyd)$|/_pn_c\.c$|__pycache__'; then
        echo "sdist holds build output (above)"; missing=1
    fi
    [ "$missing" = 0 ] || { DETAIL="$(basename "$sdist") is incomplete"; return 1; }
    PLAINNET_NO_C=1 "$TOOLS/bin/python" -m pip wheel --quiet --no-deps -w "$WORK/sdist-pure" "$sdist" || return 1
    ls "$WORK"/sdist-pure/plainnet-*-py3-none-any.whl || { echo "no pure wheel from the sdist"; return 1; }
    PLAINNET_REQUIRE_C=1 "$TOOLS/bin/python" -m pip wheel --quiet --no-deps -w "$WORK/sdist-c" "$sdist" || return 1
    case $(ls "$WORK"/sdist-c/plainnet-*.whl) in
        *-none-any.whl|"") echo "no C wheel from the sdist"; return 1 ;;
    esac
    # The sdist's own tests, against the C wheel built from it.
    mkdir -p "$WORK/sdist-unpacked" && tar -xzf "$sdist" -C "$WORK/sdist-unpacked" || return 1
    venv=$(new_venv sdist) || return 1
    with_test_deps "$venv" || return 1
    "$venv/bin/python" -m pip install --quiet cffi "$WORK"/sdist-c/plainnet-*.whl || return 1
    tutorial "$venv" "$WORK/sdist-unpacked/$name/tests" || return 1
    got=$(backends "$venv") || return 1
    DETAIL="$(basename "$sdist"), $(wc -c <"$sdist") bytes: has csrc/ and tests/, builds pure and C wheels; its tests pass on C (backends $got)"
    expect backends "$got" "['c', 'python']"
}

case_wheel_contents() {
    local rc=0 wheels out
    wheels=$(ls "$WORK"/pure-wheel/*.whl "$WORK"/c-wheel/*.whl 2>/dev/null)
    [ -n "$wheels" ] || { echo "no wheels to check (cases 3 and 4 failed?)"; return 1; }
    # shellcheck disable=SC2086
    out=$("$TOOLS/bin/check-wheel-contents" $wheels 2>&1) || rc=$?
    echo "$out"
    # The build script and the C sources are for building, not for the wheel.
    for w in $wheels; do
        if "$TOOLS/bin/python" -m zipfile -l "$w" | grep -E 'build_ffi|_build_c|\.[ch] '; then
            echo "$(basename "$w") ships build files (above)"; out="$out; $(basename "$w") ships build files"; rc=1
        fi
    done
    DETAIL=$(echo "$out" | sed 's|.*/||' | tr '\n' ' ' | cut -c1-300)
    return $rc
}

case_lists_broken() {
    local venv src got lists
    venv=$(new_venv lists) && src=$(fresh_source src-lists) || return 1
    echo '#error "made not to compile by tools/install_matrix.sh"' >>"$src/csrc/pn_lists.c"
    "$venv/bin/python" -m pip install --quiet cffi || return 1
    with_test_deps "$venv" || return 1
    "$venv/bin/python" -m pip install -v "$src" >"$WORK/lists-build.log" 2>&1 || {
        tail -30 "$WORK/lists-build.log"; return 1; }
    grep -q "the C core was built, but not plainnet._pn_lists" "$WORK/lists-build.log" || {
        echo "no banner in the build output"; DETAIL="no banner"; return 1; }
    suite "$venv" | tail -3 || return 1
    got=$(backends "$venv") || return 1
    lists=$("$venv/bin/python" -c 'import importlib.util as u; print(u.find_spec("plainnet._pn_lists") is not None)')
    expect backends "$got" "['c', 'python']" && expect "plainnet._pn_lists installed" "$lists" False || return 1
    if PLAINNET_REQUIRE_C=1 "$venv/bin/python" -m pip install --force-reinstall --no-deps "$src" \
            >"$WORK/lists-require.log" 2>&1; then
        DETAIL="PLAINNET_REQUIRE_C=1 installed it anyway"; return 1
    fi
    grep -q "PLAINNET_REQUIRE_C=1 but the C core cannot be built: building plainnet._pn_lists failed" \
        "$WORK/lists-require.log" || { DETAIL="PLAINNET_REQUIRE_C=1 failed without the message"; return 1; }
    DETAIL="banner shown, backends $got without plainnet._pn_lists, suite passes; PLAINNET_REQUIRE_C=1 fails"
}

echo "install_matrix: $("$PYTHON" -c 'import sys; print(sys.executable, sys.version.split()[0])'), pip cache $PIP_CACHE_DIR"
case_ 1 "default install (compiler and cffi)" case_default
case_ 2 "no C compiler (CC=false): pure fallback" case_no_compiler
case_ 3 "C wheel without cffi at run time" case_no_cffi
case_ 4 "pure wheel, offline install (--no-index)" case_offline
case_ 5 "PLAINNET_REQUIRE_C=1 without a compiler fails" case_require_c
case_ 6 "sdist: contents, pure and C rebuilds, its tests" case_sdist
case_ 7 "check-wheel-contents (pure and C wheels)" case_wheel_contents
N_CASES=7
if "$PYTHON" -c 'import platform, sys; sys.exit(platform.python_implementation() != "CPython")'; then
    case_ 8 "only plainnet._pn_lists fails to compile: the C core without it" case_lists_broken
    N_CASES=8
fi

if [ "${#FAILED[@]}" -gt 0 ]; then
    echo "install_matrix: FAIL (cases ${FAILED[*]}) in $((SECONDS - START)) s"
    exit 1
fi
echo "install_matrix: PASS, $N_CASES cases in $((SECONDS - START)) s"
