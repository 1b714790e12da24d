"""Progress bars: tqdm, fed by a training loop that runs in C++ (or its NumPy twin).

tqdm is optional (``pip install "plainnet[progress]"``) and imported here
only, when a bar is asked for. A bar is asked for with the value of a
``progress`` argument:

* ``False`` or ``None``: no bar;
* ``True``: ``tqdm.auto.tqdm`` (a widget in notebooks, text on a terminal);
* a dict: keyword arguments for ``tqdm.auto.tqdm`` (``file``, ``desc``,
  ``leave``, ``disable``, ``mininterval``, ...);
* a callable, such as a tqdm class or ``functools.partial(tqdm, ...)``:
  called with the keyword arguments of the bar, it returns the bar.

``Network.fit`` counts epochs: the loop calls ``EpochBar`` after an epoch at
most every ``PROGRESS_INTERVAL`` seconds (0.2), so a bar redraws a few times a
second however short the epochs are, and Python runs nothing per iteration.
"""

from __future__ import annotations

import math
from typing import Any, Callable, Iterable, Iterator, Optional, TypeVar

import numpy as np

INSTALL_HINT = 'pip install "plainnet[progress]"'

Factory = Callable[..., Any]
Item = TypeVar("Item")


def _tqdm(name: str) -> Factory:
    try:
        from tqdm.auto import tqdm
    except ImportError as exc:
        raise ImportError(f"{name}: a progress bar needs tqdm, which is not installed ({exc}); "
                          f"{INSTALL_HINT}", name="tqdm") from None
    factory: Factory = tqdm
    return factory


def tqdm_available() -> bool:
    """Whether ``tqdm.auto`` can be imported."""
    try:
        _tqdm("progress")
    except ImportError:
        return False
    return True


class Bars:
    """How to make a bar: the tqdm class (or another callable) and keyword arguments."""

    def __init__(self, factory: Factory, options: dict[str, Any], name: str) -> None:
        self.factory = factory
        self.options = options
        self.name = name

    def make(self, **defaults: Any) -> Any:
        """A bar with ``defaults`` (total, unit, ...) and the user's options over them."""
        kwargs = {**defaults, **self.options}
        try:
            bar = self.factory(**kwargs)
        except (TypeError, KeyError) as exc:  # tqdm: TqdmKeyError on an unknown argument
            raise TypeError(f"{self.name}: could not make a progress bar with "
                            f"{sorted(kwargs)} ({exc})") from None
        missing = [m for m in ("update", "set_postfix", "close") if not hasattr(bar, m)]
        if missing:
            bar_close = getattr(bar, "close", None)
            if callable(bar_close):
                bar_close()
            raise TypeError(f"{self.name}: expected a tqdm-like bar (with update, set_postfix and "
                            f"close), got {type(bar).__name__} without {', '.join(missing)}")
        return bar


def bars(progress: Any, name: str = "progress") -> Optional[Bars]:
    """None (no bar) or how to make one, from a ``progress`` argument.

    Raises ImportError naming the extra to install when a bar needs tqdm and
    it is missing, ValueError for a dict that sets ``total`` (the caller
    counts), TypeError for anything else than the values listed above.
    """
    if progress is None or (isinstance(progress, (bool, np.bool_)) and not progress):
        return None
    if isinstance(progress, (bool, np.bool_)):
        return Bars(_tqdm(name), {}, name)
    if isinstance(progress, dict):
        bad = [k for k in progress if not isinstance(k, str)]
        if bad:
            raise TypeError(f"{name}: expected a dict of tqdm keyword arguments (str keys), "
                            f"got key {bad[0]!r}")
        if "total" in progress:
            raise ValueError(f"{name}: 'total' is set by plainnet (what the bar counts), "
                             f"leave it out of the dict")
        return Bars(_tqdm(name), dict(progress), name)
    if callable(progress):
        return Bars(progress, {}, name)
    raise TypeError(f"{name}: expected True, False, a dict of tqdm arguments or a tqdm class, "
                    f"got {type(progress).__name__} {progress!r}")


def _number(value: float) -> str:
    return f"{value:.4g}"


class EpochBar:
    """A bar over a fit's epochs, its postfix the latest epoch's metrics.

    Called as the training loop's progress hook ``(epochs, iterations, row)``,
    where row is the epoch's (loss, accuracy, val_loss, val_accuracy), NaN
    where there is nothing to show.
    """

    def __init__(self, how: Bars, epochs: int) -> None:
        self._bar = how.make(total=epochs, unit="epoch")
        self._shown = 0

    def __call__(self, epochs: int, iterations: int, row: tuple[float, ...]) -> None:
        postfix = {}
        for key, value in zip(("loss", "acc", "val_loss", "val_acc"), row):
            if not math.isnan(value):
                postfix[key] = _number(float(value))
        self._bar.set_postfix(postfix, refresh=False)
        self._advance(epochs)

    def _advance(self, epochs: int) -> None:
        if epochs > self._shown:
            self._bar.update(epochs - self._shown)
            self._shown = epochs

    def close(self, epochs: int, row: Optional[tuple[float, ...]] = None) -> None:
        """Show where training ended (``epochs`` done, the last one's ``row``) and close."""
        try:
            if row is not None:
                self(epochs, 0, row)
            else:
                self._advance(epochs)
        finally:
            self._bar.close()


def counted(items: Iterable[Item], how: Optional[Bars], total: int,
            **defaults: Any) -> Iterator[Item]:
    """``items`` as they are, with a bar counting them when ``how`` is not None."""
    if how is None:
        yield from items
        return
    bar = how.make(total=total, **defaults)
    try:
        for item in items:
            yield item
            bar.update(1)
    finally:
        bar.close()
