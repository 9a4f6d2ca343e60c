/* The float64 peak of one core, measured: many independent chains of vector
 * multiplies and adds (or, with -DPEAK_FMA, fused multiply-adds), run for
 * about 0.2 s.  Prints "gflops <GFLOP/s>" and "chains 12".
 *
 * Built by benchmarks/run.py with the system compiler:
 *   cc -O2 -mavx2 -ffp-contract=off peak.c          (separate mul and add,
 *                                                    as plainnet's strict IEEE order needs)
 *   cc -O2 -mavx2 -mfma -DPEAK_FMA peak.c           (FMA, for reference)
 * Each chain does acc = acc * m; acc = acc + c (or acc = fma(acc, m, c)),
 * with m and c read from the command line so the compiler cannot fold them;
 * the chains converge to c / (1 - m) and never reach denormals or infinities.
 * Flops: 1 per multiply, 1 per add, 2 per fma, 4 per 256-bit vector lane set.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define CHAINS 12

typedef double v4d __attribute__((vector_size(32)));

#ifdef PEAK_FMA
#include <immintrin.h>
#define STEP(a) a = (v4d)_mm256_fmadd_pd((__m256d)a, (__m256d)vm, (__m256d)vc)
#define FLOPS_PER_STEP 8.0
#else
#define STEP(a) do { a = a * vm; a = a + vc; } while (0)
#define FLOPS_PER_STEP 8.0
#endif

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static double run(long iters, double m, double c, double *sink)
{
    v4d vm = {m, m, m, m}, vc = {c, c, c, c};
    /* 12 accumulators written out, so that they live in 12 of the 16 ymm
     * registers (with m and c): no loads or stores in the timed loop */
    v4d a0 = {0.50, 0.51, 0.52, 0.53}, a1 = a0 + 0.04, a2 = a1 + 0.04, a3 = a2 + 0.04;
    v4d a4 = a3 + 0.04, a5 = a4 + 0.04, a6 = a5 + 0.04, a7 = a6 + 0.04;
    v4d a8 = a7 + 0.04, a9 = a8 + 0.04, a10 = a9 + 0.04, a11 = a10 + 0.04;
    double t0 = now();
    for (long i = 0; i < iters; i++) {
        STEP(a0); STEP(a1); STEP(a2); STEP(a3); STEP(a4); STEP(a5);
        STEP(a6); STEP(a7); STEP(a8); STEP(a9); STEP(a10); STEP(a11);
    }
    double t = now() - t0;
    v4d sum = a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7 + a8 + a9 + a10 + a11;
    double s = sum[0] + sum[1] + sum[2] + sum[3];
    *sink += s;
    return t;
}

int main(int argc, char **argv)
{
    double m = argc > 1 ? atof(argv[1]) : 0.999;
    double c = argc > 2 ? atof(argv[2]) : 0.001;
    double seconds = argc > 3 ? atof(argv[3]) : 0.2;
    double sink = 0.0;
    long iters = 1000;
    double t = run(iters, m, c, &sink);  /* warm-up and calibration */
    while (t < seconds / 20) {
        iters *= 4;
        t = run(iters, m, c, &sink);
    }
    iters = (long)(iters * (seconds / t)) + 1;
    double best = 1e300;
    /* the fastest of a few runs filling about ``seconds`` */
    for (int r = 0; r < 4; r++) {
        t = run(iters / 4 + 1, m, c, &sink);
        if (t < best)
            best = t;
    }
    double flops = (double)(iters / 4 + 1) * CHAINS * FLOPS_PER_STEP;
    printf("gflops %.6g\nchains %d\nsink %.3g\n", flops / best * 1e-9, CHAINS, sink);
    return 0;
}
