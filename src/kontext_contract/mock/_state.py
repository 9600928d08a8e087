"""The mock's state: one object (``app.state.mock``) composed of parts, each in its own module, none of
which knows the others except through what it is given:

- :class:`~._clock.Clock`: monotonic time, or the virtual clock of deterministic mode;
- :class:`~._queue.QueueMachine`: the requests and their timeline, status bodies (sans-IO);
- :class:`~._outputs.Outputs`: input validation and model outputs, from the contract model;
- :class:`~._webhooks.WebhookSender`: signed webhook deliveries and their retries (the I/O);
- :class:`~._storage.Storage`: fal's storage (uploads);
- :class:`~._faults.Faults`: injected faults.

:class:`MockState` wires them (a submit with ``fal_webhook`` is scheduled with the sender, a cancel
re-schedules it, every handled request moves the clock and pumps the sender) and keeps the one surface
the app and the tests use.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

import httpx

from ..contract import COMPLETED, IN_PROGRESS, IN_QUEUE, ContractModel, EndpointModel
from ._clock import Clock
from ._config import MockConfig, default_key
from ._faults import Faults
from ._images import FileCache
from ._outputs import Outputs
from ._queue import Outcome, QueueMachine, Req
from ._signing import WebhookSigner
from ._storage import Storage
from ._webhooks import Delivery, WebhookSender, webhook_allowed

__all__ = ["COMPLETED", "IN_PROGRESS", "IN_QUEUE", "MockState", "Outcome", "Req"]


class MockState:
    """Everything the mock keeps. ``app.state.mock`` is one; tests read :meth:`stats` and, in
    deterministic mode, move the clock with :meth:`advance`.

    Args:
        config: the configuration.
        model: the provider document's contract model (:class:`kontext_contract.contract.ContractModel`).
        webhook_transport: an httpx transport for webhook POSTs (tests inject one; default: the network,
            loopback or allowed hosts only).
        signer: the key that signs webhooks (default: ``config.webhook_key``'s, else a new one).

    Raises:
        ValueError: ``config.webhook_key`` cannot be read as an ED25519 key (the message names the file).
    """

    def __init__(
        self,
        config: MockConfig,
        model: ContractModel,
        *,
        webhook_transport: httpx.AsyncBaseTransport | None = None,
        signer: WebhookSigner | None = None,
    ) -> None:
        self.config = config
        self.model = model
        self.key = config.key if config.key is not None else default_key(model.provider.auth_scheme)
        self.clock = Clock(virtual=config.deterministic)
        self.queue = QueueMachine(config, model, self.clock)
        self.outputs = Outputs(config, model, self.queue)
        self.fault_draws = Faults(config)
        self.storage = Storage(config, self.clock, self.key)
        self.outputs.storage = self.storage
        if signer is None:
            user = config.webhook_user_id
            signer = (
                WebhookSigner.from_file(config.webhook_key, user_id=user)
                if config.webhook_key is not None
                else WebhookSigner.generate(user_id=user)
            )
        self.signer = signer
        self.sender = WebhookSender(
            config,
            self.queue,
            self.outputs.outcome,
            signer,
            allowed=lambda url: self.webhook_allowed(url),
            transport=webhook_transport,
        )

    # -- the parts' state, as before ----------------------------------------------------------------

    @property
    def requests(self) -> dict[str, Req]:
        return self.queue.requests

    @property
    def files(self) -> FileCache:
        return self.outputs.files

    @property
    def counters(self) -> Counter[str]:
        return self.queue.counters

    @property
    def submits(self) -> Counter[str]:
        return self.queue.submits

    @property
    def runs(self) -> Counter[str]:
        return self.queue.runs

    @property
    def faults(self) -> Counter[str]:
        return self.fault_draws.counts

    @property
    def webhooks(self) -> Counter[str]:
        return self.sender.counts

    @property
    def evicted(self) -> int:
        return self.queue.evicted

    @property
    def _tasks(self) -> set[asyncio.Task[None]]:
        return self.sender.tasks

    # -- clock --------------------------------------------------------------------------------------

    def now(self) -> float:
        """Seconds on the mock's clock: monotonic time, or the virtual clock in deterministic mode."""
        return self.clock.now()

    def advance(self, seconds: float) -> None:
        """Move the virtual clock forward (deterministic mode; ignored otherwise) and deliver what is due."""
        if self.clock.advance(seconds):
            self.sender.pump()

    def tick(self) -> float:
        """Called once per handled request: advance the virtual clock by ``clock_step``, evict what is
        expired, deliver due webhooks. Returns the clock."""
        if self.clock.advance(self.config.clock_step) and self.sender.pending:
            self.sender.pump()
        now = self.clock.now()
        self.queue.evict(now)
        return now

    def timestamp(self, t: float) -> str:
        """ISO 8601 UTC time of clock time ``t``."""
        return self.clock.timestamp(t)

    # -- queue --------------------------------------------------------------------------------------

    def new_id(self) -> str:
        return self.queue.new_id()

    def new_seed(self) -> int:
        return self.queue.new_seed()

    def submit(
        self,
        endpoint: EndpointModel,
        body: bytes,
        *,
        base: str,
        webhook: str | None,
        timeout: float | None,
        now: float,
    ) -> Req:
        """Record a submitted request (:meth:`QueueMachine.submit`) and schedule its webhook."""
        req = self.queue.submit(endpoint, body, base=base, webhook=webhook, timeout=timeout, now=now)
        if webhook is not None:
            self.sender.schedule(req, self.queue.end_time(req))
        return req

    def cancel(self, req: Req, now: float) -> bool:
        """Ask to cancel (:meth:`QueueMachine.cancel`); its webhook is then due at once."""
        if not self.queue.cancel(req, now):
            return False
        if req.webhook is not None and not req.webhook_done:
            self.sender.schedule(req, now)
        return True

    def state_of(self, req: Req, now: float) -> str:
        return self.queue.state_of(req, now)

    def start_time(self, req: Req) -> float:
        return self.queue.start_time(req)

    def end_time(self, req: Req) -> float:
        return self.queue.end_time(req)

    def timed_out(self, req: Req) -> bool:
        return self.queue.timed_out(req)

    def queue_position(self, req: Req, now: float) -> int:
        return self.queue.queue_position(req, now)

    def failure(self, req: Req, now: float) -> tuple[str, str] | None:
        return self.queue.failure(req, now)

    def urls(self, req: Req) -> dict[str, str]:
        return self.queue.urls(req)

    def status_body(self, req: Req, now: float, *, with_logs: bool) -> tuple[int, dict[str, Any]]:
        return self.queue.status_body(req, now, with_logs=with_logs)

    # -- outputs ------------------------------------------------------------------------------------

    async def outcome(self, req: Req, now: float) -> Outcome:
        return await self.outputs.outcome(req, now)

    async def ensure_checked(self, req: Req) -> None:
        await self.outputs.ensure_checked(req)

    async def evaluate(
        self, endpoint: EndpointModel, body: bytes, *, base: str, seed: int
    ) -> tuple[Outcome, bool]:
        """A synchronous run's output (:meth:`Outputs.evaluate`), billed when it succeeds."""
        out, cacheable = await self.outputs.evaluate(endpoint, body, base=base, seed=seed)
        self.outputs.bill(endpoint, out)
        return out, cacheable

    # -- webhooks and faults ------------------------------------------------------------------------

    def webhook_allowed(self, url: str) -> bool:
        """Whether the mock may POST to ``url`` (:func:`~._webhooks.webhook_allowed`)."""
        return webhook_allowed(url, self.config.webhook_allow_hosts)

    async def _send_webhook(self, req: Req) -> None:
        await self.sender.deliver(Delivery(req))

    def draw_fault(self) -> str | None:
        """One draw of :class:`FaultConfig`: ``drop``, ``502``, ``503``, ``504``, ``429`` or None."""
        return self.fault_draws.draw()

    def stats(self) -> dict[str, Any]:
        """Counts for tests and people (``GET /_mock/stats``): submits per endpoint, runs, requests by
        state, what was billed, webhooks and their deliveries, uploads, faults by kind, and the calls of
        each route."""
        now = self.now()
        by_state: Counter[str] = Counter({IN_QUEUE: 0, IN_PROGRESS: 0, COMPLETED: 0})
        for req in list(self.requests.values()):
            by_state[self.state_of(req, now)] += 1
        billed = self.outputs.billed
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
            "billed": {
                "requests": sum(v for k, v in billed.items() if k.startswith("requests:")),
                "images": sum(v for k, v in billed.items() if k.startswith("images:")),
                "by_endpoint": {
                    k.removeprefix("requests:"): {
                        "requests": v,
                        "images": billed["images:" + k.removeprefix("requests:")],
                    }
                    for k, v in sorted(billed.items())
                    if k.startswith("requests:")
                },
            },
            "calls": dict(self.counters),
            "webhooks": {
                "sent": self.webhooks["sent"],
                "failed": self.webhooks["failed"],
                "refused": self.webhooks["refused"],
            },
            "webhook_deliveries": self.sender.stats(),
            "storage": self.storage.stats(),
            "faults": dict(self.faults),
        }

    async def aclose(self) -> None:
        """Wait for webhooks in flight and close their client."""
        await self.sender.aclose()
