import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from sklearn.ensemble import RandomForestRegressor  # noqa: E402
from sklearn.linear_model import Ridge  # noqa: E402
from sklearn.model_selection import KFold  # noqa: E402
from sklearn.pipeline import Pipeline, make_pipeline  # noqa: E402

from skhybrid import MagpieFeaturizer, StructureGraphizer  # noqa: E402
from skhybrid.fusion import EarlyFusionRegressor, LateFusionRegressor  # noqa: E402
from skhybrid.inspection import (  # noqa: E402
    branch_importance,
    fusion_weights,
    late_fusion_summary,
    negative_transfer,
    negative_transfer_cv,
    plot_branch_importance,
    plot_fusion_weights,
)
from skhybrid.utils._testing import synthetic_crystals  # noqa: E402

N = 48


@pytest.fixture(scope="module")
def structures():
    return synthetic_crystals(N, seed=0)[0]


@pytest.fixture(scope="module")
def composition_only_target(structures):
    """A target that is a function of the composition alone (mean atomic mass)."""
    return np.array([s.composition.weight / s.composition.num_atoms for s in structures])


@pytest.fixture(scope="module")
def attention_pipeline(structures, composition_only_target):
    model = Pipeline([
        ("graph", StructureGraphizer(global_features=MagpieFeaturizer())),
        ("fusion", EarlyFusionRegressor("cgcnn", "attention", max_epochs=60, batch_size=16, lr=3e-3,
                                        validation_fraction=0, random_state=0, module__hidden_channels=16)),
    ])
    return model.fit(structures, composition_only_target)


def test_branch_importance_finds_the_branch_the_target_depends_on(attention_pipeline, structures,
                                                                   composition_only_target):
    result = branch_importance(attention_pipeline, structures, composition_only_target, n_repeats=5,
                               random_state=0)
    assert result.branches == ("composition", "graph")
    assert result.importances.shape == (2, 5) and result.permuted_mae.shape == (2, 5)
    intact = np.abs(attention_pipeline.predict(structures) - composition_only_target).mean()
    assert result.baseline_mae == pytest.approx(intact, rel=1e-4)
    np.testing.assert_allclose(result.importances, result.permuted_mae - result.baseline_mae)
    # the target is the mean atomic mass: scrambling the composition must hurt more than the graph
    assert result.importances_mean[0] > result.importances_mean[1]
    again = branch_importance(attention_pipeline, structures, composition_only_target, n_repeats=5, random_state=0)
    np.testing.assert_array_equal(again.importances, result.importances)
    ax = plot_branch_importance(result, unit="amu")
    assert len(ax.patches) == 2


def test_fusion_weights_frame(attention_pipeline, structures):
    weights = fusion_weights(attention_pipeline, structures)
    assert list(weights.columns) == ["composition", "graph"] and len(weights) == N
    np.testing.assert_allclose(weights.sum(axis=1), 1, rtol=1e-5)
    assert plot_fusion_weights(weights) is not None


def test_inspection_rejects_other_models(structures, composition_only_target):
    model = make_pipeline(MagpieFeaturizer(), Ridge()).fit(structures, composition_only_target)
    with pytest.raises(TypeError, match="EarlyFusionRegressor"):
        branch_importance(model, structures, composition_only_target)


def test_late_fusion_summary(structures, composition_only_target):
    bases = [("rf", make_pipeline(MagpieFeaturizer(), RandomForestRegressor(20, random_state=0))),
             ("ridge", make_pipeline(MagpieFeaturizer(), Ridge()))]
    model = LateFusionRegressor(bases, weights="oof", cv=3, random_state=0).fit(structures, composition_only_target)
    table = late_fusion_summary(model)
    assert list(table.index) == ["rf", "ridge", "fusion"]
    np.testing.assert_allclose(table.loc[["rf", "ridge"], "weight"], model.weights_)
    assert table.loc["rf", "oof_mae"] == model.oof_scores_["rf"]
    fixed = LateFusionRegressor(bases, weights=[1, 1]).fit(structures, composition_only_target)
    assert list(late_fusion_summary(fixed).columns) == ["weight"]


