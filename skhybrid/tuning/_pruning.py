"""Optuna pruning for graph networks: a skorch callback that reports the validation loss per epoch."""

from __future__ import annotations

import optuna
from skorch.callbacks import Callback

__all__ = ["OptunaPruningCallback"]

#: steps reserved per training run: run r reports epoch e as step r * STEP_OFFSET + e
STEP_OFFSET = 100_000


class OptunaPruningCallback(Callback):
    """Report a network's validation loss to an Optuna trial each epoch, and prune.

    A trial that cross-validates trains several networks (one per fold, or
    more inside late fusion); the ``r``-th training run of the trial reports
    epoch ``e`` as step ``r * 100000 + e``, so the pruner compares each fold's
    learning curve with the same fold's curves in earlier trials (the folds
    are the same in every trial). The loss is reported negated, as the study
    maximises scikit-learn scores. When the pruner says so, training stops with
    :class:`optuna.TrialPruned`.

    The callback is shared, not copied, when scikit-learn clones the estimator
    that holds it (``__sklearn_clone__`` and ``__deepcopy__`` return itself),
    so its reports reach the study and it counts runs across the clones of one
    trial. :class:`HybridSearchCV` adds it by itself.

    Parameters
    ----------
    trial : optuna.trial.Trial
        The trial being evaluated.
    monitor : str, default="valid_loss"
        Column of the skorch history to report (lower is better).

    Examples
    --------
    >>> import optuna
    >>> from skhybrid.models import CGCNNRegressor
    >>> from skhybrid.tuning import OptunaPruningCallback
    >>> study = optuna.create_study(direction="maximize", pruner=optuna.pruners.MedianPruner())
    >>> trial = study.ask()
    >>> model = CGCNNRegressor(callbacks=[("prune", OptunaPruningCallback(trial))])
    >>> # model.fit(graphs, y) reports -valid_loss each epoch and raises optuna.TrialPruned when told to
    """

    def __init__(self, trial, monitor: str = "valid_loss"):
        self.trial = trial
        self.monitor = monitor
        self.runs_ = 0

    # scikit-learn's clone (and a deep copy) must hand back this very object: a copy would hold a
    # copy of the trial, whose reports would go to a copy of the study
    def __sklearn_clone__(self):
        return self

    def __deepcopy__(self, memo):
        return self

    def on_train_begin(self, net, X=None, y=None, **kwargs):
        """Count a new training run of the trial (skorch hook).

        Parameters
        ----------
        net : skorch.NeuralNet
        X, y : object, default=None
            The training data, unused.
        **kwargs
            Other arguments of the skorch hook, unused.
        """
        self.runs_ += 1

    def on_epoch_end(self, net, **kwargs):
        """Report the epoch's loss; raise ``optuna.TrialPruned`` when the pruner says so (skorch hook).

        Parameters
        ----------
        net : skorch.NeuralNet
        **kwargs
            Other arguments of the skorch hook, unused.
        """
        row = net.history[-1]
        if self.monitor not in row:
            return
        step = (self.runs_ - 1) * STEP_OFFSET + len(net.history)
        # the search maximises scores (scikit-learn's convention): report the negated loss
        self.trial.report(-float(row[self.monitor]), step)
        if self.trial.should_prune():
            raise optuna.TrialPruned(f"pruned at epoch {len(net.history)} of training run {self.runs_} "
                                     f"({self.monitor} {row[self.monitor]:.4g})")
