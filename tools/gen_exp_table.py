"""Generate the 2^(i/128) table of csrc/pn_exp.h from exact integer arithmetic.

The layout is the one of the exp algorithm of ARM's optimized-routines
(math/exp_data.c), which glibc uses since 2.28 (sysdeps/ieee754/dbl-64/e_exp.c,
e_exp_data.c): for i in 0..127, with H the double nearest to 2^(i/128),

    tab[2*i]     = bits of the double nearest to (2^(i/128) - H) / H   ("tail")
    tab[2*i + 1] = bits of H minus (i << 45)                           ("sbits")

so that adding (k << 45) to tab[2*(k % 128) + 1] gives the bits of
2^(k/128) rounded (the exponent absorbs k // 128).

2^(i/128) is bracketed by an integer 128th root, A <= 2^(i/128) * 2^P < A + 1
with P = 256 bits, and a value is accepted only if both ends of the bracket
round to the same double, so every entry is proven, not estimated.

Usage:
    python tools/gen_exp_table.py            print the C initializer
    python tools/gen_exp_table.py --check [LIBM]
        also look for the 2048 bytes of the table in LIBM (default: the libm
        that ctypes.util.find_library("m") names, else
        /lib/x86_64-linux-gnu/libm.so.6) and fail unless they are found.
"""

import struct
import sys
from fractions import Fraction

N = 128
P = 256  # bits of 2^(i/N) kept below the point


def iroot(a, n):
    """The largest integer x with x**n <= a (a >= 0, n >= 1)."""
    if a < 2:
        return a
    x = 1 << ((a.bit_length() + n - 1) // n)  # x**n >= a
    while True:
        y = ((n - 1) * x + a // x ** (n - 1)) // n
        if y >= x:
            break
        x = y
    while x ** n > a:
        x -= 1
    while (x + 1) ** n <= a:
        x += 1
    return x


def nearest(q):
    """q (a Fraction) rounded to the nearest double, ties to even."""
    return q.numerator / q.denominator  # int / int is correctly rounded in Python


def bits(d):
    return struct.unpack("<Q", struct.pack("<d", d))[0]


def entry(i):
    a = iroot(1 << (i + N * P), N)  # a <= 2^(i/N + P) < a + 1
    exact = a ** N == 1 << (i + N * P)  # only i = 0
    lo, hi = Fraction(a, 1 << P), Fraction(a + (0 if exact else 1), 1 << P)
    h = nearest(lo)
    if nearest(hi) != h:
        raise ArithmeticError("2^(%d/%d): bracket too wide to round" % (i, N))
    hf = Fraction(h)
    tail_lo, tail_hi = (lo - hf) / hf, (hi - hf) / hf
    tail = nearest(tail_lo)
    if nearest(tail_hi) != tail:
        raise ArithmeticError("tail of 2^(%d/%d): bracket too wide to round" % (i, N))
    return bits(tail), (bits(h) - (i << 45)) % (1 << 64)


def table():
    out = []
    for i in range(N):
        out.extend(entry(i))
    return out


def c_initializer(tab):
    lines = []
    for i in range(0, len(tab), 2):
        lines.append("    0x%016xu, 0x%016xu, /* %3d */" % (tab[i], tab[i + 1], i // 2))
    return "\n".join(lines)


def check(tab, path):
    blob = struct.pack("<%dQ" % len(tab), *tab)
    with open(path, "rb") as f:
        data = f.read()
    at = data.find(blob)
    if at < 0:
        print("gen_exp_table: the table is NOT in %s" % path)
        return False
    print("gen_exp_table: the %d-byte table equals %s at file offset 0x%x" % (len(blob), path, at))
    return True


def main(argv):
    tab = table()
    print(c_initializer(tab))
    if argv and argv[0] == "--check":
        path = argv[1] if len(argv) > 1 else "/lib/x86_64-linux-gnu/libm.so.6"
        return 0 if check(tab, path) else 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
