"""weights="oof-or-equal": the choice between fitted and equal blend weights, cross-validated over the internal folds."""

import numpy as np
import pytest
from sklearn.dummy import DummyRegressor
from sklearn.ensemble import RandomForestRegressor
from sklearn.linear_model import Ridge

from skhybrid.fusion import DisjointHoldouts, LateFusionRegressor
from skhybrid.fusion._weights import blend, select_oof_or_equal, simplex_weights


def _two_bases(n=80, noise=(1.0, 1.0), seed=0):
    rng = np.random.default_rng(seed)
    y = rng.normal(size=n)
    predictions = np.stack([y + s * rng.normal(size=n) for s in noise], axis=1)
    return predictions, y, np.repeat([0, 1], n // 2)


def test_the_scores_are_the_cross_fitted_and_the_equal_blends():
    predictions, y, groups = _two_bases(noise=(0.5, 1.5))
    weights, choice, scores = select_oof_or_equal(predictions, y, groups)
    crossed = np.empty_like(y)
    for g in (0, 1):
        crossed[groups == g] = blend(predictions[groups == g],
                                     simplex_weights(predictions[groups != g], y[groups != g]))
    assert scores["fitted"] == pytest.approx(np.mean(np.abs(crossed - y)))
    assert scores["equal"] == pytest.approx(np.mean(np.abs(predictions.mean(axis=1) - y)))
    # one base three times as noisy: fitting the weights pays, and the kept weights are fitted on every group
    assert choice == "fitted" and scores["fitted"] < scores["equal"]
    np.testing.assert_allclose(weights, simplex_weights(predictions, y))
    assert weights[0] > 0.5


def test_equal_weights_win_when_fitting_does_not_pay():
    # base A is the better one on group 0 and base B on group 1: weights fitted on one group are wrong on the other
    sign = np.tile([1.0, -1.0], 20)
    small, large = 0.1 * sign, 1.0 * sign
    predictions = np.concatenate([np.stack([small, large], axis=1), np.stack([large, small], axis=1)])
    y, groups = np.zeros(80), np.repeat([0, 1], 40)
    weights, choice, scores = select_oof_or_equal(predictions, y, groups)
    assert scores == pytest.approx({"fitted": 1.0, "equal": 0.55})
    assert choice == "equal"
    np.testing.assert_array_equal(weights, [0.5, 0.5])
    # identical bases tie exactly, and a tie goes to equal weights
    same = np.repeat(predictions[:, :1], 2, axis=1)
    assert select_oof_or_equal(same, y, groups)[1] == "equal"


def test_multi_target_predictions_and_sample_weights():
    rng = np.random.default_rng(1)
    y = rng.normal(size=(60, 2))
    predictions = np.stack([y + 0.2 * rng.normal(size=y.shape), y + 2.0 * rng.normal(size=y.shape)], axis=1)
    groups = np.arange(60) % 3
    weights, choice, _ = select_oof_or_equal(predictions, y, groups, metric="mse", sample_weight=np.ones(60))
    assert choice == "fitted" and weights.shape == (2,) and weights[0] > 0.9


def test_one_group_is_refused():
    predictions, y, _ = _two_bases()
    with pytest.raises(ValueError, match="at least two internal folds, got 1; use weights='oof'"):
        select_oof_or_equal(predictions, y, np.zeros(len(y)))


def _data(n=150, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 4))
    return X, X[:, 0] + 0.5 * X[:, 1] + 0.1 * rng.normal(size=n)


def test_late_fusion_chooses_on_its_held_out_slices():
    X, y = _data()
    cv = DisjointHoldouts(2, 0.2, random_state=0)
    bases = [("ridge", Ridge()), ("mean", DummyRegressor())]
    model = LateFusionRegressor(bases, weights="oof-or-equal", cv=cv, refit=False, random_state=0).fit(X, y)
    # the choice is the one select_oof_or_equal makes on the saved held-out predictions and the same slices
    fold = np.full(len(y), -1)
    for k, (_, test) in enumerate(cv.split(X)):
        fold[test] = k
    held = fold >= 0
    weights, choice, scores = select_oof_or_equal(model.oof_predictions_[held], y[held], fold[held])
    assert model.weight_choice_ == choice == "fitted"  # a linear target: the mean predictor earns no weight
    assert model.weight_choice_scores_ == scores
    np.testing.assert_allclose(model.weights_, weights)
    np.testing.assert_allclose(model.weights_, [1.0, 0.0], atol=1e-9)
    assert model.oof_scores_["fusion"] == pytest.approx(np.mean(np.abs(blend(model.oof_predictions_[held],
                                                                                 weights) - y[held])))


