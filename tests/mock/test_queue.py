"""Queue semantics of docs/sources.md §3.1: submit, status, logs, result, cancel, status stream, eviction, stats."""

from __future__ import annotations

import asyncio
import json

import pytest

from .conftest import BASE, EDIT, MAX_MULTI, T2I, poll_until_completed

pytestmark = pytest.mark.asyncio

# exact binary fractions, so the virtual clock has no rounding: submit at 0.25, start at 0.75, end at 1.25
TIMING = {"deterministic": True, "clock_step": 0.25, "queue_delay": 0.5, "processing_delay": 0.5}
MULTI_INPUT = {
    "prompt": "a cat and a hat",
    "image_urls": ["https://example.com/a.png", "https://example.com/b.png"],
}


async def test_submit_answers_in_queue_with_urls_on_own_base(make_client):
    _app, client = make_client(**TIMING)
    response = await client.post(f"/{MAX_MULTI}", json=MULTI_INPUT)
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "IN_QUEUE"
    assert body["queue_position"] == 0
    rid = body["request_id"]
    assert response.headers["x-fal-request-id"] == rid
    # request URLs use only owner/app (docs/sources.md §3.1), on the mock's own base
    assert body["response_url"] == f"{BASE}/fal-ai/flux-pro/requests/{rid}"
    assert body["status_url"] == f"{BASE}/fal-ai/flux-pro/requests/{rid}/status"
    assert body["cancel_url"] == f"{BASE}/fal-ai/flux-pro/requests/{rid}/cancel"
    assert "logs" not in body and "metrics" not in body


async def test_status_moves_through_the_queue_202_then_200(make_client):
    _app, client = make_client(**TIMING)
    submitted = (await client.post(f"/{MAX_MULTI}", json=MULTI_INPUT)).json()
    seen = []
    for _ in range(4):
        response = await client.get(submitted["status_url"])
        body = response.json()
        seen.append((response.status_code, body["status"]))
        assert body["logs"] is None  # not asked for
        assert ("queue_position" in body) == (body["status"] == "IN_QUEUE")
        assert ("metrics" in body) == (body["status"] == "COMPLETED")
    assert seen == [(202, "IN_QUEUE"), (202, "IN_PROGRESS"), (202, "IN_PROGRESS"), (200, "COMPLETED")]
    assert body["metrics"]["inference_time"] == pytest.approx(0.5)
    assert "error" not in body


@pytest.mark.parametrize("flag", ["1", "true", "TRUE"])
async def test_logs_when_asked(make_client, flag):
    _app, client = make_client(**TIMING)
    submitted = (await client.post(f"/{MAX_MULTI}", json=MULTI_INPUT)).json()
    completed = None
    for _ in range(4):
        completed = (await client.get(submitted["status_url"], params={"logs": flag})).json()
    assert completed is not None and completed["status"] == "COMPLETED"
    logs = completed["logs"]
    assert len(logs) >= 2
    for entry in logs:
        assert set(entry) == {"message", "level", "source", "timestamp"}
        assert entry["timestamp"].startswith("2025-01-01T00:00:0")  # deterministic clock
    assert logs == sorted(logs, key=lambda e: e["timestamp"])


@pytest.mark.parametrize("flag", ["0", "false", "no", ""])
async def test_logs_null_unless_asked(make_client, flag):
    _app, client = make_client(**TIMING)
    submitted = (await client.post(f"/{MAX_MULTI}", json=MULTI_INPUT)).json()
    body = (await poll_until_completed(client, submitted["status_url"] + f"?logs={flag}")).json()
    assert body["logs"] is None


async def test_queue_position_counts_requests_ahead(make_client):
    _app, client = make_client(deterministic=True, clock_step=0.25, queue_delay=10.0)
    positions = [
        (await client.post(f"/{T2I}", json={"prompt": str(i)})).json()["queue_position"] for i in range(3)
    ]
    assert positions == [0, 1, 2]


