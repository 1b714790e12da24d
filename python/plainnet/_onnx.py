"""A network as an ONNX model, built with the onnx package's helpers.

Input ``X`` (batch, inputs), output ``Y`` (batch, outputs), both of the
network's dtype, with a symbolic batch dimension ``N``. Each layer is a
``Gemm`` (``X @ W_l + b_l``, W_l stored as plainnet holds it, (inputs,
outputs)) followed by its activation's nodes.

Every activation uses the ONNX operator of its name where there is one
(``Gelu`` with ``approximate="tanh"``, from opset 20; ``Mish`` from 18).
onnxruntime's CPU provider has no double kernel for LeakyRelu, Elu, Softplus
and Mish (Mish's function body calls Softplus), and its double Gelu is off by
up to 5e-9, so in float64 those five are written with the operators their
definitions use (Greater, Where, Exp, Log, Abs, Mul, Sigmoid, ...), each of
which has an exact double kernel; silu is ``X * Sigmoid(X)`` in both dtypes,
since Swish only came with opset 24.

The onnx package is optional: it is imported inside these functions only,
so that ``import plainnet`` never imports it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Sequence

import numpy as np

from .reference import GELU_C, GELU_K, LEAKY_SLOPE

if TYPE_CHECKING:  # pragma: no cover - for the type checker only
    import onnx

# The lowest opset with every operator used here (Gelu: 20).
OPSET = 20
# What one ONNX file can hold: protobuf refuses messages of 2 GiB and more.
MAX_BYTES = 2**31 - 2**20

# What the export page's table shows (docs/user-guide/export.md): plainnet's activation
# -> its nodes, by dtype.
ONNX_NODES: dict[str, tuple[str, str]] = {
    "linear": ("(none)", "(none)"),
    "sigmoid": ("Sigmoid", "Sigmoid"),
    "tanh": ("Tanh", "Tanh"),
    "relu": ("Relu", "Relu"),
    "leaky_relu": (f"LeakyRelu(alpha={LEAKY_SLOPE})",
                   f"Where(Greater(z, 0), z, Mul(z, {LEAKY_SLOPE}))"),
    "elu": ("Elu(alpha=1.0)", "Where(Greater(z, 0), z, Sub(Exp(z), 1))"),
    "softplus": ("Softplus", "Add(Relu(z), Log(Add(Exp(Neg(Abs(z))), 1)))"),
    "silu": ("Mul(z, Sigmoid(z))", "Mul(z, Sigmoid(z))"),
    "gelu": ("Gelu(approximate='tanh')",
             "Mul(z, Sigmoid(2 * (0.7978845608028654 * (z + 0.044715 * z * z * z))))"),
    "mish": ("Mish", "Mul(z, Tanh(softplus(z))), softplus as above"),
    "softmax": ("Softmax(axis=-1)", "Softmax(axis=-1)"),
}


def _import_onnx(what: str) -> Any:
    try:
        import onnx
    except ImportError as exc:
        raise ImportError(f"{what} needs the onnx package, which is not installed ({exc}); "
                          f"install it with: pip install 'plainnet[onnx]'") from None
    return onnx


class _Graph:
    """Collects nodes and initializers, naming every tensor after its layer."""

    def __init__(self, onnx: Any, dtype: np.dtype) -> None:
        self.onnx = onnx
        self.dtype = dtype
        self.nodes: list[Any] = []
        self.initializers: list[Any] = []
        self._constants: dict[float, str] = {}

    def constant(self, value: float) -> str:
        """The name of a scalar initializer of the network's dtype holding value."""
        if value not in self._constants:
            name = f"const_{len(self._constants)}"
            self.initializers.append(self.onnx.numpy_helper.from_array(
                np.array(value, dtype=self.dtype), name))
            self._constants[value] = name
        return self._constants[value]

    def array(self, value: np.ndarray, name: str) -> str:
        self.initializers.append(self.onnx.numpy_helper.from_array(
            np.ascontiguousarray(value, dtype=self.dtype), name))
        return name

    def node(self, op: str, inputs: Sequence[str], output: str, **attrs: Any) -> str:
        self.nodes.append(self.onnx.helper.make_node(op, list(inputs), [output],
                                                     name=f"{output}_{op}", **attrs))
        return output


def _softplus64(g: _Graph, z: str, out: str) -> str:
    """max(z, 0) + log(1 + exp(-|z|)): exp never overflows, as plainnet computes it."""
    e = g.node("Exp", [g.node("Neg", [g.node("Abs", [z], f"{out}_abs")], f"{out}_neg")],
               f"{out}_exp")
    log = g.node("Log", [g.node("Add", [e, g.constant(1.0)], f"{out}_1p")], f"{out}_log")
    return g.node("Add", [g.node("Relu", [z], f"{out}_relu"), log], out)


def _where_positive(g: _Graph, z: str, negative: str, out: str) -> str:
    """z where z > 0, else `negative`: the form of leaky_relu and elu."""
    positive = g.node("Greater", [z, g.constant(0.0)], f"{out}_positive")
    return g.node("Where", [positive, z, negative], out)


Builder = Callable[[_Graph, str, str], str]


