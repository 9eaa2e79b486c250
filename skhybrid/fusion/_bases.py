"""What late fusion and stacking share: checked base estimators and their out-of-fold predictions."""

from __future__ import annotations

import time
from numbers import Integral

import numpy as np
from sklearn.base import RegressorMixin, clone
from sklearn.model_selection import KFold, check_cv
from sklearn.utils import Bunch, _safe_indexing
from sklearn.utils.metaestimators import _BaseComposition
from sklearn.utils.validation import check_is_fitted

from ..utils import as_sample_list, progress_bar

__all__ = ["BaseFusion", "check_estimators", "check_internal_cv", "fit_base", "out_of_fold_predictions"]


def check_estimators(estimators, owner: str) -> tuple[list[str], list]:
    """Names and estimators of a list of ``(name, estimator)`` pairs, checked."""
    if not isinstance(estimators, (list, tuple)) or not estimators:
        raise ValueError(f"{owner}: estimators must be a non-empty list of (name, estimator) pairs.")
    names, bases = [], []
    for i, pair in enumerate(estimators):
        if not isinstance(pair, (list, tuple)) or len(pair) != 2 or not isinstance(pair[0], str):
            raise ValueError(f"{owner}: estimators[{i}] must be a (name, estimator) pair, got {pair!r}.")
        name, base = pair
        if "__" in name or not name:
            raise ValueError(f"{owner}: estimator name {name!r} must be non-empty and contain no '__'.")
        if not (hasattr(base, "fit") and hasattr(base, "predict")):
            raise ValueError(f"{owner}: estimator {name!r} ({type(base).__name__}) has no fit/predict.")
        names.append(name)
        bases.append(base)
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ValueError(f"{owner}: estimator names must be unique; repeated: {', '.join(duplicates)}.")
    return names, bases


def check_internal_cv(cv, n_samples: int, random_state, owner: str):
    """A splitter for the internal cross-validation; an int is a shuffled, seeded KFold."""
    if isinstance(cv, Integral):
        if cv < 2:
            raise ValueError(f"{owner}: cv={cv} must be at least 2.")
        if cv > n_samples:
            raise ValueError(f"{owner}: cv={cv} folds is more than the {n_samples} training samples; "
                             "use a smaller cv.")
        return KFold(int(cv), shuffle=True, random_state=random_state)
    return check_cv(cv)


def _failure_hint(X) -> str:
    first = X[0] if len(X) else None
    if type(first).__name__ in ("Structure", "IStructure"):
        return (" Every base receives the raw Structures: make it a Pipeline that starts with a featurizer, "
                "e.g. make_pipeline(MagpieFeaturizer(), RandomForestRegressor()) or "
                "make_pipeline(StructureGraphizer(), CGCNNRegressor()).")
    return ""


def fit_base(name: str, base, X, y, where: str, owner: str):
    """Fit a clone of ``base``; a failure names the base and where it happened."""
    estimator = clone(base)
    try:
        return estimator.fit(X, y)
    except Exception as error:  # re-raised with the base and the fold named
        message = f"{owner}: base estimator {name!r} failed {where}: {type(error).__name__}: {error}"
        message += _failure_hint(X)
        new_type = type(error) if isinstance(error, (ValueError, TypeError)) else RuntimeError
        raise new_type(message) from error


def out_of_fold_predictions(names, bases, X, y, cv, owner: str, verbose: int = 0) -> np.ndarray:
    """Predictions of every base on every sample from a model that never saw it.

    Returns an array of shape ``(n_samples, n_bases)``, or ``(n_samples, n_bases, n_targets)``
    for 2-D ``y``. ``cv`` must partition the samples (each one in exactly one test fold).
    """
    n = len(X)
    splits = list(cv.split(np.zeros((n, 1)), y))
    counts = np.zeros(n, dtype=int)
    for _, test in splits:
        counts[test] += 1
    if not (counts == 1).all():
        raise ValueError(f"{owner}: the internal cv must put every sample in exactly one test fold "
                         "(a partition, like KFold); out-of-fold predictions need it.")
    oof = None
    bar = progress_bar(total=len(bases) * len(splits), desc=f"{owner} out-of-fold", unit="fit")
    for j, (name, base) in enumerate(zip(names, bases)):
        for k, (train, test) in enumerate(splits):
            bar.set_postfix_str(f"{name}, fold {k}", refresh=False)
            start = time.perf_counter()
            where = f"in fold {k} of {len(splits)} of the internal cross-validation"
            model = fit_base(name, base, _safe_indexing(X, train), y[train], where, owner)
            pred = np.asarray(model.predict(_safe_indexing(X, test)), dtype=float)
            if oof is None:
                oof = np.full((n, len(bases), *pred.shape[1:]), np.nan)
            oof[test, j] = pred
            bar.update(1)
            if verbose:
                print(f"[{owner}] {name}: fold {k + 1}/{len(splits)} done in {time.perf_counter() - start:.1f} s",
                      flush=True)
    bar.close()
    return oof


class BaseFusion(RegressorMixin, _BaseComposition):
    """What late fusion and stacking share: nested parameters, refitting the bases, their predictions."""

    def get_params(self, deep=True):
        return self._get_params("estimators", deep=deep)

    def set_params(self, **params):
        self._set_params("estimators", **params)
        return self

    def _check_fit_input(self, X, y):
        """Validated parameters, base names and estimators, samples as a list, targets as floats."""
        from ._late import _prepare_targets

        self._validate_params()
        names, bases = check_estimators(self.estimators, type(self).__name__)
        X = as_sample_list(X)
        return names, bases, X, _prepare_targets(y, len(X), type(self).__name__)

    def _refit_bases(self, names, bases, X, y) -> None:
        owner = type(self).__name__
        self.estimators_ = [fit_base(name, base, X, y, "when fit on all the training data", owner)
                            for name, base in zip(names, bases)]
        self.named_estimators_ = Bunch(**dict(zip(names, self.estimators_)))

    def _base_predictions(self, X) -> np.ndarray:
        """``(n_samples, n_estimators[, n_targets])`` predictions of the refit bases."""
        check_is_fitted(self, "estimators_")
        X = as_sample_list(X)
        return np.stack([np.asarray(est.predict(X), dtype=float) for est in self.estimators_], axis=1)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        tags.target_tags.multi_output = True
        return tags
