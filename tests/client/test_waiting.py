"""Cancellation, timeouts, the status stream and the polling fallback."""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from typing import Any

import httpx
import pytest

from kontext_contract.client import (
    Client,
    Endpoint,
    NotFoundError,
    Polling,
    Provider,
    ProviderIncompatibleError,
    QueueStatusCompleted,
    QueueStatusInQueue,
    RequestFailedError,
    RequestTimeoutError,
    RetryPolicy,
    WaitTimeoutError,
)
from kontext_contract.client._sse import SSEDecoder

from .conftest import async_client, mock_app, stats, sync_client

T2I = Endpoint.KONTEXT_TEXT_TO_IMAGE


def test_cancel_a_queued_request_sync() -> None:
    app = mock_app(deterministic=True, queue_delay=10.0)
    with sync_client(app) as client:
        handle = client.submit(T2I, {"prompt": "x"})
        assert isinstance(handle.status(), QueueStatusInQueue)
        assert client.cancel(T2I, handle.request_id) == "CANCELLATION_REQUESTED"
        final = handle.status()
        assert isinstance(final, QueueStatusCompleted) and final.error
        with pytest.raises(RequestFailedError):
            handle.get()
        assert handle.cancel() == "ALREADY_COMPLETED"
        with pytest.raises(NotFoundError):
            client.cancel(T2I, "no-such-request")


@pytest.mark.asyncio
async def test_cancelling_the_waiting_task_cancels_the_request() -> None:
    app = mock_app(queue_delay=30.0)  # real clock: the request stays IN_QUEUE
    async with async_client(app) as client:
        task = asyncio.create_task(client.subscribe(T2I, {"prompt": "x"}, stream=False))
        await asyncio.sleep(0.2)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    counted = await stats(app)
    assert counted["submits_total"] == 1
    assert counted["calls"].get("cancel") == 1


@pytest.mark.asyncio
async def test_wait_timeout_cancels_by_default_async() -> None:
    app = mock_app(queue_delay=30.0)
    async with async_client(app) as client:
        started = time.monotonic()
        with pytest.raises(WaitTimeoutError) as caught:
            await client.subscribe(T2I, {"prompt": "x"}, timeout=0.3)  # on the stream
        assert time.monotonic() - started < 5
        assert caught.value.cancelled and caught.value.request_id
        handle = client.get_handle(T2I, caught.value.request_id)
        assert isinstance(await handle.status(), QueueStatusCompleted)
        with pytest.raises(WaitTimeoutError) as kept:
            await client.subscribe(T2I, {"prompt": "y"}, timeout=0.2, stream=False, cancel_on_abort=False)
        assert not kept.value.cancelled
        assert isinstance(await client.status(T2I, str(kept.value.request_id)), QueueStatusInQueue)


def test_wait_timeout_sync_with_polling() -> None:
    app = mock_app(queue_delay=30.0)
    with sync_client(app) as client:
        handle = client.submit(T2I, {"prompt": "x"})
        with pytest.raises(WaitTimeoutError) as caught:
            handle.get(timeout=0.2, stream=False)
        assert caught.value.cancelled
        assert "cancellation requested" in str(caught.value)


def test_request_timeout_header_gives_request_timeout_error() -> None:
    app = mock_app(deterministic=True, queue_delay=5.0)
    with sync_client(app) as client:
        with pytest.raises(RequestTimeoutError) as caught:
            client.subscribe(T2I, {"prompt": "x"}, request_timeout=2.0)
        assert caught.value.error_type == "request_timeout" and caught.value.timeout_type == "user"
        assert caught.value.status_code == 504
        with pytest.raises(RequestTimeoutError):
            client.run(T2I, {"prompt": "x"}, request_timeout=2.0)


def test_client_side_read_timeout_is_retried_for_gets_only() -> None:
    calls: list[str] = []

    def slow(request: httpx.Request) -> httpx.Response:
        calls.append(request.method)
        raise httpx.ReadTimeout("no answer in time", request=request)

    policy = RetryPolicy(max_attempts=3, base_delay=0, max_delay=0)
    with Client(Provider.fal(key="i:s"), transport=httpx.MockTransport(slow), retry=policy) as client:
        with pytest.raises(Exception, match="3 attempts"):
            client.status(T2I, "r")
        with pytest.raises(Exception, match="not retried"):
            client.submit(T2I, {"prompt": "x"})
    assert calls == ["GET", "GET", "GET", "POST"]


def test_polling_backs_off_and_resets_on_change(monkeypatch: pytest.MonkeyPatch) -> None:
    slept: list[float] = []
    monkeypatch.setattr("kontext_contract.client._client.time.sleep", slept.append)
    app = mock_app(deterministic=True, queue_delay=1.0, processing_delay=0.5)
    polling = Polling(interval=0.1, max_interval=0.4, multiplier=2.0)
    with sync_client(app, polling=polling) as client:
        statuses = list(client.submit(T2I, {"prompt": "x"}).iter_events(stream=False))
    kinds = [s.status for s in statuses]
    assert kinds[-1] == "COMPLETED" and "IN_PROGRESS" in kinds
    assert max(slept) == 0.4 and min(slept) == 0.1
    # every wait is the previous one doubled (capped), or back to 0.1 after a change
    for before, after in itertools.pairwise(slept):
        assert after in (0.1, min(0.4, before * 2))


