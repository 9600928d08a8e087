"""The scenarios: the sequences of requests the checks read, each run at most once per endpoint.

| scenario | paid | requests |
|---|---|---|
| ``auth`` | 0 | status of an unknown request id, with the expected scheme and with the other one |
| ``unknown`` | 0 | result and cancel of an unknown request id |
| ``invalid`` | 0 | submit ``{}`` (accepted at submit, docs/sources.md §3.1), poll to COMPLETED, result (422) |
| ``main`` | 1 | submit the main input; result before completion; status with every ``logs`` value; the status stream; poll to COMPLETED; result; the images; cancel after completion |
| ``cancel`` | 1 | submit the main input and cancel it at once |
| ``repeat`` | 1 | submit the main input again (same seed), poll, result, images |
| ``sync_mode`` | 1 | submit the main input with ``sync_mode: true``, poll, result, images |
| ``run`` | 1 | the synchronous API with the main input |

The first request of a run is the ``auth`` probe; it stops the run (:class:`Abort`, exit status 2) when the
base URL answers something that is not the contract's JSON, or rejects the key with either scheme. A server
error (5xx) on it is a finding of ``auth_scheme_accepted``, not a reason to stop: the runner stops a run as
an outage only when every request so far, a submit among them, failed with a server error or no answer.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from ..contract import TERMINAL_STATES, URL_FIELDS, Parameter
from ._context import Context, Scenario
from ._http import Download, Exchange, StreamTrace, brief
from ._inputs import MainInput, invalid_input, main_input

__all__ = [
    "AUTH",
    "CANCEL",
    "INVALID",
    "MAIN",
    "REPEAT",
    "RUN",
    "SCENARIOS",
    "SYNC_MODE",
    "UNKNOWN",
    "Abort",
    "AuthProbe",
    "QueueRun",
    "RunCall",
    "UnknownProbe",
    "other_scheme",
]

#: a request id no provider has handed out (the mock's deterministic ids count up from 1)
UNKNOWN_ID = "ffffffff-ffff-4fff-bfff-ffffffffffff"


class Abort(Exception):
    """The provider cannot be checked at all (HTML where JSON is expected, the key rejected with every
    scheme, a server error on the first request): a usage or connection problem, exit status 2."""


def other_scheme(scheme: str) -> str:
    """The Authorization scheme a provider of the other kind uses: ``Key`` <-> ``Bearer`` (docs/sources.md §3.4)."""
    return "Bearer" if scheme.lower() == "key" else "Key"


# -- data ----------------------------------------------------------------------------------------------


@dataclass
class AuthProbe:
    """The ``auth`` scenario: the status of an unknown id asked with each scheme."""

    expected_scheme: str
    other_scheme: str
    expected: Exchange
    other: Exchange
    working_scheme: str


@dataclass
class UnknownProbe:
    """The ``unknown`` scenario."""

    request_id: str
    result: Exchange
    cancel: Exchange


@dataclass
class RunCall:
    """The ``run`` scenario: one synchronous run."""

    input: MainInput
    exchange: Exchange


@dataclass
class QueueRun:
    """A request submitted to the queue and followed as a client would (through the URLs it returned,
    rebased onto the base URL when they are on another host).

    Attributes:
        input: the input sent (``plan`` has the values the output checks compare with).
        submit: the submit exchange.
        request_id: from the submit answer, or None.
        returned: ``response_url``/``status_url``/``cancel_url`` as returned.
        follow: the same, as followed (rebased when on another host).
        rebased: whether any was rebased.
        result_early: the result asked right after submit.
        logs_probes: ``(logs value, status exchange)`` for every value of the ``logs`` enum.
        stream: the status stream as read.
        statuses: every status exchange, in order.
        completed: the status exchange that reported the terminal state.
        result: the result after completion.
        images: the output images' bytes.
        cancel: the cancel exchange.
        problem: why following the request stopped early, or None.
    """

    input: dict[str, Any]
    plan: MainInput | None
    submit: Exchange
    request_id: str | None = None
    returned: dict[str, str] = field(default_factory=dict)
    follow: dict[str, str] = field(default_factory=dict)
    rebased: bool = False
    result_early: Exchange | None = None
    logs_probes: list[tuple[str, Exchange]] = field(default_factory=list)
    logs_param: Parameter | None = None
    stream: StreamTrace | None = None
    statuses: list[Exchange] = field(default_factory=list)
    completed: Exchange | None = None
    result: Exchange | None = None
    images: list[Download] = field(default_factory=list)
    cancel: Exchange | None = None
    problem: str | None = None

    @property
    def usable(self) -> bool:
        """The submit answered with a request id and the three URLs, so the request can be followed."""
        return self.request_id is not None and len(self.follow) == len(URL_FIELDS)


def state_of(exchange: Exchange | None) -> str | None:
    """The ``status`` field of a status answer."""
    if exchange is None or not isinstance(exchange.body, dict):
        return None
    value = exchange.body.get("status")
    return str(value) if isinstance(value, str) else None


# -- the queue flow ------------------------------------------------------------------------------------


def _submit(
    ctx: Context, body: dict[str, Any], plan: MainInput | None, *, label: str, paid: bool
) -> QueueRun:
    op = ctx.contract.endpoint(ctx.endpoint_id).submit
    exchange = ctx.session.send(
        op.method,
        ctx.session.url(op.path),
        label=label,
        operation=op.operation_id,
        body=body,
        paid=paid,
    )
    run = QueueRun(input=body, plan=plan, submit=exchange)
    answer = exchange.body
    if exchange.status != 200 or not isinstance(answer, dict):
        run.problem = f"submit answered {exchange.answer(120)}"
        return run
    if isinstance(answer.get("request_id"), str):
        run.request_id = answer["request_id"]
    for name in URL_FIELDS:
        value = answer.get(name)
        if not isinstance(value, str):
            continue
        run.returned[name] = value
        try:
            url, rebased = ctx.session.adopt(value)
        except ValueError as exc:
            run.problem = str(exc)
            continue
        run.follow[name] = url
        run.rebased = run.rebased or rebased
    if not run.usable:
        run.problem = run.problem or "the submit answer lacks request_id or a request URL"
    elif exchange.paid and run.request_id is not None:
        ctx.session.open_requests[run.request_id] = run.follow["cancel_url"]
    return run


def _get(
    ctx: Context,
    run: QueueRun,
    which: str,
    *,
    label: str,
    operation: str,
    params: dict[str, str] | None = None,
) -> Exchange:
    return ctx.session.send(
        ctx.contract.request_operation(operation, ctx.endpoint_id).method,
        run.follow[which],
        label=label,
        operation=operation,
        params=params,
        rebased_from=run.returned[which] if run.rebased else None,
    )


def _poll(ctx: Context, run: QueueRun) -> None:
    """Poll the status until a terminal state (or an error, or ``wait_timeout``)."""
    terminal = set(TERMINAL_STATES)
    deadline = time.monotonic() + ctx.options.wait_timeout
    interval = ctx.options.poll_interval
    while True:
        exchange = _get(ctx, run, "status_url", label="status", operation="status")
        run.statuses.append(exchange)
        state = state_of(exchange)
        if state in terminal:
            run.completed = exchange
            if run.request_id is not None:
                ctx.session.open_requests.pop(run.request_id, None)
            return
        if exchange.status is None or exchange.status >= 300 or state is None:
            run.problem = f"status answered {exchange.answer(120)}"
            return
        if time.monotonic() > deadline:
            run.problem = f"not completed after {ctx.options.wait_timeout:g} s"
            return
        time.sleep(interval)
        interval = min(interval * 1.5, 5.0, ctx.options.poll_interval * 10)


def _finish(ctx: Context, run: QueueRun, *, images: bool) -> None:
    """Poll to completion, ask the result, download its images."""
    if run.completed is None:
        _poll(ctx, run)
    if run.completed is None:
        return
    run.result = _get(ctx, run, "response_url", label="result", operation="result")
    body = run.result.body
    if (
        images
        and run.result.status == 200
        and isinstance(body, dict)
        and isinstance(body.get("images"), list)
    ):
        for item in body["images"]:
            if isinstance(item, dict) and isinstance(item.get("url"), str):
                # an image on another host (fal's media CDN) is fetched without the key (Session.download)
                run.images.append(ctx.session.download(item["url"]))


def _logs_param(ctx: Context) -> Parameter | None:
    """The contract's ``Logs`` flag, when the status operation takes it."""
    param = ctx.contract.find_parameter("Logs")
    status = ctx.contract.request_operation("status", ctx.endpoint)
    return param if param is not None and status.component_parameter("Logs") is not None else None


