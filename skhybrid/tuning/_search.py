"""HybridSearchCV: Optuna search with cross-validation, pruning and resumable, shared studies."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import optuna
import pandas as pd
from optuna.study import MaxTrialsCallback
from optuna.trial import TrialState
from optuna_integration.sklearn import OptunaSearchCV
from optuna_integration.sklearn.sklearn import _Objective
from sklearn.base import clone
from sklearn.metrics import check_scoring
from sklearn.model_selection import check_cv
from sklearn.utils import check_random_state

from .._config import get_config
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


class _HybridObjective(_Objective):
    """optuna-integration's objective, plus vector weights and the pruning callback."""

    def __init__(self, *args, simplex: dict, prune: bool, **kwargs):
        super().__init__(*args, **kwargs)
        self.simplex = simplex
        self.prune = prune
        self.network_paths = graph_regressor_paths(self.estimator)

    def __call__(self, trial):
        import warnings

        with warnings.catch_warnings():
            # optuna-integration reports CV scores to optuna's deprecated terminator module on every trial
            warnings.filterwarnings("ignore", message=".*optuna.terminator.*", category=FutureWarning)
            return super().__call__(trial)

    def _get_params(self, trial):
        params = {}
        for key, distribution in self.param_distributions.items():
            if isinstance(distribution, SimplexWeights):
                params[key] = distribution.suggest(trial, key)
            else:
                params[key] = trial._suggest(key, distribution)
        if self.prune and self.network_paths:
            callback = OptunaPruningCallback(trial)
            current = self.estimator.get_params(deep=True)
            for path in self.network_paths:
                existing = list(current.get(f"{path}callbacks") or [])
                params[f"{path}callbacks"] = [*existing, ("optuna_pruning", callback)]
        return params


class HybridSearchCV(OptunaSearchCV):
    """Tune any skhybrid estimator or pipeline with Optuna and cross-validation.

    Built on optuna-integration's ``OptunaSearchCV`` (its objective, scores,
    ``best_*`` attributes, ``predict``, ``score``, ``trials_dataframe``), with
    what training graph networks needs:

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
        # OptunaSearchCV's __init__ checks its distributions eagerly; ours are checked in fit
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

    # OptunaSearchCV's machinery reads these; they are fixed here
    enable_pruning = False  # optuna-integration's partial_fit pruning; ours is the callback
    max_iter = 1000
    n_jobs = 1
    subsample = 1.0
    return_train_score = False
    callbacks = None
    catch = ()

    @property
    def study(self):
        return None

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
        X_list = list(X) if not hasattr(X, "shape") else X
        cv = check_cv(self.cv, y, classifier=False)
        self.n_splits_ = cv.get_n_splits(X_list, y, groups)
        self.scorer_ = check_scoring(self.estimator, scoring=self.scoring)
        self.sample_indices_ = np.arange(len(X_list))
        simplex = {key: value for key, value in space.items() if isinstance(value, SimplexWeights)}
        # pruned trials end by an exception, which must reach optuna rather than be scored as a failure
        prune = (not isinstance(self._pruner(), optuna.pruners.NopPruner)
                 and bool(graph_regressor_paths(self.estimator)))
        objective = _HybridObjective(self.estimator, space, X_list, y, cv, False,
                                     "raise" if prune else self.error_score, fit_params, groups, self.max_iter,
                                     False, self.scorer_, simplex=simplex, prune=prune)
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
            try:
                internal = distribution.to_internal_repr(value)
                if not distribution._contains(internal):
                    return None
            except (ValueError, TypeError):
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

    def _refit(self, X, y=None, **fit_params):
        self.best_estimator_ = clone(self.estimator).set_params(**self.best_params_)
        start = time.perf_counter()
        self.best_estimator_.fit(X, y, **fit_params)
        self.refit_time_ = time.perf_counter() - start
        return self

    def _check_is_fitted(self) -> None:
        from sklearn.utils.validation import check_is_fitted

        check_is_fitted(self, ["study_", "search_space_"])

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
