"""What every export writes alike: the network's parts and architecture line,
and pieces of C source that every C export writes alike (float64, float32, int8):
the prelude after the header comment, and the constant tables of the scaler
and of the layers.  ``array(values, indent)`` gives the initialiser lines of
one table in the export's own literal format."""

__all__ = ["parameters", "architecture", "prelude", "scaler_tables", "layer_tables"]


def parameters(net):
    """(sizes, activations, weights, biases, scaler) of ``net``.

    ``scaler`` is None, or (mean, scale) lists: the network standardises each
    input as ``(x - mean) / scale`` before the first layer, and so must the export.
    """
    weights, biases, scaler = net._params("export")  # all of one epoch
    if scaler is not None:
        scaler = (list(scaler.mean), list(scaler.scale))
    return net.sizes, net.activations, weights, biases, scaler


def architecture(sizes, activations):
    layers = ["%d inputs" % sizes[0]]
    layers += ["%d %s" % (n, a) for n, a in zip(sizes[1:], activations)]
    return " -> ".join(layers)



def prelude(name, sizes, include, ctype):
    """The include, the size macros and the prototype of NAME_predict."""
    macro = name.upper()
    return [
        "",
        "#include <%s>" % include,
        "",
        "#define %s_N_INPUTS %d" % (macro, sizes[0]),
        "#define %s_N_OUTPUTS %d" % (macro, sizes[-1]),
        "",
        "void %s_predict(const %s *input, %s *output);" % (name, ctype, ctype),
        "",
    ]


def scaler_tables(name, scaler, n_inputs, ctype, array):
    """The scaler's mean and scale as static tables (nothing without a scaler)."""
    if scaler is None:
        return []
    out = ["/* input scaling: x[i] = (input[i] - mean[i]) / scale[i] */"]
    for what, values in zip(("mean", "scale"), scaler):
        out.append("static const %s %s_%s[%d] = {" % (ctype, name, what, n_inputs))
        out += array(values, "    ")
        out.append("};")
    out.append("")
    return out


def layer_tables(name, sizes, acts, W, B, ctype, array):
    """Each layer's weights ([neuron][input]) and biases as static tables."""
    out = []
    for l in range(len(sizes) - 1):
        n_in, n_out = sizes[l], sizes[l + 1]
        out.append("/* layer %d: %d inputs -> %d %s */" % (l + 1, n_in, n_out, acts[l]))
        out.append("static const %s %s_w%d[%d][%d] = {" % (ctype, name, l + 1, n_out, n_in))
        for j, row in enumerate(W[l]):
            out.append("    {")
            out += array(row, "        ")
            out.append("    }," if j < n_out - 1 else "    }")
        out.append("};")
        out.append("static const %s %s_b%d[%d] = {" % (ctype, name, l + 1, n_out))
        out += array(B[l], "    ")
        out.append("};")
        out.append("")
    return out