def _logs_values(ctx: Context) -> tuple[str, list[str]]:
    param = _logs_param(ctx)
    if param is None:
        return "logs", []
    return param.name, [*param.true_values, *param.false_values]


def _main(ctx: Context) -> QueueRun:
    plan = main_input(ctx.contract, ctx.endpoint_id, ctx.options.seed)
    run = _submit(ctx, plan.body, plan, label="submit", paid=True)
    if not run.usable:
        return run
    run.result_early = _get(ctx, run, "response_url", label="result before completion", operation="result")
    name, values = _logs_values(ctx)
    run.logs_param = _logs_param(ctx)
    for value in values:
        exchange = _get(
            ctx,
            run,
            "status_url",
            label=f"status {name}={value}",
            operation="status",
            params={name: value},
        )
        run.logs_probes.append((value, exchange))
        run.statuses.append(exchange)
        if state_of(exchange) in TERMINAL_STATES:
            run.completed = exchange
    stream_suffix = ctx.contract.stream_suffix(ctx.endpoint_id)
    terminal = set(TERMINAL_STATES)
    run.stream = ctx.session.stream(
        run.follow["status_url"] + stream_suffix,
        label="status stream",
        operation="status-stream",
        params=None,
        is_terminal=lambda event: isinstance(event, dict) and event.get("status") in terminal,
        limit=ctx.options.wait_timeout,
        grace=ctx.options.stream_grace,
        rebased_from=run.returned["status_url"] + stream_suffix if run.rebased else None,
    )
    _finish(ctx, run, images=True)
    if run.completed is not None:
        run.cancel = ctx.session.send(
            ctx.contract.request_operation("cancel", ctx.endpoint_id).method,
            run.follow["cancel_url"],
            label="cancel after completion",
            operation="cancel",
            rebased_from=run.returned["cancel_url"] if run.rebased else None,
        )
    return run


