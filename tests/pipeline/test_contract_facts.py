"""The contract states the facts of docs/contract.md §3.1-§3.4 that OpenAPI can express."""

from __future__ import annotations

import json
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
        "OK",
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
    detail = schema_of(contract, "HTTPValidationError")["properties"]["detail"]["anyOf"]
    assert [d["type"] for d in detail] == ["array", "string"]
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


# -- fal's own publications (overlays/080-fal-publications.overlay.yaml; docs/contract.md "Where fal's own
# publications disagree") ------------------------------------------------------------------------------------


def test_metrics_is_optional_on_completed(contract: dict[str, Any]) -> None:
    """fal-js types/common.ts ``metrics?``; fal_client "legacy apps might not return metrics"."""
    completed = schema_of(contract, "QueueStatusCompleted")
    assert "metrics" in completed["properties"] and "metrics" not in completed["required"]
    assert "logs" in completed["required"]


def test_422_detail_may_be_a_text(contract: dict[str, Any]) -> None:
    """fal-js response.ts: a string detail is one error at loc ["body"]."""
    detail = schema_of(contract, "HTTPValidationError")["properties"]["detail"]["anyOf"]
    assert detail[0]["items"]["$ref"].endswith("ValidationErrorItem") and detail[1] == {"type": "string"}


def test_request_timeout_is_more_than_one_second(contract: dict[str, Any]) -> None:
    """fal-js headers.ts and fal_client _headers.py refuse 1 or less."""
    schema = contract["components"]["parameters"]["RequestTimeout"]["schema"]
    assert schema == {"type": "number", "minimum": 1, "exclusiveMinimum": True}


def test_run_takes_the_three_headers_fals_clients_send(contract: dict[str, Any]) -> None:
    """fal_client run(hint=, start_timeout=); fal-js run({startTimeout, storageSettings})."""
    runs = [item["post"] for item in contract["paths"].values() if "servers" in item]
    assert len(runs) == 6
    for run in runs:
        names = {ref(contract, p)["name"] for p in run["parameters"]}
        assert names == {"X-Fal-Request-Timeout", "X-Fal-Runner-Hint", "X-Fal-Object-Lifecycle-Preference"}


def test_log_source_is_upper_case(contract: dict[str, Any]) -> None:
    """fal-js types/common.ts: ``source: "USER"``."""
    source = schema_of(contract, "LogEntry")["properties"]["source"]
    assert '"USER"' in source["description"] and '"user"' not in source["description"]


def test_get_request_status_has_a_description(contract: dict[str, Any]) -> None:
    description = contract["paths"][f"{REQUESTS}/status"]["get"]["description"]
    assert "202" in description and "200" in description and "COMPLETED" in description


def test_status_stream_states_one_event_as_standard_tools_read_it(contract: dict[str, Any]) -> None:
    """The text/event-stream schema is the schema of one event {data, event?, id?, retry?} (Schemathesis);
    the JSON in ``data`` is any queue status (x-contentSchema, OpenAPI 3.1's contentSchema)."""
    media = contract["paths"][f"{REQUESTS}/status/stream"]["get"]["responses"]["200"]["content"]
    branches_of_body = media["text/event-stream"]["schema"]["anyOf"]
    # per event (Schemathesis, OpenAPI 3.2 itemSchema), or the whole text (openapi-python-client)
    assert branches_of_body[1] == {"type": "string"}
    event = ref(contract, branches_of_body[0])
    assert event["type"] == "object" and event["required"] == ["data"]
    data = event["properties"]["data"]
    assert data["type"] == "string" and data["x-contentMediaType"] == "application/json"
    branches = {b["$ref"].rsplit("/", 1)[-1] for b in data["x-contentSchema"]["oneOf"]}
    assert branches == {"QueueStatusInQueue", "QueueStatusInProgress", "QueueStatusCompleted"}
    assert "x-fal-event-schema" not in json.dumps(contract)
    assert "QueueStatus" not in contract["components"]["schemas"]


