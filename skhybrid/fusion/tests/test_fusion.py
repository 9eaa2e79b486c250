import re

import joblib
import numpy as np
import pytest
from sklearn.base import BaseEstimator, RegressorMixin, clone
from sklearn.ensemble import RandomForestRegressor, StackingRegressor
from sklearn.linear_model import LinearRegression, Ridge, RidgeCV
from sklearn.model_selection import GridSearchCV, KFold, cross_val_predict
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.utils.estimator_checks import (
    check_estimator_cloneable,
    check_get_params_invariance,
    check_no_attributes_set_in_init,
    check_set_params,
)

from skhybrid import MagpieFeaturizer, StructureGraphizer
from skhybrid.fusion import (
    EarlyFusionRegressor,
    LateFusionRegressor,
    StackingFusionRegressor,
)
from skhybrid.fusion._weights import blend, simplex_weights
from skhybrid.models import CGCNNRegressor
from skhybrid.utils._testing import synthetic_crystals

N_SAMPLES = 48
FAST_GNN = dict(max_epochs=4, batch_size=16, random_state=0, module__hidden_channels=16,
                module__head_channels=(16,))


@pytest.fixture(scope="module")
def structures():
    return synthetic_crystals(N_SAMPLES, seed=0)[0]


@pytest.fixture(scope="module")
def target():
    return synthetic_crystals(N_SAMPLES, seed=0)[1]


@pytest.fixture(scope="module")
def magpie(structures):
    return MagpieFeaturizer().fit_transform(structures)


def rf_pipeline(seed=0):
    return make_pipeline(MagpieFeaturizer(), RandomForestRegressor(n_estimators=20, random_state=seed))


def ridge_pipeline():
    return make_pipeline(MagpieFeaturizer(), Ridge(alpha=10.0))


def cgcnn_pipeline():
    return make_pipeline(StructureGraphizer(), CGCNNRegressor(**FAST_GNN))


def fast_bases():
    return [("rf", rf_pipeline()), ("ridge", ridge_pipeline())]


class FailsOnSecondFit(RegressorMixin, BaseEstimator):
    """Fits fine once, then raises: to check that errors name the base and the fold."""

    calls = 0

    def fit(self, X, y):
        type(self).calls += 1
        if type(self).calls == 2:
            raise ValueError("boom")
        self.mean_ = float(np.mean(y))
        return self

    def predict(self, X):
        return np.full(len(X), self.mean_)


# --- weights on the simplex --------------------------------------------------------------------


def test_simplex_weights_recover_a_known_mix_and_beat_every_grid_point():
    rng = np.random.default_rng(0)
    P = rng.normal(size=(200, 3))
    y = P @ np.array([0.2, 0.0, 0.8])
    np.testing.assert_allclose(simplex_weights(P, y, "mae"), [0.2, 0.0, 0.8], atol=1e-6)
    np.testing.assert_allclose(simplex_weights(P, y, "mse"), [0.2, 0.0, 0.8], atol=1e-4)
    # noisy: the LP optimum is at least as good as any point of a fine grid
    y_noisy = y + rng.standard_t(2, size=200)
    w = simplex_weights(P, y_noisy, "mae")
    assert w.min() >= 0 and np.isclose(w.sum(), 1)
    best = np.mean(np.abs(P @ w - y_noisy))
    grid = [np.array([a, b, 1 - a - b]) for a in np.linspace(0, 1, 41) for b in np.linspace(0, 1, 41)
            if a + b <= 1]
    assert best <= min(np.mean(np.abs(P @ g - y_noisy)) for g in grid) + 1e-9
    w_callable = simplex_weights(P, y_noisy, lambda t, p: np.median(np.abs(t - p)))
    assert w_callable.min() >= 0 and np.isclose(w_callable.sum(), 1)


def test_simplex_weights_multi_output_ignore_missing_labels():
    rng = np.random.default_rng(1)
    P = rng.normal(size=(50, 2, 2))
    y = 0.3 * P[:, 0] + 0.7 * P[:, 1]
    y[:10, 1] = np.nan
    np.testing.assert_allclose(simplex_weights(P, y), [0.3, 0.7], atol=1e-6)
    assert blend(P, np.array([0.3, 0.7])).shape == (50, 2)


# --- late fusion --------------------------------------------------------------------------------


