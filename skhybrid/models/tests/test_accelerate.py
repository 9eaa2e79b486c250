"""Training through Hugging Face Accelerate (skorch's AccelerateMixin), on CPU: one process and two.

In one process Accelerate must change nothing: the same weights, predictions and a fitted estimator that
pickles and saves like any other. Two processes started by ``torchrun`` (gloo) exercise what several GPUs
would (but for the backend): the batches shared out, the gradients averaged, the ranks kept identical.
"""

import builtins
import json
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


def distributed_case(accelerate):
    """A MEGNet fitted on 24 crystals in full batches (no batch norm, so two halves of a batch give the
    same gradient as the whole one), with the linear schedule the kgcnn recipe uses."""
    from skhybrid.models import MEGNetRegressor

    structures, y = synthetic_crystals(24, seed=0)
    X = StructureGraphizer(max_neighbors=8).fit_transform(structures)
    model = MEGNetRegressor(max_epochs=6, batch_size=24, validation_fraction=0.0, lr=5e-3, lr_schedule="linear",
                            loss="mae", device="cpu", accelerate=accelerate, random_state=0,
                            module__hidden_channels=8, module__dense_channels=16, module__block_channels=(16, 8, 8),
                            module__readout_channels=4, module__head_channels=(8,))
    return model, X, y


def test_two_cpu_processes_train_the_model_one_process_trains(tmp_path):
    """torchrun starts two ranks (gloo); each takes half of every batch and they end with the same weights,
    whose predictions equal one process's full-batch training up to the order of the float sums."""
    import os
    import subprocess
    import sys

    script = os.path.join(os.path.dirname(__file__), "_distributed_fit.py")
    env = dict(os.environ, OMP_NUM_THREADS="1")
    done = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
                           script, str(tmp_path)], env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    ranks = [np.load(tmp_path / f"predictions-{rank}.npy") for rank in (0, 1)]
    np.testing.assert_array_equal(ranks[0], ranks[1])
    for rank in (0, 1):
        assert json.loads((tmp_path / f"batches-{rank}.json").read_text()) == [12] * 6

    model, X, y = distributed_case(accelerate=None)
    one_process = model.fit(X, y).predict(X)
    assert np.abs(one_process - model.set_params(max_epochs=1).fit(X, y).predict(X)).max() > 1e-2  # it trained
    np.testing.assert_allclose(ranks[0], one_process, rtol=1e-6, atol=1e-6 * np.abs(one_process).max())
