"""CHGNetFeaturizer against the pretrained CHGNet called directly, its invariances, errors and store."""

import warnings

import numpy as np
import pytest
from pymatgen.core import Lattice, Structure
from pymatgen.transformations.standard_transformations import RotationTransformation

from skhybrid.utils._testing import perovskite, rocksalt

pytest.importorskip("chgnet")

from skhybrid.featurizers import CHGNetFeaturizer, use_stores  # noqa: E402
from skhybrid.featurizers import _pretrained  # noqa: E402

# a slightly distorted cell, so forces and stresses are not zero by symmetry
DISTORTED = rocksalt("Mg", "O", 4.3)
DISTORTED.perturb(0.05, min_distance=0.02)
STRUCTURES = [rocksalt("Na", "Cl", 5.6), perovskite(), DISTORTED]
ISOLATED = Structure(Lattice.cubic(20.0), ["Na", "Cl"], [[0, 0, 0], [0.5, 0.5, 0.5]])
DISORDERED = rocksalt().copy()
DISORDERED.replace_species({"Na": {"Na": 0.5, "K": 0.5}})


@pytest.fixture(scope="module")
def features():
    return CHGNetFeaturizer().fit_transform(STRUCTURES)


@pytest.fixture(scope="module")
def direct():
    model = _pretrained._load_model("0.3.0", "cpu")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return model.predict_structure(STRUCTURES, task="efsm", return_crystal_feas=True)


def test_names_and_width():
    featurizer = CHGNetFeaturizer().fit(STRUCTURES)
    names = list(featurizer.get_feature_names_out())
    assert featurizer.n_features_out_ == len(names) == 71
    assert names[:3] == ["chgnet_energy_per_atom", "chgnet_force_mean", "chgnet_force_max"]
    assert names[-1] == "chgnet_latent_63"
    frame = CHGNetFeaturizer().set_output(transform="pandas").fit_transform(STRUCTURES[:1])
    assert list(frame.columns) == names


def test_columns_equal_the_direct_prediction(features, direct):
    for row, prediction in zip(features, direct):
        forces = np.linalg.norm(prediction["f"], axis=1)
        # the stress invariants from the principal stresses, not from the formula the featurizer uses
        principal = np.linalg.eigvalsh(np.asarray(prediction["s"], dtype=np.float64))
        von_mises = np.sqrt(((principal[0] - principal[1]) ** 2 + (principal[1] - principal[2]) ** 2
                             + (principal[2] - principal[0]) ** 2) / 2)
        expected = [prediction["e"], forces.mean(), forces.max(), principal.mean(), von_mises,
                    np.abs(prediction["m"]).mean(), np.abs(prediction["m"]).max()]
        np.testing.assert_allclose(row[:7], expected, rtol=1e-5, atol=1e-5)
        # float32 sums: the last digits move with the number of torch threads other tests left set
        np.testing.assert_allclose(row[7:], prediction["crystal_fea"], rtol=1e-5, atol=1e-5)
    assert np.ptp(features[:, 0]) > 0.1  # different crystals, different energies
    assert features[2, 2] > 1e-3  # the perturbed cell feels forces


def test_rotation_leaves_the_invariants_unchanged(features):
    rotated = RotationTransformation([1, 2, 3], 37).apply_transformation(STRUCTURES[2])
    again = CHGNetFeaturizer().fit_transform([rotated])[0]
    before = features[2, :7]
    scalars = [0, 1, 2, 5, 6]  # energy, force norms, magnetic moments
    np.testing.assert_allclose(again[scalars], before[scalars], rtol=1e-3, atol=1e-4)
    # The stress comes from float32 derivatives, so each component carries an error of ~1e-4 of the
    # stress's size (3.7 GPa here) that moves with the rotation and the CPU's vector width; the von
    # Mises stress (0.04 GPa) is a small difference of those components and inherits that error whole
    # (0.4% of it was seen on one CI machine). Its tolerance is therefore set on the stress's scale.
    scale = np.abs(before[3]) + before[4]
    np.testing.assert_allclose(again[[3, 4]], before[[3, 4]], rtol=0, atol=1e-3 * scale)


