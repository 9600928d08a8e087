"""Retries that never pay twice: which failures are retried for a submit, which for a GET, and the limits."""

from __future__ import annotations

import json
from collections.abc import Callable

import httpx
import pytest

from kontext_contract.client import (
    AmbiguousSubmitError,
    APIConnectionError,
    Endpoint,
    RateLimitError,
    RequestTimeoutError,
    RetriesExhausted,
    RetryPolicy,
    ServiceUnavailableError,
)
from kontext_contract.client._retry import Attempts

from .conftest import Clients, do

FAL = "https://queue.fal.run"
SUBMIT_OK = {
    "status": "IN_QUEUE",
    "request_id": "r1",
    "response_url": f"{FAL}/fal-ai/flux-pro/requests/r1",
    "status_url": f"{FAL}/fal-ai/flux-pro/requests/r1/status",
    "cancel_url": f"{FAL}/fal-ai/flux-pro/requests/r1/cancel",
    "queue_position": 0,
}
INPUT = {"prompt": "a fox"}
T2I = Endpoint.KONTEXT_TEXT_TO_IMAGE
POLICY = RetryPolicy(max_attempts=5, base_delay=0.0, max_delay=0.0, jitter=0.0, total_timeout=30)

Step = Callable[[httpx.Request], httpx.Response]


def ingress(status: int) -> Step:
    return lambda r: httpx.Response(
        status, text="<html><center>nginx</center></html>", headers={"content-type": "text/html"}
    )


def ok(r: httpx.Request) -> httpx.Response:
    return httpx.Response(200, json=SUBMIT_OK, headers={"x-fal-request-id": "r1"})


def raise_(exc: type[httpx.TransportError]) -> Step:
    def step(r: httpx.Request) -> httpx.Response:
        raise exc("boom", request=r)

    return step


class Script:
    """A MockTransport that answers with the given steps in order and counts the calls."""

    def __init__(self, *steps: Step) -> None:
        self.steps = list(steps)
        self.calls: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.calls.append(request)
        return self.steps[min(len(self.calls), len(self.steps)) - 1](request)


@pytest.mark.parametrize(
    "first",
    [
        raise_(httpx.ConnectError),
        raise_(httpx.ConnectTimeout),
        raise_(httpx.PoolTimeout),
        ingress(502),
        ingress(503),
        ingress(504),
    ],
    ids=["connect-error", "connect-timeout", "pool-timeout", "ingress-502", "ingress-503", "ingress-504"],
)
@pytest.mark.asyncio
async def test_submit_is_retried_when_it_provably_did_not_arrive(clients: Clients, first: Step) -> None:
    script = Script(first, ok)
    async with clients.over(script, retry=POLICY) as c:
        assert (await do(c.submit(T2I, INPUT))).request_id == "r1"
    assert len(script.calls) == 2
    assert script.calls[0].content == script.calls[1].content  # the same body, encoded once


@pytest.mark.asyncio
async def test_submit_is_retried_after_429_honouring_retry_after(
    clients: Clients, monkeypatch: pytest.MonkeyPatch
) -> None:
    slept = clients.patch_sleep(monkeypatch)
    script = Script(
        lambda r: httpx.Response(429, json={"detail": "slow down"}, headers={"retry-after": "3"}), ok
    )
    async with clients.over(script, retry=POLICY) as c:
        await do(c.submit(T2I, INPUT))
    assert slept == [3.0]


@pytest.mark.parametrize(
    "failure",
    [
        raise_(httpx.ReadTimeout),
        raise_(httpx.ReadError),
        raise_(httpx.RemoteProtocolError),
        raise_(httpx.WriteError),
    ],
    ids=["read-timeout", "read-error", "server-disconnected", "write-error"],
)
@pytest.mark.asyncio
async def test_submit_is_never_retried_after_an_ambiguous_failure(clients: Clients, failure: Step) -> None:
    script = Script(failure, ok)
    async with clients.over(script, retry=POLICY) as c:
        with pytest.raises(AmbiguousSubmitError) as caught:
            await do(c.submit(T2I, INPUT))
    assert len(script.calls) == 1
    assert "billed twice" in str(caught.value)


