"""A network as a ``torch.nn.Sequential``, and such a Sequential as a network.

The Sequential is ``nn.Linear`` layers, each followed by the torch module that
computes the layer's activation exactly as plainnet does (the table below), or
by nothing for ``"linear"``. ``nn.Linear`` stores its weight as (outputs,
inputs), the transpose of plainnet's ``W_l`` (inputs, outputs).

PyTorch is optional: it is imported inside these functions only, so that
``import plainnet`` never imports it.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, Optional, Sequence

import numpy as np

from .reference import LEAKY_SLOPE

if TYPE_CHECKING:  # pragma: no cover - for the type checker only
    import torch

# torch.nn.Softplus returns z itself once z * beta > threshold. Above
# log(2 / eps), log(1 + exp(-z)) is below half an ulp of z, so from there on
# plainnet's softplus is z too: a threshold in [log(2 / eps), log(max)] gives
# plainnet's function (above log(max), exp(z) overflows below the threshold).
# Exports use torch's default 20 in float32 and 40 in float64.
SOFTPLUS_THRESHOLD = {"float32": 20.0, "float64": 40.0}


def softplus_thresholds(dtype: np.dtype) -> tuple[float, float]:
    """The thresholds of nn.Softplus(beta=1) that compute plainnet's softplus in dtype."""
    info = np.finfo(dtype)
    return math.log(2 / float(info.eps)), math.log(float(info.max))


# What the export page's table shows (docs/user-guide/export.md): plainnet's activation
# -> the torch module.
TORCH_MODULES: dict[str, str] = {
    "linear": "(none)",
    "sigmoid": "nn.Sigmoid()",
    "tanh": "nn.Tanh()",
    "relu": "nn.ReLU()",
    "leaky_relu": f"nn.LeakyReLU(negative_slope={LEAKY_SLOPE})",
    "elu": "nn.ELU(alpha=1.0)",
    "softplus": "nn.Softplus(beta=1.0, threshold=20.0 in float32, 40.0 in float64)",
    "silu": "nn.SiLU()",
    "gelu": "nn.GELU(approximate='tanh')",
    "mish": "nn.Mish()",
    "softmax": "nn.Softmax(dim=-1)",
}


def _missing(what: str, exc: ImportError) -> ImportError:
    return ImportError(f"{what} needs PyTorch, which is not installed ({exc}); "
                       f"install it with: pip install 'plainnet[torch]'")


def _module_for(act: str, dtype: np.dtype) -> Optional["torch.nn.Module"]:
    """The torch module computing plainnet's activation `act`; None for "linear"."""
    import torch.nn as nn

    modules: dict[str, Any] = {
        "linear": lambda: None,
        "sigmoid": nn.Sigmoid,
        "tanh": nn.Tanh,
        "relu": nn.ReLU,
        "leaky_relu": lambda: nn.LeakyReLU(negative_slope=LEAKY_SLOPE),
        "elu": lambda: nn.ELU(alpha=1.0),
        "softplus": lambda: nn.Softplus(beta=1.0, threshold=SOFTPLUS_THRESHOLD[dtype.name]),
        "silu": nn.SiLU,
        "gelu": lambda: nn.GELU(approximate="tanh"),
        "mish": nn.Mish,
        "softmax": lambda: nn.Softmax(dim=-1),
    }
    if act not in modules:
        raise ValueError(f"to_torch: no torch module computes activation {act!r}")
    module: Optional[torch.nn.Module] = modules[act]()
    return module


def to_torch(layers: Sequence[tuple[np.ndarray, np.ndarray]], acts: Sequence[str],
             dtype: np.dtype, dropout: Sequence[float] = ()) -> "torch.nn.Sequential":
    """The Sequential of (W_l, b_l) copies and activations, its parameters in dtype.

    A hidden layer with a dropout rate p > 0 gets ``nn.Dropout(p)`` after its
    activation: where plainnet applies it, to the layer's output.
    """
    try:
        import torch
    except ImportError as exc:
        raise _missing("to_torch", exc) from None
    nn = torch.nn
    torch_dtype = {"float32": torch.float32, "float64": torch.float64}[dtype.name]
    modules: list[torch.nn.Module] = []
    state: dict[str, torch.Tensor] = {}
    for (W, b), act in zip(layers, acts):
        at = len(modules)
        # On the meta device: no initial values are drawn, so torch's global
        # generator is left as it was; load_state_dict(assign=True) gives the values.
        modules.append(nn.Linear(W.shape[0], W.shape[1], device="meta", dtype=torch_dtype))
        state[f"{at}.weight"] = torch.from_numpy(np.ascontiguousarray(W.T))
        state[f"{at}.bias"] = torch.from_numpy(np.ascontiguousarray(b))
        module = _module_for(act, dtype)
        if module is not None:
            modules.append(module)
        layer = len(state) // 2 - 1
        if layer < len(dropout) and dropout[layer] > 0:
            modules.append(nn.Dropout(p=float(dropout[layer])))
    model: torch.nn.Sequential = nn.Sequential(*modules)
    model.load_state_dict(state, strict=True, assign=True)
    return model


