/*
 * plainnet.c: the C core of plainnet (see plainnet.h for the surface).
 *
 * ORDER CONTRACT.  This file returns the same bits as the pure-Python backend,
 * so every floating-point operation below happens in the order that the
 * contract in src/plainnet/_contract.py states (pre-activations and every sum
 * reduced in index order, one addition at a time; the SGD, mini-batch and
 * optimizer updates; the epoch loss).  The activations' formulas are the list
 * in pn_activations.h, the losses' are below; their Python twins are the
 * records of src/plainnet/_registry.py.  The parity tests
 * (tests/test_parity.py, tests/test_activations.py) compare with ==.
 *
 * Strict IEEE double arithmetic is required: build with -ffp-contract=off (no
 * fused multiply-add) and never with -ffast-math; exp, log, log1p and tanh
 * come from libm, which CPython's math module calls too.
 *
 * Speed comes from layout, not from reordering: each layer keeps its weights
 * i-major (WT[i][j]) for the forward pass, so z[j] += WT[i][j]*a[i] runs over
 * a block of j in SIMD registers while each z[j] keeps its order over i.
 * Layers after the first also keep a j-major mirror W[j][i] for the backward
 * sum g[i] += W[j][i]*d[j] (SIMD over i), fused with that mirror's update.
 * Both copies receive identical updates, so they stay identical.  Networks
 * whose layers are all narrower than PN_NARROW train with scalar loops instead
 * (sgd_step_narrow): the same operations, fused into one pass per neuron.
 *
 * No global or static mutable state (except pn_exp.h's one-time self-check
 * flag, set atomically); nothing is allocated.  The functions taking a
 * const pn_net * only read it, so they may run concurrently.
 */
#if !defined(_POSIX_C_SOURCE) && !defined(_WIN32)
#define _POSIX_C_SOURCE 200809L /* pthread_sigmask, sched_yield under -std=c99 */
#endif
#include <math.h>
#include <stdint.h>
#include <string.h>

#define PN_ACTIVATION_FUNCTIONS /* the helpers of pn_activations.h */
#include "plainnet.h"
#include "pn_exp.h" /* pn_exp_row: exp of a row, with libm's bits */

/* ---- portability -------------------------------------------------------- */

#if defined(_MSC_VER)
#define PN_INLINE static __inline
#define PN_RESTRICT __restrict
#elif defined(__GNUC__)
#define PN_INLINE static inline __attribute__((always_inline))
#define PN_RESTRICT __restrict__
#else
#define PN_INLINE static inline
#define PN_RESTRICT restrict
#endif

/* On x86-64 with GCC or clang the loops over rows exist twice: for AVX2 and
 * for the baseline, chosen per call by __builtin_cpu_supports.  The copies do
 * the same operations in the same order: no FMA (-ffp-contract=off), and
 * vectors only across independent sums.  GCC also tunes the AVX2 copy for a
 * modern core ("generic" tuning made it 1.5x slower on the loops below).
 * -DPN_NO_DISPATCH builds the baseline only. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(PN_NO_DISPATCH)
#define PN_DISPATCH 1
#if defined(__clang__)
#define PN_AVX2_BEGIN _Pragma("clang attribute push (__attribute__((target(\"avx2\"))), apply_to = function)")
#define PN_AVX2_END _Pragma("clang attribute pop")
#else
#define PN_AVX2_BEGIN _Pragma("GCC push_options") _Pragma("GCC target(\"avx2,tune=skylake\")")
#define PN_AVX2_END _Pragma("GCC pop_options")
#endif
#endif

/* GCC vectorises the narrow network's loops of one to three iterations, and
 * setting up those vector loops costs more than running them (the tutorial's
 * 2-2-1 network: 75 ns per SGD step vectorised, 66 ns scalar); clang's
 * vectoriser costs little there.  Vectors would change no result anyway: they
 * only ever run independent sums side by side. */
#if defined(__GNUC__) && !defined(__clang__)
#define PN_SCALAR __attribute__((optimize("no-tree-vectorize")))
#else
#define PN_SCALAR
#endif

/* Threads (POSIX): none elsewhere, or with -DPN_NO_THREADS; the bits are the same. */
#if !defined(PN_NO_THREADS) && defined(__GNUC__) && (defined(__unix__) || defined(__APPLE__)) \
    && !defined(__EMSCRIPTEN__) && !defined(__wasi__)
#define PN_THREADS 1
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#endif
#define PN_MAX_THREADS 64
#define PN_WORK_PER_THREAD 262144.0 /* multiply-adds: about 100 us */
#define PN_WORK_PER_SYNC 65536.0    /* multiply-adds per thread between waits: about 25 us */

#define PN_MAGIC 0x706c6e31u /* "pln1" */
#define PN_ALIGN 64          /* bytes: arrays start on cache lines */
#define PN_SLACK (PN_ALIGN / sizeof(double) - 1) /* doubles to start a caller's area on one */
#define PN_NARROW 4          /* layers this wide or wider use the blocked kernels */
#define PN_BLOCK_ROWS 64     /* most rows in a block (see "blocks of rows") */
#define PN_BLOCK_DOUBLES (1u << 18) /* a block's area is at most about 2 MiB, if a row fits */

/* ---- the network block ---------------------------------------------------- */

typedef struct {
    size_t n_in, n_out;
    int act;
    size_t wt;  /* store offset (doubles) of WT[i * n_out + j], i-major */
    size_t b;   /* store offset of the biases */
    size_t w;   /* store offset of the j-major mirror W[j * n_in + i]; layers >= 1 only */
    size_t z;   /* scratch offset of this layer's pre-activations */
    size_t out; /* scratch offset of this layer's outputs */
    size_t bz;  /* block offset of its pre-activations, block_rows x n_out; outputs follow */
} pn_layer;

struct pn_net {
    unsigned magic;
    int loss;
    uint64_t digest;    /* layout_digest at pn_net_init: pn_net_check verifies the layout */
    size_t bytes;       /* pn_net_bytes of its sizes: the block is at least this long */
    int epoch_open;     /* pn_epoch_begin saved the parameters */
    size_t epochs;      /* epochs completed since pn_net_init */
    size_t threads;     /* pn_set_threads (read and written atomically) */
    size_t n_layers;
    size_t n_params;    /* length of the flat layout */
    size_t n_store;     /* doubles of the internal store (with padding) */
    size_t scratch_len; /* doubles of scratch (pn_scratch_len) */
    size_t max_width;
    int narrow;         /* every layer has fewer than PN_NARROW neurons */
    size_t dbuf, sbuf, gbuf; /* scratch offsets */
    size_t block_rows;  /* rows of a block (see "blocks of rows" below) */
    size_t block_len;   /* doubles of a block's area (pn_block_scratch_len) */
    size_t block;       /* offset (doubles) of the network's own block area */
    size_t block_d;     /* block offset of the deltas (two arrays of block_rows x max_width) */
    size_t block_pack;  /* block offset of the pack of gemm_body */
    size_t wpack_len;   /* doubles of every layer's WT packed whole (pack_whole) */
    size_t data;        /* byte offset from the struct to its doubles */
    size_t store, saved, work, gsum; /* offsets (doubles) of the areas */
    pn_layer layer[];
};

const char *pn_strerror(int code)
{
    switch (code) {
    case PN_OK: return "success";
    case PN_EINVAL: return "invalid argument";
    case PN_ESIZE: return "buffer or memory block of the wrong size";
    case PN_EDIVERGED: return "training diverged";
    case PN_ESTATE: return "not an initialised network, or calls out of order";
    default: return "unknown error code";
    }
}

static int add_ok(size_t a, size_t b, size_t *out)
{
    if (b > SIZE_MAX - a) return 0;
    *out = a + b;
    return 1;
}

static int mul_ok(size_t a, size_t b, size_t *out)
{
    if (a != 0 && b > SIZE_MAX / a) return 0;
    *out = a * b;
    return 1;
}

/* Append an array of n doubles at *top (rounded to PN_ALIGN); its offset in *at. */
static int place(size_t *top, size_t n, size_t *at)
{
    const size_t per = PN_ALIGN / sizeof(double);
    size_t end;
    *at = *top;
    if (!add_ok(*top, n, &end) || !add_ok(end, per - 1, &end)) return 0;
    *top = end / per * per;
    return 1;
}

/* Compute the layout of a network; fill `net` when it is not NULL.  The
 * returned byte count excludes the alignment slack (see pn_net_bytes). */
static size_t pack_len(size_t n, size_t k);
static size_t whole_pack_len(size_t n, size_t k, size_t *len);

static size_t layout(size_t n_sizes, const size_t *sizes, pn_net *net)
{
    size_t n_layers, l, header, bytes, doubles;
    size_t n_params = 0, store = 0, scratch = 0, max_width = 0, nw;
    size_t dbuf, sbuf, gbuf;

    size_t per_row, rows, bpos, bd, bpack, wpack = 0, full;

    if (sizes == NULL || n_sizes < 2) return 0;
    n_layers = n_sizes - 1;
    for (l = 0; l < n_sizes; l++) {
        if (sizes[l] == 0) return 0;
        if (sizes[l] > max_width) max_width = sizes[l];
    }
    /* A block of rows holds, per row: inputs, targets, weight, loss, every
     * layer's pre-activations and outputs, and two rows of deltas. */
    if (!add_ok(sizes[0], sizes[n_layers], &per_row) || !add_ok(per_row, 2, &per_row)) return 0;
    for (l = 1; l < n_sizes; l++)
        if (!add_ok(per_row, sizes[l], &per_row) || !add_ok(per_row, sizes[l], &per_row)) return 0;
    if (!add_ok(per_row, max_width, &per_row) || !add_ok(per_row, max_width, &per_row)) return 0;
    rows = PN_BLOCK_DOUBLES / per_row;
    if (rows > PN_BLOCK_ROWS) rows = PN_BLOCK_ROWS;
    if (rows == 0) rows = 1;
    bpos = rows * (sizes[0] + sizes[n_layers] + 2); /* rows * per_row fits: checked below */
    for (l = 0; l < n_layers; l++) {
        const size_t n_in = sizes[l], n_out = sizes[l + 1];
        pn_layer layer;
        if (!mul_ok(n_in, n_out, &nw)) return 0;
        if (!add_ok(n_params, nw, &n_params) || !add_ok(n_params, n_out, &n_params)) return 0;
        layer.n_in = n_in;
        layer.n_out = n_out;
        layer.act = 0;
        if (!place(&store, nw, &layer.wt) || !place(&store, n_out, &layer.b)) return 0;
        layer.w = 0;
        if (l > 0 && !place(&store, nw, &layer.w)) return 0;
        if (!place(&scratch, n_out, &layer.z) || !place(&scratch, n_out, &layer.out)) return 0;
        layer.bz = bpos;
        bpos += 2 * rows * n_out;
        if (net != NULL) {
            layer.act = net->layer[l].act;
            net->layer[l] = layer;
        }
    }
    if (!place(&scratch, max_width, &dbuf)
        || !place(&scratch, max_width, &sbuf) || !place(&scratch, max_width, &gbuf))
        return 0;
    for (l = 0; l < n_layers; l++) {
        size_t len;
        if (!whole_pack_len(sizes[l + 1], sizes[l], &len) || !add_ok(wpack, len, &wpack)) return 0;
    }
    bd = bpos;
    if (!mul_ok(rows, per_row, &bpos)) return 0;
    bpack = bpos; /* then the pack of the matrix products (gemm_body) */
    if (!add_ok(bpos, pack_len(max_width, max_width > rows ? max_width : rows), &bpos)) return 0;
    /* pn_block_scratch_len must not overflow */
    if (!add_ok(bpos, wpack, &full) || !add_ok(full, PN_SLACK, &full)) return 0;
    /* store + saved copy + training scratch + mini-batch gradient sums + block */
    if (!mul_ok(store, 2, &doubles) || !add_ok(doubles, scratch, &doubles)
        || !add_ok(doubles, n_params, &doubles) || !add_ok(doubles, bpos, &doubles))
        return 0;
    if (!mul_ok(n_layers, sizeof(pn_layer), &header)
        || !add_ok(header, offsetof(struct pn_net, layer), &header))
        return 0;
    if (!mul_ok(doubles, sizeof(double), &bytes) || !add_ok(bytes, header, &bytes)) return 0;
    if (net != NULL) {
        net->n_layers = n_layers;
        net->n_params = n_params;
        net->n_store = store;
        net->scratch_len = scratch;
        net->max_width = max_width;
        net->narrow = 1;
        for (l = 1; l < n_sizes; l++)
            if (sizes[l] >= PN_NARROW) net->narrow = 0;
        net->dbuf = dbuf;
        net->sbuf = sbuf;
        net->gbuf = gbuf;
        net->store = 0;
        net->saved = store;
        net->work = 2 * store;
        net->gsum = 2 * store + scratch;
        net->block = net->gsum + n_params;
        net->block_rows = rows;
        net->block_len = bpos;
        net->block_d = bd;
        net->block_pack = bpack;
        net->wpack_len = wpack;
        {
            const uintptr_t addr = (uintptr_t)net;
            const uintptr_t start = (addr + header + PN_ALIGN - 1) / PN_ALIGN * PN_ALIGN;
            net->data = (size_t)(start - addr);
        }
    }
    return bytes;
}

size_t pn_net_bytes(size_t n_sizes, const size_t *sizes)
{
    size_t bytes = layout(n_sizes, sizes, NULL);
    if (bytes == 0 || !add_ok(bytes, PN_ALIGN, &bytes)) return 0;
    return bytes;
}

/* FNV-1a over the bytes of everything pn_net_init fixed: the sizes, codes
 * and offsets (not the epoch count or the open-epoch flag, which change). */
static uint64_t fnv1a(uint64_t h, const void *p, size_t n)
{
    const unsigned char *b = (const unsigned char *)p;
    size_t k;
    for (k = 0; k < n; k++) h = (h ^ b[k]) * UINT64_C(1099511628211);
    return h;
}

static uint64_t layout_digest(const pn_net *net)
{
    uint64_t h = UINT64_C(14695981039346656037);
    h = fnv1a(h, &net->loss, sizeof net->loss);
    h = fnv1a(h, &net->bytes, sizeof net->bytes);
    h = fnv1a(h, &net->n_layers, offsetof(struct pn_net, layer) - offsetof(struct pn_net, n_layers));
    return fnv1a(h, net->layer, net->n_layers * sizeof(pn_layer));
}

int pn_net_init(void *mem, size_t bytes, size_t n_sizes, const size_t *sizes,
                const int *activations, int loss)
{
    pn_net *net = (pn_net *)mem;
    size_t l, need;

    if (mem == NULL || sizes == NULL || activations == NULL) return PN_EINVAL;
    if ((uintptr_t)mem % sizeof(double) != 0) return PN_EINVAL;
    if (pn_loss_name(loss) == NULL) return PN_EINVAL;
    need = pn_net_bytes(n_sizes, sizes);
    if (need == 0) return PN_EINVAL;
    if (bytes < need) return PN_ESIZE;
    for (l = 0; l + 1 < n_sizes; l++) {
        const int act = activations[l];
        if (pn_activation_name(act) == NULL) return PN_EINVAL;
        /* softmax has no element-wise derivative for backpropagation */
        if (act == PN_SOFTMAX && l + 2 != n_sizes) return PN_EINVAL;
    }
    memset(mem, 0, need);
    for (l = 0; l + 1 < n_sizes; l++) net->layer[l].act = activations[l];
    layout(n_sizes, sizes, net);
    net->loss = loss;
    net->threads = 1;
    net->epoch_open = 0;
    net->bytes = need;
    net->magic = PN_MAGIC;
    net->digest = layout_digest(net);
    return PN_OK;
}

