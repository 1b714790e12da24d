"""Digits: plainnet against scikit-learn's MLPClassifier (and PyTorch) on
scikit-learn's 8x8 handwritten digits: test accuracy, epochs and fit time.

    python bench/digits.py                    # 5 seeds, every installed peer
    python bench/digits.py --seeds 10 --threads 1
    python bench/digits.py --quick            # 1 seed
    python bench/digits.py --peers native,sklearn

The data: load_digits(), X / 16, train_test_split(test_size=0.25,
stratify=y, random_state=0): 1347 training rows, 450 test rows. For early
stopping, 10 % of the training rows are held out for validation the same way
(train_test_split(test_size=0.1, stratify=y_train, random_state=0): 1212 rows
to train on, 135 to validate on, every class in both in proportion).

Peers, each trained once per seed s on the same split:

    native   Network([64, 128, 10], activation="relu", output_activation="softmax",
             loss="cross_entropy", init="he", seed=s), fit with optim.Adam(lr=1e-3),
             batch_size=32, epochs=300, seed=s, validation_data=(the 135 rows),
             patience=10; the best epoch's weights are kept
    numpy    the same on backend="numpy": it must stop at the same epoch with the
             same test accuracy (and loss, to rtol 1e-6), else the run FAILS
    sklearn  MLPClassifier(random_state=s) with its defaults (100 relu units, Adam
             lr 1e-3, batches of 200, at most 200 iterations, alpha 1e-4)
    torch    the native network's initial weights in nn.Linear/nn.ReLU layers,
             nn.CrossEntropyLoss, torch.optim.Adam(lr=1e-3), batches of 32 reshuffled
             every epoch, on the same 1212 rows native trained on, for as many epochs
             as native ran; no validation, so its weights are the last epoch's

Accuracy and loss are measured on the 450 test rows (net.evaluate; sklearn's
log_loss; torch's CrossEntropyLoss). "epochs" is the number of epochs run
(sklearn: n_iter_, passes over the data) and "best" the epoch whose weights
were kept. Only the fit call is timed: each peer first makes one untimed warm-up
fit of a few epochs; each timed fit starts after an idle pause (--pause, so that
BLAS and OpenMP threads of the previous peer stop spinning) with Python's
garbage collector off. The seeds run in turn, each running every peer.
"""

from __future__ import annotations

import argparse
import datetime
import gc
import os
import statistics
import sys
import time
import warnings
from dataclasses import dataclass
from typing import Any, Callable, Optional

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import numpy as np  # noqa: E402

import machine  # noqa: E402
from peers import available  # noqa: E402

import plainnet as pn  # noqa: E402

PEERS = ("native", "numpy", "sklearn", "torch")
LAYERS = [64, 128, 10]
LR = 1e-3
BATCH = 32
EPOCHS = 300
VALIDATION = 0.1  # of the training rows, held out (stratified) for early stopping
PATIENCE = 10
WARMUP_EPOCHS = 3
RTOL_LOSS = 1e-6  # native vs numpy backend, test loss


@dataclass
class Data:
    X_train: np.ndarray  # all training rows (what sklearn trains on)
    X_test: np.ndarray
    y_train: np.ndarray
    y_test: np.ndarray
    X_fit: np.ndarray    # the training rows without the validation rows
    y_fit: np.ndarray
    X_val: np.ndarray    # held out from the training rows, for early stopping
    y_val: np.ndarray


@dataclass
class Run:
    peer: str
    seed: int
    accuracy: float
    loss: float
    epochs: int            # epochs run (sklearn: n_iter_)
    best: Optional[int]    # the epoch whose weights were kept (from 0), None when the last
    seconds: float         # the fit call alone
    note: str = ""


def load() -> Data:
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(
        X / 16.0, y, test_size=0.25, stratify=y, random_state=0)
    # validation_split would take the last rows, whatever their classes; a
    # stratified hold-out gives a steadier early-stopping signal on 135 rows.
    X_fit, X_val, y_fit, y_val = train_test_split(
        X_train, y_train, test_size=VALIDATION, stratify=y_train, random_state=0)
    return Data(X_train, X_test, y_train, y_test, X_fit, y_fit, X_val, y_val)


