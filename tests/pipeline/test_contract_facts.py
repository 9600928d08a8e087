"""The contract states the facts of docs/contract.md §3.1-§3.4 that OpenAPI can express."""

from __future__ import annotations

from typing import Any

import pytest

from kontext_contract._layout import Layout
from kontext_contract.pipeline import load_yaml

ENDPOINTS = {
    "fal-ai/flux-pro/kontext": ("KontextEditInput", "image_url"),
    "fal-ai/flux-pro/kontext/max": ("KontextEditInput", "image_url"),
    "fal-ai/flux-pro/kontext/multi": ("KontextMultiInput", "image_urls"),
    "fal-ai/flux-pro/kontext/max/multi": ("KontextMultiInput", "image_urls"),
    "fal-ai/flux-pro/kontext/text-to-image": ("KontextTextToImageInput", None),
    "fal-ai/flux-pro/kontext/max/text-to-image": ("KontextTextToImageInput", None),
}
REQUESTS = "/fal-ai/flux-pro/requests/{request_id}"


@pytest.fixture(scope="module")
def contract(layout: Layout) -> dict[str, Any]:
    doc: dict[str, Any] = load_yaml(layout.contract)
    return doc


def ref(doc: dict[str, Any], node: dict[str, Any]) -> Any:
    while "$ref" in node:
        target: Any = doc
        for part in node["$ref"][2:].split("/"):
            target = target[part]
        node = target
    return node


def schema_of(doc: dict[str, Any], name: str) -> dict[str, Any]:
    s: dict[str, Any] = doc["components"]["schemas"][name]
    return s


