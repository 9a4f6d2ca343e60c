/* limit.c: the practical speed limit for plainnet's training loop.
 *
 * A straightforward per-sample SGD for sigmoid layers and mean squared error,
 * in plain C with no Python around it, written in the order of plainnet's
 * backend contract (src/plainnet/_py_backend.py):
 *   z[j]  = ((0.0 + W[j][0]*a[0]) + W[j][1]*a[1] + ...) + b[j]
 *   g[i]  = (0.0 + W[0][i]*d[0]) + W[1][i]*d[1] + ...
 *   W[j][i] -= (lr * d[j]) * a[i],  b[j] -= lr * d[j]
 * run.py builds it twice: "fast" lets the compiler reorder and fuse the
 * arithmetic (-O3 -march=native -ffast-math), "strict" keeps the order above
 * (-O3 -march=native -ffp-contract=off) and so should end with the same bits
 * as plainnet.
 *
 * With -DLIMIT_INPUT_MAJOR the weights are stored input-major (WT[i][j], the
 * transpose): the forward sum then runs over i for all neurons j at once, an
 * axpy the compiler vectorises over j without reordering any neuron's sum, so
 * a strict build keeps plainnet's bits and still uses SIMD.  It is a third
 * build, "strict, input-major", to show what a C backend can reach under the
 * contract; the backpropagated sums become short sequential dot products.
 *
 * usage: limit PROBLEM_FILE [FINAL_PARAMS_FILE]
 * prints "step_ns N", "loss L" (last epoch's mean loss) and "accuracy A";
 * the time covers only the timed training run, after one untimed warm-up run.
 */
#include <math.h>
#include <string.h>

#include "bench_data.h"

static double sigmoid(double x)
{
    if (x >= 0.0)
        return 1.0 / (1.0 + exp(-x));
    double e = exp(x);
    return e / (1.0 + e);
}

typedef struct {
    int n_layers;
    const int *sizes;
    double *W[15], *b[15];
    double *a[16];   /* a[0] points at the sample, a[l+1] = layer l's outputs */
    double *d[15];   /* dL/dz of layer l */
    double *g;       /* backpropagated sums, as wide as the widest layer */
} net_t;

/* The sample's squared error (mean over outputs) and the output layer's
 * deltas, from the outputs of net_forward: the same in both layouts. */
static double output_loss_and_delta(net_t *n, const double *t)
{
    const int L = n->n_layers, n_out = n->sizes[L];
    const double *y = n->a[L];
    double loss = 0.0;
    for (int k = 0; k < n_out; k++) {
        double diff = t[k] - y[k];
        loss += diff * diff;
    }
    loss /= n_out;
    for (int k = 0; k < n_out; k++)
        n->d[L - 1][k] = ((-2.0 * (t[k] - y[k])) / n_out) * (y[k] * (1.0 - y[k]));
    return loss;
}

#ifdef LIMIT_INPUT_MAJOR
/* W[l] holds WT[i][j] = weight from input i to neuron j, row i contiguous. */
static void net_forward(net_t *n, const double *x)
{
    n->a[0] = (double *)x;
    for (int l = 0; l < n->n_layers; l++) {
        const int n_in = n->sizes[l], n_out = n->sizes[l + 1];
        const double *a = n->a[l];
        double *z = n->g, *out = n->a[l + 1];
        for (int j = 0; j < n_out; j++)
            z[j] = 0.0;
        for (int i = 0; i < n_in; i++) {
            const double *w = n->W[l] + (size_t)i * n_out;
            const double ai = a[i];
            for (int j = 0; j < n_out; j++)
                z[j] += w[j] * ai;
        }
        for (int j = 0; j < n_out; j++)
            out[j] = sigmoid(z[j] + n->b[l][j]);
    }
}

static double net_step(net_t *n, const double *x, const double *t, double lr)
{
    const int L = n->n_layers;
    net_forward(n, x);
    const double loss = output_loss_and_delta(n, t);
    for (int l = L - 1; l > 0; l--) {
        const int n_in = n->sizes[l], m = n->sizes[l + 1];
        const double *a = n->a[l], *d = n->d[l];
        for (int i = 0; i < n_in; i++) {
            const double *w = n->W[l] + (size_t)i * m;
            double g = 0.0;
            for (int j = 0; j < m; j++)
                g += w[j] * d[j];
            n->d[l - 1][i] = g * (a[i] * (1.0 - a[i]));
        }
    }
    for (int l = 0; l < L; l++) {
        const int n_in = n->sizes[l], m = n->sizes[l + 1];
        const double *a = n->a[l];
        double *s = n->g;
        for (int j = 0; j < m; j++) {
            s[j] = lr * n->d[l][j];
            n->b[l][j] -= s[j];
        }
        for (int i = 0; i < n_in; i++) {
            double *w = n->W[l] + (size_t)i * m;
            const double ai = a[i];
            for (int j = 0; j < m; j++)
                w[j] -= s[j] * ai;
        }
    }
    return loss;
}

