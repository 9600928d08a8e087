"""Injected faults (docs/mock.md "Faults") and the counts of ``GET /_mock/stats``."""

from __future__ import annotations

import random
from collections import Counter
from typing import TYPE_CHECKING, Any

from ..contract import COMPLETED, IN_PROGRESS, IN_QUEUE, ContractModel
from ._config import MockConfig
from ._queue import Req

__all__ = ["FaultsAndStats"]


class FaultsAndStats:
    """The faults and stats half of :class:`~kontext_contract.mock._state.MockState` (a mixin)."""

    config: MockConfig
    model: ContractModel
    requests: dict[str, Req]
    counters: Counter[str]
    submits: Counter[str]
    runs: Counter[str]
    faults: Counter[str]
    webhooks: Counter[str]
    evicted: int
    _fault_rng: random.Random

    if TYPE_CHECKING:  # provided by the other parts of MockState

        def now(self) -> float:  # the queue mixin's clock
            ...
        def state_of(self, req: Req, now: float) -> str:  # the queue mixin's
            ...

    def stats(self) -> dict[str, Any]:
        """Counts for tests and people (``GET /_mock/stats``): submits per endpoint, runs, requests by
        state, webhooks, faults by kind, and the calls of each route."""
        now = self.now()
        by_state: Counter[str] = Counter({IN_QUEUE: 0, IN_PROGRESS: 0, COMPLETED: 0})
        for req in list(self.requests.values()):
            by_state[self.state_of(req, now)] += 1
        return {
            "provider": self.model.name,
            "deterministic": self.config.deterministic,
            "submits": dict(self.submits),
            "submits_total": sum(self.submits.values()),
            "runs": dict(self.runs),
            "runs_total": sum(self.runs.values()),
            "requests": dict(by_state),
            "requests_kept": len(self.requests),
            "evicted": self.evicted,
            "calls": dict(self.counters),
            "webhooks": {
                "sent": self.webhooks["sent"],
                "failed": self.webhooks["failed"],
                "refused": self.webhooks["refused"],
            },
            "faults": dict(self.faults),
        }

    def draw_fault(self) -> str | None:
        """One draw of :class:`FaultConfig`: ``drop``, ``502``, ``503``, ``504``, ``429`` or None."""
        f = self.config.faults
        if not f.any:
            return None
        u = self._fault_rng.random()
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
                self.faults[kind] += 1
                return kind
        return None
