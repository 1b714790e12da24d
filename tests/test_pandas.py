"""pandas input: numeric DataFrames and Series train as arrays do; the rest is
refused with a message naming the columns at fault and why."""

import numpy as np
import pytest

import plainnet as pn

pd = pytest.importorskip("pandas", reason="these tests feed pandas DataFrames (pip install pandas)")


@pytest.fixture
def frame():
    """A numeric DataFrame of mixed kinds (float, int, bool, nullable Int64)."""
    rng = np.random.default_rng(0)
    n = 40
    return pd.DataFrame({
        "height": rng.random(n),
        "rooms": rng.integers(1, 5, n),
        "garden": rng.random(n) > 0.5,
        "floors": pd.array(rng.integers(0, 3, n), dtype="Int64"),
    })


def test_a_numeric_frame_trains_as_its_array_does(frame):
    y = pd.Series((frame["height"] > 0.5).astype(float), name="expensive")
    as_array = frame.to_numpy(dtype=np.float64)
    nets = [pn.Network([4, 6, 1], seed=1) for _ in range(2)]
    h_frame = nets[0].fit(frame, y, epochs=30)
    h_array = nets[1].fit(as_array, y.to_numpy(), epochs=30)
    assert np.array_equal(h_frame.loss, h_array.loss)
    assert np.array_equal(nets[0].forward(frame), nets[1].forward(as_array))
    assert nets[0].evaluate(frame, y) == nets[1].evaluate(as_array, y.to_numpy())


def test_columns_are_read_by_position_not_by_name(frame):
    net = pn.Network([4, 3, 1], seed=2)
    renamed = frame.set_axis(["a", "b", "c", "d"], axis=1)
    assert np.array_equal(net.forward(frame), net.forward(renamed))
    # the same data in another column order is other data to a Network
    reordered = frame[["rooms", "height", "garden", "floors"]]
    assert not np.array_equal(net.forward(frame), net.forward(reordered))


def test_class_labels_from_a_series(frame):
    labels = pd.Series(frame["rooms"] - 1, name="rooms")
    X = frame[["height", "garden"]]
    net = pn.Network([2, 5, 4], activation="tanh", output_activation="softmax",
                     loss="cross_entropy", seed=0)
    h = net.fit(X, labels, epochs=5, validation_data=(X, labels))
    ref = pn.Network([2, 5, 4], activation="tanh", output_activation="softmax",
                     loss="cross_entropy", seed=0)
    h_ref = ref.fit(X.to_numpy(dtype=float), labels.to_numpy(), epochs=5,
                    validation_data=(X.to_numpy(dtype=float), labels.to_numpy()))
    assert np.array_equal(h.loss, h_ref.loss) and np.array_equal(h.val_loss, h_ref.val_loss)
    assert np.array_equal(net.weights[0], ref.weights[0])


def test_non_numeric_columns_are_named(frame):
    X = frame.assign(city=["Paris", "Lyon"] * 20, kind=pd.Categorical(["a", "b"] * 20))
    net = pn.Network([6, 3, 1], seed=0)
    before = net.weights
    with pytest.raises(TypeError) as info:
        net.fit(X, np.zeros(40), epochs=3)
    msg = str(info.value)
    assert msg.startswith("X: expected real numbers (bool, int or float) in every column, got "
                          "non-numeric dtypes in columns 'city' (")
    assert "'kind' (category)" in msg
    for fine in ("height", "rooms", "garden", "floors"):
        assert repr(fine) not in msg
    assert all(np.array_equal(a, b) for a, b in zip(net.weights, before))
    assert net.optimizer is None


def test_missing_values_are_named_with_their_columns(frame):
    X = frame.copy()
    X.loc[3, "height"] = np.nan
    X.loc[[5, 7], "floors"] = pd.NA
    net = pn.Network([4, 3, 1], seed=0)
    with pytest.raises(ValueError) as info:
        net.fit(X, np.zeros(40), epochs=3)
    assert str(info.value) == (
        "X: missing values (NaN) in columns 'height' (1 of 40 rows, first at row 3), "
        "'floors' (2 of 40 rows, first at row 5); fill or drop them (for example with "
        ".fillna(...) or .dropna())")
    with pytest.raises(ValueError, match=r"X: missing values \(NaN\) in columns 'height' "):
        net.forward(X)
    X["height"] = X["height"].fillna(0.0)
    X["floors"] = X["floors"].fillna(0)
    net.fit(X, np.zeros(40), epochs=3)  # filled, it trains


def test_infinite_values_are_named_too(frame):
    X = frame.copy()
    X.loc[9, "height"] = -np.inf
    with pytest.raises(ValueError, match=r"^X: infinite values in column 'height' "
                                         r"\(1 of 40 rows, first at row 9\)"):
        pn.Network([4, 3, 1], seed=0).loss(X, np.zeros(40))


def test_targets_and_validation_frames_are_named_as_such(frame):
    X = frame[["height", "rooms"]]
    net = pn.Network([2, 3, 1], seed=0)
    y_text = pd.Series(["cheap", "dear"] * 20, name="price")
    with pytest.raises(TypeError, match=r"^y: expected real numbers \(bool, int or float\), got "
                                        r"non-numeric dtypes in column 'price' \("):
        net.fit(X, y_text, epochs=1)
    y_gap = pd.Series([0.0, np.nan] * 20)  # no name
    with pytest.raises(ValueError, match=r"^y: missing values \(NaN\) in the Series "
                                         r"\(20 of 40 rows, first at row 1\)"):
        net.fit(X, y_gap, epochs=1)
    y_frame = pd.DataFrame({"target": [0.0, 1.0] * 20, "note": ["x"] * 40})
    with pytest.raises(TypeError, match=r"^y: .* in column 'note' \("):
        net.fit(X, y_frame, epochs=1)
    X_val = X.assign(rooms=X["rooms"].astype(float).where(X["rooms"] > 1))
    with pytest.raises(ValueError, match=r"^X_val: missing values \(NaN\) in column 'rooms'"):
        net.fit(X, np.zeros(40), epochs=1, validation_data=(X_val, np.zeros(40)))
    assert net.optimizer is None


def test_many_bad_columns_are_counted_not_all_listed():
    X = pd.DataFrame({f"c{i}": ["x", "y"] for i in range(9)})
    with pytest.raises(TypeError, match=r"columns 'c0' \(.*\), 'c4' \(.*\) and 4 more;"):
        pn.Network([9, 1], seed=0).forward(X)