@pytest.mark.parametrize("make", [
    lambda: LateFusionRegressor(fast_bases()),
    lambda: StackingFusionRegressor(fast_bases()),
])
@pytest.mark.parametrize(
    "check",
    [check_no_attributes_set_in_init, check_estimator_cloneable, check_get_params_invariance, check_set_params],
)
def test_sklearn_data_free_checks(make, check):
    estimator = make()
    check(type(estimator).__name__, estimator)


def test_late_fusion_oof_weights_come_from_out_of_fold_predictions(structures, target):
    model = LateFusionRegressor(fast_bases(), weights="oof", cv=3, random_state=0).fit(structures, target)
    cv = KFold(3, shuffle=True, random_state=0)
    for j, (_, base) in enumerate(fast_bases()):
        expected = cross_val_predict(clone(base), structures, target, cv=cv)
        np.testing.assert_allclose(model.oof_predictions_[:, j], expected)
    np.testing.assert_allclose(model.weights_, simplex_weights(model.oof_predictions_, target))
    assert model.weights_.min() >= 0 and np.isclose(model.weights_.sum(), 1)
    # the blend is chosen to be at least as good out of fold as either base alone
    assert model.oof_scores_["fusion"] <= min(model.oof_scores_["rf"], model.oof_scores_["ridge"]) + 1e-9
    # bases refit on all the data; predict is the weighted sum of their predictions
    rf_all = clone(fast_bases()[0][1]).fit(structures, target)
    np.testing.assert_allclose(model.named_estimators_["rf"].predict(structures[:5]), rf_all.predict(structures[:5]))
    np.testing.assert_allclose(model.predict(structures[:5]), model.transform(structures[:5]) @ model.weights_)


def test_late_fusion_fixed_weights_are_normalised_and_tunable(structures, target):
    model = LateFusionRegressor(fast_bases(), weights=[1, 3]).fit(structures, target)
    np.testing.assert_allclose(model.weights_, [0.25, 0.75])
    assert not hasattr(model, "oof_predictions_")
    search = GridSearchCV(LateFusionRegressor(fast_bases()),
                          {"weights": [[1, 0], [0.5, 0.5], [0, 1]], "ridge__ridge__alpha": [1.0, 100.0]},
                          cv=3, scoring="neg_mean_absolute_error").fit(structures, target)
    assert search.best_params_["weights"] in ([1, 0], [0.5, 0.5], [0, 1])
    assert len(search.cv_results_["params"]) == 6


def test_late_fusion_with_a_gnn_pipeline_persists(structures, target, tmp_path):
    model = LateFusionRegressor([("rf", rf_pipeline()), ("cgcnn", cgcnn_pipeline())], weights="oof", cv=2,
                                random_state=0).fit(structures, target)
    path = tmp_path / "late.joblib"
    joblib.dump(model, path)
    np.testing.assert_array_equal(joblib.load(path).predict(structures[:8]), model.predict(structures[:8]))
    again = clone(model).fit(structures, target)
    np.testing.assert_array_equal(again.predict(structures[:8]), model.predict(structures[:8]))


@pytest.mark.parametrize("cls", [LateFusionRegressor, StackingFusionRegressor])
def test_bad_bases_name_the_base_and_the_fold(cls, structures, target):
    params = dict(weights="oof") if cls is LateFusionRegressor else {}
    with pytest.raises(ValueError, match=r"base estimator 'bare' failed in fold 0 of 3.*make it a Pipeline"):
        cls([("rf", rf_pipeline()), ("bare", RandomForestRegressor())], cv=3, **params).fit(structures, target)
    FailsOnSecondFit.calls = 0
    with pytest.raises(ValueError, match=r"'flaky' failed in fold 1 of 3 .*boom"):
        cls([("flaky", FailsOnSecondFit())], cv=3, **params).fit(structures, target)
    with pytest.raises(ValueError, match=r"cv=100 folds is more than the training samples \(n_samples=48\)"):
        cls(fast_bases(), cv=100, **params).fit(structures, target)
    with pytest.raises(ValueError, match="names must be unique; repeated: rf"):
        cls([("rf", rf_pipeline()), ("rf", ridge_pipeline())], **params).fit(structures, target)
    with pytest.raises(ValueError, match=r"estimators\[0\] must be a \(name, estimator\) pair"):
        cls([rf_pipeline()], **params).fit(structures, target)


