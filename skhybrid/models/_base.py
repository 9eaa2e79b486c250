"""GraphEstimator, the training machinery every graph network shares, and GraphRegressor on it."""

from __future__ import annotations

import inspect
import os
from numbers import Integral, Real
from pathlib import Path

import numpy as np
import torch
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted
from skorch import NeuralNet
from skorch.callbacks import EarlyStopping, LRScheduler
from skorch.dataset import ValidSplit, unpack_data
from torch_geometric.loader import DataLoader

from .._config import get_config
from ..utils._device import resolve_device as _resolve_device
from ..utils._validation import format_indices
from ._callbacks import EpochProgressBar, LinearDecay, SmoothedValidLoss, StopOnDivergence
from ._checkpoint import TrainingCheckpoint, fit_fingerprint
from ._data import GraphDataset, GraphSizes, check_graphs, check_targets
from ._loss import MaskedMultiTaskLoss

__all__ = ["GraphEstimator", "GraphRegressor"]

#: prefixes of the parameters passed through to the skorch net (as in skorch)
PASSTHROUGH_PREFIXES = ("module__", "optimizer__", "iterator_train__", "iterator_valid__", "callbacks__")
#: module arguments the estimator fills in from the data
DATA_SIZE_ARGUMENTS = ("n_node_features", "n_edge_features", "n_global_features", "n_angle_features", "n_targets")


#: seconds between two saves of a fit's state with ``checkpoint_dir`` (tests set 0: every epoch)
CHECKPOINT_INTERVAL_S = 60.0


