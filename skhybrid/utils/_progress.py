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
    """
    from tqdm.auto import tqdm

    return tqdm(iterable, total=total, desc=desc, unit=unit, leave=leave, delay=DELAY, mininterval=MININTERVAL,
                disable=not get_config()["show_progress"], dynamic_ncols=True, **kwargs)
