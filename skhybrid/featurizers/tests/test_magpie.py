import pickle

import joblib
import numpy as np
import pandas as pd
import pytest
from pymatgen.core import Composition, DummySpecies, Lattice, Species, Structure
from sklearn.base import clone
from sklearn.ensemble import RandomForestRegressor
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import Pipeline
from sklearn.utils.estimator_checks import (
    check_estimator_cloneable,
    check_get_params_invariance,
    check_no_attributes_set_in_init,
    check_set_params,
)

from skhybrid import MagpieFeaturizer
from skhybrid.featurizers._charge_balance import charge_balance_possible
from skhybrid.featurizers._composition_parsing import parse_formula


def _nacl():
    return Structure.from_spacegroup("Fm-3m", Lattice.cubic(5.64), ["Na", "Cl"], [[0, 0, 0], [0.5, 0.5, 0.5]])


@pytest.mark.parametrize(
    "check",
    [check_no_attributes_set_in_init, check_estimator_cloneable, check_get_params_invariance, check_set_params],
)
def test_sklearn_data_free_checks(check):
    check("MagpieFeaturizer", MagpieFeaturizer())


def test_shape_names_and_presets():
    X = MagpieFeaturizer().fit_transform(["Fe2O3", "NaCl", "Si"])
    assert X.shape == (3, 145) and X.dtype == np.float64
    names = MagpieFeaturizer().fit(["Si"]).get_feature_names_out()
    assert len(names) == 145 and names[0] == "0-norm" and names[6] == "MagpieData minimum Number"
    assert names[-1] == "avg ionic char"
    X132 = MagpieFeaturizer(preset="magpie132").fit_transform(["Fe2O3"])
    np.testing.assert_array_equal(X132[0], X[0, 6:138])


def test_hand_checked_values():
    X = pd.DataFrame(MagpieFeaturizer().fit_transform(["Fe2O3"]), columns=MagpieFeaturizer().get_feature_names_out())
    row = X.iloc[0]
    assert row["0-norm"] == 2
    assert row["2-norm"] == pytest.approx(np.sqrt(0.4**2 + 0.6**2))
    assert row["MagpieData minimum Number"] == 8 and row["MagpieData maximum Number"] == 26
    assert row["MagpieData mean Number"] == pytest.approx(0.4 * 26 + 0.6 * 8)
    assert row["MagpieData avg_dev Number"] == pytest.approx(0.4 * abs(26 - 15.2) + 0.6 * abs(8 - 15.2))
    assert row["MagpieData mode Number"] == 8  # O is the majority element
    assert row["compound possible"] == 1.0  # Fe3+ and O2-
    # single element: compound possible, no ionic character
    si = MagpieFeaturizer().fit_transform(["Si"])[0]
    assert si[-3:].tolist() == [1.0, 0.0, 0.0]


def test_mixed_inputs_and_partial_occupancy():
    s = _nacl()
    X = MagpieFeaturizer().fit_transform([s, s.composition, "NaCl", Composition("Na4Cl4")])
    np.testing.assert_allclose(X[0], X[1])
    np.testing.assert_allclose(X[0, 1:], X[2, 1:])  # same fractions
    np.testing.assert_allclose(X[2], X[3])
    disordered = Structure(Lattice.cubic(4), [{"Fe": 0.5, "Co": 0.5}, "O"], [[0, 0, 0], [0.5, 0.5, 0.5]])
    row = MagpieFeaturizer().fit_transform([disordered])[0]
    ref = MagpieFeaturizer().fit_transform(["Fe0.5Co0.5O"])[0]
    np.testing.assert_allclose(row[:-3], ref[:-3])
    assert np.isnan(row[-3])  # fractional amounts: no charge-balance answer (matminer raises)
    assert np.isfinite(row[-2:]).all()


def test_series_and_array_inputs():
    formulas = ["NaCl", "MgO", "Al2O3"]
    expected = MagpieFeaturizer().fit_transform(formulas)
    np.testing.assert_array_equal(MagpieFeaturizer().fit_transform(pd.Series(formulas)), expected)
    np.testing.assert_array_equal(MagpieFeaturizer().fit_transform(np.array(formulas, dtype=object)), expected)


def test_oxidation_state_decorated_composition():
    balanced = Composition({Species("Fe", 3): 2, Species("O", -2): 3})
    unbalanced = Composition({Species("Fe", 2): 2, Species("O", -2): 3})
    X = MagpieFeaturizer().fit_transform([balanced, unbalanced])
    assert X[0, -3] == 1.0 and X[1, -3] == 0.0


