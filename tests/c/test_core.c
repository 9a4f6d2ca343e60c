/*
 * test_core.c: exercises every pn_ function of csrc/plainnet.h, bad arguments
 * included, with hand-set weights whose outputs can be checked by hand.
 * Built and run by tools/sanitize.sh under AddressSanitizer and UBSan.
 */
#include "plainnet.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int failures = 0;
/* FNV-1a of every result of test_wide and test_blocks: tools/sanitize.sh checks that the AVX2
 * and the baseline builds give the same bits. */
static unsigned long long digest = 14695981039346656037ULL;

static void mix(const double *values, size_t n)
{
    const unsigned char *bytes = (const unsigned char *)values;
    size_t k;
    for (k = 0; k < n * sizeof(double); k++) {
        digest ^= bytes[k];
        digest *= 1099511628211ULL;
    }
}

#define CHECK(cond)                                                            \
    do {                                                                       \
        if (!(cond)) {                                                         \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
            failures++;                                                        \
        }                                                                      \
    } while (0)

/* Memory for a network, aligned for double (malloc is). */
static pn_net *make_net(size_t n_sizes, const size_t *sizes, const int *acts, int loss)
{
    size_t bytes = pn_net_bytes(n_sizes, sizes);
    void *mem;
    if (bytes == 0) return NULL;
    mem = malloc(bytes);
    if (mem == NULL) return NULL;
    if (pn_net_init(mem, bytes, n_sizes, sizes, acts, loss) != PN_OK) {
        free(mem);
        return NULL;
    }
    return (pn_net *)mem;
}

/* pn_train with one learning rate for every epoch and no shuffling. */
static int train(pn_net *net, const double *x, size_t x_len, const double *t, size_t t_len,
                 size_t epochs, double lr, double *losses, size_t losses_len, size_t *done)
{
    double lrs[8];
    size_t e;
    for (e = 0; e < 8; e++) lrs[e] = lr;
    return pn_train(net, x, x_len, t, t_len, epochs, lrs, epochs <= 8 ? epochs : 0, NULL, NULL, 0,
                    losses, losses_len, done);
}

static double sigmoid(double x) { return 1.0 / (1.0 + exp(-x)); }

