/*
 * plainnet.h: the C core of plainnet, a feed-forward network trained by
 * per-sample stochastic gradient descent.
 *
 * The core returns the same bits as plainnet's pure-Python backend
 * (src/plainnet/_py_backend.py): see the order contract at the top of
 * plainnet.c.  It never allocates: the caller owns one block of memory per
 * network (pn_net_bytes, pn_net_init) holding the parameters and the training
 * scratch, and passes scratch (pn_scratch_len doubles) to the functions that
 * only read the network, so those may run on one network from many threads.
 *
 * Parameters are exchanged in one flat layout: for each layer, its weights
 * j-major (weights[j * n_in + i] feeds input i into neuron j), then its
 * biases.  Every buffer argument comes with its length in doubles, checked.
 * Functions return PN_OK or a negative PN_E* code; outputs are written only
 * on success (pn_train documents its partial results).
 */
#ifndef PLAINNET_H
#define PLAINNET_H

#include <stddef.h>
#include <stdint.h>

#include "pn_activations.h"

/* Activation codes: PN_<NAME> for each entry of the list in pn_activations.h,
 * in its order, then PN_SOFTMAX (output layer only); PN_N_ACTIVATIONS counts
 * them.  The names are those of plainnet._registry.ACTIVATIONS, upper-cased. */
#define PN_ACTIVATION_CODE(NAME, name, f, df) PN_##NAME,
enum pn_activation_code { PN_ACTIVATIONS(PN_ACTIVATION_CODE) PN_SOFTMAX, PN_N_ACTIVATIONS };
#undef PN_ACTIVATION_CODE

