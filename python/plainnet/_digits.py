"""``python -m plainnet digits``: a real dataset, end to end.

Trains ``plainnet.sklearn.MLPClassifier`` on scikit-learn's 8x8 handwritten
digits, and ``sklearn.neural_network.MLPClassifier`` with the same
hyper-parameters on the same split, and prints their test accuracy, fit time
and epochs side by side; the loss and validation-accuracy curves of both go
into a figure when matplotlib is installed.

scikit-learn provides the data (``load_digits``, shipped with it: nothing is
downloaded) and the comparison, so the command needs it; it is imported here,
when the command runs, never by ``import plainnet``.
"""

from __future__ import annotations

import argparse
import math
import sys
import textwrap
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Optional, Sequence

import numpy as np

from . import __version__
from . import _checks as check

SPLIT_SEED = 0         # the train/test split is the same on every run, whatever --seed
TEST_SIZE = 0.25
HIDDEN = (128,)
MAX_ITER = 200
SEED = 0
DEFAULT_PLOT = Path("plainnet-report") / "digits.png"  # beside the experiments' figures
INSTALL = 'pip install "plainnet[sklearn]"'
WIDTH = 88  # of the printed paragraphs

# The hyper-parameters both models get, besides hidden_layer_sizes, max_iter and
# random_state (the command's options). Early stopping keeps the run short and
# each model's best epoch: 10 % of the training images are held out, and training
# stops after 10 epochs in a row without a better validation accuracy.
FIXED: dict[str, Any] = {
    "activation": "relu", "solver": "adam", "learning_rate_init": 1e-3, "batch_size": 32,
    "alpha": 1e-4, "early_stopping": True, "validation_fraction": 0.1, "n_iter_no_change": 10,
    "tol": 1e-4,
}

Argument = Callable[[Callable[[str], Any], str, Callable[[Any], Any]], Callable[[str], Any]]


# ---------------------------------------------------------------- arguments


def _hidden_sizes(text: str) -> tuple[int, ...]:
    return tuple(int(p) for p in text.split(","))  # a ValueError: argparse says what it expected


def _check_hidden(sizes: tuple[int, ...]) -> None:
    for s in sizes:
        check.integer(s, "hidden", 1)


def _plot_path(text: str) -> Path:
    """A file name whose suffix matplotlib can write (checked when matplotlib is there)."""
    if not text:
        raise argparse.ArgumentTypeError("expected a file name, got ''")
    path = Path(text)
    formats = _figure_formats()
    if formats is not None and path.suffix.lstrip(".").lower() not in formats:
        raise argparse.ArgumentTypeError(
            f"expected a file name ending in one of {', '.join('.' + f for f in formats)}, "
            f"got {text!r}")
    return path


def _figure_formats() -> Optional[list[str]]:
    """The file formats matplotlib writes, or None without matplotlib."""
    from .experiments.report import matplotlib_missing

    if matplotlib_missing() is not None:
        return None
    from matplotlib.backend_bases import FigureCanvasBase

    return sorted(FigureCanvasBase.get_supported_filetypes())


def add_arguments(parser: argparse.ArgumentParser, backends: Sequence[str],
                  argument: Argument) -> None:
    """The digits command's options; ``argument`` makes an argparse type from a check."""
    parser.add_argument("--hidden", type=argument(_hidden_sizes, "ints separated by commas",
                                                  _check_hidden),
                        default=HIDDEN, metavar="N[,N...]",
                        help=f"hidden layer sizes, e.g. 128 or 256,64 (default "
                             f"{','.join(map(str, HIDDEN))})")
    parser.add_argument("--max-iter",
                        type=argument(int, "an int", lambda v: check.integer(v, "max_iter", 1)),
                        default=MAX_ITER, metavar="N",
                        help=f"most epochs to train, if early stopping does not end it first "
                             f"(default {MAX_ITER})")
    parser.add_argument("--seed", type=argument(int, "an int", check.init_seed), default=SEED,
                        help=f"random_state of both models: initial weights, shuffling and the "
                             f"early-stopping hold-out (default {SEED}); the train/test split "
                             f"stays the same")
    parser.add_argument("--dtype", choices=("float64", "float32"), default="float64",
                        help="floating-point type of the data, and so of both models "
                             "(default float64)")
    parser.add_argument("--backend", choices=backends, default="native",
                        help="plainnet's backend: native (C++, default) or numpy")
    parser.add_argument("--no-sklearn", action="store_true",
                        help="train plainnet's model only, without scikit-learn's to compare")
    plots = parser.add_mutually_exclusive_group()
    plots.add_argument("--plot", type=_plot_path, default=None, metavar="PATH",
                       help=f"where the figure of the loss and validation curves goes (default "
                            f"{DEFAULT_PLOT}, beside the experiments' figures; needs matplotlib)")
    plots.add_argument("--no-plot", action="store_true", help="draw no figure")