async def test_result_400_before_completion_then_200(make_client):
    _app, client = make_client(**TIMING)
    submitted = (await client.post(f"/{MAX_MULTI}", json=MULTI_INPUT)).json()
    early = await client.get(submitted["response_url"])
    assert early.status_code == 400
    assert early.json()["detail"]
    await poll_until_completed(client, submitted["status_url"])
    result = await client.get(submitted["response_url"])
    assert result.status_code == 200
    assert result.json()["prompt"] == MULTI_INPUT["prompt"]


@pytest.mark.parametrize("suffix", ["", "/status", "/status/stream"])
async def test_unknown_request_404(make_client, suffix):
    _app, client = make_client()
    response = await client.get(f"/fal-ai/flux-pro/requests/no-such-id{suffix}")
    assert response.status_code == 404
    assert response.json() == {"detail": "Request not found"}


async def test_invalid_input_accepted_at_submit_and_422_at_result(make_client):
    _app, client = make_client(**TIMING)
    submitted = await client.post(f"/{EDIT}", json={})
    assert submitted.status_code == 200 and submitted.json()["status"] == "IN_QUEUE"
    status = await poll_until_completed(client, submitted.json()["status_url"])
    assert status.json()["error"]
    result = await client.get(submitted.json()["response_url"])
    assert result.status_code == 422
    locs = [item["loc"] for item in result.json()["detail"]]
    # docs/sources.md §3.2: an empty body to fal-ai/flux-pro/kontext names prompt and image_url
    assert locs == [["body", "prompt"], ["body", "image_url"]]
    assert all(item["type"] == "missing" for item in result.json()["detail"])


async def test_body_that_is_not_json_is_a_422_at_result(make_client):
    _app, client = make_client()
    submitted = await client.post(
        f"/{T2I}", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert submitted.status_code == 200
    result = await client.get(submitted.json()["response_url"])
    assert result.status_code == 422
    assert result.json()["detail"][0]["type"] == "json_invalid"


async def test_cancel_queued_request(make_client):
    app, client = make_client(**TIMING)
    submitted = (await client.post(f"/{MAX_MULTI}", json=MULTI_INPUT)).json()
    cancel = await client.put(submitted["cancel_url"])
    assert (cancel.status_code, cancel.json()) == (202, {"status": "CANCELLATION_REQUESTED"})
    status = await client.get(submitted["status_url"])
    body = status.json()
    # no FAILED status on fal: a cancelled request is COMPLETED with an error (docs/sources.md §3.1)
    assert (status.status_code, body["status"]) == (200, "COMPLETED")
    assert body["error"] and body["error_type"] == "request_cancelled"
    result = await client.get(submitted["response_url"])
    assert result.status_code == 400
    again = await client.put(submitted["cancel_url"])
    assert (again.status_code, again.json()) == (400, {"status": "ALREADY_COMPLETED"})
    assert app.mock.stats()["calls"]["cancel"] == 2


async def test_cancel_in_progress_request(make_client):
    _app, client = make_client(**TIMING)
    submitted = (await client.post(f"/{MAX_MULTI}", json=MULTI_INPUT)).json()
    await client.get(submitted["status_url"])
    assert (await client.get(submitted["status_url"])).json()["status"] == "IN_PROGRESS"
    assert (await client.put(submitted["cancel_url"])).status_code == 202
    assert (await client.get(submitted["status_url"])).json()["status"] == "COMPLETED"


async def test_cancel_completed_and_unknown(make_client):
    _app, client = make_client()
    submitted = (await client.post(f"/{MAX_MULTI}", json=MULTI_INPUT)).json()
    completed = await client.put(submitted["cancel_url"])
    assert (completed.status_code, completed.json()) == (400, {"status": "ALREADY_COMPLETED"})
    unknown = await client.put("/fal-ai/flux-pro/requests/nope/cancel")
    assert (unknown.status_code, unknown.json()) == (404, {"status": "NOT_FOUND"})


async def test_built_endpoint_path_request_urls_are_405(make_client):
    _app, client = make_client()
    rid = (await client.post(f"/{MAX_MULTI}", json=MULTI_INPUT)).json()["request_id"]
    # docs/sources.md §3.1: building /fal-ai/flux-pro/kontext/max/requests/{id}/status was seen to give 405
    for url in (
        f"/fal-ai/flux-pro/kontext/max/requests/{rid}/status",
        f"/fal-ai/flux-pro/kontext/max/requests/{rid}",
    ):
        response = await client.get(url)
        assert response.status_code == 405, url


async def test_fal_serves_request_urls_only_under_its_app(make_client):
    _app, client = make_client()
    rid = (await client.post(f"/{MAX_MULTI}", json=MULTI_INPUT)).json()["request_id"]
    assert (await client.get(f"/fal-ai/flux-pro/requests/{rid}/status")).status_code == 200
    assert (await client.get(f"/fal-ai/flux-1/requests/{rid}/status")).status_code == 404


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("POST", "/fal-ai/flux-pro/requests/x/status", "GET, HEAD"),
        ("GET", "/fal-ai/flux-pro/requests/x/cancel", "PUT"),
        ("PUT", "/fal-ai/flux-pro/requests/x", "GET, HEAD"),
        ("DELETE", "/fal-ai/flux-pro/requests/x/status/stream", "GET, HEAD"),
        ("GET", f"/{MAX_MULTI}", "POST"),
        ("PATCH", f"/run/{MAX_MULTI}", "POST"),
        ("POST", "/_mock/stats", "GET, HEAD"),
    ],
)
async def test_wrong_method_405(make_client, method, path, allow):
    _app, client = make_client()
    response = await client.request(method, path)
    assert response.status_code == 405
    assert response.json() == {"detail": "Method Not Allowed"}
    assert response.headers["allow"] == allow  # RFC 9110 §15.5.6


