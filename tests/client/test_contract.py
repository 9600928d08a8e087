"""Typed in, typed out: the endpoint ids and models come from the contract, inputs are checked against
its JSON Schema before anything is sent, and errors name the field."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import httpx
import pytest

from kontext_contract._layout import Layout
from kontext_contract.client import (
    ConfigurationError,
    Endpoint,
    KontextEditInput,
    KontextMultiInput,
    ValidationError,
    catalog,
)
from kontext_contract.client._endpoints import EDIT_OUTPUT_ENDPOINTS, EditEndpointId, OutputEndpointId
from kontext_contract.contract import ContractModel

from .conftest import Clients, do

ROOT = Path(__file__).resolve().parents[2]


def contract_endpoint_ids() -> set[str]:
    return set(ContractModel.load().endpoints)


def test_endpoint_enum_is_the_contracts_endpoint_ids() -> None:
    """Reports when the typed ``Endpoint`` lags behind the contract (the client works either way)."""
    assert catalog().lagging() == {"only_in_contract": [], "only_in_endpoint": []}
    assert {e.value for e in Endpoint} == contract_endpoint_ids()


def test_static_output_types_agree_with_the_contract() -> None:
    from typing import get_args

    edit = {str(a.value if isinstance(a, Endpoint) else a) for a in get_args(EditEndpointId)}
    other = {str(a.value if isinstance(a, Endpoint) else a) for a in get_args(OutputEndpointId)}
    for endpoint in Endpoint:
        name = catalog().get(endpoint).output_schema
        if name == "KontextEditOutput":
            assert (
                endpoint in EDIT_OUTPUT_ENDPOINTS and endpoint.value in edit and endpoint.value not in other
            )
        else:
            assert name == "KontextOutput"
            assert (
                endpoint not in EDIT_OUTPUT_ENDPOINTS
                and endpoint.value in other
                and endpoint.value not in edit
            )


@pytest.mark.asyncio
async def test_a_contract_with_an_endpoint_the_enum_lacks_still_works(tmp_path: Path) -> None:
    """A renamed id in the contract: the client starts, serves the new id as a string, reports the lag,
    and refuses only the id the contract no longer has (naming the ones it has)."""
    contract = tmp_path / "kontext.openapi.yaml"
    shutil.copy(Layout(ROOT).contract, contract)
    text = contract.read_text().replace(
        "x-fal-endpoint-id: fal-ai/flux-pro/kontext/max/multi",
        "x-fal-endpoint-id: fal-ai/flux-pro/kontext/ultra",
    )
    contract.write_text(text)
    found = catalog(contract)
    assert found.get("fal-ai/flux-pro/kontext/ultra").output_schema == "KontextOutput"
    assert found.lagging() == {
        "only_in_contract": ["fal-ai/flux-pro/kontext/ultra"],
        "only_in_endpoint": ["fal-ai/flux-pro/kontext/max/multi"],
    }
    with pytest.raises(ConfigurationError, match="kontext/ultra"):
        found.get(Endpoint.KONTEXT_MAX_MULTI)
    for kind in ("sync", "async"):
        async with Clients(kind).over(no_network, contract=contract) as client:
            with pytest.raises(ValidationError, match="image_urls"):
                await do(client.submit("fal-ai/flux-pro/kontext/ultra", {"prompt": "x"}))


def no_network(request: httpx.Request) -> httpx.Response:
    raise AssertionError(f"nothing may be sent for an invalid input, got {request.method} {request.url}")


@pytest.mark.parametrize(
    ("endpoint", "value", "field", "kind"),
    [
        (Endpoint.KONTEXT, {"prompt": "x"}, "image_url", "missing"),
        (Endpoint.KONTEXT_MULTI, {"prompt": "x", "image_url": "u"}, "image_urls", "missing"),
        (Endpoint.KONTEXT_TEXT_TO_IMAGE, {"prompt": "x", "num_images": 9}, "num_images", "less_than_equal"),
        (
            Endpoint.KONTEXT_TEXT_TO_IMAGE,
            {"prompt": "x", "guidance_scale": 0},
            "guidance_scale",
            "greater_than_equal",
        ),
        (Endpoint.KONTEXT_TEXT_TO_IMAGE, {"prompt": "x", "safety_tolerance": 2}, "safety_tolerance", "enum"),
        (Endpoint.KONTEXT_TEXT_TO_IMAGE, {"prompt": "x", "aspect_ratio": "5:4"}, "aspect_ratio", "enum"),
        (Endpoint.KONTEXT_TEXT_TO_IMAGE, {"prompt": 3}, "prompt", "string_type"),
        (Endpoint.KONTEXT_MAX_MULTI, {"prompt": "x", "image_urls": ["a", 1]}, "image_urls.1", "string_type"),
        (Endpoint.KONTEXT_TEXT_TO_IMAGE, {"promt": "x"}, "prompt", "missing"),
    ],
)
@pytest.mark.asyncio
async def test_invalid_inputs_are_refused_before_sending_naming_the_field(
    clients: Clients, endpoint: Endpoint, value: dict[str, Any], field: str, kind: str
) -> None:
    async with clients.over(no_network) as offline:
        with pytest.raises(ValidationError) as caught:
            await do(offline.submit(endpoint, value))
    error = caught.value
    assert error.status_code is None
    assert field in error.fields
    assert any(item["type"] == kind for item in error.detail if isinstance(error.detail, list))
    assert field.split(".")[0] in str(error)


@pytest.mark.asyncio
async def test_an_unknown_field_is_named_with_a_suggestion(clients: Clients) -> None:
    async with clients.over(no_network) as offline:
        with pytest.raises(ValidationError, match="did you mean 'prompt'") as caught:
            await do(offline.run(Endpoint.KONTEXT_TEXT_TO_IMAGE, {"prompt": "x", "promt": "y"}))
    assert caught.value.fields == ["promt"]


@pytest.mark.asyncio
async def test_extra_fields_can_be_allowed(clients: Clients) -> None:
    seen: list[bytes] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.content)
        return httpx.Response(401, json={"detail": "No user found for Key ID and Secret"})

    async with clients.over(handler, allow_extra_fields=True) as client:
        with pytest.raises(Exception, match="401"):
            await do(client.submit(Endpoint.KONTEXT_TEXT_TO_IMAGE, {"prompt": "x", "relay_option": 1}))
    assert b'"relay_option":1' in seen[0]


@pytest.mark.asyncio
async def test_the_wrong_model_for_an_endpoint_is_refused(clients: Clients) -> None:
    async with clients.over(no_network) as offline:
        with pytest.raises(ValidationError, match="takes KontextEditInput, not KontextMultiInput"):
            await do(offline.submit(Endpoint.KONTEXT, KontextMultiInput(image_urls=["u"], prompt="x")))


@pytest.mark.asyncio
async def test_a_model_holding_a_wrong_value_is_still_checked(clients: Clients) -> None:
    model = KontextEditInput(image_url="u", prompt="x", num_images=12)
    async with clients.over(no_network) as offline:
        with pytest.raises(ValidationError, match="num_images"):
            await do(offline.submit(Endpoint.KONTEXT, model))


@pytest.mark.asyncio
async def test_a_long_data_uri_is_not_copied_into_the_error(clients: Clients) -> None:
    async with clients.over(no_network) as offline:
        with pytest.raises(ValidationError) as caught:
            await do(
                offline.submit(
                    Endpoint.KONTEXT, {"prompt": 5, "image_url": "data:image/png;base64," + "A" * 10000}
                )
            )
    assert len(repr(caught.value.detail)) < 2000


@pytest.mark.asyncio
async def test_unknown_endpoint_ids_list_the_known_ones(clients: Clients) -> None:
    async with clients.over(no_network) as offline:
        with pytest.raises(ConfigurationError, match="fal-ai/flux-pro/kontext/max/multi"):
            await do(offline.submit("fal-ai/flux-pro/kontext/ultra", {"prompt": "x"}))


@pytest.mark.asyncio
async def test_validation_can_be_turned_off(clients: Clients) -> None:
    seen: list[bytes] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.content)
        return httpx.Response(
            422, json={"detail": [{"loc": ["body", "image_url"], "msg": "Field required", "type": "missing"}]}
        )

    async with clients.over(handler, validate=False) as client:
        with pytest.raises(ValidationError) as caught:
            await do(client.run(Endpoint.KONTEXT, {"prompt": "x"}))
    assert caught.value.status_code == 422 and caught.value.fields == ["image_url"]
    assert seen == [b'{"prompt":"x"}']
