"""The client and ``generate`` against hostile providers, over real loopback sockets: one that echoes the
Authorization value back everywhere (the canary key must show up nowhere), one that accepts connections
and never answers (the time limit caps every request), and one that cannot be reached (each retry is
shown with its reason)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from click.testing import CliRunner

from kontext_contract.cli._generate import command as generate_command
from kontext_contract.client import (
    AmbiguousSubmitError,
    AsyncClient,
    Client,
    Endpoint,
    KontextError,
    Provider,
    RetriesExhausted,
    RetryNotice,
    RetryPolicy,
    WaitTimeoutError,
)

from .conftest import echo_server, free_port, silent_server

T2I = Endpoint.KONTEXT_TEXT_TO_IMAGE
NO_WAIT = RetryPolicy(max_attempts=2, base_delay=0.0, max_delay=0.0)


def _texts_of(error: BaseException) -> list[str]:
    texts = [str(error), repr(error), repr(getattr(error, "__dict__", {}))]
    last = getattr(error, "last_error", None)
    if last is not None:
        texts += _texts_of(last)
    cause = error.__cause__
    if cause is not None:
        texts += [str(cause), repr(cause)]
    return texts


def _everything_logged(caplog: pytest.LogCaptureFixture) -> list[str]:
    formatter = logging.Formatter("%(name)s %(levelname)s %(message)s")
    return [formatter.format(record) for record in caplog.records]


@pytest.mark.parametrize("scheme", ["fal", "relay"])
def test_an_echoing_provider_never_gets_the_key_shown(
    scheme: str, canary: str, caplog: pytest.LogCaptureFixture
) -> None:
    """The key comes back as a response header, the request id (so in every URL), a status value, an SSE
    event, an error detail: errors, handles, logs of the client, httpx and httpcore at DEBUG stay clean."""
    caplog.set_level(logging.DEBUG)
    key = f"{canary}-id:{canary}-secret" if scheme == "fal" else canary
    texts: list[str] = []
    with echo_server() as url:
        provider = (
            Provider.fal(key=key, queue_base_url=url, run_base_url=url + "/run")
            if scheme == "fal"
            else Provider.relay(url, key=key)
        )
        with Client(provider, retry=NO_WAIT) as client:
            handle = client.submit(T2I, {"prompt": "a fox"})
            assert canary in handle.request_id  # the provider really echoed it: the test has teeth
            texts += [repr(handle), repr(client)]
            calls: list[Callable[[], Any]] = [
                lambda: handle.status(),  # an unknown status: the key itself
                lambda: list(handle.stream_status()),  # the same in an SSE event
                lambda: handle.result(),  # a 422 whose detail echoes the key
                lambda: handle.get(timeout=5, stream=True),
                lambda: handle.get(timeout=5, stream=False),
            ]
            assert handle.cancel() == "ALREADY_COMPLETED"  # its detail echoes the key: only logged
            for call in calls:
                with pytest.raises(KontextError) as caught:
                    call()
                texts += _texts_of(caught.value)
    texts += _everything_logged(caplog)
    assert any("httpcore.http11" in t and "x-echo" in t for t in texts)  # response headers were logged
    assert any("submitted" in t for t in texts)  # the INFO line with the request id
    leaks = [t for t in texts if canary in t]
    assert leaks == []


@pytest.mark.asyncio
async def test_an_echoing_provider_never_gets_the_key_shown_async(
    canary: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    texts: list[str] = []
    with echo_server() as url:
        async with AsyncClient(Provider.relay(url, key=canary), retry=NO_WAIT) as client:
            handle = await client.submit(T2I, {"prompt": "a fox"})
            texts.append(repr(handle))
            for call in (handle.status, handle.result, lambda: handle.get(timeout=5)):
                with pytest.raises(KontextError) as caught:
                    await call()
                texts += _texts_of(caught.value)
    texts += _everything_logged(caplog)
    assert [t for t in texts if canary in t] == []


def _generate(url: str, *options: str) -> Any:
    """``kontext-contract generate "a fox"`` against a relay at ``url``, its key in $RELAY_KEY."""
    args = ["a fox", "--provider", "relay", "--key-env", "RELAY_KEY", "--base-url", url, *options]
    return CliRunner().invoke(generate_command, args)


def test_generate_against_an_echoing_provider_prints_no_key(
    canary: str, tmp_path: Any, monkeypatch: Any
) -> None:
    """Log lines echoing the key, the request id in the file names and in "request <id>", the output's
    fields: nothing ``generate`` prints or writes is named after the key."""
    monkeypatch.setenv("RELAY_KEY", canary)
    with echo_server("logs") as url:
        result = _generate(url, "--out", str(tmp_path), "--wait-timeout", "20")
    assert result.exit_code == 0, result.output
    assert canary not in result.output
    written = [p.name for p in tmp_path.iterdir()]
    assert len(written) == 1 and canary not in written[0] and written[0].startswith("redacted")
    assert "using Bearer ****" in result.output  # the echoed log line was shown, redacted


def test_generate_against_an_echoing_provider_failing_prints_no_key(canary: str, monkeypatch: Any) -> None:
    monkeypatch.setenv("RELAY_KEY", canary)
    with echo_server("status") as url:
        result = _generate(url, "--wait-timeout", "20")
    assert result.exit_code == 1, result.output
    assert "ProviderIncompatibleError" in result.output
    assert canary not in result.output


# ---- the silent provider ------------------------------------------------------------------------------


class _Recording(httpx.HTTPTransport):
    """The real transport, recording the timeouts each request was given."""

    def __init__(self) -> None:
        super().__init__()
        self.timeouts: list[dict[str, float | None]] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.timeouts.append(dict(request.extensions["timeout"]))
        return super().handle_request(request)


def test_a_time_limit_caps_every_requests_timeouts_against_a_silent_provider() -> None:
    transport = _Recording()
    with silent_server() as url:
        client = Client(Provider.relay(url, key="k"), transport=transport, retry=NO_WAIT)
        with client, client.time_limit(1.0), pytest.raises(AmbiguousSubmitError) as caught:
            client.submit(T2I, {"prompt": "a fox"})
    assert "ReadTimeout" in str(caught.value)  # sent, then no answer: never retried (paid)
    (timeouts,) = transport.timeouts
    assert all(value is not None and value <= 1.0 for value in timeouts.values()), timeouts


def test_a_time_limit_ends_idempotent_calls_with_wait_timeout() -> None:
    transport = _Recording()
    with silent_server() as url:
        client = Client(Provider.relay(url, key="k"), transport=transport)
        with client, client.time_limit(0.5), pytest.raises(WaitTimeoutError):
            client.status(T2I, "some-id")
    assert transport.timeouts and all(
        value is not None and value <= 0.5 for t in transport.timeouts for value in t.values()
    )


def test_generate_timeout_bounds_a_silent_provider(tmp_path: Any, monkeypatch: Any) -> None:
    """``--wait-timeout 2`` against a server that accepts and never answers: about 2 s, not the 60 s read
    timeout of the submit (the bound below is loose on purpose: a busy machine must not fail it)."""
    monkeypatch.setenv("RELAY_KEY", "k")
    with silent_server() as url:
        started = time.monotonic()
        result = _generate(url, "--wait-timeout", "2", "--out", str(tmp_path))
        elapsed = time.monotonic() - started
    assert result.exit_code == 1, result.output
    assert "AmbiguousSubmitError" in result.output and "ReadTimeout" in result.output
    assert elapsed < 20, elapsed  # was about 64 s
    assert "Traceback" not in result.output


# ---- the unreachable provider -------------------------------------------------------------------------


def test_retries_against_an_unreachable_provider_are_announced_with_their_reason() -> None:
    notices: list[RetryNotice] = []
    url = f"http://127.0.0.1:{free_port()}"
    policy = RetryPolicy(max_attempts=3, base_delay=0.0, max_delay=0.0)
    client = Client(Provider.relay(url, key="k"), retry=policy, on_retry=notices.append)
    with client, pytest.raises(RetriesExhausted) as caught:
        client.submit(T2I, {"prompt": "a fox"})
    assert [n.attempt for n in notices] == [2, 3]
    assert all(n.what == f"submit to {T2I.value}" and n.url.startswith(url) for n in notices)
    assert all(n.reason.startswith("ConnectError") for n in notices)
    assert "ConnectError" in str(caught.value)


def test_generate_shows_each_retry_against_an_unreachable_base_url(monkeypatch: Any, tmp_path: Any) -> None:
    monkeypatch.setenv("RELAY_KEY", "k")
    url = f"http://127.0.0.1:{free_port()}"
    result = _generate(url, "--wait-timeout", "3", "--out", str(tmp_path))
    assert result.exit_code == 2, result.output  # unreachable, nothing sent: cli._exit.USAGE, as in check
    retries = [line for line in result.output.splitlines() if "retrying submit" in line]
    assert len(retries) == 2, result.output  # the short connect bound (RetryPolicy.connect_attempts=3)
    assert all(url in line and "ConnectError" in line for line in retries)
    assert f"cannot reach relay at {url}" in result.output and "nothing was sent" in result.output
    assert "Traceback" not in result.output


def test_a_short_test_key_does_not_mangle_every_message(canary: str) -> None:
    """Process-wide, only secrets of MIN_SHARED characters or more are searched for: a client with the key
    "k" must not turn every "k" of every error into "****"; a real key is redacted everywhere."""
    from kontext_contract._redact import MIN_SHARED, redact

    assert len(canary) >= MIN_SHARED
    with (
        Client(Provider.relay("http://127.0.0.1:9", key="k")),
        Client(Provider.relay("http://127.0.0.1:9", key=canary)),
    ):
        assert redact(f"kontext {canary}") == "kontext ****"
        assert str(KontextError(f"bake {canary}")) == "bake ****"
