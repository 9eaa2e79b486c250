"""Resumable fits (``checkpoint_dir``): a fit stopped after some epochs and started again ends where a fit
never stopped ends, bit for bit on one machine, for every schedule and with early stopping."""

import numpy as np
import pytest
import torch
from skorch.callbacks import Callback

from skhybrid import StructureGraphizer
from skhybrid.models import ALIGNNRegressor, CGCNNClassifier, CGCNNRegressor, MEGNetRegressor
from skhybrid.models import _base
from skhybrid.utils import torch_threads
from skhybrid.utils._testing import synthetic_crystals


@pytest.fixture(scope="module")
def data():
    structures, y = synthetic_crystals(30, seed=1)
    return StructureGraphizer(max_neighbors=8, line_graph=True).fit_transform(structures), y


@pytest.fixture(autouse=True)
def save_every_epoch(monkeypatch):
    monkeypatch.setattr(_base, "CHECKPOINT_INTERVAL_S", 0.0)


class Crash(Callback):
    """Ends the fit as a kill (or Ctrl-C) would after epoch ``at``: at the start of the next epoch, once the
    checkpoint has saved epoch ``at``."""

    def __init__(self, at, error=RuntimeError):
        self.at = at
        self.error = error

    def on_epoch_begin(self, net, **kwargs):
        if len(net.history) == self.at + 1:
            raise self.error("stopped")


class CrashAtTheEnd(Callback):
    """Ends the fit as a kill would between its last epoch and the end of training."""

    def on_train_end(self, net, **kwargs):
        raise RuntimeError("stopped")


def _resumed_from(model):
    return dict(model.net_.callbacks_)["training_checkpoint"].resumed_from_


def _fit_stopped_then_resumed(make, X, y, tmp_path, at, error=RuntimeError, crash=None):
    stopped = make(checkpoint_dir=tmp_path, callbacks=[crash or Crash(at, error)])
    if error is KeyboardInterrupt:  # Ctrl-C: the fit returns early, its file stays
        stopped.fit(X, y)
    else:
        with pytest.raises(error):
            stopped.fit(X, y)
    assert len(list(tmp_path.glob("*.pt"))) == 1
    resumed = make(checkpoint_dir=tmp_path).fit(X, y)
    assert _resumed_from(resumed) == at
    assert not list(tmp_path.glob("*.pt"))  # a finished fit deletes its file
    return resumed


SETTINGS = {
    "plateau, early stopping": (CGCNNRegressor, dict(max_epochs=12, patience=3, validation_fraction=0.25)),
    "cosine, early stopping": (CGCNNRegressor, dict(max_epochs=8, lr_schedule="cosine", validation_fraction=0.25)),
    "the MEGNet recipe: linear, no validation": (MEGNetRegressor, dict(
        max_epochs=8, lr_schedule="linear", validation_fraction=0.0, loss="mae", optimizer=torch.optim.Adam,
        module__hidden_channels=8, module__dense_channels=16)),
    "ALIGNN, AdamW with weight decay": (ALIGNNRegressor, dict(
        max_epochs=6, lr_schedule="cosine", weight_decay=1e-5, module__hidden_channels=16,
        module__embedding_channels=8, module__num_alignn_layers=1, module__num_gcn_layers=1)),
}


@pytest.mark.parametrize("name", list(SETTINGS))
def test_a_stopped_and_resumed_fit_ends_with_the_weights_of_an_unstopped_one(name, data, tmp_path):
    cls, params = SETTINGS[name]
    X, y = data

    def make(**extra):
        return cls(batch_size=8, random_state=3, device="cpu", **{"module__hidden_channels": 16, **params, **extra})

    with torch_threads(1):
        straight = make().fit(X, y)
        resumed = _fit_stopped_then_resumed(make, X, y, tmp_path, at=3)
    assert len(resumed.net_.history) == len(straight.net_.history)
    assert resumed.best_epoch_ == straight.best_epoch_
    np.testing.assert_array_equal(resumed.net_.history[:, "train_loss"], straight.net_.history[:, "train_loss"])
    np.testing.assert_array_equal(resumed.predict(X), straight.predict(X))


def test_ctrl_c_keeps_the_file_and_the_next_fit_goes_on(data, tmp_path):
    X, y = data

    def make(**extra):
        return CGCNNRegressor(max_epochs=6, batch_size=8, random_state=0, device="cpu", module__hidden_channels=16,
                              **extra)

    with torch_threads(1):
        straight = make().fit(X, y)
        resumed = _fit_stopped_then_resumed(make, X, y, tmp_path, at=2, error=KeyboardInterrupt)
    np.testing.assert_array_equal(resumed.predict(X), straight.predict(X))


