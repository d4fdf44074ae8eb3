"""chainrule.MLPClassifier: scikit-learn's estimator contract, checked with scikit-learn itself."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule.data import load_digits, make_moons

sklearn = pytest.importorskip("sklearn")
from sklearn.base import clone, is_classifier  # noqa: E402
from sklearn.model_selection import GridSearchCV, cross_val_score  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(n_class=4)
    return X / 16, y


def test_cross_val_score_and_clone(digits):
    X, y = digits
    est = cr.MLPClassifier((16,), max_iter=8, learning_rate_init=0.02, random_state=0)
    assert is_classifier(est)
    scores = cross_val_score(make_pipeline(StandardScaler(), est), X, y, cv=3)
    assert scores.shape == (3,) and scores.min() > 0.9
    twin = clone(est)
    assert twin is not est and twin.get_params() == est.get_params() and not hasattr(twin, "model_")


def test_grid_search_sets_params(digits):
    X, y = digits
    grid = GridSearchCV(cr.MLPClassifier((8,), max_iter=3, random_state=0), {"alpha": [1e-4, 1.0]}, cv=2)
    grid.fit(X, y)
    assert grid.best_params_["alpha"] in (1e-4, 1.0)
    assert grid.best_estimator_.alpha == grid.best_params_["alpha"]


def test_fit_predict_attributes_and_string_labels(digits):
    X, y = digits
    names = np.array(["zero", "one", "two", "three"])[y]
    est = cr.MLPClassifier((32,), max_iter=12, random_state=1).fit(X, names)
    assert list(est.classes_) == ["one", "three", "two", "zero"]  # sorted, as scikit-learn
    proba = est.predict_proba(X)
    assert proba.shape == (len(X), 4) and np.allclose(proba.sum(axis=1), 1)
    np.testing.assert_array_equal(est.predict(X), est.classes_[proba.argmax(axis=1)])
    assert est.score(X, names) == pytest.approx(np.mean(est.predict(X) == names))
    assert est.score(X, names) > 0.95
    assert est.n_iter_ == len(est.loss_curve_) == 12 and est.loss_ == est.loss_curve_[-1]
    assert est.loss_curve_[-1] < est.loss_curve_[0]
    assert [w.shape for w in est.coefs_] == [(64, 32), (32, 4)]
    assert [b.shape for b in est.intercepts_] == [(32,), (4,)]
    assert est.n_features_in_ == 64 and isinstance(est.model_, cr.Sequential)


def test_one_implementation_same_as_mlp_and_fit(digits):
    """The estimator is chainrule's mlp + L2Regularized + fit: built by hand, the same weights."""
    X, y = digits
    est = cr.MLPClassifier((10,), max_iter=3, random_state=4, learning_rate="constant",
                           learning_rate_init=0.01, batch_size=50, alpha=0.1).fit(X, y)
    gen = np.random.default_rng(4)
    model = cr.mlp([64, 10, 4], "relu", rng=gen)
    cr.fit(model, cr.L2Regularized(cr.CrossEntropyLoss(), model, 0.1), X, y, optimizer=cr.Adam(lr=0.01),
           epochs=3, batch_size=50, rng=gen)
    for k, p in model.params.items():
        np.testing.assert_array_equal(est.model_.params[k], p)


def test_seeded_runs_are_identical_and_early_stopping_keeps_the_best(digits):
    X, y = digits
    a = cr.MLPClassifier((16,), max_iter=5, random_state=3).fit(X, y)
    b = cr.MLPClassifier((16,), max_iter=5, random_state=3).fit(X, y)
    assert a.loss_curve_ == b.loss_curve_
    es = cr.MLPClassifier((16,), max_iter=40, early_stopping=True, n_iter_no_change=3, tol=0.0,
                          random_state=0).fit(X, y)
    assert es.n_iter_ < 40 and len(es.validation_scores_) == es.n_iter_
    assert es.best_validation_score_ == max(es.validation_scores_)


def test_binary_moons_and_float32():
    X, y = make_moons(200, noise=0.1, rng=0)
    est = cr.MLPClassifier((16,), max_iter=60, learning_rate_init=0.02, alpha=1e-3, random_state=0,
                           dtype="float32").fit(X, y)
    assert est.model_.params["0.W"].dtype == np.float32
    assert est.predict_proba(X).shape == (200, 2) and est.score(X, y) > 0.95


def test_errors_name_the_parameter():
    X, y = np.zeros((6, 2)), np.array([0, 1] * 3)
    with pytest.raises(ValueError, match="invalid parameter 'hidden' for MLPClassifier"):
        cr.MLPClassifier().set_params(hidden=(3,))
    with pytest.raises(ValueError, match="solver must be 'adam' or 'sgd'.*'lbfgs'"):
        cr.MLPClassifier(solver="lbfgs").fit(X, y)
    with pytest.raises(ValueError, match=r"hidden_layer_sizes must be a tuple of positive ints.*\(0,\)"):
        cr.MLPClassifier((0,)).fit(X, y)
    with pytest.raises(ValueError, match="activation must be one of"):
        cr.MLPClassifier(activation="gelu").fit(X, y)
    with pytest.raises(ValueError, match="at least 2 classes"):
        cr.MLPClassifier().fit(X, np.zeros(6))
    with pytest.raises(cr.estimators.NotFittedError, match="not fitted yet"):
        cr.MLPClassifier().predict(X)
    fitted = cr.MLPClassifier((3,), max_iter=1, random_state=0).fit(X, y)
    with pytest.raises(ValueError, match="X has 3 features, but MLPClassifier was fitted with 2"):
        fitted.predict(np.zeros((2, 3)))
    assert repr(cr.MLPClassifier((32,), alpha=0.5)) == "MLPClassifier(hidden_layer_sizes=(32,), alpha=0.5)"