def test_negative_transfer_table_matches_separate_fits(structures, composition_only_target):
    y = np.column_stack([composition_only_target, np.arange(N, dtype=float)])
    estimator = make_pipeline(MagpieFeaturizer(), RandomForestRegressor(20, random_state=0))
    train, test = slice(0, 36), slice(36, N)
    table = negative_transfer(estimator, structures[train], y[train], structures[test], y[test],
                              target_names=["mass", "index"])
    assert list(table.index) == ["mass", "index"]
    single = make_pipeline(MagpieFeaturizer(), RandomForestRegressor(20, random_state=0))
    single.fit(structures[train], y[train, 0])
    expected = np.abs(single.predict(structures[test]) - y[test, 0]).mean()
    assert table.loc["mass", "single_task_mae"] == pytest.approx(expected)
    assert table.loc["mass", "negative_transfer"] == (table.loc["mass", "change"] > 0)
    with pytest.raises(ValueError, match="at least two target columns"):
        negative_transfer(estimator, structures[train], y[train, 0], structures[test], y[test, 0])


def test_negative_transfer_cv_summarises_the_splits(structures, composition_only_target):
    y = np.column_stack([composition_only_target, np.arange(N, dtype=float)])
    estimator = make_pipeline(MagpieFeaturizer(), RandomForestRegressor(20, random_state=0))
    cv = KFold(3, shuffle=True, random_state=0)
    summary, folds = negative_transfer_cv(estimator, structures, y, cv=cv, target_names=["mass", "index"],
                                          return_folds=True)
    assert list(summary.index) == ["mass", "index"]
    assert list(folds["split"].unique()) == [0, 1, 2] and len(folds) == 6
    # each split is exactly negative_transfer on that split
    train, test = next(cv.split(structures))
    first = negative_transfer(estimator, [structures[i] for i in train], y[train], [structures[i] for i in test],
                              y[test], target_names=["mass", "index"])
    split0 = folds[folds["split"] == 0].set_index("target")
    np.testing.assert_allclose(split0["multi_task_mae"], first["multi_task_mae"])
    np.testing.assert_allclose(split0["single_task_mae"], first["single_task_mae"])
    for name, rows in folds.groupby("target"):
        assert summary.loc[name, "single_task_mae"] == pytest.approx(rows["single_task_mae"].mean())
        assert summary.loc[name, "multi_task_mae_std"] == pytest.approx(rows["multi_task_mae"].std(ddof=1))
        worse = int((rows["multi_task_mae"] > rows["single_task_mae"]).sum())
        assert summary.loc[name, "splits_worse"] == worse and summary.loc[name, "n_splits"] == 3
        assert summary.loc[name, "negative_transfer"] == (summary.loc[name, "change"] > 0 and worse >= 2)
    with pytest.raises(ValueError, match="at least two target columns"):
        negative_transfer_cv(estimator, structures, y[:, 0], cv=cv)


def test_negative_transfer_cv_returns_finished_splits_when_interrupted(structures, composition_only_target):
    y = np.column_stack([composition_only_target, np.arange(N, dtype=float)])

    class InterruptedOnFourthFit(Ridge):
        fits = 0

        def fit(self, X, y):
            type(self).fits += 1
            if type(self).fits == 4:  # the first fit of the second split (3 fits per split)
                raise KeyboardInterrupt
            return super().fit(X, y)

    estimator = make_pipeline(MagpieFeaturizer(), InterruptedOnFourthFit())
    with pytest.warns(UserWarning, match="after 1 of 3 splits"):
        summary = negative_transfer_cv(estimator, structures, y, cv=3)
    assert (summary["n_splits"] == 1).all()