def test_late_fusion_with_equal_weights_predicts_the_mean_of_its_bases():
    X, y = _data(n=60, seed=2)
    bases = [("forest-a", RandomForestRegressor(20, random_state=0)),
             ("forest-b", RandomForestRegressor(20, random_state=1))]
    model = LateFusionRegressor(bases, weights="oof-or-equal", cv=3, random_state=0).fit(X, y)
    assert model.weight_choice_ in {"fitted", "equal"}
    if model.weight_choice_ == "equal":
        np.testing.assert_array_equal(model.weights_, [0.5, 0.5])
    np.testing.assert_allclose(model.predict(X), model.transform(X) @ model.weights_)


def test_oof_or_equal_needs_internal_folds():
    X, y = _data()
    fitted = [("ridge", Ridge().fit(X, y)), ("mean", DummyRegressor().fit(X, y))]
    with pytest.raises(ValueError, match="cv='prefit' does not have; use weights='oof' with cv='prefit'"):
        LateFusionRegressor(fitted, weights="oof-or-equal", cv="prefit").fit(X, y)
    with pytest.raises(ValueError, match="at least two internal folds, got 1"):
        LateFusionRegressor([("ridge", Ridge()), ("mean", DummyRegressor())], weights="oof-or-equal",
                            cv=DisjointHoldouts(1, 0.3, random_state=0)).fit(X, y)


def test_the_benchmark_report_says_which_weights_were_chosen(tmp_path):
    import pandas as pd

    from skhybrid.benchmark._report import _components_table

    results = pd.DataFrame([{"model": "hybrid", "fold": 0, "mae": 1.0, "components": {"a": 1.2, "b": 1.1},
                             "fusion_weights": {"a": 0.5, "b": 0.5}, "held_out_scores": {"a": 1.3, "b": 1.2},
                             "weight_choice": {"chosen": "equal", "fitted": 1.25, "equal": 1.15}}])
    lines = _components_table(tmp_path, results, "eV")
    row = next(line for line in lines if line.startswith("| hybrid | 0 |"))
    assert row == ("| hybrid | 0 | a 0.50, b 0.50 | a 1.3, b 1.2; equal weights chosen (cross-validated: fitted "
                   "1.25, equal 1.15) |")


def test_late_fusion_classifier_chooses_with_the_log_loss():
    from sklearn.dummy import DummyClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold

    from skhybrid.fusion import LateFusionClassifier
    from skhybrid.fusion._late_classifier import _log_loss
    from skhybrid.fusion._weights import simplex_log_loss_weights

    X, target = _data(n=120, seed=4)
    y = (target > 0).astype(int)
    bases = [("logistic", LogisticRegression()), ("prior", DummyClassifier())]
    model = LateFusionClassifier(bases, weights="oof-or-equal", cv=3, random_state=0).fit(X, y)
    folds = list(StratifiedKFold(3, shuffle=True, random_state=0).split(X, y))
    crossed = np.empty((len(y), 2))
    for _, test in folds:
        rows = np.setdiff1d(np.arange(len(y)), test)
        weights = simplex_log_loss_weights(model.oof_predictions_[rows], y[rows])
        crossed[test] = np.einsum("nmc,m->nc", model.oof_predictions_[test], weights)
    assert model.weight_choice_scores_["fitted"] == pytest.approx(_log_loss(y, crossed))
    assert model.weight_choice_scores_["equal"] == pytest.approx(_log_loss(y, model.oof_predictions_.mean(axis=1)))
    # the prior carries nothing: fitting the weights pays, and they go to the logistic model
    assert model.weight_choice_ == "fitted" and model.weights_[0] > 0.9
    np.testing.assert_allclose(model.weights_, simplex_log_loss_weights(model.oof_predictions_, y))
    with pytest.raises(ValueError, match="cv='prefit' does not have"):
        LateFusionClassifier([(n, b.fit(X, y)) for n, b in bases], weights="oof-or-equal", cv="prefit").fit(X, y)