/* The tutorial's network: two hidden sigmoid neurons and one output. */
static void test_tutorial(void)
{
    const size_t sizes[3] = {2, 2, 1};
    const int acts[2] = {PN_SIGMOID, PN_SIGMOID};
    /* layer 0: w = [[0, 1], [0, 1]], b = [0, 0]; layer 1: w = [[0, 1]], b = [0] */
    const double params[9] = {0, 1, 0, 1, 0, 0, 0, 1, 0};
    double back[9], x[2] = {2, 3}, y[1], t[1] = {1.0}, grads[9], loss, losses[4];
    double data[4] = {-2, -1, 25, 6}, targets[2] = {1, 0}, preds[2], total;
    size_t done = 99, index;
    pn_net *net = make_net(3, sizes, acts, PN_MSE);
    double *scratch;
    size_t slen;

    CHECK(net != NULL);
    if (net == NULL) return;
    CHECK(pn_n_params(net) == 9);
    slen = pn_scratch_len(net);
    CHECK(slen > 0);
    scratch = malloc(slen * sizeof(double));

    CHECK(pn_set_params(net, params, 9) == PN_OK);
    CHECK(pn_get_params(net, back, 9) == PN_OK);
    CHECK(memcmp(params, back, sizeof params) == 0);

    /* the tutorial: h = sigmoid(3) for both, o = sigmoid(h) = 0.7216... */
    CHECK(pn_forward(net, x, 2, y, 1, scratch, slen) == PN_OK);
    CHECK(y[0] == sigmoid(0.0 + 1.0 * sigmoid(0.0 + 0.0 * 2.0 + 1.0 * 3.0 + 0.0) + 0.0));
    CHECK(fabs(y[0] - 0.7216325609518421) < 1e-15);

    CHECK(pn_predict(net, data, 4, preds, 2, scratch, slen) == PN_OK);
    CHECK(pn_loss(net, data, 4, targets, 2, &loss, scratch, slen) == PN_OK);
    CHECK(loss == ((1 - preds[0]) * (1 - preds[0]) + (0 - preds[1]) * (0 - preds[1])) / 2);

    CHECK(pn_gradients(net, x, 2, t, 1, grads, 9, &loss, scratch, slen) == PN_OK);
    CHECK(loss == (1 - y[0]) * (1 - y[0]));
    /* output bias gradient: -2 (t - y) * y (1 - y) */
    CHECK(grads[8] == (-2.0 * (1 - y[0])) / 1 * (y[0] * (1.0 - y[0])));

    CHECK(train(net, data, 4, targets, 2, 3, 0.1, losses, 4, &done) == PN_OK);
    CHECK(done == 3);
    CHECK(pn_epochs_trained(net) == 3);
    CHECK(pn_epochs_trained(NULL) == 0);
    CHECK(losses[0] > 0.0 && isfinite(losses[2]));

    /* an epoch in parts equals the same epoch in one call */
    {
        double a[9], b[9], whole[1];
        CHECK(pn_set_params(net, params, 9) == PN_OK);
        CHECK(train(net, data, 4, targets, 2, 1, 0.1, whole, 1, &done) == PN_OK);
        CHECK(pn_get_params(net, a, 9) == PN_OK);
        CHECK(pn_set_params(net, params, 9) == PN_OK);
        CHECK(pn_epoch_rows(net, data, 4, targets, 2, NULL, 0, 0, 1, 0.1, &total) == PN_ESTATE);
        CHECK(pn_epoch_begin(net) == PN_OK);
        total = 0.0;
        CHECK(pn_epoch_rows(net, data, 4, targets, 2, NULL, 0, 0, 1, 0.1, &total) == PN_OK);
        CHECK(pn_epoch_rows(net, data, 4, targets, 2, NULL, 0, 1, 1, 0.1, &total) == PN_OK);
        CHECK(pn_epoch_rows(net, data, 4, targets, 2, NULL, 0, 1, 2, 0.1, &total) == PN_ESIZE);
        CHECK(pn_epoch_rows(net, data, 4, targets, 2, NULL, 0, 3, 0, 0.1, &total) == PN_ESIZE);
        CHECK(pn_epoch_end(net, total, 2, &loss) == PN_OK);
        CHECK(loss == whole[0]);
        CHECK(pn_get_params(net, b, 9) == PN_OK);
        CHECK(memcmp(a, b, sizeof a) == 0);
        /* abort restores */
        CHECK(pn_epoch_begin(net) == PN_OK);
        total = 0.0;
        CHECK(pn_epoch_rows(net, data, 4, targets, 2, NULL, 0, 0, 2, 0.1, &total) == PN_OK);
        CHECK(pn_epoch_abort(net) == PN_OK);
        CHECK(pn_epoch_abort(net) == PN_ESTATE);
        CHECK(pn_epoch_end(net, total, 2, &loss) == PN_ESTATE);
        CHECK(pn_get_params(net, a, 9) == PN_OK);
        CHECK(memcmp(a, b, sizeof a) == 0);
    }

    /* one mini-batch of one sample with plain SGD: p - lr * ((0.0 + g) / 1.0) */
    {
        pn_optimizer sgd = {PN_OPT_SGD, 0, 0.0, 0.0, 0.0, 0.0, 0.0};
        pn_optimizer adam = {PN_OPT_ADAM, 0, 0.0, 0.9, 0.999, 1e-8, 0.0};
        double adam_state[2] = {1.0, 1.0}, buffers[18], after[9];
        size_t k, order[2] = {1, 0};
        CHECK(pn_set_params(net, params, 9) == PN_OK);
        CHECK(pn_gradients(net, data, 2, targets, 1, grads, 9, &loss, scratch, slen) == PN_OK);
        CHECK(pn_epoch_begin(net) == PN_OK);
        total = 0.0;
        CHECK(pn_epoch_batches(net, data, 4, targets, 2, NULL, 0, 0, 1, 1, 0.1, &sgd, NULL, 0,
                               adam_state, &total) == PN_OK);
        CHECK(total == loss);
        CHECK(pn_get_params(net, after, 9) == PN_OK);
        for (k = 0; k < 9; k++) CHECK(after[k] == params[k] - 0.1 * ((0.0 + grads[k]) / 1.0));
        /* Adam: two buffers; beta powers advance once per batch */
        memset(buffers, 0, sizeof buffers);
        CHECK(pn_epoch_batches(net, data, 4, targets, 2, order, 2, 0, 2, 2, 0.1, &adam, buffers,
                               18, adam_state, &total) == PN_OK);
        CHECK(adam_state[0] == 0.9 && adam_state[1] == 0.999);
        /* bad arguments */
        CHECK(pn_epoch_batches(net, data, 4, targets, 2, NULL, 0, 0, 2, 2, 0.1, &adam, buffers,
                               9, adam_state, &total) == PN_ESIZE);
        CHECK(pn_epoch_batches(net, data, 4, targets, 2, NULL, 0, 0, 2, 2, 0.1, &adam, NULL,
                               18, adam_state, &total) == PN_EINVAL);
        CHECK(pn_epoch_batches(net, data, 4, targets, 2, NULL, 0, 1, 1, 2, 0.1, &sgd, NULL, 0,
                               adam_state, &total) == PN_EINVAL);
        CHECK(pn_epoch_batches(net, data, 4, targets, 2, NULL, 0, 0, 1, 0, 0.1, &sgd, NULL, 0,
                               adam_state, &total) == PN_EINVAL);
        CHECK(pn_epoch_batches(net, data, 4, targets, 2, NULL, 0, 0, 3, 1, 0.1, &sgd, NULL, 0,
                               adam_state, &total) == PN_ESIZE);
        CHECK(pn_epoch_batches(net, data, 4, targets, 2, NULL, 0, 0, 1, 1, 0.1, NULL, NULL, 0,
                               adam_state, &total) == PN_EINVAL);
        CHECK(pn_epoch_batches(net, data, 4, targets, 2, NULL, 0, 0, 1, 1, 0.1, &sgd, NULL, 0,
                               NULL, &total) == PN_EINVAL);
        CHECK(pn_epoch_batches(net, data, 4, targets, 2, NULL, 0, 0, 1, 1, 0.1, &sgd, NULL, 0,
                               adam_state, NULL) == PN_EINVAL);
        order[0] = 5;
        CHECK(pn_epoch_batches(net, data, 4, targets, 2, order, 2, 0, 1, 1, 0.1, &sgd, NULL, 0,
                               adam_state, &total) == PN_EINVAL);
        sgd.kind = 9;
        CHECK(pn_epoch_batches(net, data, 4, targets, 2, NULL, 0, 0, 1, 1, 0.1, &sgd, NULL, 0,
                               adam_state, &total) == PN_EINVAL);
        CHECK(pn_epoch_abort(net) == PN_OK);
        sgd.kind = PN_OPT_SGD;
        CHECK(pn_epoch_batches(net, data, 4, targets, 2, NULL, 0, 0, 1, 1, 0.1, &sgd, NULL, 0,
                               adam_state, &total) == PN_ESTATE);
    }

    /* sample weights: {2, 0} gives row 0's own step ((2*(d*a)) / 2 is d*a exactly),
     * an all-zero batch makes no step, bad weights are refused */
    {
        pn_optimizer sgd = {PN_OPT_SGD, 0, 0.0, 0.0, 0.0, 0.0, 0.0};
        double adam_state[2] = {1.0, 1.0}, after[9], wl, w2[2] = {2.0, 0.0}, w0[2] = {0.0, 0.0};
        double bad[2] = {1.0, -1.0};
        size_t k;
        CHECK(pn_set_params(net, params, 9) == PN_OK);
        CHECK(pn_gradients(net, data, 2, targets, 1, grads, 9, &loss, scratch, slen) == PN_OK);
        CHECK(pn_loss_weighted(net, data, 4, targets, 2, w2, 2, &wl, scratch, slen) == PN_OK);
        CHECK(wl == loss);
        CHECK(pn_loss_weighted(net, data, 4, targets, 2, w0, 2, &wl, scratch, slen) == PN_EINVAL);
        CHECK(pn_loss_weighted(net, data, 4, targets, 2, bad, 2, &wl, scratch, slen) == PN_EINVAL);
        CHECK(pn_loss_weighted(net, data, 4, targets, 2, w2, 1, &wl, scratch, slen) == PN_ESIZE);
        CHECK(pn_epoch_begin(net) == PN_OK);
        total = 0.0;
        CHECK(pn_epoch_batches_weighted(net, data, 4, targets, 2, w0, 2, NULL, 0, 0, 2, 2, 0.1,
                                        &sgd, NULL, 0, adam_state, &total) == PN_OK);
        CHECK(total == 0.0);
        CHECK(pn_get_params(net, after, 9) == PN_OK);
        CHECK(memcmp(after, params, sizeof after) == 0);
        CHECK(pn_epoch_batches_weighted(net, data, 4, targets, 2, w2, 2, NULL, 0, 0, 2, 2, 0.1,
                                        &sgd, NULL, 0, adam_state, &total) == PN_OK);
        CHECK(total == 2.0 * loss);
        CHECK(pn_get_params(net, after, 9) == PN_OK);
        for (k = 0; k < 9; k++) CHECK(after[k] == params[k] - 0.1 * grads[k]);
        CHECK(pn_epoch_batches_weighted(net, data, 4, targets, 2, bad, 2, NULL, 0, 0, 2, 2, 0.1,
                                        &sgd, NULL, 0, adam_state, &total) == PN_EINVAL);
        CHECK(pn_epoch_batches_weighted(net, data, 4, targets, 2, NULL, 2, NULL, 0, 0, 2, 2, 0.1,
                                        &sgd, NULL, 0, adam_state, &total) == PN_EINVAL);
        CHECK(pn_epoch_end_weighted(net, total, 0.0, &wl) == PN_EINVAL);
        CHECK(pn_epoch_end_weighted(net, total, 2.0, &wl) == PN_OK);
        CHECK(wl == loss);
        /* per-sample SGD with weights: the unweighted step, w * loss in the total */
        CHECK(pn_set_params(net, params, 9) == PN_OK);
        CHECK(pn_epoch_begin(net) == PN_OK);
        total = 0.0;
        CHECK(pn_epoch_rows_weighted(net, data, 4, targets, 2, w2, 2, NULL, 0, 0, 2, 0.1,
                                     &total) == PN_OK);
        CHECK(total == 2.0 * loss);
        CHECK(pn_get_params(net, after, 9) == PN_OK);
        {   /* the same as an unweighted step on row 0 alone */
            double alone[9], t0 = 0.0;
            CHECK(pn_epoch_abort(net) == PN_OK);
            CHECK(pn_epoch_begin(net) == PN_OK);
            CHECK(pn_epoch_rows(net, data, 4, targets, 2, NULL, 0, 0, 1, 0.1, &t0) == PN_OK);
            CHECK(pn_get_params(net, alone, 9) == PN_OK);
            CHECK(memcmp(after, alone, sizeof alone) == 0 && t0 == loss);
            CHECK(memcmp(after, params, sizeof after) != 0);
        }
        CHECK(pn_epoch_rows_weighted(net, data, 4, targets, 2, bad, 2, NULL, 0, 0, 2, 0.1,
                                     &total) == PN_EINVAL);
        CHECK(pn_epoch_abort(net) == PN_OK);
    }

    /* bad arguments */
    CHECK(pn_set_params(NULL, params, 9) == PN_EINVAL);
    CHECK(pn_set_params(net, NULL, 9) == PN_EINVAL);
    CHECK(pn_set_params(net, params, 8) == PN_ESIZE);
    CHECK(pn_get_params(net, NULL, 9) == PN_EINVAL);
    CHECK(pn_get_params(net, back, 10) == PN_ESIZE);
    CHECK(pn_forward(NULL, x, 2, y, 1, scratch, slen) == PN_EINVAL);
    CHECK(pn_forward(net, NULL, 2, y, 1, scratch, slen) == PN_EINVAL);
    CHECK(pn_forward(net, x, 2, NULL, 1, scratch, slen) == PN_EINVAL);
    CHECK(pn_forward(net, x, 2, y, 1, NULL, slen) == PN_EINVAL);
    CHECK(pn_forward(net, x, 3, y, 1, scratch, slen) == PN_ESIZE);
    CHECK(pn_forward(net, x, 2, y, 2, scratch, slen) == PN_ESIZE);
    CHECK(pn_forward(net, x, 2, y, 1, scratch, slen - 1) == PN_ESIZE);
    CHECK(pn_predict(net, data, 3, preds, 2, scratch, slen) == PN_ESIZE);
    CHECK(pn_predict(net, data, 0, preds, 0, scratch, slen) == PN_ESIZE);
    CHECK(pn_predict(net, data, 4, preds, 1, scratch, slen) == PN_ESIZE);
    CHECK(pn_predict(net, NULL, 4, preds, 2, scratch, slen) == PN_EINVAL);
    CHECK(pn_loss(net, data, 4, targets, 2, NULL, scratch, slen) == PN_EINVAL);
    CHECK(pn_loss(net, data, 4, targets, 3, &loss, scratch, slen) == PN_ESIZE);
    CHECK(pn_loss(net, data, 4, NULL, 2, &loss, scratch, slen) == PN_EINVAL);
    CHECK(pn_gradients(net, x, 2, t, 1, grads, 8, &loss, scratch, slen) == PN_ESIZE);
    CHECK(pn_gradients(net, x, 2, t, 1, grads, 9, NULL, scratch, slen) == PN_EINVAL);
    CHECK(pn_gradients(net, x, 2, t, 2, grads, 9, &loss, scratch, slen) == PN_ESIZE);
    CHECK(train(net, data, 4, targets, 2, 3, 0.1, losses, 2, &done) == PN_ESIZE);
    CHECK(train(net, data, 4, targets, 2, 3, 0.1, NULL, 4, &done) == PN_EINVAL);
    CHECK(train(net, data, 4, targets, 2, 3, 0.1, losses, 4, NULL) == PN_EINVAL);
    CHECK(train(net, data, 4, targets, 2, 3, NAN, losses, 4, &done) == PN_EINVAL);
    CHECK(train(net, data, 5, targets, 2, 3, 0.1, losses, 4, &done) == PN_ESIZE);
    CHECK(train(net, data, 4, targets, 2, 0, 0.1, losses, 0, &done) == PN_OK && done == 0);
    CHECK(pn_train(net, data, 4, targets, 2, 3, NULL, 3, NULL, NULL, 0, losses, 4, &done) == PN_EINVAL);
    {
        double lrs[2] = {0.1, 0.1};
        size_t order[2];
        uint64_t rng = 5;
        CHECK(pn_train(net, data, 4, targets, 2, 2, lrs, 2, &rng, NULL, 2, losses, 4, &done) == PN_EINVAL);
        CHECK(pn_train(net, data, 4, targets, 2, 2, lrs, 2, &rng, order, 1, losses, 4, &done) == PN_ESIZE);
        CHECK(pn_train(net, data, 4, targets, 2, 2, lrs, 1, &rng, order, 2, losses, 4, &done) == PN_ESIZE);
        CHECK(pn_train(net, data, 4, targets, 2, 2, lrs, 2, &rng, order, 2, losses, 4, &done) == PN_OK);
        CHECK(rng != 5 && done == 2);
        CHECK((order[0] == 0 && order[1] == 1) || (order[0] == 1 && order[1] == 0));
        order[1] = 7;
        CHECK(pn_epoch_begin(net) == PN_OK);
        CHECK(pn_epoch_rows(net, data, 4, targets, 2, order, 2, 0, 2, 0.1, &total) == PN_EINVAL);
        CHECK(pn_epoch_rows(net, data, 4, targets, 2, order, 3, 0, 2, 0.1, &total) == PN_ESIZE);
        CHECK(pn_epoch_abort(net) == PN_OK);
    }
    CHECK(pn_epoch_begin(NULL) == PN_EINVAL);
    CHECK(pn_epoch_abort(NULL) == PN_EINVAL);
    CHECK(pn_epoch_end(net, 0.0, 0, &loss) == PN_EINVAL);
    CHECK(pn_epoch_rows(net, data, 4, targets, 2, NULL, 0, 0, 1, 0.1, NULL) == PN_EINVAL);

    {
        /* splitmix64 from state 0: first output 0xE220A8397B1DCDAF (the reference value) */
        size_t order[5];
        uint64_t rng = 0;
        CHECK(pn_shuffle(order, 5, NULL) == PN_EINVAL);
        CHECK(pn_shuffle(NULL, 5, &rng) == PN_EINVAL);
        CHECK(pn_shuffle(order, 5, &rng) == PN_OK);
        /* as plainnet._training.shuffled(5, 0) */
        CHECK(order[0] == 2 && order[1] == 3 && order[2] == 1 && order[3] == 4 && order[4] == 0);
        CHECK(rng == UINT64_C(0x9E3779B97F4A7C15) * 4);
    }
    CHECK(pn_find_nonfinite(NULL, 1, &index) == PN_EINVAL);
    CHECK(pn_find_nonfinite(data, 4, NULL) == PN_EINVAL);
    CHECK(pn_find_nonfinite(NULL, 0, &index) == PN_OK && index == 0);
    CHECK(pn_find_nonfinite(data, 4, &index) == PN_OK && index == 4);

    free(scratch);
    free(net);
}

