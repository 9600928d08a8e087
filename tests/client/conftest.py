"""Fixtures for the client's tests: the mock in-process (ASGI; the sync client through a loop in a
thread), a transport that records what was sent where, inputs for every endpoint -- and ``clients``,
which runs a test against the sync :class:`Client` and the :class:`AsyncClient` alike.

A test written once as ``async def`` with the ``clients`` fixture runs twice (ids ``[sync]`` and
``[async]``): ``clients.on_mock(app)`` / ``clients.over(handler)`` give the client under test, ``await
do(client.submit(...))`` awaits what the async client returns and passes the sync client's value through,
``await collect(handle.iter_events())`` lists a sync or async iterator. The sync client's calls block
the test's event loop, which is fine: the mock runs on its own loop (:class:`SyncASGI`)."""

from __future__ import annotations

import asyncio
import inspect
import threading
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from kontext_contract.client import (
    AsyncClient,
    Client,
    Endpoint,
    KontextEditInput,
    KontextMultiInput,
    KontextTextToImageInput,
    Polling,
    Provider,
    RetryPolicy,
)
from kontext_contract.mock import MockConfig, MockConnectionDropped, create_app

BASE = "http://mock.test"
FAST_RETRY = RetryPolicy(base_delay=0.001, max_delay=0.02, total_timeout=60.0)
FAST_POLLING = Polling(interval=0.001, max_interval=0.005)
IMAGE = "https://example.com/cat.png"

INPUTS: dict[Endpoint, dict[str, Any]] = {
    Endpoint.KONTEXT: {"prompt": "make it blue", "image_url": IMAGE},
    Endpoint.KONTEXT_MAX: {"prompt": "make it blue", "image_url": IMAGE, "seed": 7},
    Endpoint.KONTEXT_MULTI: {"prompt": "combine", "image_urls": [IMAGE, IMAGE]},
    Endpoint.KONTEXT_MAX_MULTI: {"prompt": "combine", "image_urls": [IMAGE], "num_images": 2},
    Endpoint.KONTEXT_TEXT_TO_IMAGE: {"prompt": "a red fox", "aspect_ratio": "16:9"},
    Endpoint.KONTEXT_MAX_TEXT_TO_IMAGE: {"prompt": "a red fox", "output_format": "png"},
}


def model_input(endpoint: Endpoint) -> Any:
    """The same input as a generated model."""
    data = INPUTS[endpoint]
    if "image_url" in data:
        return KontextEditInput.from_dict(data)
    if "image_urls" in data:
        return KontextMultiInput.from_dict(data)
    return KontextTextToImageInput.from_dict(data)


class DropAsConnectError(httpx.AsyncBaseTransport):
    """In-process, the mock's ``drop`` fault raises before the mock reads the request (see its
    ``_dispatch``); report it the way httpx reports a connection that never carried the request."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        try:
            return await self.inner.handle_async_request(request)
        except MockConnectionDropped as exc:
            raise httpx.ConnectError(str(exc), request=request) from exc


@dataclass
class Sent:
    method: str
    url: str
    authorization: str | None


@dataclass
class Recorder(httpx.AsyncBaseTransport):
    """Records every request (method, URL, Authorization) and passes it on."""

    inner: httpx.AsyncBaseTransport
    sent: list[Sent] = field(default_factory=list)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.sent.append(Sent(request.method, str(request.url), request.headers.get("authorization")))
        return await self.inner.handle_async_request(request)


def asgi(app: Any) -> httpx.AsyncBaseTransport:
    return DropAsConnectError(httpx.ASGITransport(app=app))


class SyncASGI(httpx.BaseTransport):
    """A sync transport over an async one: an event loop in a thread runs the ASGI app (the mock).
    Responses are read whole, as httpx.ASGITransport does anyway."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    #: Ctrl-C while a request is on the wire: a KeyboardInterrupt once, for the first request it matches
    interrupt: Callable[[httpx.Request], bool] | None = None

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if self.interrupt is not None and self.interrupt(request):
            self.interrupt = None
            raise KeyboardInterrupt
        body = request.read()

        async def call() -> httpx.Response:
            copy = httpx.Request(request.method, request.url, headers=request.headers, content=body)
            response = await self.inner.handle_async_request(copy)
            content = await response.aread()
            return httpx.Response(response.status_code, headers=response.headers, content=content)

        # like a socket, the answer must come within the read timeout (the whole body here: it is read whole)
        timeout = request.extensions.get("timeout", {}).get("read")
        future = asyncio.run_coroutine_threadsafe(call(), self.loop)
        try:
            return future.result(timeout=timeout)
        except TimeoutError:
            future.cancel()
            raise httpx.ReadTimeout("no answer within the read timeout", request=request) from None

    def close(self) -> None:
        """Cancel what is still running (a request given up on after its read timeout, e.g. a status stream)
        and let it finish before the loop closes: a coroutine left pending would otherwise run its cleanup
        when collected, on a closed loop (an unraisable "Event loop is closed")."""

        async def drain() -> None:
            pending = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)

        if self.loop.is_running():
            asyncio.run_coroutine_threadsafe(drain(), self.loop).result(timeout=5)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=5)
        self.loop.close()


