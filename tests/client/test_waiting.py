"""Cancellation (asked for, on timeout, on abort), timeouts, the status stream and the polling fallback,
for both clients."""

from __future__ import annotations

import itertools
import json
import time
from typing import Any

import httpx
import pytest

from kontext_contract.client import (
    Endpoint,
    NotFoundError,
    Polling,
    ProviderIncompatibleError,
    QueueStatusCompleted,
    QueueStatusInQueue,
    RequestFailedError,
    RequestTimeoutError,
    RetryPolicy,
    WaitTimeoutError,
)
from kontext_contract.client._sse import SSEDecoder

from .conftest import Clients, collect, do, mock_app, stats

T2I = Endpoint.KONTEXT_TEXT_TO_IMAGE


@pytest.mark.asyncio
async def test_cancel_a_queued_request(clients: Clients) -> None:
    app = mock_app(deterministic=True, queue_delay=10.0)
    async with clients.on_mock(app) as client:
        handle = await do(client.submit(T2I, {"prompt": "x"}))
        assert isinstance(await do(handle.status()), QueueStatusInQueue)
        assert await do(client.cancel(T2I, handle.request_id)) == "CANCELLATION_REQUESTED"
        final = await do(handle.status())
        assert isinstance(final, QueueStatusCompleted) and final.error
        with pytest.raises(RequestFailedError) as failed:
            await do(handle.get())
        assert failed.value.request_id == handle.request_id and "cancelled" in str(failed.value)
        assert await do(handle.cancel()) == "ALREADY_COMPLETED"
        with pytest.raises(NotFoundError):
            await do(client.cancel(T2I, "no-such-request"))


@pytest.mark.asyncio
@pytest.mark.parametrize("stream", [True, False], ids=["stream", "polling"])
async def test_an_aborted_wait_cancels_the_request(clients: Clients, stream: bool) -> None:
    """Cancelling the awaiting task (async) or Ctrl-C (sync) asks the provider to cancel the job."""
    app = mock_app(queue_delay=30.0)  # real clock: the request stays IN_QUEUE
    async with clients.on_mock(app) as client:
        await clients.abort(lambda: client.subscribe(T2I, {"prompt": "x"}, stream=stream))
    counted = await stats(app)
    assert counted["submits_total"] == 1
    assert counted["calls"].get("cancel") == 1


@pytest.mark.asyncio
async def test_an_aborted_wait_keeps_the_request_when_asked(clients: Clients) -> None:
    app = mock_app(queue_delay=30.0)
    async with clients.on_mock(app) as client:
        await clients.abort(lambda: client.subscribe(T2I, {"prompt": "x"}, cancel_on_abort=False))
    counted = await stats(app)
    assert counted["submits_total"] == 1 and counted["calls"].get("cancel", 0) == 0


@pytest.mark.asyncio
@pytest.mark.parametrize("stream", [True, False], ids=["stream", "polling"])
async def test_wait_timeout_cancels_by_default(clients: Clients, stream: bool) -> None:
    app = mock_app(queue_delay=30.0)
    async with clients.on_mock(app) as client:
        started = time.monotonic()
        with pytest.raises(WaitTimeoutError) as caught:
            await do(client.subscribe(T2I, {"prompt": "x"}, timeout=0.3, stream=stream))
        assert time.monotonic() - started < 5
        assert caught.value.cancelled and caught.value.request_id
        assert (
            str(caught.value)
            == f"request {caught.value.request_id} did not complete in time (cancellation requested)"
        )
        handle = client.get_handle(T2I, caught.value.request_id)
        assert isinstance(await do(handle.status()), QueueStatusCompleted)
        with pytest.raises(WaitTimeoutError) as kept:
            await do(
                client.subscribe(T2I, {"prompt": "y"}, timeout=0.2, stream=stream, cancel_on_abort=False)
            )
        assert not kept.value.cancelled and "cancellation" not in str(kept.value)
        assert isinstance(await do(client.status(T2I, str(kept.value.request_id))), QueueStatusInQueue)
        queued = await do(client.submit(T2I, {"prompt": "z"}))
        with pytest.raises(WaitTimeoutError) as by_get:
            await do(queued.get(timeout=0.2, stream=stream))
        assert by_get.value.cancelled and "cancellation requested" in str(by_get.value)
        waiting = await do(client.submit(T2I, {"prompt": "w"}))
        # iter_events times out but never cancels (polled: in-process, httpx.ASGITransport ignores the read
        # timeout that bounds a bare stream; get/subscribe add an asyncio.timeout, iter_events cannot)
        with pytest.raises(WaitTimeoutError) as by_iter:
            await collect(waiting.iter_events(timeout=0.1, stream=False))
        assert not by_iter.value.cancelled
        assert isinstance(await do(waiting.status()), QueueStatusInQueue)
    assert (await stats(app))["calls"].get("cancel") == 2