# ------------------------------------------------------------------ import


def _describe(module: Any) -> str:
    return f"nn.{type(module).__name__}" if type(module).__module__.startswith("torch.nn") \
        else type(module).__qualname__


_ACTIVATION_KINDS = ("nn.Sigmoid, nn.Tanh, nn.ReLU, nn.LeakyReLU, nn.ELU, nn.Softplus, nn.SiLU, "
                     "nn.GELU, nn.Mish, nn.Softmax (last), nn.Identity")


def _activation_of(module: Any, where: str, dtype: np.dtype) -> Optional[str]:
    """plainnet's name for an activation module, None if it is no activation module.

    A module of a known kind whose arguments make it compute another function
    (another slope, the exact gelu, ...) is refused with ValueError.
    """
    import torch.nn as nn

    kind = type(module)  # exact types: a subclass may compute something else
    simple = {nn.Sigmoid: "sigmoid", nn.Tanh: "tanh", nn.ReLU: "relu", nn.SiLU: "silu",
              nn.Mish: "mish", nn.Identity: "linear"}
    if kind in simple:
        return simple[kind]

    def refuse(got: str, expected: str) -> ValueError:
        return ValueError(f"{where}: {got} computes another function than plainnet's; "
                          f"expected {expected}")

    if kind is nn.LeakyReLU:
        if module.negative_slope != LEAKY_SLOPE:
            raise refuse(f"nn.LeakyReLU(negative_slope={module.negative_slope})",
                         f"nn.LeakyReLU(negative_slope={LEAKY_SLOPE})")
        return "leaky_relu"
    if kind is nn.ELU:
        if module.alpha != 1.0:
            raise refuse(f"nn.ELU(alpha={module.alpha})", "nn.ELU(alpha=1.0)")
        return "elu"
    if kind is nn.GELU:
        if module.approximate != "tanh":
            raise refuse(f"nn.GELU(approximate={module.approximate!r}) (the exact, erf form)",
                         "nn.GELU(approximate='tanh'), plainnet's gelu")
        return "gelu"
    if kind is nn.Softplus:
        low, high = softplus_thresholds(dtype)
        got = f"nn.Softplus(beta={module.beta}, threshold={module.threshold})"
        if module.beta != 1:
            raise refuse(got, "beta=1")
        if not low <= module.threshold <= high:
            raise refuse(got + f" in {dtype.name}",
                         f"beta=1 and a threshold in [{low:.2f}, {high:.2f}] for {dtype.name} "
                         f"(nn.Softplus(threshold={SOFTPLUS_THRESHOLD[dtype.name]})): above its "
                         f"threshold nn.Softplus returns z itself, and log(1 + exp(-z)) is "
                         f"still visible in {dtype.name} below {low:.2f}; above {high:.2f}, "
                         f"exp(z) overflows to inf below the threshold")
        return "softplus"
    if kind is nn.Softmax:
        if module.dim not in (1, -1):
            raise refuse(f"nn.Softmax(dim={module.dim})",
                         "nn.Softmax(dim=-1) or dim=1, over each row's outputs")
        return "softmax"
    return None


def _dtype_of(linears: Sequence[tuple[str, Any]]) -> np.dtype:
    """The one float dtype of every nn.Linear's parameters, float32 or float64."""
    import torch

    known: dict[Any, np.dtype] = {torch.float32: np.dtype(np.float32),
                                  torch.float64: np.dtype(np.float64)}
    found: dict[Any, str] = {}
    for where, linear in linears:
        for name in ("weight", "bias"):
            tensor = getattr(linear, name)
            if tensor.dtype not in known:
                raise ValueError(f"{where}.{name}: expected float32 or float64 parameters, got "
                                 f"{tensor.dtype}; convert the model with model.float() or "
                                 f"model.double() first")
            found.setdefault(tensor.dtype, f"{where}.{name}")
    if len(found) > 1:
        mixed = ", ".join(f"{dt} ({where})" for dt, where in found.items())
        raise ValueError(f"model: expected parameters of one dtype, got {mixed}; convert the "
                         f"model with model.float() or model.double() first")
    dtype: np.dtype = known[next(iter(found))]
    return dtype


_HOOKS = ("_forward_hooks", "_forward_pre_hooks", "_backward_hooks", "_backward_pre_hooks",
          "_state_dict_hooks", "_load_state_dict_pre_hooks")
