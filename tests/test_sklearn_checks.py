"""scikit-learn's own estimator checks, every one of them, on plainnet's estimators.

No check is skipped or expected to fail. The two array-API checks skip
themselves unless SCIPY_ARRAY_API is set, and the multi-label
decision_function check skips for want of the method, exactly as they do
for scikit-learn's own MLPClassifier and MLPRegressor.

The checks train on tiny data with the default max_iter, where
scikit-learn's own MLPs warn with ConvergenceWarning in about 50 of them;
that warning is the estimators' contract, not a check failing, so it is
the one warning let through here (every other warning is an error).
"""

import pytest

pytest.importorskip("sklearn", reason="plainnet.sklearn needs scikit-learn (plainnet[sklearn])")

from sklearn.utils.estimator_checks import parametrize_with_checks  # noqa: E402

from plainnet.sklearn import MLPClassifier, MLPRegressor  # noqa: E402


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@parametrize_with_checks([MLPClassifier(), MLPRegressor(),
                          MLPClassifier(solver="sgd", learning_rate="adaptive"),
                          MLPRegressor(solver="sgd", learning_rate="invscaling",
                                       learning_rate_init=0.1, power_t=0.25),
                          MLPClassifier(solver="lbfgs"), MLPRegressor(solver="lbfgs"),
                          MLPClassifier(class_weight="balanced")])
def test_scikit_learn_check_estimator(estimator, check):
    check(estimator)
