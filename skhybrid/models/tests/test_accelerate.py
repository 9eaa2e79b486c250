"""Training through Hugging Face Accelerate (skorch's AccelerateMixin): a CPU smoke test, one process.

Several GPUs need ``accelerate launch``; in one CPU process Accelerate must change nothing: the same
weights, predictions and a fitted estimator that pickles and saves like any other.
"""

import builtins
import pickle

import numpy as np
import pytest

from skhybrid import StructureGraphizer, load_model, save_model
from skhybrid.models import CGCNNClassifier, CGCNNRegressor
from skhybrid.utils._testing import synthetic_crystals

pytest.importorskip("accelerate")


@pytest.fixture(scope="module")
def graphs():
    structures, y = synthetic_crystals(24, seed=0)
    return StructureGraphizer(max_neighbors=8).fit_transform(structures), y


def _net(cls, **params):
    return cls(max_epochs=4, validation_fraction=0.2, random_state=0, device="cpu", module__hidden_channels=16,
               **params)


def test_accelerated_training_equals_plain_training_on_one_cpu(graphs, tmp_path):
    X, y = graphs
    plain = _net(CGCNNRegressor).fit(X, y)
    accelerated = _net(CGCNNRegressor, accelerate=True).fit(X, y)
    np.testing.assert_array_equal(accelerated.predict(X), plain.predict(X))
    assert type(accelerated.net_).__name__ == "NeuralNet" and len(accelerated.net_.history) == 4
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(accelerated)).predict(X), plain.predict(X))
    loaded = load_model(save_model(accelerated, tmp_path / "accelerated.skh"))
    np.testing.assert_array_equal(loaded.predict(X), plain.predict(X))


def test_accelerator_settings_and_a_classifier(graphs):
    X, y = graphs
    model = _net(CGCNNClassifier, accelerate={"mixed_precision": "no"}).fit(X, y > np.median(y))
    assert model.predict_proba(X).shape == (24, 2)


def test_missing_accelerate_says_how_to_install(graphs, monkeypatch):
    X, y = graphs
    real_import = builtins.__import__

    def without_accelerate(name, *args, **kwargs):
        if name == "accelerate" or name.startswith("accelerate."):
            raise ImportError("No module named 'accelerate'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", without_accelerate)
    with pytest.raises(ImportError, match=r'skhybrid\[accelerate\]'):
        _net(CGCNNRegressor, accelerate=True).fit(X, y)
