"""scikit-learn estimators backed by plainnet: ``MLPClassifier`` and ``MLPRegressor``.

Drop-in replacements for ``sklearn.neural_network``'s classes of the same
names: the same constructor parameters and defaults, fitted attributes and
methods, so they work in ``Pipeline``, ``GridSearchCV``, ``cross_val_score``,
``clone`` and pickle. Training is one ``plainnet.Network.fit`` call, the
native loop with the GIL released: no Python runs per epoch or batch.

    >>> from plainnet.sklearn import MLPClassifier
    >>> clf = MLPClassifier(hidden_layer_sizes=(64,), random_state=0).fit(X, y)  # doctest: +SKIP
    >>> clf.predict_proba(X[:3]), clf.network_                                   # doctest: +SKIP

Needs scikit-learn (``pip install "plainnet[sklearn]"``); ``import plainnet``
alone never imports it.
"""

from __future__ import annotations

import math
import numbers
import warnings
from typing import Any, Callable, Optional, TypeVar, Union, cast

import numpy as np

try:
    import scipy.sparse as _sparse
    from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.model_selection import train_test_split
    from sklearn.preprocessing import LabelBinarizer
    from sklearn.utils import check_random_state, compute_sample_weight
    from sklearn.utils.class_weight import compute_class_weight
    from sklearn.utils.metaestimators import available_if
    from sklearn.utils.multiclass import type_of_target, unique_labels
    from sklearn.utils.validation import (_check_sample_weight, check_is_fitted, column_or_1d,
                                          validate_data)
except ImportError as exc:  # pragma: no cover - exercised in a subprocess without sklearn
    raise ImportError(f"plainnet.sklearn needs scikit-learn >= 1.6 ({exc}); install it with: "
                      f'pip install "plainnet[sklearn]"') from exc

from . import _lbfgs, optim
from ._diagnostics import failures_unreported
from .optim import lr_scheduler
from ._layout import MAX_ELEMENTS
from .network import ACTIVATIONS, BACKENDS, History, Network

__all__ = ["MLPClassifier", "MLPRegressor"]

# scikit-learn's activation names, and plainnet's for the same functions.
SKLEARN_ACTIVATIONS: dict[str, str] = {"identity": "linear", "logistic": "sigmoid",
                                       "tanh": "tanh", "relu": "relu"}
SOLVERS: tuple[str, ...] = ("adam", "sgd", "rprop", "lbfgs")
LEARNING_RATES: tuple[str, ...] = ("constant", "invscaling", "adaptive")
DTYPES: tuple[str, ...] = ("float64", "float32")


def _fail(name: str, expected: str, value: Any) -> ValueError:
    return ValueError(f"{name}: expected {expected}, got {value!r}")


def _is_int(value: Any) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, (bool, np.bool_))


def _is_real(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_))


def _int(value: Any, name: str, minimum: int) -> int:
    if not _is_int(value):
        raise TypeError(f"{name}: expected an int >= {minimum}, got {type(value).__name__} "
                        f"{value!r}")
    if value < minimum:
        raise _fail(name, f"an int >= {minimum}", value)
    if value > MAX_ELEMENTS:  # more than any loop counts, or memory holds
        raise _fail(name, f"an int in [{minimum}, 2**62]", value)
    return int(value)


def _real(value: Any, name: str, low: float, high: float = math.inf, open_low: bool = False,
          open_high: bool = False) -> float:
    if not _is_real(value):
        raise TypeError(f"{name}: expected a real number, got {type(value).__name__} {value!r}")
    v = float(value)
    ok = (v > low if open_low else v >= low) and (v < high if open_high else v <= high)
    if not ok or math.isnan(v):
        lo, hi = ("(" if open_low else "[") + f"{low}", f"{high}" + (")" if open_high else "]")
        raise _fail(name, f"a number in {lo}, {hi}", value)
    return v


def _bool(value: Any, name: str) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name}: expected a bool, got {type(value).__name__} {value!r}")
    return bool(value)


def _choice(value: Any, name: str, options: tuple[str, ...]) -> str:
    if not isinstance(value, str) or value not in options:
        raise _fail(name, "one of " + ", ".join(map(repr, options)), value)
    return value


def _hidden_sizes(value: Any) -> tuple[int, ...]:
    sizes = [value] if _is_int(value) else value
    try:
        sizes = list(sizes)
    except TypeError:
        raise TypeError(f"hidden_layer_sizes: expected an int or a sequence of ints, got "
                        f"{type(value).__name__} {value!r}") from None
    if not all(_is_int(s) for s in sizes):
        raise TypeError(f"hidden_layer_sizes: expected ints, got {value!r}")
    if any(s <= 0 for s in sizes):
        raise _fail("hidden_layer_sizes", "sizes > 0", value)
    return tuple(int(s) for s in sizes)


def _activation(value: Any) -> str:
    if isinstance(value, str):
        if value in SKLEARN_ACTIVATIONS:
            return SKLEARN_ACTIVATIONS[value]
        if value in ACTIVATIONS:
            return value
    names = list(SKLEARN_ACTIVATIONS) + [a for a in ACTIVATIONS if a not in SKLEARN_ACTIVATIONS
                                         and a != "linear" and a != "sigmoid"]
    raise _fail("activation", "one of " + ", ".join(map(repr, names)), value)

