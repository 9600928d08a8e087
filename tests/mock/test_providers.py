"""Provider emulation: each profile behaves as its document's ``x-provider`` says, including what it gets
wrong (foreign queue URLs, the wrong app, extra submit fields, no synchronous API), and auth (docs/sources.md §3.4)."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from kontext_contract.mock import DEFAULT_KEYS

from .conftest import EDIT, FAL_KEY, MAX_MULTI, RELAY_KEY, T2I, provider_document

pytestmark = pytest.mark.asyncio

RELAYS = ["relay-a", "chainhub", "relay-b"]


@pytest.mark.parametrize("provider", RELAYS)
async def test_relay_queue_urls_follow_the_document(make_client, provider):
    facts = provider_document(provider)["info"]["x-provider"]["queue_urls"]
    _app, client = make_client(provider=provider)
    body = (
        await client.post(f"/{MAX_MULTI}", json={"prompt": "p", "image_urls": ["https://e.x/a.png"]})
    ).json()
    rid = body["request_id"]
    assert body["status_url"] == f"{facts['host']}/{facts['app']}/requests/{rid}/status"
    assert body["response_url"] == f"{facts['host']}/{facts['app']}/requests/{rid}"
    # a client that rebases the foreign URLs onto the relay's base gets answers from the mock
    for url in (body["status_url"], body["response_url"]):
        rebased = urlsplit(url).path
        response = await client.get(rebased)
        assert response.status_code == 200, rebased
    assert (await client.get(f"/any-owner/any-app/requests/{rid}/status")).status_code == 200


async def test_relay_a_and_b_hand_out_the_wrong_app():
    for provider in ("relay-a", "relay-b"):
        assert provider_document(provider)["info"]["x-provider"]["queue_urls"]["app"] == "fal-ai/flux-1"


async def test_chainhub_adds_its_extra_submit_fields(make_client):
    _app, client = make_client(provider="chainhub")
    body = (
        await client.post(f"/{MAX_MULTI}", json={"prompt": "p", "image_urls": ["https://e.x/a.png"]})
    ).json()
    assert body["logs"] is None and body["metrics"] == {}
    _app, fal = make_client(provider="fal")
    plain = (
        await fal.post(f"/{MAX_MULTI}", json={"prompt": "p", "image_urls": ["https://e.x/a.png"]})
    ).json()
    assert "logs" not in plain and "metrics" not in plain


@pytest.mark.parametrize("provider", RELAYS)
async def test_relays_have_no_sync_api(make_client, provider):
    _app, client = make_client(provider=provider)
    response = await client.post(f"/run/{T2I}", json={"prompt": "p"})
    assert response.status_code == 404


async def test_fal_sync_api_at_the_contracts_run_server(make_client):
    _app, client = make_client()
    # the contract's run server https://fal.run/fal-ai/flux-pro + /kontext -> base + /run/fal-ai/flux-pro/kontext
    response = await client.post(f"/run/{EDIT}", json={"prompt": "p", "image_url": "https://e.x/a.png"})
    assert response.status_code == 200
    assert response.headers["x-fal-request-id"]
    assert (await client.get(f"/run/{EDIT}")).status_code == 405


@pytest.mark.parametrize(
    ("header", "detail"),
    [
        (None, "No user found for Key ID and Secret"),
        ("Key wrong-id:wrong-secret", "No user found for Key ID and Secret"),
        (f"Bearer {FAL_KEY}", "No user found for Key ID and Secret"),
        ("Key no-colon-here", "Invalid Key Authorization header format. Expected '<key_id>:<key_secret>'."),
    ],
)
async def test_fal_auth_401(make_client, header, detail):
    _app, client = make_client()
    headers = {"Authorization": header} if header else {}
    client.headers.pop("Authorization")
    for method, path in (
        ("POST", f"/{T2I}"),
        ("GET", "/fal-ai/flux-pro/requests/x/status"),
        ("POST", f"/run/{T2I}"),
    ):
        response = await client.request(method, path, headers=headers, json={"prompt": "p"})
        assert (response.status_code, response.json()) == (401, {"detail": detail})


@pytest.mark.parametrize("provider", RELAYS)
async def test_relay_auth_is_bearer(make_client, provider):
    _app, client = make_client(provider=provider)
    assert (await client.post(f"/{T2I}", json={"prompt": "p"})).status_code == 200
    for header in (f"Key {RELAY_KEY}", "Bearer wrong", ""):
        response = await client.post(f"/{T2I}", json={"prompt": "p"}, headers={"Authorization": header})
        assert response.status_code == 401
        assert isinstance(response.json()["detail"], str)


async def test_the_key_never_appears_in_answers_or_reprs(make_client):
    secret = "sk-live-0123456789abcdef"
    app, client = make_client(key=f"id:{secret}")
    client.headers["Authorization"] = f"Key id:{secret}"
    texts = []
    texts.append((await client.post(f"/{T2I}", json={"prompt": "p"})).text)
    texts.append((await client.post(f"/{T2I}", json={}, headers={"Authorization": "Key id:wrong"})).text)
    texts.append((await client.post(f"/{T2I}", json={"prompt": secret[:3]})).text)
    texts.append((await client.get("/_mock/stats")).text)
    texts.append(repr(app.config))
    assert not any(secret in text for text in texts)


async def test_default_keys_per_scheme():
    assert DEFAULT_KEYS == {"Key": "mock-key-id:mock-key-secret", "Bearer": "mock-relay-key"}
