"""The on-disk descriptor table: the same rows as computing them, each structure computed once, refusals."""

import json
import pickle

import numpy as np
import pytest
from joblib import Parallel, delayed
from pymatgen.core import Lattice, Structure
from sklearn.base import clone

from skhybrid.featurizers import StructureFeaturizer
from skhybrid.featurizers import _structure
from skhybrid.featurizers._descriptor_store import DescriptorStore
from skhybrid.utils._testing import rocksalt, synthetic_crystals


@pytest.fixture(scope="module")
def crystals():
    return synthetic_crystals(24, seed=3)[0]


@pytest.fixture
def computed(monkeypatch):
    """The number of structures actually featurized (not read from a table)."""
    count = {"n": 0}
    original = _structure._featurize_many

    def counting(structures, *args, **kwargs):
        count["n"] += len(structures)
        return original(structures, *args, **kwargs)

    monkeypatch.setattr(_structure, "_featurize_many", counting)
    return count


def _store(path, level="basic"):
    featurizer = StructureFeaturizer(level=level)
    return DescriptorStore(path, featurizer="StructureFeaturizer", settings=featurizer._settings(),
                           names=featurizer._names(), definitions=_structure.DESCRIPTOR_DEFINITIONS)


@pytest.mark.parametrize("level", ["basic", "local"])
def test_stored_rows_equal_computed_ones_and_each_structure_is_computed_once(tmp_path, crystals, computed, level):
    reference = StructureFeaturizer(level=level).fit_transform(crystals)
    computed["n"] = 0
    featurizer = StructureFeaturizer(level=level, store=tmp_path / "d")
    np.testing.assert_array_equal(featurizer.fit_transform(crystals[:10]), reference[:10])
    assert computed["n"] == 10
    # another fold: only the structures the table lacks are computed; order and repeats are the caller's
    order = [23, 5, 12, 5, 0, 17]
    np.testing.assert_array_equal(clone(featurizer).fit_transform([crystals[i] for i in order]), reference[order])
    assert computed["n"] == 10 + 3
    np.testing.assert_array_equal(featurizer.transform(crystals), reference)
    assert computed["n"] == 24 and len(_store(tmp_path / "d", level)) == 24
    # a pickled featurizer (a worker process) reads the same table
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(featurizer)).transform(crystals[::-1]), reference[::-1])
    assert computed["n"] == 24


def _featurize_into(path, structures):
    return StructureFeaturizer(store=path).fit_transform(structures)


def test_parallel_writers_share_one_table(tmp_path, crystals):
    halves = [crystals[:16], crystals[8:]]  # overlapping: both may compute structures 8-15
    results = Parallel(n_jobs=2)(delayed(_featurize_into)(tmp_path / "d", part) for part in halves)
    reference = StructureFeaturizer().fit_transform(crystals)
    np.testing.assert_array_equal(results[0], reference[:16])
    np.testing.assert_array_equal(results[1], reference[8:])
    store = _store(tmp_path / "d")
    assert len(store) == 24
    manifest = json.loads((tmp_path / "d" / "manifest.json").read_text())
    assert sum(part["rows"] for part in manifest["parts"]) == 24  # no structure stored twice


def test_failed_structures_are_not_stored_and_every_copy_is_named(tmp_path, computed):
    coincident = Structure(Lattice.cubic(4.0), ["Na", "Na"], [[0, 0, 0], [0, 0, 0.01]])
    featurizer = StructureFeaturizer(store=tmp_path / "d", on_error="nan")
    with pytest.warns(UserWarning, match=r"2 structure\(s\) could not be featurized.*indices \[1, 3\]"):
        X = featurizer.fit_transform([rocksalt(), coincident, rocksalt("K"), coincident])
    assert np.isnan(X[[1, 3]]).all() and not np.isnan(X[[0, 2]]).any()
    assert len(_store(tmp_path / "d")) == 2
    with pytest.raises(ValueError, match=r"X\[0\] cannot be featurized"):
        StructureFeaturizer(store=tmp_path / "d").fit_transform([coincident, rocksalt()])


def test_a_table_of_other_settings_or_definitions_is_refused(tmp_path, crystals, monkeypatch):
    StructureFeaturizer(store=tmp_path / "d").fit_transform(crystals[:3])
    with pytest.raises(ValueError, match="holds descriptors of other settings.*a store of its own"):
        StructureFeaturizer(symprec=0.01, store=tmp_path / "d").fit_transform(crystals[:3])
    monkeypatch.setattr(_structure.StructureFeaturizer, "_definitions", _structure.DESCRIPTOR_DEFINITIONS + 1)
    with pytest.raises(ValueError, match="holds descriptors of other definitions"):
        StructureFeaturizer(store=tmp_path / "d").fit_transform(crystals[:3])


def test_another_format_a_damaged_manifest_and_a_truncated_file_are_refused(tmp_path, crystals):
    path = tmp_path / "d"
    StructureFeaturizer(store=path).fit_transform(crystals[:5])
    manifest = json.loads((path / "manifest.json").read_text())

    (path / "manifest.json").write_text(json.dumps({**manifest, "format_version": 99}))
    with pytest.raises(ValueError, match="format 99.*reads format 1"):
        StructureFeaturizer(store=path).transform(crystals[:5])

    (path / "manifest.json").write_text("{")
    with pytest.raises(ValueError, match="manifest.json is damaged"):
        StructureFeaturizer(store=path).transform(crystals[:5])

    (path / "manifest.json").write_text(json.dumps(manifest))
    values = path / "part-000000.values.npy"
    values.write_bytes(values.read_bytes()[:-100])
    with pytest.raises(ValueError, match="part-000000.values.npy is missing or truncated"):
        StructureFeaturizer(store=path).transform(crystals[:5])


def test_an_interrupted_featurization_keeps_its_finished_parts(tmp_path, crystals, monkeypatch):
    monkeypatch.setattr(_structure.StructureFeaturizer, "_store_part", 5)
    original = _structure._featurize_many
    calls = {"n": 0}

    def interrupted_on_the_third_part(structures, *args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt
        return original(structures, *args, **kwargs)

    monkeypatch.setattr(_structure, "_featurize_many", interrupted_on_the_third_part)
    with pytest.raises(KeyboardInterrupt):
        StructureFeaturizer(store=tmp_path / "d").fit_transform(crystals)
    assert len(_store(tmp_path / "d")) == 10  # two parts of five were written
    monkeypatch.setattr(_structure, "_featurize_many", original)
    np.testing.assert_array_equal(StructureFeaturizer(store=tmp_path / "d").fit_transform(crystals),
                                  StructureFeaturizer().fit_transform(crystals))
    assert len(_store(tmp_path / "d")) == 24