def _op(op: str, **attrs: Any) -> Builder:
    """The one ONNX operator of that name, from z to out."""
    def build(g: _Graph, z: str, out: str) -> str:
        return g.node(op, [z], out, **attrs)
    return build


def _silu(g: _Graph, z: str, out: str) -> str:
    return g.node("Mul", [z, g.node("Sigmoid", [z], f"{out}_sigmoid")], out)


def _leaky64(g: _Graph, z: str, out: str) -> str:
    return _where_positive(g, z, g.node("Mul", [z, g.constant(LEAKY_SLOPE)], f"{out}_neg"), out)


def _elu64(g: _Graph, z: str, out: str) -> str:
    e = g.node("Exp", [z], f"{out}_exp")
    return _where_positive(g, z, g.node("Sub", [e, g.constant(1.0)], f"{out}_expm1"), out)


def _gelu64(g: _Graph, z: str, out: str) -> str:
    """z * sigmoid(2 * (K * (z + C * z * z * z))), in the order plainnet computes it."""
    cz3 = g.node("Mul", [g.node("Mul", [g.node("Mul", [g.constant(GELU_C), z], f"{out}_cz"), z],
                                f"{out}_cz2"), z], f"{out}_cz3")
    u = g.node("Mul", [g.constant(GELU_K), g.node("Add", [z, cz3], f"{out}_inner")], f"{out}_u")
    two_u = g.node("Mul", [g.constant(2.0), u], f"{out}_2u")
    return g.node("Mul", [z, g.node("Sigmoid", [two_u], f"{out}_sigmoid")], out)


def _mish64(g: _Graph, z: str, out: str) -> str:
    t = g.node("Tanh", [_softplus64(g, z, f"{out}_softplus")], f"{out}_tanh")
    return g.node("Mul", [z, t], out)


# Each activation but linear: (float32 nodes, float64 nodes), from z to out.
# plainnet's gelu, z * sigmoid(2u) with u = sqrt(2/pi) (z + 0.044715 z^3), is
# 0.5 z (1 + tanh(u)): ONNX's Gelu with approximate="tanh". onnxruntime's
# double kernel of it is off by up to 5e-9, so float64 spells it out.
_BUILDERS: dict[str, tuple[Builder, Builder]] = {
    "sigmoid": (_op("Sigmoid"), _op("Sigmoid")),
    "tanh": (_op("Tanh"), _op("Tanh")),
    "relu": (_op("Relu"), _op("Relu")),
    "leaky_relu": (_op("LeakyRelu", alpha=LEAKY_SLOPE), _leaky64),
    "elu": (_op("Elu", alpha=1.0), _elu64),
    "softplus": (_op("Softplus"), _softplus64),
    "silu": (_silu, _silu),
    "gelu": (_op("Gelu", approximate="tanh"), _gelu64),
    "mish": (_op("Mish"), _mish64),
    "softmax": (_op("Softmax", axis=-1), _op("Softmax", axis=-1)),
}


def model(layers: Sequence[tuple[np.ndarray, np.ndarray]], acts: Sequence[str],
          dtype: np.dtype, doc: str = "") -> "onnx.ModelProto":
    """The ModelProto of a network's (W_l, b_l) and activations, checked by onnx.checker."""
    onnx = _import_onnx("to_onnx")
    from onnx import TensorProto, helper

    for i, act in enumerate(acts):
        if act != "linear" and act not in _BUILDERS:
            raise ValueError(f"to_onnx: activation {act!r} of layer {i} has no ONNX form; "
                             f"expected one of {', '.join(['linear', *_BUILDERS])}")
    nbytes = sum(W.size + b.size for W, b in layers) * dtype.itemsize
    if nbytes > MAX_BYTES:
        raise ValueError(f"to_onnx: the parameters take {nbytes} bytes, more than one ONNX "
                         f"file holds (2 GiB)")
    elem = {"float32": TensorProto.FLOAT, "float64": TensorProto.DOUBLE}[dtype.name]
    g = _Graph(onnx, dtype)
    x = "X"
    last = len(layers) - 1
    for i, ((W, b), act) in enumerate(zip(layers, acts)):
        out = "Y" if i == last else f"a{i}"
        z = out if act == "linear" else f"z{i}"
        x = g.node("Gemm", [x, g.array(W, f"W{i}"), g.array(b, f"b{i}")], z)
        if act != "linear":
            x = _BUILDERS[act][dtype == np.float64](g, z, out)
    inputs, outputs = layers[0][0].shape[0], layers[-1][0].shape[1]
    graph = helper.make_graph(g.nodes, "plainnet",
                              [helper.make_tensor_value_info("X", elem, ["N", inputs])],
                              [helper.make_tensor_value_info("Y", elem, ["N", outputs])],
                              initializer=g.initializers, doc_string=doc)
    from . import __version__

    proto = helper.make_model_gen_version(graph, opset_imports=[helper.make_opsetid("", OPSET)],
                                          producer_name="plainnet", producer_version=__version__)
    # The model's own doc_string is what tools show first (onnx.helper.printable_graph
    # prints the graph's; Netron and onnxruntime's model metadata read the model's):
    # both carry the description.
    proto.doc_string = doc
    onnx.checker.check_model(proto, full_check=True)
    return proto
