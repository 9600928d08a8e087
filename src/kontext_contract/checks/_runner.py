"""Running the checks: order, dependencies, the paid-submit cap, interruption, and the dry-run plan.

The checks run in the order of :data:`ALL_CHECKS`: provider-wide ones once, then every endpoint-scoped one
for each endpoint. Before a check runs:

1. if a check it depends on failed (or was skipped), it is SKIP ("depends on X which failed");
2. every scenario it needs runs, unless the scenario does not apply here, or its paid submits would go
   over the cap: then it is SKIP with that reason, and no request of the scenario is sent.

A run stops early, with the report marked incomplete, when the provider cannot be reached, answers the
first request with something that is not the contract's JSON, rejects the key with every scheme, or
fails everything (an outage: every request, a submit among them, answered 5xx or not at all; checked before
each paid scenario and at the end) (``Report.error``, exit status 2), or on Ctrl-C (the report says ``interrupted``; requests already
submitted and not finished are cancelled, best effort).
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from ..client._providers import Secret
from ..contract import ContractError, ContractModel
from ._checks import ALL_CHECKS
from ._context import Check, Context, Options, RunState, Scenario
from ._evidence import collect_images
from ._http import Budget, BudgetExceeded, MissingEvidence, ProviderUnreachable, Session
from ._model import Evidence, Outcome, Report, Result, skipped
from ._scenarios import SCENARIOS, Abort

__all__ = ["CHECKS_BY_NAME", "Plan", "Target", "plan_run", "run_checks"]

log = logging.getLogger("kontext_contract.checks")

CHECKS_BY_NAME: dict[str, Check] = {c.name: c for c in ALL_CHECKS}


@dataclass(frozen=True)
class Target:
    """What to check.

    Attributes:
        contract: the provider document's facts.
        base_url: the queue base URL.
        run_base_url: the synchronous API base URL, or None.
        key: the credential.
        scheme: the Authorization scheme expected (``Key`` or ``Bearer``).
        mock: whether ``base_url`` is the embedded mock.
        name: the name every line and report gives the provider (``--name`` of an undocumented relay);
            default: the provider document's name.
    """

    contract: ContractModel
    base_url: str
    run_base_url: str | None
    key: Secret
    scheme: str
    mock: bool = False
    name: str | None = None

    @property
    def shown_name(self) -> str:
        """``name``, else the provider document's name."""
        return self.name or self.contract.name


@dataclass(frozen=True)
class _NotRun:
    """A scenario that did not run (``broken`` False: a skip reason) or stopped on an answer it could not
    handle (``broken`` True: the checks that need it FAIL with the reason)."""

    reason: str
    broken: bool = False

    def outcome(self) -> Outcome:
        if self.broken:
            return Outcome("fail", Evidence(expected="answers the scenario can follow", got=self.reason))
        return skipped(self.reason)


def _planned(options: Options) -> list[tuple[Check, str | None]]:
    out: list[tuple[Check, str | None]] = [(c, None) for c in ALL_CHECKS if c.scope == "provider"]
    for endpoint in options.endpoints:
        out.extend((c, endpoint) for c in ALL_CHECKS if c.scope == "endpoint")
    return out


def _key(check: Check, endpoint: str | None) -> tuple[str, str | None]:
    return check.name, None if check.scope == "provider" else endpoint


def _dependency_skip(state: RunState, check: Check, endpoint: str | None) -> Outcome | None:
    for name in check.depends_on:
        dep = CHECKS_BY_NAME[name]
        result = state.results.get(_key(dep, endpoint))
        if result is None:
            continue
        if result.status == "fail":
            return skipped(f"depends on {name} which failed")
        if result.status == "skip":
            return skipped(f"depends on {name} which was skipped")
    return None


