"""HybridSearchCV: Optuna search with cross-validation, pruning and resumable, shared studies."""

from __future__ import annotations

import time
import warnings
from pathlib import Path

import numpy as np
import optuna
import pandas as pd
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution
from optuna.study import MaxTrialsCallback
from optuna.trial import TrialState
from sklearn.base import BaseEstimator, MetaEstimatorMixin, clone
from sklearn.metrics import check_scoring
from sklearn.model_selection import check_cv
from sklearn.utils import _safe_indexing, check_random_state
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import _num_samples, check_is_fitted

from .._config import get_config
from ..utils._validation import as_indexable
from ._pruning import OptunaPruningCallback
from ._space import (
    SimplexWeights,
    check_search_space,
    default_search_space,
    graph_regressor_paths,
)
from ._storage import open_storage

__all__ = ["HybridSearchCV"]

FINISHED = (TrialState.COMPLETE, TrialState.PRUNED)


def suggest(trial, key: str, distribution):
    """A trial's value for ``key``, through Optuna's public ``suggest_*`` methods."""
    if isinstance(distribution, SimplexWeights):
        return distribution.suggest(trial, key)
    if isinstance(distribution, FloatDistribution):
        return trial.suggest_float(key, distribution.low, distribution.high, log=distribution.log,
                                   step=distribution.step)
    if isinstance(distribution, IntDistribution):
        return trial.suggest_int(key, distribution.low, distribution.high, log=distribution.log,
                                 step=distribution.step)
    if isinstance(distribution, CategoricalDistribution):
        return trial.suggest_categorical(key, distribution.choices)
    raise ValueError(f"Search-space value of {key!r} must be a Float, Int or Categorical distribution or "
                     f"SimplexWeights, got {type(distribution).__name__}.")


def contains(distribution, value) -> bool:
    """Whether ``value`` is a value ``distribution`` can take (public attributes only)."""
    if isinstance(distribution, CategoricalDistribution):
        return any(value == choice and type(value) is type(choice) for choice in distribution.choices)
    if isinstance(value, (bool, str)) or not np.isscalar(value):
        return False
    if not distribution.low <= value <= distribution.high:
        return False
    if isinstance(distribution, IntDistribution):
        return float(value).is_integer() and (value - distribution.low) % distribution.step == 0
    if distribution.step is not None:
        steps = (value - distribution.low) / distribution.step
        return abs(steps - round(steps)) < 1e-8
    return True


class _Objective:
    """Cross-validate the estimator with a trial's parameters; record the scores on the trial."""

    def __init__(self, search, X, y, groups, splits, space, fit_params, prune):
        self.search, self.X, self.y, self.groups = search, X, y, groups
        self.splits, self.space, self.fit_params, self.prune = splits, space, fit_params, prune
        self.network_paths = graph_regressor_paths(search.estimator)

    def __call__(self, trial):
        search = self.search
        params = {key: suggest(trial, key, distribution) for key, distribution in self.space.items()}
        if self.prune and self.network_paths:
            # one callback per trial, shared by every clone (see OptunaPruningCallback)
            callback = OptunaPruningCallback(trial)
            current = search.estimator.get_params(deep=True)
            for path in self.network_paths:
                existing = list(current.get(f"{path}callbacks") or [])
                params[f"{path}callbacks"] = [*existing, ("optuna_pruning", callback)]
        scores = []
        for k, (train, test) in enumerate(self.splits):
            estimator = clone(search.estimator).set_params(**params)
            y_train = None if self.y is None else _safe_indexing(self.y, train)
            y_test = None if self.y is None else _safe_indexing(self.y, test)
            try:
                estimator.fit(_safe_indexing(self.X, train), y_train, **self.fit_params)
                score = search.scorer_(estimator, _safe_indexing(self.X, test), y_test)
            except optuna.TrialPruned:
                raise
            except Exception as error:
                if search.error_score == "raise":
                    raise
                warnings.warn(f"HybridSearchCV: trial {trial.number} failed in fold {k} ({type(error).__name__}: "
                              f"{error}); scored {search.error_score}.", UserWarning, stacklevel=2)
                score = search.error_score
            trial.set_user_attr(f"split{k}_test_score", float(score))
            scores.append(float(score))
        trial.set_user_attr("mean_test_score", float(np.mean(scores)))
        trial.set_user_attr("std_test_score", float(np.std(scores)))
        return float(np.mean(scores))


