"""The mock reads endpoints, schemas, defaults and output shapes from the contract: a changed document
changes its behaviour without a change to the mock."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from .conftest import EDIT, T2I, provider_document

pytestmark = pytest.mark.asyncio


def _doc() -> dict[str, Any]:
    return copy.deepcopy(provider_document("fal"))


async def _result(client, endpoint: str, body: dict[str, Any]):
    submitted = await client.post(f"/{endpoint}", json=body)
    assert submitted.status_code == 200
    return await client.get(submitted.json()["response_url"])


async def test_a_tighter_range_in_the_contract_is_enforced(make_client):
    _app, client = make_client()
    assert (await _result(client, T2I, {"prompt": "p", "num_images": 3})).status_code == 200
    doc = _doc()
    doc["components"]["schemas"]["KontextTextToImageInput"]["properties"]["num_images"]["maximum"] = 2
    _app, changed = make_client(document=doc)
    response = await _result(changed, T2I, {"prompt": "p", "num_images": 3})
    assert response.status_code == 422
    item = response.json()["detail"][0]
    assert (item["loc"], item["type"], item["ctx"]) == (["body", "num_images"], "less_than_equal", {"le": 2})


async def test_a_new_enum_value_and_default_in_the_contract_are_followed(make_client):
    doc = _doc()
    schemas = doc["components"]["schemas"]
    schemas["OutputFormat"]["enum"].append("webp")
    schemas["KontextTextToImageInput"]["properties"]["output_format"]["default"] = "webp"
    _app, client = make_client(document=doc)
    output = (await _result(client, T2I, {"prompt": "p"})).json()
    assert output["images"][0]["content_type"] == "image/webp"
    image = await client.get(output["images"][0]["url"])
    assert image.content[:4] == b"RIFF" and image.content[8:12] == b"WEBP"


async def test_a_new_required_field_is_required(make_client):
    doc = _doc()
    edit = doc["components"]["schemas"]["KontextEditInput"]
    edit["properties"]["strength"] = {"type": "number", "minimum": 0, "maximum": 1}
    edit["required"].append("strength")
    _app, client = make_client(document=doc)
    response = await _result(client, EDIT, {"prompt": "p", "image_url": "https://example.com/a.png"})
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "strength"]


async def test_endpoints_come_from_x_fal_endpoint_id(make_client):
    doc = _doc()
    item = copy.deepcopy(doc["paths"]["/fal-ai/flux-pro/kontext/text-to-image"])
    item["post"]["x-fal-endpoint-id"] = "fal-ai/flux-pro/kontext/new"
    item["post"]["operationId"] = "submitNew"
    doc["paths"]["/fal-ai/flux-pro/kontext/new"] = item
    run = copy.deepcopy(doc["paths"]["/kontext/text-to-image"])
    run["post"]["x-fal-endpoint-id"] = "fal-ai/flux-pro/kontext/new"
    doc["paths"]["/kontext/new"] = run
    del doc["paths"]["/fal-ai/flux-pro/kontext/max"]
    _app, client = make_client(document=doc)
    assert (await client.post("/fal-ai/flux-pro/kontext/new", json={"prompt": "p"})).status_code == 200
    assert (await client.post("/run/fal-ai/flux-pro/kontext/new", json={"prompt": "p"})).status_code == 200
    assert (await client.post("/fal-ai/flux-pro/kontext/max", json={"prompt": "p"})).status_code == 404


async def test_output_fields_follow_the_item_schema(make_client):
    doc = _doc()
    del doc["components"]["schemas"]["ImageFile"]["properties"]["file_size"]
    _app, client = make_client(document=doc)
    output = (
        await client.post(f"/run/{EDIT}", json={"prompt": "p", "image_url": "https://e.x/a.png"})
    ).json()
    assert "file_size" not in output["images"][0]
    assert "width" in output["images"][0]


@pytest.mark.parametrize(
    ("body", "loc", "kind"),
    [
        ({"prompt": "p", "output_format": "gif"}, ["body", "output_format"], "enum"),
        ({"prompt": "p", "safety_tolerance": 2}, ["body", "safety_tolerance"], "enum"),
        ({"prompt": "p", "guidance_scale": 25}, ["body", "guidance_scale"], "less_than_equal"),
        ({"prompt": "p", "guidance_scale": 0.5}, ["body", "guidance_scale"], "greater_than_equal"),
        ({"prompt": "p", "num_images": 1.5}, ["body", "num_images"], "int_type"),
        ({"prompt": "p", "sync_mode": "yes"}, ["body", "sync_mode"], "bool_type"),
        ({"prompt": "p", "aspect_ratio": "5:4"}, ["body", "aspect_ratio"], "enum"),
        ({"prompt": 3}, ["body", "prompt"], "string_type"),
        ([], ["body"], "model_attributes_type"),
    ],
)
async def test_validation_errors_have_the_fastapi_shape(make_client, body, loc, kind):
    _app, client = make_client()
    response = await client.post(f"/run/{T2I}", json=body)
    assert response.status_code == 422
    items = response.json()["detail"]
    assert [(i["loc"], i["type"]) for i in items] == [(loc, kind)]
    assert items[0]["msg"]