static void test_init_errors(void)
{
    const size_t sizes[3] = {3, 4, 2}, zero[3] = {3, 0, 2}, huge[2] = {(size_t)-1, 3};
    const int acts[2] = {PN_TANH, PN_SOFTMAX}, bad_softmax[2] = {PN_SOFTMAX, PN_SIGMOID};
    const int bad_code[2] = {PN_TANH, 17};
    size_t bytes = pn_net_bytes(3, sizes);
    double *mem = malloc(bytes + 16);
    unsigned char junk[256];

    CHECK(bytes > 0);
    CHECK(pn_net_bytes(1, sizes) == 0);
    CHECK(pn_net_bytes(3, NULL) == 0);
    CHECK(pn_net_bytes(3, zero) == 0);
    CHECK(pn_net_bytes(2, huge) == 0);
    CHECK(pn_net_init(NULL, bytes, 3, sizes, acts, PN_MSE) == PN_EINVAL);
    CHECK(pn_net_init(mem, bytes, 3, NULL, acts, PN_MSE) == PN_EINVAL);
    CHECK(pn_net_init(mem, bytes, 3, sizes, NULL, PN_MSE) == PN_EINVAL);
    CHECK(pn_net_init(mem, bytes - 1, 3, sizes, acts, PN_MSE) == PN_ESIZE);
    CHECK(pn_net_init(mem, bytes, 3, sizes, acts, 3) == PN_EINVAL);
    CHECK(pn_net_init(mem, bytes, 3, sizes, acts, -1) == PN_EINVAL);
    CHECK(pn_net_init(mem, bytes, 3, sizes, bad_softmax, PN_MSE) == PN_EINVAL);
    CHECK(pn_net_init(mem, bytes, 3, sizes, bad_code, PN_MSE) == PN_EINVAL);
    CHECK(pn_net_init((char *)mem + 1, bytes, 3, sizes, acts, PN_MSE) == PN_EINVAL);
    CHECK(pn_net_init(mem, bytes, 3, zero, acts, PN_MSE) == PN_EINVAL);
    CHECK(pn_net_init(mem + 1, bytes, 3, sizes, acts, PN_CATEGORICAL_CROSSENTROPY) == PN_OK);
    CHECK(pn_n_inputs((const pn_net *)(void *)(mem + 1)) == 3);
    CHECK(pn_n_outputs((const pn_net *)(void *)(mem + 1)) == 2);

    /* pn_net_check: the whole block, and nothing shorter, is a network */
    CHECK(pn_net_check(mem + 1, bytes) == PN_OK);
    CHECK(pn_net_check(mem + 1, bytes - 1) == PN_ESIZE);
    CHECK(pn_net_check(mem + 1, 4) == PN_ESIZE);
    CHECK(pn_net_check(NULL, bytes) == PN_EINVAL);
    CHECK(pn_net_check((char *)(mem + 1) + 1, bytes - 1) == PN_EINVAL);

    /* memory that is not a network */
    memset(junk, 0xab, sizeof junk);
    CHECK(pn_n_params((const pn_net *)(void *)junk) == 0);
    CHECK(pn_scratch_len(NULL) == 0);
    CHECK(pn_n_inputs(NULL) == 0 && pn_n_outputs((const pn_net *)(void *)junk) == 0);
    {
        double aligned_junk[32];
        memset(aligned_junk, 0xab, sizeof aligned_junk);
        CHECK(pn_net_check(aligned_junk, sizeof aligned_junk) == PN_ESTATE);
    }
    CHECK(pn_epoch_begin((pn_net *)(void *)junk) == PN_ESTATE);

    CHECK(strcmp(pn_strerror(PN_OK), "success") == 0);
    CHECK(pn_strerror(PN_EINVAL) != NULL && pn_strerror(PN_ESIZE) != NULL);
    CHECK(pn_strerror(PN_EDIVERGED) != NULL && pn_strerror(PN_ESTATE) != NULL);
    CHECK(strcmp(pn_strerror(12345), "unknown error code") == 0);
    free(mem);
}

