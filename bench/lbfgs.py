"""solver="lbfgs": plainnet's estimators against scikit-learn's, on its small data sets.

    python bench/lbfgs.py [--repeats 5] [--pause 0.15] [--blas-threads N] [--seeds 0,1,2]

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


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--pause", type=float, default=0.15)
    parser.add_argument("--blas-threads", type=int, default=None)
    parser.add_argument("--seeds", default="0,1,2")
    args = parser.parse_args(argv)
    seeds = [int(s) for s in args.seeds.split(",")]
    libraries = ("plainnet", "sklearn")
    print(f"{'set':9} {'seed':>4} {'plainnet s':>10} {'sklearn s':>10} {'ratio':>6} "
          f"{'iters p/s':>10} {'ms/iter p/s':>13} {'loss_ p':>9} {'loss_ s':>9} "
          f"{'score p':>8} {'score s':>8}")
    ratios = []
    with blas_threads(args.blas_threads):
        for name in SETS:
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
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
