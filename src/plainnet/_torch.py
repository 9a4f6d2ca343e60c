"""PyTorch interchange: from_torch(module) and Network.to_torch().

torch is imported only inside these functions, never by ``import plainnet``.
A network maps to an ``nn.Sequential`` of ``nn.Linear`` layers, each followed
by its activation module; a linear layer gets none.  Weights are converted
exactly: float32 (and float16) values are representable in float64, and a
float64 module keeps every bit.
"""

from . import _registry

__all__ = ["layers_from_torch", "to_torch"]

# torch.nn class name -> plainnet activation (the registry's "torch" fields;
# a linear layer has no module, or an nn.Identity)
_FROM_TORCH = {a.torch: a for a in _registry.ACTIVATIONS.values() if a.torch is not None}
_FROM_TORCH["Identity"] = _registry.activation("linear")


def _torch():
    try:
        import torch
    except ImportError:
        raise ImportError("PyTorch interchange needs torch: `pip install torch`") from None
    return torch


def _activation_of(layer, index, is_last, nn):
    """The plainnet name of an activation module, or ValueError saying why not."""
    act = _FROM_TORCH.get(type(layer).__name__)
    if act is None or type(layer) is not getattr(nn, type(layer).__name__):
        raise ValueError(
            "layer %d (%r) is not supported: from_torch takes nn.Linear layers, each followed "
            "by at most one of %s" % (index, layer, ", ".join("nn.%s" % k for k in sorted(_FROM_TORCH)))
        )
    if act.name == "softmax":
        if not is_last:
            raise ValueError("layer %d (%r): softmax is only supported as the last layer" % (index, layer))
        if layer.dim not in (-1, 1):
            raise ValueError("layer %d (%r): softmax must be over the features, dim=-1 or dim=1"
                             % (index, layer))
        return act.name
    for key, value in act.torch_args.items():  # e.g. leaky_relu's slope, GELU's approximation
        if getattr(layer, key) != value:
            raise ValueError("layer %d (%r): plainnet's %s has %s %r only"
                             % (index, layer, act.name, key, value))
    return act.name


def layers_from_torch(module):
    """(weights, biases, activations) of an ``nn.Sequential`` of Linear layers
    and supported activations (see ``plainnet.from_torch``)."""
    torch = _torch()
    nn = torch.nn
    if not isinstance(module, nn.Sequential):
        raise TypeError("from_torch takes an nn.Sequential of Linear layers and activations, not %r"
                        % type(module).__name__)
    layers = list(module)
    if not layers:
        raise ValueError("from_torch: the nn.Sequential is empty")
    weights, biases, acts = [], [], []
    previous = None  # the last module seen: a Linear, an activation, or None at the start
    for index, layer in enumerate(layers):
        if type(layer) is nn.Linear:
            if previous is not None and type(previous) is nn.Linear:
                acts.append("linear")
            if weights and layer.in_features != len(weights[-1]):
                raise ValueError("layer %d (%r) takes %d inputs, but the layer before gives %d"
                                 % (index, layer, layer.in_features, len(weights[-1])))
            with torch.no_grad():
                weights.append(layer.weight.detach().cpu().to(torch.float64).tolist())
                biases.append([0.0] * layer.out_features if layer.bias is None
                              else layer.bias.detach().cpu().to(torch.float64).tolist())
        elif previous is None or type(previous) is not nn.Linear:
            # an unsupported module is reported as such before its position
            _activation_of(layer, index, index == len(layers) - 1, nn)
            raise ValueError("layer %d (%r) must follow an nn.Linear: one activation per Linear layer"
                             % (index, layer))
        else:
            acts.append(_activation_of(layer, index, index == len(layers) - 1, nn))
        previous = layer
    if type(previous) is nn.Linear:
        acts.append("linear")
    return weights, biases, acts


def to_torch(net):
    """A float64 ``nn.Sequential`` computing what ``net`` computes.

    One ``nn.Linear`` per layer, followed by its activation module (none for a
    linear layer), so ``from_torch(to_torch(net))`` has exactly the same
    weights.  An input scaler, if the network has one, is folded into the
    first Linear layer (weights / scale, biases shifted by the mean): the
    outputs then agree up to rounding rather than bit for bit.
    """
    torch = _torch()
    nn = torch.nn
    weights, biases, scaler = net._params("to_torch")
    if scaler is not None:
        # W (x - m) / s + b  ==  (W / s) x + (b - W (m / s))
        first = [[w / s for w, s in zip(row, scaler.scale)] for row in weights[0]]
        shift = [m / s for m, s in zip(scaler.mean, scaler.scale)]
        biases[0] = [b - sum(w * c for w, c in zip(row, shift)) for b, row in zip(biases[0], weights[0])]
        weights[0] = first
    modules = []
    for W, B, act in zip(weights, biases, net.activations):
        linear = nn.Linear(len(W[0]), len(W), dtype=torch.float64)
        with torch.no_grad():
            linear.weight.copy_(torch.tensor(W, dtype=torch.float64))
            linear.bias.copy_(torch.tensor(B, dtype=torch.float64))
        modules.append(linear)
        record = _registry.activation(act)
        if record.torch is not None:
            modules.append(getattr(nn, record.torch)(**record.torch_args))
    return nn.Sequential(*modules)
