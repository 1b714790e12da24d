"""Mini-batch training: the same updates in every peer, shuffled every epoch.

Two problems, each trained with two optimizers (one row each):

    digits  64-64-10    1,344 rows (digits-sized), batches of 32
    mnist   784-128-10  3,072 rows (MNIST-sized), batches of 64

The data are synthetic: inputs uniform in [0, 1), classes given by a random
linear "teacher" (so the loss falls); the network is relu then softmax,
trained on the cross-entropy (He initialisation, seed 0), with

    sgd   plain SGD, lr 0.1 (no momentum, no weight decay)
    adam  Adam, lr 1e-3, betas (0.9, 0.999), eps 1e-12 (see the check below)

scikit-learn's MLPClassifier trains only on the cross-entropy, so both rows use
it; the cost of the loss itself is measured apart (bench/overhead.py).

Every peer makes the same updates: the same initial weights, the same batches
in the same order, the same rule. native and numpy run ``Network.fit(...,
batch_size, seed=SEED)``, which visits epoch e's rows in the order
``plainnet.reference.epoch_permutation(rows, SEED, e)``; PyTorch and
scikit-learn are handed the data already permuted that way, epoch after epoch,
as one array, and take it in order (the permutation is made before timing).

    torch    nn.Linear/nn.ReLU/nn.Linear, nn.CrossEntropyLoss (the mean over the
             batch, as plainnet's), torch.optim.SGD(lr) or Adam(lr): torch's
             rules are plainnet's. 1 and 2 threads; the faster is timed.
    sklearn  MLPClassifier(activation="relu", solver="sgd" or "adam", alpha=0,
             batch_size, learning_rate_init=lr, momentum=0,
             nesterovs_momentum=False, shuffle=False, max_iter=1, warm_start=True)
             given plainnet's initial weights: one fit is one pass over the
             permuted epochs.

The check: after each run the peer's final weights are evaluated by
plainnet's NumPy backend on the training rows; that loss must equal native's
to rtol 1e-9 (the peers differ only in the order of floating-point sums, and
agree to 1e-15 here). A learning rate 1 % off moves that loss by 1.9e-3 or
more, another batch order by 1.7e-3 or more (tests/test_bench.py).

scikit-learn's Adam puts epsilon elsewhere: it steps by
lr·sqrt(1 - beta2^t)/(1 - beta1^t) · m / (sqrt(v) + eps), where torch and
plainnet step by lr/(1 - beta1^t) · m / (sqrt(v / (1 - beta2^t)) + eps); so its
eps is in effect eps / sqrt(1 - beta2^t), 31.6 eps at the first step. That
changes every update whose sqrt(v̂) is within a few hundred eps of 0, and
relu units that are active on few rows have such gradients: with the default
eps 1e-8 the final loss moved by 1e-4 (digits) and 4.5e-3 (mnist), on mnist
more than a 1 % error in the learning rate does (2e-3), so no tolerance could
tell the two apart. The Adam rows therefore use eps 1e-12 in every peer (the time of an
update does not depend on eps): there scikit-learn's placement moves the loss
by 2e-10 at most (measured), and its tolerance is 1e-7, 500 times that and
still 10,000 times below what a 1 % learning-rate error or another batch
order does.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Optional

import numpy as np

from gemm import training_flops
from peers import PlainnetPeer, SklearnWarmStart, TorchTraining, torch_model
from suite import PAUSE, Result, check, measure

import plainnet as pn

DTYPE = "float64"
SEED = 7          # fit's shuffle seed: the batch order of every peer
RTOL = 1e-9       # a peer's checked loss vs native's
RTOL_SKLEARN_ADAM = 1e-7  # scikit-learn's Adam: epsilon in another place (see above)
ADAM_EPS = 1e-12  # small enough that where epsilon goes does not matter (see above)


@dataclass(frozen=True)
class MiniBatchSize:
    name: str
    layers: tuple[int, ...]
    rows: int        # training rows: a whole number of batches
    batch: int
    epochs: int      # epochs in one timed run

    @property
    def label(self) -> str:
        return f"{'-'.join(map(str, self.layers))} b{self.batch}"


SIZES = {s.name: s for s in (
    MiniBatchSize("digits", (64, 64, 10), 1344, 32, 10),  # 42 batches an epoch
    MiniBatchSize("mnist", (784, 128, 10), 3072, 64, 2),  # 48 batches an epoch
)}

# name: learning rate
OPTIMIZERS = {"sgd": 0.1, "adam": 1e-3}


@dataclass
class MiniBatchProblem:
    """One size with one optimizer: the data, the initial network, the epochs."""

    size: MiniBatchSize
    optimizer: str
    X: np.ndarray          # (rows, inputs)
    labels: np.ndarray     # (rows,) int64 classes
    Y: np.ndarray          # (rows, classes) one-hot, what plainnet trains on
    net: pn.Network        # the initial weights (backend "native")
    epochs: int
    seed: int = SEED
    dtype: str = DTYPE
    lr_factor: float = 1.0  # the peers' learning rate over the problem's (1: the same)
    order_seed: Optional[int] = None  # the seed of the peers' batch order (None: seed)

    @property
    def lr(self) -> float:
        return OPTIMIZERS[self.optimizer]

    @property
    def iterations(self) -> int:
        return self.epochs * (self.size.rows // self.size.batch)

    def optimizer_object(self) -> pn.optim.Optimizer:
        if self.optimizer == "sgd":
            return pn.optim.SGD(lr=self.lr)
        return pn.optim.Adam(lr=self.lr, eps=ADAM_EPS)

    def permuted(self) -> tuple[np.ndarray, np.ndarray]:
        """(X, labels) of every epoch one after the other, each in the order fit visits it."""
        seed = self.seed if self.order_seed is None else self.order_seed
        order = np.concatenate([pn.reference.epoch_permutation(self.size.rows, seed, e)
                                for e in range(self.epochs)])
        return np.ascontiguousarray(self.X[order]), np.ascontiguousarray(self.labels[order])

    def loss_of(self, weights: list[np.ndarray], biases: list[np.ndarray]) -> float:
        """The cross-entropy of these weights on the training rows (NumPy backend)."""
        net = pn.Network.from_weights([np.asarray(W, dtype=np.float64) for W in weights],
                                      [np.asarray(b, dtype=np.float64) for b in biases],
                                      activation="relu", output_activation="softmax",
                                      loss="cross_entropy", backend="numpy")
        return net.loss(self.X, self.Y)


def make_problem(name: str, optimizer: str, epochs: Optional[int] = None,
                 rows: Optional[int] = None) -> MiniBatchProblem:
    """Deterministic data and weights (fixed seeds), identical for every peer; ``rows``
    (a whole number of batches) trains on fewer rows than the problem's own."""
    if name not in SIZES:
        raise ValueError(f"name: expected one of {sorted(SIZES)}, got {name!r}")
    if optimizer not in OPTIMIZERS:
        raise ValueError(f"optimizer: expected one of {sorted(OPTIMIZERS)}, got {optimizer!r}")
    size = SIZES[name]
    if rows is not None:
        if rows < 1 or rows % size.batch:
            raise ValueError(f"rows: expected a positive multiple of the batch size "
                             f"{size.batch}, got {rows}")
        size = replace(size, rows=rows)
    rng = np.random.default_rng(2025)
    inputs, classes = size.layers[0], size.layers[-1]
    X = rng.random((size.rows, inputs))
    teacher = rng.standard_normal((inputs, classes))
    labels = np.argmax((X - 0.5) @ teacher, axis=1).astype(np.int64)
    net = pn.Network(size.layers, activation="relu", output_activation="softmax",
                     loss="cross_entropy", init="he", seed=0, dtype=DTYPE)
    return MiniBatchProblem(size, optimizer, X, labels, np.eye(classes)[labels], net,
                            size.epochs if epochs is None else epochs)


