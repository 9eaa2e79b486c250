"""Re-seeding an estimator: every ``random_state`` inside it, nested ones included."""

from __future__ import annotations

from sklearn.base import clone

__all__ = ["with_random_state"]


def with_random_state(estimator, seed: int):
    """An unfitted clone of ``estimator`` with every ``random_state`` parameter set to ``seed``.

    Nested parameters count (a Pipeline's ``gnn__random_state``, a fusion
    model's ``rf__rf__random_state``), so the clone differs from the original
    in every source of randomness the estimator exposes and in nothing else.

    Parameters
    ----------
    estimator : estimator
    seed : int

    Returns
    -------
    estimator
        A clone.

    Examples
    --------
    >>> from sklearn.ensemble import RandomForestRegressor
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> from skhybrid.utils import with_random_state
    >>> model = make_pipeline(StandardScaler(), RandomForestRegressor(random_state=0))
    >>> with_random_state(model, 7).get_params()["randomforestregressor__random_state"]
    7
    """
    estimator = clone(estimator)
    keys = [key for key in estimator.get_params(deep=True) if key == "random_state" or key.endswith("__random_state")]
    if keys:
        estimator.set_params(**{key: int(seed) for key in keys})
    return estimator
