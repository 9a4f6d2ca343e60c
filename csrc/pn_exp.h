/*
 * pn_exp.h: exp over a row of doubles, with the bits of the platform's libm.
 *
 *     pn_exp_row(x, y, n)    y[k] = exp(x[k]) for k < n; y may be x (in place),
 *                            but must not otherwise overlap it.
 *     pn_exp_vector_active() 1 if pn_exp_row runs the vector path below, else 0.
 *
 * plainnet's C core must return the bits of the pure-Python backend, whose
 * math.exp is libm's exp.  pn_exp_row therefore always returns exactly what
 * libm's exp returns.  Where it can, it gets there 4 lanes at a time:
 *
 * On x86-64 with glibc and GCC or clang, on a CPU with AVX2 and FMA, glibc's
 * exp (an ifunc) runs its "fma" variant: the algorithm of ARM's
 * optimized-routines (math/exp.c, math/exp_data.c), which glibc has used since
 * 2.28 as sysdeps/ieee754/dbl-64/e_exp.c and e_exp_data.c, compiled with -mfma
 * -mavx2 so that GCC fused some of its multiplications and additions.  The
 * vector path below performs the same operations, with the same roundings and
 * fusions, in AVX2 lanes.  The order was read from the machine code of glibc
 * 2.36's libm (Debian 12: objdump -d of libm.so.6, the function that the
 * ifunc of exp returns when the CPU has FMA and AVX2):
 *
 *     kd    = fma(x, InvLn2N, Shift)           k = round(x * 128/ln2), in the low bits
 *     ki    = bits of kd
 *     kd    = kd - Shift
 *     r     = fma(kd, NegLn2loN, fma(kd, NegLn2hiN, x))   x - k ln2/128
 *     i     = ki % 128
 *     tail  = double with the bits T[2i]
 *     scale = double with the bits T[2i+1] + (ki << 45)   2^(k/128), rounded
 *     r2    = r * r
 *     tmp   = fma(r2 * r2, fma(r, C5, C4), fma(fma(r, C3, C2), r2, tail + r))
 *     exp   = fma(scale, tmp, scale)
 *
 * glibc runs that path only for 2^-54 <= |x| < 512; every other input (tiny
 * |x| and zeros, |x| >= 512 with its overflow, underflow and subnormal
 * results, infinities, NaN) takes its special-case branch.  The vector path
 * hands exactly those lanes to libm's exp, one at a time, so their bits are
 * libm's by construction; so does every element of a row's tail (n % 4).
 * Sigmoid's inputs, -|z|, are on the vector path for |z| in [2^-54, 512).
 *
 * Safety: the vector path runs only if (a) it is compiled in (x86-64, glibc,
 * GCC or clang, and neither -DPN_NO_VEXP nor -DPN_NO_DISPATCH), (b) the CPU
 * has AVX2 and FMA, and (c) a self-check passes on first use: the vector path
 * and libm's exp agree in every bit on 65536 fixed inputs: the boundaries of
 * glibc's branches, the distinguishing inputs below, and pseudo-random ones
 * over [-745, 710], denser in [-40, 0].  A libm that computes exp otherwise
 * (another glibc version, a preloaded libm, a CPU on which glibc picks another
 * variant) fails the check if its results differ on those inputs, and
 * pn_exp_row then calls libm's exp for every element.  The state of the
 * check is one int, written with atomic stores; threads that race on the
 * first call each compute the same answer.  tests/c/test_exp.c compares the
 * two on about 10^7 inputs in CI (and once on 10^9).
 *
 * The likeliest other libm is this algorithm compiled with other fusions
 * (named below as in tests/c/exp_variants.h): another distribution's build
 * of glibc, or glibc's build for CPUs without FMA (the plain C of e_exp.c,
 * no fma at all).  Such a libm differs from this
 * one too rarely for random inputs to show it.  With one of the 8 fmas above
 * computed unfused (a * b rounded, then + c rounded), tools/exp_variants.c
 * found, in 1.65e9 inputs compared in full (uniform, random magnitudes, and
 * the targeted families it describes) and up to 1.6e10 more filtered:
 *
 *   final    exp = fma(scale, tmp, scale)  7 in 10^4 uniform inputs differ
 *   tmp p23  tmp = fma(p23, r2, tail + r)  6 in 10^7 uniform inputs
 *   kd       kd = fma(x, InvLn2N, Shift)   none of 9e8 uniform or of random magnitude;
 *                                          1 in 6400 within 4 ulps of (j + 1/2) ln2/128
 *   r lo     r = fma(kd, NegLn2loN, r)     none of 9e8; 422 of 1.5e8 x in the 156
 *                                          (k, binade of r) where r itself changes
 *   p23      p23 = fma(r, C3, C2)          none of 9e8; 5 in 4e8 near rounding midpoints,
 *                                          18 in 1.6e10 x with |x| in [2^-9, ln2/256)
 *   r hi     r = fma(kd, NegLn2hiN, x)     never: kd * NegLn2hiN is exact (|k| < 2^17)
 *   p45      p45 = fma(r, C5, C4)          none in 1.65e9, nor in 8e9 x with |x| in
 *                                          [2^-9, ln2/256), where it never changed tmp
 *   tmp p45  tmp = fma(r2 * r2, p45, tmp)  none in 1.65e9, nor in those 8e9 x (tmp
 *                                          changed on 5 of them, the result on none)
 *
 * The distinguishing inputs (pn_exp_distinguishing) are 8 of the inputs found
 * for each of the first five, so a libm built like any of them fails the
 * check.  tests/c/test_exp.c proves it: it hands the self-check the model of
 * each of the 256 subsets of the 8 fmas unfused, as if it were libm, and
 * requires that the 248 with one of those five unfused be rejected (each is
 * told apart by the distinguishing inputs alone; without them, 120 of the
 * 248 passed the 65536-input check), and that the other 8 (subsets of the
 * last three, which gave this libm's bits on every input tried) and libm
 * itself be accepted.  A libm unlike any modelled whose results differ from
 * these in fewer than about 1 in 10^4 inputs could still pass: no check of
 * bounded cost can rule that out; tests/c/test_exp.c is the real verification.
 *
 * Elsewhere (MSVC, other CPUs, other C libraries) pn_exp_row is the loop of
 * libm exp calls.
 *
 * The table T (2 x 128 words) is generated by tools/gen_exp_table.py from
 * exact integer arithmetic, and that script checks it against the bytes in
 * libm.  The other constants are those of the algorithm (optimized-routines
 * math/exp_data.c, glibc's e_exp_data.c, also musl's src/math/exp_data.c):
 * 128/ln2; -ln2/128 split into a high part whose last 17 significand bits are
 * zero (so kd times it is exact for |k| < 2^17, which covers |x| < 512) and a low part;
 * the shift 1.5 * 2^52; and the polynomial C2..C5 that approximates
 * exp(r) - 1 - r on [-ln2/256, ln2/256].  They were read from this machine's
 * libm (its bytes next to the table) and agree with those sources.
 */
