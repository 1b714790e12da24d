"""The tutorial as experiments: every claim it makes, computed by plainnet and checked.

    >>> from plainnet import experiments
    >>> experiments.names()[:3]
    ['xor-dataset', 'sigmoid', 'linear-collapse']
    >>> result = experiments.run("xor")          # doctest: +SKIP
    >>> result.data["correct"], result.verdict   # doctest: +SKIP

Each experiment is a module with ``compute(backend=...) -> Result`` (the numbers,
a table and a verdict computed from them) and ``plot(result)`` (matplotlib
figures, drawn only when asked). ``python -m plainnet experiments`` runs them
all and writes a report.
"""

from __future__ import annotations

import inspect
from typing import Any

from . import (activations, few_hidden, house_prices, linear_collapse, lr_too_high, lr_too_low,
               sigmoid, universal_approximation, xor, xor_dataset, xor_reliability)
from ._base import Experiment, Result

_MODULES = (xor_dataset, sigmoid, linear_collapse, house_prices, xor, lr_too_high, lr_too_low,
            few_hidden, activations, xor_reliability, universal_approximation)

REGISTRY: dict[str, Experiment] = {
    m.NAME: Experiment(name=m.NAME, title=m.TITLE, compute=m.compute, plot=m.plot,
                       summary=(m.__doc__ or "").strip().splitlines()[0],
                       shows_progress="progress" in inspect.signature(m.compute).parameters)
    for m in _MODULES
}


def names() -> list[str]:
    """List the experiment names, in the order the report shows them.

    Returns
    -------
    list of str
        The names ``run`` takes.

    Examples
    --------
    >>> from plainnet import experiments
    >>> experiments.names()[:4]
    ['xor-dataset', 'sigmoid', 'linear-collapse', 'house-prices']
    """
    return list(REGISTRY)


def get(name: str) -> Experiment:
    """Look an experiment up by name.

    Parameters
    ----------
    name : str
        One of ``names()``.

    Returns
    -------
    Experiment
        Its registry entry.

    Raises
    ------
    ValueError
        An unknown name; the message lists the known ones.
    """
    if not isinstance(name, str):
        raise TypeError(f"name: expected an experiment name (str), got {type(name).__name__}")
    if name not in REGISTRY:
        raise ValueError(f"name: unknown experiment {name!r}; expected one of: "
                         f"{', '.join(REGISTRY)}")
    return REGISTRY[name]


def run(name: str, backend: str = "native", **options: Any) -> Result:
    """Run one experiment.

    Parameters
    ----------
    name : str
        One of ``names()``.
    backend : {"native", "numpy"}, default="native"
        Which backend computes.
    **options
        Passed to the experiment's ``compute`` (for example
        ``run("xor-reliability", seeds=20)``); by default each runs as the
        report does.

    Returns
    -------
    Result
        Its ``data`` holds every number.

    Examples
    --------
    >>> from plainnet import experiments
    >>> result = experiments.run("house-prices")
    >>> result.as_claimed
    True
    """
    from ..network import BACKENDS
    from .._checks import choice

    experiment = get(name)
    choice(backend, "backend", BACKENDS)
    return experiment.compute(backend=backend, **options)


__all__ = ["Experiment", "REGISTRY", "Result", "get", "names", "run"]