def _scenario_skip(state: RunState, ctx: Context, scenario: Scenario) -> tuple[Outcome | None, int]:
    """Run ``scenario`` if it has not run; returns (a skip, or None) and the paid submits it spent."""
    key = (scenario.name, None if scenario.scope == "provider" else ctx.endpoint)
    if key in state.data:
        found = state.data[key]
        return (found.outcome() if isinstance(found, _NotRun) else None), 0
    reason = scenario.applicable(ctx)
    if reason is not None:
        state.data[key] = _NotRun(reason)
        return skipped(reason), 0
    budget = state.session.budget
    if scenario.paid:
        _stop_on_outage(state.session)  # before spending: a provider failing everything is not checked
    if budget.spent + scenario.paid > budget.cap:
        reason = (
            f"needs {scenario.paid} paid submit(s) (scenario {scenario.name}) over the cap "
            f"--max-paid-submits {budget.cap} ({budget.spent} spent)"
        )
        state.data[key] = _NotRun(reason)
        return skipped(reason), 0
    before = budget.spent
    try:
        state.data[key] = scenario.run(ctx)
    except BudgetExceeded as exc:  # a guard: the estimate above should prevent it
        state.data[key] = _NotRun(str(exc))
        return skipped(str(exc)), budget.spent - before
    except MissingEvidence as exc:  # a replay lacking what this scenario asks: its checks are SKIP
        state.data[key] = _NotRun(str(exc))
        return skipped(str(exc)), budget.spent - before
    except (Abort, ProviderUnreachable, ContractError, KeyboardInterrupt):
        raise
    except Exception as exc:  # an answer the scenario could not follow: its checks FAIL, the run goes on
        log.debug("scenario %s raised:\n%s", scenario.name, traceback.format_exc())
        broken = _NotRun(f"scenario {scenario.name} stopped: {type(exc).__name__}: {exc}", broken=True)
        state.data[key] = broken
        return broken.outcome(), budget.spent - before
    return None, budget.spent - before


def disagreement_note(document: Mapping[str, Any], check_name: str, found: str | None = None) -> str:
    """What a FAIL of ``check_name`` must say when fal's own publications disagree on its rule: each entry of
    the contract's ``x-fal-publications-disagree`` (overlays/080-fal-publications.overlay.yaml) that names
    the check, as "fal's publications disagree on <topic>: <other sources> state <other reading>, the
    contract follows <its sources> (<its reading>); a provider doing the former fails here". The FAIL stays
    a FAIL (the contract's choice); the note says which publication the provider may be following. Empty
    when no entry names the check.

    ``found`` is what the check found, in the entry's terms (:attr:`~._model.Outcome.found`). When it is
    given and the entry's other reading does not state it, no publication backs the provider: the note then
    says only what was found and that no fal publication states it. An empty ``found`` means the FAIL is
    about something else than the disagreement: no note."""
    notes: list[str] = []
    entries = document.get("x-fal-publications-disagree")
    for entry in entries if isinstance(entries, list) else []:
        if not isinstance(entry, Mapping) or check_name not in (entry.get("checks") or []):
            continue
        if found == "":  # the FAIL is not about what the publications disagree on
            continue
        if found is not None and found not in str(entry.get("otherwise") or ""):
            notes.append(
                f"{found} is stated by no fal publication (they disagree on {entry.get('topic')} only between "
                f"{_reading(entry.get('contract'))} and {_reading(entry.get('otherwise'))}; docs/contract.md: "
                f"{entry.get('id')})"
            )
            continue
        others = ", ".join(map(str, entry.get("otherwise_sources") or []))
        ours = ", ".join(map(str, entry.get("contract_sources") or []))
        notes.append(
            f"fal's publications disagree on {entry.get('topic')}: {others} state {entry.get('otherwise')}, "
            f"the contract follows {ours} ({entry.get('contract')}); a provider doing the former fails here "
            f"(docs/contract.md, where fal's own publications disagree: {entry.get('id')})"
        )
    return " | ".join(notes)