/* Every activation and loss on a network wide enough for every SIMD block. */
static void test_wide(void)
{
    const size_t sizes[4] = {37, 29, 21, 7};
    int act, k;
    for (act = PN_SIGMOID; act <= PN_SOFTMAX; act++) {
        int acts[3];
        pn_net *net;
        size_t n, i, slen, done, index;
        double *p, *x, *t, *y, *g, *s, loss, losses[2];
        acts[0] = act == PN_SOFTMAX ? PN_RELU : act;
        acts[1] = act == PN_SOFTMAX ? PN_LEAKY_RELU : act;
        acts[2] = act;
        net = make_net(4, sizes, acts,
                       act == PN_SIGMOID   ? PN_BINARY_CROSSENTROPY
                       : act == PN_SOFTMAX ? PN_CATEGORICAL_CROSSENTROPY
                                           : PN_MSE);
        CHECK(net != NULL);
        if (net == NULL) continue;
        n = pn_n_params(net);
        slen = pn_scratch_len(net);
        p = malloc(n * sizeof *p);
        g = malloc(n * sizeof *g);
        s = malloc(slen * sizeof *s);
        x = malloc(5 * 37 * sizeof *x);
        t = calloc(5 * 7, sizeof *t);
        y = malloc(5 * 7 * sizeof *y);
        for (i = 0; i < n; i++) p[i] = sin((double)i) * 0.05;
        for (i = 0; i < 5 * 37; i++) x[i] = cos((double)i);
        for (k = 0; k < 5; k++) t[k * 7 + k] = 1.0;
        CHECK(pn_set_params(net, p, n) == PN_OK);
        CHECK(pn_predict(net, x, 5 * 37, y, 5 * 7, s, slen) == PN_OK);
        CHECK(pn_find_nonfinite(y, 35, &index) == PN_OK && index == 35);
        CHECK(pn_loss(net, x, 5 * 37, t, 35, &loss, s, slen) == PN_OK && isfinite(loss));
        CHECK(pn_gradients(net, x, 37, t, 7, g, n, &loss, s, slen) == PN_OK);
        CHECK(pn_find_nonfinite(g, n, &index) == PN_OK && index == n);
        mix(y, 35);
        mix(g, n);
        mix(&loss, 1);
        CHECK(train(net, x, 5 * 37, t, 35, 2, 0.01, losses, 2, &done) == PN_OK && done == 2);
        mix(losses, 2);
        { /* per-sample SGD with sample weights: zeros first, inside and last */
            const double w[5] = {0.0, 1.5, 0.0, 0.25, 0.0};
            double total = 0.0;
            CHECK(pn_epoch_begin(net) == PN_OK);
            CHECK(pn_epoch_rows_weighted(net, x, 5 * 37, t, 35, w, 5, NULL, 0, 0, 5, 0.01, &total)
                  == PN_OK);
            CHECK(pn_epoch_end_weighted(net, total, 1.75, &loss) == PN_OK && isfinite(loss));
            mix(&loss, 1);
        }
        CHECK(pn_get_params(net, p, n) == PN_OK);
        mix(p, n);
        g[n / 2] = INFINITY;
        CHECK(pn_find_nonfinite(g, n, &index) == PN_OK && index == n / 2);
        free(p);
        free(g);
        free(s);
        free(x);
        free(t);
        free(y);
        free(net);
    }
}

