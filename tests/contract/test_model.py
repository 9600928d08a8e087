"""The contract model: what it reads from a built document, and that every consumer asks it."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from kontext_contract.client import AsyncClient, Client, Provider, ValidationError
from kontext_contract.contract import (
    COMPLETED,
    IN_PROGRESS,
    IN_QUEUE,
    ContractError,
    ContractModel,
    ProviderFacts,
    load_document,
    value_for,
)
from kontext_contract.mock import MockConfig, create_app

ROOT = Path(__file__).resolve().parents[2]


def _doc(provider: str | None = None) -> dict[str, Any]:
    name = "kontext.openapi.yaml" if provider is None else f"providers/{provider}.openapi.yaml"
    return load_document(ROOT / "openapi" / name)


def test_the_model_reads_roles_paths_codes_and_facts() -> None:
    model = ContractModel.load("fal")
    assert len(model.endpoints) == 6
    edit = model.endpoint("fal-ai/flux-pro/kontext")
    assert edit.submit.role == "submit" and edit.submit.path == "/fal-ai/flux-pro/kontext"
    assert (
        edit.run is not None
        and edit.run.role == "run"
        and edit.run.url == "https://fal.run/fal-ai/flux-pro/kontext"
    )
    assert model.run_path("fal-ai/flux-pro/kontext") == "fal-ai/flux-pro/kontext"
    assert edit.image_inputs == {"image_url": False}
    assert model.endpoint("fal-ai/flux-pro/kontext/multi").image_inputs == {"image_urls": True}
    assert {role: op.path for role, op in edit.requests.items()} == {
        "result": "/fal-ai/flux-pro/requests/{request_id}",
        "status": "/fal-ai/flux-pro/requests/{request_id}/status",
        "status-stream": "/fal-ai/flux-pro/requests/{request_id}/status/stream",
        "cancel": "/fal-ai/flux-pro/requests/{request_id}/cancel",
    }
    assert model.status_code(IN_QUEUE) == 202 and model.status_code(IN_PROGRESS) == 202
    assert model.status_code(COMPLETED) == 200
    assert model.queued_states == {IN_QUEUE}
    assert model.provider.auth_scheme == "Key" and model.provider.key_env == "FAL_KEY"
    assert ContractModel.load("relay-a").provider.auth_scheme == "Bearer"


def test_one_set_of_provider_defaults() -> None:
    """A document whose x-provider leaves the auth scheme out gets the same default in every consumer."""
    doc = _doc("relay-b")
    del doc["info"]["x-provider"]["auth"]["scheme"]
    facts = ProviderFacts.read(doc)
    assert facts.auth_scheme == "Key"
    app = create_app(MockConfig(provider="relay-b"), document=doc)
    assert app.model.provider.auth_scheme == facts.auth_scheme
    assert ContractModel.from_document(doc, reference=_doc()).provider.auth_scheme == facts.auth_scheme


def test_an_operation_without_a_role_is_refused_with_its_jsonpath() -> None:
    doc = _doc()
    del doc["paths"]["/fal-ai/flux-pro/requests/{request_id}/cancel"]["put"]["x-fal-role"]
    with pytest.raises(
        ContractError, match=r"\$\.paths\['/fal-ai/flux-pro/requests/\{request_id\}/cancel'\]\.put"
    ):
        ContractModel.from_document(doc)


def test_a_path_item_that_is_not_a_mapping_is_refused() -> None:
    doc = _doc()
    doc["paths"]["/fal-ai/flux-pro/kontext"] = "oops"
    with pytest.raises(ContractError, match="expected a path item"):
        ContractModel.from_document(doc)


def test_a_queue_state_the_code_does_not_know_is_refused() -> None:
    doc = _doc()
    doc["components"]["schemas"]["QueueStatusCompleted"]["properties"]["status"]["enum"] = [
        "COMPLETED",
        "FAILED",
    ]
    with pytest.raises(ContractError, match="FAILED"):
        ContractModel.from_document(doc)


def test_endpoint_level_request_operations_win_for_their_endpoint() -> None:
    doc = _doc()
    item = copy.deepcopy(doc["paths"]["/fal-ai/flux-pro/requests/{request_id}/status"])
    item["get"]["operationId"] = "getMaxRequestStatus"
    doc["paths"]["/fal-ai/flux-pro/kontext/max/requests/{request_id}/status"] = item
    model = ContractModel.from_document(doc)
    assert (
        model.endpoint("fal-ai/flux-pro/kontext/max")
        .request("status")
        .path.startswith("/fal-ai/flux-pro/kontext/max/")
    )
    assert (
        model.endpoint("fal-ai/flux-pro/kontext/max/multi")
        .request("status")
        .path.startswith("/fal-ai/flux-pro/kontext/max/")
    )
    assert (
        model.endpoint("fal-ai/flux-pro/kontext").request("status").path
        == "/fal-ai/flux-pro/requests/{request_id}/status"
    )


@pytest.mark.parametrize(
    ("schema", "expected"),
    [
        ({"type": "string", "default": "d"}, "d"),
        ({"type": "string", "enum": ["a", "b"]}, "a"),
        ({"type": "integer", "minimum": 3}, 3),
        ({"type": "number", "minimum": 1, "exclusiveMinimum": True}, 1.000001),
        ({"type": "array", "minItems": 2, "items": {"type": "boolean"}}, [False, False]),
        ({"type": "object", "required": ["n"], "properties": {"n": {"type": "integer"}}}, {"n": 0}),
        ({"type": "string", "example": "ex"}, "ex"),
    ],
)
def test_value_for_takes_a_valid_value_from_the_schema(schema: dict[str, Any], expected: Any) -> None:
    value = value_for({}, schema)
    assert value == expected
    assert ContractModel.load().validator(schema).is_valid(value)


@pytest.mark.asyncio
async def test_the_client_and_the_mock_build_the_same_422_detail() -> None:
    """One builder of fal's 422 detail list: a local error and the mock's 422 read the same."""
    body = {"prompt": 3, "num_images": 9, "safety_tolerance": 2, "output_format": "gif"}
    endpoint = "fal-ai/flux-pro/kontext/text-to-image"
    offline = Client(
        Provider.fal(key="id:secret"),
        transport=httpx.MockTransport(lambda r: httpx.Response(599)),
    )
    with pytest.raises(ValidationError) as local:
        offline.submit(endpoint, body)
    app = create_app(MockConfig(deterministic=True))
    async with AsyncClient(
        Provider.mock("http://testserver"), transport=httpx.ASGITransport(app=app), validate=False
    ) as run:
        with pytest.raises(ValidationError) as remote:
            await run.run(endpoint, body)
    assert json.dumps(local.value.detail, sort_keys=True) == json.dumps(remote.value.detail, sort_keys=True)
    assert {d["type"] for d in local.value.detail} == {"string_type", "less_than_equal", "enum"}


def test_a_status_operation_missing_a_state_is_refused_at_load() -> None:
    doc = _doc()
    del doc["paths"]["/fal-ai/flux-pro/requests/{request_id}/status"]["get"]["responses"]["202"]
    with pytest.raises(ContractError, match="no answer for IN_QUEUE, IN_PROGRESS"):
        ContractModel.from_document(doc)


def test_submit_options_are_sent_as_the_contract_names_them(tmp_path: Path) -> None:
    """A header renamed in the contract (or moved to the query) reaches the client with no code change."""
    doc = _doc()
    doc["components"]["parameters"]["RequestTimeout"]["name"] = "X-Fal-Start-Deadline"
    doc["components"]["parameters"]["QueuePriority"]["in"] = "query"
    contract = tmp_path / "kontext.openapi.yaml"
    contract.write_text(json.dumps(doc), encoding="utf-8")
    sent: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(599)

    client = Client(Provider.fal(key="id:secret"), contract=contract, transport=httpx.MockTransport(answer))
    with pytest.raises(Exception):  # noqa: B017 - the 599 is not the point, what was sent is
        client.submit(
            "fal-ai/flux-pro/kontext/text-to-image", {"prompt": "x"}, request_timeout=5, priority="low"
        )
    assert sent and sent[0].headers["X-Fal-Start-Deadline"] == "5"
    assert (
        "X-Fal-Request-Timeout" not in sent[0].headers and sent[0].url.params["X-Fal-Queue-Priority"] == "low"
    )
    with pytest.raises(ValueError, match="priority='high' is refused by the contract's X-Fal-Queue-Priority"):
        client.submit("fal-ai/flux-pro/kontext/text-to-image", {"prompt": "x"}, priority="high")  # type: ignore[typeddict-item]


# -- facts the consumers ask by their contract names (issue 16 §3) ---------------------------------


@pytest.mark.parametrize("provider", [None, "fal", "relay-a", "chainhub", "relay-b"])
def test_the_protocol_facts_are_read_from_the_document(provider: str | None) -> None:
    model = ContractModel.load(provider)
    assert model.request_id_header == "x-fal-request-id"
    assert model.header_name("RequestTimeoutType") == "x-fal-request-timeout-type"
    assert model.submit_state == IN_QUEUE
    assert model.stream_suffix() == "/stream"
    assert model.cancel_answers() == {
        200: ("OK",),
        202: ("CANCELLATION_REQUESTED",),
        400: ("ALREADY_COMPLETED",),
        404: ("NOT_FOUND",),
    }
    assert model.cancel_code("CANCELLATION_REQUESTED") == 202 and model.cancel_code("NOT_FOUND") == 404
    webhook, timeout, logs = (model.parameter(c) for c in ("FalWebhook", "RequestTimeout", "Logs"))
    assert (webhook.name, webhook.location) == ("fal_webhook", "query")
    assert (timeout.name, timeout.location) == ("X-Fal-Request-Timeout", "header")
    assert logs.true_values == ("1", "true") and logs.false_values == ("0", "false")
    assert logs.is_true(" TRUE ") and not logs.is_true("yes") and not logs.is_true(None)
    assert (logs.flag(True), logs.flag(False)) == ("1", "0")
    assert model.request_operation("cancel").method == "PUT"
    assert model.default_endpoint() in model.endpoints


def test_renamed_parameters_headers_and_cancel_codes_are_what_the_model_answers() -> None:
    doc = _doc()
    doc["components"]["parameters"]["FalWebhook"].update(name="X-Webhook", **{"in": "header"})
    doc["components"]["parameters"]["Logs"]["schema"] = {"type": "string", "enum": ["yes", "no"]}
    responses = doc["components"]["responses"]["QueueSubmitted"]
    responses["headers"] = {"x-request-id": responses["headers"]["x-fal-request-id"]}
    cancel = doc["paths"]["/fal-ai/flux-pro/requests/{request_id}/cancel"]["put"]["responses"]
    cancel["200"]["x-fal-status"] = ["OK", "CANCELLATION_REQUESTED"]
    del cancel["202"]
    moved = {p.replace("/status/stream", "/events"): v for p, v in doc["paths"].items() if "stream" in p}
    doc["paths"] = {p: v for p, v in doc["paths"].items() if "stream" not in p} | moved
    model = ContractModel.from_document(doc)
    assert model.parameter("FalWebhook").lookup({}, {"x-webhook": "https://h.example"}) == "https://h.example"
    assert model.parameter("Logs").flag(True) == "yes" and model.parameter("Logs").is_true("YES")
    assert model.request_id_header == "x-request-id"
    assert model.cancel_code("CANCELLATION_REQUESTED") == 200
    with pytest.raises(ContractError, match=r"stream.s path .*/events is not under the status path"):
        model.stream_suffix()


def test_what_the_model_cannot_answer_is_refused_naming_the_place() -> None:
    doc = _doc()
    cancel = doc["paths"]["/fal-ai/flux-pro/requests/{request_id}/cancel"]["put"]["responses"]
    cancel["202"]["x-fal-status"] = ["PAUSED"]
    model = ContractModel.from_document(doc, source="changed.yaml")
    with pytest.raises(
        ContractError, match=r"changed\.yaml: .*responses\['202'\]: cancel answer\(s\) PAUSED"
    ):
        model.cancel_answers()
    with pytest.raises(ContractError, match=r"\$\.components\.parameters\.Nope"):
        model.parameter("Nope")
    with pytest.raises(ContractError, match=r"no response declares a header .*Nope"):
        model.header_name("Nope")
    del doc["components"]["parameters"]["Logs"]["schema"]
    doc["components"]["parameters"]["Logs"]["schema"] = {"type": "string", "enum": ["1"]}
    with pytest.raises(ContractError, match="expected a false value"):
        ContractModel.from_document(doc).parameter("Logs").flag(False)
