/*
 * pn_activations.h: the C core's element-wise activations, each written once.
 *
 * PN_ACTIVATIONS(X) lists one X(NAME, name, f, df) per activation: NAME gives
 * the code PN_<NAME> (plainnet.h numbers them in this order, then PN_SOFTMAX),
 * name is its name in plainnet (pn_activation_name), f is f(z) and df is f'(z)
 * as an expression of the pre-activation z and the output y = f(z).  plainnet.c expands the list into every loop that applies
 * an activation or multiplies in its derivative, so a new activation is one
 * line here (plus a helper below if it needs one) and one record in
 * src/plainnet/_registry.py, which holds the same formulas in Python: both
 * must perform the same operations in the same order (tests/test_parity.py
 * compares the bits).
 *
 * Only plainnet.c defines PN_ACTIVATION_FUNCTIONS, to get the helpers.
 */
#ifndef PN_ACTIVATIONS_H
#define PN_ACTIVATIONS_H

#define PN_LEAKY_SLOPE 0.01
#define PN_GELU_K 0.7978845608028654 /* sqrt(2 / pi), as _registry.GELU_K */
#define PN_GELU_C 0.044715
#define PN_SOFTPLUS_THRESHOLD 20.0 /* softplus is z above this (torch.nn.Softplus) */
#define PN_GELU_FLAT 10.0          /* |z| beyond this: tanh is exactly +-1 */

#define PN_ACTIVATIONS(X)                                                                         \
    X(SIGMOID, sigmoid, pn_sigmoid(z), y * (1.0 - y))                                             \
    X(TANH, tanh, tanh(z), 1.0 - y * y)                                                           \
    X(RELU, relu, z > 0.0 ? z : 0.0, y > 0.0 ? 1.0 : 0.0)                                         \
    X(LEAKY_RELU, leaky_relu, z > 0.0 ? z : PN_LEAKY_SLOPE * z, y > 0.0 ? 1.0 : PN_LEAKY_SLOPE)   \
    X(LINEAR, linear, z, 1.0)                                                                     \
    X(SOFTPLUS, softplus, z > PN_SOFTPLUS_THRESHOLD ? z : log1p(exp(z)),                          \
      z > PN_SOFTPLUS_THRESHOLD ? 1.0 : pn_sigmoid(z))                                            \
    X(SILU, silu, z * pn_sigmoid(z), pn_d_silu(z))                                                \
    X(GELU, gelu, 0.5 * z * (1.0 + tanh(PN_GELU_K * (z + PN_GELU_C * (z * z * z)))), pn_d_gelu(z))

#ifdef PN_ACTIVATION_FUNCTIONS

/* Always inlined, also into plainnet.c's AVX2 copies of its loops (GCC does
 * not inline a plain inline function across targets on its own). */
#if defined(__GNUC__)
#define PN_ACT_INLINE static inline __attribute__((always_inline))
#else
#define PN_ACT_INLINE static inline
#endif

/* 1 / (1 + e^-x) for x >= 0, else e^x / (1 + e^x): no overflow for any x.
 * Both branches take e = exp(-|x|), so plainnet.c's loops can call exp for a
 * row first and then finish the row with pn_sigmoid_of in vector registers. */
PN_ACT_INLINE double pn_sigmoid_of(double x, double e)
{
    /* the two branches differ only in the numerator: a select, then one
     * division, which the compiler runs in vector registers */
    const double den = 1.0 + e;
    return (x >= 0.0 ? 1.0 : e) / den;
}

PN_ACT_INLINE double pn_sigmoid(double x)
{
    return pn_sigmoid_of(x, exp(-fabs(x)));
}

/* d/dz z s(z) = s (1 + z (1 - s)) */
static inline double pn_d_silu(double z)
{
    const double s = pn_sigmoid(z);
    return s * (1.0 + z * (1.0 - s));
}

/* d/dz of the tanh GELU; exactly 1 or 0 where tanh has saturated. */
static inline double pn_d_gelu(double z)
{
    double t;
    if (z > PN_GELU_FLAT) return 1.0;
    if (z < -PN_GELU_FLAT) return 0.0;
    t = tanh(PN_GELU_K * (z + PN_GELU_C * (z * z * z)));
    return 0.5 * (1.0 + t)
           + ((0.5 * z) * (1.0 - t * t)) * (PN_GELU_K * (1.0 + (3.0 * PN_GELU_C) * (z * z)));
}

#endif /* PN_ACTIVATION_FUNCTIONS */
#endif /* PN_ACTIVATIONS_H */