def test_a_fit_stopped_after_its_last_epoch_trains_no_more(data, tmp_path):
    X, y = data
    make = lambda **extra: CGCNNRegressor(max_epochs=3, batch_size=8, random_state=0, device="cpu",  # noqa: E731
                                          validation_fraction=0.0, module__hidden_channels=16, **extra)
    with torch_threads(1):
        straight = make().fit(X, y)
        resumed = _fit_stopped_then_resumed(make, X, y, tmp_path, at=3, crash=CrashAtTheEnd())
    assert len(resumed.net_.history) == 3
    np.testing.assert_array_equal(resumed.predict(X), straight.predict(X))


def test_other_settings_or_data_do_not_resume_a_file(data, tmp_path):
    X, y = data
    stopped = CGCNNRegressor(max_epochs=5, random_state=0, device="cpu", checkpoint_dir=tmp_path,
                             callbacks=[Crash(2)])
    with pytest.raises(RuntimeError):
        stopped.fit(X, y)
    other_seed = CGCNNRegressor(max_epochs=5, random_state=1, device="cpu", checkpoint_dir=tmp_path).fit(X, y)
    other_data = CGCNNRegressor(max_epochs=5, random_state=0, device="cpu", checkpoint_dir=tmp_path).fit(X[:-1],
                                                                                                        y[:-1])
    assert _resumed_from(other_seed) == _resumed_from(other_data) == 0
    assert len(list(tmp_path.glob("*.pt"))) == 1  # the stopped fit's file waits for its own fit


def test_random_state_objects_are_told_apart_by_the_seed_they_give(data, tmp_path):
    # a RandomState prints its address, not its state: the seed drawn from it tells the fits apart
    X, y = data

    def fit(state, **extra):
        return CGCNNRegressor(max_epochs=5, random_state=np.random.RandomState(state), device="cpu",
                              checkpoint_dir=tmp_path, **extra).fit(X, y)

    with pytest.raises(RuntimeError):
        fit(7, callbacks=[Crash(2)])
    assert _resumed_from(fit(8)) == 0
    assert _resumed_from(fit(7)) == 2


def test_learned_task_weights_resume_too(data, tmp_path):
    # the criterion's own parameters (uncertainty weights of two targets) are part of the state
    X, y = data
    targets = np.column_stack([y, np.sqrt(y)])
    make = lambda **extra: CGCNNRegressor(max_epochs=5, batch_size=8, random_state=0, device="cpu",  # noqa: E731
                                          task_weights="uncertainty", module__hidden_channels=16, **extra)
    with torch_threads(1):
        straight = make().fit(X, targets)
        resumed = _fit_stopped_then_resumed(make, X, targets, tmp_path, at=2)
    np.testing.assert_array_equal(resumed.predict(X), straight.predict(X))
    assert len(list(straight.net_.criterion_.parameters())) > 0
    for saved, trained in zip(resumed.net_.criterion_.parameters(), straight.net_.criterion_.parameters()):
        assert torch.equal(saved, trained)


def test_a_classifier_resumes_too(data, tmp_path):
    X, y = data
    labels = (np.asarray(y) > np.median(y)).astype(int)
    make = lambda **extra: CGCNNClassifier(max_epochs=5, batch_size=8, random_state=0, device="cpu",  # noqa: E731
                                           module__hidden_channels=16, **extra)
    with torch_threads(1):
        straight = make().fit(X, labels)
        resumed = _fit_stopped_then_resumed(make, X, labels, tmp_path, at=2)
    np.testing.assert_array_equal(resumed.predict_proba(X), straight.predict_proba(X))


def test_an_unreadable_file_says_to_delete_it(data, tmp_path):
    X, y = data
    model = CGCNNRegressor(max_epochs=2, random_state=0, device="cpu", checkpoint_dir=tmp_path)
    with pytest.raises(RuntimeError):
        CGCNNRegressor(max_epochs=2, random_state=0, device="cpu", checkpoint_dir=tmp_path,
                       callbacks=[Crash(1)]).fit(X, y)
    (path,) = tmp_path.glob("*.pt")
    path.write_bytes(b"not a checkpoint")
    cut_short = path.with_name(path.name + ".partial-12345")  # a save a kill interrupted: cleared at the start
    cut_short.write_bytes(b"half")
    with pytest.raises(ValueError, match="not a readable training checkpoint.*delete it"):
        model.fit(X, y)
    assert not cut_short.exists()
    # a file that would run code when read (a pickled object of any class) is refused, not run
    torch.save({"format_version": 1, "module": Crash(1)}, path)
    with pytest.raises(ValueError, match="not a readable training checkpoint"):
        model.fit(X, y)


def test_checkpoints_and_accelerate_exclude_each_other(data, tmp_path):
    pytest.importorskip("accelerate")
    X, y = data
    with pytest.raises(ValueError, match="checkpoint_dir does not work with accelerate"):
        CGCNNRegressor(max_epochs=1, device="cpu", accelerate=True, checkpoint_dir=tmp_path).fit(X, y)
