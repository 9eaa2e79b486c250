"""Process-wide display settings: ``get_config``, ``set_config``, ``config_context``.

Only settings that change what is *shown*, never what is computed, live here, so a
cloned or pickled estimator behaves the same wherever it runs. Like scikit-learn's
own configuration, the settings are per thread.
"""

from __future__ import annotations

import threading
from contextlib import contextmanager

__all__ = ["config_context", "get_config", "set_config"]

_DEFAULTS = {"show_progress": False}
_local = threading.local()


def _settings() -> dict:
    if not hasattr(_local, "settings"):
        _local.settings = dict(_DEFAULTS)
    return _local.settings


def get_config() -> dict:
    """The current settings, as a new dict.

    Returns
    -------
    config : dict
        ``show_progress`` (bool): whether long steps (Magpie featurization,
        graph building, epochs of a graph network, the internal folds of a
        fusion model) show progress bars on stderr.

    Examples
    --------
    >>> import skhybrid
    >>> skhybrid.get_config()["show_progress"]
    False
    """
    return dict(_settings())


def set_config(show_progress: bool | None = None) -> None:
    """Change settings for the current thread; ``None`` leaves one unchanged.

    Parameters
    ----------
    show_progress : bool, optional
        Show progress bars for long steps. A bar appears only once its step
        has run for half a second, so quick calls stay quiet. ``skhybrid
        benchmark`` turns this on unless ``--no-progress`` is given.

    Examples
    --------
    >>> import skhybrid
    >>> skhybrid.set_config(show_progress=True)
    >>> skhybrid.set_config(show_progress=False)
    """
    if show_progress is not None:
        _settings()["show_progress"] = bool(show_progress)


@contextmanager
def config_context(*, show_progress: bool | None = None):
    """Settings changed inside a ``with`` block and restored after it.

    Parameters
    ----------
    show_progress : bool, optional
        See :func:`set_config`.

    Examples
    --------
    >>> import skhybrid
    >>> from skhybrid import MagpieFeaturizer
    >>> with skhybrid.config_context(show_progress=True):
    ...     X = MagpieFeaturizer().fit_transform(["NaCl", "Fe2O3"])
    >>> X.shape
    (2, 145)
    """
    old = get_config()
    set_config(show_progress=show_progress)
    try:
        yield
    finally:
        _settings().update(old)
