"""fal's own client (fal-client 1.0.3 from PyPI), unchanged, against the mock over a real socket: the
URL bases patched after import as docs/sources.md §3.6 describes, FAL_KEY set to the mock's key."""

from __future__ import annotations

from collections.abc import Iterator

import fal_client
import fal_client.client
import pytest

from kontext_contract.mock import FaultConfig, MockConfig, MockServer

from .conftest import FAL_KEY, MAX_MULTI, T2I

INPUT = {"prompt": "a red fox", "image_urls": ["https://example.com/fox.png"], "seed": 5}


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[MockServer]:
    # the queue wait leaves time to see IN_QUEUE right after submit even on a busy machine
    with MockServer(MockConfig(queue_delay=0.6, processing_delay=0.3)) as running:
        monkeypatch.setattr(fal_client.client, "QUEUE_URL_FORMAT", running.base_url + "/")
        monkeypatch.setattr(fal_client.client, "RUN_URL_FORMAT", running.base_url + "/run/")
        monkeypatch.setenv("FAL_KEY", FAL_KEY)
        yield running


def test_submit_status_result(server: MockServer) -> None:
    client = fal_client.SyncClient()
    handle = client.submit(MAX_MULTI, arguments=INPUT)
    assert handle.status_url.startswith(server.base_url + "/fal-ai/flux-pro/requests/")
    status = handle.status()
    assert isinstance(status, fal_client.Queued) and status.position == 0
    result = handle.get()  # polls status until Completed, then GETs the result
    assert result["seed"] == 5 and result["prompt"] == INPUT["prompt"]
    assert result["images"][0]["url"].startswith(server.base_url + "/_mock/files/")
    completed = client.status(MAX_MULTI, handle.request_id, with_logs=True)
    assert isinstance(completed, fal_client.Completed)
    assert completed.metrics["inference_time"] == pytest.approx(0.3)
    assert completed.logs and {"message", "level", "source", "timestamp"} <= set(completed.logs[0])
    assert client.result(MAX_MULTI, handle.request_id) == result
    assert server.state.stats()["submits"] == {MAX_MULTI: 1}


def test_cancel(server: MockServer) -> None:
    client = fal_client.SyncClient()
    handle = client.submit(T2I, arguments={"prompt": "p"})
    client.cancel(T2I, handle.request_id)
    status = handle.status()
    assert isinstance(status, fal_client.Completed)
    assert status.error and status.error_type == "request_cancelled"
    with pytest.raises(fal_client.client.FalClientHTTPError) as raised:
        handle.cancel()  # already completed: 400 ALREADY_COMPLETED
    assert raised.value.status_code == 400


def test_subscribe_with_logs_and_queue_updates(server: MockServer) -> None:
    updates: list[fal_client.Status] = []
    client = fal_client.SyncClient()
    result = client.subscribe(MAX_MULTI, arguments=INPUT, with_logs=True, on_queue_update=updates.append)
    kinds = [type(u).__name__ for u in updates]
    assert kinds[0] == "Queued" and kinds[-1] == "Completed" and "InProgress" in kinds
    in_progress = [u for u in updates if isinstance(u, fal_client.InProgress)]
    assert all(isinstance(u.logs, list) for u in in_progress)
    assert result["images"] and result["has_nsfw_concepts"] == [False]


def test_run(server: MockServer) -> None:
    result = fal_client.SyncClient().run(T2I, arguments={"prompt": "p", "aspect_ratio": "16:9"})
    assert (result["images"][0]["width"], result["images"][0]["height"]) == (1376, 768)
    assert server.state.stats()["runs"] == {T2I: 1}


def test_invalid_input_raises_with_the_422_detail(server: MockServer) -> None:
    with pytest.raises(fal_client.client.FalClientHTTPError) as raised:
        fal_client.SyncClient().run(T2I, arguments={"prompt": "p", "num_images": 9})
    assert raised.value.status_code == 422


def test_fal_client_retries_ingress_faults_without_submitting_twice(monkeypatch: pytest.MonkeyPatch) -> None:
    config = MockConfig(faults=FaultConfig(rate_503=0.5, seed=1))
    with MockServer(config) as running:
        monkeypatch.setattr(fal_client.client, "QUEUE_URL_FORMAT", running.base_url + "/")
        monkeypatch.setenv("FAL_KEY", FAL_KEY)
        handle = fal_client.SyncClient().submit(T2I, arguments={"prompt": "p"})
        stats = running.state.stats()
        assert handle.request_id
        assert stats["submits_total"] == 1
        assert stats["faults"].get("503", 0) >= 1