def test_six_submit_and_six_run_operations(contract: dict[str, Any]) -> None:
    submits = {
        p[1:]: item["post"]
        for p, item in contract["paths"].items()
        if "post" in item and "servers" not in item
    }
    runs = {
        item["post"]["x-fal-endpoint-id"]: item for p, item in contract["paths"].items() if "servers" in item
    }
    assert set(submits) == set(ENDPOINTS)
    assert set(runs) == set(ENDPOINTS)
    for endpoint, (input_schema, _) in ENDPOINTS.items():
        op = submits[endpoint]
        assert op["x-fal-endpoint-id"] == endpoint
        assert op["requestBody"]["required"] is True
        assert op["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith(input_schema)
        assert ref(contract, op["responses"]["200"])["content"]["application/json"]["schema"][
            "$ref"
        ].endswith("QueueStatusInQueue")
        run = runs[endpoint]
        assert (
            run["servers"][0]["url"] + next(p for p, i in contract["paths"].items() if i is run)
            == f"https://fal.run/{endpoint}"
        )
        assert "422" in run["post"]["responses"]


def test_inputs_match_fal(contract: dict[str, Any]) -> None:
    for name, image_field in {v for v in ENDPOINTS.values()}:
        schema = schema_of(contract, name)
        props = schema["properties"]
        assert schema["required"] == ["prompt"] + ([image_field] if image_field else [])
        assert props["guidance_scale"].items() >= {"minimum": 1, "maximum": 20, "default": 3.5}.items()
        assert props["num_images"].items() >= {"minimum": 1, "maximum": 4, "default": 1}.items()
        assert props["sync_mode"]["default"] is False and props["enhance_prompt"]["default"] is False
        assert props["safety_tolerance"]["default"] == "2" and props["output_format"]["default"] == "jpeg"
        if name == "KontextTextToImageInput":
            assert props["aspect_ratio"]["default"] == "1:1"
        else:
            assert "default" not in props["aspect_ratio"]
        assert set(props) >= {"prompt", "seed", "guidance_scale", "sync_mode", "num_images", "output_format"}
    assert schema_of(contract, "SafetyTolerance")["enum"] == ["1", "2", "3", "4", "5", "6"]
    assert schema_of(contract, "SafetyTolerance")["type"] == "string"


def test_outputs_have_two_image_types(contract: dict[str, Any]) -> None:
    assert schema_of(contract, "ImageFile")["required"] == ["url"]
    assert schema_of(contract, "GeneratedImage")["required"] == ["url", "width", "height"]
    assert schema_of(contract, "GeneratedImage")["properties"]["content_type"]["default"] == "image/jpeg"
    for name, image in (("KontextEditOutput", "ImageFile"), ("KontextOutput", "GeneratedImage")):
        out = schema_of(contract, name)
        assert out["required"] == ["images", "timings", "seed", "has_nsfw_concepts", "prompt"]
        assert out["properties"]["images"]["items"]["$ref"].endswith(image)
    assert "registry__image__fast_sdxl__models__Image" not in contract["components"]["schemas"]


def test_queue_protocol(contract: dict[str, Any]) -> None:
    paths = contract["paths"]
    status = paths[f"{REQUESTS}/status"]["get"]["responses"]
    assert status["200"]["content"]["application/json"]["schema"]["$ref"].endswith("QueueStatusCompleted")
    pending = status["202"]["content"]["application/json"]["schema"]["oneOf"]
    assert {p["$ref"].rsplit("/", 1)[-1] for p in pending} == {"QueueStatusInQueue", "QueueStatusInProgress"}
    assert "text/event-stream" in paths[f"{REQUESTS}/status/stream"]["get"]["responses"]["200"]["content"]
    assert set(paths[REQUESTS]["get"]["responses"]) >= {"200", "400", "404", "422"}
    assert set(paths[f"{REQUESTS}/cancel"]["put"]["responses"]) >= {"202", "400", "404"}
    assert schema_of(contract, "CancelStatus")["properties"]["status"]["enum"] == [
        "CANCELLATION_REQUESTED",
        "ALREADY_COMPLETED",
        "NOT_FOUND",
    ]
    assert schema_of(contract, "QueueStatusInQueue")["required"][-1] == "queue_position"
    assert "logs" in schema_of(contract, "QueueStatusInProgress")["required"]  # fal_client reads it
    assert schema_of(contract, "LogEntry")["properties"]["level"]["enum"] == [
        "STDERR",
        "STDOUT",
        "ERROR",
        "INFO",
        "WARN",
        "DEBUG",
    ]
    assert schema_of(contract, "LogsFlag")["enum"] == ["1", "0", "true", "false"]
    assert schema_of(contract, "HTTPValidationError")["properties"]["detail"]["type"] == "array"
    assert schema_of(contract, "InfrastructureError")["required"] == ["detail", "error_type"]
    params = {p["name"] for p in contract["components"]["parameters"].values()}
    assert params >= {
        "fal_webhook",
        "X-Fal-Request-Timeout",
        "X-Fal-Queue-Priority",
        "X-Fal-Runner-Hint",
        "x-fal-no-retry",
        "X-Fal-Object-Lifecycle-Preference",
    }


def test_every_submit_declares_the_webhook_callback(contract: dict[str, Any]) -> None:
    """What fal POSTs to ``fal_webhook`` (§3.1): the falWebhook callback of every queue submit, whose body is
    WebhookPayload."""
    submits = [
        item["post"] for item in contract["paths"].values() if "post" in item and "servers" not in item
    ]
    assert len(submits) == len(ENDPOINTS)
    for op in submits:
        callback = op["callbacks"]["falWebhook"]
        assert list(callback) == ["{$request.query.fal_webhook}"]
        body = callback["{$request.query.fal_webhook}"]["post"]["requestBody"]
        assert body["required"] is True
        assert body["content"]["application/json"]["schema"] == {
            "$ref": "#/components/schemas/WebhookPayload"
        }
    runs = [item["post"] for item in contract["paths"].values() if "servers" in item]
    assert runs and not any("callbacks" in op for op in runs)  # the synchronous API has no webhook
    payload = schema_of(contract, "WebhookPayload")
    assert payload["required"] == ["request_id", "status"]
    assert payload["properties"]["status"]["enum"] == ["OK", "ERROR"]
    assert set(payload["properties"]) == {
        "request_id",
        "gateway_request_id",
        "status",
        "payload",
        "error",
        "payload_error",
    }


def test_links_follow_a_submitted_request(contract: dict[str, Any]) -> None:
    links = contract["components"]["responses"]["QueueSubmitted"]["links"]
    operation_ids = {
        op.get("operationId")
        for item in contract["paths"].values()
        for op in item.values()
        if isinstance(op, dict)
    }
    assert {link["operationId"] for link in links.values()} == {
        "getRequestStatus",
        "streamRequestStatus",
        "getRequestResult",
        "cancelRequest",
    }
    assert {link["operationId"] for link in links.values()} <= operation_ids
    assert all(link["parameters"] == {"request_id": "$response.body#/request_id"} for link in links.values())


def test_auth_is_fal_key(contract: dict[str, Any]) -> None:
    assert contract["security"] == [{"falKey": []}]
    scheme = contract["components"]["securitySchemes"]["falKey"]
    assert scheme.items() >= {"type": "apiKey", "in": "header", "name": "Authorization"}.items()
    assert "bearer" not in contract["components"]["securitySchemes"]
    assert contract["servers"] == [{"url": "https://queue.fal.run", "description": "fal queue API"}]


def test_names_are_readable_ascii(contract: dict[str, Any]) -> None:
    for item in contract["paths"].values():
        for op in (v for v in item.values() if isinstance(v, dict) and "responses" in v):
            assert op["operationId"].isascii() and op["operationId"].isidentifier()
            assert all(tag.isascii() for tag in op["tags"])
    assert "x-apifox-folder" not in str(contract)


@pytest.mark.parametrize("provider", ["relay-a", "chainhub", "relay-b"])
def test_relay_documents_differ_only_where_documented(
    layout: Layout, contract: dict[str, Any], provider: str
) -> None:
    doc: dict[str, Any] = load_yaml(layout.provider_document(provider))
    info = doc["info"]["x-provider"]
    assert info["name"] == provider and info["auth"]["scheme"] == "Bearer" and info["sync_api"] is False
    assert doc["components"]["securitySchemes"] == {
        "relayBearer": {
            "type": "http",
            "scheme": "bearer",
            "description": doc["components"]["securitySchemes"]["relayBearer"]["description"],
        }
    }
    assert not any("servers" in item for item in doc["paths"].values())
    assert {p for p, i in contract["paths"].items() if "servers" not in i} == set(doc["paths"])
    assert doc["components"]["schemas"] == contract["components"]["schemas"]
    assert info["queue_urls"]["host"] == "https://queue.fal.run"
    assert any(d["id"] == "queue-urls-foreign-host" for d in info["known_deviations"])


def test_fal_document_is_the_contract_plus_provider_facts(layout: Layout, contract: dict[str, Any]) -> None:
    doc: dict[str, Any] = load_yaml(layout.provider_document("fal"))
    assert doc["info"]["x-provider"]["auth"]["scheme"] == "Key"
    doc["info"] = contract["info"]
    assert doc == contract
