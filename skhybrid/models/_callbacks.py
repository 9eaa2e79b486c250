"""skorch callbacks used by the graph estimators."""

from __future__ import annotations

import math

from skorch.callbacks import Callback

__all__ = ["StopOnDivergence"]


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
