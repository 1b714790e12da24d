"""
Comparing optimizers on one problem
===================================

The same network, from the same initial weights, on the same mini-batches in
the same order, trained by each of :mod:`plainnet.optim`'s optimizers with a
learning rate suited to it. Only the update rule differs.
"""

import matplotlib.pyplot as plt
import numpy as np

import plainnet as pn

rng = np.random.default_rng(2)
X = rng.random((500, 4))
y = (X[:, 0] + X[:, 1] > 1).astype(np.int64) + (X[:, 2] > 0.7)     # 3 classes

optimizers = {
    "SGD(lr=0.1)": pn.optim.SGD(lr=0.1),
    "SGD(lr=0.1, momentum=0.9)": pn.optim.SGD(lr=0.1, momentum=0.9),
    "Adam(lr=0.01)": pn.optim.Adam(lr=0.01),
    "AdamW(lr=0.01)": pn.optim.AdamW(lr=0.01),
}
curves = {}
for name, optimizer in optimizers.items():
    net = pn.Network([4, 32, 3], activation="relu", output_activation="softmax",
                     loss="cross_entropy", init="he", seed=0)
    history = net.fit(X, y, optimizer=optimizer, epochs=60, batch_size=32, seed=0)
    curves[name] = history.epoch_loss
    print(f"{name:28s} final loss {history.epoch_loss[-1]:.4f}, "
          f"accuracy {net.evaluate(X, y)['accuracy']:.3f}")

# %%
# Rprop adapts one step size per weight from the gradient's sign alone, and is
# meant for full batches:

net = pn.Network([4, 32, 3], activation="relu", output_activation="softmax",
                 loss="cross_entropy", init="he", seed=0)
history = net.fit(X, y, optimizer=pn.optim.Rprop(lr=0.01), epochs=300)
curves["Rprop (full batch, per iteration)"] = history.epoch_loss
print(f"Rprop: final loss {history.epoch_loss[-1]:.4f}, "
      f"accuracy {net.evaluate(X, y)['accuracy']:.3f}")

assert curves["SGD(lr=0.1, momentum=0.9)"][-1] < curves["SGD(lr=0.1)"][-1]
assert all(c[-1] < c[0] for c in curves.values())

# %%
fig, ax = plt.subplots(figsize=(7, 4))
for name, curve in curves.items():
    ax.semilogy(curve, label=name)
ax.set_xlabel("epoch (Rprop: iteration)")
ax.set_ylabel("training loss")
ax.legend(fontsize=8)
fig.tight_layout()