#ifndef PN_EXP_H
#define PN_EXP_H

#include <math.h> /* also defines __GLIBC__ on glibc */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#if defined(__x86_64__) && defined(__GLIBC__) && defined(__GNUC__) && !defined(PN_NO_VEXP) \
    && !defined(PN_NO_DISPATCH)
#define PN_VEXP 1
#include <immintrin.h>
#endif

#if defined(__GNUC__)
#define PN_EXP_UNUSED __attribute__((unused))
#else
#define PN_EXP_UNUSED
#endif

#ifdef PN_VEXP

/* The constants of the algorithm, as bits (see the top of this file). */
#define PN_EXP_INVLN2N 0x40671547652b82feull   /*  0x1.71547652b82fep+7:  128/ln2 */
#define PN_EXP_NEGLN2HIN 0xbf762e42fefa0000ull /* -0x1.62e42fefa0000p-8:  -ln2/128, high */
#define PN_EXP_NEGLN2LON 0xbd0cf79abc9e3b3aull /* -0x1.cf79abc9e3b3ap-47: -ln2/128, low */
#define PN_EXP_SHIFT 0x4338000000000000ull     /*  0x1.8p52 */
#define PN_EXP_C2 0x3fdffffffffffdbdull        /*  0x1.ffffffffffdbdp-2 */
#define PN_EXP_C3 0x3fc555555555543cull        /*  0x1.555555555543cp-3 */
#define PN_EXP_C4 0x3fa55555cf172b91ull        /*  0x1.55555cf172b91p-5 */
#define PN_EXP_C5 0x3f81111167a4d017ull        /*  0x1.1111167a4d017p-7 */
#define PN_EXP_TINY 0x3c90000000000000ull      /*  2^-54: below it, libm's special case */
#define PN_EXP_BIG 0x4080000000000000ull       /*  512: from it on, libm's special case */