_GLOBAL_HOOKS = ("_global_forward_hooks", "_global_forward_pre_hooks", "_global_backward_hooks",
                 "_global_backward_pre_hooks")


def _refuse_hooks(module: Any, where: str) -> None:
    """ValueError if a hook could change what the module computes (or torch's, globally)."""
    from torch.nn.modules import module as torch_module

    for attr in _HOOKS[:4]:
        if getattr(module, attr, None):
            kind = attr.strip("_").replace("_", " ")[:-1]
            raise ValueError(f"{where}: has a {kind} registered ({_describe(module)}); a hook "
                             f"may change what it computes, which plainnet cannot import: "
                             f"remove it (handle.remove()) first")
    for attr in _GLOBAL_HOOKS:
        if getattr(torch_module, attr, None):
            kind = attr[len("_global_"):].replace("_", " ")[:-1]
            raise ValueError(f"model: a global module {kind} is registered in torch "
                             f"(torch.nn.modules.module.register_module_{kind}); it may change "
                             f"what every module computes: remove it first")


def _dense(tensor: Any, where: str) -> Any:
    """The tensor, if it holds real values plainnet can read: dense, strided, not on 'meta'."""
    import torch

    if tensor.layout is not torch.strided or tensor.is_sparse:
        raise ValueError(f"{where}: expected a dense tensor, got layout {tensor.layout}; "
                         f"convert it with .to_dense() first")
    if tensor.is_meta or tensor.device.type == "meta":
        raise ValueError(f"{where}: is on the 'meta' device, which holds no values; load the "
                         f"model's weights (model.to_empty(device='cpu') and load_state_dict) "
                         f"first")
    if tensor.is_quantized or tensor.is_complex():
        raise ValueError(f"{where}: expected real float values, got {tensor.dtype}")
    return tensor


def probe(model: Any, weights: list[np.ndarray], biases: list[np.ndarray], acts: list[str],
          dtype: np.dtype, forward: Any) -> None:
    """Run ``model`` and the imported network (``forward``) on a small probe batch.

    The last line of defence of ``from_torch``: anything that makes the model
    compute something else than its modules say (a hook, an overridden
    method, shared state) shows up as a difference beyond rounding, and the
    import is refused.
    """
    import torch

    n_in = weights[0].shape[0]
    rng = np.random.RandomState(12345)
    x = rng.standard_normal((4, n_in)).astype(dtype)
    with torch.no_grad():
        was_training = model.training
        model.eval()
        try:
            expected = model(torch.from_numpy(x)).detach().cpu().numpy()
        except Exception as exc:  # the model's own failure: it cannot be checked
            raise ValueError(f"model: running it on a probe batch of 4 rows failed "
                             f"({type(exc).__name__}: {exc})") from None
        finally:
            model.train(was_training)
    got = forward(x)
    if expected.shape != got.shape:
        raise ValueError(f"model: on a probe batch it returns shape {expected.shape}, the "
                         f"imported network {got.shape}; it computes something other than "
                         f"its modules")
    # The two differ by the rounding of each layer's products; scale by the
    # sizes of the numbers involved, layer by layer.
    eps = float(np.finfo(dtype).eps)
    width = max(max(W.shape) for W in weights)
    scale = 1.0 + float(np.abs(expected).max(initial=0.0))
    tolerance = 64 * eps * width * len(weights) * scale
    diff = float(np.abs(expected.astype(np.float64) - got.astype(np.float64)).max(initial=0.0))
    if not diff <= tolerance:
        raise ValueError(f"model: on a probe batch its outputs differ from the imported "
                         f"network's by {diff:.3g} (rounding allows {tolerance:.3g}): something "
                         f"in it (a hook, an overridden forward, shared parameters) changes "
                         f"what its modules compute, which plainnet cannot import")


def _dropout_rate(module: Any, where: str) -> float:
    """p of an nn.Dropout, which plainnet's dropout can hold: in [0, 1)."""
    p = float(module.p)
    if not 0.0 <= p < 1.0:
        raise ValueError(f"{where}: nn.Dropout(p={module.p}) drops every unit; plainnet's "
                         f"dropout takes p in [0, 1)")
    return p


