"""What a check function is given (:class:`Context`) and how checks and scenarios are declared.

A *scenario* is a sequence of requests several checks read (the main queue request followed from submit
to result, an invalid input, a cancelled request, ...). It runs at most once per endpoint, the first time a
check needs it, and declares how many paid submits it costs. A *check* is one small function with one
rule: it reads the scenarios it needs and returns an :class:`~._model.Outcome`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from ..contract import ContractModel
from ._http import Session
from ._model import Outcome, Result

__all__ = ["Check", "CheckFunc", "Context", "Options", "RunState", "Scenario", "Scope", "check"]

Scope = Literal["provider", "endpoint"]


@dataclass(frozen=True)
class Options:
    """How a run behaves.

    Attributes:
        endpoints: the endpoint ids to check (endpoint-scoped checks run once per endpoint).
        max_paid_submits: the hard cap on paid submits (submits and synchronous runs that run the model).
        poll_interval: seconds between status polls at first (growing by half each time, to ten times that
            or 5 s, whichever is less).
        wait_timeout: seconds a request may take to complete before the checks give up on it; also the
            most one HTTP call may take with its retries, and the most a status stream is read.
        request_timeout: seconds one HTTP attempt may wait for the provider (connect, and each read).
        stream_grace: seconds the status stream may stay open after its terminal event.
        seed: the seed sent with the main input (the same-seed check repeats it).
    """

    endpoints: tuple[str, ...]
    max_paid_submits: int = 5
    poll_interval: float = 0.5
    wait_timeout: float = 600.0
    request_timeout: float = 60.0
    stream_grace: float = 5.0
    seed: int = 424242


@dataclass
class RunState:
    """Everything shared by the checks of one run."""

    contract: ContractModel
    session: Session
    options: Options
    expected_scheme: str
    data: dict[tuple[str, str | None], Any] = field(default_factory=dict)
    results: dict[tuple[str, str | None], Result] = field(default_factory=dict)


class Context:
    """What a check or scenario function is given: the contract, the session, the options, the endpoint
    it runs on (None for provider-wide ones) and the data of the scenarios already run."""

    def __init__(self, state: RunState, endpoint: str | None) -> None:
        self.state = state
        self.endpoint = endpoint

    @property
    def contract(self) -> ContractModel:
        return self.state.contract

    @property
    def session(self) -> Session:
        return self.state.session

    @property
    def options(self) -> Options:
        return self.state.options

    @property
    def endpoint_id(self) -> str:
        """The endpoint of an endpoint-scoped check.

        Raises:
            RuntimeError: called from a provider-wide check.
        """
        if self.endpoint is None:
            raise RuntimeError("a provider-wide check has no endpoint")
        return self.endpoint

    def data(self, scenario: Scenario) -> Any:
        """The data a scenario recorded (run by the runner before the check was called)."""
        key = (scenario.name, None if scenario.scope == "provider" else self.endpoint)
        return self.state.data[key]

    def has(self, scenario: Scenario) -> bool:
        return (scenario.name, None if scenario.scope == "provider" else self.endpoint) in self.state.data


CheckFunc = Callable[[Context], Outcome]


@dataclass(frozen=True)
class Scenario:
    """A recorded sequence of requests shared by checks.

    Attributes:
        name: stable name (shown in --dry-run and in skip reasons).
        paid: paid submits it costs (a submit or synchronous run that runs the model).
        scope: ``provider`` (once per run) or ``endpoint`` (once per endpoint).
        run: does the requests; returns the data checks read.
        plan: the requests it would send, one line each, for --dry-run (no network).
        applicable: a reason it cannot run here (e.g. no synchronous API documented), or None.
    """

    name: str
    paid: int
    scope: Scope
    run: Callable[[Context], Any] = field(repr=False)
    plan: Callable[[Context], list[str]] = field(repr=False)
    applicable: Callable[[Context], str | None] = field(repr=False, default=lambda _ctx: None)


@dataclass(frozen=True)
class Check:
    """One named check: one function, one rule.

    Attributes:
        name: the stable name (the function's name; docs/checks.md lists every one).
        func: the check function.
        scope: ``provider`` or ``endpoint``.
        needs: the scenarios it reads.
        depends_on: checks whose failure makes this one's result follow from it (it is then SKIP,
            "depends on X which failed").
        detects: ids of ``x-provider.known_deviations`` this check detects on the wire (a provider with
            one of them is expected to FAIL it).
        source: where the rule comes from (a docs/sources.md section, fal docs).
    """

    name: str
    func: CheckFunc = field(repr=False)
    scope: Scope
    needs: tuple[Scenario, ...]
    depends_on: tuple[str, ...]
    detects: tuple[str, ...]
    source: str

    @property
    def rule(self) -> str:
        """The rule: the first paragraph of the function's docstring, on one line."""
        doc = (self.func.__doc__ or "").strip().split("\n\n", 1)[0]
        return " ".join(doc.split())

    @property
    def paid_submits(self) -> int:
        """Paid submits of the scenarios it needs (shared with the other checks that need them)."""
        return sum(s.paid for s in self.needs)


def check(
    *,
    scope: Scope,
    needs: tuple[Scenario, ...] = (),
    depends_on: tuple[str, ...] = (),
    detects: tuple[str, ...] = (),
    source: str,
) -> Callable[[CheckFunc], Check]:
    """Declare a check; its name is the function's name."""

    def wrap(func: CheckFunc) -> Check:
        return Check(func.__name__, func, scope, needs, depends_on, detects, source)

    return wrap
