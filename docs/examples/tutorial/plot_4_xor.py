"""
XOR, learned
============

The network every introduction trains: two inputs, four sigmoid hidden
units, one sigmoid output, the weights drawn from seed 42, and 10,000 steps
of full-batch gradient descent at learning rate 2.0.

Each step runs the four points forward, measures the error, sends it back
through the layers (backpropagation: the chain rule, layer by layer) and
moves every weight a little against its gradient.
"""

import matplotlib.pyplot as plt
import numpy as np

import plainnet as pn

X, y = pn.datasets.xor()
net = pn.Network([2, 4, 1], activation="sigmoid", seed=42)
print("untrained:", np.round(net.forward(X).ravel(), 4))

history = net.fit(X, y, lr=2.0, epochs=10000)
print("trained:  ", np.round(net.forward(X).ravel(), 4))
print(f"loss {history.loss[0]:.6f} at first, {history.loss[-1]:.6g} at the end")

assert (np.round(net.forward(X)) == y).all()
assert history.loss[-1] < 1e-3

# %%
# What it learned: the output over the whole input square. The hidden layer
# draws two lines; the output neuron combines them into a band that holds
# (0, 1) and (1, 0) and leaves out the other two corners.

u = np.linspace(-0.25, 1.25, 121)
grid = np.array([[a, b] for b in u for a in u])
out = net.forward(grid).reshape(u.size, u.size)

fig, (surface, curve) = plt.subplots(1, 2, figsize=(10, 4))
image = surface.imshow(out, origin="lower", extent=(u[0], u[-1], u[0], u[-1]),
                       cmap="RdBu_r", vmin=0, vmax=1)
surface.contour(u, u, out, levels=[0.5], colors="black")
surface.scatter(X[:, 0], X[:, 1], c=["white" if t == 0 else "black" for t in y.ravel()],
                edgecolors="black", s=80)  # targets: white 0, black 1
surface.set_title("the network's output; black line: 0.5")
fig.colorbar(image, ax=surface)
curve.semilogy(history.loss)
curve.set_xlabel("iteration")
curve.set_ylabel("loss (MSE)")
fig.tight_layout()