async def test_unknown_endpoint_404(make_client):
    _app, client = make_client()
    response = await client.post("/fal-ai/flux-pro/kontext/ultra", json={"prompt": "x"})
    assert response.status_code == 404
    assert "detail" in response.json()


def _events(text: str) -> tuple[list[dict[str, object]], int]:
    events = [json.loads(line[len("data: ") :]) for line in text.splitlines() if line.startswith("data: ")]
    pings = sum(1 for line in text.splitlines() if line == ": ping")
    return events, pings


async def test_status_stream_deterministic(make_client):
    _app, client = make_client(**TIMING)
    submitted = (await client.post(f"/{MAX_MULTI}", json=MULTI_INPUT)).json()
    response = await client.get(submitted["status_url"] + "/stream", params={"logs": "1"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    events, _pings = _events(response.text)
    assert [e["status"] for e in events] == ["IN_QUEUE", "IN_PROGRESS", "COMPLETED"]
    assert isinstance(events[-1]["logs"], list) and events[-1]["logs"]
    assert events[-1]["metrics"] == {"inference_time": 0.5}


async def test_status_stream_real_clock_pings_and_closes(make_client):
    _app, client = make_client(queue_delay=0.3, processing_delay=0.3, sse_ping_interval=0.05)
    submitted = (await client.post(f"/{T2I}", json={"prompt": "x"})).json()
    response = await asyncio.wait_for(client.get(submitted["status_url"] + "/stream"), timeout=5)
    events, pings = _events(response.text)
    assert [e["status"] for e in events][-1] == "COMPLETED"
    assert {"IN_QUEUE", "IN_PROGRESS"} <= {e["status"] for e in events}
    assert events[0]["logs"] is None
    assert pings >= 1


async def test_status_stream_of_completed_request_is_one_event(make_client):
    _app, client = make_client()
    submitted = (await client.post(f"/{T2I}", json={"prompt": "x"})).json()
    events, _ = _events((await client.get(submitted["status_url"] + "/stream")).text)
    assert [e["status"] for e in events] == ["COMPLETED"]


async def test_real_clock_delays(make_client):
    _app, client = make_client(queue_delay=0.4, processing_delay=0.1)
    submitted = (await client.post(f"/{T2I}", json={"prompt": "x"})).json()
    assert (await client.get(submitted["status_url"])).json()["status"] == "IN_QUEUE"
    await asyncio.sleep(0.6)
    assert (await client.get(submitted["status_url"])).status_code == 200


async def test_deterministic_mode_is_reproducible(make_client):
    answers = []
    for _ in range(2):
        _app, client = make_client(**TIMING)
        submitted = (await client.post(f"/{T2I}", json={"prompt": "same"})).json()
        await poll_until_completed(client, submitted["status_url"])
        result = (await client.get(submitted["response_url"])).json()
        answers.append((submitted["request_id"], result["seed"], result["images"][0]["url"]))
    assert answers[0] == answers[1]
    assert answers[0][0] == "00000000-0000-4000-8000-000000000001"


async def test_finished_requests_evicted_after_ttl(make_client):
    app, client = make_client(deterministic=True, clock_step=0.25, request_ttl=1.0)
    submitted = (await client.post(f"/{T2I}", json={"prompt": "x"})).json()
    assert (await client.get(submitted["status_url"])).status_code == 200
    for _ in range(4):
        await client.get("/fal-ai/flux-pro/requests/other/status")
    assert (await client.get(submitted["status_url"])).status_code == 404
    assert app.mock.stats()["evicted"] == 1


async def test_max_requests_bounds_memory(make_client):
    app, client = make_client(deterministic=True, max_requests=3, queue_delay=100.0)
    ids = [(await client.post(f"/{T2I}", json={"prompt": str(i)})).json()["request_id"] for i in range(5)]
    assert len(app.mock.requests) == 3
    assert (await client.get(f"/fal-ai/flux-pro/requests/{ids[0]}/status")).status_code == 404
    assert (await client.get(f"/fal-ai/flux-pro/requests/{ids[-1]}/status")).status_code == 202


async def test_stats(make_client):
    _app, client = make_client(deterministic=True, clock_step=0.25, queue_delay=100.0)
    await client.post(f"/run/{T2I}", json={"prompt": "z"})  # waits through the queue delay first
    await client.post(f"/{T2I}", json={"prompt": "x"})
    await client.post(f"/{T2I}", json={"prompt": "y"})
    await client.post(f"/{MAX_MULTI}", json=MULTI_INPUT)
    stats = (await client.get("/_mock/stats", headers={"Authorization": ""})).json()
    assert stats["submits"] == {T2I: 2, MAX_MULTI: 1}
    assert stats["submits_total"] == 3
    assert stats["runs"] == {T2I: 1}
    assert stats["requests"] == {"IN_QUEUE": 3, "IN_PROGRESS": 0, "COMPLETED": 0}
    assert stats["faults"] == {}
    assert stats["webhooks"] == {"sent": 0, "failed": 0, "refused": 0}


async def test_queue_position_skips_cancelled_requests_and_runs(make_client):
    """A cancelled request ahead has left the queue, a synchronous run never joined it, and a request whose
    X-Fal-Request-Timeout passed has left it too: none of them count (docs/sources.md §3.1)."""
    _app, client = make_client(deterministic=True, clock_step=0.25, queue_delay=10.0)
    first = (await client.post(f"/{T2I}", json={"prompt": "a"})).json()
    # a run takes an id too; its 0.01 s deadline keeps the virtual clock from moving the queue along
    run = await client.post(f"/run/{T2I}", json={"prompt": "sync"}, headers={"X-Fal-Request-Timeout": "0.01"})
    assert run.status_code == 504
    timing_out = await client.post(f"/{T2I}", json={"prompt": "b"}, headers={"X-Fal-Request-Timeout": "1"})
    assert timing_out.json()["queue_position"] == 1
    third = (await client.post(f"/{T2I}", json={"prompt": "c"})).json()
    assert third["queue_position"] == 2
    assert (await client.put(first["cancel_url"])).status_code == 202
    for _ in range(4):  # past the 1 s timeout of the second request (0.25 s a request)
        status = (await client.get(third["status_url"])).json()
    assert status["queue_position"] == 0
    fourth = (await client.post(f"/{T2I}", json={"prompt": "d"})).json()
    assert fourth["queue_position"] == 1