def test_late_fusion_fixed_weight_errors(structures, target):
    with pytest.raises(ValueError, match="weights has 3 entries but there are 2 estimators"):
        LateFusionRegressor(fast_bases(), weights=[1, 1, 1]).fit(structures, target)
    with pytest.raises(ValueError, match="non-negative and not all zero"):
        LateFusionRegressor(fast_bases(), weights=[-1, 2]).fit(structures, target)
    with pytest.raises(ValueError, match="non-negative and not all zero"):
        LateFusionRegressor(fast_bases(), weights=[0, 0]).fit(structures, target)
    with pytest.raises(ValueError, match="failed when fit on all the training data"):
        LateFusionRegressor([("bare", LinearRegression())]).fit(structures, target)


# --- stacking -----------------------------------------------------------------------------------


def test_sklearn_stacking_regressor_takes_structures_with_per_base_pipelines(structures, target):
    model = StackingRegressor([("rf", rf_pipeline()), ("cgcnn", cgcnn_pipeline())], final_estimator=RidgeCV(),
                              cv=2).fit(structures, target)
    pred = model.predict(structures[:6])
    assert pred.shape == (6,) and np.isfinite(pred).all()


def test_stacking_fusion_passes_composition_features_to_the_final_estimator(structures, target, magpie):
    model = StackingFusionRegressor(fast_bases(), final_estimator=Ridge(alpha=1.0),
                                    passthrough_features=MagpieFeaturizer(), cv=3, random_state=0)
    model.fit(structures, target)
    n_magpie = magpie.shape[1]
    assert list(model.feature_names_in_final_[:2]) == ["rf", "ridge"]
    assert len(model.feature_names_in_final_) == 2 + n_magpie
    # the final estimator was trained on out-of-fold predictions beside the Magpie features
    expected = Ridge(alpha=1.0).fit(np.hstack([model.oof_predictions_, magpie]), target)
    np.testing.assert_allclose(model.final_estimator_.coef_, expected.coef_)
    Z = model.transform(structures[:5])
    assert Z.shape == (5, 2 + n_magpie)
    np.testing.assert_allclose(Z[:, 2:], magpie[:5])
    np.testing.assert_allclose(model.predict(structures[:5]), model.final_estimator_.predict(Z))
    without = StackingFusionRegressor(fast_bases(), cv=3, random_state=0).fit(structures, target)
    assert without.transform(structures[:5]).shape == (5, 2)


# --- early fusion -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def fusion_graphs(structures):
    return StructureGraphizer(global_features=MagpieFeaturizer()).fit_transform(structures)


@pytest.fixture(scope="module")
def fusion_line_graphs(structures):
    return StructureGraphizer(line_graph=True, global_features=MagpieFeaturizer()).fit_transform(structures[:16])


def small_early(backbone="cgcnn", fusion="concat", **params):
    sizes = {"cgcnn": dict(module__hidden_channels=16),
             "alignn": dict(module__hidden_channels=16, module__embedding_channels=8, module__num_alignn_layers=1,
                            module__num_gcn_layers=1),
             "megnet": dict(module__hidden_channels=8, module__dense_channels=16)}[backbone]
    return EarlyFusionRegressor(backbone, fusion, **{**dict(max_epochs=4, batch_size=16, random_state=0,
                                                            module__head_channels=(16,)), **sizes, **params})


@pytest.mark.parametrize(
    "check",
    [check_no_attributes_set_in_init, check_estimator_cloneable, check_get_params_invariance, check_set_params],
)
def test_early_fusion_data_free_checks(check):
    check("EarlyFusionRegressor", EarlyFusionRegressor("megnet", "attention"))


