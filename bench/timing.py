"""What every timed result of the benchmark has: its samples' best and median."""

from __future__ import annotations

import statistics
from typing import Callable, Optional


class Timed:
    """A mixin for result dataclasses that hold ``times``, seconds per sample."""

    times: list[float]

    @property
    def min(self) -> float:
        return min(self.times) if self.times else float("nan")

    @property
    def median(self) -> float:
        return statistics.median(self.times) if self.times else float("nan")


class Scenarios:
    """A mixin for result dataclasses that hold ``times``, seconds per sample of
    each named scenario, and ``ok``, whether their check passed."""

    times: dict[str, list[float]]
    ok: bool

    def add(self, scenario: str, seconds: float) -> None:
        self.times.setdefault(scenario, []).append(seconds)

    def best(self, scenario: str) -> float:
        values = self.times.get(scenario)
        return min(values) if values else float("nan")

    def median(self, scenario: str) -> float:
        values = self.times.get(scenario)
        return statistics.median(values) if values else float("nan")

    def ratio(self, a: str, b: str, of: Optional[Callable[[str], float]] = None) -> Optional[float]:
        """of(a) / of(b), best times unless ``of`` says otherwise (self.median, say);
        None when either is missing or the check failed."""
        if not self.ok or not self.times.get(a) or not self.times.get(b):
            return None
        stat = self.best if of is None else of
        return stat(a) / stat(b)