def _repeat(ctx: Context) -> QueueRun:
    plan = main_input(ctx.contract, ctx.endpoint_id, ctx.options.seed)
    run = _submit(ctx, plan.body, plan, label="submit (same input again)", paid=True)
    if run.usable:
        _finish(ctx, run, images=True)
    return run


def _sync_mode(ctx: Context) -> QueueRun:
    plan = main_input(ctx.contract, ctx.endpoint_id, ctx.options.seed)
    body = {**plan.body, "sync_mode": True}
    run = _submit(ctx, body, plan, label="submit (sync_mode)", paid=True)
    if run.usable:
        _finish(ctx, run, images=True)
    return run


def _cancel(ctx: Context) -> QueueRun:
    plan = main_input(ctx.contract, ctx.endpoint_id, ctx.options.seed)
    run = _submit(ctx, plan.body, plan, label="submit (to cancel)", paid=True)
    if run.usable:
        run.cancel = ctx.session.send(
            ctx.contract.request_operation("cancel", ctx.endpoint_id).method,
            run.follow["cancel_url"],
            label="cancel at once",
            operation="cancel",
            rebased_from=run.returned["cancel_url"] if run.rebased else None,
        )
        if run.request_id is not None and run.cancel.status is not None and run.cancel.status < 500:
            ctx.session.open_requests.pop(run.request_id, None)
    return run


