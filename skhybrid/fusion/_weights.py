"""Convex combination weights chosen on out-of-fold predictions."""

from __future__ import annotations

import numpy as np
from scipy import optimize, sparse

__all__ = ["blend", "simplex_weights"]


def blend(predictions: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """``sum_j weights[j] * predictions[:, j]`` for ``(n, m)`` or ``(n, m, k)`` predictions."""
    return np.tensordot(predictions, weights, axes=([1], [0])) if predictions.ndim == 2 else \
        np.einsum("nmk,m->nk", predictions, weights)


def _as_rows(predictions: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """One row per (sample, target) with a label: ``P (N, m)``, ``t (N,)``."""
    if predictions.ndim == 3:
        predictions = predictions.transpose(0, 2, 1).reshape(-1, predictions.shape[1])
        y = y.reshape(-1)
    keep = np.isfinite(y)
    return predictions[keep], y[keep]


def simplex_weights(predictions: np.ndarray, y: np.ndarray, metric="mae") -> np.ndarray:
    """Non-negative weights summing to one that minimise ``metric`` of the blend.

    ``"mae"`` is solved exactly as a linear programme (HiGHS), ``"mse"`` as a
    convex quadratic programme (SLSQP); a callable ``metric(y_true, y_pred)``
    (lower is better) is minimised by SLSQP from the uniform blend, keeping the
    best of that, the uniform blend and each single base.
    """
    P, t = _as_rows(np.asarray(predictions, dtype=float), np.asarray(y, dtype=float))
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
        cost = np.concatenate([np.zeros(m), np.ones(n) / n])
        result = optimize.linprog(cost, A_ub=A_ub, b_ub=b_ub, A_eq=A_eq, b_eq=[1.0], bounds=(0, None),
                                  method="highs")
        if not result.success:
            raise RuntimeError(f"Could not choose the fusion weights: {result.message}")
        weights = result.x[:m]
    else:
        if metric == "mse":
            def loss(w):
                return np.mean((P @ w - t) ** 2)

            def grad(w):
                return 2 * P.T @ (P @ w - t) / n
        elif callable(metric):
            def loss(w):
                return float(metric(t, P @ w))
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
