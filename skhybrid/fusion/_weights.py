"""Convex combination weights chosen on out-of-fold predictions."""

from __future__ import annotations

import numpy as np
from scipy import optimize, sparse

__all__ = ["blend", "fitted_or_equal", "select_oof_or_equal", "simplex_log_loss_weights", "simplex_weights"]


def blend(predictions: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """``sum_j weights[j] * predictions[:, j]`` for ``(n, m)`` or ``(n, m, k)`` predictions."""
    return np.tensordot(predictions, weights, axes=([1], [0])) if predictions.ndim == 2 else \
        np.einsum("nmk,m->nk", predictions, weights)


def _as_rows(predictions: np.ndarray, y: np.ndarray, sample_weight=None):
    """One row per (sample, target) with a label: ``P (N, m)``, ``t (N,)``, weights ``w (N,)``."""
    w = np.ones(len(y)) if sample_weight is None else np.asarray(sample_weight, dtype=float)
    if predictions.ndim == 3:
        n_targets = predictions.shape[2]
        predictions = predictions.transpose(0, 2, 1).reshape(-1, predictions.shape[1])
        y = y.reshape(-1)
        w = np.repeat(w, n_targets)
    keep = np.isfinite(y)
    return predictions[keep], y[keep], w[keep]


def simplex_weights(predictions: np.ndarray, y: np.ndarray, metric="mae", sample_weight=None) -> np.ndarray:
    """Non-negative weights summing to one that minimise ``metric`` of the blend.

    ``"mae"`` is solved exactly as a linear programme (HiGHS), ``"mse"`` as a
    convex quadratic programme (SLSQP); a callable ``metric(y_true, y_pred)``
    (lower is better) is minimised by SLSQP from the uniform blend, keeping the
    best of that, the uniform blend and each single base. ``sample_weight``
    weighs the samples of ``"mae"`` and ``"mse"``.
    """
    P, t, w = _as_rows(np.asarray(predictions, dtype=float), np.asarray(y, dtype=float), sample_weight)
    w = w / w.sum()
    n, m = P.shape
    if m == 1:
        return np.ones(1)
    if metric == "mae":
        # variables [w (m), e (n)]: minimise sum(e) with -e <= P w - t <= e, sum(w) = 1, w, e >= 0
        identity = sparse.identity(n, format="csr")
        A_ub = sparse.vstack([sparse.hstack([sparse.csr_matrix(P), -identity]),
                              sparse.hstack([sparse.csr_matrix(-P), -identity])], format="csr")
        b_ub = np.concatenate([t, -t])
        A_eq = sparse.csr_matrix(np.concatenate([np.ones(m), np.zeros(n)])[None, :])
        cost = np.concatenate([np.zeros(m), w])
        result = optimize.linprog(cost, A_ub=A_ub, b_ub=b_ub, A_eq=A_eq, b_eq=[1.0], bounds=(0, None),
                                  method="highs")
        if not result.success:
            raise RuntimeError(f"Could not choose the fusion weights: {result.message}")
        weights = result.x[:m]
    else:
        if metric == "mse":
            def loss(v):
                return np.sum(w * (P @ v - t) ** 2)

            def grad(v):
                return 2 * P.T @ (w * (P @ v - t))
        elif callable(metric):
            def loss(v):
                return float(metric(t, P @ v))
            grad = None
        else:
            raise ValueError(f"metric must be 'mae', 'mse' or a callable, got {metric!r}.")
        candidates = [np.full(m, 1 / m), *np.eye(m)]
        result = optimize.minimize(loss, candidates[0], jac=grad, method="SLSQP", bounds=[(0, 1)] * m,
                                   constraints=[{"type": "eq", "fun": lambda w: w.sum() - 1}])
        if result.success:
            candidates.append(result.x)
        weights = min(candidates, key=loss)
    weights = np.clip(weights, 0, None)
    return weights / weights.sum()


def _metric_value(metric, y, pred, sample_weight=None) -> float:
    """``metric`` of a blend over its labelled rows, lower is better (as :func:`simplex_weights` minimises it)."""
    P, t, w = _as_rows(pred[:, None], y, sample_weight)
    error = P[:, 0] - t
    if metric == "mae":
        return float(np.average(np.abs(error), weights=w))
    if metric == "mse":
        return float(np.average(error ** 2, weights=w))
    return float(metric(t, P[:, 0]))


def select_oof_or_equal(predictions: np.ndarray, y: np.ndarray, groups: np.ndarray, metric="mae",
                        sample_weight=None):
    """Fitted simplex weights or equal weights, whichever a cross-validation over ``groups`` prefers.

    Weights fitted on a few dozen held-out samples are noisy: with two bases of similar accuracy
    they often land in a corner (0.98/0.02) that the next data set does not repeat. This checks
    the fitting itself: for each group (an internal test fold), weights are fitted on the other
    groups' held-out predictions and scored on this group's; the pooled ``metric`` of those
    predictions is set against that of the equal-weight blend on the same samples. The fitted
    weights (refitted on all the held-out samples) are kept only if they score strictly lower;
    a tie goes to equal weights, the choice with nothing estimated. This is the "discrete super
    learner" of van der Laan, Polley & Hubbard (2007, Stat. Appl. Genet. Mol. Biol. 6:25) over
    two candidates. Each fitting sees one group fewer than the final one, which slightly favours
    equal weights.

    Parameters
    ----------
    predictions : ndarray of shape (n, m) or (n, m, k)
        Held-out predictions of ``m`` bases.
    y : ndarray of shape (n,) or (n, k)
    groups : ndarray of shape (n,)
        The internal test fold of each sample; at least two distinct values.
    metric, sample_weight
        As :func:`simplex_weights`.

    Returns
    -------
    weights : ndarray of shape (m,)
    choice : {"fitted", "equal"}
    scores : dict
        The cross-validated ``metric`` of ``"fitted"`` and of ``"equal"`` weights.
    """
    predictions = np.asarray(predictions, dtype=float)
    y = np.asarray(y, dtype=float)
    sample_weight = None if sample_weight is None else np.asarray(sample_weight, dtype=float)

    def fit(rows):
        return simplex_weights(predictions[rows], y[rows], metric, None if sample_weight is None else
                               sample_weight[rows])

    return fitted_or_equal(predictions, groups, fit, lambda blended: _metric_value(metric, y, blended, sample_weight))


def fitted_or_equal(predictions: np.ndarray, groups, fit, loss):
    """The choice of :func:`select_oof_or_equal`, for any way of fitting weights and scoring a blend.

    ``fit(rows)`` returns weights fitted on the samples of the boolean mask ``rows``; ``loss(blended)``
    scores a blend of every sample (``blend(predictions, weights)`` row by row), lower is better.
    Returns ``(weights, choice, scores)`` as :func:`select_oof_or_equal` does.
    """
    groups = np.asarray(groups)
    labels = np.unique(groups)
    if len(labels) < 2:
        raise ValueError("Choosing between fitted and equal weights needs held-out samples from at least two "
                         f"internal folds, got {len(labels)}; use weights='oof' or a cv with more splits.")
    m = predictions.shape[1]
    equal = np.full(m, 1 / m)
    crossed = np.empty(predictions.shape[:1] + predictions.shape[2:])
    for label in labels:
        inside = groups == label
        crossed[inside] = blend(predictions[inside], fit(~inside))
    scores = {"fitted": float(loss(crossed)), "equal": float(loss(blend(predictions, equal)))}
    if scores["fitted"] < scores["equal"]:
        return fit(np.ones(len(groups), dtype=bool)), "fitted", scores
    return equal, "equal", scores


def simplex_log_loss_weights(proba: np.ndarray, y_index: np.ndarray, sample_weight=None) -> np.ndarray:
    """Non-negative weights summing to one whose blend of probabilities has the least log loss.

    ``proba`` is ``(n, m, C)``: base ``j``'s probability of class ``c`` for sample ``i``; ``y_index``
    holds each sample's class as a column index. The mean log loss of a convex blend is convex in the
    weights (minus the log of a linear function), so SLSQP from the uniform blend, with the exact
    gradient, finds the optimum; the best of it, the uniform blend and each single base is kept.
    """
    proba = np.asarray(proba, dtype=float)
    n, m, _ = proba.shape
    if m == 1:
        return np.ones(1)
    w = np.ones(n) if sample_weight is None else np.asarray(sample_weight, dtype=float)
    w = w / w.sum()
    # the probability each base gave the true class: (n, m)
    P = np.clip(proba[np.arange(n), :, np.asarray(y_index)], 0, 1)
    eps = 1e-15

    def loss(v):
        return -np.sum(w * np.log(np.clip(P @ v, eps, None)))

    def grad(v):
        return -P.T @ (w / np.clip(P @ v, eps, None))

    candidates = [np.full(m, 1 / m), *np.eye(m)]
    result = optimize.minimize(loss, candidates[0], jac=grad, method="SLSQP", bounds=[(0, 1)] * m,
                               constraints=[{"type": "eq", "fun": lambda v: v.sum() - 1}])
    if result.success:
        candidates.append(result.x)
    weights = np.clip(min(candidates, key=loss), 0, None)
    return weights / weights.sum()
