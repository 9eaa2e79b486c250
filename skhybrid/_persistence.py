"""save_model / load_model: a versioned file whose loading runs no code from the file."""

from __future__ import annotations

import io
import json
import platform
import warnings
import zipfile
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

__all__ = ["FORMAT_VERSION", "TRUSTED_PREFIXES", "load_model", "save_model"]

FORMAT = "skhybrid-model"
#: version of the file layout; a file of a newer version is refused with a clear message
FORMAT_VERSION = 1
#: modules whose types a model file may hold; anything else must be trusted by name (``load_model(trusted=)``)
TRUSTED_PREFIXES = ("skhybrid.", "sklearn.", "numpy.", "scipy.", "lightgbm.", "mapie.", "torch.optim.", "builtins.",
                    "collections.OrderedDict")
_NETWORK_KEY = "_skhybrid_network_key"


def _reachable(obj, cls, found=None, seen=None):
    """Every instance of ``cls`` reachable from ``obj`` through attributes, lists, tuples and dicts."""
    found = [] if found is None else found
    seen = set() if seen is None else seen
    if id(obj) in seen or isinstance(obj, (str, bytes, int, float, bool, type(None), np.ndarray)):
        return found
    seen.add(id(obj))
    if isinstance(obj, cls):
        found.append(obj)
        return found
    if isinstance(obj, dict):
        children = list(obj.values())
    elif isinstance(obj, (list, tuple)):
        children = list(obj)
    elif hasattr(obj, "__dict__") and type(obj).__module__.startswith(("skhybrid", "sklearn", "mapie")):
        children = list(vars(obj).values())
    else:
        children = []
    for child in children:
        _reachable(child, cls, found, seen)
    return found


def _graph_regressors(obj):
    """Every fitted graph network (GraphEstimator) inside ``obj``."""
    from .models import GraphEstimator

    return [network for network in _reachable(obj, GraphEstimator) if hasattr(network, "net_")]


def _versions() -> dict:
    import sklearn
    import torch

    from . import __version__

    return {"skhybrid": __version__, "scikit-learn": sklearn.__version__, "torch": torch.__version__,
            "python": platform.python_version()}


