"""Typed client tests: the generated client (``kontext_api``: ``AuthenticatedClient`` with ``prefix="Key"`` and
the ``api`` functions) and the hand-written client layer (``kontext_contract.client``), for each of the
endpoints of the contract (however many it has), against the mock: submit -> status -> result, cancel, the synchronous run, errors;
asserting the typed fields (image sizes against aspect_ratio, content types, seeds, counts).

Endpoints, their operations and input schemas are read from the contract; the generated function of an
operation is found from its operationId (``submitKontextEdit`` -> ``api/queue/submit_kontext_edit.py``)."""

from __future__ import annotations

import base64
import importlib
import io
import re
from typing import Any

import httpx
import pytest
from kontext_api import AuthenticatedClient
from kontext_api.models import (
    CancelStatus,
    ErrorDetail,
    HTTPValidationError,
    QueueStatusCompleted,
    QueueStatusInQueue,
)
from kontext_api.types import Response
from PIL import Image

from kontext_contract.client import AsyncClient, NotFoundError, Provider, ValidationError, catalog
from kontext_contract.contract import (
    ALREADY_COMPLETED,
    CANCELLATION_REQUESTED,
    COMPLETED,
    NOT_FOUND,
    QUEUE_STATES,
    ContractModel,
)
from kontext_contract.mock import MockConfig, create_app

from ._harness import mock_key, provider_document

BASE = "http://mock.test"
DOCUMENT = provider_document("fal")
SCHEMAS = DOCUMENT["components"]["schemas"]


MODEL = ContractModel.from_document(DOCUMENT)


def _operations(role: str) -> dict[str, dict[str, Any]]:
    """endpoint id -> operation object, for the operations of ``role`` (``submit``, ``run``; the contract model)."""
    return {
        op.endpoint_id: dict(op.spec)
        for op in MODEL.operations.values()
        if op.role == role and op.endpoint_id is not None
    }


SUBMITS = _operations("submit")
RUNS = _operations("run")
ENDPOINTS = sorted(SUBMITS)


def _api(operation: dict[str, Any]) -> Any:
    name = re.sub(r"(?<!^)(?=[A-Z])", "_", operation["operationId"]).lower()
    return importlib.import_module(f"kontext_api.api.{operation['tags'][0]}.{name}")


