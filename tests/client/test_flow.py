"""Every method, sync and async, on every endpoint, against the mock (fal profile, in-process)."""

from __future__ import annotations

import pytest

from kontext_contract.client import (
    Endpoint,
    KontextEditOutput,
    KontextOutput,
    NotCompletedError,
    NotFoundError,
    QueueStatusCompleted,
    QueueStatusInProgress,
    QueueStatusInQueue,
    catalog,
)

from .conftest import INPUTS, async_client, mock_app, model_input, stats, sync_client

ENDPOINTS = list(Endpoint)
# deterministic: the virtual clock advances 0.1 s per request the mock handles, so a request is seen
# IN_QUEUE, then IN_PROGRESS, then COMPLETED without sleeping
TIMED = {"deterministic": True, "queue_delay": 0.25, "processing_delay": 0.25}


def expected_output(endpoint: Endpoint) -> type:
    return KontextEditOutput if endpoint in (Endpoint.KONTEXT, Endpoint.KONTEXT_MAX) else KontextOutput


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=[e.name for e in ENDPOINTS])
def test_sync_every_method(endpoint: Endpoint) -> None:
    app = mock_app(**TIMED)
    with sync_client(app) as client:
        handle = client.submit(endpoint, INPUTS[endpoint])
        assert handle.endpoint_id == endpoint.value
        assert handle.status_url.startswith("http://mock.test/fal-ai/flux-pro/requests/")
        first = handle.status(with_logs=True)
        assert isinstance(first, QueueStatusInQueue | QueueStatusInProgress)
        with pytest.raises(NotCompletedError) as not_yet:
            handle.result()
        assert not_yet.value.status_code == 400
        assert not_yet.value.request_id == handle.request_id
        events = list(handle.iter_events(with_logs=True, stream=False))
        assert isinstance(events[-1], QueueStatusCompleted)
        assert {type(e) for e in events[:-1]} <= {QueueStatusInQueue, QueueStatusInProgress}
        out = handle.get()
        assert type(out) is expected_output(endpoint) is catalog().get(endpoint).output_model
        assert handle.result().to_dict() == out.to_dict()
        assert isinstance(client.status(endpoint, handle.request_id), QueueStatusCompleted)
        assert client.result(endpoint, handle.request_id).to_dict() == out.to_dict()
        assert client.cancel(endpoint, handle.request_id) == "ALREADY_COMPLETED"
        assert handle.cancel() == "ALREADY_COMPLETED"

        streamed = list(client.stream_status(endpoint, handle.request_id))
        assert isinstance(streamed[-1], QueueStatusCompleted)

        updates: list[object] = []
        enqueued: list[str] = []
        sub = client.subscribe(
            endpoint,
            model_input(endpoint),
            with_logs=True,
            on_enqueue=enqueued.append,
            on_queue_update=updates.append,
        )
        assert type(sub) is expected_output(endpoint)
        assert len(enqueued) == 1 and isinstance(updates[-1], QueueStatusCompleted)
        polled = client.subscribe(endpoint, INPUTS[endpoint], stream=False)
        assert type(polled) is expected_output(endpoint)
        ran = client.run(endpoint, INPUTS[endpoint])
        assert type(ran) is expected_output(endpoint)
        assert ran.prompt == INPUTS[endpoint]["prompt"]
        with pytest.raises(NotFoundError):
            client.status(endpoint, "no-such-request")


@pytest.mark.asyncio
@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=[e.name for e in ENDPOINTS])
async def test_async_every_method(endpoint: Endpoint) -> None:
    app = mock_app(**TIMED)
    async with async_client(app) as client:
        handle = await client.submit(endpoint, model_input(endpoint))
        first = await handle.status(with_logs=True)
        assert isinstance(first, QueueStatusInQueue | QueueStatusInProgress)
        with pytest.raises(NotCompletedError):
            await handle.result()
        events = [e async for e in handle.iter_events(stream=False)]
        assert isinstance(events[-1], QueueStatusCompleted)
        out = await handle.get()
        assert type(out) is expected_output(endpoint)
        assert (await handle.result()).to_dict() == out.to_dict()
        assert isinstance(await client.status(endpoint, handle.request_id), QueueStatusCompleted)
        assert (await client.result(endpoint, handle.request_id)).to_dict() == out.to_dict()
        assert await client.cancel(endpoint, handle.request_id) == "ALREADY_COMPLETED"
        assert await handle.cancel() == "ALREADY_COMPLETED"
        assert client.get_handle(endpoint, handle.request_id).request_id == handle.request_id

        streamed = [s async for s in client.stream_status(endpoint, handle.request_id, with_logs=True)]
        assert isinstance(streamed[-1], QueueStatusCompleted)
        streamed = [s async for s in handle.stream_status()]
        assert isinstance(streamed[-1], QueueStatusCompleted)

        updates: list[object] = []
        sub = await client.subscribe(
            endpoint, INPUTS[endpoint], with_logs=True, on_queue_update=updates.append
        )
        assert type(sub) is expected_output(endpoint)
        assert isinstance(updates[-1], QueueStatusCompleted)
        assert type(await client.subscribe(endpoint, INPUTS[endpoint], stream=False)) is expected_output(
            endpoint
        )
        ran = await client.run(endpoint, model_input(endpoint))
        assert type(ran) is expected_output(endpoint)
        with pytest.raises(NotFoundError):
            await client.result(endpoint, "no-such-request")
    counted = await stats(app)
    assert counted["submits"] == {endpoint.value: 3}
    assert counted["runs"] == {endpoint.value: 1}


@pytest.mark.asyncio
async def test_subscribe_sees_queue_positions_and_logs_on_the_stream() -> None:
    app = mock_app(deterministic=True, queue_delay=0.5, processing_delay=0.5)
    async with async_client(app) as client:
        ahead = [await client.submit(Endpoint.KONTEXT_TEXT_TO_IMAGE, {"prompt": f"p{i}"}) for i in range(3)]
        updates: list[object] = []
        out = await client.subscribe(
            Endpoint.KONTEXT_TEXT_TO_IMAGE, {"prompt": "mine"}, with_logs=True, on_queue_update=updates.append
        )
        assert out.prompt == "mine"
        kinds = [type(u) for u in updates]
        assert kinds[0] is QueueStatusInQueue and kinds[-1] is QueueStatusCompleted
        assert QueueStatusInProgress in kinds
        positions = [u.queue_position for u in updates if isinstance(u, QueueStatusInQueue)]
        assert positions == sorted(positions, reverse=True)
        final = updates[-1]
        assert isinstance(final, QueueStatusCompleted) and final.logs
        for handle in ahead:
            await handle.get()
    counted = await stats(app)
    assert counted["calls"].get("stream", 0) >= 1
    assert counted["calls"].get("status", 0) == 0  # the stream, not polling