class GraphEstimator(BaseEstimator):
    """What :class:`GraphRegressor` and :class:`~skhybrid.models.GraphClassifier` share.

    Parameters, the skorch net, batching, seeding, the validation split, the
    learning-rate schedules and early stopping live here; a subclass says how
    targets become the network's outputs (``_encode_targets``), which loss
    trains it (``_criterion_params``) and what ``predict`` returns. The
    parameters are documented on :class:`GraphRegressor`.
    """

    _default_module = None

    _parameter_constraints: dict = {
        "module": [type, None],
        "loss": [StrOptions({"mae", "mse", "huber"})],
        "task_weights": ["array-like", StrOptions({"uncertainty"}), None],
        "max_epochs": [Interval(Integral, 1, None, closed="left")],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "lr": [Interval(Real, 0, None, closed="neither")],
        "weight_decay": [Interval(Real, 0, None, closed="left")],
        "optimizer": [type],
        "lr_schedule": [StrOptions({"plateau", "cosine", "linear", "constant"})],
        "validation_fraction": [Interval(Real, 0, 1, closed="left")],
        "patience": [Interval(Integral, 1, None, closed="left")],
        "validation_smoothing": [Interval(Real, 0, 1, closed="left")],
        "device": [str],
        "accelerate": ["boolean", dict, None],
        "checkpoint_dir": [str, os.PathLike, None],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
        "callbacks": [list, None],
    }

    def __init__(self, module=None, *, loss="mae", task_weights=None, max_epochs=300, batch_size=64, lr=1e-3,
                 weight_decay=0.0, optimizer=torch.optim.AdamW, lr_schedule="plateau", validation_fraction=0.1,
                 patience=30, validation_smoothing=0.0, device="auto", accelerate=None, checkpoint_dir=None,
                 random_state=None, verbose=0, callbacks=None, **kwargs):
        self.module = module
        self.loss = loss
        self.task_weights = task_weights
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.lr = lr
        self.weight_decay = weight_decay
        self.optimizer = optimizer
        self.lr_schedule = lr_schedule
        self.validation_fraction = validation_fraction
        self.patience = patience
        self.validation_smoothing = validation_smoothing
        self.device = device
        self.accelerate = accelerate
        self.checkpoint_dir = checkpoint_dir
        self.random_state = random_state
        self.verbose = verbose
        self.callbacks = callbacks
        _check_prefixed(kwargs, type(self).__name__)
        vars(self).update(kwargs)

    # --- parameters ---------------------------------------------------------------------------

    def _prefixed_params(self) -> dict:
        return {key: value for key, value in vars(self).items() if key.startswith(PASSTHROUGH_PREFIXES)}

    def get_params(self, deep=True):
        """Parameters of the estimator, ``module__*`` and the other prefixed ones included.

        Parameters
        ----------
        deep : bool, default=True
            Also return the parameters of contained estimators (none here).

        Returns
        -------
        params : dict
        """
        params = super().get_params(deep=deep)
        params.update(self._prefixed_params())
        return params

    def set_params(self, **params):
        """Set parameters, prefixed ones (``module__hidden_channels=128``) included.

        Parameters
        ----------
        **params : dict
            Estimator parameters.

        Returns
        -------
        self : GraphRegressor
        """
        prefixed = {key: value for key, value in params.items() if key.startswith(PASSTHROUGH_PREFIXES)}
        _check_prefixed(prefixed, type(self).__name__)
        vars(self).update(prefixed)
        rest = {key: value for key, value in params.items() if key not in prefixed}
        return super().set_params(**rest) if rest else self

    def _module_class(self):
        module = self.module if self.module is not None else self._default_module
        if module is None:
            raise ValueError(f"{type(self).__name__} needs a module class, e.g. module=skhybrid.nn.CGCNN.")
        return module

    def _module_kwargs(self, module) -> dict:
        kwargs = {key[len("module__"):]: value for key, value in self._prefixed_params().items()
                  if key.startswith("module__")}
        signature = inspect.signature(module.__init__).parameters
        accepts_any = any(p.kind is p.VAR_KEYWORD for p in signature.values())
        valid = sorted(name for name in signature if name not in ("self", *DATA_SIZE_ARGUMENTS)
                       and signature[name].kind is not signature[name].VAR_KEYWORD)
        for name in kwargs:
            if name in DATA_SIZE_ARGUMENTS:
                raise ValueError(f"module__{name} is set from the training data; do not pass it.")
            if not accepts_any and name not in signature:
                raise ValueError(
                    f"module__{name}: {module.__name__} has no parameter {name!r}; "
                    f"valid module__ parameters: {', '.join(valid)}."
                )
        return kwargs

    # --- fit / predict ------------------------------------------------------------------------

    def fit(self, X, y):
        """Train the network.

        Parameters
        ----------
        X : list of CrystalGraph
            Graphs from :class:`~skhybrid.featurizers.StructureGraphizer`.
        y : array-like of shape (n_samples,) or (n_samples, n_targets)
            Targets; NaN marks a missing label (masked in the loss).

        Returns
        -------
        self : GraphRegressor
        """
        self._validate_params()
        module = self._module_class()
        module_kwargs = self._module_kwargs(module)
        graphs, sizes = check_graphs(X, self._required_fields(module), estimator=type(self).__name__)
        y_encoded = self._encode_targets(y, len(graphs))

        self.n_node_features_ = sizes.n_node_features
        self.n_edge_features_ = sizes.n_edge_features
        self.n_global_features_ = sizes.n_global_features
        self.n_angle_features_ = sizes.n_angle_features
        self._fit_global_scaling(graphs)
        accelerator = self._accelerator()
        self.device_ = _resolve_device(self.device) if accelerator is None else str(accelerator.device)

        dataset = self._dataset(graphs, y_encoded, self._input_fields(module))
        seed = int(check_random_state(self.random_state).randint(np.iinfo(np.int32).max))
        net = self._build_net(module, module_kwargs, sizes, seed, accelerator=accelerator,
                              checkpoint=self._checkpoint(graphs, y_encoded, seed, accelerator))
        cuda_devices = [torch.cuda.current_device()] if self.device_.startswith("cuda") else []
        with torch.random.fork_rng(devices=cuda_devices):
            torch.manual_seed(seed)
            net.fit(dataset, None)
        self.net_ = net
        self.best_epoch_ = self._best_epoch(net)
        if accelerator is not None:
            # Accelerate trains; the fitted estimator is a plain one on the trained weights, which pickles,
            # saves and predicts on any device like any other
            history = net.history
            module = accelerator.unwrap_model(net.module_)
            if accelerator.num_processes > 1:
                # the parameters agree; batch norm's running statistics are each process's own since the
                # last step: every process takes the main process's, so that all predict alike
                from accelerate.utils import broadcast

                for buffer in module.buffers():
                    buffer.copy_(broadcast(buffer.clone(), from_process=0))
            self._restore_network(module.state_dict(), accelerator.unwrap_model(net.criterion_).state_dict())
            self.net_.history = history
        return self

    def _checkpoint(self, graphs, y_encoded, seed, accelerator):
        """The :class:`TrainingCheckpoint` of this fit when ``checkpoint_dir`` is set, else None."""
        if self.checkpoint_dir is None:
            return None
        if accelerator is not None:
            raise ValueError(f"{type(self).__name__}: checkpoint_dir does not work with accelerate (each process "
                             "would save its own state); use one of them, or Accelerate's own save_state.")
        name = f"{type(self).__name__}-{fit_fingerprint(self, graphs, y_encoded, seed)[:24]}.pt"
        return TrainingCheckpoint(Path(self.checkpoint_dir) / name, min_interval_s=CHECKPOINT_INTERVAL_S)

    def _accelerator(self):
        """The ``accelerate.Accelerator`` that ``accelerate`` asks for, or None."""
        if not self.accelerate:
            return None
        try:
            from accelerate import Accelerator
        except ImportError as error:
            raise ImportError(f"{type(self).__name__}(accelerate=...) trains through Hugging Face Accelerate, which "
                              'is not installed: pip install "skhybrid[accelerate]" (or "accelerate").') from error
        settings = {} if self.accelerate is True else dict(self.accelerate)
        if self.device == "cpu":
            settings.setdefault("cpu", True)
        split = "dataloader_config" not in settings and "split_batches" not in settings
        if split:
            # each process takes its share of every batch, so batch_size (and with it a recipe's schedule)
            # means one optimiser step on the same number of samples however many processes train
            from accelerate import DataLoaderConfiguration

            settings["dataloader_config"] = DataLoaderConfiguration(split_batches=True)
        accelerator = Accelerator(**settings)
        processes = accelerator.num_processes
        if split and self.batch_size % processes:
            raise ValueError(f"{type(self).__name__}: batch_size={self.batch_size} is shared between {processes} "
                             f"processes, so it must be a multiple of {processes} (e.g. "
                             f"{processes * -(-self.batch_size // processes)}); or pass "
                             "accelerate={'dataloader_config': accelerate.DataLoaderConfiguration()} to give each "
                             "process a whole batch.")
        return accelerator

    def _forward(self, X, method: str = "forward"):
        """Run ``module_.<method>`` over ``X`` in batches of ``batch_size``, in eval mode.

        Returns a float64 array, or a tuple of arrays when the method returns a tuple.
        """
        check_is_fitted(self, "net_")
        module = self.net_.module_
        graphs, sizes = check_graphs(X, self._required_fields(module), estimator=type(self).__name__)
        fitted = (self.n_node_features_, self.n_edge_features_, self.n_global_features_, self.n_angle_features_)
        if tuple(vars(sizes).values()) != fitted:
            raise ValueError(
                f"X has {sizes.describe()}, but {type(self).__name__} was fitted on graphs with "
                f"{type(sizes)(*fitted).describe()}; use the graphizer settings of fit."
            )
        dataset = self._dataset(graphs, torch.zeros(len(graphs), 0), self._input_fields(module))
        loader = DataLoader(dataset, batch_size=self.batch_size, shuffle=False)
        module.eval()
        outputs = []
        with torch.inference_mode():
            for batch, _ in loader:
                out = getattr(module, method)(batch.to(self.net_.device))
                outputs.append(out if isinstance(out, tuple) else (out,))
        arrays = tuple(torch.cat([o[i].float().cpu() for o in outputs]).numpy().astype(np.float64)
                       for i in range(len(outputs[0])))
        return arrays if len(arrays) > 1 else arrays[0]

    # --- helpers ------------------------------------------------------------------------------

    def _encode_targets(self, y, n_samples: int) -> torch.Tensor:
        """Check ``y``, set the fitted target attributes, return the training targets ``(n, k)``."""
        raise NotImplementedError

    def _n_outputs(self) -> int:
        """The network's output width (its ``n_targets``)."""
        raise NotImplementedError

    def _criterion_params(self) -> dict:
        """The skorch ``criterion`` and its ``criterion__*`` arguments."""
        raise NotImplementedError

    def _check_task_weights(self, n_targets):
        if self.task_weights is None or isinstance(self.task_weights, str):
            return self.task_weights
        weights = np.asarray(self.task_weights, dtype=float).ravel()
        if len(weights) != n_targets:
            raise ValueError(f"task_weights has {len(weights)} entries but y has {n_targets} targets.")
        if (weights < 0).any() or not np.isfinite(weights).all() or weights.sum() == 0:
            raise ValueError(f"task_weights must be finite, non-negative and not all zero, got {weights.tolist()}.")
        return weights

    def _fit_global_scaling(self, graphs):
        if self.n_global_features_ == 0:
            self.global_mean_ = self.global_scale_ = None
            return
        u = torch.cat([g.u for g in graphs]).double()
        bad = torch.nonzero(~torch.isfinite(u).all(dim=1)).flatten().tolist()
        if bad:
            raise ValueError(
                f"X{format_indices(bad)} have non-finite global features (u); "
                "fix or drop those structures (e.g. MagpieFeaturizer(on_error='nan') marks failures with NaN)."
            )
        scale = u.std(dim=0, unbiased=False)
        self.global_mean_ = u.mean(dim=0).float()
        self.global_scale_ = torch.where(scale > 0, scale, torch.ones_like(scale)).float()

    def _required_fields(self, module) -> tuple:
        """Graph fields the network cannot do without (``module`` is a class or an instance)."""
        return tuple(getattr(module, "required_fields", ()))

    def _input_fields(self, module) -> tuple | None:
        """Graph fields the network reads; the others are not collated."""
        return getattr(module, "input_fields", None)

    def _dataset(self, graphs, y, fields):
        return GraphDataset(graphs, y, fields or tuple(graphs[0].keys()), self.global_mean_, self.global_scale_)

    def _build_net(self, module, module_kwargs, sizes, seed, accelerator=None, checkpoint=None):
        prefixed = self._prefixed_params()
        passthrough = {key: value for key, value in prefixed.items() if not key.startswith("module__")}
        validate = self.validation_fraction > 0
        monitor = "valid_loss" if validate else "train_loss"
        callbacks = [("stop_on_divergence", StopOnDivergence())]
        if validate and self.validation_smoothing > 0:
            # first, so that the scheduler and early stopping read this epoch's smoothed value
            callbacks.append(("smoothed_valid_loss", SmoothedValidLoss(self.validation_smoothing)))
            monitor = SmoothedValidLoss.key
        if self.lr_schedule == "plateau":
            callbacks.append(("lr_scheduler", LRScheduler(
                policy=torch.optim.lr_scheduler.ReduceLROnPlateau, monitor=monitor, factor=0.5,
                patience=max(1, self.patience // 3))))
        elif self.lr_schedule == "cosine":
            callbacks.append(("lr_scheduler", LRScheduler(
                policy=torch.optim.lr_scheduler.CosineAnnealingLR, T_max=self.max_epochs)))
        elif self.lr_schedule == "linear":
            callbacks.append(("lr_scheduler", LRScheduler(
                policy=torch.optim.lr_scheduler.LambdaLR,
                lr_lambda=LinearDecay(self.max_epochs, hold=self.max_epochs // 10))))
        if validate:
            callbacks.append(("early_stopping", EarlyStopping(
                monitor=monitor, patience=self.patience, load_best=True)))
        main_process = accelerator is None or accelerator.is_main_process  # one bar, not one per process
        if get_config()["show_progress"] and not self.verbose and main_process:
            callbacks.append(("epoch_progress", EpochProgressBar(f"{type(self).__name__} epochs")))
        callbacks.extend(self.callbacks or [])
        if checkpoint is not None:  # last: it saves the others' state and restores it after they start
            callbacks.append(("training_checkpoint", checkpoint))
        generator = torch.Generator().manual_seed(seed)
        net_kwargs = dict(
            module=module,
            **{f"module__{name}": value for name, value in module_kwargs.items()},
            module__n_node_features=sizes.n_node_features,
            module__n_edge_features=sizes.n_edge_features,
            module__n_global_features=sizes.n_global_features,
            module__n_angle_features=sizes.n_angle_features,
            module__n_targets=self._n_outputs(),
            **self._criterion_params(),
            optimizer=self.optimizer,
            lr=self.lr,
            optimizer__weight_decay=self.weight_decay,
            max_epochs=self.max_epochs,
            batch_size=self.batch_size,
            iterator_train=DataLoader,
            iterator_train__shuffle=True,
            iterator_train__generator=generator,
            iterator_valid=DataLoader,
            train_split=ValidSplit(self.validation_fraction, random_state=seed) if validate else None,
            callbacks=callbacks,
            device=self.device_,
            verbose=self.verbose,
        )
        net_kwargs.update(passthrough)  # the user's optimizer__/iterator_*__/callbacks__ settings win
        if accelerator is None:
            return NeuralNet(**net_kwargs)
        # the accelerator places module, optimizer and batches (and shards them over processes)
        # the network stays wrapped to the end of training, so that early stopping's best weights (saved from
        # the wrapped network) load back into it; fit unwraps them
        net_kwargs.update(accelerator=accelerator, device=None, unwrap_after_train=False,
                          callbacks__print_log__sink="auto" if self.verbose else _silent)
        return _accelerated_net_class()(**net_kwargs)

    def _restore_network(self, module_state, criterion_state) -> None:
        """Rebuild ``net_`` from the fitted sizes and saved weights (:func:`skhybrid.load_model`)."""
        module = self._module_class()
        sizes = GraphSizes(self.n_node_features_, self.n_edge_features_, self.n_global_features_,
                           self.n_angle_features_)
        wanted = getattr(self, "device_", "cpu")
        self.device_ = wanted if wanted.startswith("cuda") and torch.cuda.is_available() else "cpu"
        net = self._build_net(module, self._module_kwargs(module), sizes, seed=0)
        net.initialize()
        net.module_.load_state_dict(module_state)
        net.criterion_.load_state_dict(criterion_state)
        self.net_ = net
        if self.global_mean_ is not None:
            self.global_mean_ = torch.as_tensor(self.global_mean_, dtype=torch.float32)
            self.global_scale_ = torch.as_tensor(self.global_scale_, dtype=torch.float32)

    @staticmethod
    def _best_epoch(net) -> int:
        # the epoch whose weights early stopping restored (its threshold can skip a marginally lower loss)
        stopper = dict(net.callbacks_).get("early_stopping")
        if stopper is None or not stopper.best_epoch_:
            return len(net.history)
        return int(stopper.best_epoch_)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        return tags


class GraphRegressor(RegressorMixin, GraphEstimator):
    """Train a graph network on crystal graphs, the scikit-learn way.

    ``X`` is a list of graphs from :class:`~skhybrid.featurizers.StructureGraphizer`
    (put one in front in a Pipeline to fit on Structures); ``y`` has shape
    ``(n,)`` or ``(n, k)``, with NaN for a missing label. Training runs a
    skorch ``NeuralNet`` (``net_``) with:

    - targets standardised per column, predictions in the original units
      (1-D for one target); the global state ``u`` standardised too;
    - a loss masked where labels are missing, tasks combined with
      ``task_weights`` or learned uncertainty weights (Kendall et al. 2018);
    - an explicit validation split (``validation_fraction``, seeded) for early
      stopping with the best epoch's weights restored, and a learning-rate
      schedule on the validation loss;
    - ``device="auto"``: CUDA when present. A fitted model pickles (joblib)
      and loads on a machine without CUDA.

    Ctrl-C during ``fit`` ends training early and keeps the best weights so far.

    Parameters
    ----------
    module : torch.nn.Module class, default=None
        The network; ``None`` uses the subclass's (e.g. :class:`~skhybrid.nn.CGCNN`).
        Its data sizes are filled in by ``fit``; set its other arguments with
        ``module__name=value`` (e.g. ``module__hidden_channels=128``).
    loss : {"mae", "mse", "huber"}, default="mae"
        Training loss on the standardised targets.
    task_weights : array-like of shape (k,), "uncertainty" or None, default=None
        Fixed weights of the targets' losses, or weights learned as
        homoscedastic uncertainties; ``None`` weighs targets equally.
    max_epochs : int, default=300
    batch_size : int, default=64
        Also the prediction batch size, which bounds ``predict``'s memory.
    lr : float, default=1e-3
    weight_decay : float, default=0.0
    optimizer : torch optimizer class, default=torch.optim.AdamW
        Further arguments as ``optimizer__name=value``.
    lr_schedule : {"plateau", "cosine", "linear", "constant"}, default="plateau"
        ``"plateau"`` halves the rate after ``patience // 3`` epochs without
        improvement of the validation loss; ``"cosine"`` anneals to zero over
        ``max_epochs``; ``"linear"`` holds ``lr`` for the first tenth of
        ``max_epochs``, then decays it linearly to ``lr / 100`` at the last
        epoch (kgcnn's Matbench MEGNet recipe).
    validation_fraction : float in [0, 1), default=0.1
        Share of the training data held out for early stopping; ``0`` trains
        for ``max_epochs`` and keeps the last weights.
    patience : int, default=30
        Epochs without improvement of the validation loss before stopping.
    validation_smoothing : float in [0, 1), default=0.0
        Exponential smoothing of the validation loss that early stopping, the
        ``"plateau"`` schedule and the choice of the kept epoch watch:
        ``s * previous + (1 - s) * valid_loss`` (history key
        ``valid_loss_smooth``). A small validation split gives a noisy loss
        whose minimum over many epochs is often a lucky early epoch; ``0.9``
        averages over about ten epochs. ``0`` watches the raw loss. Has no
        effect with ``validation_fraction=0``.
    device : {"auto", "cpu", "cuda", ...}, default="auto"
    accelerate : bool, dict or None, default=None
        Train through Hugging Face Accelerate (skorch's ``AccelerateMixin``):
        ``True``, or a dict of ``accelerate.Accelerator`` arguments (e.g.
        ``{"mixed_precision": "bf16"}``). Started with ``accelerate launch
        script.py`` (or ``torchrun``) on several devices, each process trains
        on its share of every batch (distributed data parallel), so
        ``batch_size`` stays the batch of one optimiser step and must be a
        multiple of the number of processes (a ``dataloader_config`` of your
        own replaces this); in one process it is plain training on
        Accelerate's device. The fitted estimator holds a plain network on
        the trained weights (it saves, loads and predicts as usual). Needs
        ``pip install "skhybrid[accelerate]"``.
    checkpoint_dir : str, path or None, default=None
        A folder where the fit saves its state (weights, optimiser, epoch
        table, schedule, early stopping, random generators) at the end of
        an epoch, at most once a minute. A fit of the same settings on the
        same data that finds its file there goes on from the saved epoch
        and, on the same machine, ends with the weights of a fit never
        stopped; a finished fit deletes its file. The file's name is a
        fingerprint of the settings and the data, so one folder serves
        many fits. For fits longer than a session, a GPU call or the
        patience of a shared machine. Not with ``accelerate``.
    random_state : int, RandomState or None, default=None
        Seeds weights, shuffling, dropout and the validation split; an int
        gives identical predictions on a rerun on the same machine with one
        torch thread (``skhybrid.utils.torch_threads(1)``, the benchmark
        runner's default). With several threads torch's parallel sums may
        differ in the last digits from run to run (measured: 2e-7 relative
        after a few epochs), and another thread count sums in another order,
        so training drifts apart from there.
    verbose : int, default=0
        0 is silent, 1 prints the epoch table.
    callbacks : list of skorch callbacks or (name, callback) pairs, default=None
        Added to the built-in ones (e.g. an Optuna pruning callback).
    **kwargs
        ``module__*``, ``optimizer__*``, ``iterator_train__*``,
        ``iterator_valid__*`` and ``callbacks__*`` parameters, as in skorch.

    Attributes
    ----------
    net_ : skorch.NeuralNet
        The trained network; ``net_.history`` holds the epoch table.
    n_targets_ : int
    n_node_features_, n_edge_features_, n_global_features_, n_angle_features_ : int
        Feature widths of the graphs seen in ``fit``; ``predict`` checks them.
    target_mean_, target_scale_ : ndarray of shape (k,)
    best_epoch_ : int
        Epoch whose weights were kept.
    device_ : str

    Examples
    --------
    >>> from pymatgen.core import Lattice, Structure
    >>> from sklearn.pipeline import make_pipeline
    >>> from skhybrid import StructureGraphizer
    >>> from skhybrid.models import GraphRegressor
    >>> from skhybrid.nn import CGCNN
    >>> structures = [Structure.from_spacegroup("Fm-3m", Lattice.cubic(a), ["Na", "Cl"],
    ...                                         [[0, 0, 0], [0.5, 0.5, 0.5]]) for a in (5.4, 5.6, 5.8, 6.0)]
    >>> y = [s.volume for s in structures]
    >>> model = make_pipeline(StructureGraphizer(),
    ...                       GraphRegressor(CGCNN, max_epochs=3, validation_fraction=0, random_state=0,
    ...                                      module__hidden_channels=16))
    >>> model.fit(structures, y).predict(structures).shape
    (4,)
    """

    def _encode_targets(self, y, n_samples):
        y = check_targets(y, n_samples)
        self.n_targets_ = y.shape[1]
        self._check_task_weights(self.n_targets_)
        self.target_mean_ = np.nanmean(y, axis=0)
        scale = np.nanstd(y, axis=0)
        self.target_scale_ = np.where(scale > 0, scale, 1.0)
        return torch.as_tensor((y - self.target_mean_) / self.target_scale_, dtype=torch.float32)

    def _n_outputs(self):
        return self.n_targets_

    def _criterion_params(self):
        task_weights = self._check_task_weights(self.n_targets_)
        return dict(criterion=MaskedMultiTaskLoss, criterion__n_tasks=self.n_targets_, criterion__loss=self.loss,
                    criterion__task_weights=None if isinstance(task_weights, str) else task_weights,
                    criterion__uncertainty=isinstance(task_weights, str))

    def predict(self, X):
        """Predict in the targets' units, in batches of ``batch_size``.

        Parameters
        ----------
        X : list of CrystalGraph
            Graphs from :class:`~skhybrid.featurizers.StructureGraphizer`, built
            with the settings used in ``fit``.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,) or (n_samples, n_targets)
            1-D for one target.
        """
        out = self._forward(X, "forward")
        out = out * self.target_scale_ + self.target_mean_
        return out[:, 0] if self.n_targets_ == 1 else out

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags


def extend_signature(parent_init, *, before: str, defaults=None, **new_parameters):
    """The signature of ``parent_init`` with ``new_parameters`` (name=default) inserted before ``before``.

    For a subclass that adds parameters: its ``__init__(self, new..., **kwargs)`` passes the rest to
    the parent, and this signature (set as ``__init__.__signature__``) tells scikit-learn's
    ``get_params``, ``clone`` and ``repr`` every parameter, the parent's included, without a copy of
    the parent's list that would fall behind when the parent gains one. ``defaults`` ({name: value})
    changes the default of a parent's parameter (the subclass's ``__init__`` must use the same).
    New parameters take the kind (positional or keyword-only) of the one they are inserted before.
    """
    signature = inspect.signature(parent_init)
    parameters = [p.replace(default=defaults[p.name]) if defaults and p.name in defaults else p
                  for p in signature.parameters.values()]
    position = [p.name for p in parameters].index(before)
    added = [inspect.Parameter(name, parameters[position].kind, default=default)
             for name, default in new_parameters.items()]
    return signature.replace(parameters=parameters[:position] + added + parameters[position:])


def _accelerated_net_class():
    """skorch's NeuralNet with its Hugging Face Accelerate mixin (multi-GPU data parallelism, mixed precision)."""
    from skorch.hf import AccelerateMixin

    global _AcceleratedNet
    if _AcceleratedNet is None:
        class AcceleratedNet(AccelerateMixin, NeuralNet):
            """NeuralNet trained through an ``accelerate.Accelerator``."""

            def _initialize_accelerator(self):
                # Accelerate wraps every module it prepares in DistributedDataParallel when several CPU
                # processes train, and DDP refuses a module without trainable parameters, as our losses
                # are; such a loss only needs the device, so it is hidden from skorch's prepare loop
                if self._wrapped_with_accelerator:
                    return self
                if self.accelerator.ddp_handler is None and any(
                        getattr(part, "unused_parameters", False) for part in self.module_.modules()):
                    # a network (or one inside a fusion network) whose output leaves some parameters out
                    from accelerate import DistributedDataParallelKwargs

                    self.accelerator.ddp_handler = DistributedDataParallelKwargs(find_unused_parameters=True)
                frozen = {}
                for name in self._criteria:
                    criterion = getattr(self, name + "_")
                    if isinstance(criterion, torch.nn.Module) and not any(
                            p.requires_grad for p in criterion.parameters()):
                        frozen[name] = criterion.to(self.accelerator.device)
                        setattr(self, name + "_", None)
                try:
                    super()._initialize_accelerator()
                finally:
                    for name, criterion in frozen.items():
                        setattr(self, name + "_", criterion)
                return self

            def train_step_single(self, batch, **fit_params):
                # the gradients are averaged by DDP; the loss recorded (which the plateau schedule reads when
                # nothing is held out) is averaged too, so that every process's history is the same
                step = super().train_step_single(batch, **fit_params)
                step["loss"] = self.accelerator.reduce(step["loss"].detach(), reduction="mean")
                return step

            def validation_step(self, batch, **fit_params):
                # each process holds its share of the validation batch: the loss is computed on the whole
                # batch, gathered, so that every process sees the same validation loss and early stopping
                # and the plateau schedule decide alike (else the processes part and wait on each other)
                self._set_training(False)
                Xi, yi = unpack_data(batch)
                with torch.no_grad():
                    y_pred = self.infer(Xi, **fit_params)
                    y_pred, yi = self.accelerator.gather_for_metrics((y_pred, yi))
                    loss = self.get_loss(y_pred, yi, X=Xi, training=False)
                return {"loss": loss, "y_pred": y_pred}

        _AcceleratedNet = AcceleratedNet
    return _AcceleratedNet


_AcceleratedNet = None


def _silent(*args, **kwargs):
    """A print that prints nothing: the epoch table of a quiet (verbose=0) accelerated net."""


def _check_prefixed(kwargs: dict, owner: str) -> None:
    unknown = [key for key in kwargs if not key.startswith(PASSTHROUGH_PREFIXES)]
    if unknown:
        raise TypeError(
            f"{owner} got unexpected argument(s) {', '.join(unknown)}; extra arguments must start with "
            f"{', '.join(PASSTHROUGH_PREFIXES)}."
        )


def _document_base():
    """GraphEstimator lists the parameters it holds: GraphRegressor's documentation of them."""
    shared = GraphRegressor.__doc__
    if GraphEstimator.__doc__ is None or shared is None:
        return
    GraphEstimator.__doc__ += "\n" + shared[shared.index("    Parameters\n"):shared.index("    Attributes\n")] + """
    Examples
    --------
    >>> from skhybrid.models import CGCNNClassifier, CGCNNRegressor, GraphEstimator
    >>> isinstance(CGCNNRegressor(), GraphEstimator), isinstance(CGCNNClassifier(), GraphEstimator)
    (True, True)
    """


_document_base()
