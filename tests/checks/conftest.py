"""Fixtures of the checks' tests: the mock over a real socket, optionally behind an ASGI wrapper that breaks
one thing (a status code, a field, a header), and helpers to run the checks against it."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Iterator, MutableMapping
from contextlib import contextmanager
from typing import Any

import httpx

from kontext_contract.checks import Options, Report, mock_target, run_checks
from kontext_contract.checks._matrix import embedded_mock_config
from kontext_contract.contract import ContractModel
from kontext_contract.mock import MockConfig, MockServer

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Send = Callable[[Message], Awaitable[None]]
#: (scope, status, headers, body or None for a streamed answer) -> (status, headers, body)
Rewrite = Callable[[Scope, int, dict[str, str], bytes | None], tuple[int, dict[str, str], bytes | None]]


class Breaker:
    """An ASGI wrapper around the mock that rewrites answers: status, headers, and (for answers that are
    not streamed) the body. ``mock`` is the wrapped app's state, so ``MockServer.state`` keeps working."""

    def __init__(self, app: Any, rewrite: Rewrite) -> None:
        self.app = app
        self.mock = app.mock
        self.rewrite = rewrite

    async def __call__(self, scope: Scope, receive: Any, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start: Message | None = None
        chunks: list[bytes] = []
        streaming = False

        def headers_of(message: Message) -> dict[str, str]:
            return {bytes(k).decode().lower(): bytes(v).decode() for k, v in message["headers"]}

        async def emit_start(status: int, headers: dict[str, str]) -> None:
            await send(
                {
                    "type": "http.response.start",
                    "status": status,
                    "headers": [(k.encode(), v.encode()) for k, v in headers.items()],
                }
            )

        async def wrapped(message: Message) -> None:
            nonlocal start, streaming
            if message["type"] == "http.response.start":
                start = message
                if headers_of(message).get("content-type", "").startswith("text/event-stream"):
                    streaming = True
                    status, headers, _ = self.rewrite(scope, message["status"], headers_of(message), None)
                    await emit_start(status, headers)
                return
            if message["type"] != "http.response.body" or streaming:
                await send(message)
                return
            chunks.append(message.get("body", b""))
            if message.get("more_body"):
                return
            assert start is not None
            status, headers, body = self.rewrite(scope, start["status"], headers_of(start), b"".join(chunks))
            body = body or b""
            headers = {k: v for k, v in headers.items() if k != "content-length"}
            headers["content-length"] = str(len(body))
            await emit_start(status, headers)
            await send({"type": "http.response.body", "body": body})

        await self.app(scope, receive, wrapped)


def json_rewrite(where: Callable[[Scope, int], bool], change: Callable[[Any], Any]) -> Rewrite:
    """A rewrite that applies ``change`` to the JSON body of the answers ``where(scope, status)`` selects."""

    def rewrite(
        scope: Scope, status: int, headers: dict[str, str], body: bytes | None
    ) -> tuple[int, dict[str, str], bytes | None]:
        if (
            body is None
            or not where(scope, status)
            or not headers.get("content-type", "").startswith("application/json")
        ):
            return status, headers, body
        return status, headers, json.dumps(change(json.loads(body))).encode()

    return rewrite


@contextmanager
def serve(
    provider: str = "fal", rewrite: Rewrite | None = None, config: MockConfig | None = None
) -> Iterator[MockServer]:
    """The mock (the embedded configuration unless ``config``) on a free loopback port, behind ``rewrite``."""
    server = MockServer(config or embedded_mock_config(provider))
    if rewrite is not None:
        server.app = Breaker(server.app, rewrite)  # type: ignore[assignment]
    with server:
        yield server


def run_against(
    provider: str = "fal",
    rewrite: Rewrite | None = None,
    *,
    transport: httpx.BaseTransport | None = None,
    **options: Any,
) -> Report:
    """Every check against the mock's emulation of ``provider`` (behind ``rewrite``)."""
    contract = ContractModel.load(provider).require()
    options.setdefault("endpoints", (contract.default_endpoint(),))
    options.setdefault("poll_interval", 0.001)
    options.setdefault("max_paid_submits", 100)
    with serve(provider, rewrite) as server:
        return run_checks(mock_target(contract, server), Options(**options), transport=transport)


def statuses(report: Report, status: str) -> set[str]:
    return {r.name for r in report.results if r.status == status}
