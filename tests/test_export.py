"""Export to PyTorch and ONNX, import from PyTorch.

Every activation in both dtypes goes through real torch modules and through
onnxruntime, checked by onnx.checker; the torch tests skip without torch and
the ONNX tests without onnx or onnxruntime.
"""

import os
import subprocess
import sys
from collections import OrderedDict

import numpy as np
import pytest

import plainnet as pn
from plainnet import _onnx, _torch

try:
    import torch
    from torch import nn
except ImportError:
    torch = nn = None
try:
    import onnx
    import onnxruntime
except ImportError:
    onnx = onnxruntime = None

needs_torch = pytest.mark.skipif(torch is None, reason="to_torch/from_torch need torch")
needs_onnx = pytest.mark.skipif(onnx is None or onnxruntime is None,
                                reason="to_onnx needs onnx, and onnxruntime runs its models")

DTYPES = ["float64", "float32"]
# Outputs equal to these, elementwise: |got - want| <= TOL * (1 + |want|).
TOL = {"float64": 1e-12, "float32": 1e-5}
ALL = pn.ACTIVATIONS + pn.OUTPUT_ACTIVATIONS

# Every z an activation sees in the one-unit tests: dense over [-50, 50] (both
# sides of each softplus threshold), huge values, zeros and tiny values.
GRID = np.concatenate([np.linspace(-50, 50, 4001),
                       [-1e4, -1000, -700, -100, 100, 700, 1000, 1e4, 0.0, -0.0, 1e-300, -1e-300]])


def assert_same(got, want, dtype):
    got, want = np.asarray(got), np.asarray(want)
    assert got.dtype == want.dtype == np.dtype(dtype)
    np.testing.assert_allclose(got, want, rtol=TOL[dtype], atol=TOL[dtype])


def one_unit(act, dtype):
    """z -> act(z): a 1-1 network with weight 1 and bias 0."""
    return pn.Network.from_weights([np.eye(1)], [np.zeros(1)], activation=act, dtype=dtype)


def network(act, dtype, seed=0, backend="native"):
    """A 5-8-6-3 network with random weights and biases and `act` on every layer
    (softmax: gelu hidden layers, softmax output)."""
    rng = np.random.default_rng(seed)
    sizes = [5, 8, 6, 3]
    weights = [rng.normal(0, 1, (a, b)) for a, b in zip(sizes[:-1], sizes[1:])]
    biases = [rng.normal(0, 0.5, b) for b in sizes[1:]]
    if act == "softmax":
        return pn.Network.from_weights(weights, biases, activation="gelu",
                                       output_activation="softmax", loss="cross_entropy",
                                       dtype=dtype, backend=backend)
    return pn.Network.from_weights(weights, biases, activation=act, dtype=dtype, backend=backend)


def inputs(dtype, rows=40):
    X = np.random.default_rng(1).normal(0, 2, (rows, 5))
    X[0] = [30, -30, 12, -25, 20]  # far out: saturated units, softplus above its threshold
    return X.astype(dtype)


def test_every_activation_has_a_torch_module_and_onnx_nodes():
    assert set(_torch.TORCH_MODULES) == set(ALL)
    assert set(_onnx.ONNX_NODES) == set(ALL)
    assert set(_onnx._BUILDERS) | {"linear"} == set(ALL)


