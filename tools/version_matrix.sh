#!/usr/bin/env bash
# The whole test suite on every Python this machine has: CPython 3.8 to 3.13
# (from pyenv) and PyPy 3.  Each interpreter gets a fresh virtual environment,
# `PLAINNET_REQUIRE_C=1 pip install '.[test]'` (so a C build that breaks on one
# version cannot pass as pure Python), then `pytest tests`, which includes the
# bit-for-bit parity tests between the C and Python backends.  Then vermin checks
# that src/plainnet needs nothing newer than Python 3.8.
#
# Usage: tools/version_matrix.sh [PYTHON...]   (default: every interpreter found)
#   JOBS=2         interpreters run at once (default 2)
#   SUITE_TIMEOUT=600  seconds one interpreter's test suite may take (a hang fails it)
#   PYPY_NUMPY=1   let pip build numpy for PyPy if it has no wheel (slow); by
#                  default PyPy then runs the suite without numpy, whose tests skip
# Prints a table (python, backends, result, seconds) and exits 1 if any fails.
set -uo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
WORK=$(mktemp -d "${TMPDIR:-/tmp}/plainnet-versions.XXXXXX")
if [ "${KEEP:-0}" = 1 ]; then echo "version_matrix: work folder $WORK (kept)"; else trap 'rm -rf "$WORK"' EXIT; fi
export PIP_CACHE_DIR=${PIP_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/plainnet-pip}
export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1 PIP_PROGRESS_BAR=off
unset PLAINNET_NO_C PLAINNET_REQUIRE_C PLAINNET_BACKEND PYTHONPATH
JOBS=${JOBS:-2}
START=$SECONDS

# The source tree as a clean checkout would have it: tracked and unignored files.
(cd "$ROOT" && git ls-files -co --exclude-standard -z \
    | grep -zv '^tools/wasm/node_modules/' \
    | xargs -0 -I{} sh -c 'test -f "{}" && printf "%s\0" "{}"' \
    | tar --null -T - -cf "$WORK/source.tar") || { echo "version_matrix: cannot copy the source" >&2; exit 2; }

# -- the interpreters -----------------------------------------------------------

SKIPPED=()
find_interpreters() {
    local py v root
    root=$(pyenv root 2>/dev/null || echo "${PYENV_ROOT:-$HOME/.pyenv}")
    for py in "$root"/versions/3.*/bin/python3; do
        [ -x "$py" ] || continue
        v=$("$py" -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null) || continue
        case $v in 3.[0-7]) continue ;; esac  # older than requires-python
        echo "$py"
    done | sort -V -u
    if ! command -v pypy3 >/dev/null 2>&1 && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        echo "version_matrix: installing pypy3 and pypy3-dev with apt-get" >&2
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq pypy3 pypy3-dev >"$WORK/apt.log" 2>&1 \
            || { apt-get update -qq >/dev/null 2>&1 && DEBIAN_FRONTEND=noninteractive \
                 apt-get install -y -qq pypy3 pypy3-dev >"$WORK/apt.log" 2>&1; } \
            || echo "version_matrix: apt-get could not install pypy3 ($(tail -1 "$WORK/apt.log"))" >&2
    fi
    command -v pypy3 || true
}

