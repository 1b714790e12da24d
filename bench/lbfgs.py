"""solver="lbfgs": plainnet's estimators against scikit-learn's, on its small data sets.

    python bench/lbfgs.py [--repeats 5] [--pause 0.15] [--blas-threads N] [--seeds 0,1,2]
                          [--sets iris,wine,digits,diabetes] [--evaluations 200]

For each of scikit-learn's iris, wine, digits (MLPClassifier) and diabetes
(MLPRegressor, the target standardised), the features standardised, both
libraries' estimators with solver="lbfgs" and their defaults otherwise
(hidden_layer_sizes=(100,), alpha=1e-4, max_iter=200, tol=1e-4) are fitted
with each random_state of --seeds. Both run scipy's L-BFGS-B with the same
options; plainnet evaluates the objective and its gradient with one native
call (Network.fit_lbfgs), scikit-learn with NumPy.

Each fit runs once untimed (the warm-up), then --repeats timed runs, the two
libraries interleaved, each run after an idle pause of --pause seconds. The
table shows per data set and seed the best fit time of each, the ratio
sklearn/plainnet, the iterations each took (the initial weights differ, so the
searches differ), the time per iteration, and the final loss_ and training
score of each. --blas-threads limits OpenBLAS (threadpoolctl), which both
scipy's L-BFGS-B and scikit-learn's products use; by default its own count.

A fit's time is mostly scipy's and the evaluations', in proportions that the
number of iterations and the machine's load move; so a second table times
one evaluation of the objective and its gradient alone, at the same weights
(scikit-learn's initial ones for the first seed): plainnet's core
(``_core.loss_and_gradient``) against scikit-learn's ``_loss_grad_lbfgs``
(a private method, the one its lbfgs calls), best of --repeats runs of
--evaluations calls each. The two must agree first: the objective to rtol
1e-12 and the gradient to 1e-9, else the row says FAILED.
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import time
import warnings
from typing import Any, Iterator, Optional

import numpy as np

SETS = ("iris", "wine", "digits", "diabetes")


def dataset(name: str) -> tuple[np.ndarray, np.ndarray]:
    from sklearn import datasets
    from sklearn.preprocessing import StandardScaler
    X, y = getattr(datasets, f"load_{name}")(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    if name == "diabetes":
        y = (y - y.mean()) / y.std()
    return X, y


def estimator(library: str, name: str, seed: int) -> Any:
    if library == "plainnet":
        from plainnet import sklearn as module
    else:
        from sklearn import neural_network as module
    cls = module.MLPRegressor if name == "diabetes" else module.MLPClassifier
    return cls(solver="lbfgs", random_state=seed)


def fit_once(library: str, name: str, seed: int, X: np.ndarray, y: np.ndarray
             ) -> tuple[float, Any]:
    from sklearn.exceptions import ConvergenceWarning
    est = estimator(library, name, seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # diabetes reaches max_iter
        start = time.perf_counter()
        est.fit(X, y)
        took = time.perf_counter() - start
    return took, est


@contextlib.contextmanager
def blas_threads(count: Optional[int]) -> Iterator[None]:
    if count is None:
        yield
        return
    from threadpoolctl import threadpool_limits
    with threadpool_limits(limits=count, user_api="blas"):
        yield


def evaluations(name: str, X: np.ndarray, y: np.ndarray, calls: int, repeats: int,
                pause: float) -> tuple[float, float, str]:
    """(seconds per evaluation: plainnet, scikit-learn; "" or what did not match)."""
    from plainnet import _core
    from plainnet import sklearn as pk
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import _multilayer_perceptron as mp
    sk_est = estimator("sklearn", name, 0).set_params(max_iter=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        sk_est.fit(X, y)
    p_est = pk.MLPRegressor() if name == "diabetes" else pk.MLPClassifier()
    Y = (y.reshape(-1, 1) if name == "diabetes"
         else np.eye(len(np.unique(y)))[np.searchsorted(np.unique(y), y)])
    units = [X.shape[1], *[W.shape[1] for W in sk_est.coefs_]]
    params = np.concatenate([a.ravel() for W, b in zip(sk_est.coefs_, sk_est.intercepts_)
                             for a in (W, b)])
    out_act, loss, _ = (("linear", "mse", "") if name == "diabetes" else
                        ("softmax", "cross_entropy", ""))
    acts = ["relu"] * (len(units) - 2) + [out_act]
    grads = np.empty_like(params)
    alpha = p_est.alpha
    # scikit-learn's own buffers and layout (all coefficients, then all intercepts).
    sk_est._coef_indptr, sk_est._intercept_indptr, start = [], [], 0
    for n_in, n_out in zip(units[:-1], units[1:]):
        sk_est._coef_indptr.append((start, start + n_in * n_out, (n_in, n_out)))
        start += n_in * n_out
    for n_out in units[1:]:
        sk_est._intercept_indptr.append((start, start + n_out))
        start += n_out
    packed = mp._pack(sk_est.coefs_, sk_est.intercepts_)
    activations = [X] + [np.empty((X.shape[0], u)) for u in units[1:]]
    deltas = [np.empty_like(a) for a in activations[1:]]
    coef_grads = [np.empty((a, b)) for a, b in zip(units[:-1], units[1:])]
    intercept_grads = [np.empty(b) for b in units[1:]]

    def ours() -> float:
        return float(_core.loss_and_gradient(params, units, acts, loss, X, Y, None, alpha, grads))

    def theirs() -> tuple[float, np.ndarray]:
        value, g = sk_est._loss_grad_lbfgs(packed, X, Y, None, activations, deltas, coef_grads,
                                           intercept_grads)
        return float(value), g

    f_ours, (f_theirs, g_theirs) = ours(), theirs()
    ours_split = [grads[:0]]
    at = 0
    for n_in, n_out in zip(units[:-1], units[1:]):
        ours_split.append(grads[at:at + n_in * n_out])
        at += n_in * n_out + n_out
    at = 0
    for n_in, n_out in zip(units[:-1], units[1:]):
        at += n_in * n_out
        ours_split.append(grads[at:at + n_out])
        at += n_out
    g_ours = np.concatenate(ours_split)
    problem = ""
    if not np.isclose(f_ours, f_theirs, rtol=1e-12, atol=0):
        problem = f"objective {f_ours!r} != {f_theirs!r}"
    elif not np.allclose(g_ours, g_theirs, rtol=1e-9, atol=1e-15):
        problem = f"gradient off by {np.abs(g_ours - g_theirs).max():.3g}"
    best = {"plainnet": np.inf, "sklearn": np.inf}
    for _ in range(repeats):
        for label, call in (("plainnet", ours), ("sklearn", theirs)):
            time.sleep(pause)
            call()  # untimed
            start = time.perf_counter()
            for _ in range(calls):
                call()
            best[label] = min(best[label], (time.perf_counter() - start) / calls)
    return best["plainnet"], best["sklearn"], problem


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--pause", type=float, default=0.15)
    parser.add_argument("--blas-threads", type=int, default=None)
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--sets", default=",".join(SETS))
    parser.add_argument("--evaluations", type=int, default=200)
    args = parser.parse_args(argv)
    seeds = [int(s) for s in args.seeds.split(",")]
    sets = args.sets.split(",")
    libraries = ("plainnet", "sklearn")
    print(f"{'set':9} {'seed':>4} {'plainnet s':>10} {'sklearn s':>10} {'ratio':>6} "
          f"{'iters p/s':>10} {'ms/iter p/s':>13} {'loss_ p':>9} {'loss_ s':>9} "
          f"{'score p':>8} {'score s':>8}")
    ratios = []
    with blas_threads(args.blas_threads):
        for name in sets:
            X, y = dataset(name)
            for seed in seeds:
                times: dict[str, list[float]] = {lib: [] for lib in libraries}
                fitted: dict[str, Any] = {}
                for lib in libraries:  # the warm-up
                    time.sleep(args.pause)
                    fit_once(lib, name, seed, X, y)
                for _ in range(args.repeats):
                    for lib in libraries:
                        time.sleep(args.pause)
                        took, fitted[lib] = fit_once(lib, name, seed, X, y)
                        times[lib].append(took)
                best = {lib: min(times[lib]) for lib in libraries}
                p, s = fitted["plainnet"], fitted["sklearn"]
                ratio = best["sklearn"] / best["plainnet"]
                ratios.append(ratio)
                print(f"{name:9} {seed:>4} {best['plainnet']:>10.4f} {best['sklearn']:>10.4f} "
                      f"{ratio:>6.2f} {p.n_iter_:>4}/{s.n_iter_:<5} "
                      f"{1e3 * best['plainnet'] / p.n_iter_:>6.2f}/"
                      f"{1e3 * best['sklearn'] / s.n_iter_:<6.2f} {p.loss_:>9.3g} "
                      f"{s.loss_:>9.3g} {p.score(X, y):>8.4f} {s.score(X, y):>8.4f}")
    print(f"sklearn/plainnet fit time: median {statistics.median(ratios):.2f}, "
          f"range {min(ratios):.2f}-{max(ratios):.2f} over {len(ratios)} fits")
    print()
    print(f"{'set':9} {'plainnet us':>11} {'sklearn us':>10} {'ratio':>6}  one evaluation")
    failed = False
    with blas_threads(args.blas_threads):
        for name in sets:
            X, y = dataset(name)
            ours, theirs, problem = evaluations(name, X, y, args.evaluations, args.repeats,
                                                args.pause)
            if problem:
                failed = True
                print(f"{name:9} FAILED: {problem}")
            else:
                print(f"{name:9} {1e6 * ours:>11.1f} {1e6 * theirs:>10.1f} "
                      f"{theirs / ours:>6.2f}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
