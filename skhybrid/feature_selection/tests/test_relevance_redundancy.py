import numpy as np
import pytest
from sklearn.feature_selection import mutual_info_regression
from sklearn.linear_model import LinearRegression
from sklearn.model_selection import cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.utils.estimator_checks import (
    check_estimator_cloneable,
    check_get_params_invariance,
    check_no_attributes_set_in_init,
    check_set_params,
)

from skhybrid.feature_selection import RelevanceRedundancySelector
from skhybrid.feature_selection._relevance_redundancy import _c_default, _p_default


def _data(n=400, seed=0):
    rng = np.random.default_rng(seed)
    signal = rng.normal(size=(n, 2))
    X = np.column_stack([signal[:, 0], signal[:, 0] + 0.01 * rng.normal(size=n), signal[:, 1],
                         rng.normal(size=(n, 3))])
    y = signal[:, 0] + 0.6 * signal[:, 1]
    return X, y


@pytest.mark.parametrize("check", [check_no_attributes_set_in_init, check_estimator_cloneable,
                                   check_get_params_invariance, check_set_params])
def test_sklearn_data_free_checks(check):
    check("RelevanceRedundancySelector", RelevanceRedundancySelector())


@pytest.mark.parametrize("estimator", ["binned", "knn"])
def test_redundant_copy_is_passed_over_for_the_second_signal(estimator):
    X, y = _data()
    selector = RelevanceRedundancySelector(6, estimator=estimator, random_state=0).fit(X, y)
    ranking = selector.ranking_.tolist()
    assert ranking[0] in (0, 1)
    # the second signal comes before the near-copy of the first pick, though the copy is more relevant
    assert ranking.index(2) < ranking.index(1 - ranking[0])
    assert selector.relevance_[3:].max() < selector.relevance_[:3].min()   # noise is the least relevant
    two = RelevanceRedundancySelector(2, estimator=estimator, random_state=0).fit(X, y)
    assert two.transform(X).shape == (400, 2) and two.get_support().sum() == 2


def test_modnet_schedule_of_p_and_c():
    assert _p_default(1) == pytest.approx(4.1) and _p_default(10**6) == 0.1
    assert _c_default(1) == pytest.approx(1e-6) and _c_default(10**9) == 1e5


def test_binned_relevance_ranks_like_the_knn_estimator():
    X, y = _data(600, seed=3)
    binned = RelevanceRedundancySelector(1).fit(X, y).relevance_
    knn = mutual_info_regression(X, y, random_state=0)
    # the same three informative columns lead (columns 0 and 1 are near-copies: their order is a coin toss)
    assert set(np.argsort(binned)[-3:]) == set(np.argsort(knn)[-3:]) == {0, 1, 2}


def test_fraction_nan_and_constant_columns():
    X, y = _data()
    X = np.column_stack([X, np.ones(len(X))])
    X[::7, 2] = np.nan
    selector = RelevanceRedundancySelector(0.5).fit(X, y)
    assert selector.get_support().sum() == 4 and not selector.get_support()[-1]
    assert selector.relevance_[-1] == 0.0


def test_inside_a_pipeline_fitted_per_fold():
    X, y = _data()
    scores = cross_val_score(make_pipeline(RelevanceRedundancySelector(3), LinearRegression()), X, y, cv=3)
    assert scores.mean() > 0.95
