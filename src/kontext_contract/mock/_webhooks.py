"""Webhooks as fal sends them: when a request submitted with ``fal_webhook`` completes, POST
``{request_id, gateway_request_id, status, payload, error[, payload_error]}`` (the contract's
``WebhookPayload``, docs/sources.md §3.1) signed with the mock's ED25519 key (§3.7), retried on a non-2xx
answer, a timeout or a connection error on fal's schedule (10 retries over 2 hours) compressed by
``webhook_retry_compression``. Loopback and allowed hosts only; a host name is never resolved.

:class:`WebhookSender` is a part of the mock of its own: it asks the queue (sans-IO) when a request ends and
what it answers, and does the I/O (timers, POSTs).
"""

from __future__ import annotations

import asyncio
import heapq
import ipaddress
import itertools
import json
import logging
import math
from collections import Counter, deque
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlsplit

import httpx

from .._webhook_scheme import retry_delays
from ..contract import COMPLETED
from ._config import MockConfig
from ._queue import Outcome, QueueMachine, Req
from ._signing import WebhookSigner

__all__ = ["Delivery", "WebhookSender", "webhook_allowed"]

log = logging.getLogger("kontext_contract.mock")

#: deliveries remembered for tests (:attr:`WebhookSender.deliveries`)
MAX_DELIVERY_RECORDS = 1000


def webhook_allowed(url: str, allow_hosts: tuple[str, ...]) -> bool:
    """Whether the mock may POST to ``url``: http(s) to a loopback address (127.0.0.0/8, ::1,
    ``localhost``) or to a host of ``allow_hosts``. Host names are never resolved. A URL with a space or a
    control character (``%0d%0a``, ``%00`` once decoded), a port outside 0-65535, or one httpx cannot parse,
    is refused."""
    if any(ord(c) <= 32 or ord(c) == 127 for c in url):
        return False
    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
        _ = parts.port  # ValueError outside 0-65535
        httpx.URL(url)
    except (ValueError, httpx.InvalidURL):
        return False
    if parts.scheme not in ("http", "https") or not host:
        return False
    if host in allow_hosts or host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class Delivery:
    """One attempt to deliver a request's webhook (``attempt`` 1 is the first, then the retries)."""

    __slots__ = ("attempt", "body", "req")

    def __init__(self, req: Req, attempt: int = 1, body: bytes | None = None) -> None:
        self.req = req
        self.attempt = attempt
        self.body = body


