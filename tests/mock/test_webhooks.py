"""Webhooks (``fal_webhook``): the fal payload when done, to loopback only unless allowed (docs/sources.md §3.1)."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
from openapi_schema_validator import OAS30Validator

from kontext_contract.mock import MockConfig, MockServer, create_app

from .conftest import BASE, EDIT, FAL_AUTH, MAX_MULTI, T2I, ContractChecker, provider_document


def _recorder() -> tuple[httpx.MockTransport, list[httpx.Request]]:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200)

    return httpx.MockTransport(handler), seen


def _webhook_validator(endpoint: str = T2I) -> OAS30Validator:
    """The contract's schema of what fal POSTs to ``fal_webhook``: the request body of the submit's
    ``falWebhook`` callback (``components.schemas.WebhookPayload``), read from the fal document, not retyped.
    jsonschema with openapi-schema-validator's OAS 3.0 dialect, which reads ``nullable``."""
    document = provider_document("fal")
    callback = document["paths"][f"/{endpoint}"]["post"]["callbacks"]["falWebhook"]
    assert list(callback) == ["{$request.query.fal_webhook}"]
    schema = callback["{$request.query.fal_webhook}"]["post"]["requestBody"]["content"]["application/json"][
        "schema"
    ]
    assert schema == {"$ref": "#/components/schemas/WebhookPayload"}
    return OAS30Validator({**schema, "components": document["components"]})


def _assert_webhook_payload(payload: Any, endpoint: str = T2I) -> None:
    errors = [
        f"{list(e.absolute_path)}: {e.message}" for e in _webhook_validator(endpoint).iter_errors(payload)
    ]
    assert not errors, f"the webhook payload does not match the contract's WebhookPayload: {errors[:5]}"


def test_webhook_schema_is_read_from_the_contract_and_rejects_a_wrong_payload():
    for endpoint in (EDIT, MAX_MULTI, T2I):
        validator = _webhook_validator(endpoint)
        assert validator.is_valid({"request_id": "r", "status": "OK", "payload": None, "error": None})
        assert not validator.is_valid({"request_id": "r", "status": "DONE"})
        assert not validator.is_valid({"status": "OK"})
        assert not validator.is_valid({"request_id": "r", "status": "ERROR", "error": 1})


async def _drain(app) -> None:
    for _ in range(50):
        await asyncio.sleep(0.01)
        if not app.mock._tasks:
            break


@pytest.mark.asyncio
async def test_webhook_ok_payload_after_completion():
    transport, seen = _recorder()
    app = create_app(
        MockConfig(deterministic=True, clock_step=0.25, queue_delay=0.5), webhook_transport=transport
    )
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url=BASE, headers=FAL_AUTH
    ) as client:
        hook = "http://127.0.0.1:9/hook"
        submitted = (await client.post(f"/{T2I}", params={"fal_webhook": hook}, json={"prompt": "p"})).json()
        await _drain(app)
        assert seen == []  # not done yet
        for _ in range(3):
            await client.get(submitted["status_url"])
        await _drain(app)
    assert len(seen) == 1
    assert str(seen[0].url) == hook and seen[0].method == "POST"
    payload = json.loads(seen[0].content)
    _assert_webhook_payload(payload)
    assert payload["request_id"] == payload["gateway_request_id"] == submitted["request_id"]
    assert (payload["status"], payload["error"]) == ("OK", None)
    checker = ContractChecker(provider_document("fal"))
    checker.validate({"$ref": "#/components/schemas/KontextOutput"}, payload["payload"], "webhook payload")
    assert app.mock.stats()["webhooks"] == {"sent": 1, "failed": 0, "refused": 0}


@pytest.mark.asyncio
async def test_webhook_error_payload_for_invalid_input_and_cancel():
    transport, seen = _recorder()
    app = create_app(MockConfig(deterministic=True, queue_delay=5.0), webhook_transport=transport)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url=BASE, headers=FAL_AUTH
    ) as client:
        hook = {"fal_webhook": "http://localhost:9/hook"}
        invalid = (await client.post(f"/{EDIT}", params=hook, json={"prompt": "no image"})).json()
        cancelled = (await client.post(f"/{T2I}", params=hook, json={"prompt": "p"})).json()
        await client.put(cancelled["cancel_url"])
        app.mock.advance(10.0)
        await _drain(app)
    payloads = {p["request_id"]: p for p in (json.loads(r.content) for r in seen)}
    _assert_webhook_payload(payloads[invalid["request_id"]], EDIT)
    _assert_webhook_payload(payloads[cancelled["request_id"]])
    assert payloads[invalid["request_id"]]["status"] == "ERROR"
    assert payloads[invalid["request_id"]]["payload"]["detail"][0]["loc"] == ["body", "image_url"]
    assert payloads[cancelled["request_id"]]["status"] == "ERROR"
    assert len(seen) == 2


@pytest.mark.asyncio
@pytest.mark.parametrize(
    "url", ["http://example.com/hook", "http://10.0.0.1/hook", "ftp://127.0.0.1/x", "http:///x"]
)
async def test_webhook_to_other_hosts_is_refused(url):
    transport, seen = _recorder()
    app = create_app(MockConfig(), webhook_transport=transport)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url=BASE, headers=FAL_AUTH
    ) as client:
        response = await client.post(f"/{T2I}", params={"fal_webhook": url}, json={"prompt": "p"})
        assert response.status_code == 200
        await asyncio.sleep(0.05)
        await _drain(app)
    assert seen == []
    assert app.mock.stats()["webhooks"]["refused"] == 1


@pytest.mark.asyncio
async def test_webhook_allow_hosts():
    transport, seen = _recorder()
    app = create_app(MockConfig(webhook_allow_hosts=("Hooks.Example.com",)), webhook_transport=transport)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url=BASE, headers=FAL_AUTH
    ) as client:
        await client.post(
            f"/{T2I}", params={"fal_webhook": "https://hooks.example.com/x"}, json={"prompt": "p"}
        )
        await asyncio.sleep(0.05)
        await _drain(app)
    assert [str(r.url) for r in seen] == ["https://hooks.example.com/x"]


def test_webhook_over_real_sockets():
    received: list[dict[str, Any]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers["content-length"])
            received.append(json.loads(self.rfile.read(length)))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    receiver = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=receiver.serve_forever, daemon=True)
    thread.start()
    try:
        with MockServer(MockConfig(queue_delay=0.05, processing_delay=0.05)) as server:
            hook = f"http://127.0.0.1:{receiver.server_address[1]}/done"
            response = httpx.post(
                f"{server.base_url}/{T2I}",
                params={"fal_webhook": hook},
                json={"prompt": "p"},
                headers=FAL_AUTH,
            )
            deadline = time.monotonic() + 5
            # the receiver may have the POST before the mock has read its answer and counted it
            while (
                not received or server.state.stats()["webhooks"]["sent"] < 1
            ) and time.monotonic() < deadline:
                time.sleep(0.02)
            assert server.state.stats()["webhooks"]["sent"] == 1
    finally:
        receiver.shutdown()
        receiver.server_close()
    assert [r["request_id"] for r in received] == [response.json()["request_id"]]
    _assert_webhook_payload(received[0])
    assert received[0]["status"] == "OK"
