"""Kernel variants and threads: what runs is reported, selectable, and never changes results."""

import threading

import numpy as np
import pytest
from conftest import assert_close, plain_fit

import plainnet as pn
from plainnet import _core
from plainnet import reference as ref


@pytest.fixture
def threads():
    """Restores the thread count after a test that changes it."""
    before = _core.get_num_threads()
    yield
    _core.set_num_threads(before)


def test_build_info_names_what_runs():
    info = _core.build_info()
    assert set(info) >= {"compiler", "flags", "variants", "supported", "variant", "num_threads"}
    assert info["variants"][:2] == ["naive", "baseline"]
    assert set(info["supported"]) <= set(info["variants"])
    assert info["variant"] in info["supported"]
    # The best supported variant is the default.
    assert info["variant"] == info["supported"][-1]
    assert info["num_threads"] == _core.get_num_threads() >= 1
    # The default build is portable: no tuning for the build machine, no fast-math.
    assert "-march=native" not in info["flags"] and "fast-math" not in info["flags"]


def test_naive_and_baseline_run_everywhere():
    assert _core.supported_variants()[:2] == ["naive", "baseline"]


def test_set_dispatch_is_a_deprecated_alias_of_set_variant():
    before = _core.build_info()["variant"]
    try:
        with pytest.warns(DeprecationWarning, match="use set_variant"):
            _core.set_dispatch("baseline")
        assert _core.build_info()["variant"] == "baseline"
    finally:
        _core.set_variant(before)


@pytest.mark.parametrize("bad", ["", "AVX512", "sse9"])
def test_unknown_variant_is_refused(bad):
    with pytest.raises(ValueError, match="unknown kernel variant"):
        _core.set_variant(bad)


def test_unsupported_variant_is_refused():
    missing = [v for v in _core.build_info()["variants"] if v not in _core.supported_variants()]
    if not missing:
        pytest.skip("this CPU runs every compiled variant")
    with pytest.raises(ValueError, match="does not support"):
        _core.set_variant(missing[0])


@pytest.mark.parametrize("n", [0, -1, 1025])
def test_bad_thread_count_is_refused(n):
    with pytest.raises(ValueError, match="n: expected a thread count"):
        _core.set_num_threads(n)


# Big enough that every product is split over the pool.
SIZES = [300, 257, 130, 3]
ACTS = ["sigmoid", "tanh", "sigmoid"]


def _problem(dtype):
    rng = np.random.default_rng(7)
    params = (rng.standard_normal(_core.num_parameters(SIZES)) * 0.1).astype(dtype)
    X = rng.random((200, SIZES[0])).astype(dtype)
    y = rng.random((200, SIZES[-1])).astype(dtype)
    return params, X, y


def _train(params, X, y, iterations=3):
    params = params.copy()
    losses, done, status = plain_fit(_core, params, SIZES, ACTS, X, y, 0.5, iterations, 0, False,
                                     0, 0, None)
    assert (done, status) == (iterations, "done")
    return params, losses


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_threads_give_bit_identical_results(variant, threads, dtype):
    # Threads split products into bands of whole register tiles and never
    # split a sum, so the thread count cannot change a single bit.
    params, X, y = _problem(dtype)
    _core.set_num_threads(1)
    want_p, want_l = _train(params, X, y)
    want_g = _core.gradients(params, SIZES, ACTS, "mse", X, y)[1]
    for n in (2, 3, 8):
        _core.set_num_threads(n)
        got_p, got_l = _train(params, X, y)
        assert np.array_equal(got_p, want_p) and np.array_equal(got_l, want_l), n
        assert np.array_equal(_core.gradients(params, SIZES, ACTS, "mse", X, y)[1], want_g), n


def test_every_variant_trains_like_the_reference(variant):
    params, X, y = _problem(np.float64)
    got_p, got_l = _train(params, X, y)
    want_p = params.copy()
    want_l = [ref.step(want_p, SIZES, ACTS, "mse", X, y, 0.5)[0] for _ in range(3)]
    assert_close(got_l, want_l, rtol=1e-11)
    assert_close(got_p, want_p, rtol=1e-11)


def test_two_threads_sharing_the_pool_get_their_own_results(threads):
    # While one fit holds the pool, the other runs its products in its own
    # thread; both must still get exactly what they get alone.
    _core.set_num_threads(2)
    p64, X64, y64 = _problem(np.float64)
    p32, X32, y32 = _problem(np.float32)
    alone = [_train(p64, X64, y64, 20), _train(p32, X32, y32, 20)]
    out = [None, None]

    def run(i, p, X, y):
        out[i] = _train(p, X, y, 20)

    workers = [threading.Thread(target=run, args=(0, p64, X64, y64)),
               threading.Thread(target=run, args=(1, p32, X32, y32))]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    for (gp, gl), (wp, wl) in zip(out, alone):
        assert np.array_equal(gp, wp) and np.array_equal(gl, wl)


