"""What every timed result of the benchmark has: its samples' best and median."""

from __future__ import annotations

import statistics


class Timed:
    """A mixin for result dataclasses that hold ``times``, seconds per sample."""

    times: list[float]

    @property
    def min(self) -> float:
        return min(self.times) if self.times else float("nan")

    @property
    def median(self) -> float:
        return statistics.median(self.times) if self.times else float("nan")