/* T[2i] = bits of (2^(i/128) - H) / H rounded, T[2i+1] = bits of H - (i << 45),
 * where H is 2^(i/128) rounded to a double: python tools/gen_exp_table.py. */
static const uint64_t pn_exp_table[256] = {
    0x0000000000000000u, 0x3ff0000000000000u, /*   0 */
    0x3c9b3b4f1a88bf6eu, 0x3feff63da9fb3335u, /*   1 */
    0xbc7160139cd8dc5du, 0x3fefec9a3e778061u, /*   2 */
    0xbc905e7a108766d1u, 0x3fefe315e86e7f85u, /*   3 */
    0x3c8cd2523567f613u, 0x3fefd9b0d3158574u, /*   4 */
    0xbc8bce8023f98efau, 0x3fefd06b29ddf6deu, /*   5 */
    0x3c60f74e61e6c861u, 0x3fefc74518759bc8u, /*   6 */
    0x3c90a3e45b33d399u, 0x3fefbe3ecac6f383u, /*   7 */
    0x3c979aa65d837b6du, 0x3fefb5586cf9890fu, /*   8 */
    0x3c8eb51a92fdeffcu, 0x3fefac922b7247f7u, /*   9 */
    0x3c3ebe3d702f9cd1u, 0x3fefa3ec32d3d1a2u, /*  10 */
    0xbc6a033489906e0bu, 0x3fef9b66affed31bu, /*  11 */
    0xbc9556522a2fbd0eu, 0x3fef9301d0125b51u, /*  12 */
    0xbc5080ef8c4eea55u, 0x3fef8abdc06c31ccu, /*  13 */
    0xbc91c923b9d5f416u, 0x3fef829aaea92de0u, /*  14 */
    0x3c80d3e3e95c55afu, 0x3fef7a98c8a58e51u, /*  15 */
    0xbc801b15eaa59348u, 0x3fef72b83c7d517bu, /*  16 */
    0xbc8f1ff055de323du, 0x3fef6af9388c8deau, /*  17 */
    0x3c8b898c3f1353bfu, 0x3fef635beb6fcb75u, /*  18 */
    0xbc96d99c7611eb26u, 0x3fef5be084045cd4u, /*  19 */
    0x3c9aecf73e3a2f60u, 0x3fef54873168b9aau, /*  20 */
    0xbc8fe782cb86389du, 0x3fef4d5022fcd91du, /*  21 */
    0x3c8a6f4144a6c38du, 0x3fef463b88628cd6u, /*  22 */
    0x3c807a05b0e4047du, 0x3fef3f49917ddc96u, /*  23 */
    0x3c968efde3a8a894u, 0x3fef387a6e756238u, /*  24 */
    0x3c875e18f274487du, 0x3fef31ce4fb2a63fu, /*  25 */
    0x3c80472b981fe7f2u, 0x3fef2b4565e27cddu, /*  26 */
    0xbc96b87b3f71085eu, 0x3fef24dfe1f56381u, /*  27 */
    0x3c82f7e16d09ab31u, 0x3fef1e9df51fdee1u, /*  28 */
    0xbc3d219b1a6fbffau, 0x3fef187fd0dad990u, /*  29 */
    0x3c8b3782720c0ab4u, 0x3fef1285a6e4030bu, /*  30 */
    0x3c6e149289cecb8fu, 0x3fef0cafa93e2f56u, /*  31 */
    0x3c834d754db0abb6u, 0x3fef06fe0a31b715u, /*  32 */
    0x3c864201e2ac744cu, 0x3fef0170fc4cd831u, /*  33 */
    0x3c8fdd395dd3f84au, 0x3feefc08b26416ffu, /*  34 */
    0xbc86a3803b8e5b04u, 0x3feef6c55f929ff1u, /*  35 */
    0xbc924aedcc4b5068u, 0x3feef1a7373aa9cbu, /*  36 */
    0xbc9907f81b512d8eu, 0x3feeecae6d05d866u, /*  37 */
    0xbc71d1e83e9436d2u, 0x3feee7db34e59ff7u, /*  38 */
    0xbc991919b3ce1b15u, 0x3feee32dc313a8e5u, /*  39 */
    0x3c859f48a72a4c6du, 0x3feedea64c123422u, /*  40 */
    0xbc9312607a28698au, 0x3feeda4504ac801cu, /*  41 */
    0xbc58a78f4817895bu, 0x3feed60a21f72e2au, /*  42 */
    0xbc7c2c9b67499a1bu, 0x3feed1f5d950a897u, /*  43 */
    0x3c4363ed60c2ac11u, 0x3feece086061892du, /*  44 */
    0x3c9666093b0664efu, 0x3feeca41ed1d0057u, /*  45 */
    0x3c6ecce1daa10379u, 0x3feec6a2b5c13cd0u, /*  46 */
    0x3c93ff8e3f0f1230u, 0x3feec32af0d7d3deu, /*  47 */
    0x3c7690cebb7aafb0u, 0x3feebfdad5362a27u, /*  48 */
    0x3c931dbdeb54e077u, 0x3feebcb299fddd0du, /*  49 */
    0xbc8f94340071a38eu, 0x3feeb9b2769d2ca7u, /*  50 */
    0xbc87deccdc93a349u, 0x3feeb6daa2cf6642u, /*  51 */
    0xbc78dec6bd0f385fu, 0x3feeb42b569d4f82u, /*  52 */
    0xbc861246ec7b5cf6u, 0x3feeb1a4ca5d920fu, /*  53 */
    0x3c93350518fdd78eu, 0x3feeaf4736b527dau, /*  54 */
    0x3c7b98b72f8a9b05u, 0x3feead12d497c7fdu, /*  55 */
    0x3c9063e1e21c5409u, 0x3feeab07dd485429u, /*  56 */
    0x3c34c7855019c6eau, 0x3feea9268a5946b7u, /*  57 */
    0x3c9432e62b64c035u, 0x3feea76f15ad2148u, /*  58 */
    0xbc8ce44a6199769fu, 0x3feea5e1b976dc09u, /*  59 */
    0xbc8c33c53bef4da8u, 0x3feea47eb03a5585u, /*  60 */
    0xbc845378892be9aeu, 0x3feea34634ccc320u, /*  61 */
    0xbc93cedd78565858u, 0x3feea23882552225u, /*  62 */
    0x3c5710aa807e1964u, 0x3feea155d44ca973u, /*  63 */
    0xbc93b3efbf5e2228u, 0x3feea09e667f3bcdu, /*  64 */
    0xbc6a12ad8734b982u, 0x3feea012750bdabfu, /*  65 */
    0xbc6367efb86da9eeu, 0x3fee9fb23c651a2fu, /*  66 */
    0xbc80dc3d54e08851u, 0x3fee9f7df9519484u, /*  67 */
    0xbc781f647e5a3ecfu, 0x3fee9f75e8ec5f74u, /*  68 */
    0xbc86ee4ac08b7db0u, 0x3fee9f9a48a58174u, /*  69 */
    0xbc8619321e55e68au, 0x3fee9feb564267c9u, /*  70 */
    0x3c909ccb5e09d4d3u, 0x3feea0694fde5d3fu, /*  71 */
    0xbc7b32dcb94da51du, 0x3feea11473eb0187u, /*  72 */
    0x3c94ecfd5467c06bu, 0x3feea1ed0130c132u, /*  73 */
    0x3c65ebe1abd66c55u, 0x3feea2f336cf4e62u, /*  74 */
    0xbc88a1c52fb3cf42u, 0x3feea427543e1a12u, /*  75 */
    0xbc9369b6f13b3734u, 0x3feea589994cce13u, /*  76 */
    0xbc805e843a19ff1eu, 0x3feea71a4623c7adu, /*  77 */
    0xbc94d450d872576eu, 0x3feea8d99b4492edu, /*  78 */
    0x3c90ad675b0e8a00u, 0x3feeaac7d98a6699u, /*  79 */
    0x3c8db72fc1f0eab4u, 0x3feeace5422aa0dbu, /*  80 */
    0xbc65b6609cc5e7ffu, 0x3feeaf3216b5448cu, /*  81 */
    0x3c7bf68359f35f44u, 0x3feeb1ae99157736u, /*  82 */
    0xbc93091fa71e3d83u, 0x3feeb45b0b91ffc6u, /*  83 */
    0xbc5da9b88b6c1e29u, 0x3feeb737b0cdc5e5u, /*  84 */
    0xbc6c23f97c90b959u, 0x3feeba44cbc8520fu, /*  85 */
    0xbc92434322f4f9aau, 0x3feebd829fde4e50u, /*  86 */
    0xbc85ca6cd7668e4bu, 0x3feec0f170ca07bau, /*  87 */
    0x3c71affc2b91ce27u, 0x3feec49182a3f090u, /*  88 */
    0x3c6dd235e10a73bbu, 0x3feec86319e32323u, /*  89 */
    0xbc87c50422622263u, 0x3feecc667b5de565u, /*  90 */
    0x3c8b1c86e3e231d5u, 0x3feed09bec4a2d33u, /*  91 */
    0xbc91bbd1d3bcbb15u, 0x3feed503b23e255du, /*  92 */
    0x3c90cc319cee31d2u, 0x3feed99e1330b358u, /*  93 */
    0x3c8469846e735ab3u, 0x3feede6b5579fdbfu, /*  94 */
    0xbc82dfcd978e9db4u, 0x3feee36bbfd3f37au, /*  95 */
    0x3c8c1a7792cb3387u, 0x3feee89f995ad3adu, /*  96 */
    0xbc907b8f4ad1d9fau, 0x3feeee07298db666u, /*  97 */
    0xbc55c3d956dcaebau, 0x3feef3a2b84f15fbu, /*  98 */
    0xbc90a40e3da6f640u, 0x3feef9728de5593au, /*  99 */
    0xbc68d6f438ad9334u, 0x3feeff76f2fb5e47u, /* 100 */
    0xbc91eee26b588a35u, 0x3fef05b030a1064au, /* 101 */
    0x3c74ffd70a5fddcdu, 0x3fef0c1e904bc1d2u, /* 102 */
    0xbc91bdfbfa9298acu, 0x3fef12c25bd71e09u, /* 103 */
    0x3c736eae30af0cb3u, 0x3fef199bdd85529cu, /* 104 */
    0x3c8ee3325c9ffd94u, 0x3fef20ab5fffd07au, /* 105 */
    0x3c84e08fd10959acu, 0x3fef27f12e57d14bu, /* 106 */
    0x3c63cdaf384e1a67u, 0x3fef2f6d9406e7b5u, /* 107 */
    0x3c676b2c6c921968u, 0x3fef3720dcef9069u, /* 108 */
    0xbc808a1883ccb5d2u, 0x3fef3f0b555dc3fau, /* 109 */
    0xbc8fad5d3ffffa6fu, 0x3fef472d4a07897cu, /* 110 */
    0xbc900dae3875a949u, 0x3fef4f87080d89f2u, /* 111 */
    0x3c74a385a63d07a7u, 0x3fef5818dcfba487u, /* 112 */
    0xbc82919e2040220fu, 0x3fef60e316c98398u, /* 113 */
    0x3c8e5a50d5c192acu, 0x3fef69e603db3285u, /* 114 */
    0x3c843a59ac016b4bu, 0x3fef7321f301b460u, /* 115 */
    0xbc82d52107b43e1fu, 0x3fef7c97337b9b5fu, /* 116 */
    0xbc892ab93b470dc9u, 0x3fef864614f5a129u, /* 117 */
    0x3c74b604603a88d3u, 0x3fef902ee78b3ff6u, /* 118 */
    0x3c83c5ec519d7271u, 0x3fef9a51fbc74c83u, /* 119 */
    0xbc8ff7128fd391f0u, 0x3fefa4afa2a490dau, /* 120 */
    0xbc8dae98e223747du, 0x3fefaf482d8e67f1u, /* 121 */
    0x3c8ec3bc41aa2008u, 0x3fefba1bee615a27u, /* 122 */
    0x3c842b94c3a9eb32u, 0x3fefc52b376bba97u, /* 123 */
    0x3c8a64a931d185eeu, 0x3fefd0765b6e4540u, /* 124 */
    0xbc8e37bae43be3edu, 0x3fefdbfdad9cbe14u, /* 125 */
    0x3c77893b4d91cd9du, 0x3fefe7c1819e90d8u, /* 126 */
    0x3c5305c14160cc89u, 0x3feff3c22b8f71f1u, /* 127 */
};

