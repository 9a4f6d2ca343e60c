/*
 * exp_variants.c: find inputs on which glibc's exp, built with other fusions,
 * would differ from this machine's libm (a development tool; not run by CI).
 *
 *     cc -std=c99 -O2 -ffp-contract=off -Icsrc -Itests/c tools/exp_variants.c -lm -o exp_variants
 *     ./exp_variants FAMILY MILLIONS SEED
 *
 * Models (tests/c/exp_variants.h): every fma of __exp_fma unfused on its own
 * (8), every pair of them (28), and all of them (the plain C of e_exp.c: 1).
 * Each input goes to libm's exp, to the reference model (mask 0, which must
 * equal libm: any mismatch is reported as REFMISMATCH) and to each of the 37
 * variants; a variant's result other than libm's is a distinguishing input.
 * It prints the first 8 per variant ("HIT mask family bits"), then per variant
 * how many inputs differed ("COUNT mask family differing inputs").
 *
 * FAMILY: 0 uniform in [-40, 0] (sigmoid's -|z|), 1 uniform in [-512, 512],
 * 2 random sign and magnitude in [2^-54, 2^9) with a random exponent,
 * 3 within 4 ulps of (j + 1/2) ln2/128 (where the rounding of x * 128/ln2
 * decides k: the kd fma), 4 within 4 ulps of log(m) for m a midpoint between
 * two doubles near exp(t), |t| = 2^-u, u uniform in [1, 12] (results near a
 * rounding boundary, where any small change of tmp shows), 5 the r fma:
 * the (k, binade of r) where round(r1 + kd * NegLn2loN) and
 * round(r1 + round(kd * NegLn2loN)) differ for every x (r1 = x + kd * NegLn2hiN
 * is exact and on r's grid), found by enumerating k in [-94548, 94548] and
 * binades 2^-9 .. 2^-20, and x sampled in each (MILLIONS caps the samples),
 * 6 the p23 fma: x uniform in +-[2^-9, ln2/256) (k = 0, so r = x), first
 * filtered by whether round(C2 + round(r * C3)) changes fma(p23, r2, r) (about
 * 1 in 2^21), or the p45 fma or the last tmp fma unfused change tmp, and only
 * those x compared in full (MILLIONS counts the x filtered; "inputs" in the
 * output counts the ones compared).
 *
 *     ./exp_variants list < FILE    for each bit pattern (hex) in FILE: which
 *                                   single fmas, unfused, change its result,
 *                                   and in how many of the 256 subsets;
 *                                   then the subsets that none tells apart
 */
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pn_exp.h"

#ifndef PN_VEXP
#error "exp_variants.c needs pn_exp.h's vector path compiled in (x86-64, glibc, GCC or clang)"
#endif

#include "exp_variants.h"

#define MAXV 37
#define MAXHIT 8

static unsigned masks[MAXV];
static int nv;
static unsigned long long ndiff[MAXV], nin, refmis;
static int nhit[MAXV];
static int family_id;
static uint64_t state; /* pn_rng_next's, seeded from SEED */

static void one(double x)
{
    const double e = exp(x);
    const uint64_t eb = pn_to_bits(e);
    int v;
    nin++;
    if (pn_to_bits(pn_exp_variant(x, 0)) != eb) {
        refmis++;
        printf("REFMISMATCH %016llx\n", (unsigned long long)pn_to_bits(x));
    }
    for (v = 0; v < nv; v++)
        if (pn_to_bits(pn_exp_variant(x, masks[v])) != eb) {
            ndiff[v]++;
            if (nhit[v] < MAXHIT) {
                nhit[v]++;
                printf("HIT %02x %d %016llx\n", masks[v], family_id, (unsigned long long)pn_to_bits(x));
                fflush(stdout);
            }
        }
}

static void around(double x, int ulps)
{
    int s;
    double up = x, down = x;
    one(x);
    for (s = 0; s < ulps; s++) {
        up = nextafter(up, HUGE_VAL);
        down = nextafter(down, -HUGE_VAL);
        one(up);
        one(down);
    }
}

/* the r fma: (k, binade) pairs where r differs for every x, then x in them */
static void family_rlo(unsigned long long cap)
{
    const double ln2n = 0x1.62e42fefa39efp-8; /* ln2/128 */
    unsigned long long pairs = 0, samples = 0;
    int k, e;
    for (e = -9; e >= -20; e--)
        for (k = -94548; k <= 94548; k++) {
            double x, kd, r1, ra, rb;
            const double base = (double)k * ln2n;
            int s;
            if (k == 0) continue;
            for (s = -1; s <= 1; s += 2) {
                x = base + s * 1.5 * ldexp(1.0, e);
                if (!(fabs(x) < 512.0)) continue;
                kd = fma(x, pn_from_bits(PN_EXP_INVLN2N), pn_from_bits(PN_EXP_SHIFT))
                     - pn_from_bits(PN_EXP_SHIFT);
                if (kd != (double)k) continue;
                r1 = fma(kd, pn_from_bits(PN_EXP_NEGLN2HIN), x);
                ra = fma(kd, pn_from_bits(PN_EXP_NEGLN2LON), r1);
                {
                    const double p = kd * pn_from_bits(PN_EXP_NEGLN2LON);
                    rb = r1 + p;
                }
                if (ra == rb) continue;
                pairs++;
                {   /* x with r in the same binade: the crossing rate is about 2^e */
                    unsigned long long n = 1ull << (-e + 3), i;
                    if (n > (1ull << 20)) n = 1ull << 20;
                    for (i = 0; i < n && samples < cap; i++, samples++)
                        one(base + s * pn_rng_uniform(&state, 1.0, 2.0) * ldexp(1.0, e));
                }
            }
        }
    printf("RLO pairs %llu samples %llu\n", pairs, samples);
}

