"""A pytest plugin (entry point ``pytest11``): the ``fal_mock`` fixture runs the stateful mock and makes an
app's unchanged ``fal_client`` calls land there, the way moto does for AWS (docs/mock.md "Your app's tests").

    def test_restyle(fal_mock, tmp_path):
        url = my_app.restyle("fox.png")               # fal_client.upload_file + subscribe, unchanged
        assert fal_mock.stats()["billed"]["images"] == 1

    @pytest.mark.fal_mock(queue_delay=0.2, webhook_faults=("bad-signature",))
    def test_rejects_forged_webhooks(fal_mock): ...

What it does, for the test's duration: starts :class:`~kontext_contract.mock.MockServer` on a loopback port,
sends httpx requests for fal's hosts there (:func:`~kontext_contract.mock.route_fal`: queue, run, REST
storage and JWKS, the v3 CDN), and sets ``FAL_KEY`` to the mock's key. ``subscribe``, ``submit``, ``run``,
``upload_file``, the status polling, this project's client, and webhooks to a receiver served by
:meth:`FalMock.serve` then work unchanged.

Options: the ``fal_mock`` marker takes :class:`~kontext_contract.mock.MockConfig` fields (``provider``,
``queue_delay``, ``processing_delay``, ``deterministic``, ``faults``, ``webhook_faults``, ...); the command
line's ``--fal-mock-provider`` sets the default profile.

Only pytest and the standard library are imported when pytest loads the plugin; the mock is imported when a
test asks for the fixture, so the plugin never breaks a pytest run without the ``[test]`` extra.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from .mock import AppServer, MockServer, MockState
    from .mock._signing import WebhookSigner

__all__ = ["FalMock", "fal_mock"]

_session_signer: WebhookSigner | None = None


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("kontext-contract", "the fal_mock fixture (kontext-contract)")
    group.addoption(
        "--fal-mock-provider",
        default="fal",
        help="provider profile of the fal_mock fixture's mock (fal, relay-a, chainhub, relay-b); default fal",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "fal_mock(**options): options of the fal_mock fixture's mock, as kontext_contract.mock.MockConfig fields "
        "(provider, queue_delay, processing_delay, deterministic, faults, webhook_faults, ...)",
    )


class FalMock:
    """What the ``fal_mock`` fixture gives a test: the running mock, its stats, and receivers it serves.

    Attributes:
        server: the :class:`~kontext_contract.mock.MockServer`.
        base_url: the mock's ``http://127.0.0.1:PORT``.
        key: the key the mock accepts (also in ``FAL_KEY`` during the test); a test key, not a secret.
    """

    def __init__(self, server: MockServer, routes: dict[str, Any]) -> None:
        self.server = server
        self.base_url = server.base_url
        self.key = server.state.key
        self._routes = routes
        self._receivers: list[AppServer] = []

    def __repr__(self) -> str:
        return f"FalMock({self.base_url!r}, provider={self.server.config.provider!r})"

    @property
    def state(self) -> MockState:
        """The mock's state (deterministic mode: ``state.advance(seconds)``)."""
        return self.server.state

    def stats(self) -> dict[str, Any]:
        """``GET /_mock/stats``: submits, runs, requests by state, billed, webhooks, storage, faults."""
        return self.state.stats()

    @property
    def submitted(self) -> dict[str, int]:
        """Queue submits per endpoint id (synchronous runs are in ``stats()["runs"]``)."""
        return dict(self.state.submits)

    @property
    def billed(self) -> dict[str, Any]:
        """What fal would bill: ``{"requests", "images", "by_endpoint"}`` of the successful outputs."""
        return dict(self.stats()["billed"])

    @property
    def deliveries(self) -> list[dict[str, Any]]:
        """Every webhook POST made: ``{request_id, attempt, url, status, error, fault}``."""
        return list(self.state.sender.deliveries)

    @property
    def delivered(self) -> list[dict[str, Any]]:
        """The webhook POSTs a receiver took (a 2xx answer)."""
        return [d for d in self.deliveries if d["status"] is not None and 200 <= d["status"] < 300]

    def wait_for(self, condition: Callable[[FalMock], bool], timeout: float = 10.0) -> None:
        """Wait (polling every 10 ms) until ``condition(self)`` holds.

        Raises:
            TimeoutError: it did not within ``timeout`` seconds (the message has the webhook counts).
        """
        deadline = time.monotonic() + timeout
        while not condition(self):
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"fal_mock: condition not met after {timeout:g} s; webhooks {self.stats()['webhooks']}, "
                    f"deliveries {self.state.sender.stats()}"
                )
            time.sleep(0.01)

    def wait_for_webhooks(self, count: int = 1, timeout: float = 10.0) -> list[dict[str, Any]]:
        """Wait until ``count`` deliveries were answered (any status) and none is in flight; returns them all.

        Raises:
            TimeoutError: fewer within ``timeout`` seconds.
        """

        def settled(mock: FalMock) -> bool:
            answered = [d for d in mock.deliveries if d["status"] is not None or d["error"] is not None]
            return len(answered) >= count and not mock.state.sender.tasks

        self.wait_for(settled, timeout)
        return self.deliveries

    def serve(self, app: Any, *, url: str | None = None, wsgi: bool | None = None) -> str:
        """Serve an app (your webhook receiver) on a loopback port for the test; returns its base URL.

        Args:
            app: an ASGI application (Starlette, FastAPI), or a WSGI one (Flask: detected, or ``wsgi=True``),
                served through a2wsgi.
            url: a public base URL the app is known by (e.g. ``https://myapp.example.com``): httpx requests
                to its host go to the served app, and the mock may post webhooks there.

        Returns:
            ``http://127.0.0.1:PORT`` (or ``url`` when given).
        """
        import httpx

        from .mock import AppServer

        if wsgi is None:
            wsgi = hasattr(app, "wsgi_app")
        if wsgi:
            from a2wsgi import WSGIMiddleware

            app = WSGIMiddleware(app)
        server = AppServer(app, lifespan="auto").start()
        self._receivers.append(server)
        if url is None:
            return server.base_url
        host = httpx.URL(url).host
        self._routes[host] = httpx.URL(server.base_url)
        config = self.server.config
        config.webhook_allow_hosts = (*config.webhook_allow_hosts, host)
        return url.rstrip("/")

    def close(self) -> None:
        for receiver in self._receivers:
            receiver.stop()
        self._receivers.clear()


def _signer() -> WebhookSigner:
    """One webhook key per test session, so that an app's JWKS cache stays right from test to test."""
    global _session_signer
    if _session_signer is None:
        from .mock._signing import WebhookSigner

        _session_signer = WebhookSigner.generate()
    return _session_signer


@pytest.fixture
def fal_mock(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[FalMock]:
    """The stateful mock, with fal's hosts routed to it and ``FAL_KEY`` set to its key (see the module)."""
    from .mock import MockConfig, MockServer, route_fal

    options: dict[str, Any] = {"provider": request.config.getoption("--fal-mock-provider")}
    for marker in reversed(list(request.node.iter_markers("fal_mock"))):
        options.update(marker.kwargs)
    server = MockServer(MockConfig(**options), signer=None if "webhook_key" in options else _signer())
    server.start()
    mock: FalMock | None = None
    try:
        with route_fal(server.base_url) as routes:
            monkeypatch.setenv("FAL_KEY", server.state.key)
            for name in ("FAL_KEY_ID", "FAL_KEY_SECRET"):
                monkeypatch.delenv(name, raising=False)
            mock = FalMock(server, routes)
            yield mock
    finally:
        with contextlib.suppress(Exception):
            if mock is not None:
                mock.close()
        server.stop()