@pytest.mark.asyncio
async def test_a_time_limit_bounds_a_whole_subscribe(clients: Clients) -> None:
    app = mock_app(queue_delay=30.0)
    async with clients.on_mock(app) as client:
        started = time.monotonic()
        with client.time_limit(0.3), pytest.raises(WaitTimeoutError) as caught:
            await do(client.subscribe(T2I, {"prompt": "x"}))
        assert time.monotonic() - started < 5
        assert caught.value.cancelled  # the cancel gets CANCEL_GRACE past the limit
        with pytest.raises(ValueError), client.time_limit(0):
            pass


@pytest.mark.asyncio
async def test_request_timeout_header_gives_request_timeout_error(clients: Clients) -> None:
    app = mock_app(deterministic=True, queue_delay=5.0)
    async with clients.on_mock(app) as client:
        with pytest.raises(RequestTimeoutError) as caught:
            await do(client.subscribe(T2I, {"prompt": "x"}, request_timeout=2.0))
        assert caught.value.error_type == "request_timeout" and caught.value.timeout_type == "user"
        assert caught.value.status_code == 504
        with pytest.raises(RequestTimeoutError):
            await do(client.run(T2I, {"prompt": "x"}, request_timeout=2.0))


@pytest.mark.asyncio
async def test_client_side_read_timeout_is_retried_for_gets_only(clients: Clients) -> None:
    calls: list[str] = []

    def slow(request: httpx.Request) -> httpx.Response:
        calls.append(request.method)
        raise httpx.ReadTimeout("no answer in time", request=request)

    policy = RetryPolicy(max_attempts=3, base_delay=0, max_delay=0)
    async with clients.over(slow, retry=policy) as client:
        with pytest.raises(Exception, match="3 attempts"):
            await do(client.status(T2I, "r"))
        with pytest.raises(Exception, match="not retried"):
            await do(client.submit(T2I, {"prompt": "x"}))
    assert calls == ["GET", "GET", "GET", "POST"]


@pytest.mark.asyncio
async def test_polling_backs_off_and_resets_on_change(
    clients: Clients, monkeypatch: pytest.MonkeyPatch
) -> None:
    slept = clients.patch_sleep(monkeypatch)
    app = mock_app(deterministic=True, queue_delay=1.0, processing_delay=0.5)
    polling = Polling(interval=0.1, max_interval=0.4, multiplier=2.0)
    async with clients.on_mock(app, polling=polling) as client:
        handle = await do(client.submit(T2I, {"prompt": "x"}))
        statuses = await collect(handle.iter_events(stream=False))
    kinds = [s.status for s in statuses]
    assert kinds[-1] == "COMPLETED" and "IN_PROGRESS" in kinds
    assert max(slept) == 0.4 and min(slept) == 0.1
    # every wait is the previous one doubled (capped), or back to 0.1 after a change
    for before, after in itertools.pairwise(slept):
        assert after in (0.1, min(0.4, before * 2))


@pytest.mark.asyncio
@pytest.mark.parametrize("answer", [404, 405, 406, 501, "json"])
async def test_falls_back_to_polling_when_the_provider_has_no_stream(clients: Clients, answer: Any) -> None:
    app = mock_app(deterministic=True, queue_delay=0.3, processing_delay=0.3)
    inner = httpx.ASGITransport(app=app)
    asked: list[str] = []

    class NoStream(httpx.AsyncBaseTransport):
        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            if request.url.path.endswith("/status/stream"):
                asked.append(request.url.path)
                if answer == "json":  # 200 but not text/event-stream
                    return httpx.Response(200, json={"status": "IN_QUEUE"})
                return httpx.Response(answer, json={"detail": "Not Found"})
            return await inner.handle_async_request(request)

    async with clients.on_mock(app, transport=NoStream()) as client:
        out = await do(client.subscribe(T2I, {"prompt": "x"}))
        assert out.prompt == "x"
        await do(client.subscribe(T2I, {"prompt": "y"}))  # remembered: no second try of the stream
        assert len(asked) == 1
        handle = await do(client.submit(T2I, {"prompt": "z"}))
        with pytest.raises(ProviderIncompatibleError, match="status stream"):
            await collect(handle.stream_status())
    counted = await stats(app)
    assert counted["calls"]["status"] >= 2