# The estimators' docstrings are put together from these parts, so that each
# class's help() lists every one of its parameters while each parameter is
# described once.
_PARAMETERS_HEAD = """Parameters
----------
hidden_layer_sizes : int or sequence of int, default=(100,)
    Units of each hidden layer (``()``: none, a linear model).
activation : str, default="relu"
    Hidden layers' activation: scikit-learn's ``"identity"``,
    ``"logistic"``, ``"tanh"``, ``"relu"``, or any of
    ``plainnet.ACTIVATIONS`` (``"gelu"``, ``"silu"``, ...).
solver : {"adam", "sgd", "rprop", "lbfgs"}, default="adam"
    ``plainnet.optim.Adam(learning_rate_init, (beta_1, beta_2), epsilon)``,
    ``SGD(learning_rate_init, momentum, nesterov=nesterovs_momentum)`` or
    ``Rprop(learning_rate_init)`` (meant for full batches: set
    ``batch_size`` to the number of samples); or ``"lbfgs"``, scipy's
    L-BFGS-B on all the rows at once, as scikit-learn runs it
    (``Network.fit_lbfgs``): ``max_iter`` iterations and ``max_fun``
    evaluations at most, stopping when the gradient's largest entry is
    below ``tol``; it ignores the batch, learning-rate, shuffling and
    early-stopping parameters, and has no ``partial_fit``, as
    scikit-learn's. Often the best choice for small data sets. Adam is
    torch's rule: its ``epsilon`` is added
    to the bias-corrected ``sqrt(v)``, where scikit-learn adds it before
    the correction (they differ only while ``v`` is about ``epsilon**2``).
    SGD with momentum is the same update as scikit-learn's at a constant
    learning rate.
alpha : float, default=1e-4
    L2 penalty, exactly scikit-learn's: each batch's objective gains
    ``alpha / (2 w) * sum ||W_l||**2`` over the weight matrices (not the
    biases), w being the batch's rows or the sum of its sample weights
    (``Network.fit(l2=alpha)``), and ``loss_curve_`` includes it.
batch_size : int or "auto", default="auto"
    ``min(200, n_samples)`` for "auto"; larger than n_samples is clipped
    with a warning, as scikit-learn does.
learning_rate : {"constant", "invscaling", "adaptive"}, default="constant"
    The rate of ``solver="sgd"`` (the other solvers keep
    ``learning_rate_init``, as scikit-learn's do), run inside the training
    loop as schedules of ``plainnet.optim.lr_scheduler``: "invscaling" sets
    ``learning_rate_init / (t + 1) ** power_t`` after every epoch, t the rows
    trained on so far (``InvScalingLR``; with ``sample_weight`` a row counts
    as its weight, where scikit-learn counts rows); "adaptive" divides the rate by 5
    whenever ``n_iter_no_change + 1`` epochs in a row fail to improve by
    ``tol``, and stops once that happens at a rate of 1e-6 or less, instead
    of stopping at the first such stretch (``AdaptiveLR``). As in
    scikit-learn, a ``warm_start`` or ``partial_fit`` continues the
    schedule (t and the adaptive rate carry on).
power_t : float, default=0.5
    The invscaling schedule's exponent.
max_fun : int, default=15000
    The lbfgs solver's limit on evaluations of the loss and its gradient.
learning_rate_init : float, default=1e-3
    The learning rate of every update.
max_iter : int, default=200
    Epochs at most. Reaching it without stopping warns with
    ``sklearn.exceptions.ConvergenceWarning``.
shuffle : bool, default=True
    Reshuffle the rows every epoch.
random_state : int, RandomState or None
    Draws the initial weights' seed, the shuffling seed and the
    early-stopping split. The weights are Glorot-scaled as scikit-learn's
    (variance ``2 / (fan_in + fan_out)``, twice that for "logistic") but
    drawn from a normal distribution (plainnet's ``init="xavier"``), and
    the biases start at 0; so the same ``random_state`` gives other
    numbers than scikit-learn's, not the same model.
tol, n_iter_no_change : float, int, default=1e-4, 10
    Without ``early_stopping``, training stops once the training loss
    has gone ``n_iter_no_change + 1`` epochs in a row without dropping
    more than ``tol`` below its best, as scikit-learn stops (its count
    must exceed ``n_iter_no_change``). The count is the native loop's
    (``Network.fit(monitor="loss", patience=n_iter_no_change + 1,
    min_delta=tol)``), and its rule is Keras's: the best only moves when
    it improves by more than ``tol``, where scikit-learn moves it on any
    improvement; on a loss that creeps down by less than ``tol`` an epoch
    plainnet may train some epochs longer.
"""
_PARAMETERS_TAIL = """validation_fraction : float, default=0.1
    The fraction of the rows held out for ``early_stopping``.
momentum, nesterovs_momentum : float, bool, default=0.9, True
    For ``solver="sgd"``.
beta_1, beta_2, epsilon : float, default=0.9, 0.999, 1e-8
    For ``solver="adam"``.
verbose : bool, default=False
    Print each epoch's loss (and validation score). The loop runs in
    C++ in one call, so the lines come when training has finished.
warm_start : bool, default=False
    ``fit`` continues from the fitted network and its optimizer state
    (``Network.fit(optimizer=net.optimizer)``) instead of starting anew.
dtype : {"float64", "float32"}, default="float64"
    The network's floating-point type.
backend : {"native", "numpy"}, default="native"
    The C++ core or its NumPy twin (same numbers, much slower).
progress : bool, default=False
    Shows a tqdm progress bar over the epochs while training (needs
    tqdm: ``pip install "plainnet[progress]"``).

"""
_CLASSIFIER_INTRO = """Multi-layer perceptron classifier on plainnet's native core.

The parameters are scikit-learn's ``MLPClassifier``'s, with the same
defaults, and three of plainnet's own. A softmax output with
cross-entropy for multiclass targets, one sigmoid output with binary
cross-entropy for binary targets, and one sigmoid per label for
multi-label (indicator matrix) targets, as scikit-learn does.

"""
_CLASSIFIER_EARLY_STOPPING = """early_stopping : bool, default=False
    Hold out ``validation_fraction`` of the rows (stratified by class
    when every class has at least 2 rows; scikit-learn stratifies binary
    targets only) with ``random_state``, stop when the validation
    accuracy has not risen by more than ``tol`` for
    ``n_iter_no_change + 1`` epochs, and keep the weights of the best
    epoch. For multi-label targets the accuracy watched (and reported
    in ``validation_scores_``) is that of single labels, not
    scikit-learn's exact-match accuracy of whole rows. With sample
    weights, the validation accuracy is unweighted.
"""
_CLASSIFIER_WEIGHTS = """class_weight : None, "balanced" or dict, default=None
    Weights of the classes, multiplied into ``sample_weight``: a dict
    ``{label: weight}`` (labels left out weigh 1), or "balanced" for
    ``n_samples / (n_classes * count of the class)``, the counts weighted
    by ``sample_weight`` when given (scikit-learn's
    ``compute_class_weight(..., sample_weight=...)``: a weight of 2 counts
    as a repeated row); for multi-label targets, per label column,
    multiplied. With early stopping the weights are those of the whole
    ``y``, before the split. ``partial_fit`` balances each call's rows on
    their own; for a stream, pass a dict from
    ``sklearn.utils.class_weight.compute_class_weight`` on a large enough
    sample instead.

"""
_CLASSIFIER_END = """Attributes
----------
classes_, coefs_, intercepts_, n_iter_, loss_, loss_curve_, best_loss_,
validation_scores_, best_validation_score_, t_, n_features_in_,
feature_names_in_, n_layers_, n_outputs_, out_activation_ : various
    As scikit-learn's (``loss_`` is the cross-entropy plus the L2 term:
    the same numbers scikit-learn's log-loss gives).
network_ : plainnet.Network
    The trained network.

See Also
--------
MLPRegressor : The regressor, with the same parameters.
plainnet.Network.fit : The training loop both estimators call.

Notes
-----
Sparse X is accepted (CSR or CSC, as scikit-learn's MLPs accept it) and
made dense before training or prediction: the core computes on dense
arrays, so a very wide sparse X needs its dense size in memory.

Examples
--------
>>> from sklearn.datasets import load_iris
>>> from sklearn.pipeline import make_pipeline
>>> from sklearn.preprocessing import StandardScaler
>>> from plainnet.sklearn import MLPClassifier
>>> X, y = load_iris(return_X_y=True)
>>> clf = make_pipeline(StandardScaler(),
...                     MLPClassifier(hidden_layer_sizes=(16,), learning_rate_init=0.01,
...                                   max_iter=500, random_state=0)).fit(X, y)
>>> clf[-1].out_activation_, clf.predict_proba(X[:1]).shape
('softmax', (1, 3))
>>> print(round(clf.score(X, y), 2))
0.99
"""
_REGRESSOR_INTRO = """Multi-layer perceptron regressor on plainnet's native core.

The parameters are scikit-learn's ``MLPRegressor``'s, with the same
defaults, but for ``loss``: the squared error is the only loss, so there
is no ``loss`` parameter; and three of plainnet's own. The output layer is
linear and trained on the MSE; y may have several columns.

"""
_REGRESSOR_EARLY_STOPPING = """early_stopping : bool, default=False
    Hold out ``validation_fraction`` of the rows with ``random_state``,
    stop when the validation loss has not fallen by more than ``tol``
    times the targets' variance (a rise of ``tol`` in R²) for
    ``n_iter_no_change + 1`` epochs, and keep the weights of the best
    epoch. ``validation_scores_`` reports R² (see Notes). Sample weights
    do not weigh the validation rows.
"""
_REGRESSOR_END = """Attributes
----------
coefs_, intercepts_, n_iter_, loss_, loss_curve_, best_loss_,
validation_scores_, best_validation_score_, t_, n_features_in_,
feature_names_in_, n_layers_, n_outputs_, out_activation_ : various
    As scikit-learn's (``out_activation_`` is ``"identity"``; ``loss_``
    as in the Notes).
network_ : plainnet.Network
    The trained network.

See Also
--------
MLPClassifier : The classifier, with the same parameters.
plainnet.Network.fit : The training loop both estimators call.

Notes
-----
``loss_`` and ``loss_curve_`` are half of plainnet's reported loss
(``History.epoch_loss``: the mean of the squared errors over all
outputs, plus the L2 term), so with ``alpha=0`` they are scikit-learn's
squared loss, ``mean((y - p)**2) / 2``; the L2 term counts half in them
(and in the stopping rule). The gradient is scikit-learn's in every case.

``early_stopping`` reports ``validation_scores_`` as R²: ``1 - MSE /
mean of the targets' variances``, which is ``sklearn.metrics.r2_score``
for one output and its ``multioutput="variance_weighted"`` form for
several (scikit-learn reports the plain average over outputs).

Sparse X is accepted (CSR or CSC) and made dense before training or
prediction.

Examples
--------
>>> import numpy as np
>>> from plainnet.sklearn import MLPRegressor
>>> rng = np.random.default_rng(0)
>>> X = rng.uniform(-1, 1, size=(200, 2))
>>> y = X[:, 0] ** 2 + X[:, 1]
>>> reg = MLPRegressor(hidden_layer_sizes=(16,), learning_rate_init=0.01, max_iter=500,
...                    random_state=0).fit(X, y)
>>> reg.predict(X[:3]).shape
(3,)
>>> print(reg.score(X, y) > 0.95)
True
"""


