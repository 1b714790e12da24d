"""One page's training session: its data, its Network, its optimizer and its views.

The session knows nothing of the web: the server turns messages into calls of
``configure``, ``train``, ``reset``, ``frame``, ``one_step``, ``script``,
``npz`` and ``weights``, and every mistake in a message comes back as a
ValueError or TypeError naming the field, which the server sends to the page.

Training is ``Network.fit`` on the same optimizer object, a few epochs at a
time: fit continues the optimizer's state and its mini-batch order, so a
session that trained N epochs in any number of pieces holds the weights of
one ``fit(..., epochs=N)`` with the same settings (the tests check this bit
for bit, and the "copy as Python" script is that one call).
"""

from __future__ import annotations

import base64
import inspect
import math
import tempfile
import time
from pathlib import Path
from typing import Any, Optional

import numpy as np

from .. import optim, reference
from .._diagnostics import failures_unreported
from ..network import ACTIVATIONS, BACKENDS, Network
from . import data as datamod

MAX_HIDDEN_LAYERS = 8
MAX_UNITS = 64
MAX_EPOCHS = 10**7            # epochs a session trains in all
MAX_EPOCHS_PER_CALL = 100_000
BOUNDARY_GRID = 48            # the output heatmap: 48 x 48 points
UNIT_GRID = 16                # each unit's small heatmap
MAX_CURVE_POINTS = 4000       # loss-curve points kept; older ones are thinned
INITS = ("normal", "xavier", "he")
OPTIMIZER_NAMES = ("sgd", "adam", "adamw", "rprop")
DRAW_DOMAIN = (-1.2, 1.2, -1.2, 1.2)
SOURCES = datamod.DATASETS + ("drawn", "csv", "user")

# The defaults: the seed tutorial's 2-4-1 sigmoid network on XOR, lr 2, full batch.
DEFAULT_CONFIG: dict[str, Any] = {
    "data": {"source": "xor", "points": 200, "noise": 0.1, "test_fraction": 0.5, "seed": 0,
             "classes": 2},
    "network": {"hidden": [4], "activations": ["sigmoid"], "loss": "mse", "init": "normal",
                "seed": 42},
    "training": {"optimizer": "sgd", "lr": 2.0, "momentum": 0.0, "weight_decay": 0.0,
                 "nesterov": False, "beta1": 0.9, "beta2": 0.999,
                 "batch_size": 0, "l2": 0.0, "stop_loss": 0.0},
    "backend": "native",
}