def _invalid(ctx: Context) -> QueueRun:
    run = _submit(ctx, invalid_input(), None, label="submit (invalid input)", paid=False)
    if run.usable:
        _finish(ctx, run, images=False)
    return run


def _unknown(ctx: Context) -> UnknownProbe:
    contract, session = ctx.contract, ctx.session
    result_op, cancel_op = contract.request_operation("result"), contract.request_operation("cancel")
    result = session.send(
        result_op.method,
        session.url(result_op.path_for(UNKNOWN_ID)),
        label="result of an unknown id",
        operation="result",
    )
    cancel = session.send(
        cancel_op.method,
        session.url(cancel_op.path_for(UNKNOWN_ID)),
        label="cancel of an unknown id",
        operation="cancel",
    )
    return UnknownProbe(UNKNOWN_ID, result, cancel)


def _auth(ctx: Context) -> AuthProbe:
    contract, session = ctx.contract, ctx.session
    expected = ctx.state.expected_scheme
    other = other_scheme(expected)
    status = contract.request_operation("status")
    url = session.url(status.path_for(UNKNOWN_ID))
    first = session.send(
        status.method, url, label=f"auth probe ({expected})", operation="status", scheme=expected
    )
    if first.status is not None and first.status >= 500:
        # a server error on this probe is a finding (auth_scheme_accepted FAILs on it), not an outage: the
        # run goes on with the expected scheme; the runner stops it only when every request fails alike
        second = session.send(
            status.method, url, label=f"auth probe ({other})", operation="status", scheme=other
        )
        return AuthProbe(expected, other, first, second, expected)
    if not first.is_json:
        raise Abort(
            f"{session.base_url} answered {status.method} {first.shown} with {first.answer(160)}, where the contract expects "
            f"JSON ({contract.source}): is --base-url the provider's API base URL?"
        )
    second = session.send(status.method, url, label=f"auth probe ({other})", operation="status", scheme=other)
    rejected = (401, 403)
    working = expected
    if first.status in rejected:
        if second.status in rejected or second.status is None or second.status >= 500:
            raise Abort(
                f"the key was rejected with both schemes: Authorization: {expected} **** answered "
                f"{first.answer(160)}; {other} **** answered {second.answer(160)}. Check the key "
                "(--key-env) and --base-url"
            )
        working = other
        session.scheme = other
    return AuthProbe(expected, other, first, second, working)


def _run(ctx: Context) -> RunCall:
    plan = main_input(ctx.contract, ctx.endpoint_id, ctx.options.seed)
    op = ctx.contract.endpoint(ctx.endpoint_id).run
    assert op is not None  # _sync_api_reason skips the scenario without a run
    base = ctx.session.run_base_url or ""
    exchange = ctx.session.send(
        op.method,
        f"{base}/{ctx.contract.run_path(ctx.endpoint_id)}",
        label="synchronous run",
        operation=op.operation_id,
        body=plan.body,
        paid=True,
    )
    return RunCall(plan, exchange)


def _sync_api_reason(ctx: Context) -> str | None:
    if ctx.contract.endpoint(ctx.endpoint_id).run is None:
        return f"no document has a synchronous run operation for {ctx.endpoint_id}"
    if ctx.session.run_base_url is None:
        if not ctx.contract.provider.sync_api:
            return (
                f"the {ctx.contract.name} provider document declares no synchronous API "
                "(x-provider.sync_api: false); pass --run-base-url to check one anyway"
            )
        return "no synchronous API base URL known for this base URL: pass --run-base-url"
    return None


def _sync_mode_reason(ctx: Context) -> str | None:
    props = ctx.contract.endpoint(ctx.endpoint_id).input_properties
    return None if "sync_mode" in props else f"the {ctx.endpoint_id} input schema has no sync_mode"


# -- plans (for --dry-run; nothing is sent) ------------------------------------------------------------


def _body(ctx: Context, extra: dict[str, Any] | None = None) -> str:
    plan = main_input(ctx.contract, ctx.endpoint_id, ctx.options.seed)
    return brief({**plan.body, **(extra or {})}, 300)


