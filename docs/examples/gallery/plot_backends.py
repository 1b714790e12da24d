"""
The native and NumPy backends side by side
==========================================

``backend="numpy"`` runs the same network on :mod:`plainnet.reference`, the
plain-NumPy twin of every kernel: the same math, written to be read. Trained
from the same weights on the same batches, the two agree to rounding, and the
native core is the faster.
"""

import time

import matplotlib.pyplot as plt
import numpy as np

import plainnet as pn

rng = np.random.default_rng(0)
X = rng.random((1000, 64))
y = rng.integers(0, 10, size=1000)

results = {}
for backend in ("native", "numpy"):
    net = pn.Network([64, 64, 10], activation="relu", output_activation="softmax",
                     loss="cross_entropy", init="he", seed=0, backend=backend)
    net.fit(X, y, optimizer=pn.optim.Adam(lr=1e-3), epochs=1, batch_size=32, seed=0)  # warm-up
    net = pn.Network([64, 64, 10], activation="relu", output_activation="softmax",
                     loss="cross_entropy", init="he", seed=0, backend=backend)
    start = time.perf_counter()
    history = net.fit(X, y, optimizer=pn.optim.Adam(lr=1e-3), epochs=5, batch_size=32, seed=0)
    results[backend] = (history, net, time.perf_counter() - start)

(h_native, n_native, t_native), (h_numpy, n_numpy, t_numpy) = results["native"], results["numpy"]
worst = np.max(np.abs(h_native.loss - h_numpy.loss) / np.abs(h_numpy.loss))
print(f"{h_native.iterations} iterations; largest relative difference of the losses: {worst:.1e}")
assert worst < 1e-9
for a, b in zip(n_native.weights, n_numpy.weights):
    np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12)
print(f"native {t_native:.3f} s, numpy {t_numpy:.3f} s ({t_numpy / t_native:.1f}x); "
      "one run on a machine that may be busy: see the Benchmarks page for measured ratios")

# %%
# One layer's forward pass in the twin is one line of NumPy, ``X @ W + b``;
# the native core's is a blocked matrix product in plain C++ loops. The same
# numbers:

from plainnet import _core, reference

W, b = n_native.weights[0], n_native.biases[0]
np.testing.assert_allclose(_core.dense_forward(X, W, b), reference.dense_forward(X, W, b),
                           rtol=1e-12, atol=1e-13)

# %%
fig, ax = plt.subplots(figsize=(7, 3.5))
ax.plot(h_native.loss, label="native", lw=2)
ax.plot(h_numpy.loss, label="numpy", ls="--")
ax.set_xlabel("iteration")
ax.set_ylabel("batch loss")
ax.legend()
fig.tight_layout()
