"""skorch callbacks used by the graph estimators."""

from __future__ import annotations

import math

from skorch.callbacks import Callback

__all__ = ["EpochProgressBar", "LinearDecay", "SmoothedValidLoss", "StopOnDivergence"]


class StopOnDivergence(Callback):
    """Stop training with an error when the loss stops being finite.

    Training on a NaN loss yields NaN weights and garbage predictions; the
    error names the epoch and batch and suggests the usual fixes.
    """

    def on_batch_end(self, net, batch=None, training=None, loss=None, **kwargs):
        if loss is None:
            return
        value = float(loss.detach()) if hasattr(loss, "detach") else float(loss)
        if not math.isfinite(value):
            epoch = len(net.history)
            batch_index = len(net.history[-1]["batches"])
            raise FloatingPointError(
                f"Training diverged: the loss is {value} in epoch {epoch}, batch {batch_index} "
                f"({'training' if training else 'validation'}). Lower lr (now {net.lr}), "
                "check the inputs for extreme values, or use loss='huber'."
            )


class SmoothedValidLoss(Callback):
    """Record an exponentially smoothed validation loss, ``valid_loss_smooth``, each epoch.

    ``smooth_t = smoothing * smooth_(t-1) + (1 - smoothing) * valid_loss_t``, starting
    from the first epoch's loss. A small validation split gives a noisy loss, and the
    minimum of a noisy curve over hundreds of epochs is often a lucky early epoch;
    early stopping that watches the smoothed curve keeps an epoch from a stretch
    that is good on average. Must run before the callbacks that read the key.
    """

    key = "valid_loss_smooth"

    def __init__(self, smoothing=0.9):
        self.smoothing = smoothing

    def on_epoch_end(self, net, **kwargs):
        current = net.history[-1, "valid_loss"]
        if len(net.history) > 1 and self.key in net.history[-2]:
            current = self.smoothing * net.history[-2, self.key] + (1 - self.smoothing) * current
        net.history.record(self.key, float(current))


class EpochProgressBar(Callback):
    """One progress bar over the epochs of a fit, with the latest losses.

    skorch's own ``ProgressBar`` counts batches within an epoch; for the many
    short epochs of a graph network, a bar over epochs says more. Early
    stopping ends the bar before ``max_epochs``. Added by the graph estimators
    when ``skhybrid.get_config()["show_progress"]`` is on and ``verbose=0``.
    """

    def __init__(self, desc="epochs"):
        self.desc = desc

    def on_train_begin(self, net, X=None, y=None, **kwargs):
        from ..utils import progress_bar

        self.bar_ = progress_bar(total=net.max_epochs, desc=self.desc, unit="epoch")

    def on_resume(self, net):
        # the bar goes on from the saved epoch; its rate counts only this run's epochs
        self.bar_.n = self.bar_.initial = self.bar_.last_print_n = len(net.history)
        self.bar_.refresh()

    def on_epoch_end(self, net, **kwargs):
        row = net.history[-1]
        shown = {key: f"{row[key]:.4g}" for key in ("train_loss", "valid_loss") if key in row}
        self.bar_.set_postfix(shown, refresh=False)
        self.bar_.update(1)

    def on_train_end(self, net, X=None, y=None, **kwargs):
        self.bar_.close()

    def __getstate__(self):
        # a bar holds a stream: a fitted model pickles without it
        state = dict(self.__dict__)
        state.pop("bar_", None)
        return state


class LinearDecay:
    """Learning-rate factor of ``lr_schedule="linear"``: constant, then a straight line down.

    The factor is 1 for the first ``hold`` epochs, then falls linearly to
    ``final`` at epoch ``max_epochs``. With ``hold = max_epochs // 10`` and
    ``final = 0.01`` this is kgcnn's ``LinearLearningRateScheduler`` in its
    Matbench MEGNet recipe (5e-4 held for 100 epochs, then down to 5e-6 at
    epoch 1000). A class, not a lambda, so that a fitted model pickles.
    """

    def __init__(self, max_epochs: int, hold: int, final: float = 0.01):
        self.max_epochs = max_epochs
        self.hold = hold
        self.final = final

    def __call__(self, epoch: int) -> float:
        if epoch < self.hold:
            return 1.0
        span = max(1, self.max_epochs - self.hold)
        return max(self.final, 1.0 - (1.0 - self.final) * (epoch - self.hold) / span)
