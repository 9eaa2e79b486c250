"""What late fusion and stacking share: checked base estimators and their out-of-fold predictions."""

from __future__ import annotations

import time
from functools import partial
from numbers import Integral

import numpy as np
from sklearn.base import ClassifierMixin, RegressorMixin, TransformerMixin, clone
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import KFold, StratifiedKFold, check_cv
from sklearn.utils import Bunch, _safe_indexing
from sklearn.utils.metaestimators import _BaseComposition
from sklearn.utils.validation import _num_samples, check_is_fitted

from ..utils import fit_all, with_random_state
from ..utils._validation import as_indexable

__all__ = ["BaseFusion", "BaseFusionClassifier", "FoldModels", "aligned_proba", "check_estimators",
           "check_internal_cv", "check_samples", "check_splits", "fit_base", "out_of_fold_predictions",
           "prepare_targets", "sample_weight_fit_params", "score"]


def check_samples(X, owner: str) -> int:
    """The number of samples of ``X``, which is passed on untouched (a list of Structures, an array, ...)."""
    from pymatgen.core import Structure

    if isinstance(X, Structure):
        raise ValueError(f"{owner}: X is a single Structure; wrap it in a list: [structure].")
    if isinstance(X, (str, bytes)):
        raise ValueError(f"{owner}: X must be a list, array, DataFrame or Series of samples, got a string.")
    try:
        return _num_samples(X)
    except TypeError as error:
        raise ValueError(f"{owner}: X must be a list, array, DataFrame or Series of samples, got "
                         f"{type(X).__name__}.") from error


def prepare_targets(y, n_samples: int, owner: str) -> np.ndarray:
    """Targets as floats, 1-D for one target; their length must match the samples."""
    if y is None:
        raise ValueError(f"{owner} requires y to be passed, but the target y is None.")
    y = np.asarray(y, dtype=float)
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.ndim not in (1, 2) or len(y) != n_samples:
        raise ValueError(f"{owner}: y must have one row per sample ({n_samples}), got shape {y.shape}.")
    return y


def score(metric, y, pred) -> float:
    """``metric`` ("mae", "mse" or a callable) of the labelled entries."""
    keep = np.isfinite(y)
    y, pred = y[keep], pred[keep]
    if metric == "mae":
        return float(np.mean(np.abs(y - pred)))
    if metric == "mse":
        return float(np.mean((y - pred) ** 2))
    return float(metric(y, pred))


def check_estimators(estimators, owner: str, *, keep_dropped=False) -> tuple[list[str], list]:
    """Names and estimators of a list of ``(name, estimator)`` pairs, checked; ``"drop"`` ones left out.

    With ``keep_dropped`` the dropped pairs stay in, as ``"drop"``, so that positions match the list.
    """
    if not isinstance(estimators, (list, tuple)) or not estimators:
        raise ValueError(f"{owner}: estimators must be a non-empty list of (name, estimator) pairs.")
    names, bases = [], []
    for i, pair in enumerate(estimators):
        if not isinstance(pair, (list, tuple)) or len(pair) != 2 or not isinstance(pair[0], str):
            raise ValueError(f"{owner}: estimators[{i}] must be a (name, estimator) pair, got {pair!r}.")
        name, base = pair
        if "__" in name or not name:
            raise ValueError(f"{owner}: estimator name {name!r} must be non-empty and contain no '__'.")
        if isinstance(base, str) and base == "drop":
            if keep_dropped:
                names.append(name)
                bases.append(base)
            continue
        if not (hasattr(base, "fit") and hasattr(base, "predict")):
            raise ValueError(f"{owner}: estimator {name!r} ({type(base).__name__}) has no fit/predict; "
                             "use an estimator or 'drop'.")
        names.append(name)
        bases.append(base)
    all_names = [pair[0] for pair in estimators]
    duplicates = sorted({n for n in all_names if all_names.count(n) > 1})
    if duplicates:
        raise ValueError(f"{owner}: estimator names must be unique; repeated: {', '.join(duplicates)}.")
    if not any(not isinstance(b, str) for b in bases):
        raise ValueError(f"{owner}: every estimator is 'drop'; keep at least one.")
    return names, bases


def sample_weight_fit_params(name: str, base, sample_weight, owner: str) -> dict:
    """How ``base.fit`` takes ``sample_weight``: directly, or a Pipeline's last step by name."""
    if sample_weight is None:
        return {}
    from sklearn.pipeline import Pipeline
    from sklearn.utils.validation import has_fit_parameter

    if isinstance(base, Pipeline):
        last_name, last = base.steps[-1]
        if last not in (None, "passthrough") and has_fit_parameter(last, "sample_weight"):
            return {f"{last_name}__sample_weight": sample_weight}
    elif has_fit_parameter(base, "sample_weight"):
        return {"sample_weight": sample_weight}
    raise ValueError(f"{owner}: estimator {name!r} ({type(base).__name__}) does not take sample_weight; "
                     "drop it, or fit without sample_weight.")


