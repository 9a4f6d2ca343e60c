/* The cost of one optimizer step alone, in the C core's own code, on the
 * parameters of 784-256-10 (784*256 + 256 + 256*10 + 10 = 203,530): the floor
 * that the step puts under per-sample (batch_size=1) training, next to the
 * forward and backward passes that every optimizer shares.  It includes
 * csrc/plainnet.c, so it times step_params and step_share exactly as the
 * core compiles them (one contiguous loop per optimizer), and then the
 * per-sample training itself, without Python (pn_epoch_rows, the fused
 * per-sample SGD, against pn_epoch_batches with batch_size 1), and the
 * throughput of the instructions that bound Adam's loop on this CPU: vsqrtpd
 * and vdivpd on 4 doubles (Adam needs per parameter a correctly rounded sqrt
 * and two divisions, mk / (sqrt(vk) / bc2 + eps), for the Python backend's
 * bits), against vmulpd.  The step alone over the time of per-sample SGD is
 * the floor of "per-sample Adam / per-sample SGD" while the bits are kept.
 *
 * Build and run from the project root, pinned to one core:
 *   cc -O3 -ffp-contract=off -fno-math-errno -mavx2 -Icsrc benchmarks/adam_step.c \
 *      -lm -lpthread -o /tmp/adam_step
 *   taskset -c 1 /tmp/adam_step [runs]
 * Each figure is the best of `runs` runs (default 300; the training figures
 * of runs / 10 + 1): noise only ever slows a run down.  -mavx2 compiles the
 * whole core for AVX2, where the library runs its AVX2 copy of the same code.
 * Not part of the library or of benchmarks/run.py.
 */
#include "../csrc/plainnet.c"

#include <immintrin.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Optimizer state that stays finite over many steps. */
static void fill(double *x, size_t n, double scale, unsigned seed)
{
    size_t k;
    for (k = 0; k < n; k++) {
        seed = seed * 1103515245u + 12345u;
        x[k] = scale * ((double)(seed >> 8) / 16777216.0 - 0.5);
    }
}

static volatile double sink;

/* best = the fewest seconds that the statement timed took in `runs` runs,
 * each between the untimed statements before and after (a comma in one of
 * the three must be inside parentheses; (void)0 for none). */
#define BEST_OF(best, runs, before, timed, after) \
    do {                                          \
        int run_;                                 \
        (best) = 1e30;                            \
        for (run_ = 0; run_ < (runs); run_++) {   \
            double t_;                            \
            before;                               \
            t_ = now();                           \
            timed;                                \
            t_ = now() - t_;                      \
            if (t_ < (best)) (best) = t_;         \
            after;                                \
        }                                         \
    } while (0)

/* Best seconds of `runs` calls of step_params over n parameters. */
static double time_params(const pn_optimizer *opt, size_t n, double nb, double bc2, int runs)
{
    double *p = malloc(n * sizeof *p), *g = malloc(n * sizeof *g), *m = calloc(n, sizeof *m);
    double *v = calloc(n, sizeof *v), best;
    fill(p, n, 0.2, 1);
    fill(g, n, 0.002, 2);
    BEST_OF(best, runs, (void)0,
            step_params(opt, p, g, m, v, n, 0.001, nb, opt->weight_decay, 0.001 / (1.0 - 0.9),
                        bc2, PN_SUMS, 0.0, NULL, 0.0, 0, 0.0, NULL),
            (void)0);
    sink = p[n / 2];
    free(p);
    free(g);
    free(m);
    free(v);
    return best;
}

/* Best seconds of `runs` calls of step_share (every layer, and the copy of
 * the new weights of layers >= 1 to their mirror) on a 784-256-10 network. */