def _reading(text: Any) -> str:
    """A disagreement's reading without its example in parentheses (``app level, /{owner}/{app}/...``)."""
    return str(text or "").split(" (", 1)[0]


def outage(session: Session) -> str | None:
    """Why the provider is down rather than incompatible: every request so far, a submit among them, was
    answered with a server error (5xx) or not at all. None when any request got another answer (then a
    server error is a finding of the check that asked, e.g. the auth probe's ``auth_scheme_accepted``)."""
    exchanges = session.exchanges
    if not exchanges or any(e.status is not None and e.status < 500 for e in exchanges):
        return None
    if not any(e.method == "POST" for e in exchanges):
        return None  # only probes of unknown ids so far: a relay may answer those 500 and still work
    first = exchanges[0]
    return (
        f"outage: the provider answered every one of the {len(exchanges)} requests sent with a server error "
        f"or not at all (the first: {first.request_line()} -> {first.answer(100)}); nothing could be "
        "checked, try again later"
    )


def _stop_on_outage(session: Session) -> None:
    reason = outage(session)
    if reason is not None:
        raise Abort(reason)


def _evaluate(state: RunState, check: Check, endpoint: str | None) -> Result:
    ctx = Context(state, endpoint)
    paid = 0
    outcome = _dependency_skip(state, check, endpoint)
    if outcome is None:
        for scenario in check.needs:
            skip, spent = _scenario_skip(state, ctx, scenario)
            paid += spent
            if skip is not None:
                outcome = skip
                break
    if outcome is None:
        try:
            outcome = check.func(ctx)
        except (Abort, ProviderUnreachable, ContractError, KeyboardInterrupt):
            raise
        except Exception as exc:  # an answer the check could not read: report it, do not crash the run
            log.debug("check %s raised:\n%s", check.name, traceback.format_exc())
            outcome = Outcome(
                "fail", Evidence(expected="an answer the check can read", got=f"{type(exc).__name__}: {exc}")
            )
    redact = state.session.redactor.text
    note = (
        disagreement_note(ctx.contract.document, check.name, outcome.found)
        if outcome.status == "fail"
        else ""
    )
    evidence = Evidence(
        sent=redact(outcome.evidence.sent),
        expected=redact(outcome.evidence.expected),
        got=redact(outcome.evidence.got),
        reason=redact(outcome.evidence.reason),
        note=note,
    )
    return Result(check.name, outcome.status, endpoint if check.scope == "endpoint" else None, evidence, paid)


def _session(
    target: Target,
    options: Options,
    transport: httpx.BaseTransport | None,
    wrap: Callable[[httpx.BaseTransport], httpx.BaseTransport] | None = None,
) -> Session:
    return Session(
        wrap=wrap,
        base_url=target.base_url,
        run_base_url=target.run_base_url,
        scheme=target.scheme,
        key=target.key,
        budget=Budget(options.max_paid_submits),
        transport=transport,
        retry_delay=min(0.5, max(options.poll_interval, 0.01)),
        timeout=options.request_timeout,
        total_timeout=options.wait_timeout,
    )


