/*
 * exp_variants.h: scalar models of glibc's exp (csrc/pn_exp.h's algorithm)
 * with any of its 8 fused multiply-adds computed unfused, for
 * tests/c/test_exp.c and tools/exp_variants.c, and the helpers both share.
 * Include after pn_exp.h; the models exist only where PN_VEXP is defined (the
 * constants and table are pn_exp.h's).  Compile with -ffp-contract=off, so
 * that "a * b + c" is two roundings.
 *
 *     pn_from_bits(u), pn_to_bits(d)  a double from its bit pattern, and back
 *     pn_rng_next(&state)             the next of xorshift64* from state, which
 *                                     the caller keeps and seeds (not 0)
 *     pn_rng_uniform(&state, lo, hi)  uniform in [lo, hi), from 53 bits of it
 *
 *     pn_exp_variant(x, mask)   exp(x) the way a libm would compute it whose
 *                               compiler fused every fma of __exp_fma except
 *                               those whose bit is set in mask (PN_U_*)
 *
 * mask 0 is the order of glibc 2.36's __exp_fma (pn_exp.h's vector path, and
 * this machine's libm); PN_U_ALL is the plain C of e_exp.c evaluated with no
 * contraction at all (glibc's build without FMA, e.g. __exp_sse2):
 *
 *     kd = InvLn2N * x + Shift;  r = x + kd * NegLn2hiN + kd * NegLn2loN;
 *     tmp = tail + r + r2 * (C2 + r * C3) + r2 * r2 * (C4 + r * C5);
 *     exp = scale + scale * tmp
 *
 * Inputs off glibc's main path (|x| < 2^-54, |x| >= 512, NaN) go to libm's
 * exp, as in pn_exp_row: the variants model only the main path.
 */
#ifndef PN_EXP_VARIANTS_H
#define PN_EXP_VARIANTS_H

#include <math.h>
#include <stdint.h>
#include <string.h>

static double pn_from_bits(uint64_t u)
{
    double d;
    memcpy(&d, &u, sizeof d);
    return d;
}

static uint64_t pn_to_bits(double d)
{
    uint64_t u;
    memcpy(&u, &d, sizeof u);
    return u;
}

static uint64_t pn_rng_next(uint64_t *state)
{
    *state ^= *state >> 12;
    *state ^= *state << 25;
    *state ^= *state >> 27;
    return *state * 0x2545f4914f6cdd1dull;
}

static double pn_rng_uniform(uint64_t *state, double lo, double hi)
{
    return lo + (hi - lo) * ((double)(pn_rng_next(state) >> 11) * 0x1p-53);
}

#ifdef PN_VEXP

#define PN_U_KD 0x01u   /* kd  = fma(x, InvLn2N, Shift) */
#define PN_U_RHI 0x02u  /* r   = fma(kd, NegLn2hiN, x): kd * NegLn2hiN is exact, never differs */
#define PN_U_RLO 0x04u  /* r   = fma(kd, NegLn2loN, r) */
#define PN_U_P23 0x08u  /* p23 = fma(r, C3, C2) */
#define PN_U_T1 0x10u   /* tmp = fma(p23, r2, tail + r) */
#define PN_U_P45 0x20u  /* p45 = fma(r, C5, C4) */
#define PN_U_T2 0x40u   /* tmp = fma(r2 * r2, p45, tmp) */
#define PN_U_OUT 0x80u  /* exp = fma(scale, tmp, scale) */
#define PN_U_ALL 0xffu

/* fma(a, b, c), or a * b rounded and then + c rounded if bit is in mask. */
static double pn_variant_fma(double a, double b, double c, unsigned mask, unsigned bit)
{
    if (mask & bit) {
        const double p = a * b; /* a statement of its own: never contracted in ISO C mode */
        return p + c;
    }
    return fma(a, b, c);
}

static double pn_exp_variant(double x, unsigned mask)
{
    const double ax = fabs(x);
    const double shift = pn_from_bits(PN_EXP_SHIFT);
    double kd, r, r2, tail, scale, tmp;
    uint64_t ki, idx, sbits;
    if (!(ax >= pn_from_bits(PN_EXP_TINY) && ax < pn_from_bits(PN_EXP_BIG))) return exp(x);
    kd = pn_variant_fma(x, pn_from_bits(PN_EXP_INVLN2N), shift, mask, PN_U_KD);
    memcpy(&ki, &kd, sizeof ki);
    kd -= shift;
    r = pn_variant_fma(kd, pn_from_bits(PN_EXP_NEGLN2HIN), x, mask, PN_U_RHI);
    r = pn_variant_fma(kd, pn_from_bits(PN_EXP_NEGLN2LON), r, mask, PN_U_RLO);
    idx = 2 * (ki % 128);
    tail = pn_from_bits(pn_exp_table[idx]);
    sbits = pn_exp_table[idx + 1] + (ki << 45);
    scale = pn_from_bits(sbits);
    r2 = r * r;
    tmp = pn_variant_fma(pn_variant_fma(r, pn_from_bits(PN_EXP_C3), pn_from_bits(PN_EXP_C2), mask, PN_U_P23),
                         r2, tail + r, mask, PN_U_T1);
    tmp = pn_variant_fma(r2 * r2,
                         pn_variant_fma(r, pn_from_bits(PN_EXP_C5), pn_from_bits(PN_EXP_C4), mask, PN_U_P45),
                         tmp, mask, PN_U_T2);
    return pn_variant_fma(scale, tmp, scale, mask, PN_U_OUT);
}

#endif /* PN_VEXP */

#endif /* PN_EXP_VARIANTS_H */