def _stochastic(estimator: Any) -> bool:
    """partial_fit exists for the stochastic solvers only, as in scikit-learn."""
    if estimator.solver == "lbfgs":
        raise AttributeError(f"partial_fit is only available for stochastic optimizers. "
                             f"{estimator.solver} is not stochastic.")
    return True


def _balanced(index: np.ndarray, w: Optional[np.ndarray]) -> np.ndarray:
    """Each row's "balanced" class weight: total / (classes * its class's total),
    the totals of the row weights w (or of rows), over the classes present:
    ``compute_class_weight("balanced", ..., sample_weight=w)``, so that a
    weight of 2 counts as a repeated row."""
    counts = np.bincount(index, weights=w).astype(np.float64)
    present = counts > 0
    per_class = np.ones_like(counts)  # a class whose rows all weigh 0 keeps them at 0
    per_class[present] = counts.sum() / (np.count_nonzero(present) * counts[present])
    out: np.ndarray = per_class[index]
    return out


_Method = TypeVar("_Method", bound=Callable[..., Any])


def _if_stochastic(method: _Method) -> _Method:
    """The method exists only for the stochastic solvers (scikit-learn's available_if)."""
    return cast(_Method, available_if(_stochastic)(method))


class _BaseMLP(BaseEstimator):  # type: ignore[misc]  # scikit-learn ships no type information
    """What MLPClassifier and MLPRegressor share: parameters, checks and the fit."""

    def __init__(self, hidden_layer_sizes: Any = (100,), activation: str = "relu", *,
                 solver: str = "adam", alpha: float = 0.0001, batch_size: Union[int, str] = "auto",
                 learning_rate: str = "constant", learning_rate_init: float = 0.001,
                 power_t: float = 0.5, max_iter: int = 200, shuffle: bool = True,
                 random_state: Any = None, tol: float = 1e-4, verbose: bool = False,
                 warm_start: bool = False, momentum: float = 0.9, nesterovs_momentum: bool = True,
                 early_stopping: bool = False, validation_fraction: float = 0.1,
                 beta_1: float = 0.9, beta_2: float = 0.999, epsilon: float = 1e-8,
                 n_iter_no_change: int = 10, max_fun: int = 15000, dtype: str = "float64",
                 backend: str = "native", progress: bool = False) -> None:
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.solver = solver
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.learning_rate_init = learning_rate_init
        self.power_t = power_t
        self.max_iter = max_iter
        self.shuffle = shuffle
        self.random_state = random_state
        self.tol = tol
        self.verbose = verbose
        self.warm_start = warm_start
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.n_iter_no_change = n_iter_no_change
        self.max_fun = max_fun
        self.dtype = dtype
        self.backend = backend
        self.progress = progress

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True  # accepted, and made dense (see the class docstring)
        return tags

    # ------------------------------------------------------------ parameters

    def _check_params(self) -> dict[str, Any]:
        """Every parameter checked, with plainnet's names; ValueError/TypeError naming it."""
        solver = self.solver
        p: dict[str, Any] = {"solver": _choice(solver, "solver", SOLVERS)}
        p["learning_rate"] = _choice(self.learning_rate, "learning_rate", LEARNING_RATES)
        p["hidden"] = _hidden_sizes(self.hidden_layer_sizes)
        p["activation"] = _activation(self.activation)
        p["alpha"] = _real(self.alpha, "alpha", 0.0)
        if self.batch_size == "auto":
            p["batch_size"] = None
        else:
            p["batch_size"] = _int(self.batch_size, "batch_size", 1)
        p["lr"] = _real(self.learning_rate_init, "learning_rate_init", 0.0, open_low=True)
        p["power_t"] = _real(self.power_t, "power_t", 0.0)
        p["max_iter"] = _int(self.max_iter, "max_iter", 1)
        p["shuffle"] = _bool(self.shuffle, "shuffle")
        p["tol"] = _real(self.tol, "tol", 0.0)
        if not isinstance(self.verbose, (bool, np.bool_)):
            _int(self.verbose, "verbose", 0)  # scikit-learn takes a level too
        p["verbose"] = bool(self.verbose)
        p["warm_start"] = _bool(self.warm_start, "warm_start")
        p["momentum"] = _real(self.momentum, "momentum", 0.0, 1.0)
        p["nesterov"] = _bool(self.nesterovs_momentum, "nesterovs_momentum")
        p["early_stopping"] = _bool(self.early_stopping, "early_stopping")
        p["validation_fraction"] = _real(self.validation_fraction, "validation_fraction", 0.0,
                                         1.0, open_low=True, open_high=True)
        p["beta_1"] = _real(self.beta_1, "beta_1", 0.0, 1.0, open_high=True)
        p["beta_2"] = _real(self.beta_2, "beta_2", 0.0, 1.0, open_high=True)
        p["epsilon"] = _real(self.epsilon, "epsilon", 0.0, open_low=True)
        p["n_iter_no_change"] = _int(self.n_iter_no_change, "n_iter_no_change", 1)
        p["max_fun"] = _int(self.max_fun, "max_fun", 1)
        p["dtype"] = _choice(self.dtype, "dtype", DTYPES)
        p["backend"] = _choice(self.backend, "backend", BACKENDS)
        p["progress"] = _bool(self.progress, "progress")
        return p

    def _optimizer(self, p: dict[str, Any]) -> optim.Optimizer:
        if p["solver"] == "adam":
            return optim.Adam(lr=p["lr"], betas=(p["beta_1"], p["beta_2"]), eps=p["epsilon"])
        if p["solver"] == "sgd":
            return optim.SGD(lr=p["lr"], momentum=p["momentum"],
                             nesterov=p["nesterov"] and p["momentum"] > 0)
        return optim.Rprop(lr=p["lr"])

    # ------------------------------------------------------------ what subclasses decide

    def _validate_xy(self, X: Any, y: Any, incremental: bool, reset: bool
                     ) -> tuple[np.ndarray, np.ndarray]:
        """(X dense, targets as the network trains on them: (n, outputs))."""
        raise NotImplementedError

    def _output(self) -> tuple[str, str, str]:
        """(plainnet output activation, plainnet loss, scikit-learn's out_activation_ name)."""
        raise NotImplementedError

    def _loss_scale(self) -> float:
        """loss_ per unit of plainnet's reported loss."""
        return 1.0

    def _stratify(self, Y: np.ndarray) -> Optional[np.ndarray]:
        """The labels to stratify the early-stopping split by, or None."""
        return None

    def _split(self, X: np.ndarray, Y: np.ndarray, w: Optional[np.ndarray], rs: Any
               ) -> tuple[np.ndarray, np.ndarray, Optional[np.ndarray], np.ndarray, np.ndarray]:
        """(X, Y, weights) to train on and (X, Y) to validate on, drawn from rs."""
        arrays = [X, Y] + ([] if w is None else [w])
        try:
            parts = train_test_split(*arrays, random_state=rs, test_size=self.validation_fraction,
                                     stratify=self._stratify(Y))
        except ValueError as exc:  # a stratified split with fewer rows than classes
            raise ValueError(f"validation_fraction: {self.validation_fraction} of {X.shape[0]} "
                             f"rows cannot be split for early stopping ({exc}); increase "
                             "validation_fraction or the size of your dataset") from None
        X_t, X_v, Y_t, Y_v = parts[:4]
        if X_v.shape[0] < 2:
            raise ValueError("validation_fraction: the validation set is too small "
                             f"({X_v.shape[0]} row); increase validation_fraction or the "
                             "size of your dataset")
        return X_t, Y_t, (None if w is None else parts[4]), X_v, Y_v

    def _early_stopping_rule(self, Y_val: np.ndarray, tol: float) -> tuple[str, float]:
        """(Network.fit's monitor, its min_delta) for early_stopping."""
        raise NotImplementedError

    def _validation_scores(self, h: History, Y_val: np.ndarray) -> list[float]:
        raise NotImplementedError

    # ------------------------------------------------------------ fitting

    def _densify(self, X: Any) -> np.ndarray:
        return np.asarray(X.toarray() if _sparse.issparse(X) else X)

    def _fit(self, X: Any, y: Any, sample_weight: Any, incremental: bool) -> "_BaseMLP":
        p = self._check_params()
        if incremental and p["early_stopping"]:
            raise ValueError("early_stopping: partial_fit does not support "
                             "early_stopping=True (one epoch has nothing to stop)")
        continuing = hasattr(self, "network_") and (p["warm_start"] or incremental)
        X, Y = self._validate_xy(X, y, incremental, reset=not continuing)
        w = None if sample_weight is None else _check_sample_weight(
            sample_weight, X, ensure_non_negative=True)
        w = self._class_weighted(Y, w)
        rs = check_random_state(self.random_state)
        init_seed, fit_seed = (int(s) for s in rs.randint(0, 2**31 - 1, size=2))

        if continuing:
            if self.network_.layers[-1] != Y.shape[1]:
                raise ValueError(f"y: the fitted network has {self.network_.layers[-1]} outputs, "
                                 f"these targets need {Y.shape[1]}")
            net = self.network_.copy()  # trained, then kept only if training succeeds
            # The current settings, with the state (and step count) of the last fit
            # when the solver is the same.
            opt = self._optimizer(p)
            if type(net.optimizer) is type(opt) and net.optimizer is not None:
                opt.state, opt.steps, opt.epochs = (net.optimizer.state, net.optimizer.steps,
                                                    net.optimizer.epochs)
        else:
            out_act, loss, _ = self._output()
            act = p["activation"]
            # Glorot's scale, as scikit-learn draws it (twice the variance for the sigmoid).
            net = Network([X.shape[1], *p["hidden"], Y.shape[1]], activation=act,
                          output_activation=out_act, init="xavier",
                          init_scale=math.sqrt(2.0) if act == "sigmoid" else None,
                          seed=init_seed, dtype=p["dtype"], backend=p["backend"], loss=loss)
            opt = self._optimizer(p)
        if p["solver"] == "lbfgs":
            return self._fit_lbfgs(net, X, Y, w, p)

        kwargs: dict[str, Any] = {}
        X_val = Y_val = None
        if p["early_stopping"]:
            X, Y, w, X_val, Y_val = self._split(X, Y, w, rs)
            monitor, delta = self._early_stopping_rule(Y_val, p["tol"])
            kwargs.update(validation_data=(X_val, Y_val), monitor=monitor, min_delta=delta,
                          patience=p["n_iter_no_change"] + 1, restore_best=True)
        elif not incremental:
            kwargs.update(monitor="loss", min_delta=p["tol"] / self._loss_scale(),
                          patience=p["n_iter_no_change"] + 1)
        sched = self._schedule(p, net, continuing, kwargs)
        if sched is not None:
            kwargs["scheduler"] = sched
        n = X.shape[0]
        bs = p["batch_size"]
        if bs is None:
            bs = min(200, n)
        elif bs > n:
            warnings.warn("Got `batch_size` less than 1 or larger than sample size. It is going "
                          "to be clipped", UserWarning, stacklevel=3)
            bs = n
        kwargs["progress"] = p["progress"]
        h = net.fit(X, Y, optimizer=opt, epochs=1 if incremental else p["max_iter"],
                    batch_size=bs, shuffle=p["shuffle"], seed=fit_seed, sample_weight=w,
                    l2=p["alpha"], **kwargs)
        self._record(net, h, n, continuing, p, Y_val)
        if p["verbose"]:
            self._print(h)
        if not incremental and not h.stopped_early and self.n_iter_ == p["max_iter"]:
            warnings.warn(f"Stochastic Optimizer: Maximum iterations ({p['max_iter']}) reached "
                          f"and the optimization hasn't converged yet.", ConvergenceWarning,
                          stacklevel=3)
        return self

    def _schedule(self, p: dict[str, Any], net: Network, continuing: bool,
                  kwargs: dict[str, Any]) -> Optional[lr_scheduler.LRScheduler]:
        """The schedule of learning_rate (solver "sgd" only), continuing the last
        fit's when there is one; for "adaptive" it, not patience, ends the fit."""
        if p["solver"] != "sgd" or p["learning_rate"] == "constant":
            return None
        sched: lr_scheduler.LRScheduler
        if p["learning_rate"] == "invscaling":
            sched = lr_scheduler.InvScalingLR(power_t=p["power_t"])
        else:
            monitor = kwargs.get("monitor", "loss")
            tol = kwargs.get("min_delta", p["tol"] / self._loss_scale())
            sched = lr_scheduler.AdaptiveLR(
                tol=tol, n_iter_no_change=p["n_iter_no_change"],
                mode="max" if monitor == "val_accuracy" else "min")
            if "patience" in kwargs:  # never reached: it only keeps the best weights
                kwargs["patience"] = p["max_iter"] + 1
        last = net.optimizer.scheduler if continuing and net.optimizer is not None else None
        if type(last) is type(sched) and last is not None and last.state is not None:
            sched.state, sched.base_lr = last.state.copy(), last.base_lr
        return sched

    def _fit_lbfgs(self, net: Network, X: np.ndarray, Y: np.ndarray, w: Optional[np.ndarray],
                   p: dict[str, Any]) -> "_BaseMLP":
        """scikit-learn's _fit_lbfgs: scipy's L-BFGS-B on the whole set, its attributes."""
        from sklearn.utils.optimize import _check_optimize_result

        h, result = _lbfgs.fit(net, X, Y, p["max_iter"], p["max_fun"], p["tol"], w, p["alpha"])
        self.network_ = net
        self.n_iter_ = _check_optimize_result("lbfgs", result, p["max_iter"])
        self.loss_ = self._lbfgs_loss(float(result.fun), net, X.shape[0], w, p["alpha"])
        self.t_ = 0  # as scikit-learn: the stochastic solvers' count of samples seen
        # The stochastic solvers' attributes, which scikit-learn's lbfgs does not have.
        for name in ("loss_curve_", "best_loss_", "validation_scores_",
                     "best_validation_score_"):
            self.__dict__.pop(name, None)
        self.coefs_ = [np.array(W) for W in net.weights]
        self.intercepts_ = [np.array(b) for b in net.biases]
        self.n_layers_ = len(net.layers)
        self.n_outputs_ = net.layers[-1]
        self.out_activation_ = self._output()[2]
        if p["verbose"]:
            for i, value in enumerate(h.epoch_loss):
                print(f"Iteration {i + 1}, objective = {value:.8f}")
        return self

    def _lbfgs_loss(self, value: float, net: Network, n: int, w: Optional[np.ndarray],
                    alpha: float) -> float:
        """loss_ from the objective L-BFGS minimised (its value is scikit-learn's loss_)."""
        return value

    def _class_weighted(self, Y: np.ndarray, w: Optional[np.ndarray]) -> Optional[np.ndarray]:
        """The row weights: sample_weight times the class weights (the classifier's)."""
        return w

    def _record(self, net: Network, h: History, n: int, continuing: bool, p: dict[str, Any],
                Y_val: Optional[np.ndarray]) -> None:
        """The fitted attributes, under scikit-learn's names."""
        curve = [float(v) * self._loss_scale() for v in h.epoch_loss]
        if not continuing:
            self.loss_curve_: list[float] = []
            self.t_ = 0
            self.best_loss_ = None if p["early_stopping"] else math.inf
            self.validation_scores_: Optional[list[float]] = [] if p["early_stopping"] else None
            self.best_validation_score_ = -math.inf if p["early_stopping"] else None
        self.network_ = net
        self.n_iter_ = len(curve)
        self.loss_curve_ = self.loss_curve_ + curve
        self.loss_ = self.loss_curve_[-1]
        self.t_ += n * self.n_iter_
        if p["early_stopping"] and Y_val is not None:
            scores = self._validation_scores(h, Y_val)
            self.validation_scores_ = list(self.validation_scores_ or []) + scores
            self.best_validation_score_ = max(self.validation_scores_)
            self.best_loss_ = None
        elif curve:
            self.best_loss_ = min(self.best_loss_ if self.best_loss_ is not None else math.inf,
                                  min(curve))
        self.coefs_ = [np.array(W) for W in net.weights]
        self.intercepts_ = [np.array(b) for b in net.biases]
        self.n_layers_ = len(net.layers)
        self.n_outputs_ = net.layers[-1]
        self.out_activation_ = self._output()[2]

    def _print(self, h: History) -> None:
        first = self.n_iter_ and len(self.loss_curve_) - self.n_iter_
        for i in range(self.n_iter_):
            print(f"Iteration {first + i + 1}, loss = {self.loss_curve_[first + i]:.8f}")
            if self.validation_scores_ is not None and self.early_stopping:
                print(f"Validation score: {self.validation_scores_[-self.n_iter_ + i]:.6f}")

    def _forward(self, X: Any) -> np.ndarray:
        check_is_fitted(self)
        X = validate_data(self, X, accept_sparse=["csr", "csc"],
                          dtype=(np.float64, np.float32), reset=False)
        return self.network_.forward(self._densify(X))

    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> "_BaseMLP":
        """Train on X and y, from scratch (or from the fitted network with ``warm_start=True``).

        Parameters
        ----------
        X : array_like or sparse matrix, shape (n_samples, n_features)
            The inputs; sparse X is made dense.
        y : array_like
            The targets: class labels, or an indicator matrix for multi-label
            classification; values (n_samples,) or (n_samples, n_outputs) for
            regression.
        sample_weight : array_like or None, default=None
            One weight >= 0 per row.

        Returns
        -------
        self
            The fitted estimator.
        """
        with failures_unreported():  # ConvergenceWarning says it, as scikit-learn's
            return self._fit(X, y, sample_weight, incremental=False)