/* A huge learning rate: the weights become infinite in epoch 1 while its loss
 * is finite; the weights are restored and that loss is reported.  Then the
 * other way round. */
static void test_divergence(void)
{
    const size_t sizes[2] = {1, 1};
    const int acts[1] = {PN_LINEAR};
    const double params[2] = {1.0, 0.0};
    double x[1] = {1e150}, t[1] = {0.0}, back[2], losses[3] = {0, 0, 0};
    size_t done = 99;
    pn_net *net = make_net(2, sizes, acts, PN_MSE);
    CHECK(net != NULL);
    if (net == NULL) return;
    CHECK(pn_set_params(net, params, 2) == PN_OK);
    CHECK(train(net, x, 1, t, 1, 3, 1e300, losses, 3, &done) == PN_EDIVERGED);
    CHECK(done == 0);
    CHECK(losses[0] == 1e150 * 1e150);
    CHECK(pn_get_params(net, back, 2) == PN_OK);
    CHECK(back[0] == 1.0 && back[1] == 0.0);

    /* The loss overflows in the last epoch while the weights stay finite
     * (w = 1 - (1e-300 * 2e155) * 1e155): divergence all the same. */
    x[0] = 1e155;
    done = 99;
    CHECK(train(net, x, 1, t, 1, 1, 1e-300, losses, 3, &done) == PN_EDIVERGED);
    CHECK(done == 0 && isinf(losses[0]));
    CHECK(pn_get_params(net, back, 2) == PN_OK);
    CHECK(back[0] == 1.0 && back[1] == 0.0);
    free(net);
}

