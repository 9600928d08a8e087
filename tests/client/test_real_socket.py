"""Over a real loopback socket (uvicorn): the stream delivers statuses as they happen, a dropped
connection after a submit was sent is ambiguous and not retried, client-side timeouts work, and the
``generate`` command runs end to end."""

from __future__ import annotations

import asyncio
import base64
import io
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner
from PIL import Image

from kontext_contract.client import (
    AmbiguousSubmitError,
    Client,
    Endpoint,
    Provider,
    QueueStatusCompleted,
    QueueStatusInProgress,
    QueueStatusInQueue,
    RetryPolicy,
    Timeouts,
    WaitTimeoutError,
)
from kontext_contract.mock import FaultConfig, MockConfig, MockServer

from .conftest import Clients, collect, do

T2I = Endpoint.KONTEXT_TEXT_TO_IMAGE


@pytest.fixture(scope="module")
def server() -> Iterator[MockServer]:
    with MockServer(MockConfig(queue_delay=0.3, processing_delay=0.3)) as running:
        yield running


@pytest.mark.asyncio
async def test_stream_delivers_each_status_as_it_happens(clients: Clients, server: MockServer) -> None:
    seen: list[tuple[str, float]] = []
    started = time.monotonic()
    async with clients.make(Provider.mock(server.base_url)) as client:
        out = await do(
            client.subscribe(
                T2I,
                {"prompt": "x"},
                with_logs=True,
                on_queue_update=lambda s: seen.append((s.status, time.monotonic())),
            )
        )
        assert out.prompt == "x"
        data = await do(client.download_image(out.images[0]))
        assert Image.open(io.BytesIO(data)).format == "JPEG"
    kinds = [kind for kind, _ in seen]
    assert kinds[0] == "IN_QUEUE" and kinds[-1] == "COMPLETED" and "IN_PROGRESS" in kinds
    first_progress = next(t for kind, t in seen if kind == "IN_PROGRESS")
    assert first_progress - started >= 0.25  # incremental, not buffered to the end
    assert seen[-1][1] - started < 3.0


@pytest.mark.asyncio
async def test_every_call_over_the_socket(clients: Clients, server: MockServer) -> None:
    async with clients.make(Provider.mock(server.base_url)) as client:
        handle = await do(
            client.submit(Endpoint.KONTEXT_MULTI, {"prompt": "x", "image_urls": ["https://e.x/a.png"]})
        )
        statuses = await collect(handle.iter_events(with_logs=True))
        assert isinstance(statuses[0], QueueStatusInQueue | QueueStatusInProgress)
        assert isinstance(statuses[-1], QueueStatusCompleted)
        prompts = [f"p{i}" for i in range(20 if clients.is_async else 3)]
        if clients.is_async:  # concurrently
            outs = await asyncio.gather(*(client.subscribe(T2I, {"prompt": p}) for p in prompts))
        else:
            outs = [client.subscribe(T2I, {"prompt": p}) for p in prompts]
        assert [o.prompt for o in outs] == prompts
        ran = await do(client.run(T2I, {"prompt": "sync"}))
        assert ran.prompt == "sync"


@pytest.mark.asyncio
async def test_a_drop_after_sending_a_submit_is_not_retried(clients: Clients) -> None:
    config = MockConfig(faults=FaultConfig(rate_drop=1.0))
    with MockServer(config) as dropping:
        async with clients.make(Provider.mock(dropping.base_url)) as client:
            with pytest.raises(AmbiguousSubmitError):
                await do(client.submit(T2I, {"prompt": "x"}))
        assert dropping.state.stats()["submits_total"] == 0
        assert dropping.state.stats()["faults"]["drop"] == 1  # one attempt, no retry


@pytest.mark.asyncio
async def test_connection_refused_is_retried_then_reported(clients: Clients) -> None:
    policy = RetryPolicy(max_attempts=3, base_delay=0.01, max_delay=0.01)
    async with clients.make(Provider.mock("http://127.0.0.1:9"), retry=policy) as client:
        started = time.monotonic()
        with pytest.raises(Exception, match="3 attempts") as caught:
            await do(client.submit(T2I, {"prompt": "x"}))
        assert time.monotonic() - started < 5
        assert "ConnectError" in str(caught.value)


@pytest.mark.asyncio
async def test_a_silent_stream_times_out_on_the_client(clients: Clients) -> None:
    config = MockConfig(queue_delay=30.0, sse_ping_interval=60.0)
    timeouts = Timeouts(stream=0.2)
    with MockServer(config) as quiet:
        async with clients.make(Provider.mock(quiet.base_url), timeouts=timeouts) as client:
            started = time.monotonic()
            with pytest.raises(WaitTimeoutError) as caught:
                await do(client.subscribe(T2I, {"prompt": "x"}, timeout=1.0))
            assert 0.9 <= time.monotonic() - started < 5
            assert caught.value.cancelled


def test_generate_command_end_to_end(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from kontext_contract.cli._generate import command as generate_command

    monkeypatch.setenv("FAL_KEY", "mock-key-id:mock-key-secret")
    source = tmp_path / "in.png"
    Image.new("RGB", (8, 8), "red").save(source)
    with MockServer(MockConfig(queue_delay=0.4, processing_delay=0.3)) as slow:
        # hold the queue so the command shows a position
        with Client(Provider.mock(slow.base_url)) as client:
            client.submit(T2I, {"prompt": "ahead"})
        result = CliRunner().invoke(
            generate_command,
            [
                "make it blue",
                "--image",
                str(source),
                "--base-url",
                slow.base_url,
                "--out",
                str(tmp_path / "out"),
            ],
        )
        assert result.exit_code == 0, result.output
        assert "in queue, position" in result.output and "in progress" in result.output
        assert "completed" in result.output
        saved = [Path(line) for line in result.stdout.splitlines() if line.endswith(".jpg")]
        assert len(saved) == 1 and Image.open(saved[0]).format == "JPEG"
        inline = CliRunner().invoke(
            generate_command,
            ["a fox", "--base-url", slow.base_url, "--run-base-url", slow.base_url + "/run", "--run", "--sync-mode",
             "--output-format", "png", "--out", str(tmp_path / "run")],
        )  # fmt: skip
        assert inline.exit_code == 0, inline.output
        png = [Path(line) for line in inline.stdout.splitlines() if line.endswith(".png")]
        assert len(png) == 1 and Image.open(png[0]).format == "PNG"
        bad = CliRunner().invoke(generate_command, ["x", "--image", "a.png", "--image", "b.png", "--endpoint",
                                                    "fal-ai/flux-pro/kontext", "--base-url", slow.base_url])  # fmt: skip
        assert bad.exit_code == 2


@pytest.mark.asyncio
async def test_sync_mode_outputs_are_data_uris(clients: Clients, tmp_path: Path) -> None:
    with MockServer(MockConfig()) as plain:
        async with clients.make(Provider.mock(plain.base_url)) as client:
            out = await do(client.subscribe(T2I, {"prompt": "x", "sync_mode": True, "output_format": "png"}))
            url = out.images[0].url
            assert url.startswith("data:image/png;base64,")
            path = await do(client.save_image(out.images[0], tmp_path / "inline"))
            assert path.suffix == ".png" and path.read_bytes() == base64.b64decode(url.split(",", 1)[1])
    assert httpx.URL(plain.base_url).host == "127.0.0.1"
