"""One error hierarchy, each error with status code, request id and detail; and a canary key that
never shows up anywhere: reprs, log lines, exception texts, printed output."""

from __future__ import annotations

import logging
import pickle

import httpx
import pytest
from click.testing import CliRunner

from kontext_contract.client import (
    APIStatusError,
    AuthenticationError,
    ContentPolicyViolationError,
    Endpoint,
    KontextError,
    MissingCredentialsError,
    NotFoundError,
    PayloadTooLargeError,
    PermissionDeniedError,
    Provider,
    ProviderIncompatibleError,
    RateLimitError,
    RetriesExhausted,
    RetryPolicy,
    Secret,
    ValidationError,
)
from kontext_contract.mock import FaultConfig

from .conftest import BASE, FAST_RETRY, INPUTS, Clients, collect, do, mock_app

T2I = Endpoint.KONTEXT_TEXT_TO_IMAGE


@pytest.mark.parametrize(
    ("status", "body", "cls"),
    [
        (401, {"detail": "No user found for Key ID and Secret"}, AuthenticationError),
        (403, {"detail": "User is locked. Reason: Exhausted balance."}, PermissionDeniedError),
        (404, {"detail": "Request not found"}, NotFoundError),
        (413, {"detail": "too large"}, PayloadTooLargeError),
        (429, {"detail": "slow down"}, RateLimitError),
        (
            422,
            {"detail": [{"loc": ["body", "prompt"], "msg": "Field required", "type": "missing"}]},
            ValidationError,
        ),
        (
            422,
            {"detail": [{"loc": ["body", "prompt"], "msg": "refused", "type": "content_policy_violation"}]},
            ContentPolicyViolationError,
        ),
        (500, {"detail": "boom"}, APIStatusError),
    ],
)
@pytest.mark.asyncio
async def test_status_codes_map_to_the_hierarchy(
    clients: Clients, status: int, body: dict[str, object], cls: type[APIStatusError]
) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, json=body, headers={"x-fal-request-id": "req-9"})

    async with clients.over(handler, retry=RetryPolicy.none()) as client:
        with pytest.raises(cls) as caught:
            await do(client.result(T2I, "req-9"))
    error = caught.value
    assert isinstance(error, KontextError) and type(error) is cls
    assert error.status_code == status and error.request_id == "req-9"
    assert error.detail == body["detail"]
    assert f"HTTP {status}" in str(error) and "req-9" in str(error)