@pytest.mark.asyncio
async def test_submit_is_not_retried_on_a_503_of_fals_application(clients: Clients) -> None:
    app_503 = httpx.Response(
        503,
        json={"detail": "no runner", "error_type": "runner_scheduling_failure"},
        headers={"x-fal-request-id": "abc", "x-fal-error-type": "runner_scheduling_failure"},
    )
    script = Script(lambda r: app_503, ok)
    async with clients.over(script, retry=POLICY) as c:
        with pytest.raises(ServiceUnavailableError) as caught:
            await do(c.submit(T2I, INPUT))
    assert len(script.calls) == 1
    assert caught.value.error_type == "runner_scheduling_failure" and not caught.value.ingress


def status_ok(r: httpx.Request) -> httpx.Response:
    body = {**SUBMIT_OK, "status": "IN_PROGRESS", "logs": None}
    del body["queue_position"]
    return httpx.Response(202, json=body)


@pytest.mark.parametrize(
    "failure",
    [
        raise_(httpx.ReadTimeout),
        raise_(httpx.ReadError),
        raise_(httpx.RemoteProtocolError),
        raise_(httpx.ConnectError),
        ingress(502),
        ingress(503),
        ingress(504),
        lambda r: httpx.Response(429, json={"detail": "x"}),
        lambda r: httpx.Response(408, json={"detail": "x"}),
        lambda r: httpx.Response(
            503, json={"detail": "x", "error_type": "runner_disconnected"}, headers={"x-fal-request-id": "r1"}
        ),
    ],
)
@pytest.mark.asyncio
async def test_status_is_retried_on_every_transient_failure(clients: Clients, failure: Step) -> None:
    script = Script(failure, failure, status_ok)
    async with clients.over(script, retry=POLICY) as c:
        assert (await do(c.status(T2I, "r1"))).status == "IN_PROGRESS"
    assert len(script.calls) == 3


@pytest.mark.asyncio
async def test_a_result_whose_504_is_the_outcome_is_not_retried(clients: Clients) -> None:
    timeout = httpx.Response(
        504,
        json={"detail": "did not start in time", "error_type": "request_timeout"},
        headers={
            "x-fal-request-id": "r1",
            "x-fal-error-type": "request_timeout",
            "x-fal-request-timeout-type": "user",
            "x-fal-retryable": "false",
        },
    )
    script = Script(lambda r: timeout)
    async with clients.over(script, retry=POLICY) as c:
        with pytest.raises(RequestTimeoutError) as caught:
            await do(c.result(T2I, "r1"))
    assert len(script.calls) == 1
    assert caught.value.error_type == "request_timeout" and caught.value.timeout_type == "user"
    assert caught.value.request_id == "r1" and caught.value.status_code == 504


@pytest.mark.asyncio
async def test_attempts_are_bounded(clients: Clients) -> None:
    script = Script(ingress(503))
    async with clients.over(script, retry=POLICY) as c:
        with pytest.raises(RetriesExhausted) as caught:
            await do(c.status(T2I, "r1"))
    assert len(script.calls) == 5 and caught.value.attempts == 5
    assert isinstance(caught.value.last_error, ServiceUnavailableError)
    assert caught.value.status_code == 503


@pytest.mark.asyncio
async def test_total_time_is_bounded(clients: Clients) -> None:
    policy = RetryPolicy(max_attempts=100, base_delay=0.05, max_delay=0.05, jitter=0, total_timeout=0.2)
    script = Script(raise_(httpx.ReadTimeout))
    async with clients.over(script, retry=policy) as c:
        with pytest.raises(RetriesExhausted, match="budget"):
            await do(c.status(T2I, "r1"))
    assert 2 <= len(script.calls) <= 5