if [ $# -gt 0 ]; then
    INTERPRETERS=("$@")
else
    mapfile -t INTERPRETERS < <(find_interpreters)
    command -v pypy3 >/dev/null || SKIPPED+=("pypy3: not installed and apt-get could not install it (not root?)")
fi

# -- one interpreter ------------------------------------------------------------

# make_venv PYTHON DIR: a fresh venv with pip; Debian's PyPy has no ensurepip,
# so it falls back to virtualenv (run by a CPython) when venv cannot do it.
make_venv() {
    "$1" -m venv "$2" 2>/dev/null && "$2/bin/python" -m pip --version >/dev/null 2>&1 && return 0
    rm -rf "$2"
    echo "note: '$1 -m venv' gives no pip here; using virtualenv"
    if [ ! -x "$WORK/virtualenv/bin/virtualenv" ]; then
        python3 -m venv "$WORK/virtualenv" && "$WORK/virtualenv/bin/python" -m pip install --quiet virtualenv || return 1
    fi
    "$WORK/virtualenv/bin/virtualenv" --quiet -p "$1" "$2"
}

# run_one LABEL PYTHON: writes "label|python|backends|result|seconds|note" to $WORK/LABEL.result
run_one() {
    local label=$1 py=$2 t0=$SECONDS venv="$WORK/venv-$1" src="$WORK/src-$1" note="" backends="-" result=FAIL rc
    local log="$WORK/$label.log" pyver
    exec >"$log" 2>&1
    pyver=$("$py" -c 'import sys, platform; print(platform.python_implementation(), sys.version.split()[0])')
    finish() { echo "$label|$pyver|$backends|$result|$((SECONDS - t0))|$note" >"$WORK/$label.result"; }
    if ! { mkdir -p "$src" && tar -xf "$WORK/source.tar" -C "$src"; }; then
        note="cannot unpack source"; finish; return
    fi
    make_venv "$py" "$venv" || { note="no virtual environment"; finish; return; }

    local extra="[test]"
    case $pyver in
        PyPy*)
            # PyPy has cffi built in.  numpy has no PyPy wheel for every PyPy, and
            # building it takes far longer than the suite: without a wheel, the
            # suite runs without numpy (its numpy tests skip).
            if [ "${PYPY_NUMPY:-0}" != 1 ] &&
               ! "$venv/bin/python" -m pip install --quiet --only-binary numpy numpy; then
                extra=""
                note="numpy: no wheel for this PyPy, its tests skip; "
                "$venv/bin/python" -m pip install --quiet "pytest>=7" "hypothesis>=6" \
                    || { note+="cannot install pytest/hypothesis"; finish; return; }
            fi ;;
    esac
    echo "== PLAINNET_REQUIRE_C=1 pip install '.$extra'"
    if ! PLAINNET_REQUIRE_C=1 "$venv/bin/python" -m pip install --quiet "$src$extra"; then
        note+="the C build failed (PLAINNET_REQUIRE_C=1)"; finish; return
    fi
    # The C backend, and on CPython its companion for lists (csrc/pn_lists.c)
    backends=$(cd "$WORK" && "$venv/bin/python" -c '
import importlib.util, plainnet
names = plainnet.available_backends()
if importlib.util.find_spec("plainnet._pn_lists") is not None:
    names.append("lists")
print(",".join(names))') || { note+="import plainnet failed"; finish; return; }
    local want="c,python,lists"
    case $pyver in PyPy*) want="c,python" ;; esac
    echo "== backends: $backends (want $want)"
    echo "== pytest tests"
    (cd "$src" && timeout -k 10 "${SUITE_TIMEOUT:-600}" "$venv/bin/python" -m pytest tests -q -x -p no:cacheprovider)
    rc=$?
    [ "$rc" = 124 ] && note+="timed out after ${SUITE_TIMEOUT:-600} s (a hung test?); "
    if [ "$rc" = 0 ] && [ "$backends" = "$want" ]; then
        result=PASS
    elif [ "$rc" = 0 ]; then
        note+="compiled modules: $backends, not $want; "
    else
        note+="pytest exit status $rc: "
    fi
    local summary
    summary=$(grep -E '^[0-9]+ (passed|failed)|^=+ .*(passed|failed)' "$log" | tail -1 | tr -d '=')
    note+="${summary# }"
    finish
}

# -- vermin: nothing newer than Python 3.8 in the package -----------------------

run_vermin() {
    local t0=$SECONDS log="$WORK/vermin.log"
    {
        python3 -m venv "$WORK/vermin" && "$WORK/vermin/bin/python" -m pip install --quiet vermin &&
        # --eval-annotations: annotations are evaluated on 3.8, so they count too.
        (cd "$ROOT" && "$WORK/vermin/bin/vermin" -t=3.8- --no-tips --violations --eval-annotations \
            --backport typing --no-parse-comments src/plainnet)
    } >"$log" 2>&1
    local rc=$? minimum
    minimum=$(cd "$ROOT" && "$WORK/vermin/bin/vermin" --no-tips --eval-annotations --no-parse-comments src/plainnet 2>&1 \
        | sed -n 's/^Minimum required versions: *//p')
    echo "vermin|needs ${minimum:-?}|-|$([ $rc = 0 ] && echo PASS || echo FAIL)|$((SECONDS - t0))|vermin -t=3.8- --violations src/plainnet" >"$WORK/vermin.result"
}

# -- run, JOBS at a time -----------------------------------------------------------

echo "version_matrix: ${#INTERPRETERS[@]} interpreters, $JOBS at a time; pip cache $PIP_CACHE_DIR"
n=0
for py in "${INTERPRETERS[@]}"; do
    label=$("$py" -c 'import sys, platform; print(("pypy" if platform.python_implementation() == "PyPy" else "py") + "%d.%d" % sys.version_info[:2])' 2>/dev/null) \
        || { SKIPPED+=("$py: does not run"); continue; }
    run_one "$label" "$py" &
    n=$((n + 1))
    if [ "$n" -ge "$JOBS" ]; then wait -n; n=$((n - 1)); fi
done
run_vermin
wait

# -- report ------------------------------------------------------------------------

failed=0
printf '\n%-8s %-16s %-10s %-6s %5s  %s\n' label python backends result secs note
for f in "$WORK"/*.result; do
    [ -e "$f" ] || continue
    IFS='|' read -r label pyver backends result secs note <"$f"
    printf '%-8s %-16s %-10s %-6s %5s  %s\n' "$label" "$pyver" "$backends" "$result" "$secs" "$note"
    [ "$result" = PASS ] || failed=1
done
for s in "${SKIPPED[@]+"${SKIPPED[@]}"}"; do echo "skipped: $s"; done
for f in "$WORK"/*.result; do
    label=$(basename "$f" .result)
    if ! grep -q '|PASS|' "$f"; then
        echo; echo "--- $label: last lines of its log"; tail -40 "$WORK/$label.log" | sed 's/^/    | /'
    fi
done
echo
if [ "$failed" = 1 ]; then
    echo "version_matrix: FAIL in $((SECONDS - START)) s"; exit 1
fi
echo "version_matrix: PASS in $((SECONDS - START)) s"
