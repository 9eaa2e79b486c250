"""ConformalRegressor: prediction intervals with a guaranteed coverage around any skhybrid model."""

from __future__ import annotations

import contextlib
import math
import warnings
from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator, MetaEstimatorMixin, RegressorMixin, clone
from sklearn.model_selection import KFold, LeaveOneOut, train_test_split
from sklearn.utils import _safe_indexing
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from scipy.sparse import issparse
from sklearn.utils.validation import check_array, check_consistent_length, check_is_fitted, column_or_1d

from ._spread import check_confidence_levels, has_spread

__all__ = ["ConformalRegressor"]


def _is_structures(X) -> bool:
    from pymatgen.core import Structure

    return isinstance(X, (list, tuple)) and len(X) > 0 and isinstance(X[0], Structure)


def _default_residual_model(X, random_state):
    """What learns the size of the residuals for ``conformity_score="residual"``: a forest, on Magpie features for Structures."""
    from sklearn.ensemble import RandomForestRegressor
    from sklearn.pipeline import make_pipeline

    forest = RandomForestRegressor(n_estimators=200, min_samples_leaf=5, n_jobs=1, random_state=random_state)
    if _is_structures(X):
        from ..featurizers import MagpieFeaturizer

        return make_pipeline(MagpieFeaturizer(), forest)
    return forest


