"""A Network is a Python value: pickle, copy.copy and copy.deepcopy give an
independent network that predicts and trains bit-identically."""

import concurrent.futures
import copy
import multiprocessing
import pickle

import numpy as np
import pytest

import plainnet as pn

BACKENDS = ["native", "numpy"]
DTYPES = ["float64", "float32"]
CLONES = {
    "pickle": lambda net: pickle.loads(pickle.dumps(net)),
    "copy": copy.copy,
    "deepcopy": copy.deepcopy,
}


def problem(seed=0, m=24):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((m, 5)), rng.uniform(size=(m, 3))


def make(backend, dtype):
    return pn.Network([5, 7, 3], activation="tanh", seed=4, dtype=dtype, backend=backend)


def same_bits(a, b):
    return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()


def assert_identical(net, other):
    assert other.layers == net.layers and other.activations == net.activations
    assert other.dtype == net.dtype and other.backend == net.backend
    for w, v in zip(net.weights + net.biases, other.weights + other.biases):
        assert same_bits(w, v)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("how", CLONES)
def test_a_clone_predicts_the_same_and_is_independent(backend, dtype, how):
    X, y = problem()
    net = make(backend, dtype)
    clone = CLONES[how](net)
    assert clone is not net
    assert_identical(net, clone)
    assert same_bits(clone.forward(X), net.forward(X))
    # the clone has its own parameters and its own lock
    assert clone._lock is not net._lock
    before = net.weights[0].copy()
    clone.fit(X, y, lr=0.5, epochs=3)
    assert same_bits(net.weights[0], before)
    assert not same_bits(clone.weights[0], before)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("how", CLONES)
def test_training_continues_bit_identically_after_a_clone(backend, dtype, how):
    X, y = problem()
    straight, interrupted = make(backend, dtype), make(backend, dtype)
    # full batch: 4 + 6 iterations is the same run as 10
    straight.fit(X, y, lr=0.5, epochs=10)
    interrupted.fit(X, y, lr=0.5, epochs=4)
    resumed = CLONES[how](interrupted)
    resumed.fit(X, y, lr=0.5, epochs=6)
    assert_identical(straight, resumed)
    # mini-batches: the same two fits, with a clone in between
    a, b = make(backend, dtype), make(backend, dtype)
    for net in (a, b):
        net.fit(X, y, lr=0.3, epochs=3, batch_size=5, seed=11)
    b = CLONES[how](b)
    for net in (a, b):
        net.fit(X, y, lr=0.3, epochs=2, batch_size=5, seed=12)
    assert_identical(a, b)
    assert same_bits(a.forward(X), b.forward(X))


def test_a_pickle_of_one_backend_loads_as_that_backend():
    net = make("numpy", "float32")
    restored = pickle.loads(pickle.dumps(net))
    assert restored.backend == "numpy" and restored.dtype == np.float32
    # the restored parameters are writeable, C-contiguous and owned
    assert restored._params.flags.writeable and restored._params.flags.c_contiguous


def _train_elsewhere(net, X, y):
    net.fit(X, y, lr=0.5, epochs=5)
    return net


def test_a_network_trains_in_another_process():
    X, y = problem()
    here = make("native", "float64")
    there = make("native", "float64")
    here.fit(X, y, lr=0.5, epochs=5)
    context = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(1, mp_context=context) as pool:
        back = pool.submit(_train_elsewhere, there, X, y).result(timeout=120)
    assert_identical(here, back)