static int check_net(const pn_net *net)
{
    if (net == NULL) return PN_EINVAL;
    if (net->magic != PN_MAGIC) return PN_ESTATE;
    return PN_OK;
}

#define CHECK_NET(net)                       \
    do {                                     \
        int rc_ = check_net(net);            \
        if (rc_ != PN_OK) return rc_;        \
    } while (0)

static const double *area_c(const pn_net *net, size_t offset)
{
    return (const double *)((const char *)net + net->data) + offset;
}

static double *area(pn_net *net, size_t offset)
{
    return (double *)((char *)net + net->data) + offset;
}

size_t pn_n_params(const pn_net *net)
{
    return check_net(net) == PN_OK ? net->n_params : 0;
}

size_t pn_scratch_len(const pn_net *net)
{
    return check_net(net) == PN_OK ? net->scratch_len : 0;
}

size_t pn_block_scratch_len(const pn_net *net)
{
    return check_net(net) == PN_OK ? net->block_len + net->wpack_len + PN_SLACK : 0;
}

int pn_set_threads(pn_net *net, size_t n)
{
    CHECK_NET(net);
    if (n == 0) return PN_EINVAL;
    if (n > PN_MAX_THREADS) n = PN_MAX_THREADS;
#if defined(__GNUC__)
    __atomic_store_n(&net->threads, n, __ATOMIC_RELAXED);
#else
    net->threads = n;
#endif
    return PN_OK;
}

size_t pn_max_threads(void)
{
#ifdef PN_THREADS
    return PN_MAX_THREADS;
#else
    return 1;
#endif
}

/* Threads for a call of `work` multiply-adds in blocks of `block` each, with
 * `syncs` waits for the whole team per block: the network's setting, but no
 * more than give each thread PN_WORK_PER_THREAD in all (starting a thread
 * costs some 20 us) and PN_WORK_PER_SYNC between waits (a wait costs a few
 * us, but a whole time slice of the scheduler when another process holds a
 * core: a 64-32-10 network trained on 2 threads of a busy 2-core machine
 * took 10x as long as on one).  Small networks therefore run on one thread;
 * the results are the same bits either way. */
static size_t threads_for(const pn_net *net, double work, double block, double syncs)
{
#if defined(__GNUC__)
    size_t n = __atomic_load_n(&net->threads, __ATOMIC_RELAXED);
#else
    size_t n = net->threads;
#endif
    double most = work / PN_WORK_PER_THREAD;
    const double by_sync = block / (syncs * PN_WORK_PER_SYNC);
    if (by_sync < most) most = by_sync;
    if (n == 0) n = 1;
    if (most < (double)n) n = most < 1.0 ? 1 : (size_t)most;
    return n;
}

int pn_net_check(const void *mem, size_t bytes)
{
    const pn_net *net = (const pn_net *)mem;
    int rc;
    if (mem == NULL || (uintptr_t)mem % sizeof(double) != 0) return PN_EINVAL;
    if (bytes < offsetof(struct pn_net, layer)) return PN_ESIZE;
    if ((rc = check_net(net)) != PN_OK) return rc; /* the magic */
    if (net->n_layers == 0
        || net->n_layers > (bytes - offsetof(struct pn_net, layer)) / sizeof(pn_layer)
        || net->bytes > bytes)
        return PN_ESIZE;
    /* every size, code and offset as pn_net_init left them: forged or
     * corrupted layer tables are refused before anything reads through them */
    if (net->digest != layout_digest(net)) return PN_ESTATE;
    return PN_OK;
}

static const pn_layer *last_layer(const pn_net *net)
{
    return &net->layer[net->n_layers - 1];
}

size_t pn_n_inputs(const pn_net *net)
{
    return check_net(net) == PN_OK ? net->layer[0].n_in : 0;
}

size_t pn_n_outputs(const pn_net *net)
{
    return check_net(net) == PN_OK ? last_layer(net)->n_out : 0;
}

/* Rows in a buffer of x_len doubles, or 0 when x_len is not a positive multiple of width. */
static size_t rows_in(size_t x_len, size_t width)
{
    if (x_len == 0 || x_len % width != 0) return 0;
    return x_len / width;
}

/* ---- parameters ------------------------------------------------------------ */

int pn_set_params(pn_net *net, const double *params, size_t n)
{
    size_t l, i, j;
    CHECK_NET(net);
    if (params == NULL) return PN_EINVAL;
    if (n != net->n_params) return PN_ESIZE;
    for (l = 0; l < net->n_layers; l++) {
        const pn_layer *L = &net->layer[l];
        double *wt = area(net, net->store + L->wt);
        double *b = area(net, net->store + L->b);
        for (j = 0; j < L->n_out; j++)
            for (i = 0; i < L->n_in; i++) wt[i * L->n_out + j] = params[j * L->n_in + i];
        if (l > 0) memcpy(area(net, net->store + L->w), params, L->n_in * L->n_out * sizeof(double));
        params += L->n_in * L->n_out;
        memcpy(b, params, L->n_out * sizeof(double));
        params += L->n_out;
    }
    net->epoch_open = 0;
    return PN_OK;
}

int pn_get_params(const pn_net *net, double *params, size_t n)
{
    size_t l, i, j;
    CHECK_NET(net);
    if (params == NULL) return PN_EINVAL;
    if (n != net->n_params) return PN_ESIZE;
    for (l = 0; l < net->n_layers; l++) {
        const pn_layer *L = &net->layer[l];
        const double *wt = area_c(net, net->store + L->wt);
        for (j = 0; j < L->n_out; j++)
            for (i = 0; i < L->n_in; i++) params[j * L->n_in + i] = wt[i * L->n_out + j];
        params += L->n_in * L->n_out;
        memcpy(params, area_c(net, net->store + L->b), L->n_out * sizeof(double));
        params += L->n_out;
    }
    return PN_OK;
}

/* ---- names of the codes ----------------------------------------------------- */

#define PN_NAME_CASE(NAME, name, f, df) \
    case PN_##NAME:                     \
        return #name;

const char *pn_activation_name(int code)
{
    switch (code) {
    PN_ACTIVATIONS(PN_NAME_CASE)
    case PN_SOFTMAX: return "softmax";
    default: return NULL;
    }
}

const char *pn_loss_name(int code)
{
    switch (code) {
    case PN_MSE: return "mse";
    case PN_BINARY_CROSSENTROPY: return "binary_crossentropy";
    case PN_CATEGORICAL_CROSSENTROPY: return "categorical_crossentropy";
    default: return NULL;
    }
}

const char *pn_optimizer_name(int code)
{
    switch (code) {
    case PN_OPT_SGD: return "sgd";
    case PN_OPT_MOMENTUM: return "momentum";
    case PN_OPT_ADAM: return "adam";
    default: return NULL;
    }
}

/* ---- activations (the list in pn_activations.h, twins of _registry.py) ------------ */

/* Every code was checked by pn_net_init, so the defaults below cannot be
 * reached; should memory be corrupted, they give NaN, never a plausible
 * number from another formula. */

/* f(z) of an element-wise activation. */
#define PN_F_CASE(NAME, name, f, df) \
    case PN_##NAME:            \
        return (f);
PN_INLINE double activation(int act, double z)
{
    switch (act) {
    PN_ACTIVATIONS(PN_F_CASE)
    default: return NAN;
    }
}

/* f'(z) of an element-wise activation, from z and y = f(z). */
#define PN_DF_CASE(NAME, name, f, df) \
    case PN_##NAME:             \
        return (df);
PN_INLINE double derivative(int act, double z, double y)
{
    (void)z;
    (void)y;
    switch (act) {
    PN_ACTIVATIONS(PN_DF_CASE)
    default: return NAN;
    }
}

/* y = f(z), element-wise or softmax. */
#define PN_ACTIVATE_CASE(NAME, name, f, df)                  \
    case PN_##NAME:                                    \
        for (k = 0; k < n; k++) {                      \
            const double z = zs[k];                    \
            y[k] = (f);                                \
        }                                              \
        break;
PN_INLINE void activate(int act, const double *PN_RESTRICT zs, double *PN_RESTRICT y, size_t n)
{
    size_t k;
    if (act == PN_SIGMOID) { /* exp of the row (pn_exp.h: libm's bits), the rest side by side */
        for (k = 0; k < n; k++) y[k] = -fabs(zs[k]);
        pn_exp_row(y, y, n);
        for (k = 0; k < n; k++) y[k] = pn_sigmoid_of(zs[k], y[k]);
        return;
    }
    switch (act) {
    PN_ACTIVATIONS(PN_ACTIVATE_CASE)
    case PN_SOFTMAX: {
        double m = zs[0], s = 0.0;
        for (k = 0; k < n; k++)
            if (zs[k] > m) m = zs[k];
        for (k = 0; k < n; k++) y[k] = zs[k] - m;
        pn_exp_row(y, y, n);
        for (k = 0; k < n; k++) s += y[k];
        for (k = 0; k < n; k++) y[k] = y[k] / s;
        break;
    }
    default:
        for (k = 0; k < n; k++) y[k] = NAN;
        break;
    }
}

/* d[k] = g[k] * f'(z[k]) for an element-wise activation with outputs ys; d may be g. */
#define PN_TIMES_CASE(NAME, name, f, df)                     \
    case PN_##NAME:                                    \
        for (k = 0; k < n; k++) {                      \
            const double z = zs[k], y = ys[k];         \
            (void)z;                                   \
            (void)y;                                   \
            d[k] = g[k] * (df);                        \
        }                                              \
        break;
PN_INLINE void times_derivative(int act, const double *g, const double *zs, const double *ys,
                                double *d, size_t n)
{
    size_t k;
    switch (act) {
    PN_ACTIVATIONS(PN_TIMES_CASE)
    default:
        for (k = 0; k < n; k++) d[k] = NAN;
        break;
    }
}

PN_INLINE double sample_loss(int loss, const double *t, const double *y, const double *z, size_t n)
{
    double acc = 0.0;
    size_t k;
    if (loss == PN_MSE) {
        for (k = 0; k < n; k++) {
            const double d = t[k] - y[k];
            acc += d * d;
        }
        return acc / (double)n;
    }
    if (loss == PN_BINARY_CROSSENTROPY) {
        for (k = 0; k < n; k++)
            acc += ((z[k] > 0.0 ? z[k] : 0.0) - z[k] * t[k]) + log1p(exp(-fabs(z[k])));
        return acc / (double)n;
    }
    {
        double m = z[0], s = 0.0, lse;
        for (k = 0; k < n; k++)
            if (z[k] > m) m = z[k];
        for (k = 0; k < n; k++) s += exp(z[k] - m);
        lse = m + log(s);
        for (k = 0; k < n; k++) acc += t[k] * (lse - z[k]);
        return acc;
    }
}

PN_INLINE void output_delta(int loss, int act, const double *t, const double *y, const double *z,
                            double *d, size_t n)
{
    size_t k;
    if (loss == PN_BINARY_CROSSENTROPY) {
        for (k = 0; k < n; k++) d[k] = (y[k] - t[k]) / (double)n;
        return;
    }
    if (loss == PN_CATEGORICAL_CROSSENTROPY) {
        for (k = 0; k < n; k++) d[k] = y[k] - t[k];
        return;
    }
    for (k = 0; k < n; k++) d[k] = (-2.0 * (t[k] - y[k])) / (double)n;
    if (act == PN_SOFTMAX) {
        double dot = 0.0;
        for (k = 0; k < n; k++) dot += d[k] * y[k];
        for (k = 0; k < n; k++) d[k] = y[k] * (d[k] - dot);
        return;
    }
    times_derivative(act, d, z, y, d, n);
}

/* ---- dense kernels ----------------------------------------------------------- */

/* z[j0..j0+JB) = a . WT[:, j] + b[j]: JB sums in registers, each in i order. */
PN_INLINE void forward_block(const double *PN_RESTRICT wt, const double *PN_RESTRICT b,
                             const double *PN_RESTRICT a, size_t n_in, size_t n_out,
                             size_t j0, double *PN_RESTRICT z, const size_t JB)
{
    double acc[16];
    size_t i, k;
    for (k = 0; k < JB; k++) acc[k] = 0.0;
    for (i = 0; i < n_in; i++) {
        const double ai = a[i];
        const double *PN_RESTRICT w = wt + i * n_out + j0;
        for (k = 0; k < JB; k++) acc[k] += w[k] * ai;
    }
    for (k = 0; k < JB; k++) z[j0 + k] = acc[k] + b[j0 + k];
}

PN_INLINE void dense_forward(const double *PN_RESTRICT wt, const double *PN_RESTRICT b,
                             const double *PN_RESTRICT a, size_t n_in, size_t n_out,
                             double *PN_RESTRICT z)
{
    size_t j = 0;
    for (; j + 16 <= n_out; j += 16) forward_block(wt, b, a, n_in, n_out, j, z, 16);
    for (; j + 8 <= n_out; j += 8) forward_block(wt, b, a, n_in, n_out, j, z, 8);
    for (; j + 4 <= n_out; j += 4) forward_block(wt, b, a, n_in, n_out, j, z, 4);
    for (; j < n_out; j++) forward_block(wt, b, a, n_in, n_out, j, z, 1);
}

/* g[i0..i0+IB) = sum over j in order of W[j][i] * d[j]; with UPDATE, also
 * W[j][i] -= s[j] * a[i] after reading it. */
PN_INLINE void backward_block(double *PN_RESTRICT w, const double *PN_RESTRICT d,
                              const double *PN_RESTRICT s, const double *PN_RESTRICT a,
                              size_t n_in, size_t n_out, size_t i0, double *PN_RESTRICT g,
                              const size_t IB, const int update)
{
    double acc[16], ak[16];
    size_t j, k;
    for (k = 0; k < IB; k++) {
        acc[k] = 0.0;
        ak[k] = update ? a[i0 + k] : 0.0;
    }
    for (j = 0; j < n_out; j++) {
        const double dj = d[j];
        double *PN_RESTRICT row = w + j * n_in + i0;
        if (update) {
            const double sj = s[j];
            for (k = 0; k < IB; k++) {
                acc[k] += row[k] * dj;
                row[k] = row[k] - sj * ak[k];
            }
        } else {
            for (k = 0; k < IB; k++) acc[k] += row[k] * dj;
        }
    }
    for (k = 0; k < IB; k++) g[i0 + k] = acc[k];
}

PN_INLINE void dense_backward(double *PN_RESTRICT w, const double *PN_RESTRICT d,
                              const double *PN_RESTRICT s, const double *PN_RESTRICT a,
                              size_t n_in, size_t n_out, double *PN_RESTRICT g, const int update)
{
    size_t i = 0;
    for (; i + 16 <= n_in; i += 16) backward_block(w, d, s, a, n_in, n_out, i, g, 16, update);
    for (; i + 8 <= n_in; i += 8) backward_block(w, d, s, a, n_in, n_out, i, g, 8, update);
    for (; i + 4 <= n_in; i += 4) backward_block(w, d, s, a, n_in, n_out, i, g, 4, update);
    for (; i < n_in; i++) backward_block(w, d, s, a, n_in, n_out, i, g, 1, update);
}

/* WT[i][j] -= s[j] * a[i] and b[j] -= s[j]. */
PN_INLINE void dense_update(double *PN_RESTRICT wt, double *PN_RESTRICT b,
                            const double *PN_RESTRICT s, const double *PN_RESTRICT a,
                            size_t n_in, size_t n_out)
{
    size_t i, j;
    for (i = 0; i < n_in; i++) {
        const double ai = a[i];
        double *PN_RESTRICT row = wt + i * n_out;
        for (j = 0; j < n_out; j++) row[j] = row[j] - s[j] * ai;
    }
    for (j = 0; j < n_out; j++) b[j] = b[j] - s[j];
}