static double time_share(const pn_optimizer *opt, double nb, int runs)
{
    const size_t sizes[3] = {784, 256, 10};
    const int acts[2] = {PN_RELU, PN_SIGMOID};
    const size_t bytes = pn_net_bytes(3, sizes);
    pn_net *net = malloc(bytes);
    pn_team team;
    double *buf, *params, best;
    size_t n;
    if (net == NULL || pn_net_init(net, bytes, 3, sizes, acts, PN_MSE) != PN_OK) exit(1);
    n = pn_n_params(net);
    params = malloc(n * sizeof *params);
    buf = calloc(2 * n, sizeof *buf);
    fill(params, n, 0.2, 3);
    pn_set_params(net, params, n);
    fill(area(net, net->gsum), n, 0.002, 4);
    team.id = 0;
    team.n = 1;
    team.sync = NULL;
    BEST_OF(best, runs, (void)0,
            step_share(&team, net, opt, 0.001, nb, buf, 0.001 / (1.0 - 0.9), sqrt(1.0 - 0.999)),
            (void)0);
    free(params);
    free(buf);
    free(net);
    return best;
}

/* Best microseconds per row of `runs` passes of pn_epoch_rows (per-sample
 * SGD, opt NULL) or pn_epoch_batches with batch_size 1 (opt), on a
 * 784-256-10 sigmoid network and 256 rows: the core's per-sample training
 * without Python around it. */
static double time_rows(const pn_optimizer *opt, double lr, int runs)
{
    const size_t sizes[3] = {784, 256, 10}, rows = 256;
    const int acts[2] = {PN_SIGMOID, PN_SIGMOID};
    const size_t bytes = pn_net_bytes(3, sizes);
    pn_net *net = malloc(bytes);
    double *x = malloc(rows * 784 * sizeof *x), *t = calloc(rows * 10, sizeof *t), *buf, *params;
    double best, total, adam_state[2];
    size_t n, r;
    if (net == NULL || pn_net_init(net, bytes, 3, sizes, acts, PN_MSE) != PN_OK) exit(1);
    n = pn_n_params(net);
    params = malloc(n * sizeof *params);
    buf = calloc(2 * n, sizeof *buf);
    fill(params, n, 0.1, 5);
    fill(x, rows * 784, 2.0, 6);
    for (r = 0; r < rows; r++) t[r * 10 + r % 10] = 1.0;
    BEST_OF(best, runs,
            {   /* the same start for every run */
                pn_set_params(net, params, n);
                memset(buf, 0, 2 * n * sizeof *buf);
                adam_state[0] = adam_state[1] = 1.0;
                total = 0.0;
                if (pn_epoch_begin(net) != PN_OK) exit(1);
            },
            {
                if (opt == NULL)
                    pn_epoch_rows(net, x, rows * 784, t, rows * 10, NULL, 0, 0, rows, lr, &total);
                else
                    pn_epoch_batches(net, x, rows * 784, t, rows * 10, NULL, 0, 0, rows, 1, lr, opt, buf,
                                     (opt->kind == PN_OPT_ADAM ? 2 : opt->kind == PN_OPT_MOMENTUM) * n,
                                     adam_state, &total);
            },
            sink = total);
    free(params);
    free(buf);
    free(x);
    free(t);
    free(net);
    return best * 1e6 / (double)rows;
}

/* Nanoseconds per instruction of 4 doubles, best of `runs`: 8 independent
 * chains (enough to cover the latency), `steps` steps each. */
#define CHAINS 8
static double time_op(int op, long steps, int runs)
{
    __m256d x[CHAINS], d = _mm256_set1_pd(1.0000001);
    double best, out = 0.0;
    long s;
    int c;
    BEST_OF(best, runs,
            for (c = 0; c < CHAINS; c++) x[c] = _mm256_set1_pd(2.0 + c),
            for (s = 0; s < steps; s++)
                for (c = 0; c < CHAINS; c++)
                    x[c] = op == 0 ? _mm256_sqrt_pd(x[c]) : op == 1 ? _mm256_div_pd(x[c], d)
                                                                    : _mm256_mul_pd(x[c], d),
            for (c = 0; c < CHAINS; c++) out += x[c][0]);
    sink = out;
    return best * 1e9 / ((double)steps * CHAINS);
}

