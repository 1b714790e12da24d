"""
One neuron prices houses
========================

The smallest network there is: one input, one output, no activation. It
computes ``price = w * size + b`` — a straight line — and gradient descent
finds the ``w`` and ``b`` that fit the data.

Four houses, where every 500 square feet add $100,000:
"""

import matplotlib.pyplot as plt
import numpy as np

import plainnet as pn

size_sqft = np.array([[1000.0], [1500.0], [2000.0], [3000.0]])
price = np.array([[200_000.0], [300_000.0], [400_000.0], [600_000.0]])

# %%
# Gradient descent takes steps proportional to the gradient, and the gradient
# grows with the size of the numbers. With sizes in the thousands and prices in
# the hundreds of thousands, any learning rate that is not tiny overflows. So
# the numbers are scaled first: sizes in thousands of square feet, prices in
# units of $100,000.

x = size_sqft / 1000.0
y = price / 100_000.0

net = pn.Network([1, 1], activation="linear", seed=0)
history = net.fit(x, y, lr=0.1, epochs=5000)

w = float(net.weights[0][0, 0])
b = float(net.biases[0][0])
print(f"w = {w:.6f} (in $100,000 per 1,000 sq ft), b = {b:.6f}")
print(f"that is ${w * 100:,.2f} per square foot")

# %%
# The neuron learned the rule behind the data: $200 per square foot and no
# fixed part. It predicts a house it has never seen:

predicted = float(net.forward([[2.5]])[0, 0]) * 100_000
print(f"2,500 sq ft: ${predicted:,.2f}")
assert abs(w * 100 - 200) < 0.01 and abs(b) < 1e-3
assert abs(predicted - 500_000) < 10

# %%
# The loss (the mean squared error) falls steadily: with one linear neuron the
# error surface is a single bowl, and every step goes downhill.

fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3.5))
left.scatter(size_sqft.ravel(), price.ravel() / 1000, label="the four houses", zorder=3)
grid = np.linspace(800, 3200, 50)[:, None]
left.plot(grid.ravel(), net.forward(grid / 1000).ravel() * 100, label="the neuron", color="C1")
left.set_xlabel("size, sq ft")
left.set_ylabel("price, $1,000")
left.legend()
right.semilogy(history.loss)
right.set_xlabel("iteration")
right.set_ylabel("loss (MSE)")
fig.tight_layout()
