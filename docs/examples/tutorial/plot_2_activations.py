"""
Activations: bending the line
=============================

A neuron's weighted sum ``z = x·w + b`` is a straight line (a plane, with
more inputs). What lets a network draw curves is the *activation*, a fixed
function applied to ``z``. The classic one is the sigmoid,
``1 / (1 + exp(-z))``: it squeezes any number into (0, 1), which reads as a
probability.

plainnet computes each activation and its slope in its kernels; the NumPy
twin, :mod:`plainnet.reference`, has the same functions:
"""

import matplotlib.pyplot as plt
import numpy as np

import plainnet as pn
from plainnet import reference

z = np.linspace(-6, 6, 241)
a = reference.activation_value("sigmoid", z)
slope = reference.activation_derivative("sigmoid", z, a)
print(f"sigmoid(0) = {a[120]}, its slope there = {slope[120]}")
print(f"the largest slope anywhere: {slope.max()}")

# %%
# The slope of the sigmoid is ``a·(1 − a)``, never more than 0.25. Backpropagation
# multiplies one such slope per layer, so through ten sigmoid layers a gradient
# shrinks by at least ``0.25**10``, about a millionth: the *vanishing gradient*
# that made deep sigmoid networks hard to train, and one reason ReLU took over.

assert a[120] == 0.5 and slope.max() == 0.25
print(f"0.25 ** 10 = {0.25 ** 10:.3g}")

# %%
# Every activation plainnet offers (``pn.ACTIVATIONS``), as the native core
# computes them:

fig, (values, slopes) = plt.subplots(1, 2, figsize=(10, 4))
zz = np.linspace(-4, 4, 161)[:, None]
for name in pn.ACTIVATIONS:
    net = pn.Network.from_weights([np.ones((1, 1))], [np.zeros(1)], activation=name)
    out = net.forward(zz).ravel()           # one neuron with w = 1, b = 0: f(z) itself
    values.plot(zz.ravel(), out, label=name)
    slopes.plot(zz.ravel(), reference.activation_derivative(name, zz.ravel(), out), label=name)
    assert np.allclose(out, reference.activation_value(name, zz.ravel()), rtol=1e-12, atol=1e-15)
values.set_title("f(z)")
slopes.set_title("f'(z)")
values.set_ylim(-1.5, 4)
values.legend(fontsize=8, ncol=2)
for ax in (values, slopes):
    ax.set_xlabel("z")
    ax.grid(alpha=0.3)
fig.tight_layout()