def _disagreement(contract: dict[str, Any], entry_id: str) -> dict[str, Any]:
    entries = {e["id"]: e for e in contract["x-fal-publications-disagree"]}
    entry: dict[str, Any] = entries[entry_id]
    assert entry["contract_sources"] and entry["otherwise_sources"] and entry["checks"]
    return entry


def test_queue_paths_follow_the_clients_and_docs_not_the_per_endpoint_openapi(
    contract: dict[str, Any],
) -> None:
    entry = _disagreement(contract, "queue-paths")
    assert "libs/client/src/types/image/types.gen.ts" in " ".join(entry["otherwise_sources"])
    assert "libs/client/src/queue.ts" in " ".join(entry["contract_sources"])
    requests = {p for p in contract["paths"] if "/requests/" in p}
    assert requests == {REQUESTS, f"{REQUESTS}/status", f"{REQUESTS}/status/stream", f"{REQUESTS}/cancel"}


def test_status_codes_follow_the_docs_not_the_per_endpoint_openapi(contract: dict[str, Any]) -> None:
    entry = _disagreement(contract, "status-codes")
    assert entry["otherwise"] == "200 in every state"
    assert set(contract["paths"][f"{REQUESTS}/status"]["get"]["responses"]) >= {"200", "202"}


def test_logs_are_a_list_not_an_object_map(contract: dict[str, Any]) -> None:
    entry = _disagreement(contract, "logs-shape")
    assert entry["otherwise"] == "an object map"
    for name in ("QueueStatusInQueue", "QueueStatusInProgress", "QueueStatusCompleted"):
        logs = schema_of(contract, name)["properties"]["logs"]
        assert logs["type"] == "array" and logs["items"]["$ref"].endswith("LogEntry"), name


def test_url_fields_and_queue_position_are_required(contract: dict[str, Any]) -> None:
    entry = _disagreement(contract, "url-fields-required")
    assert entry["otherwise"] == "optional"
    for name in ("QueueStatusInQueue", "QueueStatusInProgress", "QueueStatusCompleted"):
        assert {"response_url", "status_url", "cancel_url"} <= set(schema_of(contract, name)["required"]), (
            name
        )
    assert "queue_position" in schema_of(contract, "QueueStatusInQueue")["required"]


def test_cancel_follows_the_docs_and_clients_and_accepts_the_per_endpoint_200(
    contract: dict[str, Any],
) -> None:
    """Docs: 202 CANCELLATION_REQUESTED / 400 ALREADY_COMPLETED / 404 NOT_FOUND, and OK; the clients: any 2xx
    is done; the per-endpoint OpenAPI: 200 {success?: boolean}, which the contract's 200 accepts."""
    entry = _disagreement(contract, "cancel")
    assert "200 {success?: boolean}" in entry["otherwise"]
    responses = contract["paths"][f"{REQUESTS}/cancel"]["put"]["responses"]
    assert set(responses) >= {"200", "202", "400", "404"}
    accepted = ref(contract, responses["200"]["content"]["application/json"]["schema"])
    assert "required" not in accepted
    assert accepted["properties"]["status"]["enum"] == ["OK"]
    assert accepted["properties"]["success"]["type"] == "boolean"
    for code in ("202", "400", "404"):
        assert responses[code]["content"]["application/json"]["schema"]["$ref"].endswith("CancelStatus")


def test_every_disagreement_is_recorded_by_its_own_overlay_action(
    layout: Layout, contract: dict[str, Any]
) -> None:
    """Each point is an overlay action citing both sides' sources."""
    overlay = load_yaml(layout.root / "overlays" / "080-fal-publications.overlay.yaml")
    recorded = [
        a
        for a in overlay["actions"]
        if "x-fal-publications-disagree" in json.dumps(a.get("update", {}))
        or a["target"].endswith("disagree']")
    ]
    assert len(recorded) == len(contract["x-fal-publications-disagree"]) == 5
    for action in recorded:
        assert "Source:" in action["description"] and "types.gen.ts" in action["description"]
