"""Conformal intervals and ensemble spread: coverage, adaptivity, Structures, and the errors that say what to do."""

import numpy as np
import pytest
from sklearn.ensemble import RandomForestRegressor
from sklearn.linear_model import LinearRegression, Ridge
from sklearn.pipeline import make_pipeline
from sklearn.tree import ExtraTreeRegressor

from skhybrid.fusion import LateFusionRegressor
from skhybrid.models import SeedEnsembleRegressor
from skhybrid.uncertainty import ConformalRegressor, interval_coverage, interval_width, spread_interval


def heteroscedastic(n, seed):
    """Noise that grows with |x0|: constant-width intervals are too wide at small |x0|, too narrow at large."""
    rng = np.random.default_rng(seed)
    X = rng.uniform(-2, 2, size=(n, 3))
    y = X @ [1.0, -1.0, 0.5] + rng.normal(size=n) * (0.1 + np.abs(X[:, 0]))
    return X, y


@pytest.mark.parametrize("method", ["split", "cv+", "jackknife+-ab"])
def test_coverage_holds_on_new_data(method):
    # marginal coverage is a promise over calibration and test draws: averaged over 5 draws of 2000 test
    # points it must sit near the level asked (CV+'s guarantee is 1 - 2 alpha, its practice 1 - alpha)
    coverages = []
    for seed in range(5):
        X, y = heteroscedastic(2300, seed)
        model = ConformalRegressor(LinearRegression(), method=method, confidence_level=[0.5, 0.9],
                                   random_state=seed).fit(X[:300], y[:300])
        coverages.append(interval_coverage(y[300:], model.predict_interval(X[300:])))
    mean = np.mean(coverages, axis=0)
    assert abs(mean[0] - 0.5) < 0.05 and abs(mean[1] - 0.9) < 0.03, mean


def test_jackknife_after_bootstrap_holds_the_level_where_cv_plus_over_covers():
    from sklearn.tree import DecisionTreeRegressor

    # an unstable model: CV+'s five fold models disagree on a new point, and their spread widens its
    # intervals beyond the level asked; J+aB calibrates each sample by a mean of ~11 bootstrap models,
    # which agree far more (measured: CV+ 93.6%, J+aB 89.6%, split 90.7% at 90%, over 5 draws)
    tree = DecisionTreeRegressor(min_samples_leaf=5, random_state=0)
    coverage, width = {}, {}
    for method in ("cv+", "jackknife+-ab"):
        runs = []
        for seed in range(5):
            X, y = heteroscedastic(2300, seed)
            model = ConformalRegressor(tree, method=method, random_state=seed).fit(X[:300], y[:300])
            intervals = model.predict_interval(X[300:])
            runs.append((interval_coverage(y[300:], intervals), interval_width(intervals)))
        coverage[method], width[method] = np.mean(runs, axis=0)
    assert coverage["cv+"] > 0.92, coverage
    assert abs(coverage["jackknife+-ab"] - 0.9) < 0.02, coverage
    assert width["jackknife+-ab"] < 0.9 * width["cv+"], width


def test_jackknife_after_bootstrap_takes_the_ensemble_spread():
    X, y = heteroscedastic(1300, 4)
    members = SeedEnsembleRegressor(ExtraTreeRegressor(max_depth=5), n_estimators=4, random_state=0)
    fits = {score: ConformalRegressor(members, method="jackknife+-ab", conformity_score=score, n_resamplings=20,
                                      random_state=0).fit(X[:300], y[:300]) for score in ("absolute", "std")}
    intervals = {score: model.predict_interval(X[300:]) for score, model in fits.items()}
    widths = intervals["std"][:, 1] - intervals["std"][:, 0]
    assert widths.std() > 0.1 * widths.mean()  # the width follows the members' disagreement
    np.testing.assert_allclose(*(np.diff(intervals["absolute"], axis=1)[[0, -1], 0]), rtol=0.05)
    assert all(abs(interval_coverage(y[300:], iv) - 0.9) < 0.04 for iv in intervals.values())


