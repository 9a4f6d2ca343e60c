/*
 * test_threads.c: the functions taking a const pn_net * run on one network
 * from many threads at once (each with its own scratch) and give the bits of
 * a single-threaded run; and the core's own teams of threads (pn_set_threads)
 * give, for 1, 2 and 3 threads, the same bits in batch prediction, losses and
 * mini-batch training.  tools/sanitize.sh builds it with ThreadSanitizer
 * where the compiler has it, which reports any data race on the network.
 */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plainnet.h"

#define N_THREADS 4
#define N_ROWS 64
#define ROUNDS 20

static const size_t sizes[4] = {13, 21, 9, 5};
static pn_net *net;
static double x[N_ROWS * 13], t[N_ROWS * 5], want_y[N_ROWS * 5], want_g[2048], want_loss;
static int failures;
static pthread_mutex_t failures_lock = PTHREAD_MUTEX_INITIALIZER;

static void fail(const char *what)
{
    pthread_mutex_lock(&failures_lock);
    failures++;
    fprintf(stderr, "test_threads: %s differs in a thread\n", what);
    pthread_mutex_unlock(&failures_lock);
}

static void *worker(void *arg)
{
    size_t slen = pn_scratch_len(net), n = pn_n_params(net);
    double *s = malloc(slen * sizeof *s), *y = malloc(sizeof want_y), *g = malloc(n * sizeof *g);
    double loss, one[5];
    int r, k;
    (void)arg;
    for (r = 0; r < ROUNDS; r++) {
        if (pn_predict(net, x, sizeof x / sizeof x[0], y, N_ROWS * 5, s, slen) != PN_OK
            || memcmp(y, want_y, sizeof want_y) != 0)
            fail("pn_predict");
        if (pn_loss(net, x, sizeof x / sizeof x[0], t, N_ROWS * 5, &loss, s, slen) != PN_OK
            || memcmp(&loss, &want_loss, sizeof loss) != 0)
            fail("pn_loss");
        if (pn_gradients(net, x, 13, t, 5, g, n, &loss, s, slen) != PN_OK
            || memcmp(g, want_g, n * sizeof *g) != 0)
            fail("pn_gradients");
        for (k = 0; k < N_ROWS; k += 7)
            if (pn_forward(net, x + k * 13, 13, one, 5, s, slen) != PN_OK
                || memcmp(one, want_y + k * 5, sizeof one) != 0)
                fail("pn_forward");
    }
    free(s);
    free(y);
    free(g);
    return NULL;
}

/* The core's teams: a network large enough that every call uses them. */
#define T_ROWS 256
static const size_t t_sizes[4] = {200, 96, 64, 5};

/* Train two epochs parts (Adam, batches of 50; weighted momentum, batches of
 * 64), predict and take both losses on `threads` threads; all results into out. */
