"""Progress bars: fit(progress=...) drives a real tqdm bar from the training loop."""

import io
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

import plainnet as pn
from plainnet import _core, _layout, reference
from plainnet._plan import FitPlan

try:
    from tqdm import tqdm
except ImportError:  # the tests that need a real bar skip; the ImportError path is tested below
    tqdm = None

needs_tqdm = pytest.mark.skipif(tqdm is None, reason="the bars are tqdm's: pip install "
                                '"plainnet[progress]"')
BACKENDS = ["native", "numpy"]


@pytest.fixture
def counting():
    """A real tqdm bar class that records every update (the n it reached each time)."""
    if tqdm is None:
        pytest.skip('the bars are tqdm\'s: pip install "plainnet[progress]"')

    class CountingBar(tqdm):
        instances = []

        def __init__(self, *args, **kwargs):
            kwargs.setdefault("file", io.StringIO())
            super().__init__(*args, **kwargs)
            self.seen = []
            CountingBar.instances.append(self)

        def update(self, n=1):
            out = super().update(n)
            self.seen.append(self.n)
            return out

    return CountingBar


def classification_data():
    rng = np.random.default_rng(2)
    X = rng.random((300, 4))
    y = (X[:, 0] + X[:, 1] > 1).astype(np.int64) + (X[:, 2] > 0.7)
    return X, y


def classifier(backend, seed=0):
    return pn.Network([4, 16, 3], activation="relu", output_activation="softmax",
                      loss="cross_entropy", init="he", seed=seed, backend=backend)


def final_line(text):
    """The bar as it was last drawn (tqdm redraws in place with \\r)."""
    return text.replace("\n", "\r").rstrip("\r").split("\r")[-1]


@needs_tqdm
@pytest.mark.parametrize("backend", BACKENDS)
def test_bar_counts_the_epochs_and_shows_the_loss(backend, xor_data):
    X, y = xor_data
    buf = io.StringIO()
    net = pn.Network([2, 4, 1], seed=42, backend=backend)
    h = net.fit(X, y, lr=2.0, epochs=300, progress={"file": buf, "desc": "xor"})
    last = final_line(buf.getvalue())
    assert last.startswith("xor: 100%")
    assert "300/300" in last
    assert f"loss={h.epoch_loss[-1]:.4g}" in last
    assert "acc=" not in last and "val_loss" not in last  # mse, no validation data


@needs_tqdm
@pytest.mark.parametrize("backend", BACKENDS)
def test_bar_stops_at_the_early_stopped_epoch_with_validation_metrics(backend):
    X, y = classification_data()
    buf = io.StringIO()
    net = classifier(backend)
    h = net.fit(X, y, optimizer=pn.optim.Adam(lr=0.01), epochs=500, batch_size=32, seed=0,
                validation_split=0.2, patience=5, progress={"file": buf})
    assert h.stopped_early and h.epoch_loss.size < 500
    last = final_line(buf.getvalue())
    assert f" {h.epoch_loss.size}/500 " in last
    for key, values in (("loss", h.epoch_loss), ("acc", h.accuracy), ("val_loss", h.val_loss),
                        ("val_acc", h.val_accuracy)):
        assert f"{key}={values[-1]:.4g}" in last
    assert "500/500" not in buf.getvalue()


def long_fit(backend, progress, seconds=1.0):
    """An XOR fit of about `seconds` (more epochs on the native core), with the given bar."""
    X, y = pn.datasets.xor()
    epochs = int(seconds * (1_000_000 if backend == "native" else 2_500))
    net = pn.Network([2, 4, 1], seed=42, backend=backend)
    start = time.perf_counter()
    h = net.fit(X, y, lr=2.0, epochs=epochs, progress=progress)
    return net, h, time.perf_counter() - start, epochs


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_long_fit_updates_the_bar_a_few_times_a_second(backend, counting):
    _, h, elapsed, epochs = long_fit(backend, counting)
    [bar] = counting.instances
    # during training, at most one update per PROGRESS_INTERVAL, and one at the end
    assert len(bar.seen) <= elapsed / _layout.PROGRESS_INTERVAL + 2
    if elapsed > 3 * _layout.PROGRESS_INTERVAL:
        assert len(bar.seen) >= 2, "the loop updated the bar only at the end"
    assert bar.seen == sorted(bar.seen) and bar.seen[-1] == epochs == h.epoch_loss.size
    assert bar.total == epochs
    assert "loss" in bar.postfix


@pytest.mark.parametrize("backend", BACKENDS)
def test_results_are_bit_identical_with_and_without_a_bar(backend, counting):
    X, y = classification_data()

    def train(progress):
        net = classifier(backend, seed=3)
        h = net.fit(X, y, optimizer=pn.optim.Adam(lr=0.01), epochs=30, batch_size=16,
                    seed=1, validation_split=0.25, patience=200, progress=progress)
        return net, h

    with_bar, h1 = train(counting)
    without, h2 = train(False)
    for a, b in zip(with_bar.weights + with_bar.biases, without.weights + without.biases):
        assert np.array_equal(a, b)
    for key in ("loss", "epoch_loss", "accuracy", "val_loss", "val_accuracy"):
        assert np.array_equal(getattr(h1, key), getattr(h2, key)), key
    assert with_bar.optimizer.steps == without.optimizer.steps
    # and on a fit long enough for the loop to call the bar on the way
    net1, _, elapsed, _ = long_fit(backend, counting, seconds=0.6)
    net2, _, _, _ = long_fit(backend, None, seconds=0.6)
    assert np.array_equal(net1._params, net2._params)
    if elapsed > 3 * _layout.PROGRESS_INTERVAL:
        assert len(counting.instances[-1].seen) >= 2


