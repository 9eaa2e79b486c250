"""Table-driven bad input over the public transformers and estimators: every case is a clear ValueError
that names the sample (or says what to change), never a silent result or a raw numpy/torch error."""

import numpy as np
import pytest
from pymatgen.core import Lattice, Structure
from sklearn.ensemble import RandomForestRegressor
from sklearn.linear_model import LinearRegression
from sklearn.pipeline import make_pipeline

from skhybrid import CHGNetFeaturizer, MagpieFeaturizer, StructureFeaturizer, StructureGraphizer
from skhybrid.feature_selection import RelevanceRedundancySelector
from skhybrid.fusion import LateFusionRegressor
from skhybrid.models import AutoTargetTransformRegressor, CGCNNRegressor, SeedEnsembleRegressor
from skhybrid.utils._testing import perovskite, rocksalt

GOOD = [rocksalt("Na", "Cl", 5.6), perovskite(), rocksalt("Mg", "O", 4.2), rocksalt("K", "Br", 6.6)]
Y = np.array([1.0, 2.0, 3.0, 4.0])
COINCIDENT = Structure(Lattice.cubic(4.0), ["Na", "Na", "Cl"], [[0, 0, 0], [0, 0, 0], [0.5, 0.5, 0.5]])
NEAR = Structure(Lattice.cubic(4.0), ["Na", "Na", "Cl"], [[0, 0, 0], [0, 0, 0.01], [0.5, 0.5, 0.5]])
OGANESSON = Structure(Lattice.cubic(4.0), ["Og", "Cl"], [[0, 0, 0], [0.5, 0.5, 0.5]])
DISORDERED = rocksalt().copy()
DISORDERED.replace_species({"Na": {"Na": 0.5, "K": 0.5}})
FAST_GNN = dict(max_epochs=2, batch_size=4, validation_fraction=0, module__hidden_channels=8,
                module__head_channels=(8,), random_state=0)


def _transform(transformer):
    return lambda X: transformer.fit_transform(X)


CASES = [
    # (what, call, input, message)
    ("Magpie: a string among structures", _transform(MagpieFeaturizer()), GOOD[:1] + [3.5], r"X\[1\] = 3\.5"),
    ("Magpie: an element beyond the tables", _transform(MagpieFeaturizer()), GOOD[:1] + [OGANESSON],
     r"X\[1\].*Og.*no Magpie data"),
    ("Magpie: a single structure, not a list", _transform(MagpieFeaturizer()), GOOD[0],
     r"single Structure; wrap it in a list"),
    ("structure features: not a structure", _transform(StructureFeaturizer()), GOOD[:1] + ["NaCl"],
     r"X\[1\] is not a pymatgen Structure"),
    ("structure features: coincident atoms", _transform(StructureFeaturizer()), GOOD[:1] + [COINCIDENT],
     r"X\[1\] cannot be featurized: sites 0 and 1 are 0 A apart"),
    ("structure features: element beyond the tables", _transform(StructureFeaturizer()), [OGANESSON],
     r"X\[0\].*Og have no covalent radius"),
    ("pretrained: disordered site", _transform(CHGNetFeaturizer()), GOOD[:1] + [DISORDERED],
     r"X\[1\] cannot be featurized by CHGNet: it has partially occupied sites.*order it first"),
    ("pretrained: element beyond CHGNet's training", _transform(CHGNetFeaturizer()), [OGANESSON],
     r"X\[0\] cannot be featurized by CHGNet: CHGNet was trained up to Pu .* Og"),
    ("graphs: coincident atoms", _transform(StructureGraphizer(cache=False)), GOOD[:1] + [COINCIDENT],
     r"X\[1\] has two atoms at the same position"),
    ("graphs: near-coincident atoms", _transform(StructureGraphizer(cache=False)), GOOD[:1] + [NEAR],
     r"X\[1\] has atoms 0 and 1 only 0\.04 A apart"),
    ("graphs: disordered site", _transform(StructureGraphizer(cache=False)), GOOD[:1] + [DISORDERED],
     r"X\[1\] is disordered .* occupancy='weighted'"),
    ("graphs: element beyond CGCNN's encoding", _transform(StructureGraphizer(cache=False)), [OGANESSON],
     r"X\[0\] contains element Z=118"),
    ("GNN: structures without a graphizer", lambda X: CGCNNRegressor(**FAST_GNN).fit(X, Y[:len(X)]), GOOD,
     r"X\[0\] is a Structure, not a crystal graph. Put a StructureGraphizer in front"),
    ("GNN: infinite target", lambda X: make_pipeline(StructureGraphizer(), CGCNNRegressor(**FAST_GNN)).fit(
        X, [1.0, np.inf, 2.0, 3.0]), GOOD, r"y has infinite values in rows \[1\]"),
    ("GNN: graphs of other settings at predict time",
     lambda X: CGCNNRegressor(**FAST_GNN).fit(StructureGraphizer().fit_transform(X), Y).predict(
         StructureGraphizer(n_gaussians=20).fit_transform(X)), GOOD, r"use the graphizer settings of fit"),
    ("late fusion: weights of the wrong length",
     lambda X: LateFusionRegressor([("a", LinearRegression())], weights=[0.5, 0.5]).fit(X, Y), np.eye(4),
     r"weights has 2 entries but there are 1 estimators"),
    ("late fusion: a single structure", lambda X: LateFusionRegressor([("a", LinearRegression())]).fit(X, Y),
     GOOD[0], r"X is a single Structure"),
    ("seed ensemble: mismatched y", lambda X: SeedEnsembleRegressor(LinearRegression(), 2).fit(X, Y[:3]),
     np.eye(4), r"SeedEnsembleRegressor: member 0 failed"),
    ("target transform: log of negative targets",
     lambda X: AutoTargetTransformRegressor(LinearRegression(), transforms=["log"]).fit(X, -Y), np.eye(4),
     r"None of the transforms \['log'\] applies"),
    ("selector: NaN target", lambda X: RelevanceRedundancySelector(2).fit(X, [1.0, np.nan, 2.0, 3.0]), np.eye(4),
     r"Input y contains NaN"),
    ("forest pipeline inside late fusion: NaN target names the base",
     lambda X: LateFusionRegressor([("rf", make_pipeline(MagpieFeaturizer(), RandomForestRegressor(5)))]).fit(
         X, [1.0, np.nan, 2.0, 3.0]), GOOD, r"base estimator 'rf' failed when fit on all the training data"),
]


@pytest.mark.parametrize("what, call, data, message", CASES, ids=[case[0] for case in CASES])
def test_bad_input_raises_a_clear_error(what, call, data, message):
    with pytest.raises(ValueError, match=message):
        call(data)


@pytest.mark.parametrize("transformer, width", [(MagpieFeaturizer(), 145), (StructureFeaturizer(), 39)])
def test_empty_input_gives_an_empty_matrix(transformer, width):
    assert transformer.fit_transform([]).shape == (0, width)


def test_disordered_structure_is_allowed_where_documented():
    assert np.isfinite(MagpieFeaturizer().fit_transform([DISORDERED])).all()
    assert np.isfinite(StructureFeaturizer().fit_transform([DISORDERED])).all()
    graph = StructureGraphizer(occupancy="weighted", cache=False).fit_transform([DISORDERED])[0]
    assert graph.x.shape[0] == len(DISORDERED)
