"""A small app that uses fal's Python client as its users would, written for the ``fal_mock`` fixture's tests
(tests/sample_app/test_sample_app.py) and for nothing else: it knows nothing of the mock.

- :func:`restyle`: upload a local image (``fal_client.upload_file``), then ``fal_client.subscribe`` to the
  Kontext edit endpoint, following the queue updates;
- :func:`restyle_later`: upload, then ``fal_client.submit`` with a webhook URL; the result arrives at
- :data:`receiver`: a Starlette app whose ``POST /fal/webhook`` verifies fal's signature
  (:func:`kontext_contract.client.averify_webhook`) before it keeps the result, idempotent on the request id;
- :func:`follow`: ``submit``, then the handle's status events (``iter_events``) until COMPLETED;
- :func:`quick`: ``fal_client.run``, the synchronous API.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import fal_client
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from kontext_contract.client import JWKSCache, JWKSError, WebhookVerificationError, averify_webhook

EDIT = "fal-ai/flux-pro/kontext"
TEXT = "fal-ai/flux-pro/kontext/text-to-image"

#: fal's webhook keys, fetched from fal's JWKS and kept (at most 24 h)
KEYS = JWKSCache()
#: request id -> the verified output's first image URL, or the error
RESULTS: dict[str, Any] = {}
#: what the receiver refused: (reason, request id header)
REFUSED: list[tuple[str, str | None]] = []


def restyle(image: Path, prompt: str) -> tuple[dict[str, Any], list[str]]:
    """Upload ``image`` and restyle it; returns the result and the kinds of queue updates seen."""
    url = fal_client.upload_file(image)
    updates: list[str] = []
    result = fal_client.subscribe(
        EDIT,
        arguments={"prompt": prompt, "image_url": url},
        with_logs=True,
        on_queue_update=lambda update: updates.append(type(update).__name__),
    )
    return result, updates


def restyle_later(image: Path, prompt: str, webhook_url: str) -> str:
    """Upload ``image`` and submit the restyle; the result is POSTed to ``webhook_url``. Returns the id."""
    url = fal_client.upload_file(image)
    handle = fal_client.submit(EDIT, arguments={"prompt": prompt, "image_url": url}, webhook_url=webhook_url)
    return handle.request_id


def follow(prompt: str) -> list[str]:
    """Submit a text-to-image request and follow its status events to the end."""
    handle = fal_client.submit(TEXT, arguments={"prompt": prompt})
    return [type(status).__name__ for status in handle.iter_events(with_logs=True, interval=0.05)]


def quick(prompt: str) -> dict[str, Any]:
    """The synchronous API."""
    return fal_client.run(TEXT, arguments={"prompt": prompt})


async def webhook(request: Request) -> JSONResponse:
    body = await request.body()
    try:
        hook = await averify_webhook(request.headers, body, jwks=KEYS, endpoint=EDIT)
    except WebhookVerificationError as exc:
        REFUSED.append((exc.reason, request.headers.get("x-fal-webhook-request-id")))
        return JSONResponse({"detail": exc.reason}, status_code=401)
    except JWKSError as exc:  # no keys to check with: let fal retry later
        REFUSED.append(("jwks_" + exc.reason, request.headers.get("x-fal-webhook-request-id")))
        return JSONResponse({"detail": "cannot verify now"}, status_code=503)
    if hook.request_id not in RESULTS:  # fal may deliver twice: keep the first
        RESULTS[hook.request_id] = hook.output.images[0].url if hook.ok else hook.error
    return JSONResponse({"ok": True})


receiver = Starlette(routes=[Route("/fal/webhook", webhook, methods=["POST"])])
