"""A benchmark with on-disk stores: the same predictions, each structure featurized and graphized once."""

import json

import pandas as pd
import pytest

from skhybrid.benchmark import run_benchmark
from skhybrid.cli import main
from skhybrid.featurizers import GraphStore, use_stores
from skhybrid.featurizers._descriptor_store import MANIFEST
from skhybrid.utils._testing import write_crystal_folder


@pytest.fixture(scope="module")
def crystal_folder(tmp_path_factory):
    return write_crystal_folder(tmp_path_factory.mktemp("crystals"), n=30, seed=11)


def test_stores_change_where_features_live_not_the_predictions(crystal_folder, tmp_path, capsys):
    settings = dict(data=crystal_folder, target="y", cv=3, folds=[0, 1, 2], models=["gbm-descriptors", "hybrid-light"],
                    quick=True, progress=False)
    run_benchmark(out=tmp_path / "plain", **settings)
    stores = tmp_path / "stores"
    assert main(["benchmark", "--data", str(crystal_folder), "--target", "y", "--cv", "3", "--folds", "0", "1", "2",
                 "--models", "gbm-descriptors", "hybrid-light", "--quick", "--no-progress",
                 "--out", str(tmp_path / "stored"), "--store", str(stores)]) == 0
    for name in ("gbm-descriptors", "hybrid-light"):
        for fold in range(3):
            plain = pd.read_csv(tmp_path / "plain" / "predictions" / f"{name}__fold{fold}.csv")
            stored = pd.read_csv(tmp_path / "stored" / "predictions" / f"{name}__fold{fold}.csv")
            pd.testing.assert_frame_equal(plain, stored)
    # one descriptor table (both models use the same StructureFeaturizer settings) and one graph store,
    # each holding every structure of the set exactly once after three folds of two models
    descriptors = sorted(stores.glob("descriptors-*"))
    graphs = sorted(stores.glob("graphs-*"))
    assert len(descriptors) == 1 and len(graphs) == 1
    manifest = json.loads((descriptors[0] / MANIFEST).read_text())
    assert sum(part["rows"] for part in manifest["parts"]) == 30
    assert len(GraphStore(graphs[0])) == 30


def test_use_stores_names_a_folder_per_kind_and_settings(tmp_path):
    from sklearn.pipeline import FeatureUnion

    from skhybrid.featurizers import StructureFeaturizer, StructureGraphizer

    union = use_stores(FeatureUnion([("a", StructureFeaturizer()), ("b", StructureFeaturizer(level="local")),
                                     ("c", StructureFeaturizer())]), tmp_path)
    folders = [union.get_params()[f"{k}__store"] for k in "abc"]
    assert folders[0] == folders[2] != folders[1] and folders[0].startswith(str(tmp_path))
    graphizer = use_stores(StructureGraphizer(cutoff=5.0, max_neighbors=None), tmp_path)
    assert "graphs-" in graphizer.store
    with pytest.raises(TypeError, match="has no on-disk store"):
        from skhybrid.featurizers._stores import store_name

        store_name(object())