def mock_app(profile: str = "fal", **config: Any) -> Any:
    return create_app(MockConfig(provider=profile, **config))


async def stats(app: Any) -> dict[str, Any]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE) as http:
        data: dict[str, Any] = (await http.get("/_mock/stats")).json()
        return data


@pytest.fixture
def canary() -> str:
    import secrets

    return "canary-" + secrets.token_hex(12)


# ---- one test, both clients ------------------------------------------------------------------------------


async def do(value: Any) -> Any:
    """``await value`` for the async client's coroutines; the sync client's results as they are."""
    return await value if inspect.isawaitable(value) else value


async def collect(items: Any) -> list[Any]:
    """The items of a sync or an async iterator."""
    if hasattr(items, "__aiter__"):
        return [item async for item in items]
    return list(items)


class Clients:
    """The client under test, ``Client`` (``kind == "sync"``) or ``AsyncClient`` (``"async"``)."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.is_async = kind == "async"
        self.cls: type[Client] | type[AsyncClient] = AsyncClient if self.is_async else Client
        self.bridges: list[SyncASGI] = []

    @asynccontextmanager
    async def on_mock(self, app: Any, profile: str = "fal", **kwargs: Any) -> AsyncIterator[Any]:
        """A client on the in-process mock ``app`` (fast retries and polling unless given)."""
        kwargs.setdefault("retry", FAST_RETRY)
        kwargs.setdefault("polling", FAST_POLLING)
        provider = kwargs.pop("provider", None) or Provider.mock(BASE, profile=profile)
        transport = kwargs.pop("transport", None) or asgi(app)
        async with self.make(provider, transport=transport, **kwargs) as client:
            yield client

    @asynccontextmanager
    async def over(
        self,
        handler: Callable[[httpx.Request], httpx.Response],
        provider: Provider | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[Any]:
        """A client whose every request goes to ``handler`` (``httpx.MockTransport``); fal, key ``id:secret``."""
        provider = provider or Provider.fal(key="id:secret")
        async with self.make(provider, transport=httpx.MockTransport(handler), **kwargs) as client:
            yield client

    @asynccontextmanager
    async def make(self, provider: Provider, **kwargs: Any) -> AsyncIterator[Any]:
        """A client of this kind with ``Client``'s arguments; an async ``transport`` is bridged for the
        sync client (:class:`SyncASGI`), ``httpx.MockTransport`` serves both."""
        transport = kwargs.pop("transport", None)
        if self.is_async:
            async with AsyncClient(provider, transport=transport, **kwargs) as client:
                yield client
            return
        if isinstance(transport, httpx.AsyncBaseTransport) and not isinstance(transport, httpx.MockTransport):
            transport = SyncASGI(transport)
            self.bridges.append(transport)
        with Client(provider, transport=transport, **kwargs) as client:
            yield client

    def patch_sleep(self, monkeypatch: pytest.MonkeyPatch) -> list[float]:
        """Record the seconds the client would sleep (retries, polling) instead of sleeping."""
        from kontext_contract.client._concurrency import AsyncIO, SyncIO

        slept: list[float] = []
        if self.is_async:

            async def record(seconds: float) -> None:
                slept.append(seconds)
                await asyncio.sleep(0)

            monkeypatch.setattr(AsyncIO, "sleep", staticmethod(record))
        else:
            monkeypatch.setattr(SyncIO, "sleep", staticmethod(slept.append))
        return slept

    async def abort(self, start: Callable[[], Awaitable[Any] | Any]) -> None:
        """Abort a wait from outside as a user would, after the submit: cancel the awaiting task (async),
        or press Ctrl-C (sync, on the mock: a KeyboardInterrupt out of the first status or status stream
        request, as if it came while the thread was blocked reading it). ``start()`` starts the wait."""
        if self.is_async:
            task = asyncio.ensure_future(start())
            await asyncio.sleep(0.2)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            return
        assert self.bridges, "the sync abort needs a client on the mock (clients.on_mock)"
        for bridge in self.bridges:
            bridge.interrupt = lambda request: "/status" in request.url.path
        with pytest.raises(KeyboardInterrupt):
            start()


@pytest.fixture(params=["sync", "async"])
def clients(request: pytest.FixtureRequest) -> Clients:
    """Runs the test once with the sync client and once with the async one."""
    return Clients(request.param)
