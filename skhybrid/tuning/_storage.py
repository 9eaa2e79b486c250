"""Opening an Optuna storage: reachable before any work starts, passwords never printed."""

from __future__ import annotations

import time
import warnings

__all__ = ["mask_password", "open_storage"]


def mask_password(url: str) -> str:
    """``url`` with its password replaced by ``***`` (unchanged when it has none or does not parse)."""
    try:
        from sqlalchemy.engine import make_url

        parsed = make_url(url)
    except Exception:
        return url
    if parsed.password is None:
        return url
    return parsed.render_as_string(hide_password=True)


def open_storage(url):
    """The storage for ``optuna.create_study`` and the URL to show (password masked).

    ``None`` is in memory. An RDB URL is connected to at once (tables created
    if needed); failure raises ``ValueError`` naming the masked URL. Stale
    trials of a killed worker are failed after two missed heartbeats, so
    other workers do not wait on them.
    """
    if url is None:
        return None, None
    if not isinstance(url, str):
        return url, type(url).__name__  # an optuna storage object, used as given
    import optuna
    from sqlalchemy.exc import IntegrityError, ProgrammingError

    shown = mask_password(url)

    error = None
    for attempt in range(5):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
                return optuna.storages.RDBStorage(url, heartbeat_interval=30, grace_period=90), shown
        except (IntegrityError, ProgrammingError) as exc:
            # workers starting together race to create optuna's tables; the loser retries
            error = exc
            time.sleep(0.2 * (attempt + 1))
        except Exception as exc:
            error = exc
            break
    if error is not None:
        message = str(error)
        try:
            from sqlalchemy.engine import make_url

            password = make_url(url).password
            if password:
                message = message.replace(str(password), "***")
        except Exception:
            pass
        raise ValueError(f"Cannot open the Optuna storage {shown}: {type(error).__name__}: "
                         f"{message.splitlines()[0] if message else ''}") from None