def _same_on_threads(counts, train):
    """Runs train() (returning a fitted network and its History) on each thread
    count; requires bit-identical losses and weights, and returns the first run."""
    runs = []
    for n in counts:
        _core.set_num_threads(n)
        net, hist = train()
        runs.append((hist.loss, net.weights))
    for loss, weights in runs[1:]:
        assert np.array_equal(loss, runs[0][0])
        assert all(np.array_equal(a, b) for a, b in zip(weights, runs[0][1]))
    return runs[0]


def test_network_results_do_not_depend_on_threads(threads):
    X = np.random.default_rng(3).random((256, 64))
    y = (X[:, :10] > 0.5).astype(float)

    def train():
        net = pn.Network([64, 300, 10], seed=5)
        return net, net.fit(X, y, lr=0.5, epochs=5)

    _same_on_threads((1, 2), train)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("optimizer", [lambda: pn.optim.SGD(lr=0.5, momentum=0.9),
                                       lambda: pn.optim.Adam(lr=1e-3),
                                       lambda: pn.optim.Rprop(lr=1e-3)],
                         ids=["sgd-momentum", "adam", "rprop"])
def test_updates_split_over_threads_give_bit_identical_results(variant, threads, dtype,
                                                                optimizer):
    # 111,290 parameters: every rule's update is split over the pool (Adam's
    # from 4,096 parameters, the others' from 32,768), in two parts per thread.
    # The parts must run the variant's own code, as the unsplit update does.
    X = np.random.default_rng(3).random((64, SIZES[0])).astype(dtype)
    y = np.random.default_rng(4).random((64, SIZES[-1])).astype(dtype)

    def train():
        net = pn.Network(SIZES, seed=5, dtype=dtype)
        return net, net.fit(X, y, optimizer=optimizer(), epochs=4)

    _same_on_threads((1, 2, 3), train)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_minibatches_gathered_over_threads_give_bit_identical_results(variant, threads, dtype):
    # Batches of 50 rows of 400 inputs (160 KB in float64, 80 KB in float32)
    # are gathered by the pool; 173 rows leave a last batch of 23. The
    # weights of each row are gathered with it.
    rng = np.random.default_rng(11)
    X = rng.random((173, 400)).astype(dtype)
    y = rng.random((173, 3)).astype(dtype)
    w = rng.uniform(0.5, 2.0, 173)

    def train(backend="native"):
        net = pn.Network([400, 20, 3], seed=5, dtype=dtype, backend=backend)
        return net, net.fit(X, y, optimizer=pn.optim.SGD(lr=0.3), epochs=3, batch_size=50,
                            seed=2, sample_weight=w)

    loss, weights = _same_on_threads((1, 2, 3), train)
    # The same batches, rows and weights as the NumPy backend's.
    ref_net, ref_hist = train("numpy")
    rtol = 1e-12 if dtype == "float64" else 1e-4
    np.testing.assert_allclose(loss, ref_hist.loss, rtol=rtol)
    for a, b in zip(weights, ref_net.weights):
        np.testing.assert_allclose(a, b, rtol=rtol, atol=rtol)


# Products of 2**24 multiply-adds and more share one packed copy of B' and
# split their rows into bands that the threads claim (fast.h, SharedB). These
# shapes take that path with every twist of it: several blocks of K, more
# columns than one block of them (NC), ragged panels and bands, C computed
# transposed, and the backward products' strided operands.
SHARED_SHAPES = [(256, 784, 128), (150, 520, 300), (61, 1100, 1300), (700, 97, 400),
                 (33, 2000, 600), (2100, 90, 131)]


def _layer_products(B, C, OC, dtype):
    rng = np.random.default_rng(B * 7 + C)
    x, w = rng.standard_normal((B, C)).astype(dtype), rng.standard_normal((C, OC)).astype(dtype)
    b, dout = rng.standard_normal(OC).astype(dtype), rng.standard_normal((B, OC)).astype(dtype)
    dx, dw, db = np.zeros_like(x), np.zeros_like(w), np.zeros_like(b)
    _core.dense_backward(dx, dw, db, dout, x, w)
    return [_core.dense_forward(x, w, b), dx, dw], [ref.dense_forward(x, w, b),
                                                    dout @ w.T, x.T @ dout]


@pytest.mark.parametrize("shape", SHARED_SHAPES)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_shared_products_do_not_depend_on_the_thread_count(variant, threads, shape, dtype):
    assert shape[0] * shape[1] * shape[2] >= 1 << 24  # the shared path's products
    _core.set_num_threads(1)
    want, reference = _layer_products(*shape, dtype)
    for n in (2, 3, 5):
        _core.set_num_threads(n)
        got, _ = _layer_products(*shape, dtype)
        for g, w in zip(got, want):
            assert np.array_equal(g, w), (n, shape)
    if dtype == np.float64:
        for g, r in zip(want, reference):
            assert_close(g, r, rtol=1e-12)
