"""Resumable training: the state of a fit saved at epoch ends, so that a stopped fit goes on where it was.

A graph network's fit is the long unit of work here (kgcnn's 1000-epoch MEGNet recipe takes two hours on
one CPU core and 15 minutes on an H200, longer than one GPU call). :class:`TrainingCheckpoint` saves, at
the end of an epoch, everything the next epoch depends on: the weights, the optimiser's moments, the
criterion (learned task weights), the epoch table, the learning-rate schedule's and early stopping's
state (its best weights included), and the random number generators (the shuffling generator and
torch's global ones). A fit of the same estimator on the same data that finds the file loads it and
trains only the epochs left, so that, on the same machine, the stopped and resumed fit ends with the
same weights as one that was never stopped. The file is deleted when the fit ends.

The file's name is a fingerprint of the estimator's settings and of the training data, so that one
folder serves every network of a benchmark (the two fits of a hybrid's graph part on different slices
get different files) and a changed setting or data set starts afresh instead of resuming the wrong fit.
"""

from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path

import numpy as np
import torch
from skorch.callbacks import Callback, EarlyStopping, LRScheduler

__all__ = ["TrainingCheckpoint", "fit_fingerprint"]

FORMAT_VERSION = 1

#: numpy scalars (data, not code) that files written before numbers were made plain may hold
_NUMPY_SCALARS = [np.dtype, getattr(np, "_core", getattr(np, "core", None)).multiarray.scalar,
                  *{type(np.dtype(kind)) for kind in ("float64", "float32", "int64", "int32", "bool")}]

#: settings that do not change what a fit computes, left out of the fingerprint
_NOT_FINGERPRINTED = ("checkpoint_dir", "verbose", "callbacks", "device")


def fit_fingerprint(estimator, graphs, y, seed=None) -> str:
    """A hex digest of the estimator's settings and the training data (targets and graph sizes).

    ``seed`` is the seed the fit drew from its ``random_state``: it stands for a ``random_state`` that
    is a ``RandomState``, whose repr shows its address rather than its state. (Another parameter whose
    repr holds an address gives a new fingerprint each time: such a fit starts afresh, never wrongly.)
    """
    digest = hashlib.sha256()
    params = estimator.get_params(deep=False)
    if isinstance(params.get("random_state"), np.random.RandomState):
        params["random_state"] = f"seed {seed}"
    for name in sorted(params):
        if name not in _NOT_FINGERPRINTED:
            digest.update(f"{name}={params[name]!r};".encode())
    digest.update(np.ascontiguousarray(np.asarray(y, dtype=np.float64)).tobytes())
    sizes = np.array([(g.num_nodes, g.num_edges) for g in graphs], dtype=np.int64)
    digest.update(sizes.tobytes())
    return digest.hexdigest()


