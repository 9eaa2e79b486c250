"""Late fusion and stacking of classifiers: soft voting with out-of-fold weights, a meta-classifier."""

import numpy as np
import pytest
from sklearn.datasets import make_classification
from sklearn.dummy import DummyClassifier
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.metrics import log_loss
from sklearn.naive_bayes import GaussianNB
from sklearn.pipeline import make_pipeline

from skhybrid import MagpieFeaturizer
from skhybrid.fusion import LateFusionClassifier, StackingFusionClassifier
from skhybrid.fusion._weights import simplex_log_loss_weights
from skhybrid.utils._testing import synthetic_crystals


@pytest.fixture(scope="module")
def data():
    X, y = make_classification(500, 20, n_informative=6, random_state=0)
    return X[:300], y[:300], X[300:], y[300:]


def _bases():
    return [("forest", RandomForestClassifier(100, random_state=0)), ("logistic", LogisticRegression()),
            ("prior", DummyClassifier())]


def test_oof_weights_minimise_the_held_out_log_loss(data):
    X, y, X_test, y_test = data
    model = LateFusionClassifier(_bases(), weights="oof", cv=4, random_state=0).fit(X, y)
    assert model.weights_.sum() == pytest.approx(1) and (model.weights_ >= 0).all()
    assert model.weights_[2] < 0.05  # the prior carries no information
    scores = model.oof_scores_
    assert scores["fusion"] <= min(scores["forest"], scores["logistic"], scores["prior"]) + 1e-9
    # the blend's probabilities are the weighted average of the refit bases'
    proba = model.predict_proba(X_test)
    manual = sum(w * est.predict_proba(X_test) for w, est in zip(model.weights_, model.estimators_))
    assert np.allclose(proba, manual)
    assert log_loss(y_test, proba) <= max(log_loss(y_test, est.predict_proba(X_test)) for est in model.estimators_)
    assert model.transform(X_test).shape == (200, 3)
    assert list(model.get_feature_names_out()) == ["forest", "logistic", "prior"]


def test_the_log_loss_weights_are_the_optimum():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 400)
    good = np.clip(np.where(y == 1, 0.8, 0.2) + rng.normal(0, 0.1, 400), 0.01, 0.99)
    noise = rng.uniform(0.01, 0.99, 400)
    proba = np.stack([np.column_stack([1 - p, p]) for p in (good, noise)], axis=1)
    weights = simplex_log_loss_weights(proba, y)
    blended = np.einsum("nmc,m->nc", proba, weights)
    for w in np.linspace(0, 1, 21):
        other = np.einsum("nmc,m->nc", proba, np.array([w, 1 - w]))
        assert log_loss(y, blended) <= log_loss(y, other) + 1e-9


def test_fixed_weights_drop_prefit_and_committees(data):
    X, y, X_test, _ = data
    fixed = LateFusionClassifier(_bases(), weights=[1, 3, 0]).fit(X, y)
    assert np.allclose(fixed.weights_, [0.25, 0.75, 0])
    dropped = LateFusionClassifier([("forest", RandomForestClassifier(50, random_state=0)), ("nb", "drop")]).fit(X, y)
    assert list(dropped.named_estimators_) == ["forest"]
    fitted = [(name, est.fit(X[:200], y[:200])) for name, est in _bases()[:2]]
    prefit = LateFusionClassifier(fitted, weights="oof", cv="prefit").fit(X[200:], y[200:])
    assert prefit.estimators_[0] is fitted[0][1]
    committee = LateFusionClassifier(_bases()[:2], weights="oof", cv=3, refit=["logistic"], random_state=0).fit(X, y)
    assert len(committee.estimators_[0].estimators_) == 3  # the forest's fold models predict as a committee
    assert np.allclose(committee.predict_proba(X_test).sum(axis=1), 1)


def test_sample_weight_and_string_labels(data):
    X, y, X_test, _ = data
    labels = np.where(y == 1, "metal", "insulator")
    weights = np.where(y == 1, 2.0, 1.0)
    model = LateFusionClassifier(_bases()[:2], weights="oof", cv=3, random_state=0).fit(X, labels, weights)
    assert list(model.classes_) == ["insulator", "metal"]
    assert set(model.predict(X_test)) <= {"insulator", "metal"}


def test_stacking_learns_on_out_of_fold_probabilities(data):
    X, y, X_test, y_test = data
    model = StackingFusionClassifier(_bases(), cv=3, random_state=0).fit(X, y)
    assert model.oof_predictions_.shape == (300, 3, 2)
    assert model.transform(X_test).shape == (200, 3)
    assert model.score(X_test, y_test) > 0.8
    three = np.digitize(X[:, 0], np.quantile(X[:, 0], [1 / 3, 2 / 3]))
    multi = StackingFusionClassifier(_bases()[:2], cv=3, random_state=0).fit(X, three)
    assert multi.predict_proba(X_test).shape == (200, 3)
    assert len(multi.get_feature_names_out()) == 6


def test_on_structures_with_a_featurizer_in_front():
    structures, values = synthetic_crystals(40, seed=2)
    labels = values > np.median(values)
    model = StackingFusionClassifier(
        [("forest", make_pipeline(MagpieFeaturizer(), RandomForestClassifier(50, random_state=0))),
         ("prior", DummyClassifier())], passthrough_features=MagpieFeaturizer(), cv=3, random_state=0)
    assert model.fit(structures, labels).predict_proba(structures).shape == (40, 2)
    assert len(model.feature_names_in_final_) == 2 + 145


def test_bad_input_is_named(data):
    X, y, _, _ = data
    with pytest.raises(ValueError, match="predict_proba"):
        LateFusionClassifier([("ridge", Ridge()), ("logistic", LogisticRegression())], weights="oof").fit(X, y)
    with pytest.raises(ValueError, match="class 1.0 has 2 sample"):
        LateFusionClassifier(_bases(), weights="oof", cv=3).fit(X[:40], np.r_[np.zeros(38), np.ones(2)])
    with pytest.raises(ValueError, match="1 class"):
        StackingFusionClassifier(_bases()).fit(X, np.zeros(len(X)))
    with pytest.raises(ValueError, match="weights='oof'"):
        LateFusionClassifier(_bases(), refit=False).fit(X, y)
