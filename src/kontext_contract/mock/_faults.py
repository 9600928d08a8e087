"""Injected faults of the contract's routes (docs/mock.md "Faults"); the webhook faults are
``MockConfig.webhook_faults``, applied by :mod:`._webhooks`."""

from __future__ import annotations

import random
from collections import Counter

from ._config import MockConfig

__all__ = ["Faults"]


class Faults:
    """One draw per request of :class:`~._config.FaultConfig`, counted by kind in :attr:`counts`.

    Args:
        config: the mock's configuration (``config.faults``: rates and seed).
    """

    def __init__(self, config: MockConfig) -> None:
        self.config = config
        self.counts: Counter[str] = Counter()
        self._rng = random.Random(config.faults.seed)

    def draw(self) -> str | None:
        """``drop``, ``502``, ``503``, ``504``, ``429`` or None: one number from ``random.Random(seed)``
        compared with the rates stacked in that order."""
        f = self.config.faults
        if not f.any:
            return None
        u = self._rng.random()
        edge = 0.0
        for kind, rate in (
            ("drop", f.rate_drop),
            ("502", f.rate_502),
            ("503", f.rate_503),
            ("504", f.rate_504),
            ("429", f.rate_429),
        ):
            edge += rate
            if u < edge:
                self.counts[kind] += 1
                return kind
        return None
