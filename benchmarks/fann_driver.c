/* fann_driver.c: the FANN peer, trained through FANN's own C library.
 *
 * Same network, data, initial weights and epochs as plainnet; FANN does the
 * work with fann_train (one incremental update per sample, in order).
 * Settings that make FANN compute the tutorial's network:
 *   - FANN_SIGMOID with steepness 0.5: FANN's sigmoid is 1/(1+exp(-2*s*x)),
 *     so s = 0.5 gives 1/(1+exp(-x)); its derivative 2*s*y*(1-y) = y*(1-y).
 *   - FANN_ERRORFUNC_LINEAR (the default "tanh" error function reshapes the error).
 *   - learning rate: FANN adds lr * (t - y) * f' * x, while plainnet's mean
 *     squared error over n_out outputs subtracts lr * (-2 (t - y) / n_out) * f' * x,
 *     so FANN gets learning_rate = 2 * lr / n_out to take the same step.
 *   - momentum 0 (FANN's default).
 * Differences that remain: FANN clips y to [0.01, 0.99] inside the derivative,
 * keeps its learning rate as a float, and (with fann.h/floatfann) computes in
 * float; built against doublefann.h it computes in double.
 *
 * usage: fann_driver PROBLEM_FILE
 * prints "step_ns N", "loss L" and "accuracy A", like limit.c.
 */
#include <string.h>

#include "bench_data.h"
#include "doublefann.h"

/* Copy plainnet's initial weights into FANN's connections.  FANN numbers its
 * neurons layer by layer, each layer followed by its bias neuron (value 1).
 * fann_get_connection_array lists the connections in the order of
 * ann->weights, so the weights are written there directly: the public
 * fann_set_weight_array searches all connections for each one (quadratic,
 * about 18 s for W3). */
/* plainnet's initial value of FANN connection c; first[l] numbers layer l's
 * first neuron (a layer's last neuron is its bias). */
static double wanted_weight(const bench_problem *p, const unsigned int *first,
                            const struct fann_connection *c)
{
    int l = 1;
    while (l < p->n_layers && c->to_neuron >= first[l + 1])
        l++;
    unsigned int j = c->to_neuron - first[l];
    unsigned int i = c->from_neuron - first[l - 1];
    int n_in = p->sizes[l - 1];
    if ((int)j >= p->sizes[l] || (int)i > n_in)
        bench_die("unexpected FANN connection layout");
    return (int)i == n_in ? p->b[l - 1][j] : p->W[l - 1][(size_t)j * n_in + i];
}

static void set_weights(struct fann *ann, const bench_problem *p)
{
    unsigned int n_conn = fann_get_total_connections(ann);
    struct fann_connection *conn = malloc(n_conn * sizeof *conn);
    unsigned int first[16];
    unsigned int offset = 0;
    if (!conn)
        bench_die("out of memory");
    for (int l = 0; l <= p->n_layers; l++) {
        first[l] = offset;
        offset += p->sizes[l] + 1;
    }
    fann_get_connection_array(ann, conn);
    for (unsigned int c = 0; c < n_conn; c++)
        ann->weights[c] = wanted_weight(p, first, &conn[c]);
    fann_get_connection_array(ann, conn); /* check the order assumption */
    for (unsigned int c = 0; c < n_conn; c++)
        if (conn[c].weight != wanted_weight(p, first, &conn[c]))
            bench_die("FANN's weights are not in connection-array order");
    free(conn);
}

static struct fann *make_net(const bench_problem *p)
{
    unsigned int layers[16];
    for (int l = 0; l <= p->n_layers; l++)
        layers[l] = p->sizes[l];
    struct fann *ann = fann_create_standard_array(p->n_layers + 1, layers);
    if (!ann)
        bench_die("fann_create_standard_array failed");
    fann_set_activation_function_hidden(ann, FANN_SIGMOID);
    fann_set_activation_function_output(ann, FANN_SIGMOID);
    fann_set_activation_steepness_hidden(ann, 0.5);
    fann_set_activation_steepness_output(ann, 0.5);
    fann_set_train_error_function(ann, FANN_ERRORFUNC_LINEAR);
    fann_set_learning_momentum(ann, 0.0f);
    fann_set_learning_rate(ann, (float)(2.0 * p->lr / p->sizes[p->n_layers]));
    set_weights(ann, p);
    return ann;
}

static double train(struct fann *ann, const bench_problem *p)
{
    const int n_in = p->sizes[0], n_out = p->sizes[p->n_layers];
    for (int e = 0; e < p->epochs; e++) {
        fann_reset_MSE(ann);
        for (int r = 0; r < p->n_rows; r++)
            fann_train(ann, p->X + (size_t)r * n_in, p->T + (size_t)r * n_out);
    }
    return fann_get_MSE(ann);
}

int main(int argc, char **argv)
{
    if (argc < 2)
        bench_die("usage: fann_driver PROBLEM_FILE");
    bench_problem p = bench_load(argv[1]);
    struct fann *ann = make_net(&p);
    train(ann, &p); /* warm-up */
    fann_destroy(ann);
    ann = make_net(&p);
    double t0 = bench_now();
    double loss = train(ann, &p);
    double t1 = bench_now();

    const int n_in = p.sizes[0], n_out = p.sizes[p.n_layers];
    int correct = 0;
    for (int r = 0; r < p.n_rows; r++) {
        fann_type *y = fann_run(ann, p.X + (size_t)r * n_in);
        correct += bench_correct(y, p.T + (size_t)r * n_out, n_out);
    }
    printf("step_ns %.6f\n", (t1 - t0) * 1e9 / ((double)p.epochs * p.n_rows));
    printf("loss %.17g\n", loss);
    printf("accuracy %.6f\n", (double)correct / p.n_rows);
    fann_destroy(ann);
    return 0;
}