@pytest.mark.asyncio
async def test_a_retry_after_beyond_the_limit_ends_at_once(clients: Clients) -> None:
    script = Script(lambda r: httpx.Response(429, json={"detail": "x"}, headers={"retry-after": "3600"}))
    async with clients.over(script, retry=POLICY) as c:
        with pytest.raises(RetriesExhausted, match="3600") as caught:
            await do(c.status(T2I, "r1"))
    assert isinstance(caught.value.last_error, RateLimitError) and len(script.calls) == 1


@pytest.mark.asyncio
async def test_no_retries_raises_the_first_error_itself(clients: Clients) -> None:
    script = Script(ingress(503), status_ok)
    async with clients.over(script, retry=RetryPolicy.none()) as c:
        with pytest.raises(ServiceUnavailableError) as caught:
            await do(c.status(T2I, "r1"))
    assert caught.value.ingress and len(script.calls) == 1
    script = Script(raise_(httpx.ConnectError))
    async with clients.over(script, retry=RetryPolicy.none()) as c:
        with pytest.raises(APIConnectionError):
            await do(c.status(T2I, "r1"))


def test_backoff_grows_exponentially_within_the_jitter_and_the_cap() -> None:
    policy = RetryPolicy(base_delay=0.1, multiplier=2, max_delay=1.0, jitter=0.5)
    for retry, base in [(1, 0.1), (2, 0.2), (3, 0.4), (4, 0.8), (5, 1.0), (9, 1.0)]:
        assert policy.backoff(retry, lambda: 0.0) == pytest.approx(base * 0.5)
        assert policy.backoff(retry, lambda: 1.0) == pytest.approx(base * 1.5)
    attempts = Attempts(policy, "idempotent", "x", rand=lambda: 0.5)
    delays = [attempts.after_exception(httpx.ReadTimeout("t")) for _ in range(4)]
    assert delays == pytest.approx([0.1, 0.2, 0.4, 0.8])


@pytest.mark.asyncio
async def test_queue_options_become_headers_and_query(clients: Clients) -> None:
    script = Script(ok)
    async with clients.over(script, retry=POLICY) as c:
        await do(
            c.submit(
                T2I,
                INPUT,
                webhook_url="https://hooks.example/done",
                request_timeout=12.5,
                priority="low",
                no_retry=True,
                runner_hint="eu",
                object_lifecycle_seconds=3600,
            )
        )
    sent = script.calls[0]
    assert sent.url.params["fal_webhook"] == "https://hooks.example/done"
    assert sent.headers["x-fal-request-timeout"] == "12.5"
    assert sent.headers["x-fal-queue-priority"] == "low"
    assert sent.headers["x-fal-no-retry"] == "1"
    assert sent.headers["x-fal-runner-hint"] == "eu"
    assert json.loads(sent.headers["x-fal-object-lifecycle-preference"]) == {
        "expiration_duration_seconds": 3600
    }
    assert sent.headers["authorization"] == "Key id:secret"
    async with clients.over(script, retry=POLICY) as c:
        with pytest.raises(ValueError):
            await do(c.submit(T2I, INPUT, priority="urgent"))  # type: ignore[typeddict-item]


@pytest.mark.asyncio
async def test_each_retry_is_announced_with_its_reason(clients: Clients) -> None:
    from kontext_contract.client import RetryNotice

    notices: list[RetryNotice] = []
    script = Script(raise_(httpx.ConnectError), ingress(502), ok)
    async with clients.over(script, retry=POLICY, on_retry=notices.append) as c:
        assert (await do(c.submit(T2I, INPUT))).request_id == "r1"
    assert [(n.attempt, n.max_attempts) for n in notices] == [(2, 5), (3, 5)]
    assert notices[0].reason == "ConnectError: boom" and notices[1].reason == "HTTP 502"
    assert all(n.what == f"submit to {T2I.value}" and n.url.startswith(FAL) for n in notices)
    assert str(notices[1]).startswith(f"retrying submit to {T2I.value} ({FAL}/")


