"""The mock's state: the clock, the requests and their timeline, evaluation of inputs, outputs, stats.

A request's state is computed from its timeline, never stored: submitted at ``t0``, ``IN_QUEUE`` until
``t0 + queue_delay``, ``IN_PROGRESS`` for ``processing_delay``, then ``COMPLETED`` — earlier when it is
cancelled, or when its ``X-Fal-Request-Timeout`` is shorter than its queue wait (FACTS.md §3.1).
"""

from __future__ import annotations

import asyncio
import base64
import bisect
import contextlib
import heapq
import ipaddress
import json
import logging
import random
import sys
import time
import uuid
from collections import Counter, deque
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import httpx
from anyio import to_thread

from ._config import DEFAULT_KEYS, MockConfig
from ._contract import Contract, Endpoint
from ._images import (
    FileCache,
    ImageSpec,
    InputImageError,
    decode_data_uri,
    extension_for,
    input_digest,
    mime_for,
    parse_name,
    size_for_ratio,
)
from ._schema import error_items

__all__ = ["COMPLETED", "IN_PROGRESS", "IN_QUEUE", "MockState", "Outcome", "Req"]

log = logging.getLogger("kontext_contract.mock")

IN_QUEUE, IN_PROGRESS, COMPLETED = "IN_QUEUE", "IN_PROGRESS", "COMPLETED"
_DETERMINISTIC_EPOCH = datetime(2025, 1, 1, tzinfo=UTC)
_FILES = "/_mock/files/"


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
        endpoint: Endpoint,
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
        self.webhook_done = False


