"""The webhook sender on its own: a queue (sans-IO), a clock and an outcome function, no app. It delivers a
request once when the queue says it is COMPLETED, earlier after a cancel, never before."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from kontext_contract.contract import ContractModel
from kontext_contract.mock import MockConfig
from kontext_contract.mock._clock import Clock
from kontext_contract.mock._queue import Outcome, QueueMachine, Req
from kontext_contract.mock._signing import WebhookSigner
from kontext_contract.mock._webhooks import WebhookSender

from .conftest import T2I


def _parts(**fields):
    config = MockConfig(deterministic=True, queue_delay=1.0, processing_delay=1.0, **fields)
    clock = Clock(virtual=True)
    queue = QueueMachine(config, ContractModel.load("fal"), clock)
    seen: list[httpx.Request] = []
    asked: list[str] = []

    async def outcome(req: Req, now: float) -> Outcome:
        asked.append(req.id)
        return Outcome(200, {"images": []})

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200)

    sender = WebhookSender(
        config, queue, outcome, WebhookSigner.generate(), transport=httpx.MockTransport(handler)
    )
    return config, clock, queue, sender, seen, asked


def _submit(queue: QueueMachine, hook: str = "http://127.0.0.1:1/h") -> Req:
    return queue.submit(
        queue.model.endpoints[T2I], b"{}", base="http://x", webhook=hook, timeout=None, now=0.0
    )


async def _settle(sender: WebhookSender) -> None:
    sender.pump()
    await asyncio.sleep(0)
    await asyncio.gather(*list(sender.tasks))


@pytest.mark.asyncio
async def test_delivered_once_when_the_queue_says_completed():
    _config, clock, queue, sender, seen, asked = _parts()
    req = _submit(queue)
    sender.schedule(req, queue.end_time(req))
    clock.advance(1.5)
    await _settle(sender)
    assert seen == [] and asked == []  # IN_PROGRESS: nothing yet
    clock.advance(1.0)
    await _settle(sender)
    sender.schedule(req, clock.now())  # a second schedule (a late cancel) delivers nothing more
    await _settle(sender)
    assert len(seen) == 1 and asked == [req.id]
    assert sender.counts["sent"] == 1
    await sender.aclose()


@pytest.mark.asyncio
async def test_a_cancel_makes_the_delivery_due_at_once():
    _config, clock, queue, sender, seen, _asked = _parts()
    req = _submit(queue)
    sender.schedule(req, queue.end_time(req))
    clock.advance(0.5)
    assert queue.cancel(req, clock.now())
    sender.schedule(req, clock.now())
    await _settle(sender)
    assert len(seen) == 1
    await sender.aclose()


@pytest.mark.asyncio
async def test_a_refused_url_is_counted_and_never_posted():
    _config, clock, queue, sender, seen, _asked = _parts()
    req = _submit(queue, "http://10.0.0.1/h")
    sender.schedule(req, queue.end_time(req))
    clock.advance(5)
    await _settle(sender)
    assert seen == [] and sender.counts["refused"] == 1
    await sender.aclose()


@pytest.mark.asyncio
async def test_closing_gives_up_pending_retries_as_failed():
    config = MockConfig(deterministic=True)
    clock = Clock(virtual=True)
    queue = QueueMachine(config, ContractModel.load("fal"), clock)

    async def outcome(req: Req, now: float) -> Outcome:
        return Outcome(200, {})

    sender = WebhookSender(
        config,
        queue,
        outcome,
        WebhookSigner.generate(),
        transport=httpx.MockTransport(lambda r: httpx.Response(500)),
    )
    req = _submit(queue)
    sender.schedule(req, 0.0)
    await _settle(sender)
    assert sender.pending and sender.counts["failed"] == 0
    await sender.aclose()
    assert sender.counts["failed"] == 1 and not sender.pending


@pytest.mark.asyncio
@pytest.mark.parametrize("answer", [200, 500], ids=["first-delivery", "every-retry"])
async def test_a_timer_that_fires_early_still_delivers(answer: int):
    """uvloop counts timers in whole milliseconds from the time it read at the start of its iteration, so a
    timer can fire before the mock's clock says the delivery is due. The sender must arm itself again
    instead of waiting for a request that never comes (the CI flake of tests/sample_app on 2026-12-06:
    3 of 11 attempts made, then none). Here every timer of the loop fires 20 ms early."""
    config = MockConfig(
        queue_delay=0.03, processing_delay=0.03, webhook_retry_compression=7200 / 0.5
    )  # 10 retries within 0.5 s
    clock = Clock(virtual=False)
    queue = QueueMachine(config, ContractModel.load("fal"), clock)
    posted: list[float] = []

    async def outcome(req: Req, now: float) -> Outcome:
        return Outcome(200, {})

    def handler(request: httpx.Request) -> httpx.Response:
        posted.append(clock.now())
        return httpx.Response(answer)

    loop = asyncio.get_running_loop()
    on_time = loop.call_later

    def early(delay: float, callback, *args, **kwargs):  # type: ignore[no-untyped-def]
        return on_time(max(0.0, delay - 0.02), callback, *args, **kwargs)

    loop.call_later = early  # type: ignore[method-assign]
    try:
        sender = WebhookSender(
            config, queue, outcome, WebhookSigner.generate(), transport=httpx.MockTransport(handler)
        )
        req = queue.submit(
            queue.model.endpoints[T2I],
            b"{}",
            base="http://x",
            webhook="http://127.0.0.1:1/h",
            timeout=None,
            now=clock.now(),
        )
        sender.schedule(req, queue.end_time(req))
        deadline = clock.now() + 5.0
        done = ("sent",) if answer == 200 else ("failed",)
        while not any(sender.counts[k] for k in done) and clock.now() < deadline:
            await asyncio.sleep(0.005)
    finally:
        loop.call_later = on_time  # type: ignore[method-assign]
    assert posted and posted[0] >= queue.end_time(req)  # never before the request is COMPLETED
    assert len(posted) == (1 if answer == 200 else 11), sender.counts
    assert not sender.pending
    await sender.aclose()
