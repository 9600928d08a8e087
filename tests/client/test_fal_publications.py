"""The client reads answers as fal's own publications allow them (docs/contract.md "Where fal's own
publications disagree", overlays/080-fal-publications.overlay.yaml): a COMPLETED status without
``metrics``, a 422 whose ``detail`` is one text, a cancel answered 200."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from kontext_contract.client import (
    Endpoint,
    Provider,
    QueueStatusCompleted,
    RetryPolicy,
    ValidationError,
)

from .conftest import Clients, do

T2I = Endpoint.KONTEXT_TEXT_TO_IMAGE
URL = "https://queue.fal.run/fal-ai/flux-pro/requests/r1"


def _client(clients: Clients, handler: Callable[[httpx.Request], httpx.Response]) -> Any:
    return clients.over(handler, Provider.fal(key="id:secret"), retry=RetryPolicy.none())


@pytest.mark.asyncio
async def test_completed_without_metrics_is_accepted(clients: Clients) -> None:
    """fal-js types/common.ts ``metrics?``; fal_client: "legacy apps might not return metrics"."""
    body = {
        "status": "COMPLETED",
        "request_id": "r1",
        "response_url": URL,
        "status_url": URL + "/status",
        "cancel_url": URL + "/cancel",
        "logs": None,
    }
    async with _client(clients, lambda request: httpx.Response(200, json=body)) as client:
        status = await do(client.status(T2I, "r1"))
    assert isinstance(status, QueueStatusCompleted)
    assert status.request_id == "r1"


@pytest.mark.parametrize(
    ("detail", "items"),
    [
        (
            "Unsupported image format",
            [{"loc": ["body"], "msg": "Unsupported image format", "type": "value_error"}],
        ),
        (
            [{"loc": ["body", "image_url"], "msg": "Field required", "type": "missing"}],
            [{"loc": ["body", "image_url"], "msg": "Field required", "type": "missing"}],
        ),
        ("", [{"loc": ["body"], "msg": "invalid input", "type": "value_error"}]),
    ],
)
@pytest.mark.asyncio
async def test_422_detail_text_or_list_is_parsed_into_the_error(
    clients: Clients, detail: object, items: list[object]
) -> None:
    """fal-js response.ts: a text ``detail`` is one field error at loc ["body"], type "value_error"."""
    answer = httpx.Response(422, json={"detail": detail})
    async with _client(clients, lambda request: answer) as client:
        with pytest.raises(ValidationError) as caught:
            await do(client.run(T2I, {"prompt": "x"}))
    assert caught.value.status_code == 422
    assert caught.value.detail == items
    text = detail if isinstance(detail, str) and detail else None
    if text:
        assert text in str(caught.value)
        assert caught.value.fields == ["<body>"]


@pytest.mark.parametrize(
    ("code", "body", "expected"),
    [
        (202, {"status": "CANCELLATION_REQUESTED"}, "CANCELLATION_REQUESTED"),
        (200, {"status": "OK"}, "OK"),
        (200, {"success": True}, "OK"),
        (400, {"status": "ALREADY_COMPLETED"}, "ALREADY_COMPLETED"),
    ],
)
@pytest.mark.asyncio
async def test_cancel_answers_of_each_publication(
    clients: Clients, code: int, body: dict[str, object], expected: str
) -> None:
    """The contract's cancel: 202 CANCELLATION_REQUESTED (fal docs Queue), 200 OK (the cancel reference
    page) or 200 {success} (the per-endpoint OpenAPI), 400 ALREADY_COMPLETED."""
    async with _client(
        clients, lambda request: httpx.Response(code, content=json.dumps(body).encode())
    ) as client:
        assert await do(client.cancel(T2I, "r1")) == expected