class PlainnetMiniBatch(PlainnetPeer):
    """Network.fit on mini-batches (native or numpy backend)."""

    problem: MiniBatchProblem

    def run(self, record: bool = False) -> tuple[None, np.ndarray]:
        p = self.problem
        opt = p.optimizer_object()
        opt.lr = opt.lr * p.lr_factor
        seed = p.seed if p.order_seed is None else p.order_seed
        hist = self.net.fit(p.X, p.Y, optimizer=opt, epochs=p.epochs, batch_size=p.size.batch,
                            seed=seed)
        return None, hist.loss

    def final_loss(self) -> float:
        return self.problem.loss_of(self.net.weights, self.net.biases)


class TorchMiniBatch(TorchTraining):
    """PyTorch: nn.Linear/nn.ReLU/nn.Linear on the permuted batches in order,
    nn.CrossEntropyLoss, torch.optim.SGD or Adam."""

    def __init__(self, problem: MiniBatchProblem, threads: int) -> None:
        import torch

        self.problem = problem
        weights, biases = problem.net.weights, problem.net.biases
        model, linears = torch_model(weights, biases, "relu", output=False)  # logits
        X, labels = (torch.from_numpy(a) for a in problem.permuted())
        bs = problem.size.batch
        batches = [(X[i * bs:(i + 1) * bs], labels[i * bs:(i + 1) * bs])
                   for i in range(problem.iterations)]  # views, no copies
        lr = problem.lr * problem.lr_factor
        opt = (torch.optim.SGD(model.parameters(), lr=lr) if problem.optimizer == "sgd"
               else torch.optim.Adam(model.parameters(), lr=lr, eps=ADAM_EPS))
        super().__init__(weights, biases, model, linears, batches, torch.nn.CrossEntropyLoss(),
                         opt, threads)

    def run(self, record: bool = False,
            iterations: Optional[int] = None) -> tuple[None, Optional[np.ndarray]]:
        return None, super().run(record, iterations)[1]

    def final_loss(self) -> float:
        weights = [lin.weight.detach().numpy().T for lin in self.linears]
        biases = [lin.bias.detach().numpy() for lin in self.linears]
        return self.problem.loss_of(weights, biases)


