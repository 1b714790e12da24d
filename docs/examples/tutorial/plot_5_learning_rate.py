"""
Learning rate too high, too low
===============================

The learning rate is the size of each step downhill. The XOR network of the
previous step learns at 2.0; here it is trained from the same start at 100
and at 0.001.

**Too high.** Every step overshoots the valley and lands on the other side,
higher than it started: the loss jumps around instead of settling, and the
network ends with wrong answers.
"""

import matplotlib.pyplot as plt
import numpy as np

import plainnet as pn

X, y = pn.datasets.xor()

high = pn.Network([2, 4, 1], seed=42)
try:
    h_high = high.fit(X, y, lr=100.0, epochs=1000)
    losses_high = h_high.loss
except FloatingPointError as error:          # a run that overflows stops there
    losses_high = error.history.loss
rises = int((np.diff(losses_high) > 0).sum())
correct_high = int((np.round(high.forward(X)) == y).sum())
print(f"lr 100: the loss went up in {rises} of {losses_high.size - 1} steps; "
      f"{correct_high}/4 correct")
assert correct_high < 4 and rises > 10

# %%
# **Too low.** Every step is right but tiny: after the same 10,000 iterations
# that solve XOR at 2.0, the loss has hardly moved from where it started, and
# the network still answers about 0.5 for every input.

low = pn.Network([2, 4, 1], seed=42)
h_low = low.fit(X, y, lr=0.001, epochs=10000)
print(f"lr 0.001: loss {h_low.loss[0]:.6f} -> {h_low.loss[-1]:.6f}")
print("predictions:", np.round(low.forward(X).ravel(), 4))
assert h_low.loss[0] - h_low.loss[-1] < 0.01

# %%
# ``Network.diagnose`` reads the same story from the numbers, and names it:

print(low.diagnose(X, y, h_low))
assert "lr_too_low" in [hint.code for hint in low.diagnose(X, y, h_low).hints]

# %%
good = pn.Network([2, 4, 1], seed=42).fit(X, y, lr=2.0, epochs=10000)
fig, ax = plt.subplots(figsize=(7, 3.5))
ax.semilogy(losses_high, label="lr 100: jumps around", lw=0.8)
ax.semilogy(h_low.loss, label="lr 0.001: barely moves")
ax.semilogy(good.loss, label="lr 2: learns")
ax.set_xlabel("iteration")
ax.set_ylabel("loss (MSE)")
ax.legend()
fig.tight_layout()