/* Divergence late in a shuffled run: pn_train, which checks the parameters
 * once per call and replays on failure, stops where an epoch-by-epoch run with
 * pn_epoch_begin / pn_epoch_rows / pn_epoch_end stops, with the same bits. */
static void test_divergence_replayed(void)
{
    enum { ROWS = 4, EPOCHS = 1000 };
    const size_t sizes[2] = {1, 1};
    const int acts[1] = {PN_LINEAR};
    const double params[2] = {0.3, 0.0};
    double x[ROWS] = {1.0, -1.1, 0.9, 1.2}, t[ROWS] = {0.5, -0.5, 0.25, 1.0};
    double lrs[EPOCHS], losses[EPOCHS], expected[EPOCHS], got[2], want[2];
    size_t order[ROWS], done = 0, e;
    uint64_t rng = 7, rng_expected = 7;
    int rc = PN_OK;
    pn_net *net = make_net(2, sizes, acts, PN_MSE), *ref = make_net(2, sizes, acts, PN_MSE);
    CHECK(net != NULL && ref != NULL);
    if (net == NULL || ref == NULL) {
        free(net);
        free(ref);
        return;
    }
    for (e = 0; e < EPOCHS; e++) lrs[e] = 0.75;
    CHECK(pn_set_params(net, params, 2) == PN_OK);
    CHECK(pn_set_params(ref, params, 2) == PN_OK);
    for (e = 0; e < EPOCHS && rc == PN_OK; e++) {
        const uint64_t rng_at_epoch = rng_expected;
        double total = 0.0;
        CHECK(pn_epoch_begin(ref) == PN_OK);
        CHECK(pn_shuffle(order, ROWS, &rng_expected) == PN_OK);
        CHECK(pn_epoch_rows(ref, x, ROWS, t, ROWS, order, ROWS, 0, ROWS, lrs[e], &total) == PN_OK);
        rc = pn_epoch_end(ref, total, ROWS, &expected[e]);
        if (rc != PN_OK) rng_expected = rng_at_epoch;
    }
    CHECK(rc == PN_EDIVERGED && e > 10);
    CHECK(pn_train(net, x, ROWS, t, ROWS, EPOCHS, lrs, EPOCHS, &rng, order, ROWS, losses, EPOCHS,
                   &done) == PN_EDIVERGED);
    CHECK(done + 1 == e && pn_epochs_trained(net) == done && pn_epochs_trained(ref) == done);
    CHECK(memcmp(losses, expected, e * sizeof(double)) == 0);
    CHECK(rng == rng_expected);
    CHECK(pn_get_params(net, got, 2) == PN_OK && pn_get_params(ref, want, 2) == PN_OK);
    CHECK(memcmp(got, want, sizeof got) == 0 && isfinite(got[0]) && isfinite(got[1]));
    free(net);
    free(ref);
}

/* Every code has its name and no code beyond the lists has one; pn_net_init
 * refuses unknown activation, loss and optimizer codes. */
static void test_codes(void)
{
    static const char *const names[] = {"sigmoid", "tanh", "relu", "leaky_relu", "linear",
                                        "softplus", "silu", "gelu", "softmax"};
    const size_t sizes[2] = {2, 1};
    int bad[1], code;
    CHECK(PN_N_ACTIVATIONS == (int)(sizeof names / sizeof names[0]));
    for (code = 0; code < PN_N_ACTIVATIONS; code++)
        CHECK(pn_activation_name(code) != NULL && strcmp(pn_activation_name(code), names[code]) == 0);
    CHECK(pn_activation_name(PN_N_ACTIVATIONS) == NULL && pn_activation_name(-1) == NULL);
    CHECK(strcmp(pn_activation_name(PN_GELU), "gelu") == 0);
    CHECK(strcmp(pn_loss_name(PN_CATEGORICAL_CROSSENTROPY), "categorical_crossentropy") == 0);
    CHECK(pn_loss_name(PN_CATEGORICAL_CROSSENTROPY + 1) == NULL && pn_loss_name(-1) == NULL);
    CHECK(strcmp(pn_optimizer_name(PN_OPT_ADAM), "adam") == 0 && pn_optimizer_name(PN_OPT_ADAM + 1) == NULL);
    bad[0] = PN_N_ACTIVATIONS;
    CHECK(make_net(2, sizes, bad, PN_MSE) == NULL);
    bad[0] = -1;
    CHECK(make_net(2, sizes, bad, PN_MSE) == NULL);
    bad[0] = PN_SIGMOID;
    CHECK(make_net(2, sizes, bad, 3) == NULL);
    {
        pn_net *net = make_net(2, sizes, bad, PN_MSE);
        const double x[2] = {1.0, 2.0}, t[1] = {0.5};
        double buffers[8], adam[2] = {1.0, 1.0}, total = 0.0;
        pn_optimizer opt;
        memset(&opt, 0, sizeof opt);
        opt.kind = PN_OPT_ADAM + 1;
        CHECK(net != NULL);
        if (net != NULL) {
            CHECK(pn_epoch_begin(net) == PN_OK);
            CHECK(pn_epoch_batches(net, x, 2, t, 1, NULL, 0, 0, 1, 1, 0.1, &opt, buffers, 0, adam,
                                   &total) == PN_EINVAL);
            CHECK(pn_epoch_abort(net) == PN_OK);
            free(net);
        }
    }
}