def timed(fit: Callable[[], Any], pause: float) -> tuple[Any, float]:
    """fit()'s result and its wall time, after an idle pause, with the collector off."""
    time.sleep(pause)
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        start = time.perf_counter()
        result = fit()
        elapsed = time.perf_counter() - start
    finally:
        if gc_was_enabled:
            gc.enable()
    return result, elapsed


def new_network(seed: int, backend: str = "native") -> pn.Network:
    return pn.Network(LAYERS, activation="relu", output_activation="softmax",
                      loss="cross_entropy", init="he", seed=seed, backend=backend)


def plainnet_fit(data: Data, seed: int, backend: str, pause: float,
                 epochs: int = EPOCHS) -> Run:
    net = new_network(seed, backend)
    history, seconds = timed(lambda: net.fit(
        data.X_fit, data.y_fit, optimizer=pn.optim.Adam(lr=LR), batch_size=BATCH,
        epochs=epochs, seed=seed, validation_data=(data.X_val, data.y_val),
        patience=PATIENCE), pause)
    result = net.evaluate(data.X_test, data.y_test)
    return Run(backend, seed, result["accuracy"], result["loss"], int(history.epoch_loss.size),
               history.best_epoch, seconds, "stopped early" if history.stopped_early else "")


def sklearn_fit(data: Data, seed: int, pause: float, max_iter: Optional[int] = None) -> Run:
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.metrics import log_loss
    from sklearn.neural_network import MLPClassifier

    model = MLPClassifier(random_state=seed)
    if max_iter is not None:
        model.set_params(max_iter=max_iter)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        _, seconds = timed(lambda: model.fit(data.X_train, data.y_train), pause)
    converged = not any(issubclass(w.category, ConvergenceWarning) for w in caught)
    accuracy = float(model.score(data.X_test, data.y_test))
    loss = float(log_loss(data.y_test, model.predict_proba(data.X_test), labels=model.classes_))
    return Run("sklearn", seed, accuracy, loss, int(model.n_iter_), None, seconds,
               "converged" if converged else "max_iter reached")


def torch_fit(data: Data, seed: int, epochs: int, pause: float) -> Run:
    import torch

    initial = new_network(seed)
    X = torch.from_numpy(np.ascontiguousarray(data.X_fit))
    y = torch.from_numpy(data.y_fit.astype(np.int64))
    modules: list[Any] = []
    for W, b in zip(initial.weights, initial.biases):
        lin = torch.nn.Linear(W.shape[0], W.shape[1], dtype=torch.float64)
        with torch.no_grad():  # nn.Linear keeps W as (outputs, inputs)
            lin.weight.copy_(torch.from_numpy(W.T.copy()))
            lin.bias.copy_(torch.from_numpy(b.copy()))
        modules += [lin, torch.nn.ReLU()]
    model = torch.nn.Sequential(*modules[:-1])  # logits: the loss applies the softmax
    loss_fn = torch.nn.CrossEntropyLoss()
    opt = torch.optim.Adam(model.parameters(), lr=LR)
    generator = torch.Generator().manual_seed(seed)

    def fit() -> None:
        for _ in range(epochs):
            order = torch.randperm(X.shape[0], generator=generator)
            for start in range(0, X.shape[0], BATCH):
                rows = order[start:start + BATCH]
                opt.zero_grad(set_to_none=True)
                loss_fn(model(X[rows]), y[rows]).backward()
                opt.step()

    _, seconds = timed(fit, pause)
    with torch.inference_mode():
        logits = model(torch.from_numpy(data.X_test))
        target = torch.from_numpy(data.y_test.astype(np.int64))
        loss = float(loss_fn(logits, target))
        accuracy = float((logits.argmax(dim=1) == target).double().mean())
    threads = torch.get_num_threads()
    return Run("torch", seed, accuracy, loss, epochs, None, seconds,
               f"{threads} thread{'s' if threads != 1 else ''}")