@pytest.mark.asyncio
async def test_falls_back_to_polling_when_the_provider_has_no_stream() -> None:
    app = mock_app(deterministic=True, queue_delay=0.3, processing_delay=0.3)
    inner = httpx.ASGITransport(app=app)

    class NoStream(httpx.AsyncBaseTransport):
        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            if request.url.path.endswith("/status/stream"):
                return httpx.Response(404, json={"detail": "Not Found"})
            return await inner.handle_async_request(request)

    async with async_client(app, transport=NoStream()) as client:
        out = await client.subscribe(T2I, {"prompt": "x"})
        assert out.prompt == "x"
        await client.subscribe(T2I, {"prompt": "y"})
        handle = await client.submit(T2I, {"prompt": "z"})
        with pytest.raises(ProviderIncompatibleError, match="status stream"):
            async for _ in handle.stream_status():
                pass
    counted = await stats(app)
    assert counted["calls"]["status"] >= 2


def test_sse_decoder() -> None:
    decoder = SSEDecoder()
    lines = [": ping", "", 'data: {"a":', "data: 1}", "", "event: x", "id: 3", "data:2", "", "data: tail"]
    events = [d for d in (decoder.feed(line) for line in lines) if d is not None]
    assert events == ['{"a":\n1}', "2"]
    assert decoder.flush() == "tail"
    assert decoder.flush() is None


def test_a_long_stream_that_breaks_is_reopened_with_a_fresh_retry_budget() -> None:
    base = "https://queue.fal.run/fal-ai/flux-pro/requests/r1"
    urls = {
        "request_id": "r1",
        "response_url": base,
        "status_url": base + "/status",
        "cancel_url": base + "/cancel",
    }
    opened: list[float] = []

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/stream"):
            opened.append(time.monotonic())
            if len(opened) == 1:  # a long first stream (longer than the whole retry budget) that breaks
                time.sleep(0.4)
                event = {**urls, "status": "IN_PROGRESS", "logs": None}
            else:
                event = {**urls, "status": "COMPLETED", "logs": None, "metrics": {}}
            body = f"data: {json.dumps(event)}\n\n".encode()
            return httpx.Response(200, content=body, headers={"content-type": "text/event-stream"})
        raise AssertionError(request.url)

    policy = RetryPolicy(max_attempts=3, base_delay=0.01, max_delay=0.01, total_timeout=0.3)
    with Client(Provider.fal(key="i:s"), transport=httpx.MockTransport(handler), retry=policy) as client:
        statuses = list(client.stream_status(T2I, "r1"))
    assert [s.status for s in statuses] == ["IN_PROGRESS", "COMPLETED"]
    assert len(opened) == 2


def _spied(app: Any) -> tuple[Any, list[httpx.Headers]]:
    """``app`` wrapped so that the headers of every HTTP request it gets are recorded."""
    seen: list[httpx.Headers] = []

    async def spy(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope.get("type") == "http":
            seen.append(httpx.Headers([(k.decode(), v.decode()) for k, v in scope["headers"]]))
        await app(scope, receive, send)

    return spy, seen


def test_request_timeout_of_one_second_or_less_is_refused_before_sending() -> None:
    """The contract's X-Fal-Request-Timeout is more than 1 second (fal-js headers.ts, fal_client
    _headers.py refuse 1 or less): the client refuses it on submit and on run, and sends nothing."""
    app, seen = _spied(mock_app(deterministic=True))
    with sync_client(app) as client:
        for seconds in (1, 1.0, 0.5, 0, -3):
            with pytest.raises(ValueError, match="more than 1 seconds"):
                client.submit(T2I, {"prompt": "x"}, request_timeout=seconds)
            with pytest.raises(ValueError, match="more than 1 seconds"):
                client.run(T2I, {"prompt": "x"}, request_timeout=seconds)
    assert seen == []


def test_run_sends_the_three_headers_the_run_operations_take() -> None:
    """``run`` sends X-Fal-Request-Timeout, X-Fal-Runner-Hint and X-Fal-Object-Lifecycle-Preference
    (fal_client ``run(hint=, start_timeout=)``, fal-js ``run({startTimeout, storageSettings})``), each only
    when asked, and the mock takes them."""
    app, seen = _spied(mock_app(deterministic=True))
    with sync_client(app) as client:
        out = client.run(
            T2I, {"prompt": "x"}, request_timeout=30, runner_hint="gpu-a", object_lifecycle_seconds=3600
        )
        assert out.images
        client.run(T2I, {"prompt": "x"})
    asked, plain = seen[-2], seen[-1]
    assert asked["x-fal-request-timeout"] == "30"
    assert asked["x-fal-runner-hint"] == "gpu-a"
    assert json.loads(asked["x-fal-object-lifecycle-preference"]) == {"expiration_duration_seconds": 3600}
    assert not {"x-fal-request-timeout", "x-fal-runner-hint", "x-fal-object-lifecycle-preference"} & set(
        plain
    )


@pytest.mark.asyncio
async def test_async_run_sends_the_three_headers() -> None:
    app, seen = _spied(mock_app(deterministic=True))
    async with async_client(app) as client:
        out = await client.run(
            T2I, {"prompt": "x"}, request_timeout=30, runner_hint="gpu-a", object_lifecycle_seconds=60
        )
        assert out.images
        with pytest.raises(ValueError, match="more than 1 seconds"):
            await client.run(T2I, {"prompt": "x"}, request_timeout=1)
    assert len(seen) == 1
    assert seen[0]["x-fal-runner-hint"] == "gpu-a" and seen[0]["x-fal-request-timeout"] == "30"
    assert json.loads(seen[0]["x-fal-object-lifecycle-preference"]) == {"expiration_duration_seconds": 60}