def _dict(value: Any, name: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise TypeError(f"{name}: expected an object, got {type(value).__name__}")
    return value


def _int(value: Any, name: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name}: expected an integer, got {type(value).__name__} {value!r}")
    if not low <= value <= high:
        raise ValueError(f"{name}: expected an integer in [{low}, {high}], got {value!r}")
    return value


def _num(value: Any, name: str, low: float, high: float, low_open: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name}: expected a number, got {type(value).__name__} {value!r}")
    v = float(value)
    if not math.isfinite(v) or v < low or v > high or (low_open and v == low):
        bracket = "(" if low_open else "["
        raise ValueError(f"{name}: expected a number in {bracket}{low}, {high}], got {value!r}")
    return v


def _choice(value: Any, name: str, options: tuple[str, ...]) -> str:
    if not isinstance(value, str) or value not in options:
        raise ValueError(f"{name}: expected one of {', '.join(options)}, got {value!r}")
    return value


def _merged(config: Any) -> dict[str, Any]:
    """The config with the defaults filled in for every missing section and field."""
    given = _dict(config, "config")
    unknown = set(given) - set(DEFAULT_CONFIG)
    if unknown:
        raise ValueError(f"config: unknown section {sorted(unknown)[0]!r}; expected "
                         f"{', '.join(DEFAULT_CONFIG)}")
    out: dict[str, Any] = {}
    for key, default in DEFAULT_CONFIG.items():
        if isinstance(default, dict):
            section = _dict(given.get(key, {}), key)
            known = set(default) | ({"drawn", "csv"} if key == "data" else set())
            extra = sorted(set(section) - known, key=str)
            if extra:
                raise ValueError(f"{key}: unknown field {str(extra[0])[:50]!r}; expected "
                                 f"{', '.join(sorted(known))}")
            out[key] = {**default, **section}
        else:
            out[key] = given.get(key, default)
    return out


def output_layer(kind: str, loss: str) -> tuple[int, str]:
    """(outputs, output activation) for a data kind and loss; ValueError if they don't go."""
    allowed = {"binary": ("mse", "binary_cross_entropy"), "multiclass": ("cross_entropy",),
               "regression": ("mse",)}[kind]
    if loss not in allowed:
        raise ValueError(f"loss: {kind} data takes {' or '.join(allowed)}, got {loss!r}")
    if kind == "regression":
        return 1, "linear"
    return 1, "sigmoid"


class Settings:
    """A checked config: what the data, network and training are."""

    def __init__(self, config: Any, user_data: Optional[datamod.Data] = None) -> None:
        c = _merged(config)
        d, n, t = c["data"], c["network"], c["training"]
        self.config = c
        source = _choice(d["source"], "data.source", SOURCES)
        self.source = source
        test_fraction = _num(d["test_fraction"], "data.test_fraction", 0.0, 0.9)
        data_seed = _int(d["seed"], "data.seed", 0, 2**32 - 1)
        self.data_call: str  # the Python that rebuilds the data
        if source in datamod.DATASETS:
            self.data = datamod.make(source, _int(d["points"], "data.points", 4,
                                                  datamod.MAX_POINTS),
                                     _num(d["noise"], "data.noise", 0.0, datamod.MAX_NOISE),
                                     test_fraction, data_seed,
                                     _int(d["classes"], "data.classes", 2, datamod.MAX_CLASSES))
            self.data_call = (f"data.make({source!r}, n={d['points']}, noise={float(d['noise'])!r}"
                              f", test_fraction={test_fraction!r}, seed={data_seed}, "
                              f"classes={d['classes']})")
            self.points: Optional[tuple[np.ndarray, np.ndarray]] = None
        else:
            if source == "user":
                if user_data is None:
                    raise ValueError("data.source: 'user' is only there when the playground "
                                     "was opened by plainnet.playground.show(X, y)")
                X = np.vstack([user_data.X, user_data.X_test])
                y = np.array(user_data.labels(user_data.y) + user_data.labels(user_data.y_test))
            elif source == "csv":
                X, y = datamod.parse_csv(d.get("csv"))
            else:
                pts = d.get("drawn")
                if not isinstance(pts, list):
                    raise TypeError(f"data.drawn: expected a list of [x, y, label] points, got "
                                    f"{type(pts).__name__}")
                if len(pts) > datamod.MAX_POINTS:
                    raise ValueError(f"data.drawn: at most {datamod.MAX_POINTS} points, "
                                     f"got {len(pts)}")
                for i, p in enumerate(pts):
                    if not (isinstance(p, list) and len(p) == 3):
                        raise TypeError(f"data.drawn[{i}]: expected [x, y, label], got {p!r}")
                    for j, v in enumerate(p):
                        _num(v, f"data.drawn[{i}][{j}]", -datamod.MAX_ABS_COORD,
                             datamod.MAX_ABS_COORD)
                arr = np.array(pts, dtype=np.float64).reshape(-1, 3)
                X, y = arr[:, :2], arr[:, 2]
            self.data = datamod.from_points(X, y, test_fraction, data_seed, f"data.{source}")
            self.points = (X, y)
            self.data_call = (f"data.from_points(X, y, test_fraction={test_fraction!r}, "
                              f"seed={data_seed})")

        hidden = n["hidden"]
        if not isinstance(hidden, list):
            raise TypeError(f"network.hidden: expected a list of layer widths, got "
                            f"{type(hidden).__name__}")
        if len(hidden) > MAX_HIDDEN_LAYERS:
            raise ValueError(f"network.hidden: at most {MAX_HIDDEN_LAYERS} hidden layers, "
                             f"got {len(hidden)}")
        self.hidden = [_int(u, f"network.hidden[{i}]", 1, MAX_UNITS) for i, u in enumerate(hidden)]
        acts = n["activations"]
        if not isinstance(acts, list) or len(acts) != len(self.hidden):
            raise ValueError(f"network.activations: expected a list of {len(self.hidden)} names "
                             f"(one per hidden layer), got {acts!r}")
        self.activations = [_choice(a, f"network.activations[{i}]", ACTIVATIONS)
                            for i, a in enumerate(acts)]
        kind = self.data.kind
        loss = _choice(n["loss"], "network.loss", ("auto", "mse", "binary_cross_entropy",
                                                   "cross_entropy"))
        if loss == "auto":  # the data's usual loss: the page sends it when the data changes
            loss = "cross_entropy" if kind == "multiclass" else "mse"
            n["loss"] = loss
        if kind == "multiclass":
            outputs, out_act = self.data.classes, "softmax"
            if loss != "cross_entropy":
                raise ValueError(f"network.loss: {self.data.classes} classes take "
                                 f"cross_entropy, got {loss!r}")
        else:
            try:
                outputs, out_act = output_layer(kind, loss)
            except ValueError as exc:
                raise ValueError(f"network.{exc}") from None
        self.loss = loss
        self.layers = [2, *self.hidden, outputs]
        self.all_activations = [*self.activations, out_act]
        self.init = _choice(n["init"], "network.init", INITS)
        self.seed = _int(n["seed"], "network.seed", 0, 2**32 - 1)

        self.optimizer_name = _choice(t["optimizer"], "training.optimizer", OPTIMIZER_NAMES)
        self.lr = _num(t["lr"], "training.lr", 0.0, 100.0, low_open=True)
        self.momentum = _num(t["momentum"], "training.momentum", 0.0, 0.999)
        self.weight_decay = _num(t["weight_decay"], "training.weight_decay", 0.0, 1.0)
        if not isinstance(t["nesterov"], bool):
            raise TypeError(f"training.nesterov: expected true or false, got {t['nesterov']!r}")
        self.nesterov = t["nesterov"]
        self.betas = (_num(t["beta1"], "training.beta1", 0.0, 0.9999),
                      _num(t["beta2"], "training.beta2", 0.0, 0.999999))
        bs = _int(t["batch_size"], "training.batch_size", 0, datamod.MAX_POINTS)
        self.batch_size: Optional[int] = None if bs == 0 or bs >= len(self.data.X) else bs
        self.l2 = _num(t["l2"], "training.l2", 0.0, 100.0)
        # play pauses once the test loss is below this (0: never)
        self.stop_loss = _num(t["stop_loss"], "training.stop_loss", 0.0, 1e6)
        self.backend = _choice(c["backend"], "backend", BACKENDS)
        self.make_optimizer()  # its own checks, now rather than at the first step

    def make_optimizer(self) -> optim.Optimizer:
        if self.optimizer_name == "sgd":
            try:
                return optim.SGD(self.lr, momentum=self.momentum, nesterov=self.nesterov,
                                 weight_decay=self.weight_decay)
            except ValueError as exc:
                raise ValueError(f"training.{exc}") from None
        if self.optimizer_name == "adam":
            return optim.Adam(self.lr, betas=self.betas, weight_decay=self.weight_decay)
        if self.optimizer_name == "adamw":
            return optim.AdamW(self.lr, betas=self.betas, weight_decay=self.weight_decay)
        return optim.Rprop(self.lr)

    def optimizer_call(self) -> str:
        if self.optimizer_name == "sgd":
            return (f"pn.optim.SGD({self.lr!r}, momentum={self.momentum!r}, "
                    f"nesterov={self.nesterov!r}, weight_decay={self.weight_decay!r})")
        if self.optimizer_name in ("adam", "adamw"):
            cls = "Adam" if self.optimizer_name == "adam" else "AdamW"
            return (f"pn.optim.{cls}({self.lr!r}, betas={self.betas!r}, "
                    f"weight_decay={self.weight_decay!r})")
        return f"pn.optim.Rprop({self.lr!r})"

    def network(self) -> Network:
        return Network(self.layers, activation=self.all_activations, loss=self.loss,
                       init=self.init, seed=self.seed, backend=self.backend)

    def same_network(self, other: "Settings") -> bool:
        """Whether other draws the same initial weights (reset keeps them then)."""
        return (self.layers, self.all_activations, self.loss, self.init, self.seed) == \
            (other.layers, other.all_activations, other.loss, other.init, other.seed)


def _source_of(obj: Any) -> str:
    try:
        return inspect.getsource(obj).rstrip()
    except (OSError, TypeError):  # pragma: no cover - a build without sources
        return f"# (source of {getattr(obj, '__name__', obj)!r} not available)"


def _rounded(a: np.ndarray, digits: int = 6) -> list[Any]:
    out: list[Any] = np.round(np.asarray(a, dtype=np.float64), digits).tolist()
    return out


class Session:
    """One page's run: data, network, optimizer, epoch count and loss curves."""

    settings: Settings
    initial: Network   # the weights reset goes back to
    net: Network
    opt: optim.Optimizer

    def __init__(self, user_data: Optional[datamod.Data] = None) -> None:
        self.user_data = user_data
        self.speeds: dict[str, float] = {}
        if user_data is None:
            self.configure({})
        else:  # show(X, y)'s data, split as show was asked to
            share = len(user_data.X_test) / (len(user_data.X) + len(user_data.X_test))
            self.configure({"data": {"source": "user", "test_fraction": round(share, 3)}})

    # ------------------------------------------------------------ setup

    def configure(self, config: Any) -> None:
        """A new setup; the run starts again (from the same weights if the network is the same)."""
        settings = Settings(config, self.user_data)
        old = getattr(self, "settings", None)
        if old is not None and settings.same_network(old):
            initial = self.initial.with_backend(settings.backend)
        else:
            initial = settings.network()
        self.settings = settings
        self.initial = initial
        self.backends_used = {settings.backend}
        self.reset()

    def reset(self) -> None:
        """Back to epoch 0 and the initial weights, with a fresh optimizer."""
        self.net = self.initial.with_backend(self.settings.backend)
        self.opt = self.settings.make_optimizer()
        self.epoch = 0
        self.curve: dict[str, list[float]] = {"epoch": [], "train": [], "test": []}
        self.backends_used = {self.settings.backend}
        self._record()

    def set_backend(self, name: Any) -> None:
        backend = _choice(name, "backend", BACKENDS)
        self.net = self.net.with_backend(backend)
        self.initial = self.initial.with_backend(backend)
        self.settings.backend = backend
        self.settings.config["backend"] = backend
        self.backends_used.add(backend)

    # ------------------------------------------------------------ training

    def train(self, epochs: int) -> float:
        """Train ``epochs`` more epochs; returns the seconds it took."""
        epochs = _int(epochs, "epochs", 1, MAX_EPOCHS_PER_CALL)
        if self.epoch + epochs > MAX_EPOCHS:
            raise ValueError(f"epochs: a run trains at most {MAX_EPOCHS} epochs")
        s, d = self.settings, self.settings.data
        start = time.perf_counter()
        try:
            with failures_unreported():  # the page shows the run; no warning per call
                self.net.fit(d.X, d.y, optimizer=self.opt, epochs=epochs,
                             batch_size=s.batch_size, seed=s.seed, l2=s.l2)
        except FloatingPointError as exc:
            # fit kept the last finite weights; count the epochs it completed before them
            history = getattr(exc, "history", None)
            if history is not None and history.iterations_per_epoch:
                self.epoch += history.iterations // history.iterations_per_epoch
            self._record()
            raise
        took = time.perf_counter() - start
        self.epoch += epochs
        if took > 0:
            self.speeds[s.backend] = epochs / took
        self._record()
        return took

    def reached_stop_loss(self) -> bool:
        """Whether the test loss (the training loss without a test set) is below stop_loss."""
        if self.settings.stop_loss <= 0:
            return False
        value = self.metrics["test_loss"]
        if value is None:
            value = self.metrics["train_loss"]
        return value is not None and value < self.settings.stop_loss

    def _losses(self) -> dict[str, Optional[float]]:
        d = self.settings.data
        out: dict[str, Optional[float]] = {}
        for name, X, y in (("train", d.X, d.y), ("test", d.X_test, d.y_test)):
            if len(X) == 0:
                out[f"{name}_loss"], out[f"{name}_accuracy"] = None, None
                continue
            r = self.net.evaluate(X, y)
            out[f"{name}_loss"] = r["loss"]
            out[f"{name}_accuracy"] = r.get("accuracy")
        if self.settings.loss == "mse" and d.kind == "binary":
            for name, X, y in (("train", d.X, d.y), ("test", d.X_test, d.y_test)):
                if len(X):
                    out[f"{name}_accuracy"] = float(((self.net.forward(X) > 0.5) == (y > 0.5))
                                                    .mean())
        return out

    def _record(self) -> None:
        self.metrics = self._losses()
        c = self.curve
        c["epoch"].append(float(self.epoch))
        c["train"].append(math.nan if self.metrics["train_loss"] is None
                          else float(self.metrics["train_loss"]))
        c["test"].append(math.nan if self.metrics["test_loss"] is None
                         else float(self.metrics["test_loss"]))
        if len(c["epoch"]) > MAX_CURVE_POINTS:  # keep every other point, and the last
            for key in c:
                c[key] = c[key][::2] if len(c[key]) % 2 else c[key][::2] + c[key][-1:]

    # ------------------------------------------------------------ views

    def data_message(self) -> dict[str, Any]:
        d = self.settings.data
        return {"type": "data", "kind": d.kind, "classes": d.classes,
                "domain": self.domain(),
                "train": {"x": _rounded(d.X), "label": d.labels(d.y)},
                "test": {"x": _rounded(d.X_test), "label": d.labels(d.y_test)},
                "layers": self.settings.layers,
                "activations": self.settings.all_activations,
                "config": self.settings.config}

    def domain(self) -> tuple[float, float, float, float]:
        """The plane drawn: fixed for drawn points (so that clicks land where they were
        made), else around the points."""
        if self.settings.source == "drawn":
            return DRAW_DOMAIN
        return datamod.domain(self.settings.data)

    def _grid(self, size: int) -> np.ndarray:
        x0, x1, y0, y1 = self.domain()
        xs = np.linspace(x0, x1, size)
        ys = np.linspace(y1, y0, size)  # row 0 at the top
        gx, gy = np.meshgrid(xs, ys)
        return np.column_stack([gx.ravel(), gy.ravel()])

    def frame(self, units: bool = True) -> dict[str, Any]:
        """What the page draws: the output over the plane, every unit, weights, curves."""
        net = self.net
        out = net.forward(self._grid(BOUNDARY_GRID))
        kind = self.settings.data.kind
        if kind == "multiclass":
            boundary = {"class": np.argmax(out, axis=1).tolist(),
                        "value": _rounded(out.max(axis=1), 3)}
        else:
            boundary = {"value": _rounded(out[:, 0], 4)}
        frame: dict[str, Any] = {
            "type": "frame", "epoch": self.epoch, **self.metrics,
            "boundary": {"size": BOUNDARY_GRID, **boundary},
            "speeds": {k: round(v, 1) for k, v in self.speeds.items()},
            "backend": self.settings.backend,
            "weights": [_rounded(W, 4) for W in net.weights],
            "biases": [_rounded(b, 4) for b in net.biases],
            "curve": {k: [None if isinstance(v, float) and math.isnan(v) else v for v in vals]
                      for k, vals in self.curve.items()},
        }
        if units:
            maps = []
            for _, a in net.forward_trace(self._grid(UNIT_GRID)):
                layer = []
                for j in range(a.shape[1]):
                    col = a[:, j]
                    lo, hi = float(col.min()), float(col.max())
                    span = hi - lo if hi > lo else 1.0
                    q = np.clip(np.round((col - lo) / span * 255), 0, 255).astype(np.uint8)
                    layer.append({"min": lo, "max": hi,
                                  "q": base64.b64encode(q.tobytes()).decode("ascii")})
                maps.append(layer)
            frame["units"] = {"size": UNIT_GRID, "maps": maps}
        return frame

    # ------------------------------------------------------------ one step, in numbers

    def one_step(self, point: Any) -> dict[str, Any]:
        """The next step's numbers on one training point (its index) or the batch (None).

        Forward values, loss, gradients and the optimizer's update, layer by
        layer, computed on a copy (the run does not move), with the source
        lines of plainnet.reference that compute each.
        """
        d, s = self.settings.data, self.settings
        if point is None:
            X, y = d.X, d.y
            rows = "the whole training set" if s.batch_size is None else \
                "the whole training set (training takes mini-batches of it)"
        else:
            i = _int(point, "point", 0, len(d.X) - 1)
            X, y = d.X[i:i + 1], d.y[i:i + 1]
            rows = f"training point {i}"
        trace = self.net.forward_trace(X)
        dW, db = self.net.gradients(X, y)
        if s.l2 > 0:  # fit's penalty l2 / (2m) * sum ||W||^2 (gradients() leaves it out)
            dW = [g + s.l2 / len(X) * W for g, W in zip(dW, self.net.weights)]
        trial = self.net.copy()
        trial.fit(X, y, optimizer=self.opt.copy(), epochs=1, batch_size=None, seed=s.seed,
                  l2=s.l2)
        before_w, before_b = self.net.weights, self.net.biases
        loss_value = self.net.evaluate(X, y)["loss"]
        if s.l2 > 0:
            loss_value += 0.5 * s.l2 * sum(float((W * W).sum()) for W in before_w) / len(X)
        show = 12  # rows of values shown per array
        layers = []
        for l, ((z, a), act) in enumerate(zip(trace, s.all_activations)):
            layers.append({
                "layer": l, "activation": act,
                "z": _rounded(z[:show]), "a": _rounded(a[:show]),
                "dW": _rounded(dW[l]), "db": _rounded(db[l]),
                "W": _rounded(before_w[l]), "b": _rounded(before_b[l]),
                "update_W": _rounded(trial.weights[l] - before_w[l], 9),
                "update_b": _rounded(trial.biases[l] - before_b[l], 9),
            })
        act_pair = [reference.ACTIVATION_TABLE.get(a) for a in s.all_activations]
        loss_line = reference.LOSS_TABLE[s.loss]
        sources = {
            "forward": _source_of(reference.forward_trace),
            "dense_forward": _source_of(reference.dense_forward),
            "activations": {a: _source_of(p[0]) for a, p in zip(s.all_activations, act_pair)
                            if p is not None},
            "softmax": _source_of(reference.softmax_forward),
            "loss": _source_of(loss_line[0]),
            "loss_gradient": _source_of(loss_line[1]),
            "backward": _source_of(reference._backward),
            "activation_backward": _source_of(reference.activation_backward),
            "derivatives": {a: _source_of(p[1]) for a, p in zip(s.all_activations, act_pair)
                            if p is not None},
            "dense_backward": _source_of(reference.dense_backward),
            "l2": _source_of(reference._add_l2),
            "update": _source_of(reference.OPTIMIZER_TABLE[s.optimizer_name][1]),
        }
        return {"type": "one_step", "rows": rows, "count": len(X), "shown": min(show, len(X)),
                "x": _rounded(X[:show]), "target": d.labels(y[:show]), "loss": loss_value,
                "loss_name": s.loss, "optimizer": s.optimizer_name, "layers": layers,
                "source": sources, "epoch": self.epoch}

    # ------------------------------------------------------------ take away

    def npz(self) -> bytes:
        """The network as ``Network.save`` writes it (optimizer state included)."""
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "playground.npz"
            self.net.save(path)
            return path.read_bytes()

    def weights(self) -> dict[str, Any]:
        """The exact weights (JSON floats round-trip), for checks."""
        return {"type": "weights", "epoch": self.epoch,
                "weights": [W.tolist() for W in self.net.weights],
                "biases": [b.tolist() for b in self.net.biases]}

    def script(self) -> str:
        """A Python script that rebuilds the data and network and trains to these weights."""
        s = self.settings
        lines = ["# The plainnet playground's run, as a script: the same data, network and",
                 f"# training ({self.epoch} epochs), which reach the same weights.",
                 "import sys", "", "import numpy as np", "", "import plainnet as pn",
                 "from plainnet.playground import data", ""]
        if s.points is not None:
            X, y = s.points
            lines.append(f"X = np.array({np.asarray(X).tolist()!r})")
            lines.append(f"y = np.array({np.asarray(y).tolist()!r})")
        lines += [f"d = {s.data_call}",
                  f"net = pn.Network({s.layers!r}, activation={s.all_activations!r}, "
                  f"loss={s.loss!r},",
                  f"                 init={s.init!r}, seed={s.seed}, backend={s.backend!r})",
                  f"optimizer = {s.optimizer_call()}"]
        if len(self.backends_used) > 1:
            lines.append("# (the run switched backends: the weights agree to about 1e-12)")
        if self.epoch > 0:
            lines.append(f"history = net.fit(d.X, d.y, optimizer=optimizer, epochs={self.epoch}, "
                         f"batch_size={s.batch_size!r}, seed={s.seed}, l2={s.l2!r})")
        lines += ["print('train', net.evaluate(d.X, d.y))",
                  "if len(d.X_test):",
                  "    print('test', net.evaluate(d.X_test, d.y_test))",
                  "net.save(sys.argv[1] if len(sys.argv) > 1 else 'playground-network.npz')", ""]
        return "\n".join(lines)


def npz_base64(session: Session) -> str:
    return base64.b64encode(session.npz()).decode("ascii")


def load_npz(blob: bytes) -> Network:
    """A network from .npz bytes (for tests and the Python side)."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "n.npz"
        path.write_bytes(blob)
        return Network.load(path)