def warm_up(peer: str, data: Data) -> None:
    """One short untimed fit: the first call of a library pays for its start-up."""
    if peer in ("native", "numpy"):
        plainnet_fit(data, 0, peer, 0.0, epochs=WARMUP_EPOCHS)
    elif peer == "sklearn":
        sklearn_fit(data, 0, 0.0, max_iter=WARMUP_EPOCHS)
    else:
        torch_fit(data, 0, WARMUP_EPOCHS, 0.0)


def check_backends(runs: list[Run]) -> list[str]:
    """Why the numpy backend's runs differ from native's (empty when they agree)."""
    native = {r.seed: r for r in runs if r.peer == "native"}
    problems = []
    for r in runs:
        if r.peer != "numpy":
            continue
        ref = native[r.seed]
        same = (r.epochs == ref.epochs and r.best == ref.best and r.accuracy == ref.accuracy
                and abs(r.loss - ref.loss) <= RTOL_LOSS * abs(ref.loss))
        if not same:
            problems.append(f"seed {r.seed}: numpy backend {r.epochs} epochs, best {r.best}, "
                            f"accuracy {r.accuracy:.6f}, loss {r.loss:.10g}; native "
                            f"{ref.epochs}, {ref.best}, {ref.accuracy:.6f}, {ref.loss:.10g}")
    return problems


def _stats(values: list[float], fmt: str) -> str:
    return " | ".join(format(v, fmt) for v in (statistics.mean(values), min(values), max(values)))


