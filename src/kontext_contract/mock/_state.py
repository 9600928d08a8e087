"""The mock's state: one object (``app.state.mock``) made of four parts, each in its own module:

- :class:`~._queue.QueueMachine`: the clock, the requests and their timeline, status bodies;
- :class:`~._outputs.Outputs`: input validation and model outputs, from the contract model;
- :class:`~._webhooks.Webhooks`: webhook delivery;
- :class:`~._faults.FaultsAndStats`: injected faults and ``/_mock/stats``.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter, deque
from datetime import UTC, datetime, timedelta

import httpx

from ..contract import COMPLETED, IN_PROGRESS, IN_QUEUE, ContractModel
from ._config import MockConfig, default_key
from ._faults import FaultsAndStats
from ._images import FileCache
from ._outputs import Outputs, plan_fillers
from ._queue import Outcome, QueueMachine, Req
from ._webhooks import Webhooks

__all__ = ["COMPLETED", "IN_PROGRESS", "IN_QUEUE", "MockState", "Outcome", "Req"]

_DETERMINISTIC_EPOCH = datetime(2025, 1, 1, tzinfo=UTC)


class MockState(QueueMachine, Outputs, Webhooks, FaultsAndStats):
    """Everything the mock keeps. ``app.state.mock`` is one; tests read :meth:`stats` and, in
    deterministic mode, move the clock with :meth:`advance`.

    Args:
        config: the configuration.
        model: the provider document's contract model (:class:`kontext_contract.contract.ContractModel`).
        webhook_transport: an httpx transport for webhook POSTs (tests inject one; default: the network,
            loopback or allowed hosts only).
    """

    def __init__(
        self,
        config: MockConfig,
        model: ContractModel,
        *,
        webhook_transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.config = config
        self.model = model
        self.key = config.key if config.key is not None else default_key(model.provider.auth_scheme)
        self.requests: dict[str, Req] = {}
        self.files = FileCache()
        self.fillers = plan_fillers(model)
        self._queue: deque[Req] = deque()
        self._order: deque[Req] = deque()
        self._webhooks: list[tuple[float, int, Req]] = []
        self._tasks: set[asyncio.Task[None]] = set()
        self._webhook_transport = webhook_transport
        self._webhook_client: httpx.AsyncClient | None = None
        self._seq = 0
        self._enqueued = 0
        #: (time, seq) of queued requests that leave the queue before they start: cancelled while queued, or
        #: their X-Fal-Request-Timeout passes first. Moved to ``_left`` (sorted seqs) when the time comes.
        self._leaving: list[tuple[float, int]] = []
        self._left: list[int] = []
        self._virtual = 0.0
        self._fault_rng = random.Random(config.faults.seed)
        self._seed_rng: random.Random = (
            random.Random(config.faults.seed + 1) if config.deterministic else random.SystemRandom()
        )
        self._epoch = (
            _DETERMINISTIC_EPOCH
            if config.deterministic
            else datetime.now(UTC) - timedelta(seconds=time.monotonic())
        )
        self.counters: Counter[str] = Counter()
        self.submits: Counter[str] = Counter()
        self.runs: Counter[str] = Counter()
        self.faults: Counter[str] = Counter()
        self.webhooks: Counter[str] = Counter()
        self.evicted = 0