@pytest.mark.asyncio
async def test_a_long_stream_that_breaks_is_reopened_with_a_fresh_retry_budget(clients: Clients) -> None:
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
    async with clients.over(handler, retry=policy) as client:
        statuses = await collect(client.stream_status(T2I, "r1"))
    assert [s.status for s in statuses] == ["IN_PROGRESS", "COMPLETED"]
    assert len(opened) == 2


@pytest.mark.asyncio
async def test_a_stream_error_answer_is_retried_then_raised(clients: Clients) -> None:
    answers = iter([503, 404])

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(next(answers, 401), json={"detail": "no"})

    policy = RetryPolicy(max_attempts=3, base_delay=0, max_delay=0)
    async with clients.over(handler, retry=policy) as client:
        with pytest.raises(ProviderIncompatibleError):  # 503 retried, then 404: no stream here
            await collect(client.stream_status(T2I, "r1"))
        from kontext_contract.client import AuthenticationError

        with pytest.raises(AuthenticationError):
            await collect(client.stream_status(T2I, "r1"))


def _spied(app: Any) -> tuple[Any, list[httpx.Headers]]:
    """``app`` wrapped so that the headers of every HTTP request it gets are recorded."""
    seen: list[httpx.Headers] = []

    async def spy(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope.get("type") == "http":
            seen.append(httpx.Headers([(k.decode(), v.decode()) for k, v in scope["headers"]]))
        await app(scope, receive, send)

    return spy, seen


@pytest.mark.asyncio
async def test_request_timeout_of_one_second_or_less_is_refused_before_sending(clients: Clients) -> None:
    """The contract's X-Fal-Request-Timeout is more than 1 second (fal-js headers.ts, fal_client
    _headers.py refuse 1 or less): the client refuses it on submit and on run, and sends nothing."""
    app, seen = _spied(mock_app(deterministic=True))
    async with clients.on_mock(app) as client:
        for seconds in (1, 1.0, 0.5, 0, -3):
            with pytest.raises(ValueError, match="more than 1 seconds"):
                await do(client.submit(T2I, {"prompt": "x"}, request_timeout=seconds))
            with pytest.raises(ValueError, match="more than 1 seconds"):
                await do(client.run(T2I, {"prompt": "x"}, request_timeout=seconds))
    assert seen == []


@pytest.mark.asyncio
async def test_run_sends_the_three_headers_the_run_operations_take(clients: Clients) -> None:
    """``run`` sends X-Fal-Request-Timeout, X-Fal-Runner-Hint and X-Fal-Object-Lifecycle-Preference
    (fal_client ``run(hint=, start_timeout=)``, fal-js ``run({startTimeout, storageSettings})``), each only
    when asked, and the mock takes them."""
    app, seen = _spied(mock_app(deterministic=True))
    async with clients.on_mock(app) as client:
        out = await do(
            client.run(
                T2I, {"prompt": "x"}, request_timeout=30, runner_hint="gpu-a", object_lifecycle_seconds=3600
            )
        )
        assert out.images
        await do(client.run(T2I, {"prompt": "x"}))
    asked, plain = seen[-2], seen[-1]
    assert asked["x-fal-request-timeout"] == "30"
    assert asked["x-fal-runner-hint"] == "gpu-a"
    assert json.loads(asked["x-fal-object-lifecycle-preference"]) == {"expiration_duration_seconds": 3600}
    assert not {"x-fal-request-timeout", "x-fal-runner-hint", "x-fal-object-lifecycle-preference"} & set(
        plain
    )


def test_sse_decoder() -> None:
    decoder = SSEDecoder()
    lines = [": ping", "", 'data: {"a":', "data: 1}", "", "event: x", "id: 3", "data:2", "", "data: tail"]
    events = [d for d in (decoder.feed(line) for line in lines) if d is not None]
    assert events == ['{"a":\n1}', "2"]
    assert decoder.flush() == "tail"
    assert decoder.flush() is None