def tables(runs: list[Run], peers: list[str]) -> str:
    lines = ["| peer | seed | test accuracy | test loss | epochs | best epoch | fit s | note |",
             "|---|---:|---:|---:|---:|---:|---:|---|"]
    for r in sorted(runs, key=lambda r: (peers.index(r.peer), r.seed)):
        best = "" if r.best is None else str(r.best)
        lines.append(f"| {r.peer} | {r.seed} | {r.accuracy:.4f} | {r.loss:.4f} | {r.epochs} | "
                     f"{best} | {r.seconds:.2f} | {r.note} |")
    lines += ["", "| peer | accuracy mean | min | max | epochs mean | min | max | "
                  "fit s mean | min | max | ms/epoch |",
              "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for peer in peers:
        rs = [r for r in runs if r.peer == peer]
        if not rs:
            continue
        per_epoch = 1e3 * sum(r.seconds for r in rs) / sum(r.epochs for r in rs)
        lines.append(f"| {peer} | {_stats([r.accuracy for r in rs], '.4f')} | "
                     f"{_stats([float(r.epochs) for r in rs], '.1f')} | "
                     f"{_stats([r.seconds for r in rs], '.2f')} | {per_epoch:.1f} |")
    return "\n".join(lines)


FOOTNOTE = (f"native, numpy and torch: batches of {BATCH} over the 1212 rows native trained on "
            f"(38 updates an epoch; native and numpy also evaluate the 135 validation rows "
            f"after each epoch); sklearn: batches of 200 over all 1347 training rows (7 updates "
            f"an epoch). ms/epoch = total fit time / total epochs.")


def parse(argv: Optional[list[str]]) -> argparse.Namespace:
    doc = __doc__ or ""
    p = argparse.ArgumentParser(description=doc.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter,
                                epilog="\n\n".join(doc.split("\n\n")[1:]))
    p.add_argument("--seeds", type=int, default=5, help="seeds 0 .. N-1 (default 5)")
    p.add_argument("--quick", action="store_true", help="one seed (as --seeds 1)")
    p.add_argument("--peers", default=None, metavar="NAMES",
                   help=f"comma-separated, from: {','.join(PEERS)} (default: all installed; "
                        f"torch comes after native, whose epochs it repeats)")
    p.add_argument("--pause", type=float, default=1.0,
                   help="idle seconds before each timed fit (default 1)")
    p.add_argument("--threads", type=int, default=None,
                   help="threads for every library: NumPy's BLAS (through threadpoolctl), "
                        "PyTorch and plainnet's core (default: each library's own)")
    args = p.parse_args(argv)
    if args.quick:
        args.seeds = 1
    if args.seeds < 1:
        p.error(f"--seeds: expected an integer >= 1, got {args.seeds}")
    if args.pause < 0:
        p.error(f"--pause: expected seconds >= 0, got {args.pause}")
    if args.threads is not None and args.threads < 1:
        p.error(f"--threads: expected an integer >= 1, got {args.threads}")
    if args.peers is None:
        args.skipped = {p: why for p in PEERS if (why := available(p)) is not None}
        args.peers = [p for p in PEERS if p not in args.skipped]
    else:
        names = list(dict.fromkeys(n for n in args.peers.split(",") if n))
        for n in names:
            if n not in PEERS:
                p.error(f"--peers: expected names among {','.join(PEERS)}, got {n!r}")
            if (why := available(n)) is not None:
                p.error(f"--peers: {n} cannot run: {why}")
        if "torch" in names and "native" not in names:
            p.error("--peers: torch runs as many epochs as native did; add native")
        args.peers = [n for n in PEERS if n in names]
        args.skipped = {}
    return args


def set_threads(n: int) -> Any:
    """Cap every library at n threads; returns threadpoolctl's limiter (keep it alive)."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError as exc:
        raise SystemExit(f"--threads: needs threadpoolctl ({exc}); pip install '.[bench]'")
    limiter = threadpool_limits(limits=n)
    try:
        import torch

        torch.set_num_threads(n)
    except ImportError:
        pass
    from plainnet import _core

    _core.set_num_threads(n)
    return limiter


def main(argv: Optional[list[str]] = None) -> int:
    args = parse(argv)
    if available("sklearn") is not None:
        raise SystemExit(f"digits: the data comes from scikit-learn: {available('sklearn')}")
    limiter = set_threads(args.threads) if args.threads is not None else None
    started = time.perf_counter()
    date = datetime.datetime.now().astimezone().isoformat(timespec="seconds")
    info = machine.collect()
    print("\n".join(machine.describe(info)))
    load_before = info["loadavg"]
    print(f"{date}; peers: {','.join(args.peers)}; seeds 0..{args.seeds - 1}; idle pause "
          f"{args.pause:g} s before each timed fit, one untimed warm-up per peer"
          + (f"; --threads {args.threads}" if args.threads else "")
          + (f"; load average {load_before[0]:.2f}" if isinstance(load_before, list) else ""))
    for peer, why in args.skipped.items():
        print(f"skipping {peer}: {why}")
    print(flush=True)

    data = load()
    for peer in args.peers:
        warm_up(peer, data)
    runs: list[Run] = []
    for seed in range(args.seeds):
        native: Optional[Run] = None
        for peer in args.peers:
            if peer in ("native", "numpy"):
                run = plainnet_fit(data, seed, peer, args.pause)
                native = run if peer == "native" else native
            elif peer == "sklearn":
                run = sklearn_fit(data, seed, args.pause)
            else:
                assert native is not None
                run = torch_fit(data, seed, native.epochs, args.pause)
            runs.append(run)
            print(f"  seed {seed} {peer}: accuracy {run.accuracy:.4f}, {run.epochs} epochs, "
                  f"{run.seconds:.2f} s", file=sys.stderr, flush=True)

    print(tables(runs, args.peers))
    print()
    print(FOOTNOTE)
    failures = check_backends(runs)
    if "numpy" in args.peers:
        print("native vs numpy backend (same epochs, best epoch and test accuracy, test loss "
              f"to rtol {RTOL_LOSS:g}): " + ("ok" if not failures else "FAILED"))
        for line in failures:
            print(f"  {line}")
    after = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"\ntotal {time.perf_counter() - started:.1f} s, load average {after:.2f}")
    del limiter
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
