"""save_model / load_model: identical predictions, no code run on load, versions, damaged files."""

import io
import json
import warnings
import zipfile

import numpy as np
import pytest
from sklearn.linear_model import Ridge

from skhybrid import load_model, save_model
from skhybrid.catalogue import build
from skhybrid.utils._testing import synthetic_crystals


@pytest.fixture(scope="module")
def crystals():
    return synthetic_crystals(20, seed=3)


@pytest.mark.parametrize("name", ["hybrid-light", "megnet-kgcnn", "megnet-kgcnn-keras", "early-fusion-attention",
                                  "gbm-descriptors"])
def test_catalogue_models_round_trip_with_identical_predictions(tmp_path, crystals, name):
    structures, y = crystals
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = build(name, quick=True).fit(structures, y)
    path = save_model(model, tmp_path / f"{name}.skh", name=name, metadata={"target": "y"})
    loaded, info = load_model(path, return_metadata=True)
    np.testing.assert_array_equal(loaded.predict(structures), model.predict(structures))
    assert info["catalogue_name"] == name and info["format_version"] == 1
    assert set(info["versions"]) == {"skhybrid", "scikit-learn", "torch", "python"}
    with zipfile.ZipFile(path) as zf:
        assert sorted(zf.namelist()) == ["estimator.skops", "metadata.json", "networks.pt"]
    # saving leaves the model as it was
    np.testing.assert_array_equal(model.predict(structures[:3]), loaded.predict(structures[:3]))


@pytest.mark.parametrize("name", ["hybrid-light", "stacking"])
def test_catalogue_classifiers_round_trip_with_identical_probabilities(tmp_path, crystals, name):
    structures, y = crystals
    labels = np.where(y > np.median(y), "high", "low")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = build(name, quick=True, task_type="classification").fit(structures, labels)
    loaded = load_model(save_model(model, tmp_path / f"{name}.skh", name=name))
    np.testing.assert_array_equal(loaded.predict_proba(structures), model.predict_proba(structures))
    np.testing.assert_array_equal(loaded.classes_, ["high", "low"])


def _rewrite(path, out, **changes):
    with zipfile.ZipFile(path) as zf:
        parts = {name: zf.read(name) for name in zf.namelist()}
    info = json.loads(parts["metadata.json"])
    info.update(changes.pop("info", {}))
    parts["metadata.json"] = json.dumps(info).encode()
    parts.update(changes)
    with zipfile.ZipFile(out, "w") as zf:
        for name, data in parts.items():
            zf.writestr(name, data)
    return out


def test_types_outside_the_trusted_list_are_refused(tmp_path):
    import skops.io as sio

    X, y = np.arange(20.0).reshape(10, 2), np.arange(10.0)
    path = save_model(Ridge().fit(X, y), tmp_path / "ridge.skh")
    # an estimator file holding a type from elsewhere (here: a fractions.Fraction) is not built
    from fractions import Fraction

    evil = _rewrite(path, tmp_path / "evil.skh", **{"estimator.skops": sio.dumps({"a": Fraction(1, 3)})})
    with pytest.raises(ValueError, match=r"holds types outside skhybrid's trusted list: fractions\.Fraction"):
        load_model(evil)
    assert load_model(evil, trusted=["fractions.Fraction"])["a"] == Fraction(1, 3)


def test_newer_format_and_other_versions(tmp_path):
    X, y = np.arange(20.0).reshape(10, 2), np.arange(10.0)
    path = save_model(Ridge().fit(X, y), tmp_path / "ridge.skh")
    newer = _rewrite(path, tmp_path / "newer.skh", info={"format_version": 99})
    with pytest.raises(ValueError, match="format version 99 .* reads up to version 1: upgrade skhybrid"):
        load_model(newer)
    with zipfile.ZipFile(path) as zf:
        versions = json.loads(zf.read("metadata.json"))["versions"]
    older = _rewrite(path, tmp_path / "older.skh", info={"versions": {**versions, "scikit-learn": "1.4.0"}})
    with pytest.warns(UserWarning, match=r"saved with other versions \(scikit-learn 1\.4\.0 -> "):
        load_model(older)


@pytest.mark.parametrize("damage", ["truncated", "not_a_zip", "missing_part"])
def test_damaged_files_name_the_file(tmp_path, damage):
    X, y = np.arange(20.0).reshape(10, 2), np.arange(10.0)
    path = save_model(Ridge().fit(X, y), tmp_path / "ridge.skh")
    data = path.read_bytes()
    if damage == "truncated":
        path.write_bytes(data[: len(data) // 2])
    elif damage == "not_a_zip":
        path.write_text("hello")
    else:
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as zf:
            zf.writestr("metadata.json", "{}")
        path.write_bytes(buffer.getvalue())
    with pytest.raises(ValueError, match=r"ridge\.skh is not a model file written by skhybrid\.save_model"):
        load_model(path)
