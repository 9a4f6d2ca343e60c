/* bench_data.h: the problem file that benchmarks/run.py writes for its C peers.
 *
 * Little-endian, native sizes, in this order:
 *   int32 n_sizes, int32 sizes[n_sizes], int32 n_rows, int32 epochs, float64 learning_rate,
 *   for each layer l: float64 W[sizes[l+1]][sizes[l]] (row j feeds neuron j), float64 b[sizes[l+1]],
 *   float64 X[n_rows][sizes[0]], float64 T[n_rows][sizes[n_sizes-1]].
 * The initial weights are plainnet's, so every peer that accepts them starts from the same point.
 */
#ifndef BENCH_DATA_H
#define BENCH_DATA_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

typedef struct {
    int n_layers;          /* weight layers: n_sizes - 1 */
    int sizes[16];
    int n_rows, epochs;
    double lr;
    double *W[15], *b[15]; /* initial parameters, per layer */
    double *X, *T;
} bench_problem;

static void bench_die(const char *what)
{
    fprintf(stderr, "bench: %s\n", what);
    exit(2);
}

static void bench_read(FILE *f, void *dst, size_t size, size_t count)
{
    if (fread(dst, size, count, f) != count)
        bench_die("problem file is truncated");
}

static double *bench_read_doubles(FILE *f, size_t count)
{
    double *p = malloc(count * sizeof *p);
    if (!p)
        bench_die("out of memory");
    bench_read(f, p, sizeof *p, count);
    return p;
}

static bench_problem bench_load(const char *path)
{
    bench_problem p;
    int32_t n, v;
    FILE *f = fopen(path, "rb");
    if (!f)
        bench_die("cannot open the problem file");
    bench_read(f, &n, sizeof n, 1);
    if (n < 2 || n > 16)
        bench_die("bad layer count");
    for (int i = 0; i < n; i++) {
        bench_read(f, &v, sizeof v, 1);
        p.sizes[i] = v;
    }
    p.n_layers = n - 1;
    bench_read(f, &v, sizeof v, 1);
    p.n_rows = v;
    bench_read(f, &v, sizeof v, 1);
    p.epochs = v;
    bench_read(f, &p.lr, sizeof p.lr, 1);
    for (int l = 0; l < p.n_layers; l++) {
        p.W[l] = bench_read_doubles(f, (size_t)p.sizes[l + 1] * p.sizes[l]);
        p.b[l] = bench_read_doubles(f, (size_t)p.sizes[l + 1]);
    }
    p.X = bench_read_doubles(f, (size_t)p.n_rows * p.sizes[0]);
    p.T = bench_read_doubles(f, (size_t)p.n_rows * p.sizes[n - 1]);
    fclose(f);
    return p;
}

static double bench_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

/* 1 if the output row y "gets" target row t right: argmax for several
 * outputs, the 0.5 threshold for one. */
static int bench_correct(const double *y, const double *t, int n_out)
{
    if (n_out == 1)
        return (y[0] >= 0.5) == (t[0] >= 0.5);
    int ay = 0, at = 0;
    for (int k = 1; k < n_out; k++) {
        if (y[k] > y[ay]) ay = k;
        if (t[k] > t[at]) at = k;
    }
    return ay == at;
}

#endif
