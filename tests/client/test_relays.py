"""Relays: request URLs on queue.fal.run are rebased onto the relay (or refused), the relay key never
leaves the relay's host, and a relay without a synchronous API says so."""

from __future__ import annotations

import httpx
import pytest

from kontext_contract.client import (
    Endpoint,
    Provider,
    ProviderIncompatibleError,
    QueueStatusCompleted,
)

from .conftest import BASE, FAST_RETRY, INPUTS, Clients, Recorder, asgi, do, mock_app, stats

RELAYS = ["relay-a", "chainhub", "relay-b"]


@pytest.mark.asyncio
@pytest.mark.parametrize("profile", RELAYS)
async def test_relay_urls_are_rebased_and_the_key_stays_home(clients: Clients, profile: str) -> None:
    app = mock_app(profile)
    recorder = Recorder(asgi(app))
    provider = Provider.mock(BASE, profile=profile)
    async with clients.make(provider, transport=recorder, retry=FAST_RETRY) as client:
        for endpoint in Endpoint:
            handle = await do(client.submit(endpoint, INPUTS[endpoint]))
            # the relay answered with https://queue.fal.run/... (its documents say so); we ask the relay
            assert handle.status_url.startswith(BASE + "/")
            status = await do(handle.status())
            assert status.status_url == handle.status_url
            out = await do(client.subscribe(endpoint, INPUTS[endpoint]))
            assert out.prompt == INPUTS[endpoint]["prompt"]
            assert isinstance((await do(handle.status())), QueueStatusCompleted)
            await do(handle.get())
    hosts = {httpx.URL(s.url).host for s in recorder.sent}
    assert hosts == {"mock.test"}, hosts
    assert all(s.authorization == "Bearer mock-relay-key" for s in recorder.sent)
    assert (await stats(app))["submits_total"] == 12


@pytest.mark.asyncio
async def test_relay_with_a_path_prefix_keeps_it() -> None:
    provider = Provider.relay("https://relay.example/api/v1", key="k-123456")
    url, rebased = provider.adopt_url("https://queue.fal.run/fal-ai/flux-1/requests/abc/status?logs=1")
    assert rebased and url == "https://relay.example/api/v1/fal-ai/flux-1/requests/abc/status?logs=1"
    same, rebased = provider.adopt_url("https://relay.example/api/v1/fal-ai/flux-1/requests/abc")
    assert not rebased and same == "https://relay.example/api/v1/fal-ai/flux-1/requests/abc"


@pytest.mark.asyncio
@pytest.mark.parametrize("profile", RELAYS)
async def test_relay_raise_policy_refuses_foreign_urls_before_any_request_there(
    clients: Clients, profile: str
) -> None:
    app = mock_app(profile)
    recorder = Recorder(asgi(app))
    provider = Provider.mock(BASE, profile=profile, on_foreign_url="raise")
    async with clients.make(provider, transport=recorder, retry=FAST_RETRY) as client:
        with pytest.raises(ProviderIncompatibleError) as caught:
            await do(client.submit(Endpoint.KONTEXT, INPUTS[Endpoint.KONTEXT]))
        assert "queue.fal.run" in str(caught.value) and "rebase" in str(caught.value)
    assert [httpx.URL(s.url).host for s in recorder.sent] == ["mock.test"]  # the submit only


@pytest.mark.asyncio
async def test_relays_have_no_synchronous_api(clients: Clients) -> None:
    app = mock_app("relay-a")
    async with clients.on_mock(app, "relay-a") as client:
        with pytest.raises(ProviderIncompatibleError, match="no synchronous API"):
            await do(client.run(Endpoint.KONTEXT, INPUTS[Endpoint.KONTEXT]))


@pytest.mark.asyncio
async def test_relay_end_to_end_polling(clients: Clients) -> None:
    app = mock_app("relay-b", deterministic=True, queue_delay=0.2, processing_delay=0.2)
    async with clients.on_mock(app, "relay-b") as client:
        out = await do(client.subscribe(Endpoint.KONTEXT_MULTI, INPUTS[Endpoint.KONTEXT_MULTI], stream=False))
        assert len(out.images) == 1


@pytest.mark.asyncio
async def test_a_foreign_output_url_gets_no_key(clients: Clients) -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, content=b"not an image", headers={"content-type": "image/png"})

    from kontext_contract.client import ImageContentError

    provider = Provider.relay("https://relay.example", key="relay-secret-key")
    async with clients.over(handler, provider) as client:
        with pytest.raises(ImageContentError):
            await do(client.download_image("https://cdn.example/out.png"))
        with pytest.raises(ImageContentError):
            await do(client.download_image("https://relay.example/files/out.png"))
    assert "authorization" not in seen[0].headers
    assert seen[1].headers["authorization"] == "Bearer relay-secret-key"