def test_adaptive_scores_are_narrower_where_noise_is_small():
    X, y = heteroscedastic(3000, 0)
    fits = {
        "absolute": ConformalRegressor(LinearRegression(), method="split", random_state=0),
        "residual": ConformalRegressor(LinearRegression(), method="split", conformity_score="residual",
                                       residual_estimator=RandomForestRegressor(50, min_samples_leaf=10,
                                                                                random_state=0), random_state=0),
        "std": ConformalRegressor(SeedEnsembleRegressor(RandomForestRegressor(30, max_samples=0.5, random_state=0),
                                                        n_estimators=4, random_state=0),
                                  method="split", conformity_score="std", random_state=0),
    }
    widths, coverage = {}, {}
    for name, model in fits.items():
        intervals = model.fit(X[:1000], y[:1000]).predict_interval(X[1000:])
        widths[name], coverage[name] = interval_width(intervals), interval_coverage(y[1000:], intervals)
        quiet = np.abs(X[1000:, 0]) < 0.5
        widths[name + "/quiet"] = interval_width(intervals[quiet])
    assert all(abs(c - 0.9) < 0.03 for c in coverage.values()), coverage
    # the residual model learns |x0|: narrower on average and far narrower where the noise is small
    assert widths["residual"] < widths["absolute"]
    assert widths["residual/quiet"] < 0.6 * widths["absolute/quiet"], widths
    assert widths["std/quiet"] < widths["absolute/quiet"], widths


def proportional(n, seed):
    """A positive target whose noise is a fixed share of its size: a log-normal error, as phonon frequencies'."""
    rng = np.random.default_rng(seed)
    X = rng.uniform(0, 2, size=(n, 2))
    y = np.exp(X @ [1.0, 0.5]) * np.exp(0.2 * rng.normal(size=n))
    return X, y


@pytest.mark.parametrize("method", ["split", "cv+", "jackknife+-ab"])
def test_relative_scores_cover_and_grow_with_the_prediction(method):
    from sklearn.compose import TransformedTargetRegressor

    # a log-target model predicts positive values, as the relative score needs
    model = TransformedTargetRegressor(LinearRegression(), func=np.log, inverse_func=np.exp)
    coverages, widths = [], []
    for seed in range(5):
        X, y = proportional(2300, seed)
        fitted = ConformalRegressor(model, method=method, conformity_score="relative", random_state=seed).fit(
            X[:300], y[:300])
        intervals = fitted.predict_interval(X[300:])
        coverages.append(interval_coverage(y[300:], intervals))
        widths.append((intervals[:, 1] - intervals[:, 0]) / fitted.predict(X[300:]))
    assert abs(np.mean(coverages) - 0.9) < 0.03, coverages
    # the width is one share of the prediction: large predictions get wide intervals, small ones narrow
    np.testing.assert_allclose(widths[0], widths[0][0], rtol=1e-9 if method == "split" else 0.2)
    # and at the same coverage the intervals are narrower than constant-width ones
    X, y = proportional(2300, 0)
    absolute = ConformalRegressor(model, method=method, random_state=0).fit(X[:300], y[:300])
    relative = ConformalRegressor(model, method=method, conformity_score="relative", random_state=0).fit(
        X[:300], y[:300])
    assert interval_width(relative.predict_interval(X[300:])) < interval_width(absolute.predict_interval(X[300:]))


def test_relative_scores_need_a_positive_target_and_positive_predictions():
    X, y = proportional(200, 0)
    y[7] = 0.0
    with pytest.raises(ValueError, match=r"strictly positive target; y of sample 7 is 0 \(1 sample\(s\) <= 0\)"):
        ConformalRegressor(Ridge(), conformity_score="relative").fit(X, y)
    y[7] = 1.0
    # shifted away from 0, a linear model's predictions stay positive on the data
    fitted = ConformalRegressor(Ridge(), method="split", conformity_score="relative", random_state=0).fit(X, y + 5)
    far = np.array([[0.5, 0.5], [-40.0, -40.0]])  # a linear model predicts < 0 far below the data
    with pytest.raises(ValueError, match=r"predicts a value <= 0 for sample 1; use a model whose predictions stay "
                                         r"positive \(a log target"):
        fitted.predict_interval(far)