/* 0: not yet checked, 1: the vector path is on, -1: off.  See "Safety". */
static int pn_exp_state;

#define PN_EXP_SPLAT(u) _mm256_castsi256_pd(_mm256_set1_epi64x((long long)(u)))
#define PN_EXP_PAIR(i) _mm_loadu_si128((const __m128i *)(const void *)(pn_exp_table + 2 * (i)))

/* y[k] = exp(x[k]) for the k < n, n a multiple of 4; y may be x. */
__attribute__((target("avx2,fma"))) __attribute__((noinline)) static void
pn_exp_row_avx2(const double *x, double *y, size_t n)
{
    const __m256d invln2n = PN_EXP_SPLAT(PN_EXP_INVLN2N), shift = PN_EXP_SPLAT(PN_EXP_SHIFT);
    const __m256d negln2hin = PN_EXP_SPLAT(PN_EXP_NEGLN2HIN);
    const __m256d negln2lon = PN_EXP_SPLAT(PN_EXP_NEGLN2LON);
    const __m256d c2 = PN_EXP_SPLAT(PN_EXP_C2), c3 = PN_EXP_SPLAT(PN_EXP_C3);
    const __m256d c4 = PN_EXP_SPLAT(PN_EXP_C4), c5 = PN_EXP_SPLAT(PN_EXP_C5);
    const __m256d tiny = PN_EXP_SPLAT(PN_EXP_TINY), big = PN_EXP_SPLAT(PN_EXP_BIG);
    const __m256d sign = PN_EXP_SPLAT(0x8000000000000000ull);
    const __m256i low7 = _mm256_set1_epi64x(127);
    size_t k;
    for (k = 0; k + 4 <= n; k += 4) {
        const __m256d v = _mm256_loadu_pd(x + k);
        const __m256d a = _mm256_andnot_pd(sign, v);
        /* lanes on glibc's main path: 2^-54 <= |x| < 512 (false for NaN) */
        const int plain = _mm256_movemask_pd(
            _mm256_and_pd(_mm256_cmp_pd(a, tiny, _CMP_GE_OQ), _mm256_cmp_pd(a, big, _CMP_LT_OQ)));
        double xs[4];
        __m256d kd, r, r2, tmp, scale, tail;
        __m256i ki, sbits;
        if (plain != 15) _mm256_storeu_pd(xs, v); /* before y (maybe x) is written */
        kd = _mm256_fmadd_pd(v, invln2n, shift);
        ki = _mm256_castpd_si256(kd);
        kd = _mm256_sub_pd(kd, shift);
        r = _mm256_fmadd_pd(kd, negln2hin, v);
        r = _mm256_fmadd_pd(kd, negln2lon, r);
        {   /* each lane's pair (tail, sbits): 4 loads of 16 bytes, then a transpose
             * (faster than 2 gathers on Zen 4) */
            uint64_t i4[4];
            __m256i t02, t13;
            _mm256_storeu_si256((__m256i *)(void *)i4, _mm256_and_si256(ki, low7));
            t02 = _mm256_inserti128_si256(_mm256_castsi128_si256(PN_EXP_PAIR(i4[0])), PN_EXP_PAIR(i4[2]), 1);
            t13 = _mm256_inserti128_si256(_mm256_castsi128_si256(PN_EXP_PAIR(i4[1])), PN_EXP_PAIR(i4[3]), 1);
            tail = _mm256_castsi256_pd(_mm256_unpacklo_epi64(t02, t13));
            sbits = _mm256_add_epi64(_mm256_unpackhi_epi64(t02, t13), _mm256_slli_epi64(ki, 45));
        }
        scale = _mm256_castsi256_pd(sbits);
        r2 = _mm256_mul_pd(r, r);
        tmp = _mm256_fmadd_pd(_mm256_fmadd_pd(r, c3, c2), r2, _mm256_add_pd(tail, r));
        tmp = _mm256_fmadd_pd(_mm256_mul_pd(r2, r2), _mm256_fmadd_pd(r, c5, c4), tmp);
        _mm256_storeu_pd(y + k, _mm256_fmadd_pd(scale, tmp, scale));
        if (plain != 15) {
            size_t j;
            for (j = 0; j < 4; j++)
                if (!((plain >> j) & 1)) y[k + j] = exp(xs[j]);
        }
    }
}

