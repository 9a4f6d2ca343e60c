/*
 * test_exp.c: pn_exp_row (csrc/pn_exp.h) against libm's exp, bit for bit.
 *
 *     cc -std=c99 -O2 -ffp-contract=off -Icsrc tests/c/test_exp.c -lm -o test_exp
 *     ./test_exp [MILLIONS]      (default 10: about 10^7 inputs; tools/sanitize.sh)
 *
 * Inputs: random bit patterns (every double equally likely, so mostly huge,
 * NaN or tiny: libm's special cases), uniform in [-750, 750], uniform in
 * [-512, 512], dense in [-40, 0] (sigmoid's -|z|), random magnitudes in
 * [2^-56, 2^10) with a random exponent, subnormal and underflowing results in
 * [-746, -707], near multiples of ln2/128 (where the rounding of k turns), the
 * boundaries of glibc's branches and their neighbours, rows of every length
 * 0..9 at every alignment, and in place (y == x).  Any mismatch fails; NaNs
 * are compared as bits too.
 *
 * It prints whether the vector path was active, and fails if it was not on a
 * machine where it should be (x86-64, glibc, GCC/clang, a CPU with AVX2 and
 * FMA), unless PN_EXP_EXPECT_SCALAR=1 is set in the environment (the
 * -DPN_NO_VEXP build of tools/sanitize.sh sets it): the test cannot pass by
 * comparing libm with itself without saying so.
 *
 * A one-off run with MILLIONS = 1000 (1,000,383,828 inputs, each compared out
 * of place and in place; vector path active; glibc 2.36, Debian 12, AMD Zen 4)
 * found 0 mismatches.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pn_exp.h"
#include "exp_variants.h" /* the models where PN_VEXP is defined, and the helpers */

#define BATCH 4096

static uint64_t state = 0x0123456789abcdefull; /* the inputs' pn_rng_next */
static unsigned long long inputs, checked, mismatches;

/* y = pn_exp_row(x) against exp(x[k]) one at a time. */
static void compare(const double *x, const double *y, size_t n, const char *what)
{
    size_t k;
    for (k = 0; k < n; k++) {
        const double e = exp(x[k]);
        checked++;
        if (memcmp(&e, &y[k], sizeof e) != 0) {
            if (mismatches < 20)
                printf("test_exp: MISMATCH (%s) exp(%a) [%016llx]: libm %a [%016llx], row %a [%016llx]\n",
                       what, x[k], (unsigned long long)pn_to_bits(x[k]), e, (unsigned long long)pn_to_bits(e),
                       y[k], (unsigned long long)pn_to_bits(y[k]));
            mismatches++;
        }
    }
}

static void run(const double *x, size_t n, const char *what)
{
    static double y[BATCH], z[BATCH];
    inputs += n;
    pn_exp_row(x, y, n);
    compare(x, y, n, what);
    memcpy(z, x, n * sizeof *x); /* in place */
    pn_exp_row(z, z, n);
    compare(x, z, n, what);
}

/* The inputs of one kind, in batches, until about count of them. */
static void family(int kind, unsigned long long count, const char *what)
{
    static double x[BATCH];
    unsigned long long done;
    size_t i;
    for (done = 0; done < count; done += BATCH) {
        for (i = 0; i < BATCH; i++) {
            switch (kind) {
            case 0: x[i] = pn_from_bits(pn_rng_next(&state)); break;
            case 1: x[i] = pn_rng_uniform(&state, -750.0, 750.0); break;
            case 2: x[i] = pn_rng_uniform(&state, -512.0, 512.0); break;
            case 3: x[i] = pn_rng_uniform(&state, -40.0, 0.0); break;
            case 4: /* sign, exponent in [-56, 9], mantissa: all random */
                x[i] = ldexp(pn_rng_uniform(&state, 1.0, 2.0), (int)(pn_rng_next(&state) % 66) - 56)
                       * (pn_rng_next(&state) & 1 ? -1.0 : 1.0);
                break;
            case 5: x[i] = pn_rng_uniform(&state, -746.0, -707.0); break;
            default: { /* j ln2/128 and a few ulps around it, j in [-65536, 65536) */
                const double j = (double)(int64_t)(pn_rng_next(&state) % 131072) - 65536.0;
                double v = j * 0x1.62e42fefa39efp-8;
                int step = (int)(pn_rng_next(&state) % 9) - 4;
                for (; step > 0; step--) v = nextafter(v, HUGE_VAL);
                for (; step < 0; step++) v = nextafter(v, -HUGE_VAL);
                x[i] = v;
                break;
            }
            }
        }
        run(x, BATCH, what);
    }
}

