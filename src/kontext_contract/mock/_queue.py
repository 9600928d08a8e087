"""The queue state machine: the clock, the requests and their timeline, queue positions, cancellation,
eviction, logs and status bodies.

A request's state is computed from its timeline, never stored: submitted at ``t0``, ``IN_QUEUE`` until
``t0 + queue_delay``, ``IN_PROGRESS`` for ``processing_delay``, then ``COMPLETED`` — earlier when it is
cancelled, or when its ``X-Fal-Request-Timeout`` is shorter than its queue wait (docs/sources.md §3.1).
The status code each state answers with, and the request URLs handed out, come from the contract model.

The machine is sans-IO: it never sleeps, sends or schedules anything. It answers "what is the state of
this request at time t" and "when does it end"; the webhooks (:mod:`._webhooks`) and the app ask it.
"""

from __future__ import annotations

import bisect
import heapq
import random
import sys
import uuid
from collections import Counter, deque
from typing import Any

from ..contract import COMPLETED, IN_PROGRESS, IN_QUEUE, ContractModel, EndpointModel
from ._clock import Clock
from ._config import MockConfig

__all__ = ["Outcome", "QueueMachine", "Req"]


class Outcome:
    """How a finished request answers its result: status code, JSON body, extra headers."""

    __slots__ = ("body", "headers", "status")

    def __init__(self, status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> None:
        self.status = status
        self.body = body
        self.headers = headers or {}


class Req:
    """One queued request. Small on purpose (``__slots__``, the body kept as bytes): 100,000 of them
    fit in a few tens of megabytes."""

    __slots__ = (
        "base",
        "billed",
        "body",
        "cancelled_at",
        "checked",
        "endpoint",
        "id",
        "outcome",
        "seed",
        "seq",
        "t0",
        "timeout",
        "webhook",
        "webhook_done",
    )

    def __init__(
        self,
        *,
        id: str,
        seq: int,
        endpoint: EndpointModel,
        body: bytes,
        t0: float,
        base: str,
        seed: int,
        webhook: str | None,
        timeout: float | None,
    ) -> None:
        self.id = id
        self.seq = seq
        self.endpoint = endpoint
        self.body = body
        self.t0 = t0
        self.base = base
        self.seed = seed
        self.webhook = webhook
        self.timeout = timeout
        self.cancelled_at: float | None = None
        self.outcome: Outcome | None = None
        self.checked = False
        self.billed = False
        self.webhook_done = False


class QueueMachine:
    """The queue: the requests and their timeline, queue positions, cancellation, eviction, logs and
    status bodies. Sans-IO (see the module's docstring).

    Args:
        config: the mock's configuration (delays, TTL, limits, deterministic mode).
        model: the provider document's contract model.
        clock: the clock shared with the other parts of the mock.
    """

    def __init__(self, config: MockConfig, model: ContractModel, clock: Clock) -> None:
        self.config = config
        self.model = model
        self.clock = clock
        self.requests: dict[str, Req] = {}
        self._queue: deque[Req] = deque()
        self._order: deque[Req] = deque()
        #: (time, seq) of queued requests that leave the queue before they start: cancelled while queued, or
        #: their X-Fal-Request-Timeout passes first. Moved to ``_left`` (sorted seqs) when the time comes.
        self._leaving: list[tuple[float, int]] = []
        self._left: list[int] = []
        self._seq = 0
        self._enqueued = 0
        self._seed_rng: random.Random = (
            random.Random(config.faults.seed + 1) if config.deterministic else random.SystemRandom()
        )
        self.counters: Counter[str] = Counter()
        self.submits: Counter[str] = Counter()
        self.runs: Counter[str] = Counter()
        self.evicted = 0

    def _new_uuid(self) -> str:
        return str(uuid.uuid4())

    def now(self) -> float:
        """Seconds on the mock's clock: monotonic time, or the virtual clock in deterministic mode."""
        return self.clock.now()

    def timestamp(self, t: float) -> str:
        """ISO 8601 UTC time of clock time ``t``."""
        return self.clock.timestamp(t)

    def new_id(self) -> str:
        """A request id: sequential in deterministic mode (``00000000-0000-4000-8000-000000000001``, ...)."""
        self._seq += 1
        if self.config.deterministic:
            return f"00000000-0000-4000-8000-{self._seq:012x}"
        return self._new_uuid()

    def new_seed(self) -> int:
        """A random seed for an input without one (a fixed sequence in deterministic mode)."""
        return self._seed_rng.randrange(2**31)

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
        """Record a submitted request. Never fails on the body's content: invalid input is reported by the
        result (docs/sources.md §3.1). Who delivers its webhook asks :meth:`end_time`."""
        self._enqueued += 1
        req = Req(
            id=self.new_id(),
            seq=self._enqueued,
            endpoint=endpoint,
            body=body,
            t0=now,
            base=sys.intern(base),
            seed=self.new_seed(),
            webhook=webhook,
            timeout=timeout,
        )
        self.requests[req.id] = req
        self._queue.append(req)
        if self.timed_out(req):
            assert req.timeout is not None
            heapq.heappush(self._leaving, (now + req.timeout, req.seq))
        self._order.append(req)
        self.submits[endpoint.endpoint_id] += 1
        while len(self.requests) > self.config.max_requests and self._order:
            old = self._order.popleft()
            if self.requests.pop(old.id, None) is not None:
                self.evicted += 1
        return req

    def start_time(self, req: Req) -> float:
        return req.t0 + self.config.queue_delay

    def timed_out(self, req: Req) -> bool:
        """Whether the request's X-Fal-Request-Timeout (seconds) is shorter than its queue wait."""
        return req.timeout is not None and req.timeout < self.config.queue_delay

    def natural_end(self, req: Req) -> float:
        if self.timed_out(req):
            assert req.timeout is not None
            return req.t0 + req.timeout
        return req.t0 + self.config.queue_delay + self.config.processing_delay

    def end_time(self, req: Req) -> float:
        end = self.natural_end(req)
        if req.cancelled_at is not None and req.cancelled_at < end:
            return req.cancelled_at
        return end

    def state_of(self, req: Req, now: float) -> str:
        if now >= self.end_time(req):
            return COMPLETED
        if now >= self.start_time(req):
            return IN_PROGRESS
        return IN_QUEUE

    def queue_position(self, req: Req, now: float) -> int:
        """How many requests submitted before this one are still waiting to start: not started, not
        cancelled, not past their X-Fal-Request-Timeout (docs/sources.md §3.1: the position in the queue). Queue
        submits only are counted (``seq`` numbers them), never synchronous runs. O(log n) per call."""
        start = self.config.queue_delay
        while self._leaving and self._leaving[0][0] <= now:
            seq = heapq.heappop(self._leaving)[1]
            at = bisect.bisect_left(self._left, seq)
            if at == len(self._left) or self._left[at] != seq:  # cancelled, then its timeout passed
                self._left.insert(at, seq)
        while self._queue and (self._queue[0].t0 + start <= now or self._queue[0].id not in self.requests):
            self._queue.popleft()
        if not self._queue:
            self._left.clear()
            return 0
        head = self._queue[0].seq
        if self._left and self._left[0] < head:
            del self._left[: bisect.bisect_left(self._left, head)]
        ahead = req.seq - head
        gone = bisect.bisect_left(self._left, req.seq) - bisect.bisect_left(self._left, head)
        return max(0, ahead - gone)

    def cancel(self, req: Req, now: float) -> bool:
        """Ask to cancel: True if it was not finished (it now ends COMPLETED with an error)."""
        if self.state_of(req, now) == COMPLETED:
            return False
        if self.state_of(req, now) == IN_QUEUE:
            heapq.heappush(self._leaving, (now, req.seq))
        req.cancelled_at = now
        self.counters["cancelled"] += 1
        return True

    def failure(self, req: Req, now: float) -> tuple[str, str] | None:
        """(error, error_type) of a finished request that did not run: cancelled or timed out."""
        if req.cancelled_at is not None and req.cancelled_at < self.natural_end(req):
            return "Request was cancelled by the client", "request_cancelled"
        if self.timed_out(req):
            return (
                f"Request timed out: it did not start within its X-Fal-Request-Timeout of {req.timeout:g} seconds",
                "request_timeout",
            )
        return None

    def evict(self, now: float) -> None:
        """Forget finished requests older than ``request_ttl`` seconds."""
        ttl = self.config.request_ttl
        order = self._order
        while order:
            head = order[0]
            if head.id not in self.requests:
                order.popleft()
                continue
            if self.end_time(head) + ttl <= now:
                order.popleft()
                del self.requests[head.id]
                self.evicted += 1
                continue
            break

    def urls(self, req: Req) -> dict[str, str]:
        """The request URL fields (status_url, response_url, cancel_url) as the provider hands them out: the
        contract's request paths (:meth:`ContractModel.provider_request_paths`) on the mock's own base URL, or
        on the foreign host of ``x-provider.queue_urls.host``."""
        host = self.model.provider.queue_urls_host
        root = req.base if host == "own" else host.rstrip("/")
        templates = self.model.request_templates(req.endpoint.endpoint_id, as_provider=True)
        return {name: root + before + req.id + after for name, (before, after) in templates.items()}

    def logs(self, req: Req, now: float) -> list[dict[str, Any]]:
        """The request's log lines up to ``now``: ``{message, level, source, timestamp}`` (docs/sources.md §3.1)."""
        out: list[dict[str, Any]] = []
        start, end = self.start_time(req), self.end_time(req)
        failed = self.failure(req, now)
        if now >= start and start < end:
            out.append(self._log(f"Starting {req.endpoint.endpoint_id}", "INFO", start))
            steps = 4
            span = self.config.processing_delay
            for k in range(1, steps):
                t = start + span * k / steps
                if t <= now and t < end:
                    out.append(self._log(f"Inference step {k * 7}/28", "INFO", t))
        if now >= end:
            if failed is not None:
                out.append(self._log(failed[0], "ERROR", end))
            else:
                out.append(
                    self._log(f"Inference finished in {self.config.processing_delay:.2f} s", "INFO", end)
                )
        return out

    def _log(self, message: str, level: str, t: float) -> dict[str, Any]:
        return {"message": message, "level": level, "source": "USER", "timestamp": self.timestamp(t)}

    def status_body(self, req: Req, now: float, *, with_logs: bool) -> tuple[int, dict[str, Any]]:
        """(HTTP status, body) of the status route; the status code of each state is the contract's
        (:meth:`ContractModel.status_code`: 202 while IN_QUEUE/IN_PROGRESS, 200 when COMPLETED in fal's)."""
        state = self.state_of(req, now)
        body: dict[str, Any] = {"status": state, "request_id": req.id, **self.urls(req)}
        body["logs"] = self.logs(req, now) if with_logs else None
        if state == IN_QUEUE:
            body["queue_position"] = self.queue_position(req, now)
            return self.model.status_code(state), body
        if state == IN_PROGRESS:
            return self.model.status_code(state), body
        failed = self.failure(req, now)
        if failed is not None:
            body["metrics"] = {}
            body["error"], body["error_type"] = failed
        elif req.outcome is not None and req.outcome.status != 200:
            body["metrics"] = {"inference_time": self.config.processing_delay}
            body["error"] = f"Request failed with status {req.outcome.status}: the result has the details"
        else:
            body["metrics"] = {"inference_time": self.config.processing_delay}
        return self.model.status_code(state), body
