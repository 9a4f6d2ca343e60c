"""The backend contract and the registry, checked against both cores.

Each core has every member of ``_contract.Core``; every registry record has a
code in the C core and every C code a record; unknown names and codes are
refused in Python and in C.
"""

import inspect

import pytest

import plainnet as pn
from plainnet import _contract, _py_backend, _registry

from conftest import BACKENDS

needs_c = pytest.mark.skipif("c" not in BACKENDS, reason="the C backend is not built here")


@pytest.mark.parametrize("backend", BACKENDS)
def test_every_core_implements_the_whole_protocol(backend):
    net = pn.Network([3, 4, 2], seed=0, backend=backend)
    core = net._core
    missing = [m for m in _contract.CORE_MEMBERS if not hasattr(core, m)]
    assert missing == []
    assert "pack_rows" in _contract.CORE_MEMBERS and "run_rows" in _contract.CORE_MEMBERS
    for member in _contract.CORE_MEMBERS:
        spec = inspect.getattr_static(_contract.Core, member)
        if inspect.isfunction(spec) and member != "forward_list":
            wanted = list(inspect.signature(spec).parameters)[1:]
            got = list(inspect.signature(getattr(core, member)).parameters)
            assert got == wanted, member


@pytest.mark.parametrize("backend", BACKENDS)
def test_reset_optimizer_is_the_state_of_zero_buffers(backend):
    """reset_optimizer(n) leaves what set_train_state of n zero buffers and
    b1t = b2t = 1 leaves, after a state with other values, PRNG kept."""
    core = pn.Network([3, 4, 2], seed=0, backend=backend)._core
    n = _contract.n_parameters([3, 4, 2])
    core.set_train_state({"rng": 12345, "b1t": 0.5, "b2t": 0.25,
                          "buffers": [[float(k) for k in range(n)]] * 2})
    core.reset_optimizer(2)
    assert core.get_train_state() == {"rng": 12345, "b1t": 1.0, "b2t": 1.0,
                                      "buffers": [[0.0] * n, [0.0] * n]}
    core.reset_optimizer(0)
    assert core.get_train_state()["buffers"] == []


def test_layout_helpers_invert_each_other():
    sizes = [2, 3, 1]
    W = [[[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]], [[7.0, 8.0, 9.0]]]
    B = [[0.1, 0.2, 0.3], [0.4]]
    flat = _contract.flatten(W, B)
    assert flat == [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 0.1, 0.2, 0.3, 7.0, 8.0, 9.0, 0.4]
    assert _contract.unflatten(flat, sizes) == (W, B)
    assert _contract.n_parameters(sizes) == len(flat) == 13


@needs_c
def test_registry_and_c_codes_match_by_name():
    from plainnet._pn_c import ffi, lib

    def c_names(name_of, first_bad):
        names, code = [], 0
        while name_of(code) != ffi.NULL:
            names.append(ffi.string(name_of(code)).decode())
            code += 1
        assert code == first_bad
        return names

    acts = c_names(lib.pn_activation_name, lib.PN_N_ACTIVATIONS)
    assert sorted(acts) == sorted(_registry.ACTIVATIONS)
    for name, record in _registry.ACTIVATIONS.items():
        assert acts[getattr(lib, record.c_code)] == name
    losses = c_names(lib.pn_loss_name, len(_registry.LOSSES))
    assert sorted(losses) == sorted(_registry.LOSSES)
    for name, record in _registry.LOSSES.items():
        assert losses[getattr(lib, record.c_code)] == name
    opts = c_names(lib.pn_optimizer_name, len(_registry.OPTIMIZERS))
    assert sorted(opts) == sorted(_registry.OPTIMIZERS)
    for name, record in _registry.OPTIMIZERS.items():
        assert opts[getattr(lib, record.c_code)] == name


@needs_c
def test_c_refuses_unknown_codes():
    from plainnet._pn_c import ffi, lib
    sizes = ffi.new("size_t[]", [2, 1])
    nbytes = lib.pn_net_bytes(2, sizes)
    mem = ffi.new("double[]", nbytes // 8 + 1)
    for act, loss in ((lib.PN_N_ACTIVATIONS, lib.PN_MSE), (-1, lib.PN_MSE),
                      (lib.PN_SIGMOID, len(_registry.LOSSES)), (lib.PN_SIGMOID, -1)):
        assert lib.pn_net_init(mem, nbytes, 2, sizes, ffi.new("int[]", [act]), loss) == lib.PN_EINVAL
    assert lib.pn_net_init(mem, nbytes, 2, sizes, ffi.new("int[]", [lib.PN_GELU]), lib.PN_MSE) == lib.PN_OK


@pytest.mark.parametrize("backend", BACKENDS)
def test_python_refuses_unknown_names(backend):
    with pytest.raises(ValueError, match="unknown activation of layer 1 'mish'"):
        pn.Network([2, 1], activation="mish", backend=backend)
    with pytest.raises(ValueError, match="unknown loss 'hinge'"):
        pn.Network([2, 1], loss="hinge", backend=backend)
    net = pn.Network([2, 1], backend=backend)
    with pytest.raises(ValueError, match="unknown optimizer 'rmsprop'"):
        net.train([[0.0, 1.0]], [0.5], epochs=1, optimizer="rmsprop")
    core_cls = type(net._core)
    with pytest.raises(ValueError, match="unknown activation 'mish'"):
        core_cls([2, 1], ["mish"], "mse", [[[0.0, 0.0]]], [[0.0]])


def test_every_optimizer_has_a_python_step():
    assert sorted(_py_backend._UPDATERS) == sorted(_registry.OPTIMIZERS)


def test_the_command_line_offers_the_registry():
    from plainnet import cli
    hidden = _registry.hidden_activations()
    assert "softmax" not in hidden and len(hidden) == len(_registry.ACTIVATIONS) - 1
    parser = cli.build_parser()
    for act in hidden:
        args = parser.parse_args(["train", "d.csv", "--target", "y", "-o", "m.json", "--activation", act])
        assert args.activation == act
    for act in _registry.ACTIVATIONS:
        args = parser.parse_args(["train", "d.csv", "--target", "y", "-o", "m.json", "--output-activation", act])
        assert args.output_activation == act
    for loss in _registry.LOSSES:
        assert parser.parse_args(["train", "d.csv", "--target", "y", "-o", "m.json", "--loss", loss]).loss == loss
    with pytest.raises(SystemExit):
        parser.parse_args(["train", "d.csv", "--target", "y", "-o", "m.json", "--activation", "softmax"])