class SklearnMiniBatch(SklearnWarmStart):
    """scikit-learn's MLPClassifier: one pass over the permuted epochs, in order."""

    def __init__(self, problem: MiniBatchProblem) -> None:
        from sklearn.neural_network import MLPClassifier

        self.problem = problem
        self.threads = None
        self.label = "sklearn"
        self._initial = [np.array(a) for a in (*problem.net.weights, *problem.net.biases)]
        self.X, self.labels = problem.permuted()
        size = problem.size
        self.model = MLPClassifier(
            hidden_layer_sizes=size.layers[1:-1], activation="relu", solver=problem.optimizer,
            alpha=0.0, batch_size=size.batch, learning_rate="constant",
            learning_rate_init=problem.lr * problem.lr_factor, max_iter=1, shuffle=False,
            epsilon=ADAM_EPS, tol=0.0, warm_start=True, momentum=0.0, nesterovs_momentum=False,
            early_stopping=False, n_iter_no_change=np.inf, random_state=0)
        self._fit(problem.X, problem.labels)  # allocates coefs_ and intercepts_
        if list(self.model.classes_) != list(range(size.layers[-1])):
            raise RuntimeError(f"MLPClassifier saw classes {self.model.classes_}, expected "
                               f"0..{size.layers[-1] - 1}")
        if self.model.out_activation_ != "softmax":
            raise RuntimeError(f"MLPClassifier's output activation is "
                               f"{self.model.out_activation_!r}, expected 'softmax'")
        self.reset()

    def run(self, record: bool = False) -> tuple[None, None]:
        self._fit(self.X, self.labels)
        return None, None

    def final_loss(self) -> float:
        return self.problem.loss_of(self.model.coefs_, self.model.intercepts_)


def make_peers(name: str, problem: MiniBatchProblem,
               torch_threads: tuple[int, ...] = (1, 2)) -> list[Any]:
    """The peer objects that stand for ``name`` (torch: one per thread count)."""
    if name in ("native", "numpy"):
        return [PlainnetMiniBatch(problem, name)]
    if name == "torch":
        return [TorchMiniBatch(problem, t) for t in torch_threads]
    if name == "sklearn":
        return [SklearnMiniBatch(problem)]
    raise ValueError(f"peer: expected one of native, numpy, torch, sklearn, got {name!r}")


def rtol_for(peer: str, optimizer: str) -> float:
    """The tolerance of a peer's checked loss against native's."""
    return RTOL_SKLEARN_ADAM if (peer, optimizer) == ("sklearn", "adam") else RTOL


def run_problem(name: str, optimizer: str, peers: list[str], repeats: int,
                epochs: Optional[int] = None, torch_threads: tuple[int, ...] = (1, 2),
                pause: float = PAUSE, rows: Optional[int] = None) -> list[Result]:
    """Every requested peer on one mini-batch problem, measured and checked; native
    always runs and is the reference of every other peer."""
    problem = make_problem(name, optimizer, epochs, rows)
    flops = training_flops(problem.size.layers, problem.size.batch)
    entries: list[tuple[Any, Result]] = []
    for peer in ["native", *[p for p in peers if p != "native"]]:
        for obj in make_peers(peer, problem, torch_threads):
            entries.append((obj, Result(
                name, problem.dtype, peer, obj.label, obj.threads, "native",
                problem.iterations, flops, optimizer,
                None if peer == "native" else rtol_for(peer, optimizer))))
    measure(entries, repeats, pause)
    results = [r for _, r in entries]
    check(results, RTOL)
    return results