/* Copy between the problem's row-major W[j][i] and this build's layout. */
static void copy_weights(double *dst, const double *src, int n_in, int n_out, int to_internal)
{
    for (int j = 0; j < n_out; j++)
        for (int i = 0; i < n_in; i++) {
            if (to_internal)
                dst[(size_t)i * n_out + j] = src[(size_t)j * n_in + i];
            else
                dst[(size_t)j * n_in + i] = src[(size_t)i * n_out + j];
        }
}
#else
static void net_forward(net_t *n, const double *x)
{
    n->a[0] = (double *)x;
    for (int l = 0; l < n->n_layers; l++) {
        const int n_in = n->sizes[l], n_out = n->sizes[l + 1];
        const double *a = n->a[l];
        double *out = n->a[l + 1];
        for (int j = 0; j < n_out; j++) {
            const double *w = n->W[l] + (size_t)j * n_in;
            double z = 0.0;
            for (int i = 0; i < n_in; i++)
                z += w[i] * a[i];
            out[j] = sigmoid(z + n->b[l][j]);
        }
    }
}

static double net_step(net_t *n, const double *x, const double *t, double lr)
{
    const int L = n->n_layers;
    net_forward(n, x);
    const double loss = output_loss_and_delta(n, t);
    for (int l = L - 1; l > 0; l--) {
        const int n_in = n->sizes[l], m = n->sizes[l + 1];
        double *g = n->g;
        for (int i = 0; i < n_in; i++)
            g[i] = 0.0;
        for (int j = 0; j < m; j++) {
            const double *w = n->W[l] + (size_t)j * n_in;
            const double dj = n->d[l][j];
            for (int i = 0; i < n_in; i++)
                g[i] += w[i] * dj;
        }
        const double *a = n->a[l];
        for (int i = 0; i < n_in; i++)
            n->d[l - 1][i] = g[i] * (a[i] * (1.0 - a[i]));
    }
    for (int l = 0; l < L; l++) {
        const int n_in = n->sizes[l], m = n->sizes[l + 1];
        const double *a = n->a[l];
        for (int j = 0; j < m; j++) {
            double *w = n->W[l] + (size_t)j * n_in;
            const double s = lr * n->d[l][j];
            for (int i = 0; i < n_in; i++)
                w[i] -= s * a[i];
            n->b[l][j] -= s;
        }
    }
    return loss;
}

static void copy_weights(double *dst, const double *src, int n_in, int n_out, int to_internal)
{
    (void)to_internal;
    memcpy(dst, src, sizeof(double) * n_in * n_out);
}
#endif

static double net_train(net_t *n, const bench_problem *p)
{
    const int n_in = p->sizes[0], n_out = p->sizes[p->n_layers];
    double loss = 0.0;
    for (int e = 0; e < p->epochs; e++) {
        double total = 0.0;
        for (int r = 0; r < p->n_rows; r++)
            total += net_step(n, p->X + (size_t)r * n_in, p->T + (size_t)r * n_out, p->lr);
        loss = total / p->n_rows;
    }
    return loss;
}

static void net_reset(net_t *n, const bench_problem *p)
{
    for (int l = 0; l < p->n_layers; l++) {
        copy_weights(n->W[l], p->W[l], p->sizes[l], p->sizes[l + 1], 1);
        memcpy(n->b[l], p->b[l], sizeof(double) * p->sizes[l + 1]);
    }
}

static double *alloc_doubles(size_t count)
{
    double *v = calloc(count ? count : 1, sizeof *v);
    if (!v)
        bench_die("out of memory");
    return v;
}

int main(int argc, char **argv)
{
    if (argc < 2)
        bench_die("usage: limit PROBLEM_FILE [FINAL_PARAMS_FILE]");
    bench_problem p = bench_load(argv[1]);
    net_t n = {.n_layers = p.n_layers, .sizes = p.sizes};
    int widest = 0;
    for (int l = 0; l <= p.n_layers; l++)
        widest = p.sizes[l] > widest ? p.sizes[l] : widest;
    for (int l = 0; l < p.n_layers; l++) {
        n.W[l] = alloc_doubles((size_t)p.sizes[l] * p.sizes[l + 1]);
        n.b[l] = alloc_doubles(p.sizes[l + 1]);
        n.a[l + 1] = alloc_doubles(p.sizes[l + 1]);
        n.d[l] = alloc_doubles(p.sizes[l + 1]);
    }
    n.g = alloc_doubles(widest);

    net_reset(&n, &p);
    net_train(&n, &p); /* warm-up: caches, page faults, CPU clock */
    net_reset(&n, &p);
    double t0 = bench_now();
    double loss = net_train(&n, &p);
    double t1 = bench_now();

    const int n_in = p.sizes[0], n_out = p.sizes[p.n_layers];
    int correct = 0;
    for (int r = 0; r < p.n_rows; r++) {
        net_forward(&n, p.X + (size_t)r * n_in);
        correct += bench_correct(n.a[p.n_layers], p.T + (size_t)r * n_out, n_out);
    }
    printf("step_ns %.6f\n", (t1 - t0) * 1e9 / ((double)p.epochs * p.n_rows));
    printf("loss %.17g\n", loss);
    printf("accuracy %.6f\n", (double)correct / p.n_rows);
    if (argc > 2) {
        FILE *f = fopen(argv[2], "wb");
        if (!f)
            bench_die("cannot write the final parameters");
        for (int l = 0; l < p.n_layers; l++) {
            copy_weights(p.W[l], n.W[l], p.sizes[l], p.sizes[l + 1], 0);
            fwrite(p.W[l], sizeof(double), (size_t)p.sizes[l] * p.sizes[l + 1], f);
            fwrite(n.b[l], sizeof(double), p.sizes[l + 1], f);
        }
        fclose(f);
    }
    return 0;
}