def check_internal_cv(cv, n_samples: int, random_state, owner: str, y=None):
    """A splitter for the internal cross-validation; an int is a shuffled, seeded KFold.

    With class labels ``y`` (a classifier) an int is a shuffled, seeded StratifiedKFold, which needs
    every class ``cv`` times.
    """
    if isinstance(cv, Integral):
        if cv < 2:
            raise ValueError(f"{owner}: cv={cv} must be at least 2.")
        if cv > n_samples:
            raise ValueError(f"{owner}: cv={cv} folds is more than the training samples (n_samples={n_samples}); "
                             "use a smaller cv.")
        if y is None:
            return KFold(int(cv), shuffle=True, random_state=random_state)
        labels, counts = np.unique(y, return_counts=True)
        if counts.min() < cv:
            raise ValueError(f"{owner}: class {labels[counts.argmin()].tolist()!r} has {counts.min()} sample(s), "
                             f"fewer than cv={cv} folds; use a smaller cv or more data of that class.")
        return StratifiedKFold(int(cv), shuffle=True, random_state=random_state)
    return check_cv(cv)


def _failure_hint(X, base) -> str:
    wrapped = base.get_params(deep=True).values() if hasattr(base, "get_params") else ()
    if any(type(part).__name__ == "Pipeline" for part in (base, *wrapped)):
        return ""  # a featurizer is in front already (perhaps inside a wrapper): the error is elsewhere
    first = _safe_indexing(X, [0])[0] if _num_samples(X) and not hasattr(X, "iloc") else None
    if type(first).__name__ in ("Structure", "IStructure"):
        return (" Every base receives the raw Structures: make it a Pipeline that starts with a featurizer, "
                "e.g. make_pipeline(MagpieFeaturizer(), RandomForestRegressor()) or "
                "make_pipeline(StructureGraphizer(), CGCNNRegressor()).")
    return ""


def fit_base(name: str, base, X, y, where: str, owner: str, fit_params=None):
    """Fit a clone of ``base``; a failure names the base and where it happened."""
    estimator = clone(base)
    try:
        return estimator.fit(X, y, **(fit_params or {}))
    except Exception as error:  # re-raised with the base and the fold named
        message = f"{owner}: base estimator {name!r} failed {where}: {type(error).__name__}: {error}"
        message += _failure_hint(X, base)
        new_type = type(error) if isinstance(error, (ValueError, TypeError)) else RuntimeError
        raise new_type(message) from error


def check_splits(cv, X, y, owner: str, *, require_partition: bool) -> list:
    """The internal splits; each sample in exactly one test fold, or at most one when not ``require_partition``."""
    n = _num_samples(X)
    splits = list(cv.split(np.zeros((n, 1)), y))
    counts = np.zeros(n, dtype=int)
    for _, test in splits:
        counts[test] += 1
    if require_partition and not (counts == 1).all():
        raise ValueError(f"{owner}: the internal cv must put every sample in exactly one test fold "
                         "(a partition, like KFold); out-of-fold predictions need it.")
    if (counts > 1).any() or not counts.any():
        raise ValueError(f"{owner}: the internal cv must put each sample in at most one test fold, and some "
                         "sample in one (e.g. KFold, or DisjointHoldouts for a few held-out slices).")
    return splits


def held_out_fold_index(splits, n_samples: int) -> np.ndarray:
    """The internal test fold of each sample (``-1`` for a sample in none)."""
    fold = np.full(n_samples, -1)
    for k, (_, test) in enumerate(splits):
        fold[test] = k
    return fold


def aligned_proba(model, X, classes) -> np.ndarray:
    """``model.predict_proba(X)`` with one column per entry of ``classes`` (0 for a class it never saw)."""
    proba = np.asarray(model.predict_proba(X), dtype=float)
    seen = np.asarray(getattr(model, "classes_", classes))
    if len(seen) == len(classes) and (seen == classes).all():
        return proba
    full = np.zeros((len(proba), len(classes)))
    full[:, np.searchsorted(classes, seen)] = proba
    return full


