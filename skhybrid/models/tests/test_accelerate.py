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


def test_a_batch_that_the_processes_cannot_share_says_what_to_do(graphs, monkeypatch):
    from accelerate import Accelerator

    X, y = graphs
    monkeypatch.setattr(Accelerator, "num_processes", property(lambda self: 4))
    with pytest.raises(ValueError, match=r"CGCNNRegressor: batch_size=30 is shared between 4 processes.*e\.g\. 32"):
        _net(CGCNNRegressor, accelerate=True, batch_size=30).fit(X, y)


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


#: MEGNet cases whose batches are all whole (MEGNet has no batch norm, so two processes' halves give
#: exactly one process's gradients): fixed epochs on the linear schedule the kgcnn recipe uses, and the
#: default early stopping on a validation split (every process must see the same validation loss, stop
#: together and restore the same best weights). ALIGNN has parameters that its output leaves out (and batch
#: norm, so halves are not the whole): its ranks must agree with each other.
DISTRIBUTED_CASES = {
    "schedule": dict(n=24, max_epochs=6, batch_size=24, validation_fraction=0.0, lr_schedule="linear"),
    "early-stopping": dict(n=64, max_epochs=60, batch_size=8, validation_fraction=0.25, patience=3),
    "alignn": dict(n=16, max_epochs=2, batch_size=8, validation_fraction=0.0),
}


def distributed_case(name, accelerate):
    """A small network and its data."""
    from skhybrid.models import ALIGNNRegressor, MEGNetRegressor

    settings = dict(DISTRIBUTED_CASES[name])
    structures, y = synthetic_crystals(settings.pop("n"), seed=0)
    common = dict(lr=5e-3, loss="mae", device="cpu", accelerate=accelerate, random_state=0)
    if name == "alignn":
        X = StructureGraphizer(max_neighbors=8, line_graph=True).fit_transform(structures)
        return ALIGNNRegressor(**settings, **common, module__hidden_channels=8, module__embedding_channels=8,
                               module__num_alignn_layers=1, module__num_gcn_layers=1), X, y
    X = StructureGraphizer(max_neighbors=8).fit_transform(structures)
    model = MEGNetRegressor(**settings, **common,
                            module__hidden_channels=8, module__dense_channels=16, module__block_channels=(16, 8, 8),
                            module__readout_channels=4, module__head_channels=(8,))
    return model, X, y


def test_two_cpu_processes_train_the_model_one_process_trains(tmp_path):
    """torchrun starts two ranks (gloo); each takes half of every batch and they end with the same weights,
    whose predictions equal one process's training on whole batches up to the order of the float sums."""
    import os
    import subprocess
    import sys

    script = os.path.join(os.path.dirname(__file__), "_distributed_fit.py")
    env = dict(os.environ, OMP_NUM_THREADS="1")
    # the output goes to a file, not a pipe: ranks left behind would hold a pipe open and block the test; a
    # hang (processes that part ways wait on each other for ever) is killed whole, launcher and ranks (which
    # torchrun starts in sessions of their own)
    log = tmp_path / "torchrun.log"
    with open(log, "w") as stream:
        launcher = subprocess.Popen([sys.executable, "-m", "torch.distributed.run", "--standalone",
                                     "--nproc_per_node", "2", script, str(tmp_path), *DISTRIBUTED_CASES], env=env,
                                    stdout=stream, stderr=subprocess.STDOUT)
    try:
        launcher.wait(timeout=300)
    except subprocess.TimeoutExpired:
        import psutil

        parent = psutil.Process(launcher.pid)
        for process in [*parent.children(recursive=True), parent]:
            try:
                process.kill()
            except psutil.NoSuchProcess:
                pass
        launcher.wait()
        pytest.fail("the two processes did not finish within 300 s (a rank waiting on the other?)")
    assert launcher.returncode == 0, log.read_text()[-3000:]
    for name, settings in DISTRIBUTED_CASES.items():
        ranks = [np.load(tmp_path / f"{name}-predictions-{rank}.npy") for rank in (0, 1)]
        histories = [json.loads((tmp_path / f"{name}-history-{rank}.json").read_text()) for rank in (0, 1)]
        np.testing.assert_array_equal(ranks[0], ranks[1])
        assert histories[0] == histories[1]  # the same batches' sizes, losses and stopping epoch
        assert all(size == settings["batch_size"] // 2 for size in histories[0]["train_batch_sizes"])

        if name == "alignn":
            assert np.isfinite(ranks[0]).all() and np.ptp(ranks[0]) > 0
            continue
        model, X, y = distributed_case(name, accelerate=None)
        one_process = model.fit(X, y).predict(X)
        np.testing.assert_allclose(ranks[0], one_process, rtol=1e-6, atol=1e-6 * np.abs(one_process).max())
        if settings["validation_fraction"]:
            assert 1 < histories[0]["best_epoch"] == model.best_epoch_ < len(histories[0]["valid_loss"]) \
                == len(model.net_.history) < settings["max_epochs"]  # stopped early, together, at one's epoch
            np.testing.assert_allclose(histories[0]["valid_loss"], model.net_.history[:, "valid_loss"], rtol=1e-5)
        else:
            assert np.abs(one_process - model.set_params(max_epochs=1).fit(X, y).predict(X)).max() > 1e-2