@pytest.mark.parametrize("impl", [_core, reference], ids=["native", "numpy"])
def test_the_loop_hands_the_hook_each_epochs_row(impl, monkeypatch):
    # The hook gets (epochs done, iterations done, that epoch's row), the row
    # as the returned table has it.
    X, y = classification_data()
    net = classifier("native")
    params = net._params.copy()
    calls = []
    if impl is reference:
        monkeypatch.setattr(reference, "PROGRESS_INTERVAL", 0.0)  # every epoch, to check them all
    epochs, bs = 8 if impl is reference else 3000, 50  # native: about half a second
    start = time.perf_counter()
    plan = FitPlan(optimizer={"name": "sgd", "lr": 0.1}, state=[params * 0], epochs=epochs,
                   batch_size=bs, X_val=X[200:], y_val=np.eye(3)[y[200:]],
                   progress=lambda *a: calls.append(a))
    losses, done, status, _, table, _ = impl.fit(
        params, net.layers, net.activations, net.loss_name, X[:200], np.eye(3)[y[:200]], plan)
    elapsed = time.perf_counter() - start
    assert status == "done" and table.shape == (epochs, 4)
    if impl is reference:
        assert [c[0] for c in calls] == list(range(1, epochs + 1))
    else:
        assert len(calls) <= elapsed / _core.PROGRESS_INTERVAL
        assert len(calls) >= 1 or elapsed < 2 * _core.PROGRESS_INTERVAL
    for e, it, row in calls:
        assert it == e * 4
        assert isinstance(row, tuple) and len(row) == 4
        assert np.array_equal(np.array(row), table[e - 1])
    assert all(a[0] < b[0] for a, b in zip(calls, calls[1:]))


@needs_tqdm
def test_an_exception_from_the_bar_stops_training_and_reaches_the_caller(xor_data):
    X, y = xor_data

    class Broken(tqdm):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, file=io.StringIO(), **kwargs)

        def update(self, n=1):
            raise RuntimeError("the bar broke")

    net = pn.Network([2, 4, 1], seed=42)
    with pytest.raises(RuntimeError, match="the bar broke"):
        net.fit(X, y, epochs=50_000_000, progress=Broken)
    # it stopped at an epoch's end: weights and optimizer agree
    steps = net.optimizer.steps
    assert 0 < steps < 50_000_000
    again = pn.Network([2, 4, 1], seed=42)
    again.fit(X, y, epochs=steps)
    assert np.array_equal(net._params, again._params)


@pytest.mark.parametrize("value, error, message", [
    ("yes", TypeError, "progress: expected True, False, a dict of tqdm arguments or a tqdm "
                       "class, got str 'yes'"),
    (1, TypeError, "progress: expected True, False, a dict"),
    ({"total": 5}, ValueError, "progress: 'total' is set by plainnet"),
    ({1: 2}, TypeError, "progress: expected a dict of tqdm keyword arguments (str keys)"),
    pytest.param({"no_such_option": 1}, TypeError, "progress: could not make a progress bar",
                 marks=needs_tqdm),
    (lambda **kw: object(), TypeError, "progress: expected a tqdm-like bar"),
])
def test_bad_progress_values_are_refused_and_change_nothing(value, error, message, xor_data):
    X, y = xor_data
    net = pn.Network([2, 4, 1], seed=42)
    before = net._params.copy()
    with pytest.raises(error) as info:
        net.fit(X, y, epochs=10, progress=value)
    assert message in str(info.value)
    assert np.array_equal(net._params, before) and net.optimizer is None


def test_falsy_progress_values_show_nothing(xor_data, capsys):
    X, y = xor_data
    for value in (False, None, np.False_):
        pn.Network([2, 4, 1], seed=42).fit(X, y, epochs=10, progress=value)
    assert capsys.readouterr() == ("", "")


@needs_tqdm
def test_progress_true_writes_tqdm_to_stderr(xor_data, capsys):
    X, y = xor_data
    pn.Network([2, 4, 1], seed=42).fit(X, y, epochs=20, progress=True)
    out, err = capsys.readouterr()
    assert out == ""
    assert "20/20" in err and "epoch" in err


# A fresh interpreter in which `import tqdm` fails, as it does without the extra.
_WITHOUT_TQDM = textwrap.dedent("""
    import sys

    class NoTqdm:
        def find_spec(self, name, path=None, target=None):
            if name == "tqdm" or name.startswith("tqdm."):
                raise ModuleNotFoundError(f"No module named {name!r}")
            return None

    sys.meta_path.insert(0, NoTqdm())
    for name in [n for n in sys.modules if n == "tqdm" or n.startswith("tqdm.")]:
        del sys.modules[name]
""")


def run_without_tqdm(code):
    proc = subprocess.run([sys.executable, "-c", _WITHOUT_TQDM + textwrap.dedent(code)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout


def test_without_tqdm_progress_true_names_the_extra_before_training():
    out = run_without_tqdm("""
        import numpy as np
        import plainnet as pn
        X, y = pn.datasets.xor()
        net = pn.Network([2, 4, 1], seed=42)
        before = net._params.copy()
        for value in (True, {"desc": "xor"}):
            try:
                net.fit(X, y, epochs=10, progress=value)
            except ImportError as exc:
                print(type(exc).__name__, exc.name, "|", exc)
        print("unchanged", np.array_equal(net._params, before), net.optimizer is None)
        h = net.fit(X, y, epochs=10, progress=False)
        print("trained", h.iterations)
    """)
    lines = out.splitlines()
    assert len(lines) == 4
    for line in lines[:2]:
        assert line.startswith("ImportError tqdm | progress: a progress bar needs tqdm")
        assert 'pip install "plainnet[progress]"' in line
    assert lines[2] == "unchanged True True"
    assert lines[3] == "trained 10"