def out_of_fold_predictions(names, bases, X, y, cv, owner: str, verbose: int = 0, *, require_partition=True,
                            n_jobs=None, fold_seeds=None, return_models=False, sample_weight=None, classes=None):
    """Predictions of every base on every held-out sample from a model that never saw it.

    Returns an array of shape ``(n_samples, n_bases)``, or ``(n_samples, n_bases, n_targets)``
    for 2-D ``y``; NaN for samples in no test fold (allowed when not ``require_partition``).
    With ``classes`` (a classifier's sorted labels), the bases' ``predict_proba`` instead, as
    ``(n_samples, n_bases, n_classes)``, a column per class even where a fold lacked one.
    The ``(base, fold)`` fits run in parallel with ``n_jobs`` (one torch thread each). With
    ``fold_seeds``, the model of fold ``k`` has every ``random_state`` set to ``fold_seeds[k]``.
    With ``return_models``, also the fitted models, a list per base.
    """
    n = _num_samples(X)
    splits = check_splits(cv, X, y, owner, require_partition=require_partition)
    fits = []
    for name, base in zip(names, bases):
        for k, (train, _) in enumerate(splits):
            model = base if fold_seeds is None else with_random_state(base, fold_seeds[k])
            where = f"in fold {k} of {len(splits)} of the internal cross-validation"
            weights = None if sample_weight is None else sample_weight[train]
            fits.append(partial(fit_base, name, model, _safe_indexing(X, train), y[train], where, owner,
                                sample_weight_fit_params(name, base, weights, owner)))
    start = time.perf_counter()
    fitted = fit_all(fits, n_jobs=n_jobs, desc=f"{owner} out-of-fold")
    if verbose:
        print(f"[{owner}] {len(fits)} internal fits done in {time.perf_counter() - start:.1f} s", flush=True)
    oof, models = None, []
    for j in range(len(bases)):
        models.append(fitted[j * len(splits):(j + 1) * len(splits)])
        for model, (_, test) in zip(models[-1], splits):
            X_test = _safe_indexing(X, test)
            pred = np.asarray(model.predict(X_test), dtype=float) if classes is None else \
                aligned_proba(model, X_test, classes)
            if oof is None:
                oof = np.full((n, len(bases), *pred.shape[1:]), np.nan)
            oof[test, j] = pred
    return (oof, models) if return_models else oof


class FoldModels:
    """The models of one base fitted on the internal folds, predicting as their mean (a fitted committee).

    What ``LateFusionRegressor(refit=False)`` keeps for each base instead of a refit:
    ``estimators_`` are the fold models, ``predict(X, return_std=True)`` also gives their spread.
    """

    def __init__(self, estimators, classes=None):
        self.estimators_ = list(estimators)
        if classes is not None:
            self.classes_ = np.asarray(classes)

    def predict_proba(self, X):
        """The mean of the fold models' class probabilities (a classifier's committee)."""
        return np.mean([aligned_proba(m, X, self.classes_) for m in self.estimators_], axis=0)

    def transform(self, X):
        return np.stack([np.asarray(m.predict(X), dtype=float) for m in self.estimators_], axis=1)

    def predict(self, X, return_std=False):
        predictions = self.transform(X)
        mean = predictions.mean(axis=1)
        return (mean, predictions.std(axis=1)) if return_std else mean


class FusionBase(TransformerMixin, _BaseComposition):
    """What late fusion and stacking share, regressors and classifiers: nested parameters, refitting the bases.

    Like scikit-learn's heterogeneous ensembles: ``X`` goes to every base untouched (a list of
    Structures for Pipelines that start with a featurizer, a 2-D array for ordinary estimators), a base
    may be ``"drop"``, and ``transform`` gives the bases' predictions.
    """

    def get_params(self, deep=True):
        return self._get_params("estimators", deep=deep)

    def set_params(self, **params):
        self._set_params("estimators", **params)
        return self

    def _check_fit_input(self, X, y, sample_weight=None):
        """Validated parameters, base names and estimators, X untouched, targets and sample weights as floats."""
        self._validate_params()
        owner = type(self).__name__
        names, bases = check_estimators(self.estimators, owner)
        X = as_indexable(X)
        n_samples = check_samples(X, owner)
        # X goes to the bases untouched; for a table, remember its width and names as scikit-learn does
        shape = getattr(X, "shape", None)
        if shape is not None and len(shape) == 2:
            self.n_features_in_ = int(shape[1])
            if hasattr(X, "columns"):
                self.feature_names_in_ = np.asarray(X.columns, dtype=object)
        if sample_weight is not None:
            from sklearn.utils.validation import _check_sample_weight

            sample_weight = _check_sample_weight(sample_weight, np.zeros((n_samples, 1)))
        return names, bases, X, self._prepare_targets(y, n_samples), sample_weight

    def _prepare_targets(self, y, n_samples):
        return prepare_targets(y, n_samples, type(self).__name__)

    def _refit_bases(self, names, bases, X, y, n_jobs=None, sample_weight=None) -> None:
        owner = type(self).__name__
        fits = [partial(fit_base, name, base, X, y, "when fit on all the training data", owner,
                        sample_weight_fit_params(name, base, sample_weight, owner))
                for name, base in zip(names, bases)]
        self.estimators_ = fit_all(fits, n_jobs=n_jobs, desc=f"{owner} refit")
        self.named_estimators_ = Bunch(**dict(zip(names, self.estimators_)))

    def _use_prefit(self, names, bases) -> None:
        """``cv="prefit"``: the bases are fitted already; use them as they are."""
        for name, base in zip(names, bases):
            try:
                check_is_fitted(base)
            except NotFittedError as error:
                raise NotFittedError(f"{type(self).__name__}: cv='prefit' but estimator {name!r} is not fitted; "
                                     "fit it first, or use a cross-validation.") from error
        self.estimators_ = list(bases)
        self.named_estimators_ = Bunch(**dict(zip(names, self.estimators_)))

    def get_feature_names_out(self, input_features=None):
        """Names of ``transform``'s columns: the bases' names (with ``_k`` for target ``k`` of several).

        Parameters
        ----------
        input_features : None
            Ignored.

        Returns
        -------
        ndarray of str
        """
        check_is_fitted(self, "estimators_")
        names = list(self.named_estimators_)
        n_targets = getattr(self, "n_targets_", 1)
        if n_targets > 1:
            names = [f"{name}_{k}" for name in names for k in range(n_targets)]
        return np.asarray(names, dtype=object)

    def _base_predictions(self, X) -> np.ndarray:
        """``(n_samples, n_estimators[, n_targets])`` predictions of the refit bases."""
        check_is_fitted(self, "estimators_")
        X = as_indexable(X)
        check_samples(X, type(self).__name__)
        return np.stack([np.asarray(est.predict(X), dtype=float) for est in self.estimators_], axis=1)

    def __sklearn_tags__(self):
        from sklearn.utils import get_tags

        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        tags.target_tags.required = True
        # X is passed through: what it may be is what every base takes
        bases = [b for _, b in self.estimators if not (isinstance(b, str) and b == "drop")]
        try:
            inner = [get_tags(b).input_tags for b in bases]
        except Exception:  # a base that is no scikit-learn estimator: keep the defaults
            inner = []
        if inner:
            tags.input_tags.two_d_array = all(t.two_d_array for t in inner)
            tags.input_tags.sparse = all(t.sparse for t in inner)
            tags.input_tags.allow_nan = all(t.allow_nan for t in inner)
        return tags