@pytest.mark.parametrize("backbone", ["cgcnn", "alignn", "megnet"])
@pytest.mark.parametrize("fusion", ["concat", "attention"])
def test_early_fusion_every_backbone_and_fusion(backbone, fusion, fusion_graphs, fusion_line_graphs, target):
    graphs = fusion_line_graphs if backbone == "alignn" else fusion_graphs[:16]
    model = small_early(backbone, fusion).fit(graphs, target[:16])
    pred = model.predict(graphs)
    assert pred.shape == (16,) and np.isfinite(pred).all()
    composition, graph = model.branch_embeddings(graphs)
    assert composition.shape == (16, model.n_global_features_)
    np.testing.assert_allclose(model.predict_from_branches(composition, graph), pred, rtol=1e-5, atol=1e-3)
    if fusion == "attention":
        weights = model.fusion_weights(graphs)
        assert weights.shape == (16, 2) and (weights >= 0).all()
        np.testing.assert_allclose(weights.sum(axis=1), 1, rtol=1e-5)
    else:
        with pytest.raises(ValueError, match="fusion='concat'.*no fusion weights"):
            model.fusion_weights(graphs)


def test_early_fusion_learns_and_is_reproducible(fusion_graphs, target):
    params = dict(max_epochs=30, validation_fraction=0, lr=3e-3)
    model = small_early("cgcnn", "attention", **params).fit(fusion_graphs, target)
    pred = model.predict(fusion_graphs)
    assert np.abs(pred - target).mean() < 0.8 * np.abs(target - target.mean()).mean()
    again = clone(model).fit(fusion_graphs, target)
    np.testing.assert_array_equal(again.predict(fusion_graphs), pred)


def test_early_fusion_in_a_pipeline_with_cross_val_predict_and_joblib(structures, target, tmp_path):
    pipe = Pipeline([("graph", StructureGraphizer(global_features=MagpieFeaturizer())),
                     ("fusion", small_early("cgcnn", "attention"))])
    pred = cross_val_predict(pipe, structures, target, cv=2)
    assert pred.shape == (N_SAMPLES,) and np.isfinite(pred).all()
    pipe.fit(structures, target)
    joblib.dump(pipe, tmp_path / "early.joblib")
    np.testing.assert_array_equal(joblib.load(tmp_path / "early.joblib").predict(structures[:6]),
                                  pipe.predict(structures[:6]))
    pipe.set_params(fusion__module__hidden_channels=8, fusion__fusion="concat")
    assert pipe.named_steps["fusion"].get_params()["module__hidden_channels"] == 8


def test_early_fusion_bad_input(structures, fusion_graphs, target):
    plain = StructureGraphizer().fit_transform(structures[:8])
    with pytest.raises(ValueError, match=re.escape("X[0] has no u") + ".*global_features=MagpieFeaturizer"):
        small_early().fit(plain, target[:8])
    with pytest.raises(ValueError, match="line_graph=True"):
        small_early("alignn").fit(fusion_graphs[:8], target[:8])
    with pytest.raises(ValueError, match="module__hiden_channels.*valid module__ parameters: .*hidden_channels"):
        EarlyFusionRegressor(module__hiden_channels=8, max_epochs=1).fit(fusion_graphs[:8], target[:8])
    with pytest.raises(ValueError, match="Set backbone on EarlyFusionRegressor itself"):
        EarlyFusionRegressor(module__backbone="megnet", max_epochs=1).fit(fusion_graphs[:8], target[:8])
    with pytest.raises(ValueError, match="backbone"):
        EarlyFusionRegressor(backbone="schnet").fit(fusion_graphs[:8], target[:8])
    with pytest.raises(ValueError, match="Put a StructureGraphizer in front"):
        small_early().fit(structures[:8], target[:8])


def test_stacking_from_late_fusion_equals_a_direct_fit(structures, target):
    late = LateFusionRegressor(fast_bases(), weights="oof", cv=3, random_state=0).fit(structures, target)
    stacked = StackingFusionRegressor.from_late_fusion(late, structures, target, Ridge(alpha=1.0),
                                                       passthrough_features=MagpieFeaturizer())
    direct = StackingFusionRegressor(fast_bases(), Ridge(alpha=1.0), passthrough_features=MagpieFeaturizer(),
                                     cv=3, random_state=0).fit(structures, target)
    np.testing.assert_allclose(stacked.predict(structures[:6]), direct.predict(structures[:6]))
    np.testing.assert_array_equal(stacked.feature_names_in_final_, direct.feature_names_in_final_)
    fixed = LateFusionRegressor(fast_bases(), weights=[1, 1]).fit(structures, target)
    with pytest.raises(ValueError, match="weights='oof'"):
        StackingFusionRegressor.from_late_fusion(fixed, structures, target)