class TrainingCheckpoint(Callback):
    """Save a fit's state at epoch ends and load it at the start of the same fit.

    Added by the graph estimators when ``checkpoint_dir`` is set, after every other callback (it saves
    their state and restores it after they have set themselves up).

    Parameters
    ----------
    path : str or Path
        The checkpoint file.
    min_interval_s : float, default=60.0
        Seconds between two saves: a save costs a write of the weights, the optimiser's moments and the
        best weights, so a fit of short epochs does not save each one. ``0`` saves every epoch.

    Examples
    --------
    >>> from skhybrid.models import CGCNNRegressor
    >>> model = CGCNNRegressor(max_epochs=500, checkpoint_dir="checkpoints", random_state=0)
    >>> # model.fit(graphs, y); stopped at epoch 200, the same call again trains epochs 201-500
    """

    def __init__(self, path, min_interval_s=60.0):
        self.path = path
        self.min_interval_s = min_interval_s

    # --- saving ---------------------------------------------------------------------------------

    def on_epoch_end(self, net, **kwargs):
        if time.monotonic() - self.last_save_ >= self.min_interval_s:
            self.save(net)

    def on_train_end(self, net, **kwargs):
        # a finished fit has nothing to resume (the fitted estimator is what is kept); one ended early by
        # Ctrl-C keeps its file, so that the same fit started again goes on
        stopped_early = any(isinstance(callback, EarlyStopping) and callback.misses_ >= callback.patience
                            for _, callback in net.callbacks_)
        if stopped_early or len(net.history) >= net.max_epochs:
            Path(self.path).unlink(missing_ok=True)

    def save(self, net) -> None:
        """Write the state after the last finished epoch (atomically: a reader never sees half a file)."""
        state = dict(
            format_version=FORMAT_VERSION,
            epochs=len(net.history),
            history=_plain(net.history.to_list()),
            module=net.module_.state_dict(),
            optimizer=net.optimizer_.state_dict(),
            criterion=net.criterion_.state_dict(),
            callbacks={name: _plain(_callback_state(callback)) for name, callback in net.callbacks_},
            rng=dict(torch=torch.get_rng_state(),
                     cuda=torch.cuda.get_rng_state_all() if torch.cuda.is_initialized() else None,
                     shuffle=_shuffle_generator(net).get_state()),
        )
        path = Path(self.path)
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(path.name + f".partial-{os.getpid()}")
        torch.save(state, partial)
        partial.replace(path)
        self.last_save_ = time.monotonic()

    # --- resuming -------------------------------------------------------------------------------

    def on_train_begin(self, net, **kwargs):
        self.last_save_ = time.monotonic()
        self.resumed_from_ = 0
        path = Path(self.path)
        for partial in path.parent.glob(path.name + ".partial-*"):  # a save cut short by a kill
            partial.unlink(missing_ok=True)
        if not path.exists():
            return
        try:
            with torch.serialization.safe_globals(_NUMPY_SCALARS):
                state = torch.load(path, map_location=net.device, weights_only=True)
        except Exception as error:  # a file cut short outside the atomic write, or not ours (or not safe)
            raise ValueError(f"{path}: not a readable training checkpoint ({type(error).__name__}); delete it to "
                             "train from the start.") from error
        if state.get("format_version") != FORMAT_VERSION:
            raise ValueError(f"{path}: checkpoint format {state.get('format_version')} is not this version's "
                             f"({FORMAT_VERSION}); delete it to train from the start.")
        net.module_.load_state_dict(state["module"])
        net.criterion_.load_state_dict(state["criterion"])
        net.optimizer_.load_state_dict(state["optimizer"])
        net.history.clear()
        net.history.extend(state["history"])
        for name, callback in net.callbacks_:
            _restore_callback(callback, state["callbacks"].get(name), net)
        torch.set_rng_state(state["rng"]["torch"])
        if state["rng"]["cuda"] is not None and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(state["rng"]["cuda"])
        _shuffle_generator(net).set_state(state["rng"]["shuffle"])
        self.resumed_from_ = state["epochs"]

    def on_epoch_begin(self, net, **kwargs):
        # skorch runs max_epochs epochs after a (re)start; a resumed fit stops when the table is full
        if len(net.history) > net.max_epochs:
            net.history.pop()
            raise KeyboardInterrupt


def _plain(value):
    """``value`` with numpy scalars made Python numbers: the file then loads with ``weights_only=True``
    (tensors and plain containers only), so that reading a checkpoint runs no code from it."""
    if isinstance(value, dict):
        return type(value)((key, _plain(item)) for key, item in value.items())
    if isinstance(value, (list, tuple)):
        return type(value)(_plain(item) for item in value)
    if isinstance(value, np.generic):
        return value.item()
    return value


def _shuffle_generator(net) -> torch.Generator:
    return net.get_params_for("iterator_train")["generator"]


def _callback_state(callback):
    if isinstance(callback, LRScheduler):
        return {"scheduler": callback.lr_scheduler_.state_dict(), "batch_idx": callback.batch_idx_}
    if isinstance(callback, EarlyStopping):
        return {name: getattr(callback, name) for name in
                ("misses_", "dynamic_threshold_", "best_epoch_", "best_model_weights_")}
    return None


def _restore_callback(callback, state, net) -> None:
    if isinstance(callback, LRScheduler):
        callback.lr_scheduler_.load_state_dict(state["scheduler"])
        callback.batch_idx_ = state["batch_idx"]
    elif isinstance(callback, EarlyStopping):
        vars(callback).update(state)
    if hasattr(callback, "on_resume"):  # e.g. a progress bar that starts at the resumed epoch
        callback.on_resume(net)