int main(int argc, char **argv)
{
    unsigned long long count, i, n23 = 0, n45 = 0, nt2 = 0;
    int a, b, v;
    if (argc == 2 && strcmp(argv[1], "list") == 0) {
        unsigned long long u;
        static int told[256];
        unsigned untold = 0, mm;
        while (scanf("%llx", &u) == 1) {
            const double x = pn_from_bits((uint64_t)u), e = exp(x);
            unsigned singles = 0, m, n256 = 0;
            for (m = 0; m < 256; m++)
                if (pn_to_bits(pn_exp_variant(x, m)) != pn_to_bits(e)) {
                    n256++;
                    told[m] = 1;
                    if ((m & (m - 1)) == 0) singles |= m;
                }
            printf("%016llx %a singles %02x subsets %u ref %s\n", u, x, singles, n256,
                   pn_to_bits(pn_exp_variant(x, 0)) == pn_to_bits(e) ? "ok" : "MISMATCH");
        }
        printf("not told apart by any:");
        for (mm = 0; mm < 256; mm++)
            if (!told[mm]) {
                untold++;
                printf(" %02x", mm);
            }
        printf(" (%u)\n", untold);
        return 0;
    }
    if (argc < 4) {
        fprintf(stderr, "usage: exp_variants FAMILY MILLIONS SEED\n");
        return 2;
    }
    family_id = atoi(argv[1]);
    count = (unsigned long long)(atof(argv[2]) * 1e6);
    state = strtoull(argv[3], NULL, 0) * 0x9e3779b97f4a7c15ull + 1;
    for (a = 0; a < 8; a++) masks[nv++] = 1u << a;
    for (a = 0; a < 8; a++)
        for (b = a + 1; b < 8; b++) masks[nv++] = (1u << a) | (1u << b);
    masks[nv++] = PN_U_ALL;
    if (family_id == 5)
        family_rlo(count);
    else if (family_id == 6)
        for (i = 0; i < count; i++) {
            const double x = pn_rng_uniform(&state, 0x1p-9, 0x1.62e42fefa39efp-9)
                             * (pn_rng_next(&state) & 1 ? -1.0 : 1.0);
            const double r2 = x * x, c2 = pn_from_bits(PN_EXP_C2), c3 = pn_from_bits(PN_EXP_C3);
            const double p = x * c3, t1 = fma(fma(x, c3, c2), r2, x);
            const double c4 = pn_from_bits(PN_EXP_C4), c5 = pn_from_bits(PN_EXP_C5);
            const double r4 = r2 * r2, q = fma(x, c5, c4), q4 = r4 * q, q5 = x * c5;
            const int d23 = t1 != fma(p + c2, r2, x);
            const int d45 = fma(r4, q, t1) != fma(r4, q5 + c4, t1), dt2 = fma(r4, q, t1) != q4 + t1;
            n23 += d23;
            n45 += d45;
            nt2 += dt2;
            if (d23 || d45 || dt2) one(x);
        }
    else
        for (i = 0; nin < count; i++) {
            switch (family_id) {
            case 0: one(pn_rng_uniform(&state, -40.0, 0.0)); break;
            case 1: one(pn_rng_uniform(&state, -512.0, 512.0)); break;
            case 2:
                one(ldexp(pn_rng_uniform(&state, 1.0, 2.0), (int)(pn_rng_next(&state) % 63) - 54)
                    * (pn_rng_next(&state) & 1 ? -1.0 : 1.0));
                break;
            case 3: {
                const double j = (double)(int64_t)(pn_rng_next(&state) % 189096) - 94548.0;
                around((j + 0.5) / pn_from_bits(PN_EXP_INVLN2N), 4);
                break;
            }
            default: {
                const double t = ldexp(1.0, -(int)(pn_rng_next(&state) % 12) - 1)
                                 * pn_rng_uniform(&state, 1.0, 2.0)
                                 * (pn_rng_next(&state) & 1 ? -1.0 : 1.0);
                const double y = exp(t);
                const long double m = ((long double)y + (long double)nextafter(y, HUGE_VAL)) / 2;
                around((double)logl(m), 4);
                break;
            }
            }
        }
    if (family_id == 6)
        printf("FILTER x %llu: tmp changed by p23 %llu, by p45 %llu, by tmp p45 %llu\n", count, n23, n45, nt2);
    for (v = 0; v < nv; v++)
        printf("COUNT %02x %d %llu %llu\n", masks[v], family_id, ndiff[v], nin);
    printf("DONE family %d inputs %llu refmismatch %llu\n", family_id, nin, refmis);
    return 0;
}
