"""The mock against hostile requests: webhook URLs with control characters (refused and counted, never an
exception out of the webhook task), bad bodies of every kind (a 422 naming the field, never a 500), and
bad options of ``kontext-contract mock`` (exit 2, no traceback)."""

from __future__ import annotations

import asyncio
import json
import socket
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from click.testing import CliRunner

from kontext_contract.cli import main
from kontext_contract.mock import MockConfig, create_app

from .conftest import EDIT, T2I

KEY = {"Authorization": "Key mock-key-id:mock-key-secret"}
BASE = "http://mock.test"

#: webhook URLs to a loopback host (so the host rule alone would allow them) with a control character
#: or a space once the query is decoded: httpx refuses to build a request for most of them
HOSTILE_HOOKS = [
    "http://127.0.0.1:9/hook\r\nX-Injected: 1",
    "http://127.0.0.1:9/hook\x00",
    "http://127.0.0.1:9/ho\tok",
    "http://127.0.0.1:9/hook\x7f",
    "http://127.0.0.1:9/h ook",
    "http://127.0.0.1:9\r\n/hook",
    "http://localhost\x00.example.com/hook",
    "http://[::1/hook",
    "http://127.0.0.1:99999999/hook",
]


def _recorder() -> tuple[httpx.MockTransport, list[httpx.Request]]:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200)

    return httpx.MockTransport(handler), seen


@pytest.mark.asyncio
@pytest.mark.parametrize("hook", HOSTILE_HOOKS)
async def test_a_webhook_url_with_control_characters_is_refused_and_counted(hook: str) -> None:
    transport, seen = _recorder()
    app = create_app(MockConfig(deterministic=True), webhook_transport=transport)
    failures: list[Any] = []
    loop = asyncio.get_running_loop()
    loop.set_exception_handler(lambda _loop, context: failures.append(context))
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url=BASE, headers=KEY
    ) as client:
        # sent percent-encoded, as a client would: %0d%0a, %00, %09 ... decoded by the mock
        url = f"/{T2I}?fal_webhook={quote(hook, safe='')}"
        response = await client.post(url, json={"prompt": "p"})
        assert response.status_code == 200
        await client.get(response.json()["status_url"])
        app.mock.advance(1.0)
        for _ in range(20):
            await asyncio.sleep(0)
        tasks = list(app.mock._tasks)
        results = await asyncio.gather(*tasks, return_exceptions=True)
    assert [r for r in results if isinstance(r, BaseException)] == []
    assert failures == []
    assert seen == []
    assert app.mock.stats()["webhooks"] == {"sent": 0, "failed": 0, "refused": 1}


@pytest.mark.asyncio
@pytest.mark.parametrize("hook", HOSTILE_HOOKS)
async def test_the_webhook_task_never_raises(hook: str) -> None:
    """The webhook sender itself, given a URL that slipped past every check, counts and returns."""
    transport, _seen = _recorder()
    app = create_app(MockConfig(deterministic=True), webhook_transport=transport)
    state = app.mock
    req = state.submit(
        state.model.endpoints[T2I], b'{"prompt":"p"}', base=BASE, webhook=None, timeout=None, now=0
    )
    req.webhook = hook
    state.webhook_allowed = lambda url: True  # type: ignore[method-assign]
    await state._send_webhook(req)
    await state.aclose()
    counted = state.stats()["webhooks"]
    assert counted["sent"] + counted["failed"] == 1


BAD_BODIES: list[tuple[bytes, list[Any], str]] = [
    (b"", ["body"], "missing"),
    (b"{", ["body", 1], "json_invalid"),
    (b"\xff\xfe\x00binary", ["body", 0], "json_invalid"),
    (b"[]", ["body"], ""),
    (b'"a string"', ["body"], ""),
    (b"null", ["body"], "missing"),
    (b'{"prompt": 5}', ["body", "prompt"], ""),
    (b'{"prompt": "p", "num_images": 1e999}', ["body", "num_images"], ""),
    (b'{"prompt": "p", "num_images": 123456789012345678901234567890}', ["body", "num_images"], ""),
    (b'{"prompt": "p", "seed": NaN}', ["body", "seed"], ""),
    (b'{"prompt": "\\ud800"}', [], ""),
    (b"[" * 100_000 + b"]" * 100_000, ["body"], ""),
    (b'{"prompt": ' + b'{"a": ' * 5000 + b"1" + b"}" * 5001, ["body"], ""),
    (json.dumps({"prompt": "p", "image_url": ["not", "a", "string"]}).encode(), ["body", "image_url"], ""),
    (json.dumps({"prompt": "p", "image_url": "data:" + "A" * 1_000_000}).encode(), ["body", "image_url"], ""),
]


@pytest.mark.asyncio
@pytest.mark.parametrize(("body", "loc", "kind"), BAD_BODIES, ids=[str(i) for i in range(len(BAD_BODIES))])
async def test_bad_bodies_are_422_naming_the_field_never_500(body: bytes, loc: list[Any], kind: str) -> None:
    app = create_app(MockConfig(deterministic=True))
    headers = {**KEY, "content-type": "application/json"}
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url=BASE, headers=headers
    ) as client:
        run = await client.post(f"/run/{EDIT}", content=body)
        submitted = await client.post(f"/{EDIT}", content=body)
        assert submitted.status_code == 200  # fal accepts any body at submit (docs/sources.md; docs/mock.md)
        result = await client.get(submitted.json()["response_url"])
    for response in (run, result):
        assert response.status_code in (200, 422), response.text[:300]
        if response.status_code == 422:
            detail = response.json()["detail"]
            assert isinstance(detail, list) and detail
            if loc:
                assert any(item["loc"][: len(loc)] == loc for item in detail), detail
            if kind:
                assert any(item["type"] == kind for item in detail), detail
            assert len(response.content) < 20_000  # never the whole hostile input echoed back


# ---- the mock's CLI -----------------------------------------------------------------------------------


def _busy_port() -> tuple[socket.socket, int]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(1)
    return sock, sock.getsockname()[1]


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["--provider", "nope"], "--provider"),
        (["--fault-503", "2"], "--fault-503"),
        (["--queue-delay", "-1"], "--queue-delay"),
        (["--port", "-5"], "--port"),
        (["--port", "99999"], "--port"),
        (["--host", "not a host name"], "--host"),
        (["--max-body-bytes", "x"], "--max-body-bytes"),
        (["--sse-ping-interval", "0"], "--sse-ping-interval"),
    ],
)
def test_bad_mock_options_exit_2_naming_the_option(args: list[str], named: str) -> None:
    result = CliRunner().invoke(main, ["mock", *args])
    assert result.exit_code == 2, result.output
    assert named in result.output
    assert "Traceback" not in result.output


def test_a_busy_port_exits_2_naming_the_option() -> None:
    sock, port = _busy_port()
    try:
        result = CliRunner().invoke(main, ["mock", "--port", str(port)])
    finally:
        sock.close()
    assert result.exit_code == 2, result.output
    assert "--port" in result.output and str(port) in result.output
    assert "Traceback" not in result.output