class BaseFusion(RegressorMixin, FusionBase):
    """Late fusion and stacking of regressors."""


class BaseFusionClassifier(ClassifierMixin, FusionBase):
    """Late fusion and stacking of classifiers: labels checked, ``classes_`` set, probabilities blended."""

    def _prepare_targets(self, y, n_samples):
        from sklearn.utils.multiclass import check_classification_targets
        from sklearn.utils.validation import column_or_1d

        owner = type(self).__name__
        if y is None:
            raise ValueError(f"{owner} requires y to be passed, but the target y is None.")
        y = column_or_1d(y, warn=True)
        if len(y) != n_samples:
            raise ValueError(f"{owner}: y must have one label per sample ({n_samples}), got {len(y)}.")
        check_classification_targets(y)
        self.classes_ = np.unique(y)
        if len(self.classes_) < 2:
            raise ValueError(f"{owner} needs at least 2 classes in y; it has 1 class, {self.classes_.tolist()}.")
        return y

    def _base_probabilities(self, X) -> np.ndarray:
        """``(n_samples, n_estimators, n_classes)`` probabilities of the fitted bases."""
        check_is_fitted(self, "estimators_")
        X = as_indexable(X)
        check_samples(X, type(self).__name__)
        return np.stack([aligned_proba(est, X, self.classes_) for est in self.estimators_], axis=1)

    def get_feature_names_out(self, input_features=None):
        """Names of ``transform``'s columns: ``<base>`` (the probability of ``classes_[1]``) for two
        classes, ``<base>_<class>`` for more.

        Parameters
        ----------
        input_features : None
            Ignored.

        Returns
        -------
        ndarray of str
        """
        check_is_fitted(self, "estimators_")
        names = list(self.named_estimators_)
        if len(self.classes_) > 2:
            names = [f"{name}_{label}" for name in names for label in self.classes_]
        return np.asarray(names, dtype=object)

    def transform(self, X) -> np.ndarray:
        """Each base's class probabilities: of ``classes_[1]`` for two classes (``(n, n_estimators)``),
        of every class for more (``(n, n_estimators * n_classes)``, base by base).

        Parameters
        ----------
        X : list, array or Series of samples (e.g. Structures)

        Returns
        -------
        ndarray
        """
        check_is_fitted(self, "estimators_")
        proba = self._base_probabilities(X)
        return proba[:, :, 1] if len(self.classes_) == 2 else proba.reshape(len(proba), -1)

    def predict(self, X):
        """The most probable class of each sample.

        Parameters
        ----------
        X : list, array or Series of samples (e.g. Structures)

        Returns
        -------
        labels : ndarray of shape (n_samples,)
        """
        check_is_fitted(self, "estimators_")
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = False
        return tags