/* dense_update, and the next sample (inputs an) through the updated layer:
 * z[j] = (0.0 + WT[0][j] * an[0] + WT[1][j] * an[1] + ...) + b[j], each
 * sum in i order as forward_block adds it, from each weight as soon as it
 * is updated.  Per-sample SGD thus reads and writes the first layer's
 * weights once per sample instead of reading them again for the next
 * forward pass: the same operations on the same values, so the same bits. */
PN_INLINE void dense_update_forward(double *PN_RESTRICT wt, double *PN_RESTRICT b,
                                    const double *PN_RESTRICT s, const double *PN_RESTRICT a,
                                    const double *PN_RESTRICT an, size_t n_in, size_t n_out,
                                    double *PN_RESTRICT z)
{
    size_t i, j;
    for (j = 0; j < n_out; j++) z[j] = 0.0;
    for (i = 0; i < n_in; i++) {
        const double ai = a[i], ni = an[i];
        double *PN_RESTRICT row = wt + i * n_out;
        for (j = 0; j < n_out; j++) {
            const double w = row[j] - s[j] * ai;
            row[j] = w;
            z[j] += w * ni;
        }
    }
    for (j = 0; j < n_out; j++) {
        b[j] = b[j] - s[j];
        z[j] = z[j] + b[j];
    }
}

/* ---- one sample ------------------------------------------------------------------ */

/* Forward pass of x: every layer's outputs into scratch; returns the last.
 * With `ready`, the first layer's pre-activations are in scratch already
 * (dense_update_forward) and only its activation is applied. */
PN_INLINE const double *forward_layers(const pn_net *net, const double *store, const double *x,
                                       double *scratch, int ready)
{
    const double *a = x;
    size_t l;
    for (l = 0; l < net->n_layers; l++) {
        const pn_layer *L = &net->layer[l];
        double *out = scratch + L->out;
        double *z = scratch + L->z;
        if (l > 0 || !ready) dense_forward(store + L->wt, store + L->b, a, L->n_in, L->n_out, z);
        activate(L->act, z, out, L->n_out);
        a = out;
    }
    return a;
}

PN_INLINE const double *forward_sample(const pn_net *net, const double *store, const double *x,
                                       double *scratch)
{
    return forward_layers(net, store, x, scratch, 0);
}

/* One SGD step on (x, t); returns the sample's loss from before the update.
 * With next (the next sample's inputs, or NULL), the first layer's update
 * also computes the next sample's pre-activations there, and the next call
 * passes `ready` (forward_layers). */
PN_INLINE double sgd_step(const pn_net *net, double *store, const double *x, const double *t,
                          double lr, double *scratch, int ready, const double *next)
{
    const pn_layer *last = last_layer(net);
    const double *y = forward_layers(net, store, x, scratch, ready);
    const double loss = sample_loss(net->loss, t, y, scratch + last->z, last->n_out);
    double *d = scratch + net->dbuf, *s = scratch + net->sbuf, *g = scratch + net->gbuf;
    size_t l, j;

    output_delta(net->loss, last->act, t, y, scratch + last->z, d, last->n_out);
    for (l = net->n_layers; l-- > 0;) {
        const pn_layer *L = &net->layer[l];
        const double *a = l == 0 ? x : scratch + net->layer[l - 1].out;
        for (j = 0; j < L->n_out; j++) s[j] = lr * d[j];
        if (l > 0) {
            double *tmp;
            dense_backward(store + L->w, d, s, a, L->n_in, L->n_out, g, 1);
            times_derivative(net->layer[l - 1].act, g, scratch + net->layer[l - 1].z, a, g,
                             L->n_in);
            tmp = d;
            d = g;
            g = tmp;
        }
        /* the first layer's sums of this sample were last read above (layer 1) */
        if (l == 0 && next != NULL)
            dense_update_forward(store + L->wt, store + L->b, s, a, next, L->n_in, L->n_out,
                                 scratch + L->z);
        else
            dense_update(store + L->wt, store + L->b, s, a, L->n_in, L->n_out);
    }
    return loss;
}

/* sgd_step for a narrow network (every layer narrower than PN_NARROW): the
 * same operations in the same order, but one scalar pass per neuron, with the
 * activation, the output delta and lr * d fused in, instead of the blocked
 * kernels and separate passes, whose set-up costs more than the arithmetic at
 * these widths. */
PN_INLINE double sgd_step_narrow(const pn_net *net, double *store, const double *x,
                                 const double *t, double lr, double *scratch)
{
    const pn_layer *last = last_layer(net);
    double *d = scratch + net->dbuf, *g = scratch + net->gbuf;
    const double *a = x;
    double loss;
    size_t l, i, j;

    for (l = 0; l < net->n_layers; l++) {
        const pn_layer *L = &net->layer[l];
        const size_t n_in = L->n_in, n_out = L->n_out;
        const double *wt = store + L->wt, *b = store + L->b;
        double *out = scratch + L->out;
        double *z = scratch + L->z;
        if (L->act == PN_SOFTMAX) {
            for (j = 0; j < n_out; j++) {
                double acc = 0.0;
                for (i = 0; i < n_in; i++) acc += wt[i * n_out + j] * a[i];
                z[j] = acc + b[j];
            }
            activate(L->act, z, out, n_out);
        } else {
            for (j = 0; j < n_out; j++) {
                double acc = 0.0;
                for (i = 0; i < n_in; i++) acc += wt[i * n_out + j] * a[i];
                acc = acc + b[j];
                z[j] = acc;
                out[j] = activation(L->act, acc);
            }
        }
        a = out;
    }
    loss = sample_loss(net->loss, t, a, scratch + last->z, last->n_out);
    if (net->loss == PN_MSE && last->act != PN_SOFTMAX) {
        const double n = (double)last->n_out;
        for (j = 0; j < last->n_out; j++)
            d[j] = ((-2.0 * (t[j] - a[j])) / n) * derivative(last->act, (scratch + last->z)[j], a[j]);
    } else {
        output_delta(net->loss, last->act, t, a, scratch + last->z, d, last->n_out);
    }
    for (l = net->n_layers; l-- > 0;) {
        const pn_layer *L = &net->layer[l];
        const size_t n_in = L->n_in, n_out = L->n_out;
        double *wt = store + L->wt, *b = store + L->b;
        const double *dl = d;
        a = l == 0 ? x : scratch + net->layer[l - 1].out;
        if (l > 0) {
            double *w = store + L->w, *tmp;
            const int act = net->layer[l - 1].act;
            const double *zb = scratch + net->layer[l - 1].z;
            for (i = 0; i < n_in; i++) g[i] = 0.0;
            for (j = 0; j < n_out; j++) {
                const double dj = d[j], sj = lr * dj;
                double *row = w + j * n_in;
                for (i = 0; i < n_in; i++) {
                    g[i] += row[i] * dj;
                    row[i] = row[i] - sj * a[i];
                }
            }
            for (i = 0; i < n_in; i++) g[i] = g[i] * derivative(act, zb[i], a[i]);
            tmp = d;
            d = g;
            g = tmp;
        }
        for (j = 0; j < n_out; j++) {
            const double sj = lr * dl[j];
            for (i = 0; i < n_in; i++) wt[i * n_out + j] = wt[i * n_out + j] - sj * a[i];
            b[j] = b[j] - sj;
        }
    }
    return loss;
}

/* SGD over positions [first, first + count) of an epoch of a narrow network.
 * Scalar code, one copy for every CPU: see PN_SCALAR. */
static PN_SCALAR double train_rows_narrow(pn_net *net, const double *x, const double *t,
                                          const size_t *order, size_t first, size_t count,
                                          double lr, double total)
{
    double *store = area(net, net->store), *scratch = area(net, net->work);
    const size_t n_in = net->layer[0].n_in, n_out = last_layer(net)->n_out;
    size_t p;
    for (p = first; p < first + count; p++) {
        const size_t r = order != NULL ? order[p] : p;
        total += sgd_step_narrow(net, store, x + r * n_in, t + r * n_out, lr, scratch);
    }
    return total;
}

/* ---- shuffling ----------------------------------------------------------------------- */

/* splitmix64 (Steele, Lea and Flood, 2014), as _training.next_random. */
static uint64_t next_random(uint64_t *state)
{
    uint64_t z;
    *state += UINT64_C(0x9E3779B97F4A7C15);
    z = *state;
    z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
    return z ^ (z >> 31);
}

/* Fisher-Yates from the last index down, as _training.shuffled. */
static void shuffle(size_t *order, size_t n, uint64_t *state)
{
    size_t i;
    for (i = 0; i < n; i++) order[i] = i;
    for (i = n; i-- > 1;) {
        const size_t j = (size_t)(next_random(state) % (uint64_t)(i + 1));
        const size_t tmp = order[i];
        order[i] = order[j];
        order[j] = tmp;
    }
}

/* ---- teams of threads -------------------------------------------------------------- */

/* A team runs one job on n threads, each the same code (SPMD): member id
 * computes its share of every step's independent results (share), and
 * team_sync waits until every member has finished the step.  No result
 * depends on the team's size: every sum is computed whole, in its order, by
 * one member, and the sums over rows are added up by member 0 alone. */
typedef struct {
    unsigned arrived, generation, n;
} pn_sync;

typedef struct {
    size_t id, n;
    pn_sync *sync;
} pn_team;

typedef void (*pn_job)(void *job, const pn_team *team);

/* [*lo, *hi): member id's share of n units. */
PN_INLINE void share(const pn_team *team, size_t n, size_t *lo, size_t *hi)
{
    *lo = n / team->n * team->id + (team->id < n % team->n ? team->id : n % team->n);
    *hi = *lo + n / team->n + (team->id < n % team->n ? 1 : 0);
}

static void team_sync(const pn_team *team)
{
#ifdef PN_THREADS
    pn_sync *s = team->sync;
    unsigned gen, spins = 0;
    if (team->n <= 1) return;
    gen = __atomic_load_n(&s->generation, __ATOMIC_ACQUIRE);
    if (__atomic_add_fetch(&s->arrived, 1, __ATOMIC_ACQ_REL) == team->n) {
        __atomic_store_n(&s->arrived, 0, __ATOMIC_RELAXED);
        __atomic_store_n(&s->generation, gen + 1, __ATOMIC_RELEASE);
        return;
    }
    while (__atomic_load_n(&s->generation, __ATOMIC_ACQUIRE) == gen)
        if (++spins >= 64) { /* a busy machine: let the others run */
            spins = 0;
            sched_yield();
        }
#else
    (void)team;
#endif
}

#ifdef PN_THREADS
typedef struct {
    pn_job fn;
    void *job;
    pn_team team;
} pn_member;

static void *member_main(void *arg)
{
    pn_member *m = (pn_member *)arg;
    unsigned n;
    while ((n = __atomic_load_n(&m->team.sync->n, __ATOMIC_ACQUIRE)) == 0) sched_yield();
    m->team.n = n;
    m->fn(m->job, &m->team);
    return NULL;
}
#endif

/* Run job on n threads (the caller's and n - 1 new ones, which exist only
 * during the call: nothing outlives it, so fork() stays safe).  If a thread
 * cannot be started, the team is smaller: the results are the same. */
static void run_team(size_t n, pn_job fn, void *job)
{
    pn_team team;
#ifdef PN_THREADS
    pthread_t threads[PN_MAX_THREADS];
    pn_member members[PN_MAX_THREADS];
    pn_sync sync;
    sigset_t all, old;
    size_t k, started = 1;
    if (n > 1) {
        if (n > PN_MAX_THREADS) n = PN_MAX_THREADS;
        sync.arrived = sync.generation = sync.n = 0;
        sigfillset(&all); /* signals go to the caller's thread, never to a member */
        pthread_sigmask(SIG_BLOCK, &all, &old);
        for (k = 1; k < n; k++) {
            members[k].fn = fn;
            members[k].job = job;
            members[k].team.id = k;
            members[k].team.n = 0;
            members[k].team.sync = &sync;
            if (pthread_create(&threads[k], NULL, member_main, &members[k]) != 0) break;
            started++;
        }
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        team.id = 0;
        team.n = started;
        team.sync = &sync;
        __atomic_store_n(&sync.n, (unsigned)started, __ATOMIC_RELEASE);
        fn(job, &team);
        for (k = 1; k < started; k++) pthread_join(threads[k], NULL);
        return;
    }
#endif
    (void)n;
    team.id = 0;
    team.n = 1;
    team.sync = NULL;
    fn(job, &team);
}

/* ---- matrix products that keep every sum's order ------------------------------------ */

/* C = C0 + A B, where each c(m, n) is the sum over k of a(m, k) * b(k, n),
 * added one term at a time in k order to C0 (0.0 when `first`, else C's
 * value): exactly the dot products of the order contract, computed many at a
 * time.  With s, each term is s[k] * (a(m, k) * b(k, n)) (sample weights).
 * a(m, k) is a[m * rsa + k * csa], b(k, n) is b[k * ldb + n], c(m, n) is
 * c[m * ldc + n].
 *
 * The layout of the work follows BLIS (Van Zee and van de Geijn, 2015): K is
 * cut into runs of PN_KC and N into blocks of PN_NC; for each, the team
 * copies that part of B into `pack` as panels of PN_NR columns (k-major,
 * zero-padded), and each member copies a tile of PN_MR rows of A to its
 * stack, so that the kernel reads both as contiguous streams.  The kernel
 * keeps a 4 x 8 tile of sums in registers (8 vectors of 4; one lane is one
 * sum) over a run; between runs the sums wait in C.  Vectors only ever hold
 * independent sums, multiply and add are separate operations (no FMA), and
 * zero padding only feeds lanes that are never stored: every stored lane is
 * the scalar sum's bits. */
#define PN_KC 256
#define PN_NC 512
#define PN_MR 4
#define PN_NR 8

#if defined(__GNUC__)
typedef double pn_v4 __attribute__((vector_size(32)));

/* Macros, not functions: a function returning a vector would change the ABI
 * of the baseline copy (GCC warns of it), though it is always inlined. */
#define V4_LOAD(dst, p) memcpy(&(dst), (p), sizeof(pn_v4))
#define V4_STORE(p, src) memcpy((p), &(src), sizeof(pn_v4))
#define V4_ALL(dst, x)                             \
    do {                                           \
        const double x_ = (x);                     \
        (dst) = (pn_v4){x_, x_, x_, x_};           \
    } while (0)
#endif

/* The 4 x 8 tile at ct (row stride ldt) = its sums (0.0 if `zero`) + the kc
 * steps of a(r, k) = ap[r * rsa + k * csa] (4 rows: a tile packed k-major,
 * or A read in place) and bp (packed, k-major, 8 per step), each term scaled
 * by s[k] if `scaled`. */