class MLPClassifier(ClassifierMixin, _BaseMLP):  # type: ignore[misc]
    __doc__ = (_CLASSIFIER_INTRO + _PARAMETERS_HEAD + _CLASSIFIER_EARLY_STOPPING
               + _PARAMETERS_TAIL + _CLASSIFIER_WEIGHTS + _CLASSIFIER_END)

    # Each estimator spells out its parameters (scikit-learn reads them from
    # its __init__), and a wrong one is reported under the estimator's name.
    def __init__(self, hidden_layer_sizes: Any = (100,), activation: str = "relu", *,
                 solver: str = "adam", alpha: float = 0.0001, batch_size: Union[int, str] = "auto",
                 learning_rate: str = "constant", learning_rate_init: float = 0.001,
                 power_t: float = 0.5, max_iter: int = 200, shuffle: bool = True,
                 random_state: Any = None, tol: float = 1e-4, verbose: bool = False,
                 warm_start: bool = False, momentum: float = 0.9, nesterovs_momentum: bool = True,
                 early_stopping: bool = False, validation_fraction: float = 0.1,
                 beta_1: float = 0.9, beta_2: float = 0.999, epsilon: float = 1e-8,
                 n_iter_no_change: int = 10, max_fun: int = 15000, dtype: str = "float64",
                 backend: str = "native", progress: bool = False,
                 class_weight: Any = None) -> None:
        super().__init__(hidden_layer_sizes, activation, solver=solver, alpha=alpha,
                         batch_size=batch_size, learning_rate=learning_rate,
                         learning_rate_init=learning_rate_init, power_t=power_t,
                         max_iter=max_iter, shuffle=shuffle, random_state=random_state, tol=tol,
                         verbose=verbose, warm_start=warm_start, momentum=momentum,
                         nesterovs_momentum=nesterovs_momentum, early_stopping=early_stopping,
                         validation_fraction=validation_fraction, beta_1=beta_1, beta_2=beta_2,
                         epsilon=epsilon, n_iter_no_change=n_iter_no_change, max_fun=max_fun,
                         dtype=dtype, backend=backend, progress=progress)
        self.class_weight = class_weight

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        return tags

    def _validate_xy(self, X: Any, y: Any, incremental: bool, reset: bool
                     ) -> tuple[np.ndarray, np.ndarray]:
        X, y = validate_data(self, X, y, accept_sparse=["csr", "csc"], multi_output=True,
                             dtype=(np.float64, np.float32), reset=reset)
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        if not hasattr(self, "classes_") or (not self.warm_start and not incremental):
            self._label_binarizer = LabelBinarizer()
            self._label_binarizer.fit(y)
            self.classes_ = self._label_binarizer.classes_
        else:
            classes = unique_labels(y)
            if self.warm_start and not incremental:
                if set(classes) != set(self.classes_):
                    raise ValueError(f"y: warm_start can only be used where `y` has the same "
                                     f"classes as in the previous call to fit. Previously got "
                                     f"{self.classes_}, `y` has {classes}")
            elif len(np.setdiff1d(classes, self.classes_, assume_unique=True)):
                raise ValueError(f"y: `y` has classes not in `self.classes_`. `self.classes_` "
                                 f"has {self.classes_}. 'y' has {classes}.")
        Y = self._label_binarizer.transform(y).astype(np.float64)
        return self._densify(X), Y

    def _class_weighted(self, Y: np.ndarray, w: Optional[np.ndarray]) -> Optional[np.ndarray]:
        cw = self.class_weight
        if cw is None:
            return w
        if not (isinstance(cw, dict) or (isinstance(cw, str) and cw == "balanced")):
            raise _fail("class_weight", "None, 'balanced' or a dict {label: weight}", cw)
        single = self._label_binarizer.y_type_ in ("binary", "multiclass")
        # One column of class indices per output: the class of each row, or
        # (multi-label) each label's 0 or 1.
        if single:
            index = (Y.argmax(axis=1) if Y.shape[1] > 1 else Y[:, 0]).astype(np.int64)[:, None]
        else:
            index = Y.astype(np.int64)
        weights = np.ones(Y.shape[0])
        try:
            for j in range(index.shape[1]):
                column = index[:, j]
                if cw == "balanced":
                    weights *= _balanced(column, w)
                elif single:
                    labels = self.classes_[column]
                    present = np.unique(labels)
                    per_class = compute_class_weight(cw, classes=present, y=labels)
                    weights *= per_class[np.searchsorted(present, labels)]
                else:
                    weights *= compute_sample_weight(cw, column)
        except (ValueError, TypeError) as exc:
            raise type(exc)(f"class_weight: {exc}") from None
        return weights if w is None else w * weights

    def _output(self) -> tuple[str, str, str]:
        if self._label_binarizer.y_type_ == "multiclass":
            return "softmax", "cross_entropy", "softmax"
        return "sigmoid", "binary_cross_entropy", "logistic"

    def _stratify(self, Y: np.ndarray) -> Optional[np.ndarray]:
        # By class, for single-label targets whose every class has 2 rows or more.
        if self._label_binarizer.y_type_ not in ("binary", "multiclass"):
            return None
        labels = (Y.argmax(axis=1) if Y.shape[1] > 1 else Y[:, 0]).astype(np.int64)
        return labels if np.bincount(labels).min(initial=2) >= 2 else None

    def _early_stopping_rule(self, Y_val: np.ndarray, tol: float) -> tuple[str, float]:
        return "val_accuracy", tol

    def _validation_scores(self, h: History, Y_val: np.ndarray) -> list[float]:
        assert h.val_accuracy is not None
        return [float(v) for v in h.val_accuracy]

    @_if_stochastic
    def partial_fit(self, X: Any, y: Any, sample_weight: Any = None,
                    classes: Any = None) -> "MLPClassifier":
        """Train one epoch over X and y, from the fitted network if there is one.

        Parameters
        ----------
        X : array_like or sparse matrix, shape (n_samples, n_features)
            The inputs; sparse X is made dense.
        y : array_like
            The class labels, or an indicator matrix.
        sample_weight : array_like or None, default=None
            One weight >= 0 per row.
        classes : array_like or None, default=None
            Every class of all the calls; required on the first call.

        Returns
        -------
        self
            The estimator.
        """
        first = not hasattr(self, "classes_")
        if first and classes is None:
            raise ValueError("classes: must be passed on the first call to partial_fit")
        if first or (classes is not None and not hasattr(self, "network_")):
            self._label_binarizer = LabelBinarizer()
            if type_of_target(y).startswith("multilabel"):
                self._label_binarizer.fit(y)
            else:
                self._label_binarizer.fit(classes)
            self.classes_ = self._label_binarizer.classes_
        elif classes is not None and not np.array_equal(np.unique(classes), self.classes_):
            raise ValueError(f"classes: {classes!r} is not the same as on the first call to "
                             f"partial_fit: {self.classes_!r}")
        with failures_unreported():
            self._fit(X, y, sample_weight, incremental=True)
        return self

    def predict(self, X: Any) -> np.ndarray:
        """Predict the classes of X.

        Parameters
        ----------
        X : array_like or sparse matrix, shape (n_samples, n_features)
            The inputs; sparse X is made dense.

        Returns
        -------
        numpy.ndarray
            The classes (n_samples,), or indicator rows for multi-label targets.
        """
        out = self._forward(X)
        if out.shape[1] == 1:
            out = out.ravel()
        labels: np.ndarray = self._label_binarizer.inverse_transform(out)
        return labels

    def predict_proba(self, X: Any) -> np.ndarray:
        """Predict the class probabilities of X.

        Parameters
        ----------
        X : array_like or sparse matrix, shape (n_samples, n_features)
            The inputs; sparse X is made dense.

        Returns
        -------
        numpy.ndarray, shape (n_samples, n_classes)
            Probabilities, in the order of ``classes_`` (a sigmoid output's clipped to
            ``[eps, 1 - eps]`` of its dtype, so that none is exactly 0 or 1).
        """
        out = self._forward(X)
        if self.out_activation_ == "logistic":
            # A sigmoid that saturated (as L-BFGS can drive it on separable
            # data) rounds to exactly 0 or 1; clipped to [eps, 1 - eps], as
            # scikit-learn's log-loss clips, so a probability stays one.
            eps = np.finfo(out.dtype).eps
            np.clip(out, eps, 1 - eps, out=out)
        if out.shape[1] == 1:
            p = out.ravel()
            return np.vstack([1 - p, p]).T
        return out

    def predict_log_proba(self, X: Any) -> np.ndarray:
        """Predict the logarithms of the class probabilities of X.

        Parameters
        ----------
        X : array_like or sparse matrix, shape (n_samples, n_features)
            The inputs; sparse X is made dense.

        Returns
        -------
        numpy.ndarray, shape (n_samples, n_classes)
            ``log(predict_proba(X))``.
        """
        proba = self.predict_proba(X)
        with np.errstate(divide="ignore"):
            np.log(proba, out=proba)
        return proba


