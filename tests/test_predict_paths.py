"""The paths a prediction takes: few rows, and many rows split over the pool.

A forward product of up to fast.h kFewRows rows runs as one matrix-vector
product per row, reading the weights where they lie, or a network's copy of
its wide layers in row panels (network.h RowPanels), which Network.forward
makes on the second few-row prediction with the same weights. Each output is
summed in the same order as the blocked product sums it (bias first, then
k = 0, 1, ...), so a row predicted alone equals, bit for bit, the same row
predicted among many, in every kernel variant, with or without the panels;
and both stay within float tolerance of the NumPy twin (fast.h few_rows_part).

Few columns (an output layer of 10), many rows: groups of rows with every
output in registers, again in the same order (fast.h narrow_part).

Many rows: from two chunks of rows on, the chunks go to the pool's threads
whole, and each row's sums are again the same (network.cpp predict).
"""

import numpy as np
import pytest
from conftest import DTYPES, assert_close

import plainnet as pn
from plainnet import _core
from plainnet import reference as ref

pytestmark = pytest.mark.usefixtures("variant")

FEW_ROWS = 4  # fast.h kFewRows
MANY_ROWS = 40  # enough rows for the blocked product

# Widths around the tiles of every variant (NR = 4 .. 32 columns, kRowTiles = 4
# tiles side by side): a partial tile only, whole tiles and a partial one, more
# than one group of tiles; sums longer than a cache block (C > 256); a product
# big enough to be split over the thread pool by columns (784 x 512); fewer
# columns than a tile, whose rows the tile reads past, into the next rows of
# W, up to the last rows, summed one element at a time (40 x 7, 512 x 10).
LAYERS = [(1, 1), (5, 3), (7, 13), (33, 45), (64, 128), (300, 129), (17, 257), (784, 512),
          (40, 7), (512, 10)]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("C,OC", LAYERS)
def test_dense_forward_of_few_rows_equals_the_same_rows_among_many(rng, dtype, C, OC):
    inp = rng.standard_normal((MANY_ROWS, C)).astype(dtype)
    W = rng.standard_normal((C, OC)).astype(dtype)
    b = rng.standard_normal(OC).astype(dtype)
    many = _core.dense_forward(inp, W, b)
    assert_close(many, ref.dense_forward(inp, W, b), dtype)
    for rows in range(1, FEW_ROWS + 2):
        few = _core.dense_forward(inp[:rows], W, b)
        np.testing.assert_array_equal(few, many[:rows])
    # a row that is not the first: its offset into X is used right
    np.testing.assert_array_equal(_core.dense_forward(inp[7:9], W, b), many[7:9])


