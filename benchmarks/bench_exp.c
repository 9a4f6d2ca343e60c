/*
 * bench_exp.c: nanoseconds per exp, libm one at a time against pn_exp_row
 * (csrc/pn_exp.h), on rows of sigmoid-like inputs (-|z|, z in [-8, 8]).
 *
 *     cc -std=c99 -O3 -ffp-contract=off -Icsrc benchmarks/bench_exp.c -lm -o bench_exp
 *     taskset -c 1 ./bench_exp [ROW]        (ROW: row length, default 256)
 *
 * Prints the best of 15 repetitions of each, to ride out a noisy machine.
 */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "pn_exp.h"

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

int main(int argc, char **argv)
{
    const size_t row = argc > 1 ? (size_t)atol(argv[1]) : 256;
    const size_t total = 1u << 22; /* exps per repetition */
    const size_t reps = total / row;
    double *x = malloc(row * sizeof *x), *y = malloc(row * sizeof *y), sink = 0.0;
    double best_libm = 1e30, best_row = 1e30;
    size_t i, r;
    int rep;
    unsigned s = 12345;
    if (!x || !y) return 1;
    for (i = 0; i < row; i++) {
        s = s * 1103515245u + 12345u;
        x[i] = -fabs(16.0 * ((double)(s >> 8) / 16777216.0 - 0.5));
    }
    printf("bench_exp: vector path %s, rows of %u\n", pn_exp_vector_active() ? "active" : "off",
           (unsigned)row);
    for (rep = 0; rep < 15; rep++) {
        double t = now();
        for (r = 0; r < reps; r++) {
            for (i = 0; i < row; i++) y[i] = exp(x[i]);
            sink += y[r % row];
        }
        t = (now() - t) / (double)(reps * row);
        if (t < best_libm) best_libm = t;
        t = now();
        for (r = 0; r < reps; r++) {
            pn_exp_row(x, y, row);
            sink += y[r % row];
        }
        t = (now() - t) / (double)(reps * row);
        if (t < best_row) best_row = t;
    }
    printf("bench_exp: libm exp %.2f ns, pn_exp_row %.2f ns per exp (%.1fx)  [%g]\n", best_libm * 1e9,
           best_row * 1e9, best_libm / best_row, sink);
    free(x);
    free(y);
    return 0;
}