def test_same_seed_same_intervals_and_levels_are_selectable():
    X, y = heteroscedastic(200, 1)
    first = ConformalRegressor(Ridge(), confidence_level=[0.8, 0.9], random_state=3).fit(X, y)
    again = ConformalRegressor(Ridge(), confidence_level=[0.8, 0.9], random_state=3).fit(X, y)
    tree = ExtraTreeRegressor(random_state=0)  # bootstrap draws must follow random_state too
    with pytest.warns(UserWarning, match=r"of 200 samples \(sample \d+ first\) were drawn into all 8 bootstrap "
                                         r"samples.*calibrate nothing; raise n_resamplings"):
        bagged = [ConformalRegressor(tree, method="jackknife+-ab", n_resamplings=8, random_state=3).fit(X, y)
                  for _ in range(2)]
    assert 0 < len(y) - bagged[0].n_calibration_ < 20
    np.testing.assert_array_equal(bagged[0].predict_interval(X[:5]), bagged[1].predict_interval(X[:5]))
    both = first.predict_interval(X[:5])
    assert both.shape == (5, 2, 2)
    np.testing.assert_array_equal(both, again.predict_interval(X[:5]))
    np.testing.assert_array_equal(first.predict_interval(X[:5], 0.9), both[:, :, 1])
    assert (both[:, 0, 0] >= both[:, 0, 1]).all() and (both[:, 1, 0] <= both[:, 1, 1]).all()  # 80% inside 90%
    with pytest.raises(ValueError, match=r"calibrated for confidence levels \[0.8, 0.9\], not \[0.95\].*refit"):
        first.predict_interval(X[:5], 0.95)


def test_structures_through_a_pipeline():
    from pymatgen.core import Lattice, Structure

    from skhybrid import MagpieFeaturizer

    rng = np.random.default_rng(0)
    pairs = [("Na", "Cl"), ("K", "Cl"), ("Li", "F"), ("Mg", "O"), ("Na", "F"), ("K", "Br"), ("Ca", "O"),
             ("Li", "Cl"), ("Rb", "I"), ("Cs", "Br"), ("Sr", "O"), ("Ba", "S")]
    structures, y = [], []
    for k in range(60):
        cation, anion = pairs[k % len(pairs)]
        a = rng.uniform(4, 7)
        structures.append(Structure(Lattice.cubic(a), [cation, anion], [[0, 0, 0], [0.5, 0.5, 0.5]]))
        y.append(a + rng.normal(scale=0.1))
    for method, score in [("cv+", "absolute"), ("split", "residual"), ("jackknife+-ab", "absolute")]:
        model = ConformalRegressor(make_pipeline(MagpieFeaturizer(), Ridge()), method=method, conformity_score=score,
                                   calibration_size=0.4, n_resamplings=10, random_state=0).fit(structures[:50], y[:50])
        intervals = model.predict_interval(structures[50:])
        assert intervals.shape == (10, 2) and (intervals[:, 0] < intervals[:, 1]).all()
        assert model.predict(structures[50:]).shape == (10,)


