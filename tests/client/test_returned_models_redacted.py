"""A provider that echoes the Authorization header into what the client returns (a status's log messages,
the status stream's events, the result's fields) never puts the key into a returned model: neither its
fields, nor its ``repr``, nor its ``to_dict()`` (docs/client.md "Keys"). One canary test per model."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator

import httpx
import pytest

from kontext_contract._redact import Redactor
from kontext_contract.client import Client, Endpoint, Provider

CANARY = "canary-id-5e1f0b2d:canary-secret-9a7c44e1"
BASE = "https://relay.example"
ENDPOINT = Endpoint.KONTEXT_TEXT_TO_IMAGE
REQUESTS = f"{BASE}/fal-ai/flux-pro/requests/r1"


def _status(auth: str) -> dict[str, object]:
    return {
        "status": "COMPLETED",
        "request_id": "r1",
        "status_url": f"{REQUESTS}/status",
        "response_url": REQUESTS,
        "cancel_url": f"{REQUESTS}/cancel",
        "logs": [
            {
                "message": f"got Authorization: {auth}",
                "level": "INFO",
                "source": "user",
                "timestamp": "2026-01-01T00:00:00Z",
            }
        ],
        "metrics": {"inference_time": 1.0},
    }


def _echo(request: httpx.Request) -> httpx.Response:
    auth = request.headers.get("authorization", "")
    path = request.url.path
    if request.method == "POST":
        return httpx.Response(
            200, json={k: v for k, v in _status(auth).items() if k.endswith(("_url", "_id"))}
        )
    if path.endswith("/status/stream"):
        body = f"data: {json.dumps(_status(auth))}\n\n"
        return httpx.Response(200, content=body.encode(), headers={"content-type": "text/event-stream"})
    if path.endswith("/status"):
        return httpx.Response(200, json=_status(auth))
    output = {
        "images": [
            {
                "url": f"https://cdn.example/{auth.split()[-1]}.jpg",
                "content_type": "image/jpeg",
                "width": 8,
                "height": 8,
            }
        ],
        "timings": {"inference": 1.0},
        "seed": 1,
        "has_nsfw_concepts": [False],
        "prompt": f"echo {auth}",
    }
    return httpx.Response(200, json=output)


@pytest.fixture
def client() -> Iterator[Client]:
    provider = Provider.relay(BASE, key=CANARY, status_stream=True)
    with Client(provider, transport=httpx.MockTransport(_echo)) as made:
        yield made


def _assert_clean(model: object) -> None:
    halves = CANARY.split(":")
    to_dict = getattr(model, "to_dict", None)
    for text in (repr(model), str(model), json.dumps(to_dict() if callable(to_dict) else None, default=str)):
        for secret in (CANARY, *halves):
            assert secret not in text, text


RETURNED: dict[str, Callable[[Client], object]] = {
    "status (polled, with logs)": lambda c: c.submit(ENDPOINT, {"prompt": "a fox"}).status(with_logs=True),
    "status stream event": lambda c: next(
        iter(c.submit(ENDPOINT, {"prompt": "a fox"}).iter_events(with_logs=True))
    ),
    "log entry": lambda c: c.submit(ENDPOINT, {"prompt": "a fox"}).status(with_logs=True).logs[0],
    "result": lambda c: c.submit(ENDPOINT, {"prompt": "a fox"}).get(),
    "result image": lambda c: c.submit(ENDPOINT, {"prompt": "a fox"}).get().images[0],
}


@pytest.mark.parametrize("get", list(RETURNED.values()), ids=list(RETURNED))
def test_the_key_never_reaches_a_returned_model(client: Client, get: Callable[[Client], object]) -> None:
    model = get(client)
    _assert_clean(model)
    assert "****" in repr(model) or "****" in json.dumps(getattr(model, "to_dict", dict)(), default=str)


@pytest.mark.parametrize("key", ["x", "ab", "fal", "k3y9z"])
def test_a_short_key_is_redacted_only_as_a_whole_token(key: str) -> None:
    """Keys under 6 characters never mangle a word or a URL path (/fal-ai/flu****-pro/)."""
    redactor = Redactor(key)
    path = "/fal-ai/flux-pro/kontext/max/text-to-image, xab falk3y9z"
    assert redactor.text(path) == path and not redactor.contains(path)
    assert redactor.text(f"Authorization: Key {key}") == "Authorization: Key ****"
    assert redactor.text(f'{{"echo": "{key}"}}') == '{"echo": "****"}'