def test_import_plainnet_imports_neither_torch_nor_onnx():
    code = ("import sys, numpy as np, plainnet as pn\n"
            "net = pn.Network([2, 3, 1], seed=0)\n"
            "net.forward(np.zeros((1, 2)))\n"
            "print(sorted(m for m in ('torch', 'onnx', 'onnxruntime') if m in sys.modules))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120, check=True)
    assert out.stdout.strip() == "[]"


@pytest.mark.parametrize("module, call", [
    ("torch", lambda net: net.to_torch()),
    ("torch", lambda net: pn.Network.from_torch(object())),
    ("onnx", lambda net: net.to_onnx()),
])
def test_a_missing_optional_package_says_how_to_install_it(monkeypatch, module, call):
    monkeypatch.setitem(sys.modules, module, None)  # import fails, as if not installed
    with pytest.raises(ImportError, match=rf"pip install 'plainnet\[{module}\]'"):
        call(pn.Network([2, 3, 1], seed=0))


# ------------------------------------------------------------------ PyTorch


@needs_torch
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("act", pn.ACTIVATIONS)
def test_torch_module_computes_the_activation(act, dtype):
    net = one_unit(act, dtype)
    z = GRID.astype(dtype)[:, None]
    with torch.no_grad():
        got = net.to_torch()(torch.from_numpy(z)).numpy()
    assert np.isfinite(got).all()
    assert_same(got, net.forward(z), dtype)


@needs_torch
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("act", ALL)
def test_to_torch_gives_the_same_outputs(act, dtype):
    net = network(act, dtype)
    model = net.to_torch()
    assert type(model) is nn.Sequential
    linears = [m for m in model if type(m) is nn.Linear]
    assert len(linears) == 3
    for linear, W, b in zip(linears, net.weights, net.biases):
        assert linear.weight.dtype == linear.bias.dtype == getattr(torch, dtype)
        assert linear.weight.requires_grad
        np.testing.assert_array_equal(linear.weight.detach().numpy(), W.T)  # (out, in)
        np.testing.assert_array_equal(linear.bias.detach().numpy(), b)
    # one module after each Linear, none for "linear"
    per_layer = 1 if act == "linear" else 2
    assert len(model) == 3 * per_layer
    X = inputs(dtype)
    with torch.no_grad():
        got = model(torch.from_numpy(X)).numpy()
    assert_same(got, net.forward(X), dtype)


@needs_torch
def test_to_torch_copies_and_leaves_torchs_generator_alone():
    net = network("tanh", "float64")
    torch.manual_seed(5)
    expected = torch.rand(4)
    torch.manual_seed(5)
    model = net.to_torch()
    assert torch.equal(torch.rand(4), expected)
    with torch.no_grad():
        model[0].weight.add_(1.0)  # the model holds copies: the network is unchanged
    np.testing.assert_array_equal(net.weights[0].T + 1.0, model[0].weight.detach().numpy())


@needs_torch
@pytest.mark.parametrize("backend", pn.BACKENDS)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("act", ALL)
def test_to_torch_and_back_is_the_same_network(act, dtype, backend):
    net = network(act, dtype)
    back = pn.Network.from_torch(net.to_torch(), backend=backend)
    assert back.layers == net.layers and back.activations == net.activations
    assert back.dtype == net.dtype and back.backend == backend
    assert back.loss_name == ("cross_entropy" if act == "softmax" else "mse")
    for a, b in zip(back.weights + back.biases, net.weights + net.biases):
        np.testing.assert_array_equal(a, b)
    X = inputs(dtype)
    want = net.forward(X) if backend == "native" else net.with_backend("numpy").forward(X)
    np.testing.assert_array_equal(back.forward(X), want)


@needs_torch
@pytest.mark.parametrize("dtype", DTYPES)
def test_a_model_trained_in_torch_imports_with_its_outputs(dtype):
    torch.manual_seed(0)
    tdt = getattr(torch, dtype)
    model = nn.Sequential(OrderedDict([
        ("hidden", nn.Linear(4, 16, dtype=tdt)), ("act", nn.GELU(approximate="tanh")),
        ("mid", nn.Linear(16, 8, dtype=tdt)),
        ("sp", nn.Softplus() if dtype == "float32" else nn.Softplus(threshold=40.0)),
        ("id", nn.Identity()),  # not an activation of its own: the layer stays linear
        ("out", nn.Linear(8, 3, dtype=tdt)), ("softmax", nn.Softmax(dim=1)),
    ]))
    with pytest.raises(ValueError, match=r"model\[4\] \('id'\): nn.Identity follows model\[3\]"):
        pn.Network.from_torch(model)
    del model.id
    X = torch.randn(64, 4, dtype=tdt)
    labels = torch.randint(0, 3, (64,))
    opt = torch.optim.Adam(model.parameters(), lr=0.05)
    first = None
    for _ in range(20):
        opt.zero_grad()
        loss = nn.functional.nll_loss(torch.log(model(X)), labels)
        first = loss.item() if first is None else first
        loss.backward()
        opt.step()
    assert loss.item() < first  # it trained

    net = pn.Network.from_torch(model)
    assert net.activations == ["gelu", "softplus", "softmax"]
    assert net.loss_name == "cross_entropy" and net.dtype == np.dtype(dtype)
    with torch.no_grad():
        want = model(X).numpy()
    assert_same(net.forward(X.numpy()), want, dtype)
    # and plainnet's cross-entropy of it is torch's
    np.testing.assert_allclose(net.loss(X.numpy(), labels.numpy()),
                               nn.functional.nll_loss(torch.log(model(X)), labels).item(),
                               rtol=TOL[dtype])


@needs_torch
def test_from_torch_takes_identity_and_bare_linear_layers_as_linear():
    model = nn.Sequential(nn.Linear(3, 4), nn.Identity(), nn.Linear(4, 2)).double()
    net = pn.Network.from_torch(model, loss="mse", backend="numpy")
    assert net.activations == ["linear", "linear"] and net.backend == "numpy"
    X = np.random.default_rng(0).normal(size=(6, 3))
    with torch.no_grad():
        assert_same(net.forward(X), model(torch.from_numpy(X)).numpy(), "float64")


@needs_torch
@pytest.mark.parametrize("dtype", DTYPES)
def test_softplus_thresholds_accepted_are_plainnets_function(dtype):
    low, high = _torch.softplus_thresholds(np.dtype(dtype))
    z = GRID.astype(dtype)[:, None]
    want = one_unit("softplus", dtype).forward(z)
    for threshold in (np.nextafter(low, np.inf), high):
        model = nn.Sequential(nn.Linear(1, 1), nn.Softplus(threshold=float(threshold)))
        model = model.to(getattr(torch, dtype))
        with torch.no_grad():
            model[0].weight.fill_(1.0)
            model[0].bias.zero_()
            got = model(torch.from_numpy(z)).numpy()
        assert pn.Network.from_torch(model).activations == ["softplus"]
        assert_same(got, want, dtype)
    for threshold in (np.nextafter(low, -np.inf), np.nextafter(high, np.inf)):
        model = nn.Sequential(nn.Linear(1, 1), nn.Softplus(threshold=float(threshold)))
        with pytest.raises(ValueError, match=r"model\[1\]: nn.Softplus\(beta=1.0, threshold="):
            pn.Network.from_torch(model.to(getattr(torch, dtype)))


class _Net(nn.Module if nn is not None else object):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(3, 2)

    def forward(self, x):
        return self.fc(x)


class _Sequential(nn.Sequential if nn is not None else object):
    def forward(self, x):
        return super().forward(x) * 2


def _refused():
    """(model, error type, message pattern) for models from_torch must refuse."""
    L = nn.Linear
    return [
        (_Net(), TypeError, r"model: expected a torch.nn.Sequential .* got _Net"),
        (_Sequential(L(3, 2)), TypeError, r"got a subclass of nn.Sequential"),
        ([L(3, 2)], TypeError, r"model: expected a torch.nn.Sequential .* got list"),
        (nn.Sequential(), ValueError, r"model: expected at least one nn.Linear"),
        (nn.Sequential(nn.Conv1d(1, 1, 3), L(3, 2)), ValueError,
         r"model\[0\]: expected nn.Linear first, got nn.Conv1d"),
        (nn.Sequential(L(3, 4), nn.Conv1d(1, 1, 3)), ValueError,
         r"model\[1\]: nn.Conv1d is not a layer plainnet has"),
        (nn.Sequential(L(3, 4), nn.AlphaDropout(0.5), L(4, 2)), ValueError,
         r"model\[1\]: nn.AlphaDropout is not a layer plainnet has"),
        (nn.Sequential(L(3, 4), nn.Sequential(L(4, 2))), ValueError,
         r"model\[1\]: nn.Sequential is not a layer plainnet has"),
        (nn.Sequential(L(3, 4, bias=False), nn.ReLU(), L(4, 2)), ValueError,
         r"model\[0\]: nn.Linear\(3, 4, bias=False\) has no bias"),
        (nn.Sequential(L(3, 4), nn.ReLU(), nn.Sigmoid(), L(4, 2)), ValueError,
         r"model\[2\]: nn.Sigmoid follows model\[1\] \(nn.ReLU\); each nn.Linear may be "
         r"followed by at most one activation module"),
        (nn.Sequential(nn.ReLU(), L(3, 2)), ValueError, r"model\[0\]: expected nn.Linear first"),
        (nn.Sequential(L(3, 4), L(5, 2)), ValueError,
         r"model\[1\]: nn.Linear takes 5 inputs, but the layer before gives 4"),
        (nn.Sequential(L(3, 4), nn.LeakyReLU(0.2)), ValueError,
         r"model\[1\]: nn.LeakyReLU\(negative_slope=0.2\) computes another function .* "
         r"expected nn.LeakyReLU\(negative_slope=0.01\)"),
        (nn.Sequential(L(3, 4), nn.ELU(alpha=0.5)), ValueError, r"model\[1\]: nn.ELU\(alpha=0.5\)"),
        (nn.Sequential(L(3, 4), nn.GELU()), ValueError,
         r"model\[1\]: nn.GELU\(approximate='none'\) \(the exact, erf form\)"),
        (nn.Sequential(L(3, 4), nn.Softplus(beta=2)), ValueError,
         r"model\[1\]: nn.Softplus\(beta=2.*expected beta=1"),
        (nn.Sequential(L(3, 4), nn.Softplus()).double(), ValueError,
         r"model\[1\]: nn.Softplus\(beta=1.0, threshold=20.0\) in float64 .* a threshold in "
         r"\[36.74, 709.78\] for float64 \(nn.Softplus\(threshold=40.0\)\)"),
        (nn.Sequential(L(3, 4), nn.Softmax(dim=0)), ValueError, r"model\[1\]: nn.Softmax\(dim=0\)"),
        (nn.Sequential(L(3, 4), nn.Hardtanh()), ValueError,
         r"model\[1\]: nn.Hardtanh is not a layer plainnet has; expected nn.Linear or one of"),
        (nn.Sequential(L(3, 4), nn.Softmax(dim=1), L(4, 2)), ValueError,
         r"activation: 'softmax' is for the output layer only"),
        (nn.Sequential(L(3, 4).half()), ValueError,
         r"model\[0\].weight: expected float32 or float64 parameters, got torch.float16"),
        (nn.Sequential(L(3, 4), nn.Tanh(), L(4, 2).double()), ValueError,
         r"model: expected parameters of one dtype, got torch.float32 \(model\[0\].weight\), "
         r"torch.float64 \(model\[2\].weight\)"),
    ]


@needs_torch
def test_from_torch_refuses_what_plainnet_cannot_hold():
    for model, kind, pattern in _refused():
        with pytest.raises(kind, match=pattern):
            pn.Network.from_torch(model)


@needs_torch
def test_from_torch_refuses_non_finite_weights_and_bad_arguments():
    model = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 1))
    with torch.no_grad():
        model[2].bias[0] = float("nan")
    with pytest.raises(ValueError, match=r"model\[2\].bias: expected finite values"):
        pn.Network.from_torch(model)
    with torch.no_grad():
        model[2].bias.zero_()
    with pytest.raises(ValueError, match=r"loss: 'binary_cross_entropy' needs "
                                         r"output_activation='sigmoid', got 'linear'"):
        pn.Network.from_torch(model, loss="binary_cross_entropy")
    with pytest.raises(ValueError, match=r"backend: expected one of 'native', 'numpy', got 'gpu'"):
        pn.Network.from_torch(model, backend="gpu")
    with pytest.raises(ValueError, match=r"loss: a softmax output goes with "
                                         r"loss='cross_entropy', got 'mse'"):
        pn.Network.from_torch(nn.Sequential(nn.Linear(3, 2), nn.Softmax(dim=-1)), loss="mse")


