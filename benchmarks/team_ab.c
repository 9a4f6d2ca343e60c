/* The C core's mini-batch epoch alone (pn_epoch_batches, W6's shape:
 * 784-256-10 sigmoid, MSE, 4,096 synthetic rows, batches of 64), or with
 * `rows` its per-sample SGD epoch (pn_epoch_rows, one thread), through the
 * public API only, so that two versions of csrc/plainnet.c can be timed
 * against each other: build one binary per version and run them interleaved
 * (benchmarks/team_ab.sh does both).  Prints the best microseconds per
 * sample of `runs` epochs from the same start at 1 and at 2 threads, and on
 * stderr a digest of the trained parameters per thread count, which must
 * agree between the thread counts (and between versions that keep the bits).
 *
 *   cc -O3 -ffp-contract=off -fno-math-errno -Icsrc benchmarks/team_ab.c \
 *      csrc/plainnet.c -lm -lpthread -o /tmp/team_ab
 *   /tmp/team_ab [runs] [sgd|adam|rows]
 *
 * Not part of the library or of benchmarks/run.py.
 */
#define _POSIX_C_SOURCE 200809L
#include "plainnet.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static double uniform(uint64_t *s)
{
    *s = *s * 6364136223846793005u + 1442695040888963407u;
    return (double)(*s >> 11) / 9007199254740992.0;
}

int main(int argc, char **argv)
{
    const size_t sizes[3] = {784, 256, 10}, rows = 4096, batch = 64;
    const int acts[2] = {PN_SIGMOID, PN_SIGMOID};
    const int runs = argc > 1 ? atoi(argv[1]) : 5;
    const int adam = argc > 2 && strcmp(argv[2], "adam") == 0;
    const int per_sample = argc > 2 && strcmp(argv[2], "rows") == 0;
    const pn_optimizer sgd_opt = {PN_OPT_SGD, 0, 0.0, 0.0, 0.0, 0.0, 0.0};
    const pn_optimizer adam_opt = {PN_OPT_ADAM, 0, 0.0, 0.9, 0.999, 1e-8, 0.0};
    const size_t bytes = pn_net_bytes(3, sizes);
    pn_net *net = malloc(bytes);
    double *x = malloc(rows * 784 * sizeof *x), *t = calloc(rows * 10, sizeof *t);
    double *p0, *p, *buf;
    size_t n, k, threads;
    uint64_t s = 42;
    int run;
    if (net == NULL || x == NULL || t == NULL || pn_net_init(net, bytes, 3, sizes, acts, PN_MSE) != PN_OK)
        return 1;
    n = pn_n_params(net);
    p0 = malloc(n * sizeof *p0);
    p = malloc(n * sizeof *p);
    buf = calloc(2 * n, sizeof *buf);
    if (p0 == NULL || p == NULL || buf == NULL) return 1;
    for (k = 0; k < n; k++) p0[k] = 0.1 * (uniform(&s) - 0.5);
    for (k = 0; k < rows * 784; k++) x[k] = uniform(&s);
    for (k = 0; k < rows; k++) t[k * 10 + (size_t)(uniform(&s) * 10.0) % 10] = 1.0;
    for (threads = 1; threads <= (per_sample ? 1u : 2u); threads++) {
        double best = 1e30, total, state[2];
        uint64_t digest = 1469598103934665603u;
        if (pn_set_threads(net, threads) != PN_OK) return 1;
        for (run = 0; run < runs; run++) {
            double t0;
            pn_set_params(net, p0, n);
            memset(buf, 0, 2 * n * sizeof *buf);
            state[0] = state[1] = 1.0;
            total = 0.0;
            if (pn_epoch_begin(net) != PN_OK) return 1;
            t0 = now();
            if (per_sample) {
                if (pn_epoch_rows(net, x, rows * 784, t, rows * 10, NULL, 0, 0, rows, 0.1, &total)
                    != PN_OK)
                    return 1;
            } else if (pn_epoch_batches(net, x, rows * 784, t, rows * 10, NULL, 0, 0, rows, batch,
                                        adam ? 0.001 : 0.1, adam ? &adam_opt : &sgd_opt, buf,
                                        (adam ? 2 : 0) * n, state, &total) != PN_OK) {
                return 1;
            }
            t0 = now() - t0;
            if (t0 < best) best = t0;
            if (pn_epoch_end(net, total, rows, &total) != PN_OK) return 1;
        }
        pn_get_params(net, p, n);
        for (k = 0; k < n; k++) {
            uint64_t bits;
            memcpy(&bits, &p[k], sizeof bits);
            digest = (digest ^ bits) * 1099511628211u;
        }
        printf("%zu thread%s %7.2f us/sample\n", threads, threads > 1 ? "s" : " ", best * 1e6 / (double)rows);
        fprintf(stderr, "digest %zu thread%s %016llx\n", threads, threads > 1 ? "s" : "",
                (unsigned long long)digest);
    }
    free(net);
    free(x);
    free(t);
    free(p0);
    free(p);
    free(buf);
    return 0;
}
