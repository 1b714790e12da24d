"""Full-batch training with L-BFGS: ``Network.fit_lbfgs``.

scipy's ``minimize(method="L-BFGS-B")`` drives the search, as scikit-learn's
MLPs do with ``solver="lbfgs"``; every evaluation of the objective and its
gradient is one call of the backend's ``loss_and_gradient`` (the core's, or
its NumPy twin), over all the rows, into one flat gradient buffer: no Python
runs per layer. Needs scipy (``pip install scipy``; scikit-learn brings it).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

from . import _checks as check
from . import _layout

if TYPE_CHECKING:  # pragma: no cover - typing only
    from .network import History, Network


def fit(net: "Network", X: Any, y: Any, max_iter: int, max_fun: int, tol: float,
        sample_weight: Any, l2: float) -> tuple["History", Any]:
    """Train ``net`` with L-BFGS; (History, scipy's OptimizeResult). See ``Network.fit_lbfgs``."""
    try:
        from scipy.optimize import minimize
    except ImportError as exc:
        raise ImportError(f"fit_lbfgs needs scipy ({exc}); install it with: pip install scipy"
                          ) from exc
    from .network import History

    if any(p > 0 for p in net._dropout):
        raise ValueError(f"fit_lbfgs: L-BFGS follows one deterministic objective, which dropout's "
                         f"random masks would change at every evaluation; this network has "
                         f"dropout={list(net._dropout)} (use fit, or a network without dropout)")
    x, t = net._xy(X, y)
    iterations = check.integer(max_iter, "max_iter", minimum=1, maximum=_layout.MAX_ELEMENTS)
    evaluations = check.integer(max_fun, "max_fun", minimum=1, maximum=_layout.MAX_ELEMENTS)
    gtol = check.real(tol, "tol")
    if not math.isfinite(gtol) or gtol < 0:
        raise ValueError(f"tol: expected a finite number >= 0, got {gtol!r}")
    w = None if sample_weight is None else check.sample_weight(sample_weight, x.shape[0],
                                                                net.dtype)
    penalty = check.real(l2, "l2")
    if not math.isfinite(penalty) or penalty < 0:
        raise ValueError(f"l2: expected a finite number >= 0, got {penalty!r}")
    if net.loss_name == "mse":
        check.target_range(t, net.activations[-1])

    impl, sizes, acts, loss = net._impl, net._sizes, net._acts, net.loss_name
    curve: list[float] = []
    # A writer, as fit is: the search runs on private buffers and the result
    # is published (one rebinding of net._params) when it ends well; an
    # exception (Ctrl-C, no memory, a loss that is not finite) leaves the
    # network as it was.
    with net._lock:
        params = net._params.copy()
        grads = np.empty_like(params)

        def objective(theta: np.ndarray) -> tuple[float, np.ndarray]:
            params[...] = theta  # float32 networks compute in float32
            value = impl.loss_and_gradient(params, sizes, acts, loss, x, t, w, penalty, grads)
            return float(value), grads.astype(np.float64)  # a copy scipy may keep

        def record(intermediate_result: Any) -> None:
            curve.append(float(intermediate_result.fun))

        with net._memory_for("fit_lbfgs", x.shape[0]):
            result = minimize(objective, params.astype(np.float64), method="L-BFGS-B", jac=True,
                              callback=record,
                              options={"maxiter": iterations, "maxfun": evaluations,
                                       "gtol": gtol})
        final = np.asarray(result.x).astype(net.dtype)
        if not (math.isfinite(float(result.fun)) and np.isfinite(final).all()):
            raise FloatingPointError(
                f"fit_lbfgs: the objective became NaN or Inf ({result.fun!r}); the network "
                f"is unchanged. Scale the inputs (and the targets).")
        net._params = final
    losses = np.array(curve, dtype=np.float64)
    history = History(loss=losses, lr=math.nan, epochs=iterations, batch_size=None, seed=0,
                      iterations_per_epoch=1, stopped_early=False, epoch_loss=losses.copy())
    return history, result