def _best_estimator_has(method):
    def check(self):
        return hasattr(self.best_estimator_ if hasattr(self, "best_estimator_") else self.estimator, method)

    return check


class HybridSearchCV(MetaEstimatorMixin, BaseEstimator):
    """Tune any skhybrid estimator or pipeline with Optuna and cross-validation.

    Optuna's public API (``create_study``, ``suggest_*``, ``report``,
    ``should_prune``) with scikit-learn's cross-validation and scoring, and what
    training graph networks needs:

    - ``param_distributions=None`` uses :func:`default_search_space`; keys are
      ``set_params`` names (nested pipeline keys work), checked before any work
      starts; :class:`SimplexWeights` tunes a late-fusion weight vector.
    - **Pruning**: each graph network inside the estimator reports its
      validation loss every epoch (:class:`OptunaPruningCallback`), and
      ``pruner`` (default: Optuna's ``MedianPruner``) stops unpromising trials.
    - **Storage**: in memory by default; ``storage="sqlite:///study.db"`` keeps
      the study in a file, and any Optuna RDB URL (e.g. PostgreSQL) lets
      several processes or machines work on one study by ``study_name``.
      ``n_trials`` is the number of finished trials the study should hold:
      running the same search again continues it, and a killed run loses no
      finished trial. An unreachable storage raises before any work,
      naming the URL with its password masked.
    - The best parameters are refit on all the data (``best_estimator_``);
      :meth:`trials_table` and :meth:`save_plots` report the study.

    Parameters
    ----------
    estimator : estimator or Pipeline
    param_distributions : dict or None, default=None
        ``{set_params key: optuna distribution or SimplexWeights}``.
    n_trials : int, default=20
        Finished (complete or pruned) trials the study should hold.
    cv : int, splitter or None, default=5
    scoring : str or callable, default="neg_mean_absolute_error"
    storage : str or None, default=None
        Optuna storage URL; ``None`` keeps the study in memory.
    study_name : str or None, default=None
        Name of the study in ``storage``; ``None`` derives one from the
        estimator's class and the searched keys, so the same call resumes.
    pruner : optuna pruner, "none" or None, default=None
        ``None`` is ``MedianPruner(n_startup_trials=5, n_warmup_steps=30)``: no
        pruning before five trials have finished, nor before a network's 30th
        epoch (early validation losses say little); ``"none"`` disables pruning.
    enqueue_current : bool, default=True
        Make the estimator's current values of the searched parameters (its
        defaults, usually) the study's first trial, so the search never ends
        worse, in cross-validation, than not searching. Skipped when a current
        value lies outside its distribution, or the study already has trials.
    random_state : int, RandomState or None, default=None
        Seeds the TPE sampler: with the estimator's own ``random_state``, a
        rerun gives the same trials and the same best trial.
    timeout : float or None, default=None
        Seconds after which no new trial starts.
    refit : bool, default=True
    error_score : "raise" or float, default="raise"
        What a failing trial scores; ``"raise"`` stops the search.
    verbose : int, default=0

    Attributes
    ----------
    study_ : optuna.study.Study
    best_estimator_ : estimator
    best_params_ : dict
        With :class:`SimplexWeights` keys as the normalised weight vector.
    best_score_ : float
    n_trials_ : int
        Trials in the study (all states, all workers, earlier runs included).
    trials_run_ : list of int
        Numbers of the trials this call ran (none when the study was already complete).
    search_time_, refit_time_ : float
        Seconds spent searching in this call, and refitting.
    search_space_ : dict
    storage_url_ : str or None
        The storage URL, password masked.

    Examples
    --------
    >>> from sklearn.ensemble import RandomForestRegressor
    >>> from sklearn.pipeline import make_pipeline
    >>> from skhybrid import MagpieFeaturizer
    >>> from skhybrid.tuning import HybridSearchCV
    >>> formulas = ["NaCl", "KCl", "LiF", "MgO", "NaF", "KBr", "CaO", "LiCl", "CsI", "RbBr"]
    >>> y = [5.64, 6.29, 4.03, 4.21, 4.63, 6.60, 4.81, 5.13, 4.57, 6.89]
    >>> model = make_pipeline(MagpieFeaturizer(), RandomForestRegressor(n_estimators=20, random_state=0))
    >>> search = HybridSearchCV(model, n_trials=4, cv=3, random_state=0).fit(formulas, y)
    >>> len(search.trials_table()), sorted(search.best_params_)[:2]
    (4, ['randomforestregressor__max_features', 'randomforestregressor__min_samples_leaf'])

    With a graph network, pruning and a study that survives a restart:
    ``HybridSearchCV(make_pipeline(StructureGraphizer(), CGCNNRegressor()),
    n_trials=30, storage="sqlite:///cgcnn.db")``.
    """

    def __init__(self, estimator, param_distributions=None, *, n_trials=20, cv=5,
                 scoring="neg_mean_absolute_error", storage=None, study_name=None, pruner=None,
                 enqueue_current=True, random_state=None, timeout=None, refit=True, error_score="raise", verbose=0):
        self.estimator = estimator
        self.param_distributions = param_distributions
        self.n_trials = n_trials
        self.cv = cv
        self.scoring = scoring
        self.storage = storage
        self.study_name = study_name
        self.pruner = pruner
        self.enqueue_current = enqueue_current
        self.random_state = random_state
        self.timeout = timeout
        self.refit = refit
        self.error_score = error_score
        self.verbose = verbose

    def _search_space(self) -> dict:
        space = self.param_distributions
        if space is None:
            space = default_search_space(self.estimator)
            if not space:
                raise ValueError(f"No default search space for {type(self.estimator).__name__}; "
                                 "pass param_distributions.")
        check_search_space(self.estimator, space)
        return dict(space)

    def _default_study_name(self, space) -> str:
        import hashlib

        digest = hashlib.blake2b(",".join(sorted(space)).encode(), digest_size=6).hexdigest()
        return f"skhybrid-{type(self.estimator).__name__}-{digest}"

    def _pruner(self):
        if isinstance(self.pruner, str):
            if self.pruner != "none":
                raise ValueError(f"pruner must be an optuna pruner, 'none' or None, got {self.pruner!r}.")
            return optuna.pruners.NopPruner()
        return self.pruner if self.pruner is not None else optuna.pruners.MedianPruner(n_startup_trials=5,
                                                                                        n_warmup_steps=30)

    def fit(self, X, y=None, groups=None, **fit_params):
        """Run (or continue) the study, then refit the best parameters on all of ``X``.

        Parameters
        ----------
        X : list, array or Series of samples
            What the estimator takes (Structures, graphs, formulas...).
        y : array-like of shape (n_samples,) or (n_samples, n_targets), default=None
            Targets.
        groups : array-like of shape (n_samples,), default=None
            Group labels for a group-aware ``cv``.
        **fit_params : dict
            Passed to the estimator's ``fit`` in every trial and in the refit.

        Returns
        -------
        self : HybridSearchCV
        """
        if not hasattr(self.estimator, "fit"):
            raise ValueError("estimator must be a scikit-learn estimator.")
        if not isinstance(self.n_trials, (int, np.integer)) or self.n_trials < 1:
            raise ValueError(f"n_trials must be a positive int, got {self.n_trials!r}.")
        space = self._search_space()
        storage, self.storage_url_ = open_storage(self.storage)  # raises before any work if unreachable
        rng = check_random_state(self.random_state)
        sampler = optuna.samplers.TPESampler(seed=int(rng.randint(np.iinfo(np.int32).max)))
        name = self.study_name or self._default_study_name(space)
        verbosity = optuna.logging.get_verbosity()
        optuna.logging.set_verbosity(optuna.logging.INFO if self.verbose else optuna.logging.WARNING)
        try:
            self._run(X, y, groups, space, storage, sampler, name, fit_params)
        finally:
            optuna.logging.set_verbosity(verbosity)
        return self

    def _run(self, X, y, groups, space, storage, sampler, name, fit_params):
        self.study_ = optuna.create_study(storage=storage, study_name=name, direction="maximize", sampler=sampler,
                                          pruner=self._pruner(), load_if_exists=True)
        self.search_space_ = space
        X_list = as_indexable(X) if hasattr(X, "shape") or hasattr(X, "__array__") else list(X)
        cv = check_cv(self.cv, y, classifier=False)
        splits = list(cv.split(np.zeros((_num_samples(X_list), 1)), y, groups))
        self.n_splits_ = len(splits)
        self.scorer_ = check_scoring(self.estimator, scoring=self.scoring)
        prune = (not isinstance(self._pruner(), optuna.pruners.NopPruner)
                 and bool(graph_regressor_paths(self.estimator)))
        objective = _Objective(self, X_list, y, groups, splits, space, fit_params, prune)
        if self.enqueue_current and not self.study_.get_trials(deepcopy=False):
            current = self._current_values(space)
            if current is not None:
                self.study_.enqueue_trial(current)
        remaining = self.n_trials - self._n_finished()
        ran = []
        start = time.perf_counter()
        if remaining > 0:
            self.study_.optimize(objective, n_trials=remaining, timeout=self.timeout,
                                 callbacks=[MaxTrialsCallback(self.n_trials, states=FINISHED),
                                            lambda study, trial: ran.append(trial.number)],
                                 show_progress_bar=bool(self.verbose) or get_config()["show_progress"])
        self.search_time_ = time.perf_counter() - start
        self.trials_run_ = ran
        if not any(t.state == TrialState.COMPLETE for t in self.study_.trials):
            raise RuntimeError(f"No trial of study {name!r} completed (all pruned or failed); "
                               "loosen the pruner or widen the search space.")
        if self.refit:
            self._refit(X_list, y, **fit_params)

    def _current_values(self, space) -> dict | None:
        """The estimator's current values of the searched keys as trial parameters (None if one is out of range)."""
        from ._space import _is_network_passthrough

        params = self.estimator.get_params(deep=True)
        values = {}
        for key, distribution in space.items():
            if key in params:
                value = params[key]
            elif _is_network_passthrough(self.estimator, params, key):
                value = _network_default(self.estimator, params, key)
            else:
                value = None
            if isinstance(distribution, SimplexWeights):
                weights = np.full(distribution.n, 1 / distribution.n) if value is None else np.asarray(value, float)
                if isinstance(value, str) or len(weights) != distribution.n or weights.sum() <= 0:
                    return None
                values.update(zip(distribution.component_names(key), (weights / weights.max()).tolist()))
                continue
            categorical = isinstance(distribution, optuna.distributions.CategoricalDistribution)
            if value is None or (isinstance(value, str) and not categorical):
                return None
            if not contains(distribution, value):
                return None
            values[key] = value
        return values

    def _n_finished(self) -> int:
        return sum(t.state in FINISHED for t in self.study_.get_trials(deepcopy=False))

    @property
    def best_params_(self) -> dict:
        """The best trial's parameters, with :class:`SimplexWeights` as normalised vectors."""
        self._check_is_fitted()
        params = dict(self.study_.best_params)
        for key, distribution in self.search_space_.items():
            if isinstance(distribution, SimplexWeights):
                names = distribution.component_names(key)
                params[key] = distribution.from_raw([params.pop(n) for n in names])
        return params

    def __sklearn_tags__(self):
        from sklearn.utils import get_tags

        tags = super().__sklearn_tags__()
        inner = get_tags(self.estimator)
        tags.input_tags = inner.input_tags
        tags.target_tags = inner.target_tags
        return tags

    def _refit(self, X, y=None, **fit_params):
        self.best_estimator_ = clone(self.estimator).set_params(**self.best_params_)
        start = time.perf_counter()
        self.best_estimator_.fit(X, y, **fit_params)
        self.refit_time_ = time.perf_counter() - start
        return self

    def _check_is_fitted(self) -> None:
        check_is_fitted(self, ["study_", "search_space_"])

    @property
    def best_score_(self) -> float:
        """The best trial's mean cross-validation score."""
        self._check_is_fitted()
        return float(self.study_.best_value)

    @property
    def best_index_(self) -> int:
        """The best trial's number."""
        self._check_is_fitted()
        return int(self.study_.best_trial.number)

    @property
    def n_trials_(self) -> int:
        """Trials in the study (all states, all workers, earlier runs included)."""
        self._check_is_fitted()
        return len(self.study_.get_trials(deepcopy=False))

    @property
    def n_features_in_(self):
        """Features the refit estimator saw (when it records them)."""
        check_is_fitted(self, "best_estimator_")
        return self.best_estimator_.n_features_in_

    @available_if(_best_estimator_has("predict"))
    def predict(self, X):
        """Predict with the refit best estimator.

        Parameters
        ----------
        X : what the estimator takes

        Returns
        -------
        ndarray
        """
        check_is_fitted(self, "best_estimator_")
        return self.best_estimator_.predict(X)

    @available_if(_best_estimator_has("transform"))
    def transform(self, X):
        """Transform with the refit best estimator.

        Parameters
        ----------
        X : what the estimator takes

        Returns
        -------
        ndarray
        """
        check_is_fitted(self, "best_estimator_")
        return self.best_estimator_.transform(X)

    def score(self, X, y=None):
        """The search's ``scoring`` of the refit best estimator on ``X``, ``y``.

        Parameters
        ----------
        X : what the estimator takes
        y : array-like, default=None

        Returns
        -------
        float
        """
        check_is_fitted(self, "best_estimator_")
        return float(self.scorer_(self.best_estimator_, X, y))

    def trials_dataframe(self, **kwargs) -> pd.DataFrame:
        """Optuna's ``Study.trials_dataframe`` of the study.

        Parameters
        ----------
        **kwargs
            Passed to ``optuna.study.Study.trials_dataframe``.

        Returns
        -------
        DataFrame
        """
        self._check_is_fitted()
        return self.study_.trials_dataframe(**kwargs)

    @property
    def cv_results_(self) -> dict:
        """Scores of the complete trials (pruned trials have none), as lists per key."""
        table = self.trials_table()
        table = table[table["state"] == "COMPLETE"]
        return {column: table[column].tolist() for column in table.columns}

    def trials_table(self) -> pd.DataFrame:
        """One row per trial: number, state, mean and spread of the CV score, duration and parameters."""
        self._check_is_fitted()
        rows = []
        for trial in self.study_.get_trials(deepcopy=False):
            row = {"number": trial.number, "state": trial.state.name,
                   "mean_test_score": trial.user_attrs.get("mean_test_score", np.nan),
                   "std_test_score": trial.user_attrs.get("std_test_score", np.nan),
                   "duration_s": trial.duration.total_seconds() if trial.duration is not None else np.nan,
                   "last_step": trial.last_step}
            row.update({f"param_{key}": value for key, value in trial.params.items()})
            rows.append(row)
        return pd.DataFrame(rows)

    def save_plots(self, directory) -> list[Path]:
        """Save the optimisation history and parameter importances as PNG files.

        The importance plot needs at least two complete trials and is skipped otherwise.

        Parameters
        ----------
        directory : str or Path
            Created if missing.

        Returns
        -------
        list of Path
            The files written.
        """
        import matplotlib

        if matplotlib.get_backend().lower() not in ("agg", "pdf", "svg", "ps") and not matplotlib.is_interactive():
            matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        from optuna.visualization import matplotlib as optuna_plots

        self._check_is_fitted()
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        paths = []
        plots = [("optimization_history", optuna_plots.plot_optimization_history)]
        if sum(t.state == TrialState.COMPLETE for t in self.study_.trials) >= 2:
            plots.append(("param_importances", optuna_plots.plot_param_importances))
        import warnings

        for name, plot in plots:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # optuna marks its matplotlib backend experimental
                ax = plot(self.study_)
            path = directory / f"{self.study_.study_name}_{name}.png"
            ax.figure.tight_layout()
            ax.figure.savefig(path, dpi=120)
            plt.close(ax.figure)
            paths.append(path)
        return paths


def _network_default(estimator, params, key):
    """Default of a ``module__`` argument not set on a GraphRegressor: the module's own default."""
    import inspect

    from ._space import graph_regressor_paths

    for path in graph_regressor_paths(estimator, params):
        if key.startswith(path) and key[len(path):].startswith("module__"):
            network = estimator if not path else params[path[:-2]]
            module = network._module_class()
            name = key[len(path) + len("module__"):]
            candidates = [module]
            backbone = getattr(network, "backbone", None)
            if backbone is not None:  # early fusion forwards unknown arguments to its backbone
                from ..nn._fusion import BACKBONES

                candidates.append(BACKBONES[backbone])
            for candidate in candidates:
                parameter = inspect.signature(candidate.__init__).parameters.get(name)
                if parameter is not None and parameter.default is not inspect.Parameter.empty:
                    return parameter.default
    return None
