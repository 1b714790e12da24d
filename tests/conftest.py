import os
import subprocess
import sys
import threading
import zlib

import numpy as np
import pytest

import plainnet as pn
from plainnet._plan import FitPlan

# Tolerances for native vs reference. float64: the two differ only in the
# order of floating-point sums (plain loops vs BLAS) and in libm vs NumPy
# exp/tanh, a few ulp; float32: the same, at float32's precision.
RTOL = {np.float64: 1e-12, np.float32: 2e-5}

DTYPES = [np.float64, np.float32]
SHAPES = [(1, 1, 1), (3, 5, 2), (7, 13, 11), (64, 37, 29)]  # (B, C, OC)
# Shapes for the blocked products: partial register tiles, sums longer than
# one cache block (C > 256), more rows than one block, a layer wider than one
# column block (OC > 3072), narrow outputs (computed transposed), and sizes
# big enough to be split over threads (in two parts, and in more than one part
# per thread: fast.h kThreadedProduct, kFineProduct), one of them an
# MNIST-sized batch's (64 rows of 784 into 128: split by columns).
BLOCKED_SHAPES = [(33, 300, 45), (5, 3, 3100), (130, 70, 3), (300, 600, 45), (97, 9, 1),
                  (260, 700, 100), (64, 784, 128)]


def assert_close(actual, desired, dtype=np.float64, rtol=None):
    """allclose with rtol for the dtype and an absolute floor at rtol * max|desired|.

    The floor covers elements that are sums of terms cancelling to near zero,
    where a relative comparison only measures summation order.
    """
    rtol = RTOL[np.dtype(dtype).type] if rtol is None else rtol
    desired = np.asarray(desired)
    scale = float(np.max(np.abs(desired))) if desired.size else 0.0
    np.testing.assert_allclose(actual, desired, rtol=rtol, atol=rtol * scale)


@pytest.fixture
def rng(request):
    # Fresh draws per test, reproducible per test name.
    return np.random.default_rng(zlib.crc32(request.node.nodeid.encode()))


@pytest.fixture
def xor_data():
    return pn.datasets.xor()


@pytest.fixture(params=pn._core.supported_variants())
def variant(request):
    """Runs a test once per kernel variant this CPU supports (naive, baseline, avx2, ...)."""
    before = pn._core.build_info()["variant"]
    pn._core.set_variant(request.param)
    yield request.param
    pn._core.set_variant(before)


try:
    from hypothesis import HealthCheck, settings
except ImportError:  # the fuzz tests skip themselves without hypothesis
    pass
else:
    # "ci": a fixed, reproducible budget (the same examples on every run).
    # HYPOTHESIS_PROFILE=dev explores afresh, with a larger budget, each run.
    settings.register_profile("ci", derandomize=True, max_examples=1000, deadline=None,
                              suppress_health_check=[HealthCheck.too_slow,
                                                     HealthCheck.data_too_large],
                              print_blob=True)
    # "ci-repeat": ci with a quarter of its budget, for CI's second and third
    # runs of the suite (the installed wheel, the sanitized build), which
    # compute the same things as its first run, built otherwise.
    settings.register_profile("ci-repeat", parent=settings.get_profile("ci"), max_examples=250)
    settings.register_profile("dev", max_examples=2000, deadline=None,
                              suppress_health_check=[HealthCheck.too_slow,
                                                     HealthCheck.data_too_large])
    settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


def alone_and_together(train, keys):
    """Runs train(key, out) for every key one after another, then all at once in
    threads; returns the two dicts of results, for comparing."""
    alone, together = {}, {}
    for k in keys:
        train(k, alone)
    threads = [threading.Thread(target=train, args=(k, together)) for k in keys]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return alone, together


# A script that runs one call in a fresh interpreter and reports how it ended.
_SUBPROCESS = """
import sys
import numpy as np
import plainnet as pn
from plainnet import _core
from plainnet._plan import FitPlan
X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
y = np.array([[0.0], [1.0], [1.0], [0.0]])
try:
    {call}
except (ValueError, TypeError) as exc:
    print(type(exc).__name__ + ": " + str(exc))
    sys.exit(0)
except BaseException as exc:
    print(type(exc).__name__ + ": " + str(exc))
    sys.exit(3)
print("no error")
sys.exit(4)
"""


def run_isolated(call):
    """Runs `call` in a fresh interpreter (a crash must not take pytest down)."""
    proc = subprocess.run([sys.executable, "-c", _SUBPROCESS.format(call=call)],
                          capture_output=True, text=True, timeout=60)
    return proc.returncode, proc.stdout.strip() + proc.stderr.strip()


def sgd(lr):
    """The optimizer dict of plain gradient descent with rate lr, as the core's fit takes it."""
    return {"name": "sgd", "lr": lr}


def plain_fit(impl, params, sizes, acts, X, y, lr, epochs, batch_size, shuffle, seed, log_every,
              callback, loss="mse"):
    """impl.fit (impl is plainnet._core or plainnet.reference) as plain gradient descent
    with rate lr, without validation data: what fit(..., lr, ...) was before the fit
    loop took an optimizer. Returns (losses, iterations, status)."""
    plan = FitPlan(optimizer=sgd(lr), state=[np.zeros_like(params)], epochs=epochs,
                   batch_size=batch_size, shuffle=shuffle, seed=seed, log_every=log_every,
                   callback=callback)
    losses, done, status, _, _, _ = impl.fit(params, sizes, acts, loss, X, y, plan)
    return losses, done, status