/* Deterministic inputs for the self-check: 64-bit xorshift* uniform doubles. */
static double pn_exp_check_uniform(uint64_t *s, double lo, double hi)
{
    uint64_t z;
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    z = *s * 0x2545f4914f6cdd1dull;
    return lo + (hi - lo) * ((double)(z >> 11) * 0x1p-53);
}

/* Distinguishing inputs (see "The likeliest other libm" at the top): on each,
 * glibc's exp built with the named fma of __exp_fma unfused gives other bits
 * than __exp_fma, and so than libm here; "also" names the other fmas whose
 * unfusing alone changes that input's result.  Found by tools/exp_variants.c
 * (its families as named) with the models of tests/c/exp_variants.h, 8 per
 * fma, by its "list" mode checked to tell apart, together, every one of the
 * 256 subsets of fmas unfused except those of r hi, p45 and tmp p45 (which
 * never changed a result); tests/c/test_exp.c checks that again. */
static const uint64_t pn_exp_distinguishing[] = {
    /* kd fma unfused; found by: near (j+1/2) ln2/128 */
    0x407cb418b9a6bec6ull, /* 0x1.cb418b9a6bec6p+8, also final */
    0xc05b8eadc064c5a6ull, /* -0x1.b8eadc064c5a6p+6, also final */
    0x405c366b9b0d09fcull, /* 0x1.c366b9b0d09fcp+6, also final */
    0x404d94fac1e6e0bcull, /* 0x1.d94fac1e6e0bcp+5 */
    0xc04f969a0147330aull, /* -0x1.f969a0147330ap+5 */
    0xc07c0435e264da8full, /* -0x1.c0435e264da8fp+8 */
    0xc07a4ad959473372ull, /* -0x1.a4ad959473372p+8 */
    0xc07fa308efd5204dull, /* -0x1.fa308efd5204dp+8, also final */
    /* r lo fma unfused; found by: (k, binade) where r differs */
    0xc07578235c60d9c5ull, /* -0x1.578235c60d9c5p+8, also final */
    0xc07578235c6eece9ull, /* -0x1.578235c6eece9p+8 */
    0xc07578235a8ace03ull, /* -0x1.578235a8ace03p+8, also final */
    0xc07578234646c98aull, /* -0x1.578234646c98ap+8 */
    0xc075782359ad7d58ull, /* -0x1.5782359ad7d58p+8, also final */
    0xc075782353756daaull, /* -0x1.5782353756daap+8 */
    0xc07578234cdd6f21ull, /* -0x1.578234cdd6f21p+8 */
    0xc07578234f23f145ull, /* -0x1.578234f23f145p+8 */
    /* p23 fma unfused; found by: near a rounding midpoint; p23 filter, |x| in [2^-9, ln2/256) */
    0xbf4f309ec27de79bull, /* -0x1.f309ec27de79bp-11 */
    0xbf63a715803c0c83ull, /* -0x1.3a715803c0c83p-9 */
    0xbf4fa4e41ec3bba2ull, /* -0x1.fa4e41ec3bba2p-11, also tmp p23 */
    0xbf629015c0e7cb75ull, /* -0x1.29015c0e7cb75p-9, also tmp p23 */
    0x3f6a38805b7d156full, /* 0x1.a38805b7d156fp-9, also tmp p23, final */
    0xbf625a75864fb072ull, /* -0x1.25a75864fb072p-9, also tmp p23 */
    0x3f584e7afdfd6941ull, /* 0x1.84e7afdfd6941p-10, also tmp p23 */
    0xbf606fab563bd559ull, /* -0x1.06fab563bd559p-9, also tmp p23 */
    /* tmp p23 fma unfused; found by: uniform in [-40, 0]; uniform in [-512, 512]; random
     * magnitude; near (j+1/2) ln2/128; near a rounding midpoint; p23 filter, |x| in [2^-9,
     * ln2/256) */
    0xc03ba5905f120d75ull, /* -0x1.ba5905f120d75p+4 */
    0xc076ed293a5b8ca6ull, /* -0x1.6ed293a5b8ca6p+8, also final */
    0xbf4a7002aec163f0ull, /* -0x1.a7002aec163fp-11 */
    0x407470702762477dull, /* 0x1.470702762477dp+8, also final */
    0xbf4d1e4ea2a807deull, /* -0x1.d1e4ea2a807dep-11 */
    0xbf65659d0b7ea29aull, /* -0x1.5659d0b7ea29ap-9, also p23 */
    0xc033e781b5cbea4full, /* -0x1.3e781b5cbea4fp+4 */
    0xc0763c82f5a163c2ull, /* -0x1.63c82f5a163c2p+8 */
    /* final fma unfused; found by: uniform in [-40, 0]; uniform in [-512, 512]; random
     * magnitude; near (j+1/2) ln2/128; near a rounding midpoint; (k, binade) where r differs */
    0xc023a9aba3c15268ull, /* -0x1.3a9aba3c15268p+3 */
    0xc010d687a657f480ull, /* -0x1.0d687a657f48p+2 */
    0xbff187b176a39512ull, /* -0x1.187b176a39512p+0 */
    0x407e693667f197faull, /* 0x1.e693667f197fap+8 */
    0xbfe2c28464670368ull, /* -0x1.2c28464670368p-1 */
    0xc075782361130a2cull, /* -0x1.5782361130a2cp+8 */
    0xc0311d448a5767a3ull, /* -0x1.11d448a5767a3p+4 */
    0xc0755ccc925b71eeull, /* -0x1.55ccc925b71eep+8 */
};