def test_charge_balance_is_fast_on_large_formula_units():
    import time

    start = time.perf_counter()
    for formula in ["Cd15I30", "Rb8Mo42Se48", "Fe300O400", "Cs7Bi9Cl36Br2"]:
        charge_balance_possible(parse_formula(formula).elements)
    assert time.perf_counter() - start < 1.0
    assert charge_balance_possible(parse_formula("Cd15I30").elements) is True
    assert charge_balance_possible(parse_formula("Fe3O4").elements) is True  # mixed valence
    assert charge_balance_possible(parse_formula("NaCl2").elements) is False


@pytest.mark.parametrize(
    "bad, reason",
    [
        ("Xx2O", "unknown element 'Xx'"),
        ("Fe2O3)(", "unparsable formula"),
        ("", "empty formula"),
        (None, "got NoneType"),
        (3.5, "got float"),
        (Composition(), "empty composition"),
        (Composition({DummySpecies("X"): 1, "O": 1}), "dummy species"),
    ],
)
def test_bad_input_names_index_and_value(bad, reason):
    X = ["NaCl", "MgO", bad]
    with pytest.raises(ValueError, match=rf"X\[2\].*{reason}"):
        MagpieFeaturizer().fit_transform(X)


def test_on_error_nan_warns_once_with_indices():
    with pytest.warns(UserWarning, match=r"2 sample\(s\).*indices \[1, 3\]") as record:
        X = MagpieFeaturizer(on_error="nan").fit_transform(["NaCl", "Qq", "MgO", None])
    assert len(record) == 1
    assert np.isnan(X[[1, 3]]).all() and np.isfinite(X[[0, 2]]).all()


def test_bad_parameters_raise_in_fit():
    with pytest.raises(ValueError, match="preset"):
        MagpieFeaturizer(preset="magpie").fit(["NaCl"])
    with pytest.raises(ValueError, match="on_error"):
        MagpieFeaturizer(on_error="ignore").fit(["NaCl"])


def test_single_structure_is_rejected_with_hint():
    with pytest.raises(ValueError, match="wrap it in a list"):
        MagpieFeaturizer().fit_transform(_nacl())


def test_set_output_pandas():
    featurizer = MagpieFeaturizer().set_output(transform="pandas")
    frame = featurizer.fit_transform(pd.Series(["NaCl", "MgO"], index=["a", "b"]))
    assert isinstance(frame, pd.DataFrame)
    assert list(frame.columns) == list(MagpieFeaturizer().get_feature_names_out())
    assert list(frame.index) == ["a", "b"]


def test_clone_pickle_joblib(tmp_path):
    featurizer = MagpieFeaturizer(preset="magpie132", on_error="nan", n_jobs=2)
    cloned = clone(featurizer)
    assert cloned.get_params() == featurizer.get_params()
    X = ["NaCl", "MgO"]
    restored = pickle.loads(pickle.dumps(featurizer.fit(X)))
    np.testing.assert_array_equal(restored.transform(X), featurizer.transform(X))
    joblib.dump(featurizer, tmp_path / "f.joblib")
    np.testing.assert_array_equal(joblib.load(tmp_path / "f.joblib").transform(X), featurizer.transform(X))


def test_n_jobs_gives_same_features_and_indices():
    formulas = ["NaCl", "MgO", "Al2O3", "SiO2", "Fe3O4", "Qq", "GaAs", "CdI2"]
    serial = MagpieFeaturizer(on_error="nan")
    parallel = MagpieFeaturizer(on_error="nan", n_jobs=2)
    with pytest.warns(UserWarning, match=r"indices \[5\]"):
        a = serial.fit_transform(formulas)
    with pytest.warns(UserWarning, match=r"indices \[5\]"):
        b = parallel.fit_transform(formulas)
    np.testing.assert_array_equal(a, b)


def test_pipeline_and_grid_search(phonons):
    X = phonons.structures[:120]
    y = phonons.targets.iloc[:120, 0].to_numpy()
    pipe = Pipeline([("magpie", MagpieFeaturizer()), ("rf", RandomForestRegressor(n_estimators=10, random_state=0))])
    search = GridSearchCV(pipe, {"magpie__preset": ["magpie132", "magpie145"]}, cv=3)
    search.fit(X, y)
    assert search.best_params_["magpie__preset"] in {"magpie132", "magpie145"}
    assert search.predict(X[:5]).shape == (5,)


def test_citations():
    bib = MagpieFeaturizer().citations()
    assert any("Ward" in entry and "2016" in entry for entry in bib)
