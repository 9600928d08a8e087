"""Fault injection (FaultConfig): 429 with Retry-After, ingress 502/503/504, dropped connections, and the
504 of an exceeded X-Fal-Request-Timeout (docs/sources.md §3.1, §3.2)."""

from __future__ import annotations

import httpx
import pytest

from kontext_contract.mock import FaultConfig, MockConfig, MockConnectionDropped, MockServer

from .conftest import FAL_AUTH, T2I


@pytest.mark.asyncio
async def test_429_with_retry_after(make_client):
    app, client = make_client(faults=FaultConfig(rate_429=1.0, retry_after=7))
    response = await client.post(f"/{T2I}", json={"prompt": "p"})
    assert response.status_code == 429
    assert response.headers["retry-after"] == "7"
    assert isinstance(response.json()["detail"], str)
    assert app.mock.stats()["faults"] == {"429": 1}
    assert app.mock.stats()["submits_total"] == 0


@pytest.mark.asyncio
@pytest.mark.parametrize("status", [502, 503, 504])
async def test_ingress_errors_are_html_without_request_id(make_client, status):
    app, client = make_client(faults=FaultConfig(**{f"rate_{status}": 1.0}))
    for method, path in (("POST", f"/{T2I}"), ("GET", "/fal-ai/flux-pro/requests/x/status")):
        response = await client.request(method, path, json={"prompt": "p"})
        assert response.status_code == status
        assert response.headers["content-type"] == "text/html"
        assert "nginx" in response.text
        assert "x-fal-request-id" not in response.headers
    assert app.mock.stats()["faults"] == {str(status): 2}


@pytest.mark.asyncio
async def test_introspection_is_never_faulted(make_client):
    _app, client = make_client(faults=FaultConfig(rate_503=1.0))
    assert (await client.get("/_mock/stats")).status_code == 200


@pytest.mark.asyncio
async def test_fault_draws_are_seeded(make_client):
    runs = []
    for _ in range(2):
        _app, client = make_client(faults=FaultConfig(rate_429=0.2, rate_503=0.2, seed=3))
        runs.append([(await client.post(f"/{T2I}", json={"prompt": "p"})).status_code for _ in range(30)])
    assert runs[0] == runs[1]
    assert {200, 429, 503} == set(runs[0])


@pytest.mark.asyncio
async def test_dropped_connection_in_process(make_client):
    app, client = make_client(faults=FaultConfig(rate_drop=1.0))
    with pytest.raises(MockConnectionDropped):
        await client.post(f"/{T2I}", json={"prompt": "p"})
    assert app.mock.stats()["faults"] == {"drop": 1}


def test_dropped_connection_over_a_socket():
    # The mock closes the connection before reading the request body. The client then sees either a clean
    # close without a response (RemoteProtocolError) or, when the kernel still holds unread request bytes,
    # a reset (ReadError, ECONNRESET): which one is a matter of timing, and both mean "no answer".
    with MockServer(MockConfig(faults=FaultConfig(rate_drop=1.0))) as server:
        with (
            httpx.Client(base_url=server.base_url, headers=FAL_AUTH) as client,
            pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)),
        ):
            client.post(f"/{T2I}", json={"prompt": "p"})
        assert server.state.stats()["faults"] == {"drop": 1}
        assert server.state.stats()["submits_total"] == 0


@pytest.mark.asyncio
async def test_request_timeout_shorter_than_the_queue_wait(make_client):
    app, client = make_client(deterministic=True, clock_step=0.25, queue_delay=2.0, processing_delay=0.5)
    submitted = await client.post(f"/{T2I}", json={"prompt": "p"}, headers={"X-Fal-Request-Timeout": "1"})
    assert submitted.status_code == 200
    urls = submitted.json()
    assert (await client.get(urls["status_url"])).json()["status"] == "IN_QUEUE"
    for _ in range(4):
        status = await client.get(urls["status_url"])
    body = status.json()
    assert (status.status_code, body["status"], body["error_type"]) == (200, "COMPLETED", "request_timeout")
    result = await client.get(urls["response_url"])
    assert result.status_code == 504
    assert result.headers["x-fal-request-timeout-type"] == "user"
    assert result.headers["x-fal-error-type"] == "request_timeout"
    assert result.json()["error_type"] == "request_timeout"
    assert app.mock.stats()["faults"] == {"request_timeout": 1}


@pytest.mark.asyncio
async def test_request_timeout_long_enough_is_harmless(make_client):
    _app, client = make_client(deterministic=True, clock_step=0.25, queue_delay=0.5)
    urls = (await client.post(f"/{T2I}", json={"prompt": "p"}, headers={"X-Fal-Request-Timeout": "5"})).json()
    for _ in range(3):
        await client.get(urls["status_url"])
    assert (await client.get(urls["response_url"])).status_code == 200


@pytest.mark.asyncio
async def test_request_timeout_on_the_sync_api(make_client):
    _app, client = make_client(deterministic=True, queue_delay=3.0)
    response = await client.post(
        f"/run/{T2I}", json={"prompt": "p"}, headers={"X-Fal-Request-Timeout": "1.5"}
    )
    assert response.status_code == 504
    assert response.headers["x-fal-request-timeout-type"] == "user"
    assert response.json() == {
        "detail": "Request timed out: it did not start within its X-Fal-Request-Timeout of 1.5 seconds",
        "error_type": "request_timeout",
    }


@pytest.mark.asyncio
@pytest.mark.parametrize("value", ["abc", "-1", "0", "nan", "inf"])
async def test_unusable_timeout_headers_are_ignored(make_client, value):
    _app, client = make_client(deterministic=True, queue_delay=3.0)
    response = await client.post(
        f"/run/{T2I}", json={"prompt": "p"}, headers={"X-Fal-Request-Timeout": value}
    )
    assert response.status_code == 200


def test_rates_are_probabilities():
    with pytest.raises(ValueError, match="rate_429"):
        FaultConfig(rate_429=1.5)
    with pytest.raises(ValueError, match="provider"):
        MockConfig(provider="nope")


def test_unknown_request_ids_with_control_characters_get_an_answer_over_a_socket():
    # the id is echoed into x-fal-request-id only when it is a plain token; a CR in a header would make
    # the server drop the connection instead of answering
    with (
        MockServer(MockConfig()) as server,
        httpx.Client(base_url=server.base_url, headers=FAL_AUTH) as client,
    ):
        for raw in ("%0D", "a%0Ab", "%7F", "x%20y"):
            response = client.get(f"/fal-ai/flux-pro/requests/{raw}/status")
            assert response.status_code == 404, raw
            assert "x-fal-request-id" not in response.headers
        plain = client.get("/fal-ai/flux-pro/requests/plain-id/status")
        assert plain.headers["x-fal-request-id"] == "plain-id"