/* 1 if the vector path gives ref's bits on the fixed inputs, else 0 (ref is
 * libm's exp, except in tests/c/test_exp.c, which gives it models of other
 * libms): the edges, the distinguishing inputs above, then deterministic
 * pseudo-random ones up to 65536 in all, in chunks of 64 (little stack, also
 * in a worker thread); about 1 ms, once per process.  Why so many random
 * ones: a libm unlike any modelled (another table, other constants) could
 * differ on few inputs. */
static int pn_exp_self_check_against(double (*ref)(double))
{
    enum { CHUNK = 64, N_CHECK = 65536 };
    static const double edges[] = {
        0x1p-54, -0x1p-54, 0x1.fffffffffffffp-55, -0x1.fffffffffffffp-55, 0x1.0000000000001p-54,
        -0x1.0000000000001p-54, 512.0, -512.0, 0x1.fffffffffffffp+8, -0x1.fffffffffffffp+8,
        -708.4, -708.39641853226408, -745.2, -745.13321910194110, -740.0, 709.8, 709.78271289338397,
        0.0, -0.0, 1.0, -1.0, 0.5, -0.5, 1e-10, -1e-10, -40.0, -20.0, 20.0, 4.9e-324, -4.9e-324,
        0x1.62e42fefa39efp-8, -0x1.62e42fefa39efp-8, 0x1.62e42fefa39efp-9, -0x1.62e42fefa39efp-9,
        1024.0, -1024.0, 1e300, -1e300, HUGE_VAL, -HUGE_VAL, NAN, -NAN,
    };
    const size_t ne = sizeof edges / sizeof edges[0];
    const size_t nd = sizeof pn_exp_distinguishing / sizeof pn_exp_distinguishing[0];
    double x[CHUNK], y[CHUNK];
    uint64_t s = 0x9e3779b97f4a7c15ull;
    size_t i, j;
    for (i = 0; i < N_CHECK; i += CHUNK) {
        for (j = 0; j < CHUNK; j++) {
            const size_t at = i + j;
            if (at < ne)
                x[j] = edges[at];
            else if (at < ne + nd)
                memcpy(&x[j], &pn_exp_distinguishing[at - ne], sizeof x[j]);
            else if (at % 2) /* sigmoid's range */
                x[j] = pn_exp_check_uniform(&s, -40.0, 0.0);
            else if (at % 4 == 0) /* all of exp's finite range, and a little past it */
                x[j] = pn_exp_check_uniform(&s, -745.0, 710.0);
            else /* magnitudes from 2^-54 to 2^10 */
                x[j] = pn_exp_check_uniform(&s, -1.0, 1.0) * ldexp(1.0, (int)(at % 64) - 54);
        }
        pn_exp_row_avx2(x, y, CHUNK);
        for (j = 0; j < CHUNK; j++) {
            const double e = ref(x[j]);
            if (memcmp(&e, &y[j], sizeof e) != 0) return 0;
        }
    }
    return 1;
}

/* The self-check proper: against libm's exp. */
static int pn_exp_self_check(void)
{
    return pn_exp_self_check_against(exp);
}

static int pn_exp_vector_on(void)
{
    int s = __atomic_load_n(&pn_exp_state, __ATOMIC_RELAXED);
    if (s == 0) {
        __builtin_cpu_init();
        s = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && pn_exp_self_check()
                ? 1
                : -1;
        __atomic_store_n(&pn_exp_state, s, __ATOMIC_RELAXED);
    }
    return s > 0;
}

#endif /* PN_VEXP */

PN_EXP_UNUSED static int pn_exp_vector_active(void)
{
#ifdef PN_VEXP
    return pn_exp_vector_on();
#else
    return 0;
#endif
}

PN_EXP_UNUSED static void pn_exp_row(const double *x, double *y, size_t n)
{
    size_t k = 0;
#ifdef PN_VEXP
    if (n >= 4 && pn_exp_vector_on()) {
        k = n & ~(size_t)3;
        pn_exp_row_avx2(x, y, k);
    }
#endif
    for (; k < n; k++) y[k] = exp(x[k]);
}

#endif /* PN_EXP_H */
