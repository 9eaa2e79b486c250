"""Late fusion with held-out slices and fold-model committees (refit=False), on 2-D and Structure inputs."""

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.ensemble import RandomForestRegressor
from sklearn.linear_model import Ridge
from sklearn.pipeline import make_pipeline

from skhybrid import MagpieFeaturizer, StructureFeaturizer
from skhybrid.fusion import DisjointHoldouts, LateFusionRegressor
from skhybrid.utils._testing import synthetic_crystals


def _data(n=120, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 4))
    return X, X[:, 0] + np.sin(2 * X[:, 1]) + 0.05 * rng.normal(size=n)


def test_disjoint_holdouts_are_disjoint_and_seeded():
    splits = list(DisjointHoldouts(3, 0.2, random_state=0).split(np.zeros((50, 1))))
    tests = [set(test) for _, test in splits]
    assert [len(t) for t in tests] == [10, 10, 10]
    assert not (tests[0] & tests[1]) and not (tests[1] & tests[2])
    for train, test in splits:
        assert set(train) | set(test) == set(range(50)) and not set(train) & set(test)
    again = list(DisjointHoldouts(3, 0.2, random_state=0).split(np.zeros((50, 1))))
    assert all((a[1] == b[1]).all() for a, b in zip(splits, again))
    with pytest.raises(ValueError, match=r"n_splits \* test_size must be in \(0, 1\]"):
        list(DisjointHoldouts(3, 0.5).split(np.zeros((50, 1))))


def test_committee_late_fusion_reuses_the_fold_models():
    X, y = _data()
    bases = [("ridge", Ridge()), ("forest", RandomForestRegressor(30, random_state=0))]
    cv = DisjointHoldouts(2, 0.15, random_state=0)
    model = LateFusionRegressor(bases, weights="oof", cv=cv, refit=False, random_state=3).fit(X, y)
    held_out = np.concatenate([test for _, test in cv.split(X)])
    assert np.isfinite(model.oof_predictions_[held_out]).all()
    assert np.isnan(np.delete(model.oof_predictions_, held_out, axis=0)).all()
    forest = model.named_estimators_["forest"]
    assert [m.random_state for m in forest.estimators_] == [3, 4]  # fold k gets random_state + k
    # each fold model equals a model trained alone on that fold's training part, and predicts its held-out slice
    for k, (train, test) in enumerate(cv.split(X)):
        alone = clone(bases[1][1]).set_params(random_state=3 + k).fit(X[train], y[train])
        np.testing.assert_allclose(forest.estimators_[k].predict(X), alone.predict(X))
        np.testing.assert_allclose(model.oof_predictions_[test, 1], alone.predict(X[test]))
    expected = np.stack([est.predict(X) for est in model.estimators_], axis=1) @ model.weights_
    np.testing.assert_allclose(model.predict(X), expected)
    assert set(model.oof_scores_) == {"ridge", "forest", "fusion"}
    assert model.oof_scores_["fusion"] <= min(model.oof_scores_["ridge"], model.oof_scores_["forest"]) + 1e-12


def test_parallel_fits_equal_serial_fits():
    X, y = _data()
    bases = [("ridge", Ridge()), ("forest", RandomForestRegressor(30, random_state=0))]
    kwargs = dict(weights="oof", cv=DisjointHoldouts(2, 0.15, random_state=0), refit=False, random_state=0)
    serial = LateFusionRegressor(bases, **kwargs).fit(X, y)
    parallel = LateFusionRegressor(bases, **kwargs, n_jobs=2).fit(X, y)
    np.testing.assert_array_equal(serial.predict(X), parallel.predict(X))
    np.testing.assert_array_equal(serial.weights_, parallel.weights_)


def test_refit_false_needs_oof_weights():
    X, y = _data()
    with pytest.raises(ValueError, match="refit=False predicts with the models of the internal folds"):
        LateFusionRegressor([("ridge", Ridge())], weights=[1.0], refit=False).fit(X, y)


def test_overlapping_internal_test_folds_are_refused():
    from sklearn.model_selection import ShuffleSplit

    X, y = _data()
    with pytest.raises(ValueError, match="at most one test fold"):
        LateFusionRegressor([("ridge", Ridge())], weights="oof", cv=ShuffleSplit(3, test_size=0.5,
                                                                                 random_state=0)).fit(X, y)


def test_committee_fusion_on_structures():
    structures, y = synthetic_crystals(40, seed=1)
    bases = [("magpie", make_pipeline(MagpieFeaturizer(), RandomForestRegressor(20, random_state=0))),
             ("structure", make_pipeline(StructureFeaturizer(), RandomForestRegressor(20, random_state=0)))]
    model = LateFusionRegressor(bases, weights="oof", cv=DisjointHoldouts(2, 0.2, random_state=0), refit=False,
                                random_state=0).fit(structures, y)
    assert model.predict(structures).shape == (40,)
    assert np.isclose(model.weights_.sum(), 1.0)


def test_refit_some_bases_and_keep_committees_of_the_others():
    X, y = _data()
    bases = [("ridge", Ridge()), ("forest", RandomForestRegressor(30, random_state=0))]
    cv = DisjointHoldouts(2, 0.15, random_state=0)
    model = LateFusionRegressor(bases, weights="oof", cv=cv, refit=["ridge"], random_state=3).fit(X, y)
    ridge, forest = model.named_estimators_["ridge"], model.named_estimators_["forest"]
    np.testing.assert_allclose(ridge.predict(X), Ridge().fit(X, y).predict(X))   # refit on everything
    assert len(forest.estimators_) == 2                                          # the fold committee
    committee = LateFusionRegressor(bases, weights="oof", cv=cv, refit=False, random_state=3).fit(X, y)
    np.testing.assert_array_equal(model.weights_, committee.weights_)            # same held-out predictions
    with pytest.raises(ValueError, match=r"refit names \['lasso'\], which are not estimators"):
        LateFusionRegressor(bases, weights="oof", cv=cv, refit=["lasso"]).fit(X, y)