PN_INLINE void kernel_4x8(size_t kc, const double *PN_RESTRICT ap, size_t rsa, size_t csa,
                          const double *PN_RESTRICT bp, const double *PN_RESTRICT s,
                          double *PN_RESTRICT ct, size_t ldt, const int zero, const int scaled)
{
    size_t k, r;
#if defined(__GNUC__)
    pn_v4 acc[PN_MR][2], b0, b1, ar, sk, p0, p1;
    for (r = 0; r < PN_MR; r++) {
        if (zero) {
            V4_ALL(acc[r][0], 0.0);
            acc[r][1] = acc[r][0];
        } else {
            V4_LOAD(acc[r][0], ct + r * ldt);
            V4_LOAD(acc[r][1], ct + r * ldt + 4);
        }
    }
    for (k = 0; k < kc; k++) {
        V4_LOAD(b0, bp + k * PN_NR);
        V4_LOAD(b1, bp + k * PN_NR + 4);
        if (scaled) V4_ALL(sk, s[k]);
        for (r = 0; r < PN_MR; r++) {
            V4_ALL(ar, ap[r * rsa + k * csa]);
            p0 = ar * b0;
            p1 = ar * b1;
            if (scaled) {
                p0 = sk * p0;
                p1 = sk * p1;
            }
            acc[r][0] = acc[r][0] + p0;
            acc[r][1] = acc[r][1] + p1;
        }
    }
    for (r = 0; r < PN_MR; r++) {
        V4_STORE(ct + r * ldt, acc[r][0]);
        V4_STORE(ct + r * ldt + 4, acc[r][1]);
    }
#else
    size_t q;
    if (zero)
        for (r = 0; r < PN_MR; r++)
            for (q = 0; q < PN_NR; q++) ct[r * ldt + q] = 0.0;
    for (k = 0; k < kc; k++)
        for (r = 0; r < PN_MR; r++)
            for (q = 0; q < PN_NR; q++) {
                double p = ap[r * rsa + k * csa] * bp[k * PN_NR + q];
                if (scaled) p = s[k] * p;
                ct[r * ldt + q] = ct[r * ldt + q] + p;
            }
#endif
}

/* Doubles of `pack` that gemm_body needs for N <= n and K <= k. */
static size_t pack_len(size_t n, size_t k)
{
    const size_t nc = n < PN_NC ? (n + PN_NR - 1) / PN_NR * PN_NR : PN_NC;
    return nc * (k < PN_KC ? k : PN_KC);
}

/* Panels p0 <= p < p1 of the part of B (N columns, row stride ldb) in rows
 * k0 <= k < k0 + kc and columns from n0: panel p is columns n0 + 8p.. as kc
 * steps of 8 (k-major, zero past column N), at pack + p * stride. */
PN_INLINE void pack_panels(size_t p0, size_t p1, const double *b, size_t ldb, size_t N, size_t n0,
                           size_t k0, size_t kc, size_t stride, double *pack)
{
    size_t p, k, q;
    for (p = p0; p < p1; p++) {
        const size_t c0 = n0 + p * PN_NR, w = N - c0 < PN_NR ? N - c0 : PN_NR;
        double *dst = pack + p * stride;
        if (w == PN_NR) { /* a whole panel: rows of 8, which the compiler copies as vectors */
            for (k = 0; k < kc; k++) {
                const double *src = b + (k0 + k) * ldb + c0;
                for (q = 0; q < PN_NR; q++) dst[k * PN_NR + q] = src[q];
            }
            continue;
        }
        for (k = 0; k < kc; k++) {
            const double *src = b + (k0 + k) * ldb + c0;
            for (q = 0; q < w; q++) dst[k * PN_NR + q] = src[q];
            for (; q < PN_NR; q++) dst[k * PN_NR + q] = 0.0;
        }
    }
}

/* Doubles of all of a K x N matrix B packed at once (pack_whole). */
static size_t whole_pack_len(size_t n, size_t k, size_t *len)
{
    return mul_ok((n + PN_NR - 1) / PN_NR * PN_NR, k, len);
}

/* Doubles of a layer's WT packed whole (whole_pack_len, which layout() has
 * checked for overflow). */
PN_INLINE size_t layer_pack_len(const pn_layer *L)
{
    size_t len = 0;
    (void)whole_pack_len(L->n_out, L->n_in, &len);
    return len;
}

/* All of B packed as gemm_body would pack it part by part: the part of
 * columns n0.. (a block of PN_NC) and rows k0.. (a run of PN_KC) at
 * n0 * K + k0 * (its panels) * 8, so that products with a B that does not
 * change (the weights, in predictions) need not pack it for every block.
 * The members share the panels; the caller syncs the team. */
PN_INLINE void pack_whole(const pn_team *team, size_t N, size_t K, const double *b, size_t ldb,
                          double *dst)
{
    size_t n0, k0, p0, p1;
    for (n0 = 0; n0 < N; n0 += PN_NC) {
        const size_t nc = N - n0 < PN_NC ? N - n0 : PN_NC, panels = (nc + PN_NR - 1) / PN_NR;
        share(team, panels, &p0, &p1);
        for (k0 = 0; k0 < K; k0 += PN_KC) {
            const size_t kc = K - k0 < PN_KC ? K - k0 : PN_KC;
            pack_panels(p0, p1, b, ldb, N, n0, k0, kc, kc * PN_NR, dst + n0 * K + k0 * panels * PN_NR);
        }
    }
}

/* What gemm does to its product once every sum is whole (ep NULL: nothing):
 * PN_EP_ACTIVATE, the forward step of a layer: c[r][j] = c[r][j] + bias[j],
 * then y[r][j] = f(c[r][j]) (activate); PN_EP_DERIVATIVE, the backward step
 * to the layer below: c[r][j] = c[r][j] * f'(zs[r][j]) (times_derivative,
 * with ys the outputs).  Every element on its own, as the row loops that
 * did this after the product computed it; softmax, the one activation that
 * reads a whole row, is applied row by row. */
#define PN_EP_ACTIVATE 1
#define PN_EP_DERIVATIVE 2
typedef struct {
    int kind, act;
    const double *bias;    /* PN_EP_ACTIVATE */
    double *y;             /* PN_EP_ACTIVATE, row stride ldy */
    const double *zs, *ys; /* PN_EP_DERIVATIVE, row stride ldy */
    size_t ldy;
} pn_epilogue;

/* The epilogue on rows [r0, r1) and columns [c0, c1) of c. */
PN_INLINE void epilogue(const pn_epilogue *ep, double *c, size_t ldc, size_t r0, size_t r1,
                        size_t c0, size_t c1)
{
    size_t r, j;
    if (c1 <= c0) return;
    for (r = r0; r < r1; r++) {
        double *cr = c + r * ldc;
        const size_t y0 = r * ep->ldy;
        if (ep->kind == PN_EP_ACTIVATE) {
            for (j = c0; j < c1; j++) cr[j] = cr[j] + ep->bias[j];
            activate(ep->act, cr + c0, ep->y + y0 + c0, c1 - c0);
        } else {
            times_derivative(ep->act, cr + c0, ep->zs + y0 + c0, ep->ys + y0 + c0, cr + c0,
                             c1 - c0);
        }
    }
}

/* The M x N product on the team, then the epilogue ep (it returns after a
 * team_sync); B packed by pack_whole at bpre, or else packed part by part
 * into `pack`.
 *
 * Work is split by panels where each member gets at least two and A is
 * row-major: a member packs its own panels and computes every tile of them
 * (A's whole tiles read in place), so the team waits only between blocks of
 * PN_NC columns and at the end.  With fewer panels (narrow products), or
 * with A read by columns (the dW products, whose tiles of A are packed and
 * would be packed by every member), the team packs the panels together,
 * waits, and splits the tiles row by row, so that a tile of A is packed by
 * one member (two where a share ends mid-row): 5 % off a W6 batch at 2
 * threads.  Either way each sum is computed whole by one member, in k
 * order.  Panel p of a run is at pack + p * kmax * PN_NR for every run, so
 * that members at different runs never touch each other's panels.  A member
 * that computed whole panels applies an element-wise epilogue to their
 * columns before the team's wait, so that the product and the epilogue
 * take one wait (two fewer per W6 batch); otherwise the team waits, then
 * applies it to rows. */
PN_INLINE void gemm_body(const pn_team *team, size_t M, size_t N, size_t K, const double *a,
                         size_t rsa, size_t csa, const double *b, size_t ldb, double *c,
                         size_t ldc, const double *s, int first, double *pack,
                         const double *bpre, const pn_epilogue *ep)
{
    const size_t m_tiles = (M + PN_MR - 1) / PN_MR, kmax = K < PN_KC ? K : PN_KC;
    const int by_rows = ep != NULL && ep->kind == PN_EP_ACTIVATE && ep->act == PN_SOFTMAX;
    double ap[PN_KC * PN_MR], ct[PN_MR * PN_NR];
    size_t n0, k0, k, q, r, p0 = 0, p1 = 0, u, u0, u1;
    int synced = 1; /* the caller synced the team before the call */
    if (K == 0) { /* empty sums */
        share(team, M, &u0, &u1);
        if (first)
            for (u = u0; u < u1; u++)
                for (q = 0; q < N; q++) c[u * ldc + q] = 0.0;
        if (ep != NULL) epilogue(ep, c, ldc, u0, u1, 0, N);
        team_sync(team);
        return;
    }
    for (n0 = 0; n0 < N; n0 += PN_NC) {
        const size_t nc = N - n0 < PN_NC ? N - n0 : PN_NC, panels = (nc + PN_NR - 1) / PN_NR;
        const int own = panels >= 2 * team->n && csa == 1;
        size_t base = 0, span = panels; /* tile u is row tile u / span of panel base + u % span */
        if (!synced && bpre == NULL) team_sync(team); /* the pack is refilled next */
        if (own) {
            share(team, panels, &p0, &p1);
            base = p0;
            span = p1 - p0;
        }
        for (k0 = 0; k0 < K; k0 += PN_KC) {
            const size_t kc = K - k0 < PN_KC ? K - k0 : PN_KC;
            const int fresh = first && k0 == 0;
            const double *bp = pack;
            size_t packed = (size_t)-1, stride = kmax * PN_NR;
            if (bpre != NULL) {
                bp = bpre + n0 * K + k0 * panels * PN_NR;
                stride = kc * PN_NR;
            } else if (own) {
                pack_panels(p0, p1, b, ldb, N, n0, k0, kc, stride, pack);
            } else {
                share(team, panels, &p0, &p1);
                pack_panels(p0, p1, b, ldb, N, n0, k0, kc, stride, pack);
                team_sync(team);
            }
            if (own) {
                u0 = 0;
                u1 = m_tiles * span;
            } else {
                share(team, m_tiles * panels, &u0, &u1);
            }
            for (u = u0; u < u1; u++) {
                const size_t mt = u / span, m0 = mt * PN_MR, mr = M - m0 < PN_MR ? M - m0 : PN_MR;
                const size_t panel = base + u % span, c0 = n0 + panel * PN_NR;
                const size_t w = N - c0 < PN_NR ? N - c0 : PN_NR;
                const double *bpanel = bp + panel * stride, *at = a + m0 * rsa + k0 * csa;
                size_t ra = rsa, ca = csa; /* whole tiles of row-major A: read in place */
                if (mr < PN_MR || csa != 1) { /* else packed (zero past row M) */
                    if (mt != packed) {
                        if (mr == PN_MR && rsa == 1) /* columns of 4: vector copies */
                            for (k = 0; k < kc; k++)
                                for (r = 0; r < PN_MR; r++) ap[k * PN_MR + r] = at[r + k * csa];
                        else
                            for (k = 0; k < kc; k++)
                                for (r = 0; r < PN_MR; r++)
                                    ap[k * PN_MR + r] = r < mr ? at[r * rsa + k * csa] : 0.0;
                        packed = mt;
                    }
                    at = ap;
                    ra = 1;
                    ca = PN_MR;
                }
                if (mr == PN_MR && w == PN_NR) { /* a whole tile: its sums in place */
                    double *ctile = c + m0 * ldc + c0;
                    if (s != NULL)
                        kernel_4x8(kc, at, ra, ca, bpanel, s + k0, ctile, ldc, fresh, 1);
                    else
                        kernel_4x8(kc, at, ra, ca, bpanel, NULL, ctile, ldc, fresh, 0);
                    continue;
                }
                for (r = 0; r < PN_MR; r++)
                    for (q = 0; q < PN_NR; q++)
                        ct[r * PN_NR + q] = fresh || r >= mr || q >= w ? 0.0 : c[(m0 + r) * ldc + c0 + q];
                if (s != NULL)
                    kernel_4x8(kc, at, ra, ca, bpanel, s + k0, ct, PN_NR, 0, 1);
                else
                    kernel_4x8(kc, at, ra, ca, bpanel, NULL, ct, PN_NR, 0, 0);
                for (r = 0; r < mr; r++)
                    for (q = 0; q < w; q++) c[(m0 + r) * ldc + c0 + q] = ct[r * PN_NR + q];
            }
            synced = 0;
            if (!own && bpre == NULL) {
                team_sync(team); /* the pack is refilled next */
                synced = 1;
            }
        }
        if (ep != NULL && !by_rows) { /* the block's columns are whole */
            if (own) {
                const size_t c1 = n0 + p1 * PN_NR;
                epilogue(ep, c, ldc, 0, M, n0 + p0 * PN_NR, c1 < N ? c1 : N);
            } else {
                if (!synced) team_sync(team);
                share(team, M, &u0, &u1);
                epilogue(ep, c, ldc, u0, u1, n0, n0 + nc);
                synced = 0;
            }
        }
    }
    if (by_rows) {
        if (!synced) team_sync(team);
        share(team, M, &u0, &u1);
        epilogue(ep, c, ldc, u0, u1, 0, N);
        synced = 0;
    }
    if (!synced) team_sync(team);
}

typedef void (*pn_gemm)(const pn_team *team, size_t M, size_t N, size_t K, const double *a,
                        size_t rsa, size_t csa, const double *b, size_t ldb, double *c, size_t ldc,
                        const double *s, int first, double *pack, const double *bpre,
                        const pn_epilogue *ep);

/* ---- blocks of rows ------------------------------------------------------------------ */

/* Prediction, losses and mini-batches run blocks of up to block_rows rows
 * through each layer at once, as matrix products (Z = A WT, then + b, then
 * f), in an area laid out by layout(): per block, the gathered inputs,
 * targets, weights and losses of its rows, each layer's pre-activations and
 * outputs (layer->bz), and two arrays of deltas (block_d).  The network owns
 * one area (training); pn_predict and pn_loss take one as scratch. */

/* Outputs of layer l for the block's rows in the area blk. */
PN_INLINE double *block_z(const pn_net *net, double *blk, size_t l)
{
    return blk + net->layer[l].bz;
}

PN_INLINE double *block_out(const pn_net *net, double *blk, size_t l)
{
    return blk + net->layer[l].bz + net->block_rows * net->layer[l].n_out;
}

/* Forward nb rows (x, row stride ldx) through every layer into blk; with
 * wpack, every layer's WT packed whole there (pack_weights). */
PN_INLINE void block_forward(pn_gemm gemm, const pn_team *team, const pn_net *net,
                             const double *store, const double *x, size_t ldx, size_t nb,
                             double *blk, const double *wpack)
{
    const double *a = x;
    size_t lda = ldx, l, at = 0;
    if (nb == 1) { /* one row: the per-sample kernels, with no packing (the same bits) */
        if (team->id == 0)
            for (l = 0; l < net->n_layers; l++) {
                const pn_layer *L = &net->layer[l];
                double *z = block_z(net, blk, l), *y = block_out(net, blk, l);
                dense_forward(store + L->wt, store + L->b, a, L->n_in, L->n_out, z);
                activate(L->act, z, y, L->n_out);
                a = y;
            }
        team_sync(team);
        return;
    }
    for (l = 0; l < net->n_layers; l++) {
        const pn_layer *L = &net->layer[l];
        const size_t n_out = L->n_out;
        double *z = block_z(net, blk, l), *y = block_out(net, blk, l);
        pn_epilogue ep;
        ep.kind = PN_EP_ACTIVATE;
        ep.act = L->act;
        ep.bias = store + L->b;
        ep.y = y;
        ep.zs = ep.ys = NULL;
        ep.ldy = n_out;
        gemm(team, nb, n_out, L->n_in, a, lda, 1, store + L->wt, n_out, z, n_out, NULL, 1,
             blk + net->block_pack, wpack != NULL ? wpack + at : NULL, &ep);
        at += layer_pack_len(L); /* gemm returned after a team_sync: y is whole */
        a = y;
        lda = n_out;
    }
}