static void boundaries(void)
{
    static const double centres[] = {
        0x1p-54, 512.0, -708.4, -708.39641853226408, -745.2, -745.13321910194110, 709.8,
        709.78271289338397, 0.0, 1024.0, -1022.0 * 0.6931471805599453, 0x1p-1022, 4.9e-324,
        1.0, 0.5, 0x1.62e42fefa39efp-8, 0x1.62e42fefa39efp-9, 1e300, 1e-300, -40.0, 20.0, 36.0,
    };
    double x[2048];
    size_t n = 0, c;
    int s, step;
    for (c = 0; c < sizeof centres / sizeof centres[0]; c++)
        for (s = -1; s <= 1; s += 2) {
            double up = s * centres[c], down = up;
            x[n++] = up;
            for (step = 0; step < 20; step++) {
                up = nextafter(up, HUGE_VAL);
                down = nextafter(down, -HUGE_VAL);
                x[n++] = up;
                x[n++] = down;
            }
        }
    x[n++] = HUGE_VAL;
    x[n++] = -HUGE_VAL;
    x[n++] = NAN;
    x[n++] = -NAN;
    x[n++] = pn_from_bits(0x7ff0000000000001ull); /* signalling NaN */
    x[n++] = pn_from_bits(0xfff8000000001234ull); /* NaN with a payload */
    x[n++] = pn_from_bits(0x7fefffffffffffffull);
    x[n++] = pn_from_bits(0xffefffffffffffffull);
    while (n % 4) x[n++] = 0.25;
    run(x, n, "boundaries");
}

/* Rows of every length 0..9, at every offset 0..3, with specials in some lanes. */
static void tails(void)
{
    static double x[16], y[16], z[16];
    size_t len, off, i, round;
    for (round = 0; round < 2000; round++)
        for (len = 0; len <= 9; len++)
            for (off = 0; off < 4; off++) {
                for (i = 0; i < len; i++) {
                    const uint64_t pick = pn_rng_next(&state) % 8;
                    x[off + i] = pick == 0   ? pn_from_bits(pn_rng_next(&state))
                                 : pick == 1 ? 0.0
                                             : pn_rng_uniform(&state, -40.0, 0.0);
                }
                for (i = 0; i < 16; i++) y[i] = z[i] = -7.0;
                inputs += len;
                pn_exp_row(x + off, y + off, len);
                compare(x + off, y + off, len, "tails");
                for (i = 0; i < 16; i++)
                    if (i < off || i >= off + len) {
                        checked++;
                        if (y[i] != -7.0) {
                            printf("test_exp: a row of %u wrote outside it\n", (unsigned)len);
                            mismatches++;
                        }
                    }
                memcpy(z + off, x + off, len * sizeof *x);
                pn_exp_row(z + off, z + off, len);
                compare(x + off, z + off, len, "tails in place");
            }
}

#ifdef PN_VEXP
/* The self-check against libms built with other fusions (exp_variants.h):
 * for each of the 256 subsets of __exp_fma's 8 fmas computed unfused, the
 * model is handed to the self-check as if it were libm's exp.  Every variant
 * that contains an fma whose unfusing was seen to change some result
 * (PN_EXP_DIFFERING below: tools/exp_variants.c) must be told apart by the
 * distinguishing inputs of pn_exp.h alone, and rejected by the self-check;
 * the others must be accepted, as must libm and the reference model. */
