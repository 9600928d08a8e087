"""Serving the mock over a real socket: uvicorn in a background thread (tests, benchmarks) or in the
foreground (the CLI)."""

from __future__ import annotations

import socket
import threading
import time
from types import TracebackType
from typing import Any, Literal, Self

import uvicorn

from ._app import MockApp, create_app
from ._config import MockConfig
from ._signing import WebhookSigner
from ._state import MockState

__all__ = ["AppServer", "MockServer", "bind_socket", "uvicorn_config"]


def bind_socket(host: str, port: int) -> socket.socket:
    """A listening TCP socket on ``host:port`` (port 0: a free one, read it with ``getsockname()``).

    Raises:
        OSError: the address cannot be bound (in use, not local).
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # proto=IPPROTO_TCP matters: asyncio sets TCP_NODELAY on accepted sockets only when the listening
    # socket says it is TCP; without it every response written in two parts waits for a delayed ACK (~40 ms)
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
        sock.listen(2048)
    except OSError:
        sock.close()
        raise
    sock.setblocking(False)
    return sock


def uvicorn_config(app: Any, *, access_log: bool, log_level: str) -> uvicorn.Config:
    """uvicorn settings for the mock: uvicorn's ``auto`` HTTP parser and event loop (httptools and uvloop
    when installed, else h11 and asyncio), no websockets. The access log has client, method, path and
    status only: never a header, so never the Authorization key."""
    return uvicorn.Config(
        app,
        http="auto",
        loop="auto",
        ws="none",
        lifespan="on",
        access_log=access_log,
        log_level=log_level,
        timeout_graceful_shutdown=2,
        server_header=False,
    )


class AppServer:
    """Any ASGI application served by uvicorn on ``host:port`` in a background thread; a context manager.
    (:class:`MockServer` serves the mock; the ``fal_mock`` pytest fixture serves an app's webhook receiver.)

    Args:
        app: the ASGI application.
        host: the address to listen on; keep it loopback (the default).
        port: the TCP port; 0 picks a free one.
        access_log: print uvicorn's access log (no headers, so no key).
        lifespan: uvicorn's lifespan setting (``on``, ``off``, ``auto``).

    Raises:
        OSError: on start, the address cannot be bound.
        RuntimeError: on start, uvicorn did not come up within 10 seconds.
    """

    def __init__(
        self,
        app: Any,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        access_log: bool = False,
        log_level: str = "warning",
        lifespan: Literal["auto", "on", "off"] = "on",
    ) -> None:
        self.host = host
        self.port = port
        self._asgi = app
        self._access_log = access_log
        self._log_level = log_level
        self._lifespan = lifespan
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._sock: socket.socket | None = None

    @property
    def base_url(self) -> str:
        """``http://HOST:PORT`` of the running server (the port it really got)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def _config(self) -> uvicorn.Config:
        config = uvicorn_config(self.served_app(), access_log=self._access_log, log_level=self._log_level)
        config.lifespan = self._lifespan
        return config

    def served_app(self) -> Any:
        """The ASGI application uvicorn serves, read when the server starts."""
        return self._asgi

    def start(self) -> Self:
        """Bind, start uvicorn in a daemon thread and wait until it accepts connections."""
        if self._thread is not None:
            return self
        self._sock = bind_socket(self.host, self.port)
        self.port = int(self._sock.getsockname()[1])
        self._server = uvicorn.Server(self._config())
        server, sock = self._server, self._sock
        self._thread = threading.Thread(
            target=lambda: server.run(sockets=[sock]), name="kontext-mock", daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + 10.0
        while not server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"the server did not start on {self.host}:{self.port}")
            time.sleep(0.005)
        return self

    def stop(self) -> None:
        """Ask uvicorn to exit, wait for the thread (at most ~5 s) and close the socket."""
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=5.0)
        if self._sock is not None:
            self._sock.close()
        self._server = self._thread = self._sock = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


class MockServer(AppServer):
    """The mock served by uvicorn on ``host:port`` in a background thread; a context manager.

    Args:
        config: the mock's configuration (default ``MockConfig()``).
        host: the address to listen on; keep it loopback (the default).
        port: the TCP port; 0 picks a free one.
        access_log: print uvicorn's access log (no headers, so no key).
        signer: the webhook key (default: ``config.webhook_key``'s, else a new one).

    Attributes:
        app: the ASGI application; ``server.app.mock`` (= ``app.state.mock``) is its state.

    Raises:
        OSError: on start, the address cannot be bound.
        RuntimeError: on start, uvicorn did not come up within 10 seconds.
    """

    def __init__(
        self,
        config: MockConfig | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        access_log: bool = False,
        log_level: str = "warning",
        signer: WebhookSigner | None = None,
    ) -> None:
        self.config = config or MockConfig()
        self.app: MockApp = create_app(self.config, signer=signer)
        super().__init__(self.app, host=host, port=port, access_log=access_log, log_level=log_level)

    def served_app(self) -> Any:
        """``self.app`` as it is at start: a test may wrap it before starting the server."""
        return self.app

    @property
    def state(self) -> MockState:
        """The mock's state (stats, clock)."""
        return self.app.mock
