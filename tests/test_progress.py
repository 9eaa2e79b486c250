"""Progress bars: off by default, on through ``skhybrid.config_context``, never changing a result."""

import threading

import joblib
import numpy as np
import pytest
from sklearn.ensemble import RandomForestRegressor
from sklearn.pipeline import make_pipeline

import skhybrid
from skhybrid import MagpieFeaturizer, StructureGraphizer
from skhybrid.fusion import LateFusionRegressor
from skhybrid.models import CGCNNRegressor
from skhybrid.utils import _progress
from skhybrid.utils._testing import synthetic_crystals

FAST_GNN = dict(max_epochs=3, batch_size=16, random_state=0, module__hidden_channels=16, module__num_layers=1)


@pytest.fixture
def structures():
    return synthetic_crystals(40, seed=0)[0]


@pytest.fixture
def target():
    return synthetic_crystals(40, seed=0)[1]


@pytest.fixture
def no_delay(monkeypatch):
    # bars normally wait half a second before they appear; the small test inputs are faster than that
    monkeypatch.setattr(_progress, "DELAY", 0)
    monkeypatch.setattr(_progress, "MININTERVAL", 0)


def test_config_defaults_context_and_threads():
    assert skhybrid.get_config() == {"show_progress": False}
    with pytest.raises(RuntimeError), skhybrid.config_context(show_progress=True):
        assert skhybrid.get_config()["show_progress"] is True
        seen = []
        worker = threading.Thread(target=lambda: seen.append(skhybrid.get_config()["show_progress"]))
        worker.start()
        worker.join()
        assert seen == [False]  # the setting is per thread, like scikit-learn's
        raise RuntimeError
    assert skhybrid.get_config()["show_progress"] is False  # restored after an error too
    skhybrid.set_config(show_progress=True)
    try:
        assert skhybrid.get_config()["show_progress"] is True
        skhybrid.set_config()  # None leaves it unchanged
        assert skhybrid.get_config()["show_progress"] is True
    finally:
        skhybrid.set_config(show_progress=False)


def test_featurization_and_graph_building_show_bars_only_when_asked(structures, no_delay, capsys):
    graphizer = StructureGraphizer(cache=False).fit(structures)
    quiet_graphs = graphizer.transform(structures)
    quiet_features = MagpieFeaturizer().fit_transform(structures)
    assert capsys.readouterr().err == ""
    with skhybrid.config_context(show_progress=True):
        graphs = graphizer.transform(structures)
        parallel_graphs = StructureGraphizer(cache=False, n_jobs=2).fit(structures).transform(structures)
        features = MagpieFeaturizer().fit_transform(structures)
        parallel_features = MagpieFeaturizer(n_jobs=2).fit_transform(structures)
    err = capsys.readouterr().err
    assert "crystal graphs" in err and f"{len(structures)}/{len(structures)}" in err
    assert "Magpie features" in err
    np.testing.assert_array_equal(features, quiet_features)
    np.testing.assert_array_equal(parallel_features, quiet_features)
    for a, b, c in zip(graphs, parallel_graphs, quiet_graphs):
        assert np.array_equal(a.edge_attr.numpy(), c.edge_attr.numpy())
        assert np.array_equal(b.edge_index.numpy(), c.edge_index.numpy())


def test_epoch_bar_shows_losses_and_leaves_results_and_pickles_alone(structures, target, no_delay, capsys, tmp_path):
    graphs = StructureGraphizer().fit_transform(structures)
    quiet = CGCNNRegressor(**FAST_GNN).fit(graphs, target)
    assert capsys.readouterr().err == ""
    with skhybrid.config_context(show_progress=True):
        shown = CGCNNRegressor(**FAST_GNN).fit(graphs, target)
        err = capsys.readouterr().err
        assert "CGCNNRegressor epochs" in err and "3/3" in err and "valid_loss=" in err
        tabled = CGCNNRegressor(**FAST_GNN, verbose=1).fit(graphs, target)
        captured = capsys.readouterr()
        assert "epochs" not in captured.err and "valid_loss" in captured.out  # verbose=1: the table, no bar
    np.testing.assert_array_equal(shown.predict(graphs), quiet.predict(graphs))
    np.testing.assert_array_equal(tabled.predict(graphs), quiet.predict(graphs))
    joblib.dump(shown, tmp_path / "model.joblib")
    np.testing.assert_array_equal(joblib.load(tmp_path / "model.joblib").predict(graphs), quiet.predict(graphs))


def test_fusion_internal_folds_show_a_bar(structures, target, no_delay, capsys):
    bases = [("rf", make_pipeline(MagpieFeaturizer(), RandomForestRegressor(n_estimators=10, random_state=0))),
             ("rf2", make_pipeline(MagpieFeaturizer(), RandomForestRegressor(n_estimators=5, random_state=1)))]
    quiet = LateFusionRegressor(bases, weights="oof", cv=3, random_state=0).fit(structures, target)
    with skhybrid.config_context(show_progress=True):
        shown = LateFusionRegressor(bases, weights="oof", cv=3, random_state=0).fit(structures, target)
    err = capsys.readouterr().err
    assert "LateFusionRegressor out-of-fold" in err and "6/6" in err  # 2 bases x 3 folds
    np.testing.assert_array_equal(shown.weights_, quiet.weights_)
