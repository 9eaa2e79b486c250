"""Tuning a fusion model with Optuna: cross-validated, pruned, resumable.

``HybridSearchCV`` searches ``default_search_space(model)`` (learning rate, weight decay, batch size, width
and depth of the backbone, fusion width and dropout, the graphizer's cutoff and neighbours) with TPE,
3-fold CV inside the training data, pruning of trials whose validation loss lags, and a SQLite study that
a rerun continues. Trial 0 is the model's own configuration, so the search cannot end worse in CV.

    python examples/09_tuning.py [--smoke] [--data-dir DIR] [--out DIR]
"""

# %%
from example_settings import DATA_DIR, OUT, smoke_or, subset, take
from sklearn.metrics import mean_absolute_error as mae
from sklearn.pipeline import Pipeline

from skhybrid import MagpieFeaturizer, StructureGraphizer, load_matbench
from skhybrid.fusion import EarlyFusionRegressor
from skhybrid.tuning import HybridSearchCV, default_search_space

data = load_matbench("matbench_jdft2d", data_home=DATA_DIR)
y = data.targets.iloc[:, 0].to_numpy()
train, test = data.folds[0]
train, test = subset(train, smoke_or(None, 90)), subset(test, smoke_or(None, 40))
X_train, X_test = take(data.structures, train), take(data.structures, test)

model = Pipeline([
    ("graph", StructureGraphizer(global_features=MagpieFeaturizer())),
    ("fusion", EarlyFusionRegressor(fusion="attention", max_epochs=smoke_or(60, 2), patience=15, random_state=0)),
])
space = default_search_space(model)
print("searching:", ", ".join(sorted(space)))

# %% A study on disk: stop this script at any time and run it again, it continues
storage = f"sqlite:///{(OUT / '09_tuning.db').resolve()}"
n_trials = smoke_or(12, 2)
search = HybridSearchCV(model, space, n_trials=n_trials, cv=3, storage=storage, random_state=0)
search.fit(X_train, y[train])
print(f"{len(search.trials_run_)} trial(s) run now; the study holds {len(search.trials_table())} "
      f"(CV searching took {search.search_time_:.0f} s)")
print(search.trials_table()[["number", "state", "mean_test_score", "duration_s"]].round(2).to_string(index=False))

# %% The best configuration, refit on all the training data, against the defaults
defaults = model.fit(X_train, y[train])
print(f"\ntest MAE, defaults: {mae(y[test], defaults.predict(X_test)):.2f} {data.unit}")
print(f"test MAE, tuned:    {mae(y[test], search.predict(X_test)):.2f} {data.unit}")
print("best parameters:", {k.split("__", 1)[1]: v for k, v in search.best_params_.items()})
paths = search.save_plots(OUT / "09_tuning")
print("plots:", ", ".join(p.name for p in paths))