# ------------------------------------------------------------------ ONNX


def _run(model, X):
    session = onnxruntime.InferenceSession(model.SerializeToString(),
                                           providers=["CPUExecutionProvider"])
    return session.run(["Y"], {"X": X})[0]


@needs_onnx
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("act", pn.ACTIVATIONS)
def test_onnx_nodes_compute_the_activation(act, dtype):
    net = one_unit(act, dtype)
    z = GRID.astype(dtype)[:, None]
    got = _run(net.to_onnx(), z)
    assert np.isfinite(got).all()
    assert_same(got, net.forward(z), dtype)


@needs_onnx
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("act", ALL)
def test_to_onnx_writes_a_checked_model_with_the_same_outputs(act, dtype, tmp_path):
    net = network(act, dtype)
    path = tmp_path / f"{act}.onnx"
    assert net.to_onnx(path) == path
    assert net.to_onnx(str(path)) == path  # a str too; the file is replaced
    model = onnx.load(str(path))
    onnx.checker.check_model(model, full_check=True)
    assert model.SerializeToString() == net.to_onnx().SerializeToString()
    assert [(o.domain, o.version) for o in model.opset_import] == [("", _onnx.OPSET)]
    elem = onnx.helper.np_dtype_to_tensor_dtype(np.dtype(dtype))
    for value, width in ((model.graph.input[0], 5), (model.graph.output[0], 3)):
        assert value.type.tensor_type.elem_type == elem
        dims = value.type.tensor_type.shape.dim
        assert dims[0].dim_param == "N" and dims[1].dim_value == width
    ops = [n.op_type for n in model.graph.node]
    assert ops.count("Gemm") == 3
    if dtype == "float32" and act in ("leaky_relu", "elu", "softplus", "gelu", "mish"):
        named = {"leaky_relu": "LeakyRelu", "elu": "Elu", "softplus": "Softplus",
                 "gelu": "Gelu", "mish": "Mish"}[act]
        assert ops.count(named) == 3
    X = inputs(dtype)
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    for rows in (X, X[:1]):  # the batch dimension is symbolic
        assert_same(session.run(None, {"X": rows})[0], net.forward(rows), dtype)