class MockState:
    """Everything the mock keeps. ``app.state.mock`` is one; tests read :meth:`stats` and, in
    deterministic mode, move the clock with :meth:`advance`.

    Args:
        config: the configuration.
        contract: the provider document's facts.
        webhook_transport: an httpx transport for webhook POSTs (tests inject one; default: the network,
            loopback or allowed hosts only).
    """

    def __init__(
        self,
        config: MockConfig,
        contract: Contract,
        *,
        webhook_transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.config = config
        self.contract = contract
        self.key = (
            config.key
            if config.key is not None
            else DEFAULT_KEYS.get(contract.auth_scheme, DEFAULT_KEYS["Key"])
        )
        self.requests: dict[str, Req] = {}
        self.files = FileCache()
        self._queue: deque[Req] = deque()
        self._order: deque[Req] = deque()
        self._webhooks: list[tuple[float, int, Req]] = []
        self._tasks: set[asyncio.Task[None]] = set()
        self._timer: asyncio.TimerHandle | None = None
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
        self._uuid = uuid.uuid4
        self.counters: Counter[str] = Counter()
        self.submits: Counter[str] = Counter()
        self.runs: Counter[str] = Counter()
        self.faults: Counter[str] = Counter()
        self.webhooks: Counter[str] = Counter()
        self.evicted = 0

    # -- the clock ---------------------------------------------------------------------------------

    def now(self) -> float:
        """Seconds on the mock's clock: monotonic time, or the virtual clock in deterministic mode."""
        return self._virtual if self.config.deterministic else time.monotonic()

    def advance(self, seconds: float) -> None:
        """Move the virtual clock forward (deterministic mode; ignored otherwise) and deliver what is due."""
        if self.config.deterministic and seconds > 0:
            self._virtual += seconds
            self._pump()

    def tick(self) -> float:
        """Called once per handled request: advance the virtual clock by ``clock_step``, evict what is
        expired, deliver due webhooks. Returns the clock."""
        if self.config.deterministic:
            self._virtual += self.config.clock_step
            if self._webhooks:
                self._pump()
        now = self.now()
        self._evict(now)
        return now

    def timestamp(self, t: float) -> str:
        """ISO 8601 UTC time of clock time ``t``."""
        return (self._epoch + timedelta(seconds=t)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")

    # -- requests ----------------------------------------------------------------------------------

    def new_id(self) -> str:
        """A request id: sequential in deterministic mode (``00000000-0000-4000-8000-000000000001``, ...)."""
        self._seq += 1
        if self.config.deterministic:
            return f"00000000-0000-4000-8000-{self._seq:012x}"
        return str(self._uuid())

    def new_seed(self) -> int:
        """A random seed for an input without one (a fixed sequence in deterministic mode)."""
        return self._seed_rng.randrange(2**31)

    def submit(
        self,
        endpoint: Endpoint,
        body: bytes,
        *,
        base: str,
        webhook: str | None,
        timeout: float | None,
        now: float,
    ) -> Req:
        """Record a submitted request and schedule its webhook. Never fails on the body's content:
        invalid input is reported by the result (FACTS.md §3.1)."""
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
        if webhook is not None:
            self._schedule_webhook(req, self.end_time(req))
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
        cancelled, not past their X-Fal-Request-Timeout (FACTS.md §3.1: the position in the queue). Queue
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
        if req.webhook is not None and not req.webhook_done:
            self._schedule_webhook(req, now)
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

    def _evict(self, now: float) -> None:
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

    # -- webhooks ----------------------------------------------------------------------------------

    def _schedule_webhook(self, req: Req, due: float) -> None:
        heapq.heappush(self._webhooks, (due, req.seq, req))
        if self.config.deterministic:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        delay = max(0.0, due - self.now())
        loop.call_later(delay + 0.001, self._pump)

    def _pump(self) -> None:
        now = self.now()
        while self._webhooks and self._webhooks[0][0] <= now:
            _due, _seq, req = heapq.heappop(self._webhooks)
            if req.webhook_done or self.state_of(req, now) != COMPLETED:
                continue
            req.webhook_done = True
            try:
                task = asyncio.get_running_loop().create_task(self._send_webhook(req))
            except RuntimeError:
                continue
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    def webhook_allowed(self, url: str) -> bool:
        """Whether the mock may POST to ``url``: http(s) to a loopback address (127.0.0.0/8, ::1,
        ``localhost``) or to a host of ``webhook_allow_hosts``. Host names are never resolved."""
        try:
            parts = urlsplit(url)
            host = (parts.hostname or "").lower()
        except ValueError:
            return False
        if parts.scheme not in ("http", "https") or not host:
            return False
        if host in self.config.webhook_allow_hosts or host == "localhost":
            return True
        try:
            return ipaddress.ip_address(host).is_loopback
        except ValueError:
            return False

    async def _send_webhook(self, req: Req) -> None:
        url = req.webhook
        if url is None:
            return
        if not self.webhook_allowed(url):
            self.webhooks["refused"] += 1
            log.warning(
                "webhook of request %s not sent: %s is not a loopback or allowed host", req.id, _host_of(url)
            )
            return
        outcome = await self.outcome(req, self.now())
        payload: dict[str, Any] = {
            "request_id": req.id,
            "gateway_request_id": req.id,
            "status": "OK" if outcome.status == 200 else "ERROR",
            "payload": outcome.body if outcome.status == 200 else None,
            "error": None if outcome.status == 200 else f"Invalid status code: {outcome.status}",
        }
        if outcome.status != 200:
            payload["payload"] = outcome.body
            payload["payload_error"] = None
        if self._webhook_client is None:
            self._webhook_client = httpx.AsyncClient(
                transport=self._webhook_transport, timeout=self.config.webhook_timeout, trust_env=False
            )
        try:
            response = await self._webhook_client.post(url, json=payload)
            self.webhooks["sent" if response.status_code < 400 else "failed"] += 1
        except httpx.HTTPError as exc:
            self.webhooks["failed"] += 1
            log.warning("webhook of request %s to %s failed: %s", req.id, _host_of(url), type(exc).__name__)

    async def aclose(self) -> None:
        """Wait for webhooks in flight and close their client."""
        if self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)
        if self._webhook_client is not None:
            await self._webhook_client.aclose()
            self._webhook_client = None

    # -- outputs -----------------------------------------------------------------------------------

    async def outcome(self, req: Req, now: float) -> Outcome:
        """How a COMPLETED request answers its result (cached unless it carries inline images)."""
        if req.outcome is not None:
            return req.outcome
        failed = self.failure(req, now)
        if failed is not None:
            error, error_type = failed
            if error_type == "request_timeout":
                out = Outcome(
                    504,
                    {"detail": error, "error_type": error_type},
                    {
                        "X-Fal-Request-Timeout-Type": "user",
                        "X-Fal-Error-Type": error_type,
                        "X-Fal-Retryable": "false",
                    },
                )
            else:
                out = Outcome(400, {"detail": error})
            req.outcome = out
            return out
        out, cacheable = await self.evaluate(req.endpoint, req.body, base=req.base, seed=req.seed)
        if cacheable:
            req.outcome = out
        return out

    async def evaluate(
        self, endpoint: Endpoint, body: bytes, *, base: str, seed: int
    ) -> tuple[Outcome, bool]:
        """Validate an input against the contract and make the model output.

        Returns:
            (outcome, cacheable): 200 with the output, or 422 with FastAPI ``detail`` items
            (FACTS.md §3.2); cacheable is False when the output inlines images (sync_mode).
        """
        bad, data, ratio = await self._check(endpoint, body, base)
        if bad is not None or data is None:
            return bad or Outcome(422, {"detail": []}), True
        return await self._output(endpoint, data, base=base, seed=seed, ratio=ratio)

    async def _check(
        self, endpoint: Endpoint, body: bytes, base: str
    ) -> tuple[Outcome | None, dict[str, Any] | None, tuple[float, float] | None]:
        if len(body) > 65536:  # large inputs (inline images) are decoded off the event loop
            return await to_thread.run_sync(self.check_input, endpoint, body, base)
        return self.check_input(endpoint, body, base)

    async def ensure_checked(self, req: Req) -> None:
        """Validate a finished request's input once, so its status can say it failed (the 422 itself is
        the result's answer)."""
        if req.outcome is not None or req.checked or self.failure(req, self.now()) is not None:
            return
        bad, _data, _ratio = await self._check(req.endpoint, req.body, req.base)
        if bad is not None:
            req.outcome = bad
        req.checked = True

    def check_input(
        self, endpoint: Endpoint, body: bytes, base: str
    ) -> tuple[Outcome | None, dict[str, Any] | None, tuple[float, float] | None]:
        """Parse and validate a body with the contract's schema, then decode its ``data:`` images.

        Returns:
            (422 outcome, None, None) for a rejected input, else (None, the input, the width:height of
            the first input image whose size is known, or None).
        """
        try:
            data = json.loads(body) if body else None
        except (ValueError, RecursionError) as exc:
            detail = [
                {
                    "type": "json_invalid",
                    "loc": ["body", getattr(exc, "pos", 0)],
                    "msg": "JSON decode error",
                    "input": {},
                    "ctx": {"error": getattr(exc, "msg", "Invalid JSON")},
                }
            ]
            return Outcome(422, {"detail": detail}), None, None
        try:
            valid = data is not None and endpoint.is_valid(data)
        except (ValueError, RecursionError, OverflowError):
            valid = False
        try:
            errors = [] if valid else error_items(endpoint.validator.iter_errors(data))
        except RecursionError:
            errors = [
                {"type": "value_error", "loc": ["body"], "msg": "Input is nested too deeply", "input": None}
            ]
        if data is None:
            errors = [{"type": "missing", "loc": ["body"], "msg": "Field required", "input": None}]
        if errors:
            return Outcome(422, {"detail": errors}), None, None
        if not isinstance(data, dict):
            return Outcome(422, {"detail": []}), None, None
        ratio: tuple[float, float] | None = None
        bad: list[dict[str, Any]] = []
        for name, is_list in endpoint.image_inputs.items():
            if name not in data:
                continue
            values = data[name] if is_list and isinstance(data[name], list) else [data[name]]
            for i, value in enumerate(values):
                if not isinstance(value, str):
                    continue
                loc: list[str | int] = ["body", name, i] if is_list else ["body", name]
                try:
                    size = self._input_size(value, base)
                except InputImageError as exc:
                    bad.append(
                        {"type": "image_load_error", "loc": loc, "msg": exc.reason, "input": _short(value)}
                    )
                    continue
                if ratio is None and size is not None:
                    ratio = (float(size[0]), float(size[1]))
        if bad:
            return Outcome(422, {"detail": bad}), None, None
        return None, data, ratio

    def _input_size(self, value: str, base: str) -> tuple[int, int] | None:
        if value[:5].lower() == "data:":
            return decode_data_uri(value)
        own = (self.config.base_url or base) + _FILES
        if value.startswith(own):
            spec = parse_name(value[len(own) :])
            if spec is None:
                raise InputImageError("no such file on this mock")
            return spec.width, spec.height
        return None  # any other URL: accepted as-is, never fetched (docs/mock.md "No SSRF")

    async def _output(
        self,
        endpoint: Endpoint,
        data: dict[str, Any],
        *,
        base: str,
        seed: int,
        ratio: tuple[float, float] | None,
    ) -> tuple[Outcome, bool]:
        params = {**endpoint.defaults, **data}
        count = params.get("num_images", 1)
        count = count if isinstance(count, int) and 0 < count <= 16 else 1
        output_format = str(params.get("output_format", "jpeg"))
        sync_mode = params.get("sync_mode") is True
        if isinstance(data.get("seed"), int) and not isinstance(data.get("seed"), bool):
            seed = data["seed"]
        aspect = params.get("aspect_ratio")
        if isinstance(aspect, str) and aspect.count(":") == 1:
            with contextlib.suppress(ValueError):
                ratio = (float(aspect.split(":")[0]), float(aspect.split(":")[1]))
        try:
            width, height = size_for_ratio(*(ratio or (1.0, 1.0)))
        except ValueError:
            width, height = size_for_ratio(1.0, 1.0)
        identity = {k: v for k, v in data.items() if k not in ("seed", "sync_mode", "num_images")}
        digest = input_digest([endpoint.endpoint_id, json.dumps(identity, sort_keys=True)])
        ext = extension_for(output_format)
        mime = mime_for(output_format)
        if parse_name(f"16x16-0-0-0000000000000000.{ext}") is None:  # a format the mock cannot write
            ext, mime = "jpg", "image/jpeg"
        fields = endpoint.image_item_fields
        need_bytes = sync_mode or "file_size" in fields or "file_data" in fields
        specs = [ImageSpec(width, height, seed % 2**63, i, digest, ext) for i in range(count)]
        blobs: list[bytes] = []
        if need_bytes:
            blobs = await to_thread.run_sync(lambda: [self.files.get(s) for s in specs])
        images: list[dict[str, Any]] = []
        for i, spec in enumerate(specs):
            if sync_mode:
                url = f"data:{mime};base64," + base64.b64encode(blobs[i]).decode("ascii")
            else:
                url = f"{self.config.base_url or base}{_FILES}{spec.name}"
            facts: dict[str, Any] = {
                "url": url,
                "content_type": mime,
                "file_name": spec.name,
                "width": width,
                "height": height,
            }
            if blobs:
                facts["file_size"] = len(blobs[i])
            images.append({k: v for k, v in facts.items() if k in fields})
        output: dict[str, Any] = {
            "images": images,
            "timings": {"inference": self.config.processing_delay},
            "seed": seed,
            "has_nsfw_concepts": [False] * count,
            "prompt": data.get("prompt", ""),
        }
        output = {k: v for k, v in output.items() if k in endpoint.output_fields}
        return Outcome(200, output), not sync_mode

    # -- status bodies and logs ---------------------------------------------------------------------

    def urls(self, req: Req) -> dict[str, str]:
        """response_url, status_url and cancel_url as the provider hands them out (``x-provider.queue_urls``)."""
        host = self.contract.queue_host
        root = req.base if host == "own" else host.rstrip("/")
        url = f"{root}/{self.contract.queue_app_for(req.endpoint.endpoint_id)}/requests/{req.id}"
        return {"response_url": url, "status_url": url + "/status", "cancel_url": url + "/cancel"}

    def logs(self, req: Req, now: float) -> list[dict[str, Any]]:
        """The request's log lines up to ``now``: ``{message, level, source, timestamp}`` (FACTS.md §3.1)."""
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
        return {"message": message, "level": level, "source": "user", "timestamp": self.timestamp(t)}

    def status_body(self, req: Req, now: float, *, with_logs: bool) -> tuple[int, dict[str, Any]]:
        """(HTTP status, body) of the status route: 202 while IN_QUEUE/IN_PROGRESS, 200 when COMPLETED."""
        state = self.state_of(req, now)
        body: dict[str, Any] = {"status": state, "request_id": req.id, **self.urls(req)}
        body["logs"] = self.logs(req, now) if with_logs else None
        if state == IN_QUEUE:
            body["queue_position"] = self.queue_position(req, now)
            return 202, body
        if state == IN_PROGRESS:
            return 202, body
        failed = self.failure(req, now)
        if failed is not None:
            body["metrics"] = {}
            body["error"], body["error_type"] = failed
        elif req.outcome is not None and req.outcome.status != 200:
            body["metrics"] = {"inference_time": self.config.processing_delay}
            body["error"] = f"Request failed with status {req.outcome.status}: the result has the details"
        else:
            body["metrics"] = {"inference_time": self.config.processing_delay}
        return 200, body

    # -- introspection -----------------------------------------------------------------------------

    def stats(self) -> dict[str, Any]:
        """Counts for tests and people (``GET /_mock/stats``): submits per endpoint, runs, requests by
        state, webhooks, faults by kind, and the calls of each route."""
        now = self.now()
        by_state: Counter[str] = Counter({IN_QUEUE: 0, IN_PROGRESS: 0, COMPLETED: 0})
        for req in list(self.requests.values()):
            by_state[self.state_of(req, now)] += 1
        return {
            "provider": self.contract.name,
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


def _host_of(url: str) -> str:
    try:
        return urlsplit(url).hostname or "?"
    except ValueError:
        return "?"


def _short(value: Any) -> Any:
    if isinstance(value, str) and len(value) > 80:
        return value[:64] + "..."
    return value
