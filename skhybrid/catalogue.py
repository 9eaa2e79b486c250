"""The catalogue: every ready-made skhybrid model, by name.

One entry per model: what it is, how to build it from a few options (seed, quick mode, device) and
its default search space. The command line (``skhybrid benchmark --models``, ``skhybrid fit``), the
benchmark runner, tuning (``--tune``), the examples and the tests all read this one list, so adding a
model is a network module, an estimator class and an entry here.

>>> from skhybrid.catalogue import CATALOGUE, build
>>> "hybrid" in CATALOGUE
True
>>> build("rf-magpie", seed=0)
Pipeline(steps=[('magpie', MagpieFeaturizer()),
                ('rf', RandomForestRegressor(n_estimators=500, n_jobs=1, random_state=0))])
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Callable

__all__ = ["CATALOGUE", "DEFAULT_BENCHMARK", "CatalogueEntry", "DEFAULT_MODELS", "MODELS", "ModelSpec", "TASK_TYPES",
           "build", "build_model", "check_model_names", "check_task_type", "resolve_models", "search_space"]


@dataclass(frozen=True)
class CatalogueEntry:
    """A catalogue entry: a name, what it is, how to build it, and its search space.

    Parameters
    ----------
    name : str
        The name ``--models`` and :func:`build` take.
    description : str
        One line shown by ``skhybrid benchmark --help`` and in the docs.
    build : callable
        ``build(seed, quick)`` returns a fresh, unfitted estimator that takes Structures.
    search_space : callable, optional
        ``search_space(estimator)`` returns the default Optuna space of a built estimator;
        ``None`` derives it from the estimator's parts
        (:func:`skhybrid.tuning.default_search_space`).
    classifier : callable, optional
        ``classifier(seed, quick)`` builds the model's counterpart for classification tasks (the same
        features, network and fusion, with a logistic output and soft voting); ``None``: the model
        is for regression only.

    Examples
    --------
    >>> from skhybrid.catalogue import CATALOGUE
    >>> CATALOGUE["rf-magpie"].description
    '145 Magpie composition features + random forest (500 trees)'
    """

    name: str
    description: str
    build: Callable  # (seed: int, quick: bool) -> estimator taking Structures
    search_space: Callable | None = None
    classifier: Callable | None = None  # (seed: int, quick: bool) -> classifier taking Structures


#: the name this class had in ``skhybrid.benchmark`` (kept for one release)
ModelSpec = CatalogueEntry


def _trees(quick):
    return 50 if quick else 500


def _gnn(quick, **params):
    training = dict(max_epochs=5, patience=5) if quick else dict(max_epochs=300, patience=40)
    return {**training, **params}


def _rf(seed, quick, classify=False):
    from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor
    from sklearn.pipeline import Pipeline

    from .featurizers import MagpieFeaturizer

    forest = RandomForestClassifier if classify else RandomForestRegressor
    # n_jobs=1, not None: inside a Dask task (joblib's backend) None means the whole cluster, and the trees'
    # predictions would add up in arrival order, changing the last digits from run to run
    return Pipeline([("magpie", MagpieFeaturizer()),
                     ("rf", forest(n_estimators=_trees(quick), random_state=seed, n_jobs=1))])


def _graph_model(cls_name, graphizer, seed, quick, classify=False, **params):
    """``StructureGraphizer(**graphizer)`` then ``<cls_name>Regressor`` (or ``Classifier``) with ``params``."""
    from sklearn.pipeline import Pipeline

    from . import models
    from .featurizers import StructureGraphizer

    cls = getattr(models, cls_name + ("Classifier" if classify else "Regressor"))
    network = cls(**_gnn(quick, **params), random_state=seed)
    return Pipeline([("graph", StructureGraphizer(**graphizer)), ("gnn", network)])


def _classifier(build):
    """The classification counterpart of a ``build(seed, quick, classify=False)`` function."""
    return partial(build, classify=True)


def _cgcnn(seed, quick, classify=False):
    return _graph_model("CGCNN", {}, seed, quick, classify)


def _alignn(seed, quick, classify=False):
    params = dict(module__hidden_channels=64)
    if not quick:
        params.update(max_epochs=100, patience=20)
    return _graph_model("ALIGNN", dict(line_graph=True), seed, quick, classify, **params)


#: ALIGNN at the paper's sizes (width 256, 4 ALIGNN and 4 graph layers, the network's defaults) trained on
#: its published schedule (Choudhary & DeCost 2021: AdamW at 1e-3 with weight decay 1e-5, batch 64, 300
#: epochs, a one-cycle decay, here cosine), keeping the best epoch on the 10% held out. One epoch costs
#: about 68 s on one core of this CPU for a phonons training fold (docs/benchmarks.md), so it is for a GPU.
ALIGNN_PAPER_PARAMS = dict(max_epochs=300, patience=300, batch_size=64, lr=1e-3, weight_decay=1e-5,
                           lr_schedule="cosine", module__hidden_channels=256)


def _alignn_256(seed, quick, classify=False):
    params = dict(ALIGNN_PAPER_PARAMS)
    if quick:  # a smoke test: a width that trains in seconds on a CPU
        params.update(max_epochs=5, patience=5, module__hidden_channels=32)
    return _graph_model("ALIGNN", dict(line_graph=True), seed, False, classify, **params)


def _megnet(seed, quick, classify=False):
    from .featurizers import MagpieFeaturizer

    return _graph_model("MEGNet", dict(global_features=MagpieFeaturizer()), seed, quick, classify)


#: kgcnn's Matbench MEGNet recipe (hyper_mp_phonons.py of aimat-lab/gcnn_keras; 28.76 cm^-1 on phonons):
#: every neighbour within 5 A on 25 Gaussians of width 0.4, a learned element embedding, block MLPs
#: (64, 32, 32), Set2Set on 16-wide projections, Adam at 5e-4 with batch 32, MAE on the standardised
#: target, no validation split and no early stopping, the rate held for the first tenth of the epochs and
#: then decayed linearly to 1/100. kgcnn trains 1000 epochs; one costs about 3.5 s on one core of this
#: CPU for a phonons training fold, so the schedule is compressed to 500 epochs (29 minutes per fold);
#: ``megnet-kgcnn-1000`` keeps kgcnn's 1000, for a GPU.
KGCNN_MEGNET_GRAPH = dict(cutoff=5.0, max_neighbors=None, n_gaussians=25, gaussian_width=0.4, atom_features="z")
KGCNN_MEGNET_EPOCHS = 500
KGCNN_MEGNET_FULL_EPOCHS = 1000


def kgcnn_megnet_params(quick=False, epochs=KGCNN_MEGNET_EPOCHS) -> dict:
    """Estimator parameters of the kgcnn MEGNet recipe (see :data:`KGCNN_MEGNET_GRAPH` for the graphs)."""
    import torch

    return dict(module__hidden_channels=32, module__dense_channels=64, module__block_channels=(64, 32, 32),
                module__readout_channels=16, module__head_channels=(32, 16), loss="mae", batch_size=32,
                lr=5e-4, optimizer=torch.optim.Adam, lr_schedule="linear", validation_fraction=0.0,
                max_epochs=5 if quick else epochs)


def _megnet_kgcnn(seed, quick, classify=False, graph=KGCNN_MEGNET_GRAPH, epochs=KGCNN_MEGNET_EPOCHS, **module):
    params = dict(kgcnn_megnet_params(quick, epochs), **module)
    if classify:  # the recipe's MAE becomes the log loss
        params.pop("loss")
    return _graph_model("MEGNet", graph, seed, False, classify, **params)


#: The boosting settings of gbm-descriptors, fixed before any test fold was scored (issue #18's
#: untuned LightGBM: 1000 trees, learning rate 0.03, 15 leaves, min child 5, subsample 0.8, column
#: sample 0.5, L2 1).
LGBM_PARAMS = dict(n_estimators=1000, learning_rate=0.03, num_leaves=15, min_child_samples=5, subsample=0.8,
                   subsample_freq=1, colsample_bytree=0.5, reg_lambda=1.0, n_jobs=1, verbose=-1)


def _schnet(seed, quick, classify=False):
    graph = dict(cutoff=6.0, max_neighbors=None, n_gaussians=50, atom_features="z")
    return _graph_model("SchNet", graph, seed, quick, classify, module__cutoff=6.0)


def _megnet_60(seed, quick, classify=False):
    from .featurizers import MagpieFeaturizer

    params = dict(max_epochs=5, patience=5) if quick else dict(max_epochs=60, patience=20)
    return _graph_model("MEGNet", dict(global_features=MagpieFeaturizer()), seed, False, classify, **params)


def _megnet_60_multitask(seed, quick, classify=False):
    """``_megnet_60`` trained on the target and the auxiliary targets the runner gives (``--aux-targets``)."""
    from .models import AuxiliaryTargetRegressor

    return AuxiliaryTargetRegressor(_megnet_60(seed, quick))


def _megnet_kgcnn_descriptors(seed, quick, classify=False, features=None):
    """megnet-kgcnn whose global state starts from the descriptor vector of gbm-descriptors (early fusion).

    The state enters every bond, atom and state update and the read-out, so the network sees the vacuum,
    reduced-mass and composition statistics that the element embedding alone cannot; everything else is
    the kgcnn recipe unchanged. ``features`` builds another state (default: ``descriptor_features``).
    """
    state = (features or descriptor_features)()
    return _megnet_kgcnn(seed, quick, classify, graph=dict(KGCNN_MEGNET_GRAPH, global_features=state))


def _megnet_kgcnn_pretrained(seed, quick, classify=False):
    """megnet-kgcnn-descriptors whose state is gbm-pretrained's features: the restacking energy too.

    The descriptor state took the recipe's MEGNet from 54 to 36 meV/atom on jdft2d, and the restacking
    columns took the boosted trees from 33.7 to 30.3; this member has both, so that the hybrid's two
    parts see the same information through different models.
    """
    return _megnet_kgcnn_descriptors(seed, quick, classify, features=pretrained_features)


def _megnet_kgcnn_1000(seed, quick, classify=False):
    return _megnet_kgcnn(seed, quick, classify, epochs=KGCNN_MEGNET_FULL_EPOCHS)


#: What megnet-kgcnn-keras changes in megnet-kgcnn-1000, read from kgcnn's Megnet, MEGnetBlock, Set2Set and
#: Keras' defaults, and fixed before any of its folds was scored: the first block takes the embeddings
#: through one dense pair instead of its own, the weights start as Keras starts them, each block's update
#: MLPs end with a linear layer, and the Set2Set LSTM starts from zeros at every step.
KGCNN_KERAS_MODULE = dict(module__first_block_dense=False, module__weight_init="glorot",
                          module__linear_block_outputs=True, module__set2set_memory=False)
#: ... and its distance expansion: kgcnn's exp(-(d - c_k)^2 / (2 sigma^2)), sigma 0.4, centres every 0.2 A
#: from 0 to 4.8 (KGCNN_MEGNET_GRAPH's Gaussians are narrower, exp(-((d - c_k) / 0.4)^2), to 5 A).
KGCNN_KERAS_GRAPH = dict(KGCNN_MEGNET_GRAPH, gaussian_width=0.4 * 2 ** 0.5, gaussian_stop=4.8)


def _megnet_kgcnn_keras(seed, quick, classify=False, graph=KGCNN_KERAS_GRAPH):
    return _megnet_kgcnn(seed, quick, classify, graph=graph, epochs=KGCNN_MEGNET_FULL_EPOCHS,
                         **KGCNN_KERAS_MODULE)


def _megnet_kgcnn_keras_descriptors(seed, quick, classify=False):
    """megnet-kgcnn-keras whose global state starts from the descriptor vector (as megnet-kgcnn-descriptors).

    The two changes that each helped on their own task are put together, fixed before any of its folds was
    scored: the descriptor state (the recipe's MEGNet from 54 to 36 meV/atom on jdft2d) and kgcnn's build
    with its 1000 epochs (32.75 to 29.97 cm^-1 on phonons). The state's embedding is its only dense pair
    before the first block, as the atoms' is in kgcnn's layout.
    """
    return _megnet_kgcnn_keras(seed, quick, classify, graph=dict(KGCNN_KERAS_GRAPH,
                                                                 global_features=descriptor_features()))


def _two_seeds_of(member):
    """A builder of the seed ensemble of two ``member`` networks, trained side by side (one process each)."""
    def build_two_seeds(seed, quick):
        from .models import SeedEnsembleRegressor

        return SeedEnsembleRegressor(member(seed, quick), n_estimators=2, random_state=seed, n_jobs=2)

    return build_two_seeds


def descriptor_features():
    """Magpie (145) and structure descriptors with local environments (74), side by side."""
    from sklearn.pipeline import FeatureUnion

    from .featurizers import MagpieFeaturizer, StructureFeaturizer

    return FeatureUnion([("magpie", MagpieFeaturizer()), ("structure", StructureFeaturizer(level="local"))])


def pretrained_features():
    """The descriptor features and the pretrained CHGNet's restacking energy of slabs, side by side.

    Of the CHGNet column groups, the restacking columns alone were chosen, on the training folds of jdft2d
    (inner CV, -7.3% against the descriptors; the predictions and the latent vector: +0.1%; all: -6.0%;
    ``benchmarks/bench_pretrained.py``), before any test fold was scored. They are zero for bulk cells.
    """
    from .featurizers import CHGNetFeaturizer

    features = descriptor_features()
    features.transformer_list.append(("chgnet", CHGNetFeaturizer(parts=("restack",))))
    return features


def _gbm_descriptors(seed, quick, classify=False, features=descriptor_features):
    from lightgbm import LGBMClassifier, LGBMRegressor
    from sklearn.pipeline import Pipeline

    from .models import AutoTargetTransformRegressor

    params = dict(LGBM_PARAMS, n_estimators=100) if quick else LGBM_PARAMS
    if classify:
        return Pipeline([("features", features()), ("gbm", LGBMClassifier(**params, random_state=seed))])
    # the target transform and the training objective are chosen per training set by 5-fold CV: absolute
    # error suits jdft2d's outlier-heavy target, squared error phonons' (docs/benchmarks.md)
    gbm = AutoTargetTransformRegressor(LGBMRegressor(**params, random_state=seed),
                                       param_grid={"objective": ["regression", "l1"]}, cv=3 if quick else 5,
                                       random_state=seed)
    return Pipeline([("features", features()), ("gbm", gbm)])


def _gbm_pretrained(seed, quick, classify=False):
    return _gbm_descriptors(seed, quick, classify, features=pretrained_features)


def _hybrid_of(graph_model, descriptor_model=_gbm_descriptors, weights="oof", inner_folds=None):
    def build(seed, quick, classify=False):
        from .fusion import DisjointHoldouts, LateFusionClassifier, LateFusionRegressor

        bases = [("descriptors", descriptor_model(seed, quick, classify)),
                 ("graph", graph_model(seed, quick, classify))]
        if inner_folds is None:
            # two held-out slices of 10%: each base is fitted twice, on 90% of the training data, in parallel
            # processes, and the slices choose the weights; the network's two fits are its final committee
            # (a two-seed ensemble at no extra cost), the cheap descriptor model is refit on everything
            cv = DisjointHoldouts(2, 0.25 if quick else 0.1, random_state=seed)
        else:
            # a shuffled K-fold: every training sample is held out once, so the weights are chosen on all of
            # them rather than on two slices of 10%, and the network's K fold fits are its committee
            cv = 2 if quick else inner_folds
        fusion = LateFusionClassifier if classify else LateFusionRegressor
        return fusion(bases, weights=weights, cv=cv, refit=["descriptors"], n_jobs=2, random_state=seed)

    return build


def _early(fusion):
    def build(seed, quick):
        from sklearn.pipeline import Pipeline

        from .featurizers import MagpieFeaturizer, StructureGraphizer
        from .fusion import EarlyFusionRegressor

        return Pipeline([("graph", StructureGraphizer(global_features=MagpieFeaturizer())),
                         ("gnn", EarlyFusionRegressor("cgcnn", fusion, **_gnn(quick), random_state=seed))])

    return build


def _late(seed, quick, classify=False):
    from .fusion import LateFusionClassifier, LateFusionRegressor

    fusion = LateFusionClassifier if classify else LateFusionRegressor
    return fusion([("rf", _rf(seed, quick, classify)), ("cgcnn", _cgcnn(seed, quick, classify))], weights="oof",
                  cv=2 if quick else 3, random_state=seed)


def _late_all(seed, quick):
    from .fusion import LateFusionRegressor

    bases = [("rf", _rf(seed, quick)), ("cgcnn", _cgcnn(seed, quick)),
             ("early-concat", _early("concat")(seed, quick)), ("early-attention", _early("attention")(seed, quick))]
    return LateFusionRegressor(bases, weights="oof", cv=2 if quick else 3, random_state=seed)


def _stacking(seed, quick, classify=False):
    from .featurizers import MagpieFeaturizer
    from .fusion import StackingFusionClassifier, StackingFusionRegressor

    fusion = StackingFusionClassifier if classify else StackingFusionRegressor
    return fusion([("rf", _rf(seed, quick, classify)), ("cgcnn", _cgcnn(seed, quick, classify))],
                  passthrough_features=MagpieFeaturizer(), cv=2 if quick else 3, random_state=seed)


def _dummy(seed, quick, classify=False):
    from sklearn.dummy import DummyClassifier, DummyRegressor

    return DummyClassifier(strategy="prior") if classify else DummyRegressor(strategy="mean")


CATALOGUE: dict[str, CatalogueEntry] = {spec.name: spec for spec in [
    CatalogueEntry("dummy", "the training mean (scikit-learn's DummyRegressor; the class priors for "
                   "classification): the floor every model must beat", _dummy, classifier=_classifier(_dummy)),
    CatalogueEntry("rf-magpie", "145 Magpie composition features + random forest (500 trees)", _rf,
                   classifier=_classifier(_rf)),
    CatalogueEntry("cgcnn", "CGCNN (Xie & Grossman 2018) on 12-neighbour graphs, up to 300 epochs, early stopping",
                   _cgcnn, classifier=_classifier(_cgcnn)),
    CatalogueEntry("alignn", "ALIGNN (Choudhary & DeCost 2021) with bond angles, width 64, up to 100 epochs", _alignn,
                   classifier=_classifier(_alignn)),
    CatalogueEntry("alignn-256", "ALIGNN at the paper's width 256 and schedule (AdamW, weight decay 1e-5, "
                   "300 epochs, cosine decay, best held-out epoch kept): for a GPU (a phonons epoch takes 0.47 s "
                   "on an H200, 68 s on one CPU core)", _alignn_256, classifier=_classifier(_alignn_256)),
    CatalogueEntry("megnet", "MEGNet (Chen et al. 2019) with the Magpie vector as global state, up to 300 epochs",
                   _megnet, classifier=_classifier(_megnet)),
    CatalogueEntry("schnet", "SchNet (Schütt et al. 2018): continuous-filter convolutions over every neighbour "
                   "within 6 A, up to 300 epochs, early stopping", _schnet, classifier=_classifier(_schnet)),
    CatalogueEntry("megnet-kgcnn", "MEGNet with kgcnn's Matbench recipe: all neighbours within 5 A, element "
                   "embedding, Adam, batch 32, linear decay, no validation split; 500 epochs", _megnet_kgcnn,
                   classifier=_classifier(_megnet_kgcnn)),
    CatalogueEntry("megnet-kgcnn-1000", "megnet-kgcnn with kgcnn's full schedule, 1000 epochs: for a GPU (15 "
                   "minutes per phonons fold on an H200; 35 minutes to 2 hours on one CPU core, by processor)",
                   _megnet_kgcnn_1000,
                   classifier=_classifier(_megnet_kgcnn_1000)),
    CatalogueEntry("megnet-kgcnn-keras", "megnet-kgcnn-1000 laid out and initialised as kgcnn's Keras model: "
                   "kgcnn's wider distance Gaussians, the first block takes the embeddings directly, "
                   "Glorot-uniform weights, zero biases, linear block outputs, a Set2Set whose LSTM starts from "
                   "zeros at every step",
                   _megnet_kgcnn_keras, classifier=_classifier(_megnet_kgcnn_keras)),
    CatalogueEntry("megnet-kgcnn-x2", "two seeds of megnet-kgcnn trained side by side (one torch thread each), "
                   "predictions averaged; member 0 is megnet-kgcnn itself", _two_seeds_of(_megnet_kgcnn)),
    CatalogueEntry("megnet-kgcnn-keras-x2", "two seeds of megnet-kgcnn-keras trained side by side (one torch "
                   "thread each), predictions averaged; member 0 is megnet-kgcnn-keras itself (27.17 cm^-1 on "
                   "phonons; 28-32 minutes per fold on 2 fast CPU cores)", _two_seeds_of(_megnet_kgcnn_keras)),
    CatalogueEntry("megnet-kgcnn-descriptors", "megnet-kgcnn whose global state starts from the 224 descriptors "
                   "of gbm-descriptors (early fusion: the state enters every update and the read-out)",
                   _megnet_kgcnn_descriptors, classifier=_classifier(_megnet_kgcnn_descriptors)),
    CatalogueEntry("gbm-descriptors", "LightGBM on Magpie + structure descriptors (local environments included), "
                   "log or raw target chosen by 5-fold CV on the training data", _gbm_descriptors,
                   classifier=_classifier(_gbm_descriptors)),
    CatalogueEntry("hybrid", "gbm-descriptors and megnet-kgcnn blended with weights chosen on two 10% held-out "
                   "slices of the training data; the network is the committee of its two fits on 90%, the "
                   "descriptor model is refit on everything (about 30 minutes per phonons fold)",
                   _hybrid_of(_megnet_kgcnn), classifier=_classifier(_hybrid_of(_megnet_kgcnn))),
    CatalogueEntry("hybrid-descriptor-state", "hybrid whose graph part is megnet-kgcnn-descriptors: late fusion "
                   "of two models that both see the descriptors, one by trees, one as a graph network's state",
                   _hybrid_of(_megnet_kgcnn_descriptors),
                   classifier=_classifier(_hybrid_of(_megnet_kgcnn_descriptors))),
    CatalogueEntry("hybrid-descriptor-state-oof-or-equal", "hybrid-descriptor-state whose blend keeps its fitted "
                   "weights only if fitting them pays when cross-validated over its two held-out slices, and "
                   "averages its parts equally otherwise (LateFusionRegressor(weights='oof-or-equal'))",
                   _hybrid_of(_megnet_kgcnn_descriptors, weights="oof-or-equal"),
                   classifier=_classifier(_hybrid_of(_megnet_kgcnn_descriptors, weights="oof-or-equal"))),
    CatalogueEntry("hybrid-descriptor-state-cv5", "hybrid-descriptor-state whose weights are chosen on the "
                   "out-of-fold predictions of a 5-fold split of the whole training set instead of two 10% "
                   "slices; the network is the committee of its five fold fits on 80%, the descriptor model is "
                   "refit on everything (five network fits instead of two; 32.41 meV/atom on jdft2d, about "
                   "16 minutes per jdft2d fold on 2 fast CPU cores; 26.08 cm^-1 on phonons, 41-44 minutes "
                   "per fold)",
                   _hybrid_of(_megnet_kgcnn_descriptors, inner_folds=5),
                   classifier=_classifier(_hybrid_of(_megnet_kgcnn_descriptors, inner_folds=5))),
    CatalogueEntry("gbm-pretrained", "gbm-descriptors plus the pretrained CHGNet's restacking energy of slabs "
                   "(a crude exfoliation energy: what the potential releases when a monolayer's periodic images "
                   "are brought back together; zero for bulk cells; needs the 'pretrained' extra)",
                   _gbm_pretrained, classifier=_classifier(_gbm_pretrained)),
    CatalogueEntry("hybrid-pretrained", "hybrid with gbm-pretrained as its descriptor part (needs the "
                   "'pretrained' extra)", _hybrid_of(_megnet_kgcnn, _gbm_pretrained),
                   classifier=_classifier(_hybrid_of(_megnet_kgcnn, _gbm_pretrained))),
    CatalogueEntry("megnet-kgcnn-pretrained", "megnet-kgcnn-descriptors whose global state also carries the "
                   "pretrained CHGNet's restacking energy of slabs (needs the 'pretrained' extra)",
                   _megnet_kgcnn_pretrained, classifier=_classifier(_megnet_kgcnn_pretrained)),
    CatalogueEntry("hybrid-pretrained-state", "gbm-pretrained and megnet-kgcnn-pretrained blended as in hybrid: "
                   "both parts see the descriptors and the restacking energy, one by trees, one as a graph "
                   "network's state (needs the 'pretrained' extra)",
                   _hybrid_of(_megnet_kgcnn_pretrained, _gbm_pretrained),
                   classifier=_classifier(_hybrid_of(_megnet_kgcnn_pretrained, _gbm_pretrained))),
    CatalogueEntry("hybrid-large-cells", "gbm-descriptors and megnet (Magpie state, 12 nearest neighbours, up to "
                   "60 epochs), blended as in hybrid: for cells of tens of atoms, where megnet-kgcnn's radius "
                   "graphs cost too much (NOMAD 2018: 62 atoms per cell)", _hybrid_of(_megnet_60),
                   classifier=_classifier(_hybrid_of(_megnet_60))),
    CatalogueEntry("hybrid-large-cells-multitask", "hybrid-large-cells whose MEGNet also learns the auxiliary "
                   "targets given with --aux-targets (multi-task; e.g. the band gap beside the formation "
                   "energy), blended on the target alone", _hybrid_of(_megnet_60_multitask)),
    CatalogueEntry("hybrid-keras", "gbm-descriptors and megnet-kgcnn-keras, blended as in hybrid: the hybrid "
                   "with kgcnn's MEGNet as kgcnn's code builds it, 1000 epochs (24.89 cm^-1 on phonons, 33.86 meV/atom "
                   "on jdft2d; about 30 minutes per phonons fold on 2 fast CPU cores)", _hybrid_of(_megnet_kgcnn_keras),
                   classifier=_classifier(_hybrid_of(_megnet_kgcnn_keras))),
    CatalogueEntry("megnet-kgcnn-keras-descriptors", "megnet-kgcnn-keras whose global state starts from the "
                   "224 descriptors of gbm-descriptors, as in megnet-kgcnn-descriptors",
                   _megnet_kgcnn_keras_descriptors, classifier=_classifier(_megnet_kgcnn_keras_descriptors)),
    CatalogueEntry("hybrid-keras-descriptor-state", "gbm-descriptors and megnet-kgcnn-keras-descriptors, blended "
                   "as in hybrid: hybrid-keras whose network also sees the descriptors as its state (33.66 "
                   "meV/atom on jdft2d; about 11 minutes per jdft2d fold on 2 fast CPU cores)",
                   _hybrid_of(_megnet_kgcnn_keras_descriptors),
                   classifier=_classifier(_hybrid_of(_megnet_kgcnn_keras_descriptors))),
    CatalogueEntry("hybrid-alignn", "gbm-descriptors and alignn-256, blended as in hybrid: the hybrid with "
                   "the paper-width ALIGNN as its graph part, for a GPU", _hybrid_of(_alignn_256),
                   classifier=_classifier(_hybrid_of(_alignn_256))),
    CatalogueEntry("hybrid-light", "gbm-descriptors and cgcnn, blended as in hybrid: the hybrid that fits the "
                   "default run (a few minutes per fold)", _hybrid_of(_cgcnn),
                   classifier=_classifier(_hybrid_of(_cgcnn))),
    CatalogueEntry("late-fusion", "rf-magpie and cgcnn averaged with weights chosen on out-of-fold predictions "
                   "(3-fold, MAE; log loss for classification)", _late, classifier=_classifier(_late)),
    CatalogueEntry("late-fusion-all", "rf-magpie, cgcnn, early-fusion and early-fusion-attention averaged with "
                   "out-of-fold weights: the best measured on phonons and jdft2d, about 6 minutes per phonons fold",
                   _late_all),
    CatalogueEntry("stacking", "ridge on out-of-fold predictions of rf-magpie and cgcnn plus the Magpie features "
                   "(logistic regression for classification)", _stacking, classifier=_classifier(_stacking)),
    CatalogueEntry("early-fusion", "one CGCNN whose pooled graph vector is concatenated with the Magpie vector",
                   _early("concat")),
    CatalogueEntry("early-fusion-attention", "one CGCNN whose graph vector and the Magpie vector are mixed by "
                   "per-crystal attention weights", _early("attention")),
]}

#: what ``skhybrid benchmark TASK`` runs without ``--models``: a light hybrid (``--models hybrid`` runs the
#: full one) and the baselines. The hybrid's parts are scored inside it on the same folds (the report's
#: "Inside the fusion models"): its descriptor part is gbm-descriptors itself (same settings and seed, refit
#: on the whole training fold), its graph part the committee of its two CGCNN fits. The standalone
#: gbm-descriptors and cgcnn left this list after the run with them was measured at about 50 minutes on 2
#: cores (issue #20's aim: 30; docs/benchmarks.md).
DEFAULT_BENCHMARK = ("hybrid-light", "rf-magpie", "dummy")

#: the names these had in ``skhybrid.benchmark`` (kept for one release)
MODELS = CATALOGUE
DEFAULT_MODELS = DEFAULT_BENCHMARK


def check_model_names(names) -> list[str]:
    """The names, checked against the catalogue (a ``ValueError`` lists the valid ones).

    Parameters
    ----------
    names : sequence of str

    Returns
    -------
    list of str

    Examples
    --------
    >>> from skhybrid.catalogue import check_model_names
    >>> check_model_names(["hybrid", "dummy"])
    ['hybrid', 'dummy']
    """
    names = list(names)
    unknown = [name for name in names if name not in CATALOGUE]
    if unknown:
        raise ValueError(f"Unknown model(s) {', '.join(map(repr, unknown))}. Valid names: {', '.join(CATALOGUE)}.")
    if len(set(names)) != len(names):
        raise ValueError(f"Model names repeat: {names}.")
    return names


def resolve_models(models) -> dict:
    """Catalogue names or :class:`CatalogueEntry` objects, as ``{name: entry}`` in the order given.

    An entry that is not in the catalogue is a *configuration*: a benchmark
    script's variant (another schedule, another final estimator) that the runner
    records, resumes and reports like a catalogue model without adding it to
    the catalogue. Its name must not be one the catalogue already uses.

    Parameters
    ----------
    models : sequence of str or CatalogueEntry

    Returns
    -------
    dict of str to CatalogueEntry

    Examples
    --------
    >>> from sklearn.dummy import DummyRegressor
    >>> from skhybrid.catalogue import CatalogueEntry, resolve_models
    >>> median = CatalogueEntry("median", "the training median", lambda seed, quick: DummyRegressor(strategy="median"))
    >>> list(resolve_models(["dummy", median]))
    ['dummy', 'median']
    """
    models = list(models)
    check_model_names([model for model in models if not isinstance(model, CatalogueEntry)])
    entries = [model if isinstance(model, CatalogueEntry) else CATALOGUE[model] for model in models]
    for entry in entries:
        if CATALOGUE.get(entry.name, entry) is not entry:
            raise ValueError(f"The configuration {entry.name!r} uses a catalogue model's name; give it a name "
                             "of its own.")
    names = [entry.name for entry in entries]
    if len(set(names)) != len(names):
        raise ValueError(f"Model names repeat: {names}.")
    return dict(zip(names, entries))


def build(name, *, seed: int = 0, quick: bool = False, device: str = "auto", task_type: str = "regression",
          checkpoint_dir=None):
    """A fresh, unfitted estimator for a catalogue name, with ``device`` set on every graph network.

    Parameters
    ----------
    name : str or CatalogueEntry
        A key of :data:`CATALOGUE` (an unknown name raises ``ValueError`` listing the valid ones), or an
        entry of one's own (see :func:`resolve_models`).
    seed : int, default=0
        ``random_state`` of every part.
    quick : bool, default=False
        Short training (5 epochs, 50-100 trees, smaller internal CV), for smoke tests.
    device : str, default="auto"
        torch device of every graph network (and pretrained featurizer) inside.
    task_type : {"regression", "classification"}, default="regression"
        ``"classification"`` builds the entry's classifier (``ValueError`` for an entry without one,
        listing those that have one).
    checkpoint_dir : str or Path, optional
        ``checkpoint_dir`` of every graph network inside: a stopped fit goes on from its last saved epoch
        (:class:`~skhybrid.models.GraphRegressor`).

    Returns
    -------
    estimator
        Usually a Pipeline (featurizer or graphizer, then a model) or a fusion model over such Pipelines.

    Examples
    --------
    >>> from skhybrid.catalogue import build
    >>> model = build("rf-magpie", seed=0)
    >>> [name for name, _ in model.steps]
    ['magpie', 'rf']
    """
    from .tuning._space import graph_regressor_paths

    entry = next(iter(resolve_models([name]).values()))
    check_task_type([entry], task_type)
    model = (entry.classifier if task_type == "classification" else entry.build)(seed, quick)
    paths = graph_regressor_paths(model) if hasattr(model, "get_params") else []
    if paths:
        model.set_params(**{f"{path}device": device for path in paths})
        if checkpoint_dir is not None:
            model.set_params(**{f"{path}checkpoint_dir": str(checkpoint_dir) for path in paths})
    if hasattr(model, "get_params"):
        from .featurizers._pretrained import CHGNetFeaturizer

        pretrained = [key for key, value in model.get_params(deep=True).items() if isinstance(value, CHGNetFeaturizer)]
        model.set_params(**{f"{key}__device": device for key in pretrained})
    return model


#: the name this function had in ``skhybrid.benchmark`` (kept for one release)
build_model = build

TASK_TYPES = ("regression", "classification")


def check_task_type(entries, task_type: str) -> None:
    """Refuse an unknown task type, or a classification task for entries that have no classifier.

    Parameters
    ----------
    entries : sequence of CatalogueEntry
    task_type : {"regression", "classification"}

    Examples
    --------
    >>> from skhybrid.catalogue import CATALOGUE, check_task_type
    >>> check_task_type([CATALOGUE["hybrid-light"]], "classification")
    """
    if task_type not in TASK_TYPES:
        raise ValueError(f"task_type must be 'regression' or 'classification', got {task_type!r}.")
    if task_type == "classification":
        lacking = [entry.name for entry in entries if entry.classifier is None]
        if lacking:
            able = [name for name, entry in CATALOGUE.items() if entry.classifier is not None]
            raise ValueError(f"Model(s) {', '.join(map(repr, lacking))} have no classifier; for a classification "
                             f"task choose among {', '.join(able)}.")


def search_space(name_or_estimator) -> dict:
    """The default Optuna search space of a catalogue entry (or of an estimator built from one).

    Parameters
    ----------
    name_or_estimator : str or estimator

    Returns
    -------
    dict
        ``{set_params key: optuna distribution}``, as :class:`skhybrid.tuning.HybridSearchCV` takes it.

    Examples
    --------
    >>> from skhybrid.catalogue import search_space
    >>> sorted(search_space("rf-magpie"))
    ['rf__max_features', 'rf__min_samples_leaf', 'rf__n_estimators']
    """
    from .tuning import default_search_space

    if isinstance(name_or_estimator, str):
        entry = CATALOGUE[check_model_names([name_or_estimator])[0]]
        estimator = entry.build(0, False)
        return entry.search_space(estimator) if entry.search_space else default_search_space(estimator)
    return default_search_space(name_or_estimator)