def _plan_submit(ctx: Context, body: str, paid: bool) -> str:
    op = ctx.contract.endpoint(ctx.endpoint_id).submit
    return f"{op.method} {ctx.session.url(op.path)} {body}" + ("  [paid]" if paid else "  [not paid]")


def _plan_follow(ctx: Context) -> list[str]:
    return [
        f"GET {{status_url}} until COMPLETED (every {ctx.options.poll_interval:g} s at first, for at most {ctx.options.wait_timeout:g} s)",
        "GET {response_url}",
    ]


def _plan_main(ctx: Context) -> list[str]:
    name, values = _logs_values(ctx)
    stream_suffix = ctx.contract.stream_suffix(ctx.endpoint_id)
    cancel = ctx.contract.request_operation("cancel", ctx.endpoint_id).method
    return [
        _plan_submit(ctx, _body(ctx), True),
        "GET {response_url}  (before completion)",
        *[f"GET {{status_url}}?{name}={v}" for v in values],
        f"GET {{status_url}}{stream_suffix}  (Server-Sent Events, until closed)",
        *_plan_follow(ctx),
        "GET each image URL of the result (no key unless on the provider's own host)",
        f"{cancel} {{cancel_url}}  (after completion)",
    ]


def _plan_repeat(ctx: Context) -> list[str]:
    return [_plan_submit(ctx, _body(ctx), True), *_plan_follow(ctx), "GET each image URL of the result"]


def _plan_sync_mode(ctx: Context) -> list[str]:
    return [_plan_submit(ctx, _body(ctx, {"sync_mode": True}), True), *_plan_follow(ctx)]


def _plan_cancel(ctx: Context) -> list[str]:
    cancel = ctx.contract.request_operation("cancel", ctx.endpoint_id).method
    return [_plan_submit(ctx, _body(ctx), True), f"{cancel} {{cancel_url}}  (at once)"]


def _plan_invalid(ctx: Context) -> list[str]:
    return [_plan_submit(ctx, brief(invalid_input()), False), *_plan_follow(ctx)]


def _plan_unknown(ctx: Context) -> list[str]:
    s, c = ctx.session, ctx.contract
    result, cancel = c.request_operation("result"), c.request_operation("cancel")
    return [
        f"{result.method} {s.url(result.path_for(UNKNOWN_ID))}",
        f"{cancel.method} {s.url(cancel.path_for(UNKNOWN_ID))}",
    ]


def _plan_auth(ctx: Context) -> list[str]:
    status = ctx.contract.request_operation("status")
    url = ctx.session.url(status.path_for(UNKNOWN_ID))
    expected = ctx.state.expected_scheme
    return [
        f"{status.method} {url}  (Authorization: {expected} ****)",
        f"{status.method} {url}  (Authorization: {other_scheme(expected)} ****)",
    ]


def _plan_run(ctx: Context) -> list[str]:
    base = ctx.session.run_base_url or "{run base URL}"
    return [f"POST {base}/{ctx.endpoint_id} {_body(ctx)}  [paid]"]


AUTH = Scenario("auth", 0, "provider", _auth, _plan_auth)
UNKNOWN = Scenario("unknown", 0, "provider", _unknown, _plan_unknown)
INVALID = Scenario("invalid", 0, "endpoint", _invalid, _plan_invalid)
MAIN = Scenario("main", 1, "endpoint", _main, _plan_main)
CANCEL = Scenario("cancel", 1, "endpoint", _cancel, _plan_cancel)
REPEAT = Scenario("repeat", 1, "endpoint", _repeat, _plan_repeat)
SYNC_MODE = Scenario("sync_mode", 1, "endpoint", _sync_mode, _plan_sync_mode, _sync_mode_reason)
RUN = Scenario("run", 1, "endpoint", _run, _plan_run, _sync_api_reason)

#: every scenario, in the order their first checks run
SCENARIOS = (AUTH, UNKNOWN, INVALID, MAIN, CANCEL, REPEAT, SYNC_MODE, RUN)
