"""Webhooks: when a request submitted with ``fal_webhook`` completes, POST ``{request_id, gateway_request_id,
status, payload, error}`` to that URL (docs/sources.md §3.1; the contract's ``WebhookPayload``). Loopback
and allowed hosts only; a host name is never resolved.
"""

from __future__ import annotations

import asyncio
import heapq
import ipaddress
import logging
from collections import Counter
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import httpx

from ..contract import COMPLETED
from ._config import MockConfig
from ._queue import Outcome, Req

__all__ = ["Webhooks"]

log = logging.getLogger("kontext_contract.mock")


class Webhooks:
    """The webhooks half of :class:`~kontext_contract.mock._state.MockState` (a mixin)."""

    config: MockConfig
    webhooks: Counter[str]
    _webhooks: list[tuple[float, int, Req]]
    _tasks: set[asyncio.Task[None]]
    _webhook_transport: httpx.AsyncBaseTransport | None
    _webhook_client: httpx.AsyncClient | None

    if TYPE_CHECKING:  # provided by the other parts of MockState

        def now(self) -> float:  # the queue mixin's clock
            ...
        def state_of(self, req: Req, now: float) -> str:  # the queue mixin's
            ...
        async def outcome(self, req: Req, now: float) -> Outcome:  # the outputs mixin's
            ...

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
        ``localhost``) or to a host of ``webhook_allow_hosts``. Host names are never resolved. A URL with
        a space or a control character (``%0d%0a``, ``%00`` once decoded), a port outside 0-65535, or one
        httpx cannot parse, is refused too (counted as ``refused``)."""
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
                "webhook of request %s not sent: %r is not an http(s) URL on a loopback or allowed host",
                req.id,
                _host_of(url),
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
        except (httpx.HTTPError, httpx.InvalidURL, ValueError) as exc:  # never out of the task
            self.webhooks["failed"] += 1
            log.warning("webhook of request %s to %s failed: %s", req.id, _host_of(url), type(exc).__name__)

    async def aclose(self) -> None:
        """Wait for webhooks in flight and close their client."""
        if self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)
        if self._webhook_client is not None:
            await self._webhook_client.aclose()
            self._webhook_client = None


def _host_of(url: str) -> str:
    try:
        host = urlsplit(url).hostname or "?"
    except ValueError:
        return "?"
    return host if host.isprintable() else repr(host)[1:-1]
