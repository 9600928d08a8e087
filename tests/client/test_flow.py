"""Every method of both clients on every endpoint, against the mock (fal profile, in-process)."""

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

from .conftest import INPUTS, Clients, collect, do, mock_app, model_input, stats

ENDPOINTS = list(Endpoint)
# deterministic: the virtual clock advances 0.1 s per request the mock handles, so a request is seen
# IN_QUEUE, then IN_PROGRESS, then COMPLETED without sleeping
TIMED = {"deterministic": True, "queue_delay": 0.25, "processing_delay": 0.25}


def expected_output(endpoint: Endpoint) -> type:
    return KontextEditOutput if endpoint in (Endpoint.KONTEXT, Endpoint.KONTEXT_MAX) else KontextOutput


@pytest.mark.asyncio
@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=[e.name for e in ENDPOINTS])
async def test_every_method(clients: Clients, endpoint: Endpoint) -> None:
    app = mock_app(**TIMED)
    async with clients.on_mock(app) as client:
        handle = await do(client.submit(endpoint, INPUTS[endpoint]))
        assert handle.endpoint_id == endpoint.value
        assert handle.status_url.startswith("http://mock.test/fal-ai/flux-pro/requests/")
        assert type(handle).__name__ == ("AsyncRequestHandle" if clients.is_async else "RequestHandle")
        first = await do(handle.status(with_logs=True))
        assert isinstance(first, QueueStatusInQueue | QueueStatusInProgress)
        with pytest.raises(NotCompletedError) as not_yet:
            await do(handle.result())
        assert not_yet.value.status_code == 400
        assert not_yet.value.request_id == handle.request_id
        events = await collect(handle.iter_events(with_logs=True, stream=False))
        assert isinstance(events[-1], QueueStatusCompleted)
        assert {type(e) for e in events[:-1]} <= {QueueStatusInQueue, QueueStatusInProgress}
        out = await do(handle.get())
        assert type(out) is expected_output(endpoint) is catalog().get(endpoint).output_model
        assert (await do(handle.result())).to_dict() == out.to_dict()
        assert isinstance(await do(client.status(endpoint, handle.request_id)), QueueStatusCompleted)
        assert (await do(client.result(endpoint, handle.request_id))).to_dict() == out.to_dict()
        assert await do(client.cancel(endpoint, handle.request_id)) == "ALREADY_COMPLETED"
        assert await do(handle.cancel()) == "ALREADY_COMPLETED"
        assert client.get_handle(endpoint, handle.request_id).request_id == handle.request_id

        streamed = await collect(client.stream_status(endpoint, handle.request_id, with_logs=True))
        assert isinstance(streamed[-1], QueueStatusCompleted)
        streamed = await collect(handle.stream_status())
        assert isinstance(streamed[-1], QueueStatusCompleted)

        updates: list[object] = []
        enqueued: list[str] = []
        sub = await do(
            client.subscribe(
                endpoint,
                model_input(endpoint),
                with_logs=True,
                on_enqueue=enqueued.append,
                on_queue_update=updates.append,
            )
        )
        assert type(sub) is expected_output(endpoint)
        assert len(enqueued) == 1 and isinstance(updates[-1], QueueStatusCompleted)
        polled = await do(client.subscribe(endpoint, INPUTS[endpoint], stream=False))
        assert type(polled) is expected_output(endpoint)
        ran = await do(client.run(endpoint, model_input(endpoint)))
        assert type(ran) is expected_output(endpoint)
        assert ran.prompt == INPUTS[endpoint]["prompt"]
        with pytest.raises(NotFoundError):
            await do(client.status(endpoint, "no-such-request"))
        with pytest.raises(NotFoundError):
            await do(client.result(endpoint, "no-such-request"))
    counted = await stats(app)
    assert counted["submits"] == {endpoint.value: 3}
    assert counted["runs"] == {endpoint.value: 1}


@pytest.mark.asyncio
async def test_subscribe_sees_queue_positions_and_logs_on_the_stream(clients: Clients) -> None:
    app = mock_app(deterministic=True, queue_delay=0.5, processing_delay=0.5)
    async with clients.on_mock(app) as client:
        ahead = [
            await do(client.submit(Endpoint.KONTEXT_TEXT_TO_IMAGE, {"prompt": f"p{i}"})) for i in range(3)
        ]
        updates: list[object] = []
        out = await do(
            client.subscribe(
                Endpoint.KONTEXT_TEXT_TO_IMAGE,
                {"prompt": "mine"},
                with_logs=True,
                on_queue_update=updates.append,
            )
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
            await do(handle.get())
    counted = await stats(app)
    assert counted["calls"].get("stream", 0) >= 1
    assert counted["calls"].get("status", 0) == 0  # the stream, not polling