int main(int argc, char **argv)
{
    const int runs = argc > 1 ? atoi(argv[1]) : 300;
    const size_t n = 784 * 256 + 256 + 256 * 10 + 10;
    const pn_optimizer adam = {PN_OPT_ADAM, 0, 0.0, 0.9, 0.999, 1e-8, 0.0};
    const pn_optimizer adam_wd = {PN_OPT_ADAM, 0, 0.0, 0.9, 0.999, 1e-8, 0.001};
    const pn_optimizer momentum = {PN_OPT_MOMENTUM, 0, 0.9, 0.0, 0.0, 0.0, 0.0};
    const pn_optimizer sgd = {PN_OPT_SGD, 0, 0.0, 0.0, 0.0, 0.0, 0.0};
    const pn_optimizer sgd_wd = {PN_OPT_SGD, 0, 0.0, 0.0, 0.0, 0.0, 0.001};
    double sqrt_ns, div_ns, mul_ns;
    const double first_bc2 = sqrt(1.0 - 0.999); /* Adam's first step */
    printf("one step of %zu parameters (784-256-10), best of %d runs, in us\n", n, runs);
    printf("  step_params adam, nb 1 (no division by nb)  %8.1f\n", 1e6 * time_params(&adam, n, 1.0, first_bc2, runs));
    printf("  step_params adam, nb 64                     %8.1f\n", 1e6 * time_params(&adam, n, 64.0, first_bc2, runs));
    printf("  step_params adam, nb 1, bc2 1.0 (late steps) %7.1f\n", 1e6 * time_params(&adam, n, 1.0, 1.0, runs));
    printf("  step_params adam + weight decay, nb 1       %8.1f\n", 1e6 * time_params(&adam_wd, n, 1.0, first_bc2, runs));
    printf("  step_params momentum, nb 1                  %8.1f\n", 1e6 * time_params(&momentum, n, 1.0, first_bc2, runs));
    printf("  step_params sgd, nb 1                       %8.1f\n", 1e6 * time_params(&sgd, n, 1.0, first_bc2, runs));
    printf("  step_share adam, nb 1 (with the mirror)     %8.1f\n", 1e6 * time_share(&adam, 1.0, runs));
    printf("  step_share momentum, nb 1                   %8.1f\n", 1e6 * time_share(&momentum, 1.0, runs));
    {
        const double sgd_us = time_rows(NULL, 0.1, runs / 10 + 1);
        const double adam_us = time_rows(&adam, 0.001, runs / 10 + 1);
        printf("per-sample training, 256 rows, us per row (best of %d)\n", runs / 10 + 1);
        printf("  pn_epoch_rows (SGD)                         %8.1f\n", sgd_us);
        printf("  pn_epoch_batches, batch_size 1, momentum    %8.1f\n", time_rows(&momentum, 0.01, runs / 10 + 1));
        printf("  pn_epoch_batches, batch_size 1, adam        %8.1f  (%.2fx SGD)\n", adam_us, adam_us / sgd_us);
        printf("  pn_epoch_batches, batch_size 1, sgd + wd    %8.1f\n", time_rows(&sgd_wd, 0.1, runs / 10 + 1));
    }
    sqrt_ns = time_op(0, 200000, 20);
    div_ns = time_op(1, 200000, 20);
    mul_ns = time_op(2, 200000, 20);
    printf("throughput, ns per instruction on 4 doubles (8 independent chains)\n");
    printf("  vsqrtpd ymm %.3f  vdivpd ymm %.3f  vmulpd ymm %.3f\n", sqrt_ns, div_ns, mul_ns);
    printf("  Adam's 1 sqrt + 2 divisions per parameter: %.1f us for %zu at that rate\n",
           1e-3 * (sqrt_ns + 2.0 * div_ns) * (double)n / 4.0, n);
    return 0;
}
