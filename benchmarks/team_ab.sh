#!/bin/sh
# A/B of the C core's mini-batch epoch (benchmarks/team_ab.c): csrc/ as it is
# committed at REV (default HEAD) against the working tree, built the same
# way, run interleaved ROUNDS times (default 5) so that the machine's noise
# falls on both alike.  Each run prints the best us/sample at 1 and 2
# threads; the digests of the trained parameters must agree between the two
# builds and thread counts when a change keeps the bits, and the script
# fails if they do not.  Usage: benchmarks/team_ab.sh [ROUNDS [REV [sgd|adam|rows]]]
# (rows: the per-sample SGD epoch, pn_epoch_rows, at 1 thread only)
set -eu
cd "$(dirname "$0")/.."
rounds=${1:-5}
rev=${2:-HEAD}
opt=${3:-sgd}
CC=${CC:-cc}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
mkdir "$out/old"
for f in $(git ls-tree --name-only "$rev" csrc/ | sed "s|csrc/||" | grep "\.[ch]$"); do git show "$rev:csrc/$f" >"$out/old/$f"; done
flags="-O3 -ffp-contract=off -fno-math-errno"
$CC $flags -I"$out/old" benchmarks/team_ab.c "$out/old/plainnet.c" -lm -lpthread -o "$out/a"
$CC $flags -Icsrc benchmarks/team_ab.c csrc/plainnet.c -lm -lpthread -o "$out/b"
i=0
while [ "$i" -lt "$rounds" ]; do
    for v in a b; do
        label=$([ "$v" = a ] && echo "$rev" || echo "work tree")
        "$out/$v" 3 "$opt" 2>>"$out/digests.$v" | sed "s/^/$label: /"
    done
    i=$((i + 1))
done
n=$(sed 's/.* //' "$out"/digests.* | sort -u | wc -l)
if [ "$n" -ne 1 ]; then
    echo "team_ab: the parameters differ between builds or thread counts:" >&2
    sort -u "$out"/digests.* >&2
    exit 1
fi
echo "team_ab: same bits in both builds and at every thread count run ($(sed 's/.* //' "$out/digests.a" | head -1))"
