"""Ctrl-C and SIGTERM, taken alike."""

from __future__ import annotations

import signal


class interrupt_on_signals:
    """While active, SIGINT (Ctrl-C) and SIGTERM (``kill PID``, a batch scheduler's time limit) raise
    ``KeyboardInterrupt``, and ``requested`` remembers that one came.

    One mechanism for both signals: joblib, seeing the interrupt, shuts down the worker processes of
    parallel fits instead of leaving them to train on for nobody, and a caller can tell a run cut short
    even when a training loop swallowed the interrupt (skorch stops training and returns). Outside the
    main thread signals are left alone.
    """

    SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __init__(self):
        self.requested = False
        self._previous = {}

    def _handler(self, signum, frame):
        self.requested = True
        raise KeyboardInterrupt

    def __enter__(self):
        try:
            for number in self.SIGNALS:
                self._previous[number] = signal.signal(number, self._handler)
        except ValueError:  # not the main thread
            pass
        return self

    def __exit__(self, *exc):
        for number, previous in self._previous.items():
            signal.signal(number, previous)
        self._previous = {}
        return False
