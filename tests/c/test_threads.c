/*
 * test_threads.c: the functions taking a const pn_net * run on one network
 * from many threads at once (each with its own scratch) and give the bits of
 * a single-threaded run.  tools/sanitize.sh builds it with ThreadSanitizer
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
    if (failures) return 1;
    printf("test_threads: %d threads agree with one\n", N_THREADS);
    return 0;
}