#ifdef __cplusplus
extern "C" {
#endif

/* Return codes. */
#define PN_OK 0
#define PN_EINVAL (-1)    /* a NULL pointer, an unknown code, or a bad value */
#define PN_ESIZE (-2)     /* a buffer length or a memory block of the wrong size */
#define PN_EDIVERGED (-3) /* training produced a non-finite loss or parameter */
#define PN_ESTATE (-4)    /* memory that is not an initialised network, or calls out of order */

/* Loss codes: PN_ and the name of a loss in plainnet._registry.LOSSES. */
#define PN_MSE 0
#define PN_BINARY_CROSSENTROPY 1
#define PN_CATEGORICAL_CROSSENTROPY 2

/* Optimizer codes: PN_OPT_ and the name of an optimizer in plainnet._registry.OPTIMIZERS. */
#define PN_OPT_SGD 0
#define PN_OPT_MOMENTUM 1 /* one buffer */
#define PN_OPT_ADAM 2     /* two buffers: m, then v */

/* Optimizer settings for pn_epoch_batches (plainnet._training.Optimizer). */
typedef struct pn_optimizer {
    int kind;            /* PN_OPT_* */
    int nesterov;        /* momentum: step g + momentum * buf instead of buf */
    double momentum;
    double beta1, beta2, epsilon;
    double weight_decay; /* L2 on weights (not biases); 0 for none */
} pn_optimizer;

/* The lower-case name of an activation, loss or optimizer code ("sigmoid",
 * "mse", "adam"), or NULL for a code the core does not know. */
const char *pn_activation_name(int code);
const char *pn_loss_name(int code);
const char *pn_optimizer_name(int code);

/* A network lives in caller-owned memory; pn_net_init makes it one. */
typedef struct pn_net pn_net;

/* A static English description of a return code. */
const char *pn_strerror(int code);

/* Bytes of memory a network with these layer sizes needs (n_sizes >= 2, every
 * size >= 1), or 0 when the sizes are invalid or too large to address. */
size_t pn_net_bytes(size_t n_sizes, const size_t *sizes);

/* Make `mem` (`bytes` long, aligned for double) a network with all parameters
 * zero.  activations has n_sizes - 1 codes (softmax only on the last), loss
 * is a loss code.  Afterwards cast mem to pn_net *. */
int pn_net_init(void *mem, size_t bytes, size_t n_sizes, const size_t *sizes,
                const int *activations, int loss);

/* PN_OK if mem, `bytes` long, holds a network made by pn_net_init that fits
 * in those bytes: a check for memory that comes from elsewhere (a Python
 * buffer), before it is cast to pn_net *. */
int pn_net_check(const void *mem, size_t bytes);

/* Widths of the input and of the output layer (0 for a bad network). */
size_t pn_n_inputs(const pn_net *net);
size_t pn_n_outputs(const pn_net *net);

/* Number of weights and biases: the length of the flat parameter layout. */
size_t pn_n_params(const pn_net *net);

/* Doubles of scratch that pn_forward, pn_predict, pn_loss and pn_gradients need. */
size_t pn_scratch_len(const pn_net *net);

/* Doubles of scratch with which pn_predict, pn_loss and pn_loss_weighted run
 * blocks of rows through each layer as matrix products (the same bits as
 * row by row, which they do with scratch of at least pn_scratch_len).  It
 * includes room (about pn_n_params doubles) where a call of more than one
 * block of rows lays out every layer's weights once for the products, and 7
 * doubles with which the calls start their work on a 64-byte boundary of
 * any scratch (the bits do not depend on where the scratch is). */
size_t pn_block_scratch_len(const pn_net *net);

/* Threads that pn_predict, pn_loss, pn_loss_weighted and pn_epoch_batches
 * (and its weighted twin) may use on this network: 1 after pn_net_init, at
 * most pn_max_threads().  Each call starts its threads and joins them before
 * it returns, and uses fewer for little work.  Every result is the same bits
 * for every thread count: each sum is computed whole, in its order, by one
 * thread.  It may be changed while other threads use the network; calls
 * already running keep the count they started with. */
int pn_set_threads(pn_net *net, size_t n);

/* The most threads a call can use: 1 in a build without threads (not
 * POSIX, or -DPN_NO_THREADS), which gives the same bits. */
size_t pn_max_threads(void);

/* Replace every weight and bias from the flat layout (n == pn_n_params). */
int pn_set_params(pn_net *net, const double *params, size_t n);

/* Copy every weight and bias out in the flat layout (n == pn_n_params). */
int pn_get_params(const pn_net *net, double *params, size_t n);

/* Outputs y (y_len == outputs) for one input row x (x_len == inputs). */
int pn_forward(const pn_net *net, const double *x, size_t x_len, double *y, size_t y_len,
               double *scratch, size_t scratch_len);

/* Outputs of many rows: x holds rows contiguously (x_len a positive multiple of
 * inputs), y receives one row of outputs per input row. */
int pn_predict(const pn_net *net, const double *x, size_t x_len, double *y, size_t y_len,
               double *scratch, size_t scratch_len);

/* The mean over rows of each row's loss, into *loss; t holds one row of
 * targets per row of x. */
int pn_loss(const pn_net *net, const double *x, size_t x_len, const double *t, size_t t_len,
            double *loss, double *scratch, size_t scratch_len);

/* Gradients of one sample's loss in the flat layout (grads_len ==
 * pn_n_params), and that loss into *loss. */
int pn_gradients(const pn_net *net, const double *x, size_t x_len, const double *t, size_t t_len,
                 double *grads, size_t grads_len, double *loss,
                 double *scratch, size_t scratch_len);

/* Train `epochs` epochs of SGD over all rows, epoch e with learning rate
 * lrs[e], writing each epoch's loss to losses.  With rng NULL the rows go in
 * order; otherwise each epoch shuffles them as pn_shuffle into order (n_rows
 * long, scratch) from *rng, which advances.  After each epoch its loss and
 * every parameter must be finite; if not, the parameters and *rng are restored
 * to that epoch's start, losses[*epochs_done] holds the bad loss, and
 * PN_EDIVERGED is returned.  *epochs_done always counts the epochs completed.
 * (The parameters are checked once, after the last epoch; on failure the call
 * replays its epochs one by one to find that epoch: the same result.) */
int pn_train(pn_net *net, const double *x, size_t x_len, const double *t, size_t t_len,
             size_t epochs, const double *lrs, size_t lrs_len, uint64_t *rng,
             size_t *order, size_t order_len, double *losses, size_t losses_len,
             size_t *epochs_done);

/* order = 0..n-1 shuffled by Fisher-Yates from the last index down, each swap
 * partner splitmix64(*rng) % (i + 1); *rng advances (as _training.shuffled). */
int pn_shuffle(size_t *order, size_t n, uint64_t *rng);

/* Start an epoch trained in parts: save the parameters to restore on failure. */
int pn_epoch_begin(pn_net *net);

/* SGD over positions [first, first + count) of the epoch, on rows order[p]
 * (order NULL: row p), adding each sample's loss (measured before its update)
 * to *total in order.  Needs pn_epoch_begin. */
int pn_epoch_rows(pn_net *net, const double *x, size_t x_len, const double *t, size_t t_len,
                  const size_t *order, size_t order_len, size_t first, size_t count,
                  double learning_rate, double *total);

/* Mini-batch training over positions [first, first + count) of an epoch
 * begun by pn_epoch_begin, on rows order[p] (order NULL: row p): per batch of
 * batch_size positions (the epoch's last may be shorter; first must start a
 * batch), sum the samples' gradients, divide by the batch's size, add
 * weight_decay * w to weights' gradients, and step every parameter with opt.
 * buffers holds the optimizer's state (momentum: one buffer, adam: m then
 * v; buffers_len = buffers * pn_n_params) in the core's layout, which is the
 * flat layout with each layer's weights i-major: state[i * n_out + j] for
 * the weight feeding input i into neuron j (the layout of the core's
 * gradient sums, so that a step is one contiguous loop);
 * adam_state = {beta1^steps, beta2^steps}, both updated.  Sample losses are
 * added to *total in order.  The caller saves and restores buffers and
 * adam_state if the epoch fails. */
int pn_epoch_batches(pn_net *net, const double *x, size_t x_len, const double *t, size_t t_len,
                     const size_t *order, size_t order_len, size_t first, size_t count,
                     size_t batch_size, double learning_rate, const pn_optimizer *opt,
                     double *buffers, size_t buffers_len, double *adam_state, double *total);

/* Sample weights.  w holds one weight per row of x (w_len == rows), each
 * finite and >= 0 (else PN_EINVAL); a row of weight 0 is skipped, as if it
 * were absent.  The weighted twins below follow the order contract's
 * sample-weight clause (src/plainnet/_contract.py). */

/* pn_epoch_batches with weights: per batch, the gradient sums are
 * gs = ((0.0 + w0*(d0*a0)) + w1*(d1*a1)) + ... and the step divides them by
 * W = ((0.0 + w0) + w1) + ... over the batch's rows (in order); a batch whose
 * weights are all 0 makes no step (its optimizer state does not move).  Each
 * sample adds w * loss to *total. */
int pn_epoch_batches_weighted(pn_net *net, const double *x, size_t x_len, const double *t,
                              size_t t_len, const double *w, size_t w_len, const size_t *order,
                              size_t order_len, size_t first, size_t count, size_t batch_size,
                              double learning_rate, const pn_optimizer *opt, double *buffers,
                              size_t buffers_len, double *adam_state, double *total);

/* pn_epoch_rows with weights: the per-sample SGD step of each row of nonzero
 * weight is the unweighted one (a batch of one sample: w*g / w is g), and
 * w * loss is added to *total.  Rows of weight 0 make no step. */
int pn_epoch_rows_weighted(pn_net *net, const double *x, size_t x_len, const double *t,
                           size_t t_len, const double *w, size_t w_len, const size_t *order,
                           size_t order_len, size_t first, size_t count, double learning_rate,
                           double *total);

/* pn_loss with weights: ((0.0 + w0*l0) + w1*l1) + ... divided by
 * ((0.0 + w0) + w1) + ..., over rows in order; PN_EINVAL if the weights sum to 0. */
int pn_loss_weighted(const pn_net *net, const double *x, size_t x_len, const double *t,
                     size_t t_len, const double *w, size_t w_len, double *loss,
                     double *scratch, size_t scratch_len);

/* pn_epoch_end for weighted epochs: *loss = total / total_weight (the sum of
 * the training rows' weights, > 0 and finite, else PN_EINVAL), then as pn_epoch_end. */
int pn_epoch_end_weighted(pn_net *net, double total, double total_weight, double *loss);

/* End an epoch begun by pn_epoch_begin: *loss = total / n_rows; if it or any
 * parameter is not finite, restore the saved parameters, return PN_EDIVERGED. */
int pn_epoch_end(pn_net *net, double total, size_t n_rows, double *loss);

/* Abandon an epoch begun by pn_epoch_begin, restoring the saved parameters. */
int pn_epoch_abort(pn_net *net);

/* Epochs completed (by pn_train or pn_epoch_end) since pn_net_init: read it
 * to learn how far an interrupted series of calls got. */
size_t pn_epochs_trained(const pn_net *net);

/* The index of the first non-finite value among x[0..n) into *index, or n
 * when all are finite. */
int pn_find_nonfinite(const double *x, size_t n, size_t *index);

#ifdef __cplusplus
}
#endif

#endif /* PLAINNET_H */
