"""
Why hidden layers, and why activations between them
===================================================

XOR is the smallest problem a straight line cannot solve: the output is 1
when exactly one input is 1. No line separates (0, 1) and (1, 0) from (0, 0)
and (1, 1), so no single neuron can learn it.

Stacking layers does not help by itself. Without activations, layer after
layer is matrix product after matrix product, and a product of matrices is a
matrix: five linear layers compute exactly what one linear layer computes.
"""

import matplotlib.pyplot as plt
import numpy as np

import plainnet as pn

stack = pn.Network([3, 5, 4, 6, 2, 3], activation="linear", seed=7)
W_one, b_one = stack.weights[0], stack.biases[0]
for W, b in zip(stack.weights[1:], stack.biases[1:]):
    W_one = W_one @ W          # the layers' weights, multiplied out
    b_one = b_one @ W + b

X = np.random.default_rng(9).normal(size=(200, 3))
difference = np.abs(stack.forward(X) - (X @ W_one + b_one)).max()
print(f"five linear layers vs one 3x3 layer: largest difference {difference:.2e}")
assert difference < 1e-12

# %%
# So a linear network, however deep, is stuck on XOR at the loss of the best
# straight line, 0.25 (it predicts 0.5 everywhere). Put a sigmoid on the
# hidden layer and the same 2-4-1 network learns it.

X, y = pn.datasets.xor()
linear = pn.Network([2, 4, 1], activation="linear", seed=42)
h_linear = linear.fit(X, y, lr=0.5, epochs=10000)
bent = pn.Network([2, 4, 1], activation="sigmoid", seed=42)
h_bent = bent.fit(X, y, lr=2.0, epochs=10000)

print("all linear:", np.round(linear.forward(X).ravel(), 4), "loss", h_linear.loss[-1])
print("sigmoid:   ", np.round(bent.forward(X).ravel(), 4), "loss", h_bent.loss[-1])
assert abs(h_linear.loss[-1] - 0.25) < 0.01
assert h_bent.loss[-1] < 1e-3 and (np.round(bent.forward(X)) == y).all()

# %%
fig, ax = plt.subplots(figsize=(6, 3.5))
ax.semilogy(h_linear.loss, label="all linear: stuck at 0.25")
ax.semilogy(h_bent.loss, label="sigmoid hidden layer: learns XOR")
ax.set_xlabel("iteration")
ax.set_ylabel("loss (MSE)")
ax.legend()
fig.tight_layout()