def run_checks(
    target: Target,
    options: Options,
    *,
    transport: httpx.BaseTransport | None = None,
    on_start: Callable[[Check, str | None], None] | None = None,
    on_result: Callable[[Report, Result], None] | None = None,
    wrap: Callable[[httpx.BaseTransport], httpx.BaseTransport] | None = None,
) -> Report:
    """Run every check against ``target``.

    Args:
        target: the provider, its base URL, key and expected scheme.
        options: endpoints, cap, polling.
        transport: an httpx transport (tests inject one; a replay gives its :class:`~._har.ReplayTransport`).
        wrap: wraps every transport the run sends through (``check --record``: :meth:`~._har.Recorder.wrap`).
        on_start: called before each check (progress display).
        on_result: called after each check with the report so far (the CLI rewrites its reports then,
            so that nothing is lost on Ctrl-C).

    Returns:
        The report: ``complete`` when every check ran, ``interrupted`` after Ctrl-C, ``error`` when the run
        stopped because the provider could not be checked, or the provider document lacks what a check
        needs. Nothing is raised for those (KeyboardInterrupt included).
    """
    report = Report(
        provider=target.shown_name,
        base_url=target.base_url,
        endpoints=list(options.endpoints),
        max_paid_submits=options.max_paid_submits,
        mock=target.mock,
        document=target.contract.source,
    )
    session = _session(target, options, transport, wrap)
    state = RunState(target.contract, session, options, target.scheme)
    cancel_method = target.contract.request_operation("cancel").method
    try:
        for check, endpoint in _planned(options):
            if on_start is not None:
                on_start(check, endpoint)
            try:
                result = _evaluate(state, check, endpoint)
            finally:
                report.paid_submits = session.budget.spent
            state.results[_key(check, endpoint)] = result
            report.results.append(result)
            if on_result is not None:
                on_result(report, result)
        _stop_on_outage(session)  # e.g. with --max-paid-submits 0, no paid scenario asked before
        report.complete = True
    except KeyboardInterrupt:
        report.interrupted = True
        report.error = "interrupted (Ctrl-C)"
        asked = session.cancel_open(cancel_method)
        if asked:
            report.error += f"; asked to cancel {asked} unfinished request(s)"
    except Abort as exc:
        report.error = session.redactor.text(str(exc))
    except ContractError as exc:
        report.error = f"the contract lacks what a check needs: {exc}"
        session.cancel_open(cancel_method)
    except ProviderUnreachable as exc:
        report.error = f"cannot reach {session.base_url}: {exc}"
        session.cancel_open(cancel_method)
    finally:
        session.close()
        report.images, report.images_downloaded = collect_images(state.data)
    return report


@dataclass(frozen=True)
class Plan:
    """What a run would send (``--dry-run``).

    Attributes:
        lines: one line per planned request, grouped under a header per scenario.
        max_paid_submits: the most paid submits the run could spend (within the cap).
        wanted_paid_submits: the paid submits every applicable scenario together would need.
        skipped: ``(scenario, reason)`` for scenarios that would not run.
    """

    lines: list[str]
    max_paid_submits: int
    wanted_paid_submits: int
    skipped: list[tuple[str, str]]


def plan_run(target: Target, options: Options) -> Plan:
    """The requests a run would send, scenario by scenario, without sending anything."""
    session = _session(target, options, None)
    state = RunState(target.contract, session, options, target.scheme)
    lines: list[str] = []
    skipped_scenarios: list[tuple[str, str]] = []
    wanted = 0
    spent = 0
    try:
        for endpoint in (None, *options.endpoints):
            ctx = Context(state, endpoint)
            for scenario in SCENARIOS:
                if (scenario.scope == "provider") != (endpoint is None):
                    continue
                users = [c.name for c in ALL_CHECKS if scenario in c.needs]
                where = f" [{endpoint}]" if endpoint else ""
                reason = scenario.applicable(ctx)
                if reason is not None:
                    skipped_scenarios.append((scenario.name + where, reason))
                    lines.append(f"scenario {scenario.name}{where}: not sent ({reason})")
                    continue
                wanted += scenario.paid
                if spent + scenario.paid > options.max_paid_submits:
                    why = f"over the cap --max-paid-submits {options.max_paid_submits}"
                    skipped_scenarios.append((scenario.name + where, why))
                    lines.append(f"scenario {scenario.name}{where}: not sent ({why}); its checks are SKIP")
                    continue
                spent += scenario.paid
                cost = f"{scenario.paid} paid submit" if scenario.paid else "free"
                lines.append(f"scenario {scenario.name}{where} ({cost}; for {', '.join(users)}):")
                lines.extend(f"  {line}" for line in scenario.plan(ctx))
    finally:
        session.close()
    return Plan(lines, spent, wanted, skipped_scenarios)