/* Every layer's WT packed whole at wpack, one after another (net->wpack_len
 * doubles), for block_forward; it returns after a team_sync. */
PN_INLINE void pack_weights(const pn_team *team, const pn_net *net, const double *store,
                            double *wpack)
{
    size_t l;
    for (l = 0; l < net->n_layers; l++) {
        const pn_layer *L = &net->layer[l];
        pack_whole(team, L->n_out, L->n_in, store + L->wt, L->n_out, wpack);
        wpack += layer_pack_len(L);
    }
    team_sync(team);
}

/* pn_predict: blocks of rows of x into y (wpack: see block_forward). */
typedef struct {
    const pn_net *net;
    const double *x;
    double *y, *blk, *wpack;
    size_t n_rows;
} pn_predict_job;

PN_INLINE void predict_job_body(pn_gemm gemm, pn_predict_job *job, const pn_team *team)
{
    const pn_net *net = job->net;
    const double *store = area_c(net, net->store);
    const size_t n_in = net->layer[0].n_in, n_out = last_layer(net)->n_out;
    const double *out = block_out(net, job->blk, net->n_layers - 1);
    size_t r0, r, lo, hi;
    if (job->wpack != NULL) pack_weights(team, net, store, job->wpack);
    for (r0 = 0; r0 < job->n_rows; r0 += net->block_rows) {
        const size_t nb = job->n_rows - r0 < net->block_rows ? job->n_rows - r0 : net->block_rows;
        block_forward(gemm, team, net, store, job->x + r0 * n_in, n_in, nb, job->blk, job->wpack);
        share(team, nb, &lo, &hi);
        for (r = lo; r < hi; r++)
            memcpy(job->y + (r0 + r) * n_out, out + r * n_out, n_out * sizeof(double));
        team_sync(team);
    }
}

/* pn_loss and pn_loss_weighted (w not NULL): the sums over rows, in order. */
typedef struct {
    const pn_net *net;
    const double *x, *t, *w;
    double *blk, *wpack;
    size_t n_rows;
    double total, wsum;
} pn_loss_job;

PN_INLINE void loss_job_body(pn_gemm gemm, pn_loss_job *job, const pn_team *team)
{
    const pn_net *net = job->net;
    const pn_layer *last = last_layer(net);
    const double *store = area_c(net, net->store);
    const size_t n_in = net->layer[0].n_in, n_out = last->n_out, R = net->block_rows;
    const double *out = block_out(net, job->blk, net->n_layers - 1);
    const double *z = block_z(net, job->blk, net->n_layers - 1);
    double *losses = job->blk + R * (n_in + n_out + 1);
    double total = 0.0, wsum = 0.0;
    size_t r0, r, lo, hi;
    if (job->wpack != NULL) pack_weights(team, net, store, job->wpack);
    for (r0 = 0; r0 < job->n_rows; r0 += R) {
        const size_t nb = job->n_rows - r0 < R ? job->n_rows - r0 : R;
        block_forward(gemm, team, net, store, job->x + r0 * n_in, n_in, nb, job->blk, job->wpack);
        share(team, nb, &lo, &hi);
        for (r = lo; r < hi; r++)
            losses[r] = sample_loss(net->loss, job->t + (r0 + r) * n_out, out + r * n_out,
                                    z + r * n_out, n_out);
        team_sync(team);
        if (team->id == 0) {
            for (r = 0; r < nb; r++) {
                if (job->w == NULL) {
                    total += losses[r];
                } else if (job->w[r0 + r] != 0.0) {
                    total += job->w[r0 + r] * losses[r];
                    wsum += job->w[r0 + r];
                }
            }
        }
        team_sync(team);
    }
    if (team->id == 0) {
        job->total = total;
        job->wsum = wsum;
    }
}

/* ---- mini-batches and optimizers (twins of _py_backend._step) ------------------------ */

/* Step n parameters p[k] from gradient sums gs[k] over nb samples, with
 * their optimizer state m[k] (momentum, Adam) and v[k] (Adam); wd: weight
 * decay.  One loop per optimizer, contiguous, so that the compiler runs
 * independent parameters side by side (sqrt and division included: both are
 * correctly rounded, in vectors as alone).  `divide` and `decay` are
 * constants where step_params calls it, so each case is a loop of its own:
 * the gradient is the sum / nb (PN_DIVIDE), or the sum times 1 / nb when nb
 * is a power of two (PN_SCALE: 1 / nb is then exact, and x * 2^-k and
 * x / 2^k are the one rounding of the same number, for every double), or
 * the sum itself when nb == 1.0 (x / 1.0 is x); without `decay`, wd is 0.0.
 *
 * With `outer` (PN_OUTER, PN_OUTER_WEIGHTED), there are no stored sums: the
 * parameters are a row of one sample's outer product (row i of WT, with a =
 * the row's input a[i], or the biases, with a = 1.0), and each sum is made
 * on the spot as one_row_backward makes it, 0.0 + a * d[k] (weighted:
 * 0.0 + s * (a * d[k])), so the per-sample step need not store and read
 * back the sums.  With `fwd`, the next sample's pre-activation sums get each
 * updated weight times its input an: z[k] += p[k] * an, in the order of i
 * as dense_forward adds them (dense_update_forward). */
#define PN_KEEP 0
#define PN_SCALE 1
#define PN_DIVIDE 2
#define PN_GRADIENT(divide, sum, nb, inv) \
    ((divide) == PN_DIVIDE ? (sum) / (nb) : (divide) == PN_SCALE ? (sum) * (inv) : (sum))
#define PN_SUMS 0
#define PN_OUTER 1
#define PN_OUTER_WEIGHTED 2
#define PN_SUM(outer, gs, k, a, d, s) \
    ((outer) == PN_SUMS ? (gs)[k] : (outer) == PN_OUTER ? 0.0 + (a) * (d)[k] : 0.0 + (s) * ((a) * (d)[k]))
PN_INLINE void step_loop(const pn_optimizer *opt, double *PN_RESTRICT p,
                         const double *PN_RESTRICT gs, double *PN_RESTRICT m,
                         double *PN_RESTRICT v, size_t n, double lr, double nb, double wd,
                         double adam_step, double bc2, const int divide, const int decay,
                         const int outer, double a, const double *PN_RESTRICT d, double s,
                         const int fwd, double an, double *PN_RESTRICT z)
{
    const double inv = 1.0 / nb;
    size_t k;
    if (opt->kind == PN_OPT_ADAM) {
        const double b1 = opt->beta1, b2 = opt->beta2, c1 = 1.0 - b1, c2 = 1.0 - b2;
        const double eps = opt->epsilon;
        /* Once beta2 ** steps is below 2^-54, 1.0 - it is 1.0 and so is bc2
         * (after some 37,400 steps at beta2 = 0.999): sqrt(vk) / 1.0 is
         * sqrt(vk) for every double, so the loop skips one of its three
         * correctly rounded operations (the divider is the loop's bound). */
#define PN_ADAM_LOOP(den)                                                                  \
    for (k = 0; k < n; k++) {                                                              \
        double g = PN_GRADIENT(divide, PN_SUM(outer, gs, k, a, d, s), nb, inv), mk, vk;   \
        if (decay) g = g + wd * p[k];                                                      \
        mk = b1 * m[k] + c1 * g;                                                           \
        vk = b2 * v[k] + c2 * (g * g);                                                     \
        m[k] = mk;                                                                         \
        v[k] = vk;                                                                         \
        p[k] = p[k] - adam_step * (mk / ((den) + eps));                                    \
        if (fwd) z[k] += p[k] * an;                                                        \
    }
        if (bc2 == 1.0)
            PN_ADAM_LOOP(sqrt(vk))
        else
            PN_ADAM_LOOP(sqrt(vk) / bc2)
#undef PN_ADAM_LOOP
    } else if (opt->kind == PN_OPT_MOMENTUM) {
        const double mu = opt->momentum;
        const int nesterov = opt->nesterov;
        for (k = 0; k < n; k++) {
            double g = PN_GRADIENT(divide, PN_SUM(outer, gs, k, a, d, s), nb, inv), b;
            if (decay) g = g + wd * p[k];
            b = mu * m[k] + g;
            m[k] = b;
            p[k] = p[k] - lr * (nesterov ? g + mu * b : b);
            if (fwd) z[k] += p[k] * an;
        }
    } else {
        for (k = 0; k < n; k++) {
            double g = PN_GRADIENT(divide, PN_SUM(outer, gs, k, a, d, s), nb, inv);
            if (decay) g = g + wd * p[k];
            p[k] = p[k] - lr * g;
            if (fwd) z[k] += p[k] * an;
        }
    }
}

/* step_loop with the gradient's division chosen from nb (each case its own
 * loop); the rest of the arguments as step_loop's. */
#define PN_STEP_CASE(divide, decay)                                                         \
    step_loop(opt, p, gs, m, v, n, lr, nb, wd, adam_step, bc2, divide, decay, outer, a, d, s, \
              fwd, an, z)
PN_INLINE void step_params(const pn_optimizer *opt, double *PN_RESTRICT p,
                           const double *PN_RESTRICT gs, double *PN_RESTRICT m,
                           double *PN_RESTRICT v, size_t n, double lr, double nb, double wd,
                           double adam_step, double bc2, const int outer, double a,
                           const double *PN_RESTRICT d, double s, const int fwd, double an,
                           double *PN_RESTRICT z)
{
    int e;
    /* nb > 0 (a count, or a sum of weights > 0): a power of two when its
     * mantissa is 1/2, and then 1 / nb is exact unless it would underflow */
    const int two = frexp(nb, &e) == 0.5 && e > -1021 && e < 1022;
    const int divide = nb == 1.0 ? PN_KEEP : two ? PN_SCALE : PN_DIVIDE;
    if (divide == PN_KEEP) {
        if (wd != 0.0)
            PN_STEP_CASE(PN_KEEP, 1);
        else
            PN_STEP_CASE(PN_KEEP, 0);
    } else if (divide == PN_SCALE) {
        if (wd != 0.0)
            PN_STEP_CASE(PN_SCALE, 1);
        else
            PN_STEP_CASE(PN_SCALE, 0);
    } else if (wd != 0.0) {
        PN_STEP_CASE(PN_DIVIDE, 1);
    } else {
        PN_STEP_CASE(PN_DIVIDE, 0);
    }
}
#undef PN_STEP_CASE

/* Rows [i0, i1) of a layer's WT (n_in x n_out) into the columns of its
 * mirror W (n_out x n_in), 8 rows at a time: their lines stay in cache
 * across j. */
PN_INLINE void mirror_rows(const double *PN_RESTRICT wt, double *PN_RESTRICT mirror, size_t n_in,
                           size_t n_out, size_t i0, size_t i1)
{
    size_t ib, i, j;
    for (ib = i0; ib < i1; ib += 8) {
        const size_t ie = i1 - ib < 8 ? i1 : ib + 8;
        for (j = 0; j < n_out; j++)
            for (i = ib; i < ie; i++) mirror[j * n_in + i] = wt[i * n_out + j];
    }
}

/* Member team->id's share of one optimizer step of every parameter, from the
 * gradient sums in gsum over nb samples.  The sums and the optimizer state
 * are in the core's layout (plainnet.h: per layer, the weights i-major, as
 * WT, then the biases), so a step is one contiguous loop over WT, the sums
 * and the state; layers >= 1 then copy their new weights to the mirror. */
PN_INLINE void step_share(const pn_team *team, pn_net *net, const pn_optimizer *opt, double lr,
                          double nb, double *buf, double adam_step, double bc2)
{
    double *store = area(net, net->store);
    const double *gsum = area_c(net, net->gsum);
    const size_t n = net->n_params;
    double *m = opt->kind == PN_OPT_SGD ? NULL : buf, *v = opt->kind == PN_OPT_ADAM ? buf + n : NULL;
    size_t l, at = 0, i0, i1, j0, j1;
    for (l = 0; l < net->n_layers; l++) {
        const pn_layer *L = &net->layer[l];
        const size_t n_in = L->n_in, n_out = L->n_out;
        double *wt = store + L->wt, *b = store + L->b;
        /* rows i of WT (and columns of the mirror) in groups of 8: no cache
         * line of the mirror is written by two members */
        share(team, (n_in + 7) / 8, &i0, &i1);
        i0 *= 8;
        i1 = i1 * 8 < n_in ? i1 * 8 : n_in;
        if (i1 > i0) {
            const size_t k = i0 * n_out, len = (i1 - i0) * n_out;
            step_params(opt, wt + k, gsum + at + k, m != NULL ? m + at + k : NULL,
                        v != NULL ? v + at + k : NULL, len, lr, nb, opt->weight_decay, adam_step,
                        bc2, PN_SUMS, 0.0, NULL, 0.0, 0, 0.0, NULL);
            if (l > 0) mirror_rows(wt, store + L->w, n_in, n_out, i0, i1);
        }
        at += n_in * n_out;
        share(team, n_out, &j0, &j1);
        if (j1 > j0)
            step_params(opt, b + j0, gsum + at + j0, m != NULL ? m + at + j0 : NULL,
                        v != NULL ? v + at + j0 : NULL, j1 - j0, lr, nb, 0.0, adam_step, bc2,
                        PN_SUMS, 0.0, NULL, 0.0, 0, 0.0, NULL);
        at += n_out;
    }
}

/* batch_job_body's backward step of one layer for a block of one row (a,
 * the inputs of the layer, and d, its deltas): what gemm and the bias loop
 * compute for nb == 1, in the same order, as contiguous loops and the
 * per-sample kernel.  The gradient sums (i-major, as WT): wg[i][j] gets
 * 0.0 + a[i] * d[j] when fresh (gemm's fresh sums start from 0.0, which
 * turns -0.0 into 0.0), else wg[i][j] + a[i] * d[j]; with sample weights
 * (weighted), the term is s * (a[i] * d[j]) as in kernel_4x8.  The biases'
 * sums likewise (0.0, then + d[j], or + s * d[j]).  Then, for a layer with
 * one below it (below not NULL), g = d W from the mirror w (backward_block:
 * each g[i] the sum over j in order of W[j][i] * d[j] from 0.0, as gemm
 * adds them), times f' of the layer below (zb, a).  Members share the
 * rows i of the sums in groups of 8 (no cache line of them written by two
 * members), the biases and the columns of g in groups of 16; the caller
 * waits for the team after this. */
