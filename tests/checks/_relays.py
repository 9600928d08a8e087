"""Test relays made for these tests (not published by anyone): ASGI wrappers around the mock that plant the
deviations relay users report (docs/checks.md ``no_error_body_on_success``, ``repeated_submit_accepted``),
or echo the key back everywhere (the canary)."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

CANARY = "canary-Key-7f3a91c2d4e5b6a7"


async def _body(receive: Receive) -> bytes:
    chunks: list[bytes] = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            return b"".join(chunks)


def _replayed(body: bytes) -> Receive:
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return receive


async def _json(send: Send, status: int, body: Any, headers: list[tuple[bytes, bytes]] | None = None) -> None:
    raw = json.dumps(body).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(raw)).encode())]
            + (headers or []),
        }
    )
    await send({"type": "http.response.body", "body": raw})


class PlantedRelay:
    """A relay in front of the mock with two planted deviations:

    - a repeated submit (the same JSON body to the same path again) is refused: 409 ``{"detail": ...}``;
    - an error the mock answers as 422 (a failed validation) comes back as 200 with the same error body.
    """

    def __init__(self, app: Any) -> None:
        self.app = app
        self.mock = app.mock
        self.seen: set[tuple[str, bytes]] = set()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        body = await _body(receive)
        if scope["method"] == "POST":
            key = (str(scope["path"]), json.dumps(json.loads(body or b"null"), sort_keys=True).encode())
            if key in self.seen:
                await _json(
                    send, 409, {"detail": "Duplicate request: an identical request was submitted already"}
                )
                return
            self.seen.add(key)

        async def downgrade(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] == 422:
                message = {**message, "status": 200}
            await send(message)

        await self.app(scope, _replayed(body), downgrade)


class CanaryEcho:
    """A relay in front of the mock that echoes the Authorization header it gets: in a response header, in
    every JSON body (an ``echo`` field), in every status stream event, and in the text of a 401."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.mock = app.mock

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        auth = next((v.decode() for k, v in scope["headers"] if k.lower() == b"authorization"), "")
        echo = auth.encode()
        start: Message | None = None
        chunks: list[bytes] = []
        streaming = False

        async def wrapped(message: Message) -> None:
            nonlocal start, streaming
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message["headers"] if k.lower() != b"content-length"]
                headers.append((b"x-echo-authorization", echo))
                start = {**message, "headers": headers}
                streaming = any(
                    k.lower() == b"content-type" and v.startswith(b"text/event-stream") for k, v in headers
                )
                if streaming:
                    await send(start)
                return
            if streaming:
                chunk = message.get("body", b"").replace(b'{"status"', b'{"echo":"' + echo + b'","status"')
                await send({**message, "body": chunk})
                return
            chunks.append(message.get("body", b""))
            if message.get("more_body"):
                return
            assert start is not None
            raw = b"".join(chunks)
            try:
                parsed = json.loads(raw)
            except ValueError:
                parsed = None
            if isinstance(parsed, dict):
                parsed["echo"] = auth
                if start["status"] == 401:
                    parsed["detail"] = f"the key {auth} is not valid here"
                raw = json.dumps(parsed).encode()
            await send({**start, "headers": [*start["headers"], (b"content-length", str(len(raw)).encode())]})
            await send({"type": "http.response.body", "body": raw})

        await self.app(scope, receive, wrapped)