def test_a_paid_call_that_cannot_connect_gets_the_short_connect_bound() -> None:
    """connect_attempts / connect_budget: a submit whose connection was never made (nothing sent) ends with
    UnreachableError naming host:port; other calls and other failures keep the full policy."""
    from kontext_contract.client import UnreachableError

    now = [0.0]
    policy = RetryPolicy(connect_attempts=3, connect_budget=1.5, jitter=0.0)
    attempts = Attempts(policy, "paid", "submit", clock=lambda: now[0], url="https://relay.example/fal-ai/x")
    assert attempts.after_exception(httpx.ConnectError("refused")) == pytest.approx(0.2)
    assert attempts.after_exception(httpx.ConnectTimeout("slow")) == pytest.approx(0.4)
    with pytest.raises(UnreachableError) as caught:
        attempts.after_exception(httpx.ConnectError("refused"))
    assert caught.value.address == "relay.example:443" and caught.value.attempts == 3
    assert "cannot connect to relay.example:443" in str(caught.value) and "nothing was sent" in str(
        caught.value
    )
    # the budget: a retry whose delay would end after connect_budget seconds is not made
    budget = Attempts(RetryPolicy(connect_budget=1.0, jitter=0.0), "paid", "submit", clock=lambda: now[0])
    now[0] = 0.9
    with pytest.raises(UnreachableError):
        budget.after_exception(httpx.ConnectError("refused"))
    # an idempotent call (a status poll of a paid job) keeps max_attempts
    polling = Attempts(policy, "idempotent", "status", clock=lambda: now[0])
    for _ in range(5):
        polling.after_exception(httpx.ConnectError("refused"))
    with pytest.raises(ValueError):
        RetryPolicy(connect_attempts=0)


# -- the headers the rules read come from the contract (client/_headers.py) -------------------------------

RENAMED = {
    "RequestIdHeader": "x-request-id",
    "ErrorType": "x-error-type",
    "Retryable": "x-retryable",
    "RequestTimeoutType": "x-timeout-type",
    "RetryAfter": "x-retry-in",
}


def test_the_retry_rules_read_the_header_names_the_contract_gives() -> None:
    """A contract that renames the headers (as an overlay would): the rules follow the new names, and the
    old names mean nothing to them."""
    from kontext_contract.client._headers import default_header_names
    from kontext_contract.client._retry import is_ingress_error

    shipped = default_header_names()
    assert shipped["RequestIdHeader"] == "x-fal-request-id" and shipped["ErrorType"] == "x-fal-error-type"
    infra = httpx.Response(503, headers={"x-error-type": "runner_scheduling_failure", "x-request-id": "r"})
    assert is_ingress_error(infra)  # the shipped names: this answer carries neither of fal's headers
    assert not is_ingress_error(infra, RENAMED)
    paid = Attempts(POLICY, "paid", "submit", header_names=RENAMED)
    assert not paid.should_retry(infra)  # it reached the application: never resent
    outcome = httpx.Response(504, headers={"x-error-type": "request_timeout", "x-request-id": "r"})
    result = Attempts(POLICY, "idempotent", "result", result_call=True, header_names=RENAMED)
    assert not result.should_retry(outcome)  # the request's own outcome
    retryable = httpx.Response(504, headers={**outcome.headers, "x-retryable": "true"})
    assert result.should_retry(retryable)
    limited = httpx.Response(429, headers={"x-retry-in": "7", "retry-after": "1"})
    wait = Attempts(POLICY, "idempotent", "status", header_names=RENAMED).after_response(
        limited, RateLimitError("429", status_code=429)
    )
    assert wait == 7


def test_the_errors_read_the_header_names_the_contract_gives() -> None:
    timeout = RequestTimeoutError(
        "504", status_code=504, headers={"x-timeout-type": "user"}, header_names=RENAMED
    )
    assert timeout.timeout_type == "user"
    assert RequestTimeoutError("504", headers={"x-timeout-type": "user"}).timeout_type is None  # fal's name
    limited = RateLimitError("429", headers={"x-retry-in": "3"}, header_names=RENAMED)
    assert limited.retry_after == 3
    assert not ServiceUnavailableError("503", headers={"x-request-id": "r"}, header_names=RENAMED).ingress
    assert ServiceUnavailableError("503", headers={"x-request-id": "r"}).ingress