def save_model(model, path, *, name=None, metadata=None) -> Path:
    """Save a fitted model in skhybrid's versioned format (a zip file, ``.skh`` by convention).

    The file holds ``metadata.json`` (format version; skhybrid, scikit-learn, torch and Python
    versions; the catalogue name; the model's parameters; your ``metadata``), ``estimator.skops``
    (the model without its networks, written with `skops <https://skops.readthedocs.io>`_, whose
    loader builds only types it is told to trust) and ``networks.pt`` (every graph network's
    weights as plain tensors, read back with ``torch.load(weights_only=True)``). Loading it runs no
    code from the file, unlike a pickle (``joblib.dump`` still works for a full, trusted copy,
    training history included). A model trained on a GPU loads on a CPU.

    Parameters
    ----------
    model : fitted estimator
        Any skhybrid model (a catalogue model, a Pipeline, a fusion model, an ensemble).
    path : str or Path
        Where to write; written atomically.
    name : str, optional
        The catalogue name the model was built from (``skhybrid fit`` records it).
    metadata : dict, optional
        JSON-serialisable facts to keep with the model (the target's name, the training set, ...).

    Returns
    -------
    Path

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> import numpy as np
    >>> from sklearn.linear_model import Ridge
    >>> from skhybrid import load_model, save_model
    >>> X, y = np.arange(20.0).reshape(10, 2), np.arange(10.0)
    >>> ridge = Ridge().fit(X, y)
    >>> path = save_model(ridge, Path(tempfile.mkdtemp()) / "ridge.skh", metadata={"target": "y"})
    >>> model, info = load_model(path, return_metadata=True)
    >>> bool(np.array_equal(model.predict(X), ridge.predict(X))), info["metadata"]["target"], info["format_version"]
    (True, 'y', 1)
    """
    import skops.io as sio
    import torch

    from .utils import write_atomically

    from .models import AuxiliaryTargetRegressor

    # the auxiliary-target tables (training Structures and values) stay out of the file: prediction never
    # reads them, and they would store the training set with the model
    tables = [(owner, owner.auxiliary_X, owner.auxiliary_y) for owner in _reachable(model, AuxiliaryTargetRegressor)]
    networks, detached = {}, []
    for k, regressor in enumerate(_graph_regressors(model)):
        key = f"network{k}"
        networks[f"{key}/module"] = {n: t.detach().cpu() for n, t in regressor.net_.module_.state_dict().items()}
        networks[f"{key}/criterion"] = {n: t.detach().cpu() for n, t in regressor.net_.criterion_.state_dict().items()}
        detached.append((regressor, regressor.net_, regressor.global_mean_, regressor.global_scale_))
    try:
        for k, (regressor, _, mean, scale) in enumerate(detached):
            key = f"network{k}"
            regressor.net_ = None
            setattr(regressor, _NETWORK_KEY, key)
            if mean is not None:
                regressor.global_mean_, regressor.global_scale_ = mean.numpy(), scale.numpy()
        for owner, _, _ in tables:
            owner.auxiliary_X = owner.auxiliary_y = None
        estimator_bytes = sio.dumps(model)
    finally:
        for owner, auxiliary_X, auxiliary_y in tables:
            owner.auxiliary_X, owner.auxiliary_y = auxiliary_X, auxiliary_y
        for regressor, net, mean, scale in detached:
            regressor.net_, regressor.global_mean_, regressor.global_scale_ = net, mean, scale
            vars(regressor).pop(_NETWORK_KEY, None)

    buffer = io.BytesIO()
    torch.save(networks, buffer)
    params = {}
    if hasattr(model, "get_params"):
        params = {key: repr(value) for key, value in model.get_params(deep=False).items()}
    info = {"format": FORMAT, "format_version": FORMAT_VERSION, "versions": _versions(), "catalogue_name": name,
            "class": f"{type(model).__module__}.{type(model).__qualname__}", "params": params,
            "networks": len(detached), "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "metadata": metadata or {}}
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("metadata.json", json.dumps(info, indent=1, default=str))
        zf.writestr("estimator.skops", estimator_bytes)
        zf.writestr("networks.pt", buffer.getvalue())
    path = Path(path)
    write_atomically(path, archive.getvalue())
    return path


def load_model(path, *, trusted=None, return_metadata=False):
    """Load a model written by :func:`save_model`, building only trusted types and plain tensors.

    The estimator part may hold only types from skhybrid, scikit-learn, numpy, scipy, LightGBM
    and torch optimisers (``TRUSTED_PREFIXES``); another type raises, naming it, unless listed in
    ``trusted``. Networks are rebuilt from the saved parameters and their weights loaded with
    ``torch.load(weights_only=True)``, on the CPU unless CUDA is there and the model asked for it.
    A file from another skhybrid, scikit-learn or torch version loads with a warning naming the
    versions; a file of a newer format is refused.

    Parameters
    ----------
    path : str or Path
    trusted : list of str, optional
        Further type names (``"module.Class"``) to accept; only for files you trust.
    return_metadata : bool, default=False
        Also return the contents of ``metadata.json``.

    Returns
    -------
    model : estimator
    metadata : dict
        With ``return_metadata=True``.

    Examples
    --------
    See :func:`save_model`.
    """
    import skops.io as sio
    import torch

    path = Path(path)
    try:
        with zipfile.ZipFile(path) as zf:
            info = json.loads(zf.read("metadata.json"))
            estimator_bytes = zf.read("estimator.skops")
            network_bytes = zf.read("networks.pt")
    except FileNotFoundError:
        raise
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as error:
        raise ValueError(f"{path} is not a model file written by skhybrid.save_model ({type(error).__name__}: "
                         f"{error}); it is truncated, or of another kind (a joblib file loads with joblib.load).") \
            from error
    if info.get("format") != FORMAT:
        raise ValueError(f"{path} is not a skhybrid model file (format {info.get('format')!r}).")
    if int(info.get("format_version", 0)) > FORMAT_VERSION:
        raise ValueError(f"{path} was written in format version {info['format_version']} by skhybrid "
                         f"{info['versions'].get('skhybrid')}; this skhybrid reads up to version {FORMAT_VERSION}: "
                         "upgrade skhybrid.")
    now = _versions()
    differ = {k: (v, now.get(k)) for k, v in info.get("versions", {}).items() if k != "python" and now.get(k) != v}
    if differ:
        warnings.warn(f"{path} was saved with other versions ({', '.join(f'{k} {a} -> {b}' for k, (a, b) in differ.items())});"
                      " check its predictions before relying on them.", UserWarning, stacklevel=2)
    untrusted = sio.get_untrusted_types(data=estimator_bytes)
    allowed = set(trusted or ())
    refused = [t for t in untrusted if not t.startswith(TRUSTED_PREFIXES) and t not in allowed]
    if refused:
        raise ValueError(f"{path} holds types outside skhybrid's trusted list: {', '.join(refused)}. If you trust "
                         f"the file, pass load_model(..., trusted={refused!r}).")
    model = sio.loads(estimator_bytes, trusted=untrusted)
    networks = torch.load(io.BytesIO(network_bytes), map_location="cpu", weights_only=True)
    for regressor in _saved_graph_regressors(model):
        key = vars(regressor).pop(_NETWORK_KEY)
        regressor._restore_network(networks[f"{key}/module"], networks[f"{key}/criterion"])
    return (model, info) if return_metadata else model


def _saved_graph_regressors(obj):
    """Every graph network inside a loaded ``obj`` whose weights are in the file's ``networks.pt``."""
    from .models import GraphEstimator

    return [network for network in _reachable(obj, GraphEstimator) if _NETWORK_KEY in vars(network)]
    seen.add(id(obj))
    if isinstance(obj, GraphEstimator) and _NETWORK_KEY in vars(obj):
        found.append(obj)
        return found
    children = (list(obj.values()) if isinstance(obj, dict) else list(obj) if isinstance(obj, (list, tuple))
                else list(vars(obj).values()) if hasattr(obj, "__dict__") else [])
    for child in children:
        _saved_graph_regressors(child, found, seen)
    return found