def test_batches_and_repeats_give_the_same_rows(features):
    np.testing.assert_allclose(CHGNetFeaturizer(batch_size=1).fit_transform(STRUCTURES), features,
                               rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(CHGNetFeaturizer().fit_transform(STRUCTURES), features)


@pytest.mark.parametrize("bad, message", [
    (DISORDERED, r"X\[1\] cannot be featurized by CHGNet: it has partially occupied sites"),
    (ISOLATED, r"X\[1\] cannot be featurized by CHGNet: CHGNet refused it .*isolated atom"),
])
def test_a_bad_structure_is_named(bad, message):
    with pytest.raises(ValueError, match=message):
        CHGNetFeaturizer().fit_transform([STRUCTURES[0], bad, STRUCTURES[1]])


def test_on_error_nan_keeps_the_others_and_warns(features):
    with pytest.warns(UserWarning, match=r"1 structure\(s\) could not be featurized.*indices \[1\]"):
        X = CHGNetFeaturizer(on_error="nan").fit_transform([STRUCTURES[0], ISOLATED, STRUCTURES[2]])
    assert np.isnan(X[1]).all()
    np.testing.assert_allclose(X[[0, 2]], features[[0, 2]], rtol=1e-5, atol=1e-6)


def test_the_store_computes_each_structure_once(tmp_path, monkeypatch, features):
    featurizer = use_stores(CHGNetFeaturizer(), tmp_path)
    assert featurizer.store.rsplit("/", 1)[-1].startswith("chgnet-")
    first = featurizer.fit_transform(STRUCTURES)
    np.testing.assert_allclose(first, features, rtol=1e-5, atol=1e-6)

    def refuse(*args, **kwargs):
        raise AssertionError("computed again")

    monkeypatch.setattr(_pretrained, "_predict", refuse)
    np.testing.assert_array_equal(featurizer.transform(STRUCTURES[::-1]), first[::-1])


def test_the_catalogue_entry_puts_it_beside_the_descriptors():
    from skhybrid.catalogue import build

    model = build("gbm-pretrained", device="cpu", quick=True)
    names = [name for name, _ in model.named_steps["features"].transformer_list]
    assert names == ["magpie", "structure", "chgnet"]
    assert model.get_params()["features__chgnet__parts"] == ("restack",)
    hybrid = build("hybrid-pretrained", device="cpu", quick=True)
    assert hybrid.get_params()["descriptors__features__chgnet__device"] == "cpu"


def _slab():
    """A MoS2-like monolayer: three atomic planes, 18 A of vacuum along an oblique c axis."""
    lattice = Lattice([[3.16, 0, 0], [-1.58, 2.737, 0], [0.4, 0.3, 21.2]])
    frac_z = np.array([0.5, 0.5 - 1.56 / 21.2, 0.5 + 1.56 / 21.2]) + 0.45  # wrapped across the cell's edge
    return Structure(lattice, ["Mo", "S", "S"], [[0, 0, frac_z[0]], [1 / 3, 2 / 3, frac_z[1]],
                                                 [1 / 3, 2 / 3, frac_z[2]]])


def test_restacking_closes_the_vacuum_to_the_gap_asked():
    from skhybrid.featurizers._structure import vacuum_gaps

    slab = _slab()
    assert vacuum_gaps(slab)[0][2] > 17
    for gap in (2.0, 3.0, 5.0):  # wider than the layer's own 1.56 A plane spacing, so the widest empty slab
        cell = _pretrained.restacked(slab, gap)
        np.testing.assert_allclose(vacuum_gaps(cell)[0][2], gap, atol=1e-6)
        # the layer itself is untouched: the same interatomic distances within the slab
        inside = [cell.get_distance(0, 1, jimage=(0, 0, 0)), cell.get_distance(1, 2, jimage=(0, 0, 0))]
        np.testing.assert_allclose(inside, [slab.get_distance(0, 1), slab.get_distance(1, 2)], rtol=1e-9)
    assert _pretrained.restacked(rocksalt("Na", "Cl", 5.6), 3.0) is None


def test_restacking_columns():
    X = CHGNetFeaturizer(parts=("restack",)).set_output(transform="pandas").fit_transform(
        [_slab(), rocksalt("Na", "Cl", 5.6)])
    assert list(X.columns) == ["chgnet_restack_energy", "chgnet_restack_gap"]
    assert X.iloc[0, 1] in _pretrained.RESTACK_GAPS
    assert X.iloc[0, 0] >= -0.01  # the slab itself is among the candidates, at 5 A (beyond most bonds)
    assert (X.iloc[1] == 0).all()  # bulk: no vacuum, nothing to restack
    with pytest.raises(ValueError, match=r"give one or more of 'predictions', 'latent', 'restack'"):
        CHGNetFeaturizer(parts=("latent", "latent")).fit(STRUCTURES)


def test_restacking_alone_evaluates_slabs_only(monkeypatch):
    slab, bulk = _slab(), rocksalt("Na", "Cl", 5.6)
    with_the_others = CHGNetFeaturizer(parts=("predictions", "restack")).fit_transform([bulk, slab, bulk])
    evaluated = []
    predict = _pretrained._predict
    monkeypatch.setattr(_pretrained, "_predict", lambda model, cells, **kw: evaluated.extend(cells) or
                        predict(model, cells, **kw))
    X = CHGNetFeaturizer(parts=("restack",)).fit_transform([bulk, slab, bulk])
    assert evaluated == [slab]  # the bulk cells' columns are 0 by definition: their energy is not needed
    np.testing.assert_array_equal(X, with_the_others[:, -2:])
    monkeypatch.setattr(_pretrained, "_load_model", lambda *args: pytest.fail("no slab: no model needed"))
    np.testing.assert_array_equal(CHGNetFeaturizer(parts=("restack",)).fit_transform([bulk]), [[0.0, 0.0]])


def test_clone_pipeline_and_joblib_round_trip(tmp_path, features):
    import joblib
    from sklearn.base import clone
    from sklearn.linear_model import Ridge
    from sklearn.pipeline import make_pipeline

    featurizer = CHGNetFeaturizer(batch_size=4, parts=("latent", "predictions"))
    assert clone(featurizer).get_params() == featurizer.get_params()
    joblib.dump(featurizer.fit(STRUCTURES), tmp_path / "f.joblib")
    np.testing.assert_allclose(joblib.load(tmp_path / "f.joblib").transform(STRUCTURES), features,
                               rtol=1e-5, atol=1e-5)  # the groups come out in their fixed order
    model = make_pipeline(CHGNetFeaturizer(), Ridge()).fit(STRUCTURES, [1.0, 2.0, 3.0])
    assert model.predict(STRUCTURES).shape == (3,)


def test_a_cuda_device_without_cuda_is_refused():
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    with pytest.raises(ValueError, match="CUDA is not available here"):
        CHGNetFeaturizer(device="cuda").fit_transform(STRUCTURES[:1])