def from_torch(model: Any) -> tuple[list[np.ndarray], list[np.ndarray], list[str], np.dtype,
                                    list[float]]:
    """(weights, biases, activations, dtype, dropout) of a Sequential of nn.Linear + activations.

    A hidden layer's activation (or the layer itself, when it has none) may
    be followed by one ``nn.Dropout``, read as that layer's dropout rate.

    Anything else is refused: TypeError for a model that is not an
    ``nn.Sequential``, ValueError naming the module and its place for contents
    plainnet cannot hold.
    """
    try:
        import torch
    except ImportError as exc:
        raise _missing("from_torch", exc) from None
    nn = torch.nn
    if type(model) is not nn.Sequential:
        what = ("a subclass of nn.Sequential (its forward may differ)"
                if isinstance(model, nn.Sequential) else _describe(model))
        raise TypeError(f"model: expected a torch.nn.Sequential of nn.Linear layers, each "
                        f"followed by at most one activation module, got {what}")
    # model._modules, not named_children(): that skips a module met a second time.
    children = list(model._modules.items())
    if not children:
        raise ValueError("model: expected at least one nn.Linear, got an empty nn.Sequential")
    _refuse_hooks(model, "model")
    seen: dict[int, str] = {}
    for i, (name, module) in enumerate(children):
        where = f"model[{name}]" if name == str(i) else f"model[{i}] ({name!r})"
        if module is None:
            raise ValueError(f"{where}: expected a module, got None")
        if id(module) in seen:
            raise ValueError(f"{where}: is the same {_describe(module)} instance as "
                             f"{seen[id(module)]}; plainnet imports a Sequential whose modules "
                             f"are all distinct (make a new module for each place)")
        seen[id(module)] = where
        _refuse_hooks(module, where)

    # The structure first: which module is a Linear, which follows one.
    linears: list[tuple[str, Any]] = []
    followers: list[Optional[tuple[str, Any]]] = []
    drops: list[Optional[tuple[str, Any]]] = []
    for i, (name, module) in enumerate(children):
        where = f"model[{name}]" if name == str(i) else f"model[{i}] ({name!r})"
        if type(module) is nn.Dropout and linears:
            if drops[-1] is not None:
                raise ValueError(f"{where}: nn.Dropout follows {drops[-1][0]} (nn.Dropout); "
                                 f"each layer may have at most one")
            drops[-1] = (where, module)
            continue
        if drops and drops[-1] is not None and type(module) is not nn.Linear:
            raise ValueError(f"{where}: {_describe(module)} follows {drops[-1][0]} "
                             f"(nn.Dropout); plainnet applies dropout to a layer's output, "
                             f"after its activation: put the activation first")
        if type(module) is nn.Linear:
            if module.bias is None:
                raise ValueError(f"{where}: nn.Linear({module.in_features}, "
                                 f"{module.out_features}, bias=False) has no bias; plainnet's "
                                 f"layers always have one (use bias=True)")
            if linears and module.in_features != linears[-1][1].out_features:
                raise ValueError(f"{where}: nn.Linear takes {module.in_features} inputs, but "
                                 f"the layer before gives {linears[-1][1].out_features}")
            linears.append((where, module))
            followers.append(None)
            drops.append(None)
        elif not linears:
            raise ValueError(f"{where}: expected nn.Linear first, got {_describe(module)}")
        elif followers[-1] is not None:
            before = followers[-1][0]
            raise ValueError(f"{where}: {_describe(module)} follows {before} "
                             f"({_describe(followers[-1][1])}); each nn.Linear may be followed "
                             f"by at most one activation module")
        else:
            followers[-1] = (where, module)

    if drops[-1] is not None:
        raise ValueError(f"{drops[-1][0]}: nn.Dropout after the output layer; plainnet's "
                         f"dropout is on the hidden layers' outputs only")
    rates = [0.0 if d is None else _dropout_rate(d[1], d[0]) for d in drops[:-1]]
    dtype = _dtype_of(linears)
    acts: list[str] = []
    for follower in followers:
        if follower is None:
            acts.append("linear")
            continue
        where, module = follower
        act = _activation_of(module, where, dtype)
        if act is None:
            raise ValueError(f"{where}: {_describe(module)} is not a layer plainnet has; "
                             f"expected nn.Linear or one of the activation modules "
                             f"{_ACTIVATION_KINDS}")
        acts.append(act)

    weights: list[np.ndarray] = []
    biases: list[np.ndarray] = []
    for where, linear in linears:
        for name, out in (("weight", weights), ("bias", biases)):
            tensor = _dense(linear.get_parameter(name), f"{where}.{name}")
            expected = ((linear.out_features, linear.in_features) if name == "weight"
                        else (linear.out_features,))
            if tuple(tensor.shape) != expected:
                raise ValueError(f"{where}.{name}: expected shape {expected} for "
                                 f"nn.Linear({linear.in_features}, {linear.out_features}), got "
                                 f"{tuple(tensor.shape)}")
            array = tensor.detach().cpu().numpy().copy()
            if not np.isfinite(array).all():
                raise ValueError(f"{where}.{name}: expected finite values, got NaN or Inf")
            out.append(array.T.copy() if name == "weight" else array)
    return weights, biases, acts, dtype, rates