def test_missing_credentials_name_the_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("FAL_KEY", "FAL_KEY_ID", "FAL_KEY_SECRET"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(MissingCredentialsError, match="FAL_KEY"):
        Provider.fal()
    monkeypatch.setenv("FAL_KEY_ID", "kid")
    monkeypatch.setenv("FAL_KEY_SECRET", "ksecret")
    assert Provider.fal().authorization == "Key kid:ksecret"
    monkeypatch.setenv("FAL_KEY", "whole:key")
    assert Provider.fal().authorization == "Key whole:key"
    with pytest.raises(MissingCredentialsError, match="MY_RELAY_KEY"):
        Provider.relay("https://relay.example", key_env="MY_RELAY_KEY")


def test_providers_are_read_from_their_documents() -> None:
    env = {"RELAY_A_KEY": "a-key", "CHAINHUB_KEY": "c-key", "FAL_KEY": "f:k"}
    fal = Provider.from_document("fal", env=env)
    assert (fal.queue_base_url, fal.run_base_url, fal.auth_scheme) == (
        "https://queue.fal.run",
        "https://fal.run",
        "Key",
    )
    chain = Provider.from_document("chainhub", env=env)
    assert chain.queue_base_url == "https://api.chainhub.tech" and chain.run_base_url is None
    assert chain.authorization == "Bearer c-key"
    relay = Provider.from_document("relay-a", base_url="http://127.0.0.1:9", env=env)
    assert relay.queue_base_url == "http://127.0.0.1:9"
    with pytest.raises(Exception, match="base_url"):
        Provider.from_document("relay-b", key="k")


def test_base_urls_are_checked() -> None:
    from kontext_contract.client import ConfigurationError

    assert Provider.relay("http://10.0.0.1:8080/", key="k").queue_base_url == "http://10.0.0.1:8080"
    for bad in ("ftp://x", "relay.example", "https://user:pw@relay.example", "https://relay.example?x=1"):
        with pytest.raises(ConfigurationError):
            Provider.relay(bad, key="k")


def test_the_key_goes_only_to_the_providers_origins() -> None:
    provider = Provider.fal(
        key="id:secret", queue_base_url="http://127.0.0.1:8000", run_base_url="https://run.example"
    )
    assert provider.owns("http://127.0.0.1:8000/fal-ai/x") and provider.owns("https://run.example:443/y")
    assert not provider.owns("http://127.0.0.1:8001/fal-ai/x")
    assert not provider.owns("https://127.0.0.1:8000/fal-ai/x")
    assert not provider.owns("https://queue.fal.run/fal-ai/x")


# ---- the canary ---------------------------------------------------------------------------------------


def echo_key(request: httpx.Request) -> httpx.Response:
    """A hostile server that echoes the Authorization header in every error it sends."""
    auth = request.headers.get("authorization", "")
    if request.url.path.endswith("/status"):
        return httpx.Response(
            503, json={"detail": f"upstream said {auth}"}, headers={"x-fal-request-id": "r"}
        )
    return httpx.Response(
        401, json={"detail": f"bad key {auth}", "echo": auth}, headers={"x-fal-request-id": "r"}
    )


@pytest.mark.asyncio
async def test_canary_key_never_leaks(
    clients: Clients, canary: str, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    caplog.set_level(logging.DEBUG)
    key = f"{canary}-id:{canary}-secret"
    texts: list[str] = []
    provider = Provider.fal(key=key)
    texts += [repr(provider), str(provider), repr(provider.key), str(provider.key)]
    async with clients.over(echo_key, provider, retry=RetryPolicy(max_attempts=2, base_delay=0)) as client:
        texts.append(repr(client))
        for call in (
            lambda: client.submit(T2I, {"prompt": "x"}),
            lambda: client.status(T2I, "r"),
            lambda: client.result(T2I, "r"),
            lambda: client.run(T2I, {"prompt": "x"}),
            lambda: client.submit(T2I, {"prompt": key}),  # even a prompt that contains the key
            lambda: client.subscribe(T2I, {"prompt": "x"}),
            lambda: client.cancel(T2I, "r"),
            lambda: client.download_image("https://queue.fal.run/files/x.png"),
        ):
            with pytest.raises(KontextError) as caught:
                await do(call())
            error = caught.value
            texts += [str(error), repr(error), repr(error.detail), repr(error.__dict__)]
            if isinstance(error, RetriesExhausted):
                texts += [str(error.last_error), repr(error.last_error.__dict__)]
    with pytest.raises(TypeError):
        pickle.dumps(provider.key)
    texts += [record.getMessage() for record in caplog.records]
    out = capsys.readouterr()
    texts += [out.out, out.err]
    for text in texts:
        assert canary not in text, text


@pytest.mark.asyncio
async def test_canary_key_never_leaks_against_the_mock(
    clients: Clients, canary: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    app = mock_app(
        "relay-a", key=canary, faults=FaultConfig(rate_503=0.3, rate_429=0.1, retry_after=0, seed=1)
    )
    texts: list[str] = []
    async with clients.on_mock(app, provider=Provider.mock(BASE, profile="relay-a", key=canary)) as client:
        texts.append(repr(client))
        for endpoint in Endpoint:
            handle = await do(client.submit(endpoint, INPUTS[endpoint]))
            texts += [repr(handle), repr(await do(handle.status(with_logs=True)))]
            texts.append(repr(await do(handle.get())))
            texts += [repr(s) for s in await collect(handle.stream_status(with_logs=True))]
    wrong = Provider.mock(BASE, profile="relay-a", key=canary + "-wrong")
    async with clients.make(wrong, transport=httpx.ASGITransport(app=app), retry=FAST_RETRY) as client:
        with pytest.raises(AuthenticationError) as caught:
            await do(client.subscribe(T2I, {"prompt": "x"}))
        texts += [str(caught.value), repr(caught.value), repr(caught.value.__dict__)]
    texts += [record.getMessage() for record in caplog.records]
    for text in texts:
        assert canary not in text, text


def test_canary_key_never_printed_by_the_cli(canary: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from kontext_contract.cli._generate import command as generate_command
    from kontext_contract.mock import MockConfig, MockServer

    monkeypatch.setenv("RELAY_KEY", canary)  # the mock expects mock-relay-key: a 401 that names no key
    with MockServer(MockConfig(provider="relay-a")) as server:
        result = CliRunner().invoke(
            generate_command,
            [
                "a fox",
                "--provider",
                "relay",
                "--base-url",
                server.base_url,
                "--key-env",
                "RELAY_KEY",
                "--wait-timeout",
                "5",
            ],
        )
    assert result.exit_code == 2, result.output  # a rejected key: a usage error, as in `check` (cli._exit)
    assert "refused the key from $RELAY_KEY (HTTP 401)" in result.output
    assert canary not in result.output


def test_secret_and_incompatible_provider_messages() -> None:
    assert repr(Secret("abc")) == "Secret('****')"
    provider = Provider.relay("https://relay.example", key="k", on_foreign_url="raise")
    with pytest.raises(ProviderIncompatibleError, match=r"queue\.fal\.run"):
        provider.adopt_url("https://queue.fal.run/fal-ai/flux-1/requests/1")
