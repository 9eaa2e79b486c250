"""AuxiliaryTargetRegressor: the table lookup, a real multi-task network inside late fusion, errors.

It is not in tests/test_sklearn_checks.py's generic list: its ``fit`` needs a table of the training
samples' auxiliary targets, which the generic checks' random data cannot come with; the checks that need
no data run here.
"""

import io

import joblib
import numpy as np
import pytest
from sklearn.base import BaseEstimator, RegressorMixin, clone
from sklearn.neighbors import KNeighborsRegressor
from sklearn.pipeline import make_pipeline
from sklearn.utils.estimator_checks import (
    check_estimator_cloneable,
    check_estimators_unfitted,
    check_get_params_invariance,
    check_no_attributes_set_in_init,
    check_set_params,
)

from skhybrid import StructureFeaturizer, StructureGraphizer
from skhybrid.fusion import DisjointHoldouts, LateFusionRegressor
from skhybrid.models import AuxiliaryTargetRegressor, MEGNetRegressor, SeedEnsembleRegressor
from skhybrid.utils._testing import synthetic_crystals

FAST_GNN = dict(max_epochs=3, batch_size=16, validation_fraction=0, module__hidden_channels=8)


@pytest.fixture(scope="module")
def crystals():
    structures, y = synthetic_crystals(30, seed=1)
    volume = np.array([s.volume / len(s) for s in structures])
    return structures, y, np.c_[volume, y - volume]


class RecordsTargets(RegressorMixin, BaseEstimator):
    """Predicts the training mean; keeps the y it was fitted on (to see what the wrapper passed)."""

    def fit(self, X, y):
        self.y_ = np.asarray(y, dtype=float)
        return self

    def predict(self, X):
        return np.tile(np.nanmean(self.y_, axis=0), (len(X), 1))


@pytest.mark.parametrize("check", [check_no_attributes_set_in_init, check_estimator_cloneable,
                                   check_get_params_invariance, check_set_params, check_estimators_unfitted])
def test_sklearn_data_free_checks(check):
    estimator = AuxiliaryTargetRegressor(KNeighborsRegressor())
    check(type(estimator).__name__, estimator)


def test_each_training_sample_gets_its_own_auxiliary_row_whatever_the_order_and_subset(crystals):
    structures, y, auxiliary = crystals
    order = np.random.default_rng(0).permutation(len(structures))[:20]
    model = AuxiliaryTargetRegressor(RecordsTargets(), auxiliary_X=structures, auxiliary_y=auxiliary)
    model.fit([structures[i] for i in order], y[order])
    np.testing.assert_array_equal(model.estimator_.y_, np.c_[y[order], auxiliary[order]])
    assert (model.n_targets_, model.n_auxiliary_, model.auxiliary_found_) == (1, 2, 1.0)
    # a copy of a structure is found by its content, not by identity
    copies = [structures[i].copy() for i in order]
    np.testing.assert_array_equal(clone(model).fit(copies, y[order]).estimator_.y_, model.estimator_.y_)


def test_predict_returns_the_target_columns_and_predict_auxiliary_the_rest(crystals):
    structures, y, auxiliary = crystals
    model = AuxiliaryTargetRegressor(make_pipeline(StructureFeaturizer(), KNeighborsRegressor(n_neighbors=1)),
                                     auxiliary_X=structures, auxiliary_y=auxiliary)
    model.fit(structures, y)
    np.testing.assert_allclose(model.predict(structures), y)
    np.testing.assert_allclose(model.predict_auxiliary(structures), auxiliary)
    two_targets = clone(model).fit(structures, np.c_[y, -y])
    assert two_targets.predict(structures).shape == (len(y), 2)
    # a joblib round trip predicts the same
    buffer = io.BytesIO()
    joblib.dump(model, buffer)
    np.testing.assert_array_equal(joblib.load(io.BytesIO(buffer.getvalue())).predict(structures),
                                  model.predict(structures))
    # predict never reads the table: emptying it after fit changes nothing
    model.set_params(auxiliary_X=None, auxiliary_y=None)
    np.testing.assert_allclose(model.predict(structures), y)


