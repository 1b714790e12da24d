"""Command line: ``python -m plainnet xor`` trains the tutorial's XOR network;
``python -m plainnet experiments`` runs the tutorial's claims as experiments;
``python -m plainnet digits`` trains a classifier on scikit-learn's handwritten
digits next to scikit-learn's own; ``python -m plainnet playground`` opens the
playground in the browser."""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any, Callable, Optional, Sequence

import numpy as np

from . import __version__, datasets
from . import _checks as check
from . import _digits
from .network import ACTIVATIONS, BACKENDS, Network


def _printable(text: str) -> bool:
    try:
        text.encode(sys.stdout.encoding or "ascii")
        return True
    except (UnicodeEncodeError, LookupError):
        return False


def _marks() -> tuple[str, str]:
    """Check and cross marks, or plain words where the terminal can't show them."""
    return ("✓", "✗") if _printable("✓✗") else ("ok", "WRONG")


def _table(X: np.ndarray, y: np.ndarray, pred: np.ndarray, rounded: bool) -> str:
    right, wrong = _marks()
    head = "  input    target   prediction" + ("   rounded" if rounded else "")
    lines = [head]
    for xi, yi, pi in zip(X, y, pred):
        row = f"  {str(xi.tolist()):<8} {int(yi[0]):>6}   {pi[0]:>10.4f}"
        if rounded:
            r = int(round(float(pi[0])))
            row += f"   {r:>7}   {right if r == int(yi[0]) else wrong}"
        lines.append(row)
    return "\n".join(lines)


def _argument(convert: Callable[[str], Any], expected: str,
              check_value: Callable[[Any], Any]) -> Callable[[str], Any]:
    """An argparse type: text converted, then checked by the rule the Python API uses."""

    def parse(text: str) -> Any:
        try:
            value = convert(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}") from None
        try:
            check_value(value)
        except (ValueError, TypeError) as exc:
            # the API's message names its own argument ("lr: ..."); argparse names --lr
            raise argparse.ArgumentTypeError(str(exc).split(": ", 1)[-1]) from None
        return value

    return parse


def _epochs(value: int) -> None:
    check.integer(value, "epochs", minimum=0)
    check.iterations(len(datasets.xor()[0]), value, 0)