def _same_among_zero_columns(rng, dtype, rows, C, OC, extra):
    """A (rows, C) x (C, OC) layer's outputs equal, bit for bit, the same
    columns of the layer with `extra` more columns of zero weights, and the
    NumPy twin's within float tolerance."""
    inp = rng.standard_normal((rows, C)).astype(dtype)
    W = rng.standard_normal((C, OC)).astype(dtype)
    b = rng.standard_normal(OC).astype(dtype)
    alone = _core.dense_forward(inp, W, b)
    among = _core.dense_forward(inp, np.hstack([W, np.zeros((C, extra), dtype)]),
                                np.concatenate([b, np.zeros(extra, dtype)]))
    np.testing.assert_array_equal(alone, among[:, :OC])
    assert_close(alone, ref.dense_forward(inp, W, b), dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("C,OC", [(1, 1), (128, 10), (64, 3), (300, 13), (9, 31)])
@pytest.mark.parametrize("rows", [5, 8, 13, 600])
def test_few_columns_equal_the_blocked_product(rng, dtype, C, OC, rows):
    # Fewer columns than a register tile take fast.h narrow_part; the same
    # columns among 64 more (zero weights) take the blocked product. Each
    # output is summed in the same order either way.
    _same_among_zero_columns(rng, dtype, rows, C, OC, 64)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("C,OC", [(300, 64), (784, 128), (20, 33)])
@pytest.mark.parametrize("rows", [40, 101])
def test_inputs_read_in_place_equal_packed_inputs(rng, dtype, C, OC, rows):
    # Over a B of at most 8 panels (gemm.h kRowsAPanels), the blocked product
    # reads a row-major A where it lies; over more, it packs A first. The
    # same columns among 1,000 more (zero weights) take the packed path, and
    # each output is summed in the same order either way: ragged row panels
    # (101 rows), sums over several blocks of K (784), partial column panels.
    _same_among_zero_columns(rng, dtype, rows, C, OC, 1000)


NETWORKS = [((64, 128, 10), "relu", "softmax", "cross_entropy"),
            ((784, 128, 10), "relu", "softmax", "cross_entropy"),
            ((784, 512, 512, 10), "relu", "softmax", "cross_entropy"),
            ((3, 33, 17, 2), "tanh", "sigmoid", "binary_cross_entropy"),
            ((9, 70, 1), "sigmoid", "linear", "mse")]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("layers,act,out,loss", NETWORKS)
def test_a_row_predicted_alone_equals_it_among_many_and_the_numpy_twin(rng, dtype, layers, act,
                                                                       out, loss):
    net = pn.Network(list(layers), activation=act, output_activation=out, loss=loss,
                     dtype=dtype, seed=int(rng.integers(1 << 30)))
    X = rng.standard_normal((MANY_ROWS, layers[0])).astype(dtype)
    many = net.forward(X)
    twin = net.with_backend("numpy").forward(X)
    assert_close(many, twin, dtype)
    for rows in (1, 2, FEW_ROWS):
        for start in (0, 5):
            np.testing.assert_array_equal(net.forward(X[start:start + rows]),
                                          many[start:start + rows])
    assert_close(net.forward(X[:1]), twin[:1], dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_few_rows_follow_the_weights_as_training_changes_them(rng, dtype):
    # The row panels are a copy of the weights a prediction computed with:
    # a prediction right after an update sees the updated weights, whether
    # it is the first with them (no panels yet) or a later one (panels
    # made from the new weights). 300 is wider than a panel in every variant.
    net = pn.Network([20, 300, 3], activation="relu", output_activation="softmax",
                     loss="cross_entropy", dtype=dtype, seed=3)
    X = rng.standard_normal((30, 20)).astype(dtype)
    y = rng.integers(0, 3, 30)
    for _ in range(3):
        before = [net.forward(X[:1]) for _ in range(3)]
        net.fit(X, y, epochs=1, lr=0.5, batch_size=None)
        after = [net.forward(X[:1]) for _ in range(3)]
        assert net._panels is not None and net._panels[0] is net._params
        assert net._panels[1] and (net._panels[2] is None) == (_core.build_info()["variant"] == "naive")
        assert not np.array_equal(before[-1], after[0])
        for got in after:
            np.testing.assert_array_equal(got, net.forward(X)[:1])
        assert_close(after[-1], net.with_backend("numpy").forward(X[:1]), dtype)
    rebuilt = pn.Network.from_weights([w * 2 for w in net.weights], net.biases,
                                      activation="relu", output_activation="softmax",
                                      loss="cross_entropy")
    assert_close(rebuilt.forward(X[:2]), rebuilt.with_backend("numpy").forward(X[:2]), dtype)


# Networks with layers wider than a row panel in every variant (up to 256
# columns): one panel and a narrower one, panels split between threads
# mid-panel (300 columns on 3 threads), several whole panels.
WIDE = [(30, 300, 1000, 10), (784, 512, 512, 10), (9, 257, 3)]


def _wide(dtype, layers, seed=0):
    return pn.Network(list(layers), activation="relu", output_activation="softmax",
                      loss="cross_entropy", dtype=dtype, seed=seed)


def _core_forward(net, X, panels=None):
    return _core.forward(net._params, net._sizes, net._acts, net._loss, X, panels)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("layers", WIDE)
def test_row_panels_give_the_rows_the_weights_give(rng, dtype, layers, variant):
    net = _wide(dtype, layers, seed=int(rng.integers(1 << 30)))
    panels = _core.row_panels(net._params, net._sizes)
    if variant == "naive":  # its plain loops read the weights only
        assert panels is None
        return
    width, copy = panels
    # The layout network.h describes: every layer wider than `width`, its
    # columns in panels `width` wide (the last narrower), each panel row-major.
    expected = [W[:, q:q + width].ravel() for W in net.weights if W.shape[1] > width
                for q in range(0, W.shape[1], width)]
    np.testing.assert_array_equal(copy, np.concatenate(expected))
    X = rng.standard_normal((FEW_ROWS + 1, layers[0])).astype(dtype)
    before = _core.get_num_threads()
    try:
        for threads in (1, 2, 3):
            _core.set_num_threads(threads)
            for rows in range(1, FEW_ROWS + 2):
                np.testing.assert_array_equal(_core_forward(net, X[:rows], panels),
                                              _core_forward(net, X[:rows]))
    finally:
        _core.set_num_threads(before)


@pytest.mark.parametrize("dtype", DTYPES)
def test_row_panels_are_read_for_a_few_rows_only_and_only_at_their_width(rng, dtype, variant):
    net = _wide(dtype, (30, 300, 1000, 10))
    if variant == "naive":  # nothing to read: given panels, it reads the weights
        assert _core.row_panels(net._params, net._sizes) is None
        X = rng.standard_normal((1, 30)).astype(dtype)
        some = (64, np.zeros(_core_panel_size(net, 64), dtype))
        np.testing.assert_array_equal(_core_forward(net, X, some), _core_forward(net, X))
        return
    width, copy = _core.row_panels(net._params, net._sizes)
    X = rng.standard_normal((FEW_ROWS + 1, 30)).astype(dtype)
    wrong = (width, np.zeros_like(copy))  # not these weights: shows what is read
    for rows in range(1, FEW_ROWS + 1):
        assert not np.array_equal(_core_forward(net, X[:rows], wrong), _core_forward(net, X[:rows]))
    np.testing.assert_array_equal(_core_forward(net, X, wrong), _core_forward(net, X))
    # A copy made for another kernel variant's width (set_variant since) is
    # not read: the weights are.
    stale = (width * 2, np.zeros(_core_panel_size(net, width * 2), dtype))
    np.testing.assert_array_equal(_core_forward(net, X[:1], stale), _core_forward(net, X[:1]))


def _core_panel_size(net, width):
    return sum(W.size for W in net.weights if W.shape[1] > width)


@pytest.mark.parametrize("panels,error,match", [
    ("nope", TypeError, r"panels: expected None or row_panels' \(width, array\), got str"),
    ((256,), TypeError, r"panels: expected None or row_panels' \(width, array\), got tuple"),
    ((256, [1.0]), TypeError, r"panels: expected a NumPy array, got list"),
    ((256, np.zeros(3, np.float32)), TypeError, r"panels: expected a C-contiguous array of dtype "
                                                r"float64, got float32"),
    ((0, np.zeros(3)), ValueError, r"panels: expected a width of at least 1"),
    ((256, np.zeros(3)), ValueError, r"panels: expected shape \(309000,\), got \(3,\)"),
])
def test_bad_row_panels_are_refused(rng, panels, error, match):
    net = _wide("float64", (30, 300, 1000, 10))
    with pytest.raises(error, match=match):
        _core_forward(net, np.ones((1, 30)), panels)


def test_few_rows_on_one_two_and_three_threads_agree(rng):
    net = pn.Network([784, 512, 10], activation="relu", dtype="float64", seed=1)
    X = rng.standard_normal((3, 784))
    before = _core.get_num_threads()
    try:
        _core.set_num_threads(1)
        one = net.forward(X)
        _core.set_num_threads(2)
        two = net.forward(X)
        _core.set_num_threads(3)  # bands of tiles that do not split evenly
        three = net.forward(X)
    finally:
        _core.set_num_threads(before)
    np.testing.assert_array_equal(one, two)
    np.testing.assert_array_equal(one, three)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_a_non_finite_value_in_one_row_is_refused(bad):
    net = pn.Network([64, 128, 10], activation="relu", dtype="float32", seed=0)
    x = np.ones((1, 64), dtype=np.float32)
    x[0, 17] = bad
    with pytest.raises(ValueError, match=r"X: expected finite values.*\(0, 17\)"):
        net.forward(x)


PREDICT_ROWS = 512  # network.cpp kPredictRows


@pytest.mark.parametrize("dtype", DTYPES)
def test_many_rows_split_over_the_pool_equal_one_thread_and_the_numpy_twin(rng, dtype):
    # Chunks of rows go to the pool's threads whole (network.cpp predict);
    # a partial last chunk and an odd number of chunks included.
    net = pn.Network([37, 65, 9], activation="tanh", output_activation="softmax",
                     loss="cross_entropy", dtype=dtype, seed=5)
    X = rng.standard_normal((5 * PREDICT_ROWS + 3, 37)).astype(dtype)
    before = _core.get_num_threads()
    try:
        _core.set_num_threads(1)
        one = net.forward(X)
        _core.set_num_threads(2)
        two = net.forward(X)
        _core.set_num_threads(3)
        three = net.forward(X)
    finally:
        _core.set_num_threads(before)
    np.testing.assert_array_equal(two, one)
    np.testing.assert_array_equal(three, one)
    assert_close(two, net.with_backend("numpy").forward(X), dtype)
    np.testing.assert_array_equal(net.forward(X[-2:]), two[-2:])


@pytest.mark.parametrize("threads", [1, 2])
def test_the_first_non_finite_value_is_reported_whichever_thread_meets_it(threads):
    net = pn.Network([8, 16, 2], activation="relu", dtype="float64", seed=0)
    X = np.ones((4 * PREDICT_ROWS, 8))
    X[3 * PREDICT_ROWS + 7, 2] = np.inf  # in a later chunk
    X[PREDICT_ROWS + 1, 5] = np.nan      # the first, in the second chunk
    before = _core.get_num_threads()
    try:
        _core.set_num_threads(threads)
        with pytest.raises(ValueError, match=rf"X: expected finite values, got nan at index "
                                             rf"\({PREDICT_ROWS + 1}, 5\)"):
            net.forward(X)
        X[PREDICT_ROWS + 1, 5] = 0.0
        with pytest.raises(ValueError, match=rf"got inf at index \({3 * PREDICT_ROWS + 7}, 2\)"):
            net.forward(X)
    finally:
        _core.set_num_threads(before)