def test_samples_missing_from_the_table_train_on_the_target_alone_with_a_warning(crystals):
    structures, y, auxiliary = crystals
    model = AuxiliaryTargetRegressor(RecordsTargets(), auxiliary_X=structures[5:], auxiliary_y=auxiliary[5:])
    with pytest.warns(UserWarning, match=r"5 of 30 training samples are not in auxiliary_X \(X\[0, 1, 2, 3, 4\]\)"):
        model.fit(structures, y)
    assert np.isnan(model.estimator_.y_[:5, 1:]).all() and not np.isnan(model.estimator_.y_[5:]).any()
    np.testing.assert_array_equal(model.missing_auxiliary_, [0, 1, 2, 3, 4])


def test_a_multi_task_network_as_the_graph_member_of_late_fusion(crystals):
    """The hybrid's set-up: the fusion clones the wrapper for each held-out split and the refit; every
    fit finds its own training samples' auxiliary values in the table; the blend predicts one target."""
    structures, y, auxiliary = crystals
    graph = AuxiliaryTargetRegressor(make_pipeline(StructureGraphizer(),
                                                   MEGNetRegressor(**FAST_GNN, random_state=0)),
                                     auxiliary_X=structures, auxiliary_y=auxiliary[:, :1])
    fusion = LateFusionRegressor([("descriptors", make_pipeline(StructureFeaturizer(), KNeighborsRegressor())),
                                  ("graph", graph)], weights="oof", cv=DisjointHoldouts(2, 0.2, random_state=0),
                                 refit=["descriptors"], random_state=0)
    fusion.fit(structures, y)
    assert fusion.predict(structures).shape == (len(y),)
    for member in fusion.named_estimators_["graph"].estimators_:  # the committee of the two held-out fits
        assert member.auxiliary_found_ == 1.0 and member.estimator_[-1].n_targets_ == 2
    # inside a seed ensemble, each member is such a multi-task fit as well
    ensemble = SeedEnsembleRegressor(graph, 2, random_state=0).fit(structures, y)
    assert all(member.estimator_[-1].n_targets_ == 2 for member in ensemble.estimators_)


def test_a_duplicate_structure_with_different_values_gets_their_mean(crystals):
    structures, y, auxiliary = crystals
    table = structures[:7] + [structures[3]] + structures[8:]  # structure 3 twice, the second with other values
    values = auxiliary.copy()
    values[7] = auxiliary[3] + 1
    model = AuxiliaryTargetRegressor(RecordsTargets(), auxiliary_X=table, auxiliary_y=values)
    with pytest.warns(UserWarning, match=r"1 structure\(s\) appear more than once .*auxiliary_X\[3, 7\]"):
        model.fit(structures[:7], y[:7])
    np.testing.assert_allclose(model.estimator_.y_[3, 1:], auxiliary[3] + 0.5)
    np.testing.assert_array_equal(model.estimator_.y_[:3, 1:], auxiliary[:3])


def test_bad_tables_raise_what_to_do(crystals):
    structures, y, auxiliary = crystals
    with pytest.raises(ValueError, match="needs its auxiliary targets: set auxiliary_X"):
        AuxiliaryTargetRegressor(RecordsTargets()).fit(structures, y)
    with pytest.raises(ValueError, match="auxiliary_y has 29 rows for 30 samples"):
        AuxiliaryTargetRegressor(RecordsTargets(), auxiliary_X=structures, auxiliary_y=auxiliary[1:]).fit(
            structures, y)
    with pytest.raises(ValueError, match="none of the 10 training samples is in auxiliary_X"):
        AuxiliaryTargetRegressor(RecordsTargets(), auxiliary_X=structures[:10], auxiliary_y=auxiliary[:10]).fit(
            structures[10:20], y[10:20])