@contextlib.contextmanager
def _never_out_of_bag_quiet():
    """MAPIE's warnings about samples drawn into every bootstrap sample (NaN rows in its averages),
    replaced by one warning of ours at fit time that counts them and says what to do."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*belongs to every resamplings", category=UserWarning)
        for message in ("invalid value encountered in divide", "Mean of empty slice"):
            warnings.filterwarnings("ignore", message=message, category=RuntimeWarning)
        yield


def conformal_settings(spec, owner="intervals") -> dict:
    """``"cv+:std"`` as ``{"method": "cv+", "conformity_score": "std"}`` (``{}`` for None), checked against
    :class:`ConformalRegressor`'s options before any work starts (the runner's ``--intervals``, ``fit``'s
    ``--interval-method``)."""
    if spec is None:
        return {}
    method, _, score = str(spec).partition(":")
    methods = sorted(ConformalRegressor._parameter_constraints["method"][0].options)
    scores = sorted(ConformalRegressor._parameter_constraints["conformity_score"][0].options)
    if method not in methods or (score and score not in scores):
        raise ValueError(f"{owner}={spec!r} is not METHOD or METHOD:SCORE with METHOD one of {', '.join(methods)} "
                         f"and SCORE one of {', '.join(scores)}; e.g. 'cv+' or 'split:residual'.")
    return {"method": method, "conformity_score": score or "absolute"}


class ConformalRegressor(MetaEstimatorMixin, RegressorMixin, BaseEstimator):
    """Prediction intervals with a guaranteed marginal coverage around any regressor.

    Conformal prediction (Vovk et al. 2005; Lei et al. 2018) turns the errors a
    model makes on data it has not seen into intervals that contain the truth
    with probability at least ``confidence_level`` on new data drawn like the
    training data, whatever the model. The quantile bookkeeping is MAPIE's
    (``mapie.regression``, maintained by Capgemini Invent and scikit-learn-contrib
    alumni; chosen over crepes because it also does CV+ and jackknife+ and
    calls the model's ``fit``/``predict`` itself, so Pipelines from Structures,
    seed ensembles and fusion models go in unchanged).

    Methods:

    - ``"split"``: fit on ``1 - calibration_size`` of the data, calibrate on
      the rest. One fit; the intervals cost a share of the training data.
    - ``"cv+"``: CV+ (Barber et al. 2021): ``cv`` fold models, each
      calibrated on its held-out fold; every sample calibrates. ``cv + 1``
      fits (MAPIE also fits one model on everything). Coverage at least
      ``1 - 2 alpha`` in theory, close to ``1 - alpha`` in practice.
    - ``"jackknife+"``: CV+ with one sample per fold: ``n + 1`` fits; only for
      cheap models.
    - ``"jackknife+-ab"``: jackknife+-after-bootstrap (Kim, Xu & Barber 2020):
      ``n_resamplings`` models on bootstrap samples; each sample is
      calibrated by the mean of the models that did not see it, and a new
      point is predicted by the mean of all of them. Every sample calibrates,
      as in CV+, but the leave-one-out predictions are averages of many
      models, so they disagree less than CV+'s fold models and the intervals
      stay closer to the level asked; the point model becomes a bagged one.
      ``n_resamplings`` fits.

    Conformity scores (``conformity_score``):

    - ``"absolute"``: ``|y - y_pred|``: the same width everywhere.
    - ``"std"``: ``|y - y_pred| / std``, with ``std`` from the model's own
      ``predict(X, return_std=True)`` (a :class:`~skhybrid.models.SeedEnsembleRegressor`,
      a :class:`~skhybrid.fusion.LateFusionRegressor`): the intervals widen
      where the members disagree. Split, CV+ and jackknife+(-ab).
    - ``"residual"``: ``|y - y_pred| / r(x)`` with ``r`` a model of the size of
      the residuals fitted on part of the calibration data (Lei et al. 2018;
      ``residual_estimator``, by default a random forest on Magpie features).
      Split only.
    - ``"relative"``: ``(y - y_pred) / y_pred``, MAPIE's ``GammaConformityScore``
      (Cordier et al. 2023): intervals proportional to the prediction, for a
      strictly positive target whose errors are a share of its size;
      asymmetric, as the signed errors are. The model's predictions must stay
      positive too (a log target keeps them so). Every method.
      On phonons and jdft2d it did not beat constant widths around the same
      model (docs/benchmarks.md, "Prediction intervals").

    Parameters
    ----------
    estimator : estimator
        Any regressor: a Pipeline from Structures, a seed ensemble, a fusion model.
    method : {"cv+", "split", "jackknife+", "jackknife+-ab"}, default="cv+"
    conformity_score : {"absolute", "std", "residual", "relative"}, default="absolute"
        What is made exchangeable (see above; MAPIE's parameter of the same name).
    confidence_level : float or sequence of float, default=0.9
        The level(s) of the intervals ``predict_interval`` returns, each in (0, 1).
    cv : int, default=5
        Folds of ``"cv+"`` (shuffled, seeded by ``random_state``).
    calibration_size : float, default=0.2
        Share of the data that calibrates ``"split"``.
    residual_estimator : estimator, default=None
        The residual model of ``conformity_score="residual"``.
    residual_size : float, default=0.3
        Share of the calibration data that fits the residual model (``conformity_score="residual"``).
    n_resamplings : int, default=30
        Bootstrap models of ``"jackknife+-ab"`` (MAPIE's default; Kim et al. use 20-50).
    random_state : int, RandomState or None, default=None
        Seeds the folds and splits (the estimator keeps its own).
    n_jobs : int, default=None
        Fold or bootstrap models fitted at once by the cross methods (MAPIE's joblib; ``None`` means 1).

    Attributes
    ----------
    conformal_ : MAPIE ``SplitConformalRegressor``, ``CrossConformalRegressor`` or ``JackknifeAfterBootstrapRegressor``
        The fitted and calibrated intervals.
    confidence_levels_ : tuple of float
    n_calibration_ : int
        Samples whose errors set the intervals.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import Ridge
    >>> from skhybrid.uncertainty import ConformalRegressor
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(200, 3))
    >>> y = X @ [1.0, 2.0, 0.0] + rng.normal(size=200)
    >>> model = ConformalRegressor(Ridge(), method="cv+", confidence_level=0.9, random_state=0).fit(X[:150], y[:150])
    >>> intervals = model.predict_interval(X[150:])
    >>> intervals.shape
    (50, 2)
    >>> float(np.mean((intervals[:, 0] <= y[150:]) & (y[150:] <= intervals[:, 1])))
    0.88
    """

    _parameter_constraints: dict = {
        "estimator": [HasMethods(["fit", "predict"])],
        "method": [StrOptions({"cv+", "split", "jackknife+", "jackknife+-ab"})],
        "conformity_score": [StrOptions({"absolute", "std", "residual", "relative"})],
        "confidence_level": [Interval(Real, 0, 1, closed="neither"), "array-like"],
        "cv": [Interval(Integral, 2, None, closed="left")],
        "calibration_size": [Interval(Real, 0, 1, closed="neither")],
        "residual_estimator": [HasMethods(["fit", "predict"]), None],
        "residual_size": [Interval(Real, 0, 1, closed="neither")],
        "n_resamplings": [Interval(Integral, 2, None, closed="left")],
        "random_state": ["random_state"],
        "n_jobs": [Integral, None],
    }

    def __init__(self, estimator, *, method="cv+", conformity_score="absolute", confidence_level=0.9, cv=5,
                 calibration_size=0.2, residual_estimator=None, residual_size=0.3, n_resamplings=30, random_state=None,
                 n_jobs=None):
        self.estimator = estimator
        self.method = method
        self.conformity_score = conformity_score
        self.confidence_level = confidence_level
        self.cv = cv
        self.calibration_size = calibration_size
        self.residual_estimator = residual_estimator
        self.residual_size = residual_size
        self.n_resamplings = n_resamplings
        self.random_state = random_state
        self.n_jobs = n_jobs

    def _check_settings(self, X):
        owner = type(self).__name__
        if self.conformity_score == "residual" and self.method != "split":
            raise ValueError(f"{owner}: conformity_score='residual' calibrates on a held-out set, so it needs method='split' "
                             f"(got method={self.method!r}); for CV+ use conformity_score='std' with an ensemble.")
        if self.conformity_score == "std" and not has_spread(self.estimator):
            raise ValueError(f"{owner}: conformity_score='std' needs a model whose predict takes return_std (a "
                             "SeedEnsembleRegressor or LateFusionRegressor, or a Pipeline ending in one); wrap the "
                             "model in SeedEnsembleRegressor or use conformity_score='absolute'.")

    @contextlib.contextmanager
    def _positive_predictions(self, where):
        """MAPIE's refusal of a prediction <= 0 under the relative score, as a message that says what to do."""
        try:
            yield
        except ValueError as error:
            if "GammaConformityScore" not in str(error):
                raise
            where = where() if callable(where) else where
            raise ValueError(f"{type(self).__name__}: conformity_score='relative' scales the intervals by the "
                             f"prediction, and the model predicts a value <= 0 for {where}; use a model whose "
                             "predictions stay positive (a log target: sklearn's TransformedTargetRegressor("
                             "func=np.log, inverse_func=np.exp)) or conformity_score='absolute'.") from None

    def _first_non_positive(self, X) -> str:
        bad = np.flatnonzero(self.predict(X) <= 0)
        # CV+ bounds use every fold model's prediction: one of them can be <= 0 where their mean is not
        return f"sample {bad[0]}" if len(bad) else "a sample (one of the fold models)"

    def _check_enough(self, n_calibration, levels):
        # a conformal quantile at level 1 - alpha is finite only with enough calibration errors;
        # MAPIE asks for more than 1 / alpha (and 1 / (1 - alpha)) of them
        needed = max(math.floor(round(max(1 / (1 - lv), 1 / lv), 9)) + 1 for lv in levels)
        if n_calibration < needed:
            raise ValueError(f"{type(self).__name__}: {n_calibration} sample(s) to calibrate on cannot give a "
                             f"{max(levels):.0%} interval (at least {needed} are needed); use more data, a larger "
                             "calibration_size, method='cv+', or a lower confidence_level.")

    def fit(self, X, y, **fit_params):
        """Fit the model(s) and calibrate the intervals.

        Parameters
        ----------
        X : what the estimator takes (a list of Structures for a Pipeline from Structures)
        y : array-like of shape (n_samples,)
        **fit_params : dict
            Passed to the estimator's ``fit``.

        Returns
        -------
        self
        """
        from mapie.conformity_scores import GammaConformityScore, ResidualNormalisedScore
        from mapie.regression import CrossConformalRegressor, JackknifeAfterBootstrapRegressor, SplitConformalRegressor

        self._validate_params()
        owner = type(self).__name__
        levels = check_confidence_levels(self.confidence_level, owner)
        if y is None:
            raise ValueError(f"{owner} requires y to be passed, but the target y is None.")
        y = y if isinstance(y, (list, tuple)) or hasattr(y, "iloc") else np.asarray(y)
        bad = np.flatnonzero(~np.isfinite(np.asarray(y, dtype=float).reshape(len(y), -1)).all(axis=1)) \
            if np.asarray(y).dtype.kind in "fiu" else []
        if len(bad):
            raise ValueError(f"{owner}: y of sample {bad[0]} is not finite ({len(bad)} sample(s) with NaN or "
                             "infinite targets); drop those samples before fitting.")
        y = check_array(y, ensure_2d=False, dtype="numeric", input_name="y")
        if y.ndim > 1 and y.shape[1] > 1:
            raise ValueError(f"{owner}: one target at a time (y has {y.shape[1]} columns); fit one "
                             "ConformalRegressor per target.")
        y = column_or_1d(y, warn=True).astype(float)
        bad = np.flatnonzero(y <= 0) if self.conformity_score == "relative" else []
        if len(bad):
            raise ValueError(f"{owner}: conformity_score='relative' scales the intervals by the prediction, so it "
                             f"needs a strictly positive target; y of sample {bad[0]} is {y[bad[0]]:g} "
                             f"({len(bad)} sample(s) <= 0). Use conformity_score='absolute'.")
        if issparse(X):
            X = X.tocsr()  # row indexing: the formats without it (DIA, COO) become CSR
        elif not isinstance(X, (list, tuple)) and not hasattr(X, "iloc"):
            X = np.asarray(X) if hasattr(X, "__array__") else X
        check_consistent_length(X, y)
        self._check_settings(X)
        score = {"absolute": "absolute", "std": "std_normalized", "relative": GammaConformityScore()}.get(
            self.conformity_score)
        fit_params = fit_params or None
        if self.method == "split":
            train, calib = train_test_split(np.arange(len(y)), test_size=self.calibration_size,
                                            random_state=self.random_state)
            n_calibration = len(calib)
            if self.conformity_score == "residual":
                residual = self.residual_estimator
                residual = clone(residual) if residual is not None else _default_residual_model(X, self.random_state)
                score = ResidualNormalisedScore(residual_estimator=residual, split_size=self.residual_size,
                                                random_state=self.random_state)
                n_calibration -= math.ceil(self.residual_size * n_calibration)
            self._check_enough(n_calibration, levels)
            conformal = SplitConformalRegressor(clone(self.estimator), confidence_level=list(levels),
                                                conformity_score=score, prefit=False)
            conformal.fit(_safe_indexing(X, train), y[train], fit_params=fit_params)
            with self._positive_predictions("a calibration sample"):
                conformal.conformalize(_safe_indexing(X, calib), y[calib])
        elif self.method == "jackknife+-ab":
            self._check_enough(len(y), levels)
            conformal = JackknifeAfterBootstrapRegressor(
                clone(self.estimator), confidence_level=list(levels), conformity_score=score, method="plus",
                resampling=self.n_resamplings, aggregation_method="mean", n_jobs=self.n_jobs,
                random_state=self.random_state)
            with self._positive_predictions("an out-of-bag sample of a bootstrap model"), _never_out_of_bag_quiet():
                conformal.fit_conformalize(X, y, fit_params=fit_params)
            never_out = np.flatnonzero(np.isnan(np.asarray(conformal.conformity_scores, dtype=float)))
            if len(never_out):
                warnings.warn(f"{owner}: {len(never_out)} of {len(y)} samples (sample {never_out[0]} first) were drawn "
                              f"into all {self.n_resamplings} bootstrap samples, so no model left them out and they "
                              "calibrate nothing; raise n_resamplings (30 leaves about n * 0.63**30 of them, "
                              "a millionth of n).", UserWarning, stacklevel=2)
            n_calibration = len(y) - len(never_out)
            self._check_enough(n_calibration, levels)
        else:
            self._check_enough(len(y), levels)
            n_splits = len(y) if self.method == "jackknife+" else self.cv
            if n_splits > len(y):
                raise ValueError(f"{owner}: cv={self.cv} folds need at least as many samples; got {len(y)}.")
            cv = LeaveOneOut() if self.method == "jackknife+" else \
                KFold(n_splits, shuffle=True, random_state=self.random_state)
            n_calibration = len(y)
            conformal = CrossConformalRegressor(clone(self.estimator), confidence_level=list(levels),
                                                conformity_score=score, method="plus", cv=cv, n_jobs=self.n_jobs)
            with self._positive_predictions("a held-out sample of a fold model"):
                conformal.fit_conformalize(X, y, fit_params=fit_params)
        self.conformal_ = conformal
        if hasattr(X, "shape") and len(X.shape) == 2:
            self.n_features_in_ = X.shape[1]
        self.confidence_levels_ = levels
        self.n_calibration_ = int(n_calibration)
        return self

    def predict(self, X) -> np.ndarray:
        """Point predictions (the mean of the fold or bootstrap models for the cross methods, MAPIE's default).

        Parameters
        ----------
        X : what the estimator takes

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
        """
        check_is_fitted(self, "conformal_")
        with _never_out_of_bag_quiet():
            return np.asarray(self.conformal_.predict(X), dtype=float)

    def predict_interval(self, X, confidence_level=None) -> np.ndarray:
        """Lower and upper bounds at the fitted confidence level(s).

        Parameters
        ----------
        X : what the estimator takes
        confidence_level : float or sequence of float, default=None
            A subset of the levels given at fit time (``confidence_levels_``); ``None`` gives all of them.

        Returns
        -------
        intervals : ndarray of shape (n_samples, 2) for one level, (n_samples, 2, n_levels) for several
            ``intervals[:, 0]`` is the lower bound, ``intervals[:, 1]`` the upper.
        """
        check_is_fitted(self, "conformal_")
        wanted = self.confidence_level if confidence_level is None else confidence_level
        levels = check_confidence_levels(wanted, type(self).__name__)
        missing = [lv for lv in levels if not any(math.isclose(lv, f) for f in self.confidence_levels_)]
        if missing:
            raise ValueError(f"{type(self).__name__} was calibrated for confidence levels "
                             f"{list(self.confidence_levels_)}, not {missing}: refit with "
                             f"confidence_level={sorted(set(self.confidence_levels_) | set(missing))}.")
        with self._positive_predictions(lambda: self._first_non_positive(X)), _never_out_of_bag_quiet():
            _, intervals = self.conformal_.predict_interval(X)
        intervals = np.asarray(intervals, dtype=float)
        columns = [next(k for k, f in enumerate(self.confidence_levels_) if math.isclose(lv, f)) for lv in levels]
        intervals = intervals[:, :, columns]
        return intervals[:, :, 0] if np.ndim(wanted) == 0 else intervals

    def __sklearn_tags__(self):
        from sklearn.utils import get_tags

        tags = super().__sklearn_tags__()
        tags.input_tags = get_tags(self.estimator).input_tags
        tags.target_tags.required = True
        return tags