@needs_onnx
def test_to_onnx_of_a_trained_network():
    X, y = pn.datasets.xor()
    net = pn.Network([2, 4, 1], seed=42)
    net.fit(X, y, lr=2.0, epochs=3000)
    got = _run(net.to_onnx(), X.astype(np.float64))
    assert_same(got, net.forward(X), "float64")
    assert np.array_equal(np.round(got).ravel(), [0, 1, 1, 0])


@needs_onnx
def test_to_onnx_refuses_bad_paths_and_leaves_nothing_behind(tmp_path):
    net = network("relu", "float64")
    for bad in (123, 1.5, b"net.onnx", ["net.onnx"]):
        with pytest.raises(TypeError, match=r"path: expected a file path \(str or os.PathLike\)"):
            net.to_onnx(bad)
    with pytest.raises(FileNotFoundError):
        net.to_onnx(tmp_path / "no such folder" / "net.onnx")
    with pytest.raises(IsADirectoryError):
        net.to_onnx(tmp_path)
    assert os.listdir(tmp_path) == []


def test_an_activation_without_onnx_form_is_refused_clearly():
    pytest.importorskip("onnx", reason="to_onnx needs onnx")
    W, b = np.eye(2), np.zeros(2)
    with pytest.raises(ValueError, match=r"to_onnx: activation 'swish' of layer 1 has no ONNX "
                                         r"form; expected one of linear, sigmoid"):
        _onnx.model([(W, b), (W, b)], ["tanh", "swish"], np.dtype(np.float64))


@needs_onnx
def test_the_onnx_model_and_its_graph_describe_the_network(tmp_path):
    # The model's own doc_string (what Netron and onnxruntime's model metadata
    # show) and the graph's both name the layers, activations and loss, in the
    # returned proto and in the written file.
    net = pn.Network([3, 5, 2], activation="tanh", output_activation="softmax",
                     loss="cross_entropy", seed=0)
    expected = ("plainnet [3, 5, 2], activations ['tanh', 'softmax'], loss cross_entropy")
    proto = net.to_onnx()
    assert proto.doc_string == expected
    assert proto.graph.doc_string == expected
    written = onnx.load(str(net.to_onnx(tmp_path / "net.onnx")))
    assert written.doc_string == expected and written.graph.doc_string == expected
    session = onnxruntime.InferenceSession(str(tmp_path / "net.onnx"),
                                           providers=["CPUExecutionProvider"])
    assert session.get_modelmeta().description == expected