#define PN_EXP_DIFFERING (PN_U_KD | PN_U_RLO | PN_U_P23 | PN_U_T1 | PN_U_OUT)

static unsigned variant_mask;

static double variant_exp(double x)
{
    return pn_exp_variant(x, variant_mask);
}

static void variants(void)
{
    const size_t nd = sizeof pn_exp_distinguishing / sizeof pn_exp_distinguishing[0];
    unsigned mask, rejected = 0;
    size_t i;
    {   /* the models' unfused steps are unfused (no contraction by the compiler) */
        const double a = 1.0 + 0x1p-30, c = -(1.0 + 0x1p-29);
        if (pn_variant_fma(a, a, c, PN_U_KD, PN_U_KD) == pn_variant_fma(a, a, c, 0, PN_U_KD)) {
            printf("test_exp: FAIL: the variant models' a * b + c was fused by the compiler\n");
            mismatches++;
            return;
        }
    }
    if (!pn_exp_self_check_against(exp)) {
        printf("test_exp: FAIL: the self-check rejects libm's exp\n");
        mismatches++;
    }
    for (mask = 0; mask < 256; mask++) {
        const int differs = (mask & PN_EXP_DIFFERING) != 0;
        int told = 0, accepted;
        for (i = 0; i < nd; i++) {
            const double x = pn_from_bits(pn_exp_distinguishing[i]);
            if (pn_to_bits(pn_exp_variant(x, mask)) != pn_to_bits(exp(x))) told++;
        }
        variant_mask = mask;
        accepted = pn_exp_self_check_against(variant_exp);
        checked++;
        if (accepted == differs || (differs && told == 0)) {
            printf("test_exp: FAIL: variant %02x (unfused fmas) %s by the self-check, "
                   "%d of the %u distinguishing inputs tell it\n",
                   mask, accepted ? "accepted" : "rejected", told, (unsigned)nd);
            mismatches++;
        }
        rejected += !accepted;
    }
    printf("test_exp: self-check against 256 modelled libms: %u rejected (all with an unfused fma "
           "among %02x), the others and libm accepted\n", rejected, PN_EXP_DIFFERING);
}
#endif

int main(int argc, char **argv)
{
    const double millions = argc > 1 ? atof(argv[1]) : 10.0;
    const unsigned long long per = (unsigned long long)(millions * 1e6 / 7.0); /* inputs per family */
    const char *expect_scalar = getenv("PN_EXP_EXPECT_SCALAR");
    const int active = pn_exp_vector_active();
    int should = 0;
#if defined(__x86_64__) && defined(__GLIBC__) && defined(__GNUC__)
    __builtin_cpu_init();
    should = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#endif
    printf("test_exp: vector path %s (%s)\n", active ? "ACTIVE" : "not active",
#ifdef PN_VEXP
           "compiled in"
#else
           "compiled out"
#endif
    );
#ifdef PN_VEXP
    if (should) variants();
#endif
    boundaries();
    tails();
    family(0, per, "random bits");
    family(1, per, "[-750, 750]");
    family(2, per, "[-512, 512]");
    family(3, per, "[-40, 0]");
    family(4, per, "random exponent");
    family(5, per, "subnormal results");
    family(6, per, "near k ln2/128");
    printf("test_exp: %llu inputs, %llu values compared (each out of place and in place), %llu mismatches\n",
           inputs, checked, mismatches);
    if (mismatches) return 1;
    if (should && !active && !(expect_scalar && strcmp(expect_scalar, "1") == 0)) {
        printf("test_exp: FAIL: this CPU has AVX2 and FMA on glibc, but the vector path is off "
               "(set PN_EXP_EXPECT_SCALAR=1 if that is intended)\n");
        return 1;
    }
    printf("test_exp: ok\n");
    return 0;
}