class WebhookSender:
    """Schedules, signs, sends and retries webhook deliveries.

    Args:
        config: the mock's configuration (``webhook_*`` fields).
        queue: the queue: when a request ends, whether it is COMPLETED, the clock.
        outcome: how a finished request answers (the outputs part's ``outcome``).
        signer: the ED25519 key.
        allowed: whether a URL may be posted to (default :func:`webhook_allowed` with the config's hosts).
        transport: an httpx transport for the POSTs (tests inject one; default: the network).

    Attributes:
        counts: ``sent`` (delivered: a 2xx answer), ``failed`` (every attempt failed, or given up when the
            mock stopped), ``refused`` (a URL the mock does not post to), ``attempts``, ``retries``,
            ``duplicates``, and ``fault:<kind>`` per faulty delivery.
        deliveries: the last :data:`MAX_DELIVERY_RECORDS` attempts: ``{request_id, attempt, url, status,
            error, fault}`` (``status`` None when no answer came).
    """

    def __init__(
        self,
        config: MockConfig,
        queue: QueueMachine,
        outcome: Callable[[Req, float], Awaitable[Outcome]],
        signer: WebhookSigner,
        *,
        allowed: Callable[[str], bool] | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.config = config
        self.queue = queue
        self.outcome = outcome
        self.signer = signer
        self.allowed = allowed or (lambda url: webhook_allowed(url, config.webhook_allow_hosts))
        self.counts: Counter[str] = Counter()
        self.deliveries: deque[dict[str, Any]] = deque(maxlen=MAX_DELIVERY_RECORDS)
        self.tasks: set[asyncio.Task[None]] = set()
        self._due: list[tuple[float, int, Delivery]] = []
        self._n = itertools.count()
        self._transport = transport
        self._client: httpx.AsyncClient | None = None
        self._delays = [d / config.webhook_retry_compression for d in retry_delays()]
        self._timer: asyncio.TimerHandle | None = None
        self._timer_due = math.inf

    @property
    def pending(self) -> bool:
        """Whether a delivery waits for its time."""
        return bool(self._due)

    def schedule(self, req: Req, due: float) -> None:
        """Deliver ``req``'s webhook when it is COMPLETED, at clock time ``due`` or later (again after a
        cancel: the request then ends earlier; it is delivered once)."""
        self._push(due, Delivery(req))

    def _push(self, due: float, delivery: Delivery) -> None:
        heapq.heappush(self._due, (due, next(self._n), delivery))
        self._arm()

    def _arm(self) -> None:
        """Keep one timer of the event loop set for the earliest delivery waiting (real clock only).

        A timer may fire before the mock's clock says the delivery is due (uvloop counts whole
        milliseconds from a time it read at the start of its iteration), so :meth:`pump` always arms the
        timer again for what is left: no delivery waits for a request that never comes."""
        if self.queue.clock.virtual or not self._due:
            return  # the virtual clock pumps (MockState.tick / advance)
        due = self._due[0][0]
        if self._timer is not None:
            if self._timer_due <= due:
                return
            self._timer.cancel()
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            self._timer = None
            return
        self._timer_due = due
        self._timer = loop.call_later(max(0.0, due - self.queue.now()) + 0.001, self._fire)

    def _fire(self) -> None:
        self._timer = None
        self.pump()

    def pump(self) -> None:
        """Start every delivery whose time has come, then set the timer for the next one."""
        try:
            self._start_due()
        finally:
            self._arm()

    def _start_due(self) -> None:
        now = self.queue.now()
        while self._due and self._due[0][0] <= now:
            _due, _n, delivery = heapq.heappop(self._due)
            req = delivery.req
            if delivery.attempt == 1:
                if req.webhook_done or self.queue.state_of(req, now) != COMPLETED:
                    continue
                req.webhook_done = True
            try:
                task = asyncio.get_running_loop().create_task(self.deliver(delivery))
            except RuntimeError:
                continue
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)

    async def payload(self, req: Req) -> bytes:
        """The body of ``req``'s webhook: fal's fields (the contract's ``WebhookPayload``)."""
        outcome = await self.outcome(req, self.queue.now())
        ok = outcome.status == 200
        body: dict[str, Any] = {
            "request_id": req.id,
            "gateway_request_id": req.id,
            "status": "OK" if ok else "ERROR",
            "payload": outcome.body,
            "error": None if ok else f"Invalid status code: {outcome.status}",
        }
        if not ok:
            body["payload_error"] = None
        return json.dumps(body, separators=(",", ":"), allow_nan=False).encode()

    async def deliver(self, delivery: Delivery) -> None:
        """One attempt (two POSTs for the ``duplicate`` fault); schedules the next on failure. Never raises."""
        req = delivery.req
        url = req.webhook
        if url is None:
            return
        if delivery.attempt == 1 and not self.allowed(url):
            self.counts["refused"] += 1
            log.warning(
                "webhook of request %s not sent: %r is not an http(s) URL on a loopback or allowed host",
                req.id,
                _host_of(url),
            )
            return
        try:
            if delivery.body is None:
                delivery.body = await self.payload(req)
            faults = self.config.webhook_faults
            fault = next((f for f in faults if f in ("bad-signature", "stale-timestamp")), None)
            headers = {
                "content-type": "application/json",
                **self.signer.headers(req.id, delivery.body, fault=fault),
            }
            if fault is not None:
                self.counts["fault:" + fault] += 1
            copies = 2 if "duplicate" in faults else 1
            ok = False
            for copy in range(copies):
                if copy:
                    self.counts["duplicates"] += 1
                    self.counts["fault:duplicate"] += 1
                ok = await self._post(delivery, url, headers, fault) or ok
        except Exception as exc:  # never out of the task
            log.warning("webhook of request %s: %s", req.id, type(exc).__name__)
            ok = False
        if ok:
            self.counts["sent"] += 1
        elif delivery.attempt <= len(self._delays):
            self.counts["retries"] += 1
            wait = self._delays[delivery.attempt - 1]
            self._push(self.queue.now() + wait, Delivery(req, delivery.attempt + 1, delivery.body))
        else:
            self.counts["failed"] += 1

    async def _post(self, delivery: Delivery, url: str, headers: dict[str, str], fault: str | None) -> bool:
        if self._client is None:
            self._client = httpx.AsyncClient(
                transport=self._transport, timeout=self.config.webhook_timeout, trust_env=False
            )
        self.counts["attempts"] += 1
        record: dict[str, Any] = {
            "request_id": delivery.req.id,
            "attempt": delivery.attempt,
            "url": url,
            "status": None,
            "error": None,
            "fault": fault,
        }
        self.deliveries.append(record)
        try:
            assert delivery.body is not None
            response = await self._client.post(url, content=delivery.body, headers=headers)
        except (httpx.HTTPError, httpx.InvalidURL, ValueError) as exc:
            record["error"] = type(exc).__name__
            log.warning(
                "webhook of request %s to %s, attempt %d: %s",
                delivery.req.id,
                _host_of(url),
                delivery.attempt,
                type(exc).__name__,
            )
            return False
        record["status"] = response.status_code
        return 200 <= response.status_code < 300

    def stats(self) -> dict[str, int]:
        """The counts of ``/_mock/stats`` ``webhook_deliveries``."""
        keys = ("attempts", "retries", "duplicates")
        out = {k: self.counts[k] for k in keys}
        out.update({k: v for k, v in sorted(self.counts.items()) if k.startswith("fault:")})
        out["pending"] = len(self._due)
        return out

    async def aclose(self) -> None:
        """Wait for the deliveries in flight, give up those waiting for a retry (counted ``failed``), close
        the client."""
        if self.tasks:
            await asyncio.gather(*list(self.tasks), return_exceptions=True)
        retries = [d for _t, _n, d in self._due if d.attempt > 1]
        self.counts["failed"] += len(retries)
        self._due.clear()
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._client is not None:
            await self._client.aclose()
            self._client = None


def _host_of(url: str) -> str:
    try:
        host = urlsplit(url).hostname or "?"
    except ValueError:
        return "?"
    return host if host.isprintable() else repr(host)[1:-1]
