"""Sending fal's hosts to the mock, for code that cannot be pointed at it: ``fal_client`` hard-codes
``https://`` hosts in module globals frozen at import (docs/sources.md §3.6), and an app's code should not
change for its tests.

:func:`route_fal` wraps httpx's own transports (``httpx.HTTPTransport`` and ``httpx.AsyncHTTPTransport``,
which every ``httpx.Client``/``AsyncClient`` without a custom transport uses, fal_client's included): a
request to one of :data:`FAL_HOSTS` is rewritten to the mock's loopback URL (``https://queue.fal.run/x`` ->
``http://127.0.0.1:PORT/x``, ``https://fal.run/x`` -> ``.../run/x``) just before it is sent; every other
request is sent unchanged. This is the seam httpx offers (its transports); respx works the same way.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator, Mapping
from typing import Any

import httpx

__all__ = ["FAL_HOSTS", "route_fal"]

#: fal's hosts and the path prefix each has on the mock: the queue (and fal_client's backup domain), the
#: synchronous API (``/run``), the REST API (storage, the webhook JWKS), the v3 CDN (uploads)
FAL_HOSTS: Mapping[str, str] = {
    "queue.fal.run": "",
    "queue.falrun.com": "",
    "fal.run": "/run",
    "falrun.com": "/run",
    "rest.fal.ai": "",
    "rest.alpha.fal.ai": "",
    "v3.fal.media": "",
    "v3b.fal.media": "",
}

_lock = threading.Lock()
_routes: list[dict[str, httpx.URL]] = []
_originals: dict[str, Any] = {}


def _rewrite(request: httpx.Request) -> None:
    if not _routes:
        return
    target = _routes[-1].get(request.url.host)
    if target is None:
        return
    path = target.raw_path.rstrip(b"/") + request.url.raw_path
    request.url = request.url.copy_with(
        scheme=target.scheme, host=target.host, port=target.port, raw_path=path
    )
    request.headers["host"] = target.netloc.decode("ascii")


def _install() -> None:
    sync_handle = httpx.HTTPTransport.handle_request
    async_handle = httpx.AsyncHTTPTransport.handle_async_request
    _originals["sync"], _originals["async"] = sync_handle, async_handle

    def handle_request(self: httpx.HTTPTransport, request: httpx.Request) -> httpx.Response:
        _rewrite(request)
        return sync_handle(self, request)

    async def handle_async_request(self: httpx.AsyncHTTPTransport, request: httpx.Request) -> httpx.Response:
        _rewrite(request)
        return await async_handle(self, request)

    httpx.HTTPTransport.handle_request = handle_request  # type: ignore[method-assign]
    httpx.AsyncHTTPTransport.handle_async_request = handle_async_request  # type: ignore[method-assign]


def _uninstall() -> None:
    httpx.HTTPTransport.handle_request = _originals.pop("sync")  # type: ignore[method-assign]
    httpx.AsyncHTTPTransport.handle_async_request = _originals.pop("async")  # type: ignore[method-assign]


@contextlib.contextmanager
def route_fal(base_url: str, hosts: Mapping[str, str] | None = None) -> Iterator[dict[str, httpx.URL]]:
    """Within the block, httpx requests to fal's hosts go to the mock at ``base_url``.

    Args:
        base_url: the mock's ``http://127.0.0.1:PORT``.
        hosts: host -> path prefix on the mock (default :data:`FAL_HOSTS`).

    Yields:
        The routing table (host -> mock URL); a test may add a host, e.g. its webhook receiver's
        public name.

    Nested blocks: the innermost wins; the previous table comes back when it ends.
    """
    base = base_url.rstrip("/")
    table = {host: httpx.URL(base + prefix) for host, prefix in (hosts or FAL_HOSTS).items()}
    with _lock:
        if not _routes:
            _install()
        _routes.append(table)
    try:
        yield table
    finally:
        with _lock:
            _routes.remove(table)
            if not _routes:
                _uninstall()