def check_arguments(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """What argparse cannot check alone: a figure asked for by name needs matplotlib."""
    from .experiments.report import PLOTS_HINT, matplotlib_missing

    missing = matplotlib_missing()
    if args.plot is not None and missing is not None:
        parser.error(f"argument --plot: drawing the figure needs matplotlib ({missing}); "
                     f"{PLOTS_HINT}")


def sklearn_missing() -> Optional[str]:
    """None when scikit-learn and plainnet's estimators import, else why not."""
    try:
        import sklearn.datasets  # noqa: F401
        import sklearn.neural_network  # noqa: F401

        from . import sklearn as _estimators  # noqa: F401
    except ImportError as exc:
        return str(exc) or type(exc).__name__
    return None


# ---------------------------------------------------------------- the data and the models


@dataclass
class Data:
    X_train: np.ndarray
    X_test: np.ndarray
    y_train: np.ndarray
    y_test: np.ndarray
    images: int
    classes: np.ndarray
    per_class: np.ndarray


def load(dtype: str) -> Data:
    """The digits, pixels / 16 (into [0, 1]), split 75/25 by class with SPLIT_SEED."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    X, y = load_digits(return_X_y=True)
    X = (X / 16.0).astype(dtype)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=TEST_SIZE, stratify=y, random_state=SPLIT_SEED)
    classes, counts = np.unique(y, return_counts=True)
    return Data(X_train, X_test, y_train, y_test, len(y), classes, counts)


def hyper_parameters(args: argparse.Namespace) -> dict[str, Any]:
    """What both MLPClassifiers are given, in scikit-learn's names."""
    return {"hidden_layer_sizes": tuple(args.hidden), **FIXED, "max_iter": args.max_iter,
            "random_state": args.seed}


def estimators(args: argparse.Namespace) -> list[tuple[str, Any]]:
    """(name, unfitted model): plainnet's, then scikit-learn's unless --no-sklearn."""
    import sklearn
    from sklearn.neural_network import MLPClassifier as SkMLPClassifier

    from .sklearn import MLPClassifier

    params = hyper_parameters(args)
    models: list[tuple[str, Any]] = [
        ("plainnet", MLPClassifier(**params, dtype=args.dtype, backend=args.backend))]
    if not args.no_sklearn:
        models.append((f"scikit-learn {sklearn.__version__}", SkMLPClassifier(**params)))
    return models


@dataclass
class Fitted:
    """One model after its timed fit."""

    name: str
    model: Any
    seconds: float
    accuracy: float
    reached_max_iter: bool

    @property
    def best_epoch(self) -> int:
        """The epoch (from 1) whose weights the model kept: its best validation accuracy."""
        scores = self.model.validation_scores_
        return int(np.argmax(scores)) + 1


def fit(name: str, model: Any, data: Data) -> Fitted:
    """Warm up on one untimed epoch, then time ``model.fit`` alone (wall clock)."""
    from sklearn.base import clone
    from sklearn.exceptions import ConvergenceWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clone(model).set_params(max_iter=1).fit(data.X_train, data.y_train)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        start = time.perf_counter()
        model.fit(data.X_train, data.y_train)
        seconds = time.perf_counter() - start
    reached = False
    for w in caught:  # the ConvergenceWarning becomes a line of the table; others are shown
        if issubclass(w.category, ConvergenceWarning):
            reached = True
        else:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    return Fitted(name, model, seconds, float(model.score(data.X_test, data.y_test)), reached)


# ---------------------------------------------------------------- what is printed


def _paragraph(text: str, indent: str = "") -> str:
    return textwrap.fill(text, WIDTH, initial_indent=indent, subsequent_indent=indent,
                         break_on_hyphens=False)


def describe(data: Data, params: dict[str, Any], args: argparse.Namespace) -> str:
    """The data, the split, the network and its training, for someone new to them."""
    n_train, n_test = len(data.y_train), len(data.y_test)
    inputs = data.X_train.shape[1]
    hidden = params["hidden_layer_sizes"]
    layers = [inputs, *hidden, len(data.classes)]
    n_params = sum(a * b + b for a, b in zip(layers[:-1], layers[1:]))
    held_out = math.ceil(params["validation_fraction"] * n_train)
    units = (f"one hidden layer of {hidden[0]} {params['activation']} units" if len(hidden) == 1
             else f"hidden layers of {', '.join(map(str, hidden[:-1]))} and {hidden[-1]} "
                  f"{params['activation']} units")
    call = ", ".join(f"{k}={v!r}" for k, v in params.items())
    parts = [
        f"The data: scikit-learn's handwritten digits, {data.images:,} grayscale images of 8x8 "
        f"pixels (the {inputs} inputs, each 0-16), in {len(data.classes)} classes, the digits "
        f"{data.classes[0]}-{data.classes[-1]} ({data.per_class.min()}-"
        f"{data.per_class.max()} images each).",
        f"The split: {n_train:,} images to train on, {n_test:,} to test on "
        f"({1 - TEST_SIZE:.0%}/{TEST_SIZE:.0%}, stratified by class, random_state {SPLIT_SEED}: "
        f"the same every run); pixels divided by 16, into [0, 1]"
        + ("." if args.no_sklearn else ", for both models."),
        "",
        f"The network: {'-'.join(map(str, layers))} ({n_params:,} parameters): {units}, a "
        f"softmax over the {len(data.classes)} classes, trained on the cross-entropy plus an L2 "
        f"penalty (alpha {params['alpha']:g}), in {args.dtype}.",
        f"Training: Adam, learning rate {params['learning_rate_init']:g}, batches of "
        f"{params['batch_size']}, at most {params['max_iter']} epochs. Early stopping: "
        f"{held_out} of the training images ({params['validation_fraction']:.0%}) are held "
        f"out, training stops after {params['n_iter_no_change']} epochs in a row without a "
        f"better validation accuracy, and the best epoch's weights are kept.",
        "",
    ]
    if args.no_sklearn:
        parts.append(f"plainnet.sklearn.MLPClassifier({call}, backend={args.backend!r})")
    else:
        parts += [
            "Both models get the same hyper-parameters:",
            _paragraph(f"MLPClassifier({call})", "  "),
            f"(plainnet's with backend={args.backend!r} too). The random_state seeds each "
            f"library's own draws (initial weights, shuffling, the hold-out), so the two start "
            f"from different weights, and their accuracies differ by chance as well as by "
            f"method.",
        ]
    return "\n".join(p if p.startswith("  ") else _paragraph(p) for p in parts)


def table(fits: Sequence[Fitted]) -> str:
    """The results side by side, one column a model."""
    from .experiments._base import format_table

    def stopped(f: Fitted) -> str:
        return "max_iter reached" if f.reached_max_iter else "early stopping"

    rows: list[tuple[str, Callable[[Fitted], str]]] = [
        ("test accuracy", lambda f: f"{f.accuracy:.4f}"),
        ("fit time, s", lambda f: f"{f.seconds:.2f}"),
        ("epochs run (n_iter_)", lambda f: str(f.model.n_iter_)),
        ("time per epoch, ms", lambda f: f"{1e3 * f.seconds / f.model.n_iter_:.1f}"),
        ("best epoch (weights kept)", lambda f: str(f.best_epoch)),
        ("best validation accuracy", lambda f: f"{f.model.best_validation_score_:.4f}"),
        ("final training loss", lambda f: f"{f.model.loss_:.4f}"),
        ("stopped by", stopped),
    ]
    return format_table(["", *(f.name for f in fits)],
                        [[label, *(cell(f) for f in fits)] for label, cell in rows],
                        align="l" + "r" * len(fits))


def ratio(ours: Fitted, theirs: Fitted) -> str:
    """How the fit times compare, whole fits and per epoch."""
    whole = theirs.seconds / ours.seconds
    per_epoch = (theirs.seconds / theirs.model.n_iter_) / (ours.seconds / ours.model.n_iter_)
    return (f"Fit time ratio, scikit-learn / plainnet: {whole:.1f} for the whole fit, "
            f"{per_epoch:.1f} per epoch.")


# ---------------------------------------------------------------- the figure


def plot(fits: Sequence[Fitted], path: Path, title: str) -> None:
    """Each model's training loss and validation accuracy per epoch, written to ``path``."""
    from .experiments._base import line_styles, new_figure

    fig = new_figure(10.0, 4.0)
    loss_ax, val_ax = fig.subplots(1, 2)
    for f, style in zip(fits, line_styles(len(fits))):
        epochs = np.arange(1, f.model.n_iter_ + 1)
        loss_ax.plot(epochs, f.model.loss_curve_, label=f.name, **style)
        val_ax.plot(epochs, f.model.validation_scores_,
                    label=f"{f.name} (test accuracy {f.accuracy:.4f})", **style)
        val_ax.plot([f.best_epoch], [f.model.best_validation_score_], "o",
                    color=style["color"])
    loss_ax.set_yscale("log")
    loss_ax.set_title("training loss (cross-entropy + L2)")
    val_ax.set_title("validation accuracy (dot: the best epoch, kept)")
    for ax in (loss_ax, val_ax):
        ax.set_xlabel("epoch")
        ax.grid(True, alpha=0.3)
        ax.legend()
    fig.suptitle(f"scikit-learn's digits, a {title} network: " + " and ".join(f.name for f in fits))
    fig.savefig(path, dpi=100)


# ---------------------------------------------------------------- the command


def _cannot_write(path: Path, exc: OSError) -> int:
    print(f"error: cannot write the figure to {path}: {exc}", file=sys.stderr)
    return 2


def from_args(args: argparse.Namespace) -> int:
    missing = sklearn_missing()
    if missing is not None:
        print(f"error: python -m plainnet digits needs scikit-learn, for the data and the "
              f"comparison ({missing}); install it with: {INSTALL}", file=sys.stderr)
        return 2
    from .experiments.report import PLOTS_HINT, matplotlib_missing

    no_matplotlib = matplotlib_missing()
    path: Optional[Path] = None
    if not args.no_plot and no_matplotlib is None:
        path = args.plot if args.plot is not None else DEFAULT_PLOT
        try:  # before training, so that a figure that cannot be written costs nothing
            if path.is_dir():
                raise IsADirectoryError(f"{path} is a directory")
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            return _cannot_write(path, exc)

    data = load(args.dtype)
    params = hyper_parameters(args)
    print(f"plainnet {__version__}: handwritten digits, plainnet's MLPClassifier"
          + ("" if args.no_sklearn else " next to scikit-learn's") + "\n")
    print(describe(data, params, args))
    print("\n" + _paragraph("Timed: each model's fit() call alone, wall clock "
                            "(time.perf_counter), after an untimed one-epoch fit that pays for "
                            "the first call. Other work on the machine slows both.") + "\n")

    fits = []
    for name, model in estimators(args):
        print(f"  training {name} ...", end="", flush=True)
        try:
            fits.append(fit(name, model, data))
        except BaseException:
            print(flush=True)  # the line ends before the error is told
            raise
        print(f" {fits[-1].seconds:.2f} s", flush=True)
    print()
    print(table(fits))
    if len(fits) == 2:
        print("\n" + ratio(fits[0], fits[1]))
    if any(f.reached_max_iter for f in fits):
        print(_paragraph("max_iter reached: training ran all --max-iter epochs before early "
                         "stopping could end it (scikit-learn warns with a ConvergenceWarning "
                         "then); more epochs may do better."))

    if args.no_plot:
        return 0
    if path is None:
        print(f"\nnote: the figure is skipped ({no_matplotlib}); {PLOTS_HINT}")
        return 0
    layers = [data.X_train.shape[1], *params["hidden_layer_sizes"], len(data.classes)]
    try:
        plot(fits, path, "-".join(map(str, layers)))
    except OSError as exc:
        return _cannot_write(path, exc)
    print(f"\nfigure: {path} (training loss and validation accuracy per epoch)")
    return 0
