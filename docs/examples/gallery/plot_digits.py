"""
Handwritten digits, end to end
==============================

scikit-learn's 1,797 digits (8×8 pixels, values 0–16), a 64-128-10 network
with a softmax output trained on the cross-entropy by Adam in mini-batches,
stopped early on a held-out tenth of the training rows, then scored on a test
set it never saw. This is what ``python -m plainnet digits`` does, in a
dozen lines (see :doc:`../user-guide/command-line`).
"""

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

import plainnet as pn

X, y = load_digits(return_X_y=True)
X = X / 16.0                                         # pixels into [0, 1]
X_train, X_test, y_train, y_test = train_test_split(X, y, stratify=y, random_state=0)

net = pn.Network([64, 128, 10], activation="relu", output_activation="softmax",
                 loss="cross_entropy", init="he", seed=0)
history = net.fit(X_train, y_train, optimizer=pn.optim.Adam(lr=1e-3), batch_size=32,
                  epochs=200, seed=0, validation_split=0.1, patience=10)
print(history)
print("test:", net.evaluate(X_test, y_test))
assert history.stopped_early
assert net.evaluate(X_test, y_test)["accuracy"] > 0.95

# %%
# The training loss per epoch and the accuracy on the held-out rows; the dot
# marks the best epoch, whose weights the network kept.

fig, (loss, acc) = plt.subplots(1, 2, figsize=(10, 3.5))
loss.semilogy(history.epoch_loss)
loss.set_xlabel("epoch")
loss.set_ylabel("training loss")
acc.plot(history.val_accuracy)
acc.plot([history.best_epoch], [history.val_accuracy[history.best_epoch]], "o")
acc.set_xlabel("epoch")
acc.set_ylabel("validation accuracy")
fig.tight_layout()

# %%
# Some test digits and what the network says they are:

fig, axes = plt.subplots(2, 8, figsize=(10, 3))
predicted = net.predict_classes(X_test[:16])
for ax, image, guess, truth in zip(axes.ravel(), X_test[:16], predicted, y_test[:16]):
    ax.imshow(image.reshape(8, 8), cmap="gray_r")
    ax.set_title(f"{guess}" + ("" if guess == truth else f" ({truth})"),
                 color="black" if guess == truth else "red")
    ax.axis("off")
fig.tight_layout()