PN_INLINE void one_row_backward(const pn_team *team, const pn_layer *L, const pn_layer *below,
                                double *w, const double *PN_RESTRICT a,
                                const double *PN_RESTRICT d, double s, int weighted, int fresh,
                                double *PN_RESTRICT wg, double *PN_RESTRICT bg,
                                double *PN_RESTRICT g, const double *zb)
{
    const size_t ni = L->n_in, no = L->n_out;
    size_t i, j, i0, i1, j0, j1;
    share(team, (ni + 7) / 8, &i0, &i1);
    i0 *= 8;
    i1 = i1 * 8 < ni ? i1 * 8 : ni;
    for (i = i0; i < i1; i++) {
        const double ai = a[i];
        double *PN_RESTRICT row = wg + i * no;
        if (weighted) {
            if (fresh)
                for (j = 0; j < no; j++) row[j] = 0.0 + s * (ai * d[j]);
            else
                for (j = 0; j < no; j++) row[j] = row[j] + s * (ai * d[j]);
        } else {
            if (fresh)
                for (j = 0; j < no; j++) row[j] = 0.0 + ai * d[j];
            else
                for (j = 0; j < no; j++) row[j] = row[j] + ai * d[j];
        }
    }
    share(team, no, &j0, &j1);
    if (fresh)
        for (j = j0; j < j1; j++) bg[j] = 0.0;
    if (weighted)
        for (j = j0; j < j1; j++) bg[j] = bg[j] + s * d[j];
    else
        for (j = j0; j < j1; j++) bg[j] = bg[j] + d[j];
    if (below != NULL) {
        share(team, (ni + 15) / 16, &i0, &i1);
        i0 *= 16;
        i1 = i1 * 16 < ni ? i1 * 16 : ni;
        for (i = i0; i + 16 <= i1; i += 16) backward_block(w, d, NULL, NULL, ni, no, i, g, 16, 0);
        for (; i + 8 <= i1; i += 8) backward_block(w, d, NULL, NULL, ni, no, i, g, 8, 0);
        for (; i + 4 <= i1; i += 4) backward_block(w, d, NULL, NULL, ni, no, i, g, 4, 0);
        for (; i < i1; i++) backward_block(w, d, NULL, NULL, ni, no, i, g, 1, 0);
        if (i1 > i0) times_derivative(below->act, g + i0, zb + i0, a + i0, g + i0, i1 - i0);
    }
    team_sync(team);
}

/* pn_epoch_batches and pn_epoch_batches_weighted (w not NULL). */
typedef struct {
    pn_net *net;
    const double *x, *t, *w;
    const size_t *order;
    size_t first, count, batch_size;
    double lr;
    const pn_optimizer *opt;
    double *buffers, *adam_state;
    double total;
} pn_batch_job;

PN_INLINE void batch_job_body(pn_gemm gemm, pn_batch_job *job, const pn_team *team)
{
    pn_net *net = job->net;
    const pn_layer *last = last_layer(net);
    const pn_optimizer *opt = job->opt;
    const double *store = area_c(net, net->store);
    double *mirror = area(net, net->store); /* only read: backward_block's W */
    double *gsum = area(net, net->gsum), *blk = area(net, net->block);
    const size_t R = net->block_rows, n_in = net->layer[0].n_in, n_out = last->n_out;
    const size_t L_last = net->n_layers - 1, end = job->first + job->count;
    double *xb = blk, *tb = xb + R * n_in, *sb = tb + R * n_out, *losses = sb + R;
    double *dbuf = blk + net->block_d, *gbuf = dbuf + R * net->max_width;
    const double *w = job->w;
    double total = job->total;
    /* Adam's beta1 ** steps and beta2 ** steps: each member's own copy, so
     * that member 0 writes adam_state back only once, at the end */
    double b1t = job->adam_state[0], b2t = job->adam_state[1];
    int stepped = 0;
    size_t rows[PN_BLOCK_ROWS];
    size_t start, p, nb, r, lo, hi, l, j, j0, j1, at;

    for (start = job->first; start < end; start += job->batch_size) {
        const size_t stop = end - start > job->batch_size ? start + job->batch_size : end;
        double wsum = 0.0; /* every member sums the same weights in the same order */
        int fresh = 1;
        p = start;
        while (p < stop) {
            double *d = dbuf, *g = gbuf, *tmp;
            /* the block: the batch's next rows (of weight > 0) */
            for (nb = 0; p < stop && nb < R; p++) {
                const size_t row = job->order != NULL ? job->order[p] : p;
                if (w != NULL && w[row] == 0.0) continue; /* as if the row were absent */
                rows[nb++] = row;
                if (w != NULL) wsum += w[row];
            }
            if (nb == 0) break;
            share(team, nb, &lo, &hi);
            for (r = lo; r < hi; r++) {
                memcpy(xb + r * n_in, job->x + rows[r] * n_in, n_in * sizeof(double));
                memcpy(tb + r * n_out, job->t + rows[r] * n_out, n_out * sizeof(double));
                sb[r] = w != NULL ? w[rows[r]] : 1.0;
            }
            team_sync(team);
            block_forward(gemm, team, net, store, xb, n_in, nb, blk, NULL);
            {
                const double *y = block_out(net, blk, L_last), *z = block_z(net, blk, L_last);
                for (r = lo; r < hi; r++) {
                    losses[r] = sample_loss(net->loss, tb + r * n_out, y + r * n_out,
                                            z + r * n_out, n_out);
                    output_delta(net->loss, last->act, tb + r * n_out, y + r * n_out,
                                 z + r * n_out, d + r * n_out, n_out);
                }
            }
            team_sync(team);
            if (team->id == 0)
                for (r = 0; r < nb; r++) total += w != NULL ? sb[r] * losses[r] : losses[r];
            /* backward: per layer, the gradient sums over the block's rows
             * (dW = D^T A, in row order, onto the sums of earlier blocks),
             * then the deltas of the layer below (G = D W, times f') */
            at = net->n_params;
            for (l = net->n_layers; l-- > 0;) {
                const pn_layer *L = &net->layer[l];
                const size_t ni = L->n_in, no = L->n_out;
                const double *a = l == 0 ? xb : block_out(net, blk, l - 1);
                double *wg, *bg;
                at -= ni * no + no;
                wg = gsum + at;
                bg = wg + ni * no;
                if (nb == 1) { /* one row: per-sample kernels, no packing (the same bits) */
                    one_row_backward(team, L, l > 0 ? &net->layer[l - 1] : NULL,
                                     l > 0 ? mirror + L->w : NULL, a, d, w != NULL ? sb[0] : 1.0, w != NULL,
                                     fresh, wg, bg, g, block_z(net, blk, l > 0 ? l - 1 : 0));
                    if (l > 0) {
                        tmp = d;
                        d = g;
                        g = tmp;
                    }
                    continue;
                }
                /* the biases' sums first: the product then ends with the
                 * team's wait, which they need too */
                share(team, no, &j0, &j1);
                if (fresh)
                    for (j = j0; j < j1; j++) bg[j] = 0.0;
                for (r = 0; r < nb; r++) {
                    const double *dr = d + r * no;
                    if (w != NULL) {
                        const double sr = sb[r];
                        for (j = j0; j < j1; j++) bg[j] = bg[j] + sr * dr[j];
                    } else {
                        for (j = j0; j < j1; j++) bg[j] = bg[j] + dr[j];
                    }
                }
                /* dWT[i][j]: the core's layout of the sums (see step_share);
                 * it returns after a team_sync */
                gemm(team, ni, no, nb, a, 1, ni, d, no, wg, no, w != NULL ? sb : NULL, fresh,
                     blk + net->block_pack, NULL, NULL);
                if (l > 0) {
                    pn_epilogue ep;
                    ep.kind = PN_EP_DERIVATIVE;
                    ep.act = net->layer[l - 1].act;
                    ep.bias = NULL;
                    ep.y = NULL;
                    ep.zs = block_z(net, blk, l - 1);
                    ep.ys = a;
                    ep.ldy = ni;
                    gemm(team, nb, ni, no, d, no, 1, store + L->w, ni, g, ni, NULL, 1,
                         blk + net->block_pack, NULL, &ep); /* returns after a team_sync */
                    tmp = d;
                    d = g;
                    g = tmp;
                }
            }
            /* the last layer's backward step returned after a team_sync:
             * the block's area can be reused and the sums read */
            fresh = 0;
        }
        if (w != NULL && wsum == 0.0) continue; /* a batch of weight 0 makes no step */
        {
            const double nbatch = w != NULL ? wsum : (double)(stop - start);
            double adam_step = 0.0, bc2 = 0.0;
            if (opt->kind == PN_OPT_ADAM) {
                b1t = b1t * opt->beta1;
                b2t = b2t * opt->beta2;
                adam_step = job->lr / (1.0 - b1t);
                bc2 = sqrt(1.0 - b2t);
            }
            /* No wait after the step: the next batch's rows are gathered
             * into the block (which the step does not touch), and the team
             * waits there before anything reads the parameters. */
            step_share(team, net, opt, job->lr, nbatch, job->buffers, adam_step, bc2);
            stepped = 1;
        }
    }
    if (team->id == 0) {
        job->total = total;
        if (stepped && opt->kind == PN_OPT_ADAM) {
            /* after a wait that every member's read of adam_state preceded */
            job->adam_state[0] = b1t;
            job->adam_state[1] = b2t;
        }
    }
}

/* One sample's optimizer step of a layer (its weights WT, i-major as the
 * state in m and v, then its biases), from the layer's inputs a and deltas
 * d: the step that step_share makes from the sums that one_row_backward
 * stores for a block of one row, with each sum made where its step uses it
 * (step_loop's `outer`).  Unweighted rows are batches of one (nb = 1.0, so
 * no division: the loops are specialised for that); a weighted row is a
 * batch of weight sr.  With an (the next sample's inputs), the next
 * sample's pre-activation sums of this layer go to z (step_loop's `fwd`,
 * then + the new bias). */
PN_INLINE void row_step_weights(const pn_optimizer *opt, double *PN_RESTRICT wt,
                                double *PN_RESTRICT m, double *PN_RESTRICT v,
                                const double *PN_RESTRICT a, const double *PN_RESTRICT d,
                                size_t ni, size_t no, double lr, double adam_step, double bc2,
                                const double *PN_RESTRICT an, double *PN_RESTRICT z,
                                const int decay, const int fwd)
{
    size_t i;
    for (i = 0; i < ni; i++)
        step_loop(opt, wt + i * no, NULL, m != NULL ? m + i * no : NULL,
                  v != NULL ? v + i * no : NULL, no, lr, 1.0, opt->weight_decay, adam_step, bc2,
                  PN_KEEP, decay, PN_OUTER, a[i], d, 1.0, fwd, fwd ? an[i] : 0.0, z);
}

PN_INLINE void row_step(const pn_optimizer *opt, double *PN_RESTRICT wt, double *PN_RESTRICT b,
                        double *PN_RESTRICT m, double *PN_RESTRICT v,
                        const double *PN_RESTRICT a, const double *PN_RESTRICT d, size_t ni,
                        size_t no, double lr, const double *sr, double adam_step, double bc2,
                        const double *PN_RESTRICT an, double *PN_RESTRICT z)
{
    const size_t nw = ni * no;
    double *mb = m != NULL ? m + nw : NULL, *vb = v != NULL ? v + nw : NULL;
    size_t i, j;
    if (an != NULL)
        for (j = 0; j < no; j++) z[j] = 0.0;
    if (sr != NULL) { /* weighted: nb = *sr */
        for (i = 0; i < ni; i++)
            step_params(opt, wt + i * no, NULL, m != NULL ? m + i * no : NULL,
                        v != NULL ? v + i * no : NULL, no, lr, *sr, opt->weight_decay,
                        adam_step, bc2, PN_OUTER_WEIGHTED, a[i], d, *sr, an != NULL,
                        an != NULL ? an[i] : 0.0, z);
        step_params(opt, b, NULL, mb, vb, no, lr, *sr, 0.0, adam_step, bc2, PN_OUTER_WEIGHTED,
                    1.0, d, *sr, 0, 0.0, NULL);
    } else {
        const int decay = opt->weight_decay != 0.0;
        if (an != NULL) {
            if (decay)
                row_step_weights(opt, wt, m, v, a, d, ni, no, lr, adam_step, bc2, an, z, 1, 1);
            else
                row_step_weights(opt, wt, m, v, a, d, ni, no, lr, adam_step, bc2, an, z, 0, 1);
        } else if (decay) {
            row_step_weights(opt, wt, m, v, a, d, ni, no, lr, adam_step, bc2, NULL, NULL, 1, 0);
        } else {
            row_step_weights(opt, wt, m, v, a, d, ni, no, lr, adam_step, bc2, NULL, NULL, 0, 0);
        }
        /* 1.0 * d[j] is d[j]: the sum 0.0 + d[j] of one_row_backward */
        step_loop(opt, b, NULL, mb, vb, no, lr, 1.0, 0.0, adam_step, bc2, PN_KEEP, 0, PN_OUTER,
                  1.0, d, 1.0, 0, 0.0, NULL);
    }
    if (an != NULL)
        for (j = 0; j < no; j++) z[j] = z[j] + b[j];
}

/* The inputs of the row at the first position q > p (q < end) whose weight
 * is > 0 (every row's, without weights), and q into *next_p; NULL and end
 * if there is none. */
PN_INLINE const double *next_row(const double *x, size_t n_in, const double *w,
                                 const size_t *order, size_t p, size_t end, size_t *next_p)
{
    size_t q;
    for (q = p + 1; q < end; q++) {
        const size_t rq = order != NULL ? order[q] : q;
        if (w == NULL || w[rq] != 0.0) break;
    }
    *next_p = q;
    return q < end ? x + (order != NULL ? order[q] : q) * n_in : NULL;
}

/* pn_epoch_batches with batch_size 1, on one thread: each row (of weight > 0)
 * a batch of its own, with the operations of batch_job_body for a block of
 * one row (block_forward, one_row_backward, step_share) in their order, but
 * fused as per-sample SGD fuses them: each layer's step makes its sums on
 * the spot (row_step) after the deltas of the layer below were sent down
 * through its weights as they were, and the first layer's step runs the
 * next row forward.  The last row of a call steps alone, so no state
 * crosses calls.  Adam's beta powers advance once per row, as per batch;
 * total gets each row's loss (times its weight). */
PN_INLINE void opt_rows_body(pn_net *net, const double *x, const double *t, const double *w,
                             const size_t *order, size_t first, size_t count, double lr,
                             const pn_optimizer *opt, double *buffers, double *adam_state,
                             double *total_io)
{
    double *store = area(net, net->store), *scratch = area(net, net->work);
    const pn_layer *last = last_layer(net);
    const size_t n_in = net->layer[0].n_in, n_out = last->n_out, n = net->n_params;
    const size_t end = first + count;
    double *m = opt->kind == PN_OPT_SGD ? NULL : buffers;
    double *v = opt->kind == PN_OPT_ADAM ? buffers + n : NULL;
    double b1t = adam_state[0], b2t = adam_state[1], total = *total_io;
    int ready = 0, stepped = 0;
    size_t p = first, q, l;
    while (p < end && w != NULL && w[order != NULL ? order[p] : p] == 0.0) p++;
    for (; p < end; p = q) {
        const size_t r = order != NULL ? order[p] : p;
        const double *xr = x + r * n_in, *tr = t + r * n_out, *next, *y;
        double *d = scratch + net->dbuf, *g = scratch + net->gbuf, *tmp;
        double adam_step = 0.0, bc2 = 0.0, loss;
        size_t at = n;
        next = next_row(x, n_in, w, order, p, end, &q);
        y = forward_layers(net, store, xr, scratch, ready);
        loss = sample_loss(net->loss, tr, y, scratch + last->z, n_out);
        output_delta(net->loss, last->act, tr, y, scratch + last->z, d, n_out);
        total += w != NULL ? w[r] * loss : loss;
        if (opt->kind == PN_OPT_ADAM) {
            b1t = b1t * opt->beta1;
            b2t = b2t * opt->beta2;
            adam_step = lr / (1.0 - b1t);
            bc2 = sqrt(1.0 - b2t);
        }
        for (l = net->n_layers; l-- > 0;) {
            const pn_layer *L = &net->layer[l];
            const size_t ni = L->n_in, no = L->n_out;
            const double *a = l == 0 ? xr : scratch + net->layer[l - 1].out;
            double *wt = store + L->wt;
            at -= ni * no + no;
            if (l > 0) { /* the deltas below, through the weights before the step */
                dense_backward(store + L->w, d, NULL, NULL, ni, no, g, 0);
                times_derivative(net->layer[l - 1].act, g, scratch + net->layer[l - 1].z, a, g,
                                 ni);
            }
            row_step(opt, wt, store + L->b, m != NULL ? m + at : NULL, v != NULL ? v + at : NULL,
                     a, d, ni, no, lr, w != NULL ? &w[r] : NULL, adam_step, bc2,
                     l == 0 ? next : NULL, scratch + L->z);
            if (l > 0) { /* the mirror, as step_share copies it */
                mirror_rows(wt, store + L->w, ni, no, 0, ni);
                tmp = d;
                d = g;
                g = tmp;
            }
        }
        stepped = 1;
        ready = next != NULL;
    }
    *total_io = total;
    if (stepped && opt->kind == PN_OPT_ADAM) {
        adam_state[0] = b1t;
        adam_state[1] = b2t;
    }
}