/* Blocks of rows (pn_block_scratch_len scratch, the weights packed once per
 * call, or a little less, packed per block) give the bits of row by row
 * (pn_scratch_len scratch); mini-batches give the same bits on 1 and 3
 * threads.  The shape crosses the kernels' edges: K above a run of 256,
 * widths off the 4 x 8 tiles, and more rows than one block. */
static void test_blocks(void)
{
    const size_t sizes[4] = {300, 64, 9, 5};
    const int acts[3] = {PN_TANH, PN_SIGMOID, PN_SOFTMAX};
    const size_t rows = 70;
    pn_optimizer adam = {PN_OPT_ADAM, 0, 0.0, 0.9, 0.999, 1e-8, 0.001};
    pn_net *net = make_net(4, sizes, acts, PN_CATEGORICAL_CROSSENTROPY);
    size_t n, slen, blen, i, threads;
    double *p, *x, *t, *w, *y1, *y2, *s, *blk, *buf, *after[2], l1, l2, adam_state[2], total;
    CHECK(net != NULL);
    if (net == NULL) return;
    n = pn_n_params(net);
    slen = pn_scratch_len(net);
    blen = pn_block_scratch_len(net);
    CHECK(blen > slen && pn_block_scratch_len(NULL) == 0 && pn_max_threads() >= 1);
    CHECK(pn_set_threads(net, 0) == PN_EINVAL && pn_set_threads(NULL, 2) == PN_EINVAL);
    p = malloc(n * sizeof *p);
    x = malloc(rows * 300 * sizeof *x);
    t = calloc(rows * 5, sizeof *t);
    w = malloc(rows * sizeof *w);
    y1 = malloc(rows * 5 * sizeof *y1);
    y2 = malloc(rows * 5 * sizeof *y2);
    s = malloc(slen * sizeof *s);
    blk = malloc(blen * sizeof *blk);
    buf = malloc(2 * n * sizeof *buf);
    after[0] = malloc(n * sizeof *after[0]);
    after[1] = malloc(n * sizeof *after[1]);
    for (i = 0; i < n; i++) p[i] = sin((double)i * 1.3) * 0.1;
    for (i = 0; i < rows * 300; i++) x[i] = cos((double)i * 0.01);
    for (i = 0; i < rows; i++) {
        t[i * 5 + i % 5] = 1.0;
        w[i] = (double)(i % 3);
    }
    for (threads = 1; threads <= 3; threads += 2) {
        CHECK(pn_set_params(net, p, n) == PN_OK && pn_set_threads(net, threads) == PN_OK);
        CHECK(pn_predict(net, x, rows * 300, y1, rows * 5, s, slen) == PN_OK);
        /* 8 less than blen (its 7 doubles for a cache line's start, and 1): no
         * room to pack the weights once, so every block packs them */
        CHECK(pn_predict(net, x, rows * 300, y2, rows * 5, blk, blen - 8) == PN_OK);
        CHECK(memcmp(y1, y2, rows * 5 * sizeof *y1) == 0);
        CHECK(pn_predict(net, x, rows * 300, y2, rows * 5, blk, blen) == PN_OK);
        CHECK(memcmp(y1, y2, rows * 5 * sizeof *y1) == 0);
        CHECK(pn_loss(net, x, rows * 300, t, rows * 5, &l1, s, slen) == PN_OK);
        /* the scratch at each of the 8 places a double can start in a cache
         * line, with and without room to start the work on the next line */
        for (i = 0; i < 8; i++) {
            CHECK(pn_predict(net, x, rows * 300, y2, rows * 5, blk + i, blen - i) == PN_OK);
            CHECK(memcmp(y1, y2, rows * 5 * sizeof *y1) == 0);
            CHECK(pn_predict(net, x, rows * 300, y2, rows * 5, blk + i, blen - 7 - i) == PN_OK);
            CHECK(memcmp(y1, y2, rows * 5 * sizeof *y1) == 0);
            CHECK(pn_loss(net, x, rows * 300, t, rows * 5, &l2, blk + i, blen - i) == PN_OK
                  && l1 == l2);
        }
        CHECK(pn_loss(net, x, rows * 300, t, rows * 5, &l2, blk, blen) == PN_OK && l1 == l2);
        CHECK(pn_loss_weighted(net, x, rows * 300, t, rows * 5, w, rows, &l1, s, slen) == PN_OK);
        CHECK(pn_loss_weighted(net, x, rows * 300, t, rows * 5, w, rows, &l2, blk, blen) == PN_OK
              && l1 == l2);
        memset(buf, 0, 2 * n * sizeof *buf);
        adam_state[0] = adam_state[1] = 1.0;
        total = 0.0;
        CHECK(pn_epoch_begin(net) == PN_OK);
        CHECK(pn_epoch_batches(net, x, rows * 300, t, rows * 5, NULL, 0, 0, rows, 50, 0.01, &adam,
                               buf, 2 * n, adam_state, &total) == PN_OK);
        CHECK(pn_epoch_end(net, total, rows, &l1) == PN_OK);
        CHECK(pn_get_params(net, after[threads / 2], n) == PN_OK);
        if (threads == 1) {
            mix(y2, rows * 5);
            mix(after[0], n);
            mix(&l1, 1);
        }
    }
    CHECK(memcmp(after[0], after[1], n * sizeof *after[0]) == 0);
    free(p);
    free(x);
    free(t);
    free(w);
    free(y1);
    free(y2);
    free(s);
    free(blk);
    free(buf);
    free(after[0]);
    free(after[1]);
    free(net);
}

