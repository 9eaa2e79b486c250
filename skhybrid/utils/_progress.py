"""Progress bars that follow ``skhybrid.get_config()["show_progress"]``."""

from __future__ import annotations

from .._config import get_config

# Seconds a step must run before its bar appears: quick calls (a predict on a few
# structures, a test) stay quiet even when progress is on.
DELAY = 0.5
# Seconds between two redraws (tqdm's default).
MININTERVAL = 0.1


def progress_bar(iterable=None, *, total=None, desc=None, unit="it", leave=False, **kwargs):
    """A ``tqdm`` bar on stderr, disabled unless progress is switched on.

    Inner bars (graph building inside a fold, epochs inside a fit) do not stay
    on screen when done (``leave=False``); the caller's outer bar does.

    Parameters
    ----------
    iterable : iterable, optional
        What to iterate over, as with ``tqdm``.
    total : int, optional
        The number of steps, when ``update`` is called by hand.
    desc : str, optional
        The label shown before the bar.
    unit : str, default="it"
        What a step is called ("graph", "epoch", ...).
    leave : bool, default=False
        Keep the finished bar on screen.
    **kwargs
        Further ``tqdm`` arguments.

    Returns
    -------
    tqdm.tqdm
        Disabled (a no-op) unless ``skhybrid.get_config()["show_progress"]`` is on.

    Examples
    --------
    >>> import skhybrid
    >>> from skhybrid.utils import progress_bar
    >>> progress_bar(total=3).disable          # progress is off by default: a silent no-op
    True
    >>> with skhybrid.config_context(show_progress=True):
    ...     with progress_bar(total=3, desc="steps", unit="step") as bar:
    ...         for _ in range(3):
    ...             bar.update(1)
    >>> bar.n
    3
    """
    from tqdm.auto import tqdm

    return tqdm(iterable, total=total, desc=desc, unit=unit, leave=leave, delay=DELAY, mininterval=MININTERVAL,
                disable=not get_config()["show_progress"], dynamic_ncols=True, **kwargs)
