"""
Regression with the estimator in a Pipeline
===========================================

:class:`plainnet.sklearn.MLPRegressor` is a scikit-learn estimator: it goes
into a ``Pipeline`` after a scaler, into ``cross_val_score`` and
``GridSearchCV``, like scikit-learn's own ``MLPRegressor``. Here it learns a
noisy curve of two inputs.
"""

import matplotlib.pyplot as plt
import numpy as np
from sklearn.model_selection import cross_val_score, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from plainnet.sklearn import MLPRegressor

rng = np.random.default_rng(0)
X = rng.uniform(-3, 3, size=(600, 2)) * [1.0, 100.0]       # two inputs on different scales
y = np.sin(X[:, 0]) + (X[:, 1] / 100.0) ** 2 / 3 + rng.normal(scale=0.1, size=600)
X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)

model = make_pipeline(StandardScaler(),
                      MLPRegressor(hidden_layer_sizes=(32, 32), activation="tanh",
                                   learning_rate_init=0.01, max_iter=500, n_iter_no_change=20,
                                   early_stopping=True, random_state=0))
model.fit(X_train, y_train)
mlp = model[-1]
print(mlp.network_)
print(f"{mlp.n_iter_} epochs; R² on the test rows: {model.score(X_test, y_test):.3f}")
assert model.score(X_test, y_test) > 0.9

scores = cross_val_score(model, X, y, cv=3)
print("3-fold R²:", np.round(scores, 3))
assert scores.min() > 0.85

# %%
# Predicted against true values on the test rows:

fig, ax = plt.subplots(figsize=(4.5, 4.5))
ax.scatter(y_test, model.predict(X_test), s=8)
ax.plot([-1.5, 4], [-1.5, 4], color="black", lw=0.8)
ax.set_xlabel("true y")
ax.set_ylabel("predicted y")
fig.tight_layout()
