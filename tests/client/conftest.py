"""Fixtures for the client's tests: the mock in-process (ASGI; sync through Starlette's TestClient),
a transport that records what was sent where, and inputs for every endpoint."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager
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


def async_client(app: Any, profile: str = "fal", **kwargs: Any) -> AsyncClient:
    """An AsyncClient on the in-process mock ``app``."""
    kwargs.setdefault("retry", FAST_RETRY)
    kwargs.setdefault("polling", FAST_POLLING)
    provider = kwargs.pop("provider", None) or Provider.mock(BASE, profile=profile)
    transport = kwargs.pop("transport", None) or asgi(app)
    return AsyncClient(provider, transport=transport, **kwargs)


class SyncASGI(httpx.BaseTransport):
    """A sync transport over an async one: an event loop in a thread runs the ASGI app (the mock).
    Responses are read whole, as httpx.ASGITransport does anyway."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        body = request.read()

        async def call() -> httpx.Response:
            copy = httpx.Request(request.method, request.url, headers=request.headers, content=body)
            response = await self.inner.handle_async_request(copy)
            content = await response.aread()
            return httpx.Response(response.status_code, headers=response.headers, content=content)

        return asyncio.run_coroutine_threadsafe(call(), self.loop).result()

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=5)
        self.loop.close()


@contextmanager
def sync_client(app: Any, profile: str = "fal", **kwargs: Any) -> Iterator[Client]:
    """A Client on the in-process mock ``app`` through :class:`SyncASGI`."""
    kwargs.setdefault("retry", FAST_RETRY)
    kwargs.setdefault("polling", FAST_POLLING)
    provider = kwargs.pop("provider", None) or Provider.mock(BASE, profile=profile)
    transport = kwargs.pop("transport", None) or asgi(app)
    with Client(provider, transport=SyncASGI(transport), **kwargs) as client:
        yield client


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