static int team_run(size_t threads, double *out, size_t out_len)
{
    const int acts[3] = {PN_SIGMOID, PN_RELU, PN_SOFTMAX};
    static double tx[T_ROWS * 200], tt[T_ROWS * 5], tw[T_ROWS];
    size_t bytes = pn_net_bytes(4, t_sizes), n, blen, i, used = 0;
    pn_optimizer adam = {PN_OPT_ADAM, 0, 0.0, 0.9, 0.999, 1e-8, 0.001};
    pn_optimizer mom = {PN_OPT_MOMENTUM, 1, 0.9, 0.0, 0.0, 0.0, 0.01};
    double adam_state[2] = {1.0, 1.0}, total = 0.0, loss, *buf, *blk;
    pn_net *tn = malloc(bytes);
    int ok = 1;
    for (i = 0; i < T_ROWS * 200; i++) tx[i] = sin((double)i * 0.37);
    for (i = 0; i < T_ROWS; i++) {
        tt[i * 5 + i % 5] = 1.0;
        tw[i] = (double)(i % 4) * 0.5; /* a quarter of the rows weigh 0 */
    }
    if (tn == NULL || pn_net_init(tn, bytes, 4, t_sizes, acts, PN_CATEGORICAL_CROSSENTROPY) != PN_OK)
        return 0;
    n = pn_n_params(tn);
    blen = pn_block_scratch_len(tn);
    buf = calloc(2 * n, sizeof *buf);
    blk = malloc(blen * sizeof *blk);
    for (i = 0; i < n; i++) buf[i] = cos((double)i) * 0.2;
    ok = buf != NULL && blk != NULL && pn_set_params(tn, buf, n) == PN_OK
         && pn_set_threads(tn, threads) == PN_OK && out_len >= n + T_ROWS * 5 + 3;
    memset(buf, 0, 2 * n * sizeof *buf);
    ok = ok && pn_epoch_begin(tn) == PN_OK
         && pn_epoch_batches(tn, tx, T_ROWS * 200, tt, T_ROWS * 5, NULL, 0, 0, T_ROWS, 50, 0.01,
                             &adam, buf, 2 * n, adam_state, &total) == PN_OK
         && pn_epoch_end(tn, total, T_ROWS, &loss) == PN_OK;
    memset(buf, 0, 2 * n * sizeof *buf);
    total = 0.0;
    ok = ok && pn_epoch_begin(tn) == PN_OK
         && pn_epoch_batches_weighted(tn, tx, T_ROWS * 200, tt, T_ROWS * 5, tw, T_ROWS, NULL, 0, 0,
                                      T_ROWS, 64, 0.05, &mom, buf, n, adam_state, &total) == PN_OK
         && pn_epoch_end_weighted(tn, total, 1.0, &loss) == PN_OK;
    ok = ok && pn_get_params(tn, out, n) == PN_OK;
    used = n;
    ok = ok && pn_predict(tn, tx, T_ROWS * 200, out + used, T_ROWS * 5, blk, blen) == PN_OK;
    used += T_ROWS * 5;
    ok = ok && pn_loss(tn, tx, T_ROWS * 200, tt, T_ROWS * 5, out + used, blk, blen) == PN_OK
         && pn_loss_weighted(tn, tx, T_ROWS * 200, tt, T_ROWS * 5, tw, T_ROWS, out + used + 1,
                             blk, blen) == PN_OK;
    out[used + 2] = total;
    free(buf);
    free(blk);
    free(tn);
    return ok;
}

static int teams_agree(void)
{
    static double one[32768], other[32768];
    size_t threads;
    if (!team_run(1, one, 32768)) return 0;
    for (threads = 2; threads <= 3; threads++)
        if (!team_run(threads, other, 32768) || memcmp(one, other, sizeof one) != 0) {
            fprintf(stderr, "test_threads: %zu threads in the core differ from one\n", threads);
            return 0;
        }
    return 1;
}

int main(void)
{
    const int acts[3] = {PN_GELU, PN_TANH, PN_SOFTMAX};
    pthread_t threads[N_THREADS];
    size_t bytes = pn_net_bytes(4, sizes), n, slen, i;
    double *p, *s, loss;
    int k;
    net = malloc(bytes);
    if (net == NULL || pn_net_init(net, bytes, 4, sizes, acts, PN_CATEGORICAL_CROSSENTROPY) != PN_OK) {
        fprintf(stderr, "test_threads: no network\n");
        return 1;
    }
    n = pn_n_params(net);
    slen = pn_scratch_len(net);
    p = malloc(n * sizeof *p);
    s = malloc(slen * sizeof *s);
    for (i = 0; i < n; i++) p[i] = sin((double)i) * 0.3;
    for (i = 0; i < N_ROWS * 13; i++) x[i] = cos((double)i * 0.7) * 2.0;
    for (k = 0; k < N_ROWS; k++) t[k * 5 + k % 5] = 1.0;
    if (n > sizeof want_g / sizeof want_g[0] || pn_set_params(net, p, n) != PN_OK
        || pn_predict(net, x, N_ROWS * 13, want_y, N_ROWS * 5, s, slen) != PN_OK
        || pn_loss(net, x, N_ROWS * 13, t, N_ROWS * 5, &want_loss, s, slen) != PN_OK
        || pn_gradients(net, x, 13, t, 5, want_g, n, &loss, s, slen) != PN_OK) {
        fprintf(stderr, "test_threads: single-threaded run failed\n");
        return 1;
    }
    for (k = 0; k < N_THREADS; k++) pthread_create(&threads[k], NULL, worker, NULL);
    for (k = 0; k < N_THREADS; k++) pthread_join(threads[k], NULL);
    free(p);
    free(s);
    free(net);
    if (failures || !teams_agree()) return 1;
    printf("test_threads: %d threads agree with one; the core's teams of 2 and 3 with 1\n",
           N_THREADS);
    return 0;
}
