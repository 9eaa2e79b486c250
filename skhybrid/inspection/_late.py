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

    Parameters
    ----------
    estimator : fitted LateFusionRegressor

    Returns
    -------
    DataFrame
        Indexed by base name (and ``fusion``): ``weight`` and, with ``weights="oof"``, ``oof_<metric>``.

    Examples
    --------
    >>> from sklearn.ensemble import RandomForestRegressor
    >>> from sklearn.linear_model import RidgeCV
    >>> from sklearn.pipeline import make_pipeline
    >>> from skhybrid import MagpieFeaturizer
    >>> from skhybrid.fusion import LateFusionRegressor
    >>> from skhybrid.inspection import late_fusion_summary
    >>> formulas = ["NaCl", "KCl", "LiF", "MgO", "NaF", "KBr", "CaO", "LiCl", "CsI", "RbBr"]
    >>> y = [5.64, 6.29, 4.03, 4.21, 4.63, 6.60, 4.81, 5.13, 4.57, 6.89]
    >>> late = LateFusionRegressor([
    ...     ("ridge", make_pipeline(MagpieFeaturizer(), RidgeCV())),
    ...     ("forest", make_pipeline(MagpieFeaturizer(), RandomForestRegressor(20, random_state=0))),
    ... ], weights="oof", cv=5, random_state=0).fit(formulas, y)
    >>> table = late_fusion_summary(late)
    >>> list(table.index), list(table.columns)
    (['ridge', 'forest', 'fusion'], ['weight', 'oof_mae'])
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