class MLPRegressor(RegressorMixin, _BaseMLP):  # type: ignore[misc]
    __doc__ = (_REGRESSOR_INTRO + _PARAMETERS_HEAD + _REGRESSOR_EARLY_STOPPING
               + _PARAMETERS_TAIL + _REGRESSOR_END)

    def __init__(self, hidden_layer_sizes: Any = (100,), activation: str = "relu", *,
                 solver: str = "adam", alpha: float = 0.0001, batch_size: Union[int, str] = "auto",
                 learning_rate: str = "constant", learning_rate_init: float = 0.001,
                 power_t: float = 0.5, max_iter: int = 200, shuffle: bool = True,
                 random_state: Any = None, tol: float = 1e-4, verbose: bool = False,
                 warm_start: bool = False, momentum: float = 0.9, nesterovs_momentum: bool = True,
                 early_stopping: bool = False, validation_fraction: float = 0.1,
                 beta_1: float = 0.9, beta_2: float = 0.999, epsilon: float = 1e-8,
                 n_iter_no_change: int = 10, max_fun: int = 15000, dtype: str = "float64",
                 backend: str = "native", progress: bool = False) -> None:
        super().__init__(hidden_layer_sizes, activation, solver=solver, alpha=alpha,
                         batch_size=batch_size, learning_rate=learning_rate,
                         learning_rate_init=learning_rate_init, power_t=power_t,
                         max_iter=max_iter, shuffle=shuffle, random_state=random_state, tol=tol,
                         verbose=verbose, warm_start=warm_start, momentum=momentum,
                         nesterovs_momentum=nesterovs_momentum, early_stopping=early_stopping,
                         validation_fraction=validation_fraction, beta_1=beta_1, beta_2=beta_2,
                         epsilon=epsilon, n_iter_no_change=n_iter_no_change, max_fun=max_fun,
                         dtype=dtype, backend=backend, progress=progress)

    def _validate_xy(self, X: Any, y: Any, incremental: bool, reset: bool
                     ) -> tuple[np.ndarray, np.ndarray]:
        X, y = validate_data(self, X, y, accept_sparse=["csr", "csc"], multi_output=True,
                             y_numeric=True, dtype=(np.float64, np.float32), reset=reset)
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        Y = np.asarray(y, dtype=np.float64)
        return self._densify(X), Y.reshape(-1, 1) if Y.ndim == 1 else Y

    def _output(self) -> tuple[str, str, str]:
        return "linear", "mse", "identity"

    def _lbfgs_loss(self, value: float, net: Network, n: int, w: Optional[np.ndarray],
                    alpha: float) -> float:
        # L-BFGS minimised E + penalty, E = sum of squared errors / (2 n): the
        # objective whose gradient is scikit-learn's. scikit-learn's loss_
        # averages the squared errors over the outputs too, so for K outputs it
        # is E / K + penalty (the same number for one output).
        K = net.layers[-1]
        if K == 1:
            return value
        w_sum = float(n) if w is None else float(np.sum(w, dtype=np.float64))
        squares = sum(float(np.sum(np.square(W, dtype=np.float64))) for W in net.weights)
        penalty = 0.5 * alpha * squares / w_sum if w_sum > 0 else 0.0
        return (value - penalty) / K + penalty

    def _loss_scale(self) -> float:
        return 0.5

    @staticmethod
    def _mean_variance(Y_val: np.ndarray) -> float:
        return float(np.mean(np.var(Y_val, axis=0)))

    def _early_stopping_rule(self, Y_val: np.ndarray, tol: float) -> tuple[str, float]:
        return "val_loss", tol * self._mean_variance(Y_val)

    def _validation_scores(self, h: History, Y_val: np.ndarray) -> list[float]:
        assert h.val_loss is not None
        var = self._mean_variance(Y_val)
        if var > 0:
            return [1.0 - float(v) / var for v in h.val_loss]
        return [1.0 if v == 0 else 0.0 for v in h.val_loss]  # r2_score's constant-y convention

    @_if_stochastic
    def partial_fit(self, X: Any, y: Any, sample_weight: Any = None) -> "MLPRegressor":
        """Train one epoch over X and y, from the fitted network if there is one.

        Parameters
        ----------
        X : array_like or sparse matrix, shape (n_samples, n_features)
            The inputs; sparse X is made dense.
        y : array_like
            The targets, (n_samples,) or (n_samples, n_outputs).
        sample_weight : array_like or None, default=None
            One weight >= 0 per row.

        Returns
        -------
        self
            The estimator.
        """
        with failures_unreported():
            self._fit(X, y, sample_weight, incremental=True)
        return self

    def predict(self, X: Any) -> np.ndarray:
        """Predict the targets of X.

        Parameters
        ----------
        X : array_like or sparse matrix, shape (n_samples, n_features)
            The inputs; sparse X is made dense.

        Returns
        -------
        numpy.ndarray
            Predictions, (n_samples,) for one output, else (n_samples, n_outputs).
        """
        out = self._forward(X)
        values: np.ndarray = out.ravel() if out.shape[1] == 1 else out
        return values