/* ---- the loops over rows (PN_DISPATCH: one AVX2 and one baseline copy) --------------- */

PN_INLINE void predict_rows_body(const pn_net *net, const double *x, size_t n_rows, double *y,
                                   double *scratch)
{
    const double *store = area_c(net, net->store);
    const size_t n_in = net->layer[0].n_in, n_out = last_layer(net)->n_out;
    size_t r;
    for (r = 0; r < n_rows; r++) {
        const double *out = forward_sample(net, store, x + r * n_in, scratch);
        memcpy(y + r * n_out, out, n_out * sizeof(double));
    }
}

PN_INLINE double loss_rows_body(const pn_net *net, const double *x, const double *t,
                                  size_t n_rows, double *scratch)
{
    const double *store = area_c(net, net->store);
    const pn_layer *last = last_layer(net);
    const size_t n_in = net->layer[0].n_in, n_out = last->n_out;
    double total = 0.0;
    size_t r;
    for (r = 0; r < n_rows; r++) {
        const double *out = forward_sample(net, store, x + r * n_in, scratch);
        total += sample_loss(net->loss, t + r * n_out, out, scratch + last->z, n_out);
    }
    return total / (double)n_rows;
}

/* SGD over positions [first, first + count) of the epoch: rows order[p], or
 * p.  With sample weights w (pn_epoch_rows_weighted; NULL for none), only
 * the rows of weight > 0, each the unweighted step, w * loss added to
 * total.  Each first-layer update also runs the next row through that
 * layer (dense_update_forward). */
PN_INLINE double train_rows_body(pn_net *net, const double *x, const double *t, const double *w,
                                 const size_t *order, size_t first, size_t count, double lr,
                                 double total)
{
    double *store = area(net, net->store), *scratch = area(net, net->work);
    const size_t n_in = net->layer[0].n_in, n_out = last_layer(net)->n_out;
    const size_t end = first + count;
    size_t p = first, q;
    int ready = 0;
    if (net->narrow && w == NULL)
        return train_rows_narrow(net, x, t, order, first, count, lr, total);
    while (p < end && w != NULL && w[order != NULL ? order[p] : p] == 0.0) p++;
    for (; p < end; p = q) {
        const size_t r = order != NULL ? order[p] : p;
        const double *next; /* NULL: the last sample of the call updates alone */
        double loss;
        next = next_row(x, n_in, w, order, p, end, &q);
        loss = sgd_step(net, store, x + r * n_in, t + r * n_out, lr, scratch, ready, next);
        total += w != NULL ? w[r] * loss : loss;
        ready = next != NULL;
    }
    return total;
}

/* Whole epochs of SGD from epoch `first`, each with its shuffle (rng not
 * NULL) and its loss into losses[e]; stops after the first epoch whose loss is
 * not finite.  Returns the number of epochs run. */
PN_INLINE size_t train_epochs_body(pn_net *net, const double *x, const double *t, size_t n_rows,
                                   size_t first, size_t epochs, const double *lrs, uint64_t *rng,
                                   size_t *order, double *losses)
{
    size_t e;
    for (e = first; e < first + epochs; e++) {
        double total;
        if (rng != NULL) shuffle(order, n_rows, rng);
        total = train_rows_body(net, x, t, NULL, rng != NULL ? order : NULL, 0, n_rows, lrs[e],
                                0.0);
        losses[e] = total / (double)n_rows;
        if (!isfinite(losses[e])) return e + 1 - first;
    }
    return epochs;
}