/* Mini-batches of one row (batch_size 1, Adam with weight decay, with and
 * without sample weights, zeros among them) against their definition: per
 * row, pn_gradients, the gradient sums' 0.0 + w * (d * a) over the weight
 * w, weight decay on weights, and Adam's step, here in the flat layout. */
static void test_one_row_batches(void)
{
    const size_t sizes[4] = {300, 64, 9, 5};
    const int acts[3] = {PN_RELU, PN_SIGMOID, PN_SOFTMAX};
    const size_t rows = 12;
    const double lr = 0.01, wd = 0.001;
    pn_optimizer adam = {PN_OPT_ADAM, 0, 0.0, 0.9, 0.999, 1e-8, 0.001};
    pn_net *net = make_net(4, sizes, acts, PN_CATEGORICAL_CROSSENTROPY);
    pn_net *ref = make_net(4, sizes, acts, PN_CATEGORICAL_CROSSENTROPY);
    size_t n, slen, i, k, l, r, at, threads;
    int weighted;
    double *p, *x, *t, *w, *g, *m, *v, *s, *buf, *got, *decay, adam_state[2], total, ref_total;
    CHECK(net != NULL && ref != NULL);
    if (net == NULL || ref == NULL) {
        free(net);
        free(ref);
        return;
    }
    n = pn_n_params(net);
    slen = pn_scratch_len(net);
    p = malloc(n * sizeof *p);
    g = malloc(n * sizeof *g);
    m = malloc(n * sizeof *m);
    v = malloc(n * sizeof *v);
    got = malloc(n * sizeof *got);
    decay = malloc(n * sizeof *decay);
    buf = malloc(2 * n * sizeof *buf);
    x = malloc(rows * 300 * sizeof *x);
    t = calloc(rows * 5, sizeof *t);
    w = malloc(rows * sizeof *w);
    s = malloc(slen * sizeof *s);
    for (i = 0; i < rows * 300; i++) x[i] = i % 7 == 0 ? 0.0 : cos((double)i * 0.013);
    for (r = 0; r < rows; r++) {
        t[r * 5 + r % 5] = 1.0;
        w[r] = r % 4 == 1 ? 0.0 : 0.3 + 0.4 * (double)(r % 3);
    }
    for (l = 0, at = 0; l < 3; l++) { /* weights decay, biases do not */
        for (k = 0; k < sizes[l] * sizes[l + 1]; k++) decay[at++] = wd;
        for (k = 0; k < sizes[l + 1]; k++) decay[at++] = 0.0;
    }
    adam.weight_decay = wd;
    for (weighted = 0; weighted <= 1; weighted++) {
        double b1t = 1.0, b2t = 1.0;
        /* the definition */
        for (k = 0; k < n; k++) p[k] = sin((double)k * 0.7) * 0.1;
        CHECK(pn_set_params(ref, p, n) == PN_OK);
        memset(m, 0, n * sizeof *m);
        memset(v, 0, n * sizeof *v);
        ref_total = 0.0;
        for (r = 0; r < rows; r++) {
            const double wr = weighted ? w[r] : 1.0;
            double loss, step, bc2;
            if (wr == 0.0) continue;
            CHECK(pn_gradients(ref, x + r * 300, 300, t + r * 5, 5, g, n, &loss, s, slen) == PN_OK);
            ref_total += weighted ? wr * loss : loss;
            b1t *= adam.beta1;
            b2t *= adam.beta2;
            step = lr / (1.0 - b1t);
            bc2 = sqrt(1.0 - b2t);
            for (k = 0; k < n; k++) {
                double gk = (weighted ? 0.0 + wr * g[k] : 0.0 + g[k]) / wr;
                if (decay[k] != 0.0) gk = gk + decay[k] * p[k];
                m[k] = adam.beta1 * m[k] + (1.0 - adam.beta1) * gk;
                v[k] = adam.beta2 * v[k] + (1.0 - adam.beta2) * (gk * gk);
                p[k] = p[k] - step * (m[k] / (sqrt(v[k]) / bc2 + adam.epsilon));
            }
            CHECK(pn_set_params(ref, p, n) == PN_OK);
        }
        for (threads = 1; threads <= 3; threads += 2) {
            for (k = 0; k < n; k++) got[k] = sin((double)k * 0.7) * 0.1;
            CHECK(pn_set_params(net, got, n) == PN_OK && pn_set_threads(net, threads) == PN_OK);
            memset(buf, 0, 2 * n * sizeof *buf);
            adam_state[0] = adam_state[1] = 1.0;
            total = 0.0;
            CHECK(pn_epoch_begin(net) == PN_OK);
            if (weighted)
                CHECK(pn_epoch_batches_weighted(net, x, rows * 300, t, rows * 5, w, rows, NULL, 0,
                                                0, rows, 1, lr, &adam, buf, 2 * n, adam_state,
                                                &total) == PN_OK);
            else
                CHECK(pn_epoch_batches(net, x, rows * 300, t, rows * 5, NULL, 0, 0, rows, 1, lr,
                                       &adam, buf, 2 * n, adam_state, &total) == PN_OK);
            CHECK(pn_get_params(net, got, n) == PN_OK);
            CHECK(memcmp(got, p, n * sizeof *p) == 0);
            CHECK(total == ref_total && adam_state[0] == b1t && adam_state[1] == b2t);
            if (threads == 1) mix(got, n);
        }
    }
    free(p);
    free(g);
    free(m);
    free(v);
    free(got);
    free(decay);
    free(buf);
    free(x);
    free(t);
    free(w);
    free(s);
    free(net);
    free(ref);
}

int main(void)
{
    test_codes();
    test_divergence();
    test_divergence_replayed();
    test_tutorial();
    test_init_errors();
    test_wide();
    test_blocks();
    test_one_row_batches();
    if (failures) {
        fprintf(stderr, "%d checks failed\n", failures);
        return 1;
    }
    printf("test_core: all checks passed; digest %016llx\n", digest);
    return 0;
}