def test_late_fusion_spread_is_the_weighted_disagreement_of_its_bases():
    X, y = heteroscedastic(120, 2)
    fusion = LateFusionRegressor([("ridge", Ridge()), ("tree", ExtraTreeRegressor(max_depth=3, random_state=0))],
                                 weights=[0.25, 0.75]).fit(X, y)
    mean, std = fusion.predict(X[:7], return_std=True)
    parts = fusion.transform(X[:7])
    np.testing.assert_allclose(mean, parts @ [0.25, 0.75])
    np.testing.assert_allclose(std, np.sqrt(0.25 * (parts[:, 0] - mean) ** 2 + 0.75 * (parts[:, 1] - mean) ** 2))
    multi = LateFusionRegressor([("ridge", Ridge()), ("linear", LinearRegression())]).fit(X, np.c_[y, 2 * y])
    mean2, std2 = multi.predict(X[:7], return_std=True)
    assert mean2.shape == std2.shape == (7, 2)  # per target


def test_spread_interval_is_gaussian_and_usually_too_narrow():
    X, y = heteroscedastic(1200, 3)
    ensemble = SeedEnsembleRegressor(ExtraTreeRegressor(max_depth=4), n_estimators=5, random_state=0).fit(X[:200],
                                                                                                        y[:200])
    y_pred, intervals = spread_interval(ensemble, X[200:], [0.5, 0.9])
    mean, std = ensemble.predict(X[200:], return_std=True)
    np.testing.assert_allclose(intervals[:, 1, 1] - y_pred, 1.6448536 * std, rtol=1e-6)
    assert interval_coverage(y[200:], intervals[:, :, 1]) < 0.85  # members agree more than the truth does


@pytest.mark.parametrize("params, fit_y, match", [
    (dict(confidence_level=1.0), None, r"confidence_level.*range \(0.0, 1.0\)"),
    (dict(confidence_level=[0.5, 1.2]), None, "strictly between 0 and 1"),
    (dict(method="split", confidence_level=0.99), None, r"16 sample\(s\) to calibrate on cannot give a 99% interval "
                                                        r"\(at least 101 are needed\)"),
    (dict(conformity_score="std"), None, "needs a model whose predict takes return_std.*SeedEnsembleRegressor"),
    (dict(conformity_score="residual"), None, "needs method='split'"),
    (dict(method="jackknife+-ab", conformity_score="residual"), None, "needs method='split'"),
    (dict(method="jackknife+-ab", n_resamplings=1), None, r"n_resamplings.*range \[2, inf\)"),
    (dict(), "two", r"one target at a time \(y has 2 columns\)"),
    (dict(), "nan", r"y of sample 4 is not finite"),
])
def test_bad_settings_say_what_to_do(params, fit_y, match):
    X, y = heteroscedastic(80, 0)
    y = np.c_[y, y] if fit_y == "two" else y
    if fit_y == "nan":
        y[4] = np.nan
    with pytest.raises(ValueError, match=match):
        ConformalRegressor(Ridge(), **params).fit(X, y)


def test_spread_of_a_model_without_one_is_refused():
    X, y = heteroscedastic(50, 0)
    with pytest.raises(ValueError, match="Ridge has no spread.*SeedEnsembleRegressor.*ConformalRegressor"):
        spread_interval(make_pipeline(Ridge()).fit(X, y), X, 0.9)
    with pytest.raises(ValueError, match="strictly between 0 and 1"):
        spread_interval(SeedEnsembleRegressor(Ridge(), 2).fit(X, y), X, 0)


def test_jackknife_after_bootstrap_round_trips_through_save_model_and_joblib(tmp_path):
    import joblib

    from skhybrid import load_model, save_model

    X, y = heteroscedastic(150, 5)
    model = ConformalRegressor(Ridge(), method="jackknife+-ab", confidence_level=[0.8, 0.9], random_state=0).fit(X, y)
    expected = model.predict_interval(X[:9])
    save_model(model, tmp_path / "jab.skh")
    joblib.dump(model, tmp_path / "jab.joblib")
    for loaded in (load_model(tmp_path / "jab.skh"), joblib.load(tmp_path / "jab.joblib")):
        np.testing.assert_array_equal(loaded.predict_interval(X[:9]), expected)
        np.testing.assert_array_equal(loaded.predict(X[:9]), model.predict(X[:9]))