#define PN_ROW_LOOPS(suffix)                                                                  \
    static void predict_rows_##suffix(const pn_net *net, const double *x, size_t n_rows,      \
                                      double *y, double *scratch)                             \
    {                                                                                         \
        predict_rows_body(net, x, n_rows, y, scratch);                                        \
    }                                                                                         \
    static double loss_rows_##suffix(const pn_net *net, const double *x, const double *t,     \
                                     size_t n_rows, double *scratch)                          \
    {                                                                                         \
        return loss_rows_body(net, x, t, n_rows, scratch);                                    \
    }                                                                                         \
    static double train_rows_##suffix(pn_net *net, const double *x, const double *t,          \
                                      const double *w, const size_t *order, size_t first,     \
                                      size_t count, double lr, double total)                  \
    {                                                                                         \
        return train_rows_body(net, x, t, w, order, first, count, lr, total);                 \
    }                                                                                         \
    static void opt_rows_##suffix(pn_net *net, const double *x, const double *t,             \
                                  const double *w, const size_t *order, size_t first,         \
                                  size_t count, double lr, const pn_optimizer *opt,           \
                                  double *buffers, double *adam_state, double *total)         \
    {                                                                                         \
        opt_rows_body(net, x, t, w, order, first, count, lr, opt, buffers, adam_state, total); \
    }                                                                                         \
    static void gemm_##suffix(const pn_team *team, size_t M, size_t N, size_t K,             \
                              const double *a, size_t rsa, size_t csa, const double *b,       \
                              size_t ldb, double *c, size_t ldc, const double *s, int first,  \
                              double *pack, const double *bpre, const pn_epilogue *ep)        \
    {                                                                                         \
        gemm_body(team, M, N, K, a, rsa, csa, b, ldb, c, ldc, s, first, pack, bpre, ep);      \
    }                                                                                         \
    static void predict_job_##suffix(void *job, const pn_team *team)                          \
    {                                                                                         \
        predict_job_body(gemm_##suffix, (pn_predict_job *)job, team);                         \
    }                                                                                         \
    static void loss_job_##suffix(void *job, const pn_team *team)                             \
    {                                                                                         \
        loss_job_body(gemm_##suffix, (pn_loss_job *)job, team);                               \
    }                                                                                         \
    static void batch_job_##suffix(void *job, const pn_team *team)                            \
    {                                                                                         \
        batch_job_body(gemm_##suffix, (pn_batch_job *)job, team);                             \
    }                                                                                         \
    static size_t train_epochs_##suffix(pn_net *net, const double *x, const double *t,       \
                                        size_t n_rows, size_t first, size_t epochs,           \
                                        const double *lrs, uint64_t *rng, size_t *order,      \
                                        double *losses)                                       \
    {                                                                                         \
        return train_epochs_body(net, x, t, n_rows, first, epochs, lrs, rng, order, losses);  \
    }

PN_ROW_LOOPS(base)
#ifdef PN_DISPATCH
PN_AVX2_BEGIN
PN_ROW_LOOPS(avx2)
PN_AVX2_END
#define PN_PICK(f, args) (__builtin_cpu_supports("avx2") ? f##_avx2 args : f##_base args)
#define PN_PICK_FN(f) (__builtin_cpu_supports("avx2") ? f##_avx2 : f##_base)
#else
#define PN_PICK(f, args) (f##_base args)
#define PN_PICK_FN(f) (f##_base)
#endif

static void predict_rows(const pn_net *net, const double *x, size_t n_rows, double *y,
                         double *scratch)
{
    PN_PICK(predict_rows, (net, x, n_rows, y, scratch));
}

static double loss_rows(const pn_net *net, const double *x, const double *t, size_t n_rows,
                        double *scratch)
{
    return PN_PICK(loss_rows, (net, x, t, n_rows, scratch));
}

static double train_rows(pn_net *net, const double *x, const double *t, const double *w,
                         const size_t *order, size_t first, size_t count, double lr, double total)
{
    return PN_PICK(train_rows, (net, x, t, w, order, first, count, lr, total));
}

static void opt_rows(pn_net *net, const double *x, const double *t, const double *w,
                     const size_t *order, size_t first, size_t count, double lr,
                     const pn_optimizer *opt, double *buffers, double *adam_state, double *total)
{
    PN_PICK(opt_rows, (net, x, t, w, order, first, count, lr, opt, buffers, adam_state, total));
}

static size_t train_epochs(pn_net *net, const double *x, const double *t, size_t n_rows,
                           size_t first, size_t epochs, const double *lrs, uint64_t *rng,
                           size_t *order, double *losses)
{
    return PN_PICK(train_epochs, (net, x, t, n_rows, first, epochs, lrs, rng, order, losses));
}

/* ---- the API ------------------------------------------------------------------------ */

static int check_scratch(const pn_net *net, const double *scratch, size_t scratch_len)
{
    if (scratch == NULL) return PN_EINVAL;
    return scratch_len < net->scratch_len ? PN_ESIZE : PN_OK;
}

/* Check x (rows of inputs) and t (matching rows of n_t values); rows into *n_rows. */
static int check_data(const pn_net *net, const double *x, size_t x_len, const double *t,
                      size_t t_len, size_t n_t, size_t *n_rows)
{
    size_t need;
    if (x == NULL || t == NULL) return PN_EINVAL;
    *n_rows = rows_in(x_len, net->layer[0].n_in);
    if (*n_rows == 0) return PN_ESIZE;
    if (!mul_ok(*n_rows, n_t, &need) || t_len != need) return PN_ESIZE;
    return PN_OK;
}

int pn_forward(const pn_net *net, const double *x, size_t x_len, double *y, size_t y_len,
               double *scratch, size_t scratch_len)
{
    int rc;
    CHECK_NET(net);
    if (x == NULL || y == NULL) return PN_EINVAL;
    if ((rc = check_scratch(net, scratch, scratch_len)) != PN_OK) return rc;
    if (x_len != net->layer[0].n_in || y_len != last_layer(net)->n_out) return PN_ESIZE;
    predict_rows(net, x, 1, y, scratch);
    return PN_OK;
}

static size_t block_threads(const pn_net *net, size_t n_rows);

/* The block's area of pn_predict and pn_loss in their scratch (scratch_len
 * >= block_len), and in *wpack where they pack the weights whole, past the
 * area, or NULL: when the rows fill more than one block (else packing them
 * whole is no saving) and the scratch has room.  The area starts at the
 * first cache line of the scratch where what it needs still fits (the
 * PN_SLACK doubles of pn_block_scratch_len), else where the scratch does:
 * the kernels' loads of packed weights and sums that straddle two lines
 * made a 784-256-10 prediction about 8 % slower (the bits are the same). */
static double *block_area(const pn_net *net, size_t n_rows, double *scratch, size_t scratch_len,
                          double **wpack)
{
    const int whole = n_rows > net->block_rows && scratch_len - net->block_len >= net->wpack_len;
    const size_t need = net->block_len + (whole ? net->wpack_len : 0);
    const size_t shift = (PN_ALIGN - (size_t)((uintptr_t)scratch % PN_ALIGN)) % PN_ALIGN
                         / sizeof(double);
    double *blk = scratch_len - need >= shift ? scratch + shift : scratch;
    *wpack = whole ? blk + net->block_len : NULL;
    return blk;
}

int pn_predict(const pn_net *net, const double *x, size_t x_len, double *y, size_t y_len,
               double *scratch, size_t scratch_len)
{
    size_t n_rows;
    int rc;
    CHECK_NET(net);
    if ((rc = check_data(net, x, x_len, y, y_len, last_layer(net)->n_out, &n_rows)) != PN_OK)
        return rc;
    if ((rc = check_scratch(net, scratch, scratch_len)) != PN_OK) return rc;
    if (scratch_len >= net->block_len) {
        pn_predict_job job;
        job.net = net;
        job.x = x;
        job.y = y;
        job.blk = block_area(net, n_rows, scratch, scratch_len, &job.wpack);
        job.n_rows = n_rows;
        run_team(block_threads(net, n_rows), PN_PICK_FN(predict_job), &job);
    } else {
        predict_rows(net, x, n_rows, y, scratch);
    }
    return PN_OK;
}

/* Threads for a forward pass of n_rows in blocks (some 2 waits per layer and 1). */
static size_t block_threads(const pn_net *net, size_t n_rows)
{
    const double rows = (double)(n_rows < net->block_rows ? n_rows : net->block_rows);
    return threads_for(net, (double)n_rows * (double)net->n_params,
                       rows * (double)net->n_params, 2.0 * (double)net->n_layers + 1.0);
}

/* The loss sums of pn_loss (w NULL) and pn_loss_weighted over blocks of rows. */
static void block_losses(const pn_net *net, const double *x, const double *t, const double *w,
                         size_t n_rows, double *scratch, size_t scratch_len, double *total,
                         double *wsum)
{
    pn_loss_job job;
    job.net = net;
    job.x = x;
    job.t = t;
    job.w = w;
    job.blk = block_area(net, n_rows, scratch, scratch_len, &job.wpack);
    job.n_rows = n_rows;
    job.total = job.wsum = 0.0;
    run_team(block_threads(net, n_rows), PN_PICK_FN(loss_job), &job);
    *total = job.total;
    *wsum = job.wsum;
}

int pn_loss(const pn_net *net, const double *x, size_t x_len, const double *t, size_t t_len,
            double *loss, double *scratch, size_t scratch_len)
{
    size_t n_rows;
    int rc;
    CHECK_NET(net);
    if ((rc = check_data(net, x, x_len, t, t_len, last_layer(net)->n_out, &n_rows)) != PN_OK)
        return rc;
    if (loss == NULL) return PN_EINVAL;
    if ((rc = check_scratch(net, scratch, scratch_len)) != PN_OK) return rc;
    if (scratch_len >= net->block_len) {
        double total, wsum;
        block_losses(net, x, t, NULL, n_rows, scratch, scratch_len, &total, &wsum);
        *loss = total / (double)n_rows;
    } else {
        *loss = loss_rows(net, x, t, n_rows, scratch);
    }
    return PN_OK;
}

/* One sample's loss, and its gradients in the flat layout into grads
 * (pn_gradients; mini-batches sum theirs as matrix products, batch_job_body). */
PN_INLINE double sample_gradients(const pn_net *net, const double *store, const double *x,
                                  const double *t, double *scratch, double *grads)
{
    const pn_layer *last = last_layer(net);
    const double *y = forward_sample(net, store, x, scratch);
    const double loss = sample_loss(net->loss, t, y, scratch + last->z, last->n_out);
    double *d = scratch + net->dbuf, *g = scratch + net->gbuf;
    size_t l, i, j, at = net->n_params;

    output_delta(net->loss, last->act, t, y, scratch + last->z, d, last->n_out);
    for (l = net->n_layers; l-- > 0;) {
        const pn_layer *L = &net->layer[l];
        const double *a = l == 0 ? x : scratch + net->layer[l - 1].out;
        double *wg, *bg;
        at -= L->n_in * L->n_out + L->n_out;
        wg = grads + at;
        bg = wg + L->n_in * L->n_out;
        for (j = 0; j < L->n_out; j++) {
            double *row = wg + j * L->n_in;
            const double dj = d[j];
            for (i = 0; i < L->n_in; i++) row[i] = dj * a[i];
            bg[j] = dj;
        }
        if (l > 0) {
            double *tmp;
            /* the mirror is only read (update = 0) */
            dense_backward((double *)(uintptr_t)(store + L->w), d, NULL, NULL, L->n_in, L->n_out,
                           g, 0);
            times_derivative(net->layer[l - 1].act, g, scratch + net->layer[l - 1].z, a, g,
                             L->n_in);
            tmp = d;
            d = g;
            g = tmp;
        }
    }
    return loss;
}

int pn_gradients(const pn_net *net, const double *x, size_t x_len, const double *t, size_t t_len,
                 double *grads, size_t grads_len, double *loss,
                 double *scratch, size_t scratch_len)
{
    int rc;
    CHECK_NET(net);
    if (x == NULL || t == NULL || grads == NULL || loss == NULL) return PN_EINVAL;
    if ((rc = check_scratch(net, scratch, scratch_len)) != PN_OK) return rc;
    if (x_len != net->layer[0].n_in || t_len != last_layer(net)->n_out
        || grads_len != net->n_params)
        return PN_ESIZE;
    *loss = sample_gradients(net, area_c(net, net->store), x, t, scratch, grads);
    return PN_OK;
}

/* PN_OK when w holds n_rows weights, each finite and >= 0 (w NULL: unweighted). */
static int check_weights(const double *w, size_t w_len, size_t n_rows)
{
    size_t r;
    if (w == NULL) return PN_EINVAL;
    if (w_len != n_rows) return PN_ESIZE;
    for (r = 0; r < n_rows; r++)
        if (!isfinite(w[r]) || w[r] < 0.0) return PN_EINVAL;
    return PN_OK;
}

/* An epoch's order (NULL: rows in their order) over positions [first,
 * first + count) of n_rows, which the caller checked: n_rows long, and each
 * position there a row. */
static int check_order(const size_t *order, size_t order_len, size_t n_rows, size_t first,
                       size_t count)
{
    size_t p;
    if (order == NULL) return PN_OK;
    if (order_len != n_rows) return PN_ESIZE;
    for (p = first; p < first + count; p++)
        if (order[p] >= n_rows) return PN_EINVAL;
    return PN_OK;
}

/* pn_epoch_batches and pn_epoch_batches_weighted: w NULL for no weights. */
static int epoch_batches(pn_net *net, const double *x, size_t x_len, const double *t, size_t t_len,
                         const double *w, size_t w_len, const size_t *order, size_t order_len,
                         size_t first, size_t count, size_t batch_size, double learning_rate,
                         const pn_optimizer *opt, double *buffers, size_t buffers_len,
                         double *adam_state, double *total, int weighted)
{
    size_t n_rows, n_buffers;
    int rc;
    CHECK_NET(net);
    if ((rc = check_data(net, x, x_len, t, t_len, last_layer(net)->n_out, &n_rows)) != PN_OK)
        return rc;
    if (weighted && (rc = check_weights(w, w_len, n_rows)) != PN_OK) return rc;
    if (opt == NULL || total == NULL || adam_state == NULL || !isfinite(learning_rate))
        return PN_EINVAL;
    if (opt->kind < PN_OPT_SGD || opt->kind > PN_OPT_ADAM || batch_size == 0) return PN_EINVAL;
    n_buffers = opt->kind == PN_OPT_ADAM ? 2 : opt->kind == PN_OPT_MOMENTUM ? 1 : 0;
    if (n_buffers != 0 && buffers == NULL) return PN_EINVAL;
    if (buffers_len != n_buffers * net->n_params) return PN_ESIZE;
    if (first > n_rows || count > n_rows - first) return PN_ESIZE;
    if (first % batch_size != 0 || (count % batch_size != 0 && first + count != n_rows))
        return PN_EINVAL;
    if ((rc = check_order(order, order_len, n_rows, first, count)) != PN_OK) return rc;
    if (!net->epoch_open) return PN_ESTATE;
    {
        pn_batch_job job;
        job.net = net;
        job.x = x;
        job.t = t;
        job.w = weighted ? w : NULL;
        job.order = order;
        job.first = first;
        job.count = count;
        job.batch_size = batch_size;
        job.lr = learning_rate;
        job.opt = opt;
        job.buffers = buffers;
        job.adam_state = adam_state;
        job.total = *total;
        /* per block: forward, backward and step, some 4 waits per layer and
         * 3 more (counted as 5, the figure the small networks' threshold was
         * set with) */
        const double rows = (double)(batch_size < net->block_rows ? batch_size : net->block_rows);
        /* batch_size 1: the same bits, fused, on one thread (opt_rows_body).
         * On 784-1024-10, where the team would take 2 threads, one thread
         * took 214 / 364 / 1416 us/sample (SGD with weight decay, momentum,
         * Adam; best of 5) against the team's 550 / 766 / 1367: the team's
         * waits and stored sums cost more than the second core gives. */
        if (batch_size == 1) {
            opt_rows(net, x, t, job.w, order, first, count, learning_rate, opt, buffers,
                     adam_state, total);
            return PN_OK;
        }
        run_team(threads_for(net, 3.0 * (double)count * (double)net->n_params,
                             3.0 * rows * (double)net->n_params, 4.0 * (double)net->n_layers + 5.0),
                 PN_PICK_FN(batch_job), &job);
        *total = job.total;
    }
    return PN_OK;
}

int pn_epoch_batches(pn_net *net, const double *x, size_t x_len, const double *t, size_t t_len,
                     const size_t *order, size_t order_len, size_t first, size_t count,
                     size_t batch_size, double learning_rate, const pn_optimizer *opt,
                     double *buffers, size_t buffers_len, double *adam_state, double *total)
{
    return epoch_batches(net, x, x_len, t, t_len, NULL, 0, order, order_len, first, count,
                         batch_size, learning_rate, opt, buffers, buffers_len, adam_state, total, 0);
}

int pn_epoch_batches_weighted(pn_net *net, const double *x, size_t x_len, const double *t,
                              size_t t_len, const double *w, size_t w_len, const size_t *order,
                              size_t order_len, size_t first, size_t count, size_t batch_size,
                              double learning_rate, const pn_optimizer *opt, double *buffers,
                              size_t buffers_len, double *adam_state, double *total)
{
    return epoch_batches(net, x, x_len, t, t_len, w, w_len, order, order_len, first, count,
                         batch_size, learning_rate, opt, buffers, buffers_len, adam_state, total, 1);
}

int pn_loss_weighted(const pn_net *net, const double *x, size_t x_len, const double *t,
                     size_t t_len, const double *w, size_t w_len, double *loss,
                     double *scratch, size_t scratch_len)
{
    size_t n_rows, r;
    int rc;
    CHECK_NET(net);
    if ((rc = check_data(net, x, x_len, t, t_len, last_layer(net)->n_out, &n_rows)) != PN_OK)
        return rc;
    if ((rc = check_weights(w, w_len, n_rows)) != PN_OK) return rc;
    if (loss == NULL) return PN_EINVAL;
    if ((rc = check_scratch(net, scratch, scratch_len)) != PN_OK) return rc;
    if (scratch_len >= net->block_len) {
        double total, wsum;
        block_losses(net, x, t, w, n_rows, scratch, scratch_len, &total, &wsum);
        if (wsum == 0.0) return PN_EINVAL;
        *loss = total / wsum;
        return PN_OK;
    }
    {
        const double *store = area_c(net, net->store);
        const pn_layer *last = last_layer(net);
        const size_t n_in = net->layer[0].n_in, n_out = last->n_out;
        double total = 0.0, wsum = 0.0;
        for (r = 0; r < n_rows; r++) {
            const double *out;
            if (w[r] == 0.0) continue;
            out = forward_sample(net, store, x + r * n_in, scratch);
            total += w[r] * sample_loss(net->loss, t + r * n_out, out, scratch + last->z, n_out);
            wsum += w[r];
        }
        if (wsum == 0.0) return PN_EINVAL;
        *loss = total / wsum;
    }
    return PN_OK;
}

/* Index of the first non-finite value of x[0..n), or n. */
static size_t first_nonfinite(const double *x, size_t n)
{
    /* x is not finite when its exponent bits are all ones, that is when
     * adding 1 to the exponent field carries into the sign bit: and, add, or
     * (no 64-bit compare, which SSE2 lacks), so the loop runs in vectors. */
    const uint64_t exponent = UINT64_C(0x7ff0000000000000), carry = UINT64_C(0x0010000000000000);
    size_t i = 0, k;
    while (i < n) {
        const size_t end = n - i > 1024 ? i + 1024 : n;
        uint64_t bad = 0;
        for (k = i; k < end; k++) {
            uint64_t u;
            memcpy(&u, x + k, sizeof u);
            bad |= (u & exponent) + carry;
        }
        if (bad >> 63)
            for (k = i; k < end; k++)
                if (!isfinite(x[k])) return k;
        i = end;
    }
    return n;
}

int pn_find_nonfinite(const double *x, size_t n, size_t *index)
{
    if (index == NULL || (x == NULL && n != 0)) return PN_EINVAL;
    *index = first_nonfinite(x, n);
    return PN_OK;
}

int pn_epoch_begin(pn_net *net)
{
    CHECK_NET(net);
    memcpy(area(net, net->saved), area(net, net->store), net->n_store * sizeof(double));
    net->epoch_open = 1;
    return PN_OK;
}

int pn_epoch_abort(pn_net *net)
{
    CHECK_NET(net);
    if (!net->epoch_open) return PN_ESTATE;
    memcpy(area(net, net->store), area(net, net->saved), net->n_store * sizeof(double));
    net->epoch_open = 0;
    return PN_OK;
}

int pn_shuffle(size_t *order, size_t n, uint64_t *rng)
{
    if (rng == NULL || (order == NULL && n != 0)) return PN_EINVAL;
    shuffle(order, n, rng);
    return PN_OK;
}

/* pn_epoch_rows and pn_epoch_rows_weighted: w NULL for no weights. */
static int epoch_rows(pn_net *net, const double *x, size_t x_len, const double *t, size_t t_len,
                      const double *w, size_t w_len, const size_t *order, size_t order_len,
                      size_t first, size_t count, double learning_rate, double *total,
                      int weighted)
{
    size_t n_rows;
    int rc;
    CHECK_NET(net);
    if ((rc = check_data(net, x, x_len, t, t_len, last_layer(net)->n_out, &n_rows)) != PN_OK)
        return rc;
    if (weighted && (rc = check_weights(w, w_len, n_rows)) != PN_OK) return rc;
    if (total == NULL || !isfinite(learning_rate)) return PN_EINVAL;
    if (first > n_rows || count > n_rows - first) return PN_ESIZE;
    if ((rc = check_order(order, order_len, n_rows, first, count)) != PN_OK) return rc;
    if (!net->epoch_open) return PN_ESTATE;
    *total = train_rows(net, x, t, weighted ? w : NULL, order, first, count, learning_rate,
                        *total);
    return PN_OK;
}

int pn_epoch_rows(pn_net *net, const double *x, size_t x_len, const double *t, size_t t_len,
                  const size_t *order, size_t order_len, size_t first, size_t count,
                  double learning_rate, double *total)
{
    return epoch_rows(net, x, x_len, t, t_len, NULL, 0, order, order_len, first, count,
                      learning_rate, total, 0);
}

int pn_epoch_rows_weighted(pn_net *net, const double *x, size_t x_len, const double *t,
                           size_t t_len, const double *w, size_t w_len, const size_t *order,
                           size_t order_len, size_t first, size_t count, double learning_rate,
                           double *total)
{
    return epoch_rows(net, x, x_len, t, t_len, w, w_len, order, order_len, first, count,
                      learning_rate, total, 1);
}

/* End the open epoch whose loss is `loss`: restore and fail if it or any parameter is not finite. */
static int close_epoch(pn_net *net, double loss)
{
    if (!isfinite(loss) || first_nonfinite(area(net, net->store), net->n_store) != net->n_store) {
        pn_epoch_abort(net);
        return PN_EDIVERGED;
    }
    net->epoch_open = 0;
    net->epochs++;
    return PN_OK;
}

int pn_epoch_end(pn_net *net, double total, size_t n_rows, double *loss)
{
    CHECK_NET(net);
    if (loss == NULL || n_rows == 0) return PN_EINVAL;
    if (!net->epoch_open) return PN_ESTATE;
    *loss = total / (double)n_rows;
    return close_epoch(net, *loss);
}

int pn_epoch_end_weighted(pn_net *net, double total, double total_weight, double *loss)
{
    CHECK_NET(net);
    if (loss == NULL || !(total_weight > 0.0) || !isfinite(total_weight)) return PN_EINVAL;
    if (!net->epoch_open) return PN_ESTATE;
    *loss = total / total_weight;
    return close_epoch(net, *loss);
}

size_t pn_epochs_trained(const pn_net *net)
{
    return check_net(net) == PN_OK ? net->epochs : 0;
}

int pn_train(pn_net *net, const double *x, size_t x_len, const double *t, size_t t_len,
             size_t epochs, const double *lrs, size_t lrs_len, uint64_t *rng,
             size_t *order, size_t order_len, double *losses, size_t losses_len,
             size_t *epochs_done)
{
    size_t n_rows, e;
    uint64_t rng_at_start;
    int rc;
    CHECK_NET(net);
    if ((rc = check_data(net, x, x_len, t, t_len, last_layer(net)->n_out, &n_rows)) != PN_OK)
        return rc;
    if (lrs == NULL || losses == NULL || epochs_done == NULL) return PN_EINVAL;
    if (rng != NULL && order == NULL) return PN_EINVAL;
    if (lrs_len < epochs || losses_len < epochs) return PN_ESIZE;
    if (rng != NULL && order_len != n_rows) return PN_ESIZE;
    for (e = 0; e < epochs; e++)
        if (!isfinite(lrs[e])) return PN_EINVAL;
    *epochs_done = 0;
    if (epochs == 0) return PN_OK;
    /* Checking every parameter after every epoch costs as much as a few
     * samples of a small network, so the checks run once: the parameters are
     * saved here and checked after the last epoch, each epoch's loss as it
     * ends.  A non-finite parameter stays non-finite (every update is
     * p - s * a or p - s), so the final check fails exactly when some
     * epoch's check would have.  Then the call starts over from the saved
     * parameters and shuffling state and replays epoch by epoch with the
     * per-epoch checks: the same data, rates and order give the same bits,
     * so it stops at the very epoch, with the very loss, of a per-epoch run. */
    rng_at_start = rng != NULL ? *rng : 0;
    pn_epoch_begin(net);
    /* train_epochs stops after an epoch whose loss is not finite, which may
     * be the last: so the last loss is checked too (its parameters may all
     * still be finite, for a loss that overflowed). */
    if (train_epochs(net, x, t, n_rows, 0, epochs, lrs, rng, order, losses) == epochs
        && isfinite(losses[epochs - 1])
        && first_nonfinite(area(net, net->store), net->n_store) == net->n_store) {
        net->epoch_open = 0;
        net->epochs += epochs;
        *epochs_done = epochs;
        return PN_OK;
    }
    pn_epoch_abort(net);
    if (rng != NULL) *rng = rng_at_start;
    for (e = 0; e < epochs; e++) {
        const uint64_t rng_at_epoch = rng != NULL ? *rng : 0;
        pn_epoch_begin(net);
        train_epochs(net, x, t, n_rows, e, 1, lrs, rng, order, losses);
        if ((rc = close_epoch(net, losses[e])) != PN_OK) {
            if (rng != NULL) *rng = rng_at_epoch;
            return rc;
        }
        *epochs_done = e + 1;
    }
    return PN_OK;
}
