"""
Too few hidden units
====================

Two hidden sigmoid units are enough for XOR in principle — two lines make the
band — but gradient descent does not always find them. From seed 42, the
2-2-1 network settles where two of the four outputs sit near 0.5:
"""

import matplotlib.pyplot as plt
import numpy as np

import plainnet as pn

X, y = pn.datasets.xor()
narrow = pn.Network([2, 2, 1], seed=42)
history = narrow.fit(X, y, lr=2.0, epochs=10000)
predictions = narrow.forward(X).ravel()
correct = int((np.round(narrow.forward(X)) == y).sum())
print("2-2-1:", np.round(predictions, 4), f"{correct}/4 correct, loss {history.loss[-1]:.4f}")
assert correct < 4

# %%
# Whether two units fail depends on where they start. Over a handful of seeds
# the 2-2-1 network sometimes learns XOR and sometimes does not; with four
# hidden units (the tutorial's network) it learns from every one of these
# seeds. (``python -m plainnet experiments --only xor-reliability`` runs 100
# seeds for each width from 1 to 8.)

seeds = range(20)
learned = {}
for hidden in (2, 4):
    learned[hidden] = 0
    for seed in seeds:
        net = pn.Network([2, hidden, 1], seed=seed)
        net.fit(X, y, lr=2.0, epochs=5000)
        learned[hidden] += bool((np.round(net.forward(X)) == y).all())
    print(f"2-{hidden}-1: learned XOR from {learned[hidden]} of {len(seeds)} seeds")
assert learned[4] > learned[2]

# %%
fig, ax = plt.subplots(figsize=(5, 3.5))
ax.bar(["2 hidden units", "4 hidden units"], [learned[2], learned[4]], color=["C3", "C2"])
ax.set_ylabel(f"seeds (of {len(seeds)}) that learn XOR")
fig.tight_layout()