def _png(width: int, height: int) -> str:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (10, 120, 200)).save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def _input_schema(endpoint: str) -> dict[str, Any]:
    ref = SUBMITS[endpoint]["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    return dict(SCHEMAS[ref.rsplit("/", 1)[-1]])


def _input(endpoint: str) -> dict[str, Any]:
    """A valid input built from the endpoint's input schema: its required fields, plus an aspect ratio
    (16:9 when the enum has it), the last output format of the enum, a seed and two images."""
    schema = _input_schema(endpoint)
    props = schema["properties"]
    data: dict[str, Any] = {}
    for name in schema["required"]:
        prop = props[name]
        if prop.get("type") == "array":
            data[name] = [_png(64, 48)]
        elif name.endswith("image_url"):
            data[name] = _png(64, 48)
        else:
            data[name] = "a red fox in the snow"
    ratios = SCHEMAS["AspectRatio"]["enum"]
    data["aspect_ratio"] = "16:9" if "16:9" in ratios else ratios[0]
    data["output_format"] = SCHEMAS["OutputFormat"]["enum"][-1]
    data["seed"] = 424242
    data["num_images"] = min(2, props["num_images"]["maximum"])
    return data


def _assert_output(output: Any, sent: dict[str, Any]) -> None:
    """Typed output fields against the input: count, size following aspect_ratio, content type, seed."""
    images = output.images
    assert len(images) == sent["num_images"] == len(output.has_nsfw_concepts)
    assert output.seed == sent["seed"]
    assert output.prompt == sent["prompt"]
    want_w, want_h = (float(x) for x in sent["aspect_ratio"].split(":"))
    for image in images:
        assert isinstance(image.width, int) and isinstance(image.height, int)
        assert abs(image.width / image.height - want_w / want_h) < 0.05, (image.width, image.height)
        assert image.content_type == f"image/{sent['output_format']}"
        assert image.url


def _mock(**config: Any) -> Any:
    return create_app(MockConfig(provider="fal", deterministic=True, **config))


def _generated(app: Any, base: str = BASE, key: str | None = None) -> AuthenticatedClient:
    return AuthenticatedClient(
        base_url=base,
        token=key or mock_key("fal"),
        prefix="Key",
        httpx_args={"transport": httpx.ASGITransport(app=app)},
    )


def test_every_endpoint_has_a_run_and_a_client_entry() -> None:
    assert SUBMITS
    assert set(RUNS) == set(SUBMITS)
    assert set(SUBMITS) == set(catalog().endpoints)


# -- the generated client ---------------------------------------------------------------------------------


@pytest.mark.asyncio
@pytest.mark.parametrize("endpoint", ENDPOINTS)
async def test_generated_client_submit_status_result(endpoint: str) -> None:
    info = catalog().get(endpoint)
    client = _generated(_mock(queue_delay=0.2, processing_delay=0.2))
    sent = _input(endpoint)
    submitted = await _api(SUBMITS[endpoint]).asyncio(client=client, body=info.input_model.from_dict(sent))
    assert isinstance(submitted, QueueStatusInQueue)
    assert submitted.status == MODEL.submit_state and submitted.queue_position >= 0
    status_api = importlib.import_module("kontext_api.api.queue.get_request_status")
    seen: list[str] = []
    for _ in range(50):
        status = await status_api.asyncio(client=client, request_id=submitted.request_id)
        seen.append(status.status)
        if isinstance(status, QueueStatusCompleted):
            break
    assert seen[-1] == COMPLETED and MODEL.submit_state in seen, seen
    result_api = importlib.import_module("kontext_api.api.queue.get_request_result")
    output = await result_api.asyncio(client=client, request_id=submitted.request_id)
    _assert_output(output, sent)


@pytest.mark.asyncio
@pytest.mark.parametrize("endpoint", ENDPOINTS)
async def test_generated_client_run(endpoint: str) -> None:
    """The run functions request paths relative to ``base_url``: the mock's run API for fal-ai/flux-pro."""
    info = catalog().get(endpoint)
    run = MODEL.endpoint(endpoint).run
    assert run is not None and run.server is not None and MODEL.provider.run_base_url is not None
    prefix = run.server.removeprefix(MODEL.provider.run_base_url)
    client = _generated(_mock(), base=f"{BASE}/run{prefix}")
    sent = _input(endpoint)
    response: Response[Any] = await _api(RUNS[endpoint]).asyncio_detailed(
        client=client, body=info.input_model.from_dict(sent)
    )
    assert response.status_code == 200, response.content[:300]
    assert isinstance(response.parsed, info.output_model)
    assert response.headers.get(MODEL.request_id_header)
    _assert_output(response.parsed, sent)


@pytest.mark.asyncio
async def test_generated_client_cancel_and_errors() -> None:
    client = _generated(_mock(queue_delay=5.0))
    endpoint = ENDPOINTS[0]
    info = catalog().get(endpoint)
    submitted = await _api(SUBMITS[endpoint]).asyncio(
        client=client, body=info.input_model.from_dict(_input(endpoint))
    )
    assert isinstance(submitted, QueueStatusInQueue)
    cancel = importlib.import_module("kontext_api.api.queue.cancel_request")
    # each answer with the code the contract gives it, parsed as the model the contract states for that code
    first = await cancel.asyncio_detailed(client=client, request_id=submitted.request_id)
    assert first.status_code == MODEL.cancel_code(CANCELLATION_REQUESTED) and first.parsed is not None
    assert first.parsed.status == CANCELLATION_REQUESTED
    again = await cancel.asyncio_detailed(client=client, request_id=submitted.request_id)
    assert again.status_code == MODEL.cancel_code(ALREADY_COMPLETED) and isinstance(
        again.parsed, CancelStatus
    )
    assert again.parsed.status == ALREADY_COMPLETED
    unknown = await cancel.asyncio_detailed(client=client, request_id="no-such-request")
    assert unknown.status_code == MODEL.cancel_code(NOT_FOUND) and isinstance(unknown.parsed, CancelStatus)
    result = importlib.import_module("kontext_api.api.queue.get_request_result")
    missing = await result.asyncio_detailed(client=client, request_id="no-such-request")
    assert missing.status_code == 404 and isinstance(missing.parsed, ErrorDetail)
    wrong_key = _generated(_mock(), key="wrong-id:wrong-secret")
    denied = await _api(SUBMITS[endpoint]).asyncio_detailed(
        client=wrong_key, body=info.input_model.from_dict(_input(endpoint))
    )
    assert denied.status_code == 401 and isinstance(denied.parsed, ErrorDetail)


@pytest.mark.asyncio
async def test_generated_client_invalid_input_is_422_at_result_and_run() -> None:
    """Deferred validation: submit accepts an input without its image, the result is 422 naming it."""
    app = _mock()
    client = _generated(app)
    endpoint = next(e for e in ENDPOINTS if "image_url" in _input_schema(e)["required"])
    raw = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE)
    headers = {"Authorization": f"Key {mock_key('fal')}"}
    submitted = await raw.post("/" + endpoint, json={"prompt": "no image"}, headers=headers)
    assert submitted.status_code == 200
    result = importlib.import_module("kontext_api.api.queue.get_request_result")
    answer = await result.asyncio_detailed(client=client, request_id=submitted.json()["request_id"])
    assert answer.status_code == 422 and isinstance(answer.parsed, HTTPValidationError)
    detail = answer.parsed.detail
    assert isinstance(detail, list), (
        detail
    )  # the contract allows a text too (fal-js response.ts); fal sends the list
    assert ["body", "image_url"] in [item.loc for item in detail]
    await raw.aclose()


# -- the hand-written client ------------------------------------------------------------------------------


def _client(app: Any) -> AsyncClient:
    return AsyncClient(Provider.mock(BASE, profile="fal"), transport=httpx.ASGITransport(app=app))


@pytest.mark.asyncio
@pytest.mark.parametrize("endpoint", ENDPOINTS)
async def test_client_layer_queue_flow_and_run(endpoint: str) -> None:
    sent = _input(endpoint)
    async with _client(_mock(queue_delay=0.2, processing_delay=0.2)) as client:
        handle = await client.submit(endpoint, sent)
        first = await handle.status()
        assert first.status in QUEUE_STATES
        output = await handle.get(timeout=30)
        assert isinstance(output, catalog().get(endpoint).output_model)
        _assert_output(output, sent)
        assert (await handle.cancel()) == ALREADY_COMPLETED
        ran = await client.run(endpoint, sent)
        _assert_output(ran, sent)


@pytest.mark.asyncio
async def test_client_layer_errors() -> None:
    endpoint = next(e for e in ENDPOINTS if "image_url" in _input_schema(e)["required"])
    async with _client(_mock(queue_delay=5.0)) as client:
        with pytest.raises(ValidationError):
            await client.submit(endpoint, {"prompt": "no image"})  # checked against the contract first
        with pytest.raises(NotFoundError):
            await client.result(endpoint, "no-such-request")
        handle = await client.submit(endpoint, _input(endpoint))
        assert (await handle.cancel()) == CANCELLATION_REQUESTED
