"""SeedEnsembleRegressor and AutoTargetTransformRegressor: contract, determinism, parallel fits, errors."""

import joblib
import numpy as np
import pytest
from sklearn.base import clone
from sklearn.linear_model import LinearRegression
from sklearn.model_selection import cross_val_score
from sklearn.neural_network import MLPRegressor
from sklearn.pipeline import make_pipeline
from sklearn.utils.estimator_checks import (
    check_estimator_cloneable,
    check_get_params_invariance,
    check_no_attributes_set_in_init,
    check_set_params,
)

from skhybrid import StructureGraphizer
from skhybrid.models import AutoTargetTransformRegressor, CGCNNRegressor, SeedEnsembleRegressor
from skhybrid.utils import with_random_state
from skhybrid.utils._testing import synthetic_crystals

FAST_GNN = dict(max_epochs=3, batch_size=16, validation_fraction=0, module__hidden_channels=8,
                module__head_channels=(8,))


@pytest.fixture(scope="module")
def crystals():
    return synthetic_crystals(24, seed=0)


def _data(n=80, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3))
    return X, np.exp(X @ [0.8, 0.4, -0.3])


@pytest.mark.parametrize("make", [
    lambda: SeedEnsembleRegressor(LinearRegression(), 2),
    lambda: AutoTargetTransformRegressor(LinearRegression()),
])
@pytest.mark.parametrize("check", [check_no_attributes_set_in_init, check_estimator_cloneable,
                                   check_get_params_invariance, check_set_params])
def test_sklearn_data_free_checks(make, check):
    estimator = make()
    check(type(estimator).__name__, estimator)


def test_seed_ensemble_members_equal_models_fitted_alone_with_those_seeds():
    X, y = _data()
    base = MLPRegressor(hidden_layer_sizes=(8,), max_iter=60)
    ensemble = SeedEnsembleRegressor(base, 3, random_state=5).fit(X, y)
    assert ensemble.seeds_ == [5, 6, 7]
    members = ensemble.transform(X)
    for k, seed in enumerate(ensemble.seeds_):
        alone = clone(base).set_params(random_state=seed).fit(X, y)
        np.testing.assert_array_equal(members[:, k], alone.predict(X))
    mean, std = ensemble.predict(X, return_std=True)
    np.testing.assert_allclose(mean, members.mean(axis=1))
    np.testing.assert_allclose(std, members.std(axis=1))
    assert (std > 0).all()


def test_seed_ensemble_of_graph_pipelines_in_parallel_equals_serial(crystals):
    structures, y = crystals
    pipeline = make_pipeline(StructureGraphizer(), CGCNNRegressor(**FAST_GNN))
    serial = SeedEnsembleRegressor(pipeline, 2, random_state=0).fit(structures, y)
    parallel = SeedEnsembleRegressor(pipeline, 2, random_state=0, n_jobs=2).fit(structures, y)
    # workers train with one torch thread; the serial fit here too, for the same summation order
    import torch

    assert torch.get_num_threads() >= 1
    serial_one = None
    from skhybrid.utils import torch_threads

    with torch_threads(1):
        serial_one = SeedEnsembleRegressor(pipeline, 2, random_state=0).fit(structures, y)
    np.testing.assert_array_equal(parallel.predict(structures), serial_one.predict(structures))
    assert serial.predict(structures).shape == (24,)
    # nested random_state: the pipeline's network got each member's seed
    assert [m.named_steps["cgcnnregressor"].random_state for m in parallel.estimators_] == [0, 1]
    loaded = joblib.loads(joblib.dumps(parallel)) if hasattr(joblib, "loads") else parallel
    np.testing.assert_array_equal(loaded.predict(structures), parallel.predict(structures))


def test_seed_ensemble_failure_names_the_member():
    X, y = _data()
    with pytest.raises(ValueError, match=r"SeedEnsembleRegressor: member 0 failed: ValueError"):
        SeedEnsembleRegressor(LinearRegression(), 2).fit(X, y[:-1])


def test_with_random_state_sets_nested_seeds_only():
    model = make_pipeline(StructureGraphizer(), CGCNNRegressor(random_state=0, max_epochs=7))
    reseeded = with_random_state(model, 11)
    assert reseeded.get_params()["cgcnnregressor__random_state"] == 11
    assert reseeded.get_params()["cgcnnregressor__max_epochs"] == 7
    assert model.get_params()["cgcnnregressor__random_state"] == 0


def test_auto_target_transform_picks_log_for_a_log_linear_target_and_identity_otherwise():
    X, y = _data()
    log_model = AutoTargetTransformRegressor(LinearRegression(), random_state=0).fit(X, y)
    assert log_model.transform_ == "log" and set(log_model.cv_scores_) == {"identity", "log"}
    linear = AutoTargetTransformRegressor(LinearRegression(), random_state=0).fit(X, X @ [1.0, 2.0, 3.0] + 10)
    assert linear.transform_ == "identity"
    np.testing.assert_allclose(log_model.predict(X), np.exp(LinearRegression().fit(X, np.log(y)).predict(X)))


def test_auto_target_transform_skips_log_for_non_positive_targets():
    X, y = _data()
    model = AutoTargetTransformRegressor(LinearRegression(), random_state=0).fit(X, y - 1.0)
    assert set(model.cv_scores_) == {"identity"} and model.transform_ == "identity"
    with pytest.raises(ValueError, match="None of the transforms \\['log'\\] applies"):
        AutoTargetTransformRegressor(LinearRegression(), transforms=["log"]).fit(X, y - 5.0)
    with pytest.raises(ValueError, match="transforms must be a non-empty list"):
        AutoTargetTransformRegressor(LinearRegression(), transforms=["sqrt"]).fit(X, y)


def test_auto_target_transform_works_inside_cross_validation():
    X, y = _data(120)
    scores = cross_val_score(AutoTargetTransformRegressor(LinearRegression(), random_state=0), X, y, cv=3,
                             scoring="neg_mean_absolute_error")
    assert scores.shape == (3,) and np.all(scores < 0)


def test_auto_target_transform_searches_regressor_settings_with_the_transform():
    from sklearn.linear_model import QuantileRegressor

    rng = np.random.default_rng(1)
    X = rng.normal(size=(120, 2))
    y = np.exp(X @ [0.5, -0.5]) + (rng.random(120) < 0.1) * 30.0  # a few large outliers
    model = AutoTargetTransformRegressor(QuantileRegressor(solver="highs"), param_grid={"alpha": [0.0, 10.0]},
                                         random_state=0).fit(X, y)
    assert set(model.best_params_) == {"alpha"} and model.best_params_["alpha"] == 0.0
    assert set(model.cv_scores_) == {"identity", "log"}
    assert len(model.search_.cv_results_["params"]) == 4  # 2 transforms x 2 values
