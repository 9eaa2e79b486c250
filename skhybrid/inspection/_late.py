"""Late-fusion weights beside the bases' out-of-fold errors."""

from __future__ import annotations

import pandas as pd
from sklearn.utils.validation import check_is_fitted

__all__ = ["late_fusion_summary"]


def late_fusion_summary(estimator) -> pd.DataFrame:
    """One row per base of a fitted LateFusionRegressor: its weight and out-of-fold error.

    The ``oof_<metric>`` column is present when the weights were chosen with
    ``weights="oof"``; its last row, ``fusion``, is the blend's own
    out-of-fold error, which a useful fusion keeps below every base's.
    """
    check_is_fitted(estimator, "weights_")
    names = [name for name, _ in estimator.estimators]
    table = pd.DataFrame({"weight": estimator.weights_}, index=pd.Index(names, name="estimator"))
    scores = getattr(estimator, "oof_scores_", None)
    if scores is not None:
        metric = estimator.metric if isinstance(estimator.metric, str) else "score"
        table.loc["fusion", "weight"] = table["weight"].sum()
        table[f"oof_{metric}"] = pd.Series(scores)
    return table