def _check_lr_fits_dtype(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """A float32 network needs an lr that stays finite and > 0 in float32."""
    try:
        check.learning_rate(args.lr, np.dtype(args.dtype))
    except ValueError as exc:
        parser.error(f"argument --lr: {str(exc).split(': ', 1)[-1]}")


def xor(args: argparse.Namespace) -> int:
    X, y = datasets.xor()
    layers = [2, args.hidden, 1]
    net = Network(layers, activation=args.activation, seed=args.seed, dtype=args.dtype,
                  backend=args.backend)
    print(f"plainnet {__version__}: XOR with a {'-'.join(map(str, layers))} {args.activation} "
          f"network ({net.num_parameters} parameters, backend {net.backend}, {net.dtype.name})\n")
    print("The data: the output is 1 when the inputs differ. No straight line separates")
    print("the 1s from the 0s, so the network needs a hidden layer.\n")
    print("   A  B   A xor B")
    for xi, yi in zip(X, y):
        print(f"   {xi[0]}  {xi[1]}      {yi[0]}")

    print(f"\nBefore training (random weights, seed {args.seed}):")
    print(_table(X, y, net.forward(X), rounded=False))
    print(f"  loss (MSE): {net.loss(X, y):.6f}\n")

    if args.epochs == 0:
        print("Training: none (--epochs 0), no iterations run; the weights stay as drawn.")
    else:
        print(f"Training: {args.epochs} iteration{'s' if args.epochs != 1 else ''} of full-batch "
              f"gradient descent, lr {args.lr}")
        start = time.perf_counter()
        history = net.fit(X, y, lr=args.lr, epochs=args.epochs, log_every=args.log_every)
        elapsed = time.perf_counter() - start
        per_iter = elapsed / history.iterations * 1e6
        micro = "µs" if _printable("µ") else "us"
        print(f"  ... done in {elapsed * 1e3:.1f} ms ({per_iter:.2f} {micro} per iteration)")

    pred = net.forward(X)
    correct = int((np.round(pred) == y).sum())
    print("\nAfter training:" if args.epochs else "\nUntrained, rounded:")
    print(_table(X, y, pred, rounded=True))
    # the loss of the weights in the table (History.final_loss is the loss before the
    # last update, and there is none when no iteration ran)
    print(f"  loss (MSE): {net.loss(X, y):.6f}; {correct} of {len(y)} correct")
    return 0


def _playground(args: argparse.Namespace) -> int:
    if args.port > 65535:
        print(f"error: --port: expected 0 to 65535, got {args.port}", file=sys.stderr)
        return 2
    from . import playground

    try:
        return playground.serve(args.host, args.port, open_browser=not args.no_browser)
    except ImportError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"error: cannot listen on {args.host}:{args.port}: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 0


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m plainnet",
                                     description="Small neural networks, explained and fast.")
    parser.add_argument("--version", action="version", version=f"plainnet {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    p = sub.add_parser("xor", help="train the tutorial's 2-4-1 network on XOR")
    # Every argument is checked here, before anything is printed: a bad one ends
    # with argparse's usage line and "error: argument --NAME: ..." (exit status 2).
    p.add_argument("--hidden", type=_argument(int, "an int", lambda v: check.integer(v, "hidden", 1)),
                   default=4, help="hidden neurons (default 4)")
    p.add_argument("--activation", choices=ACTIVATIONS, default="sigmoid")
    p.add_argument("--lr", type=_argument(float, "a number", check.learning_rate_value),
                   default=2.0, help="learning rate (default 2.0)")
    p.add_argument("--epochs", type=_argument(int, "an int", _epochs), default=10000,
                   help="iterations (default 10000; 0 shows the untrained network)")
    p.add_argument("--seed", type=_argument(int, "an int", check.init_seed), default=42,
                   help="seed of the initial weights (default 42)")
    p.add_argument("--log-every",
                   type=_argument(int, "an int", lambda v: check.integer(v, "log_every", 0)),
                   default=2000, help="print the loss every N iterations (default 2000; 0: never)")
    p.add_argument("--dtype", choices=("float64", "float32"), default="float64")
    p.add_argument("--backend", choices=BACKENDS, default="native")
    e = sub.add_parser("experiments", help="run the tutorial's claims as experiments and write "
                       "a report (figures, results.json, report.html)",
                       description="Run the tutorial's claims as experiments, print a table and "
                       "a verdict for each, and write figures, results.json and report.html. "
                       "The native backend takes well under a minute; --backend numpy computes "
                       "the same numbers in pure NumPy and takes many minutes (mostly "
                       "xor-reliability's 4,800 trainings).")
    from .experiments import report

    report.add_arguments(e, BACKENDS)
    d = sub.add_parser("digits", help="train plainnet's MLPClassifier on scikit-learn's "
                       "handwritten digits next to scikit-learn's (needs scikit-learn)",
                       description="Train plainnet.sklearn.MLPClassifier and scikit-learn's "
                       "MLPClassifier with the same hyper-parameters on the same split of "
                       "scikit-learn's 8x8 handwritten digits (1,797 images, 10 classes), and "
                       "print their test accuracy, fit time and epochs side by side; the loss "
                       "and validation-accuracy curves go into a figure when matplotlib is "
                       f'installed. Needs scikit-learn: {_digits.INSTALL}.')
    _digits.add_arguments(d, BACKENDS, _argument)
    g = sub.add_parser("playground", help="watch a network learn in the browser, trained by "
                       "plainnet in a local server (needs plainnet[playground])",
                       description="Start the playground's local server and open the browser "
                       "on it. The one line printed is its URL, with the random token every "
                       "request needs. Ctrl-C stops it.")
    g.add_argument("--no-browser", action="store_true", help="print the URL, open no browser")
    g.add_argument("--port", type=_argument(int, "an int",
                                            lambda v: check.integer(v, "port", 0)),
                   default=0, help="port to listen on (default 0: a free one)")
    g.add_argument("--host", default="127.0.0.1",
                   help="address to listen on (default 127.0.0.1: this machine only)")
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    if args.command == "xor":
        _check_lr_fits_dtype(p, args)
    if args.command == "digits":
        _digits.check_arguments(d, args)
    try:
        if args.command == "experiments":
            return report.from_args(args)
        if args.command == "digits":
            return _digits.from_args(args)
        if args.command == "playground":
            return _playground(args)
        return xor(args)
    except (ValueError, TypeError, FloatingPointError, MemoryError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
