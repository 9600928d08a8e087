"""``check --record`` and ``check --replay``: a run's exchanges kept as HAR, and the checks evaluated again
on them against the *current* contract, offline, deterministic and free.

A replay runs the very same battery (:func:`~._runner.run_checks`) with a
:class:`~._har.ReplayTransport` in place of the network: every request the checks send is answered by the
recorded exchange of the same method and URL, in recorded order. So a replay of a fresh recording gives
the live run's verdicts, and a contract changed since the recording gives the verdicts the recorded
answers earn under it. Where a verdict differs from the recorded run's, its line names the contract
changes since the recording (``kontext-contract diff``'s kinds and JSONPaths, those touching what the check
looked at first): ``...; contract change: BREAKING status-code-removed $.paths[...]...``.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from ..client._providers import Secret
from ..contract import ContractModel
from ._context import Check, Options
from ._har import Recorder, Recording, ReplayTransport, build_har
from ._model import Report, Result
from ._runner import Target, run_checks

__all__ = ["REPLAY_KEY", "contract_digest", "recording_document", "replay"]

#: the key a replay's session holds: nothing is sent, so no real key is needed (and none is in a recording)
REPLAY_KEY = "kontext-replay-sends-nothing"
_MINOR_KINDS = ("description-changed", "summary-changed", "title-changed", "example-changed")


def contract_digest(document: dict[str, Any]) -> str:
    """SHA-256 of a provider document in canonical JSON (sorted keys): equal digests, equal contracts."""
    text = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def recording_document(
    recorder: Recorder, target: Target, options: Options, report: Report, redact: Any
) -> dict[str, Any]:
    """The HAR of a run (:func:`~._har.build_har`) with what a replay needs in ``log._kontext``: who was
    checked, the options, the provider document the run was checked against, the run's report."""
    meta = {
        "recorded_at": datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
        "name": target.shown_name,
        "provider": target.contract.name,
        "document": target.contract.source,
        "base_url": target.base_url,
        "run_base_url": target.run_base_url,
        "scheme": target.scheme,
        "mock": target.mock,
        "options": {
            "endpoints": list(options.endpoints),
            "max_paid_submits": options.max_paid_submits,
            "poll_interval": options.poll_interval,
            "wait_timeout": options.wait_timeout,
            "request_timeout": options.request_timeout,
            "stream_grace": options.stream_grace,
            "seed": options.seed,
        },
        "contract": {
            "sha256": contract_digest(target.contract.document),
            "document": target.contract.document,
        },
        "report": report.as_dict(),
    }
    where = "the embedded mock" if target.mock else target.base_url
    return build_har(recorder, redact, meta, title=f"kontext-contract check {target.shown_name} at {where}")


def _tokens(text: str) -> set[str]:
    return {t for t in re.findall(r"[A-Za-z_][A-Za-z0-9_-]{3,}", text)}


def _describe(changes: list[Any], result: Result, check: Check | None, limit: int = 3) -> str:
    """The contract changes behind a turned verdict, those touching what the check looked at first."""
    if not changes:
        return ""
    major = [c for c in changes if c.kind not in _MINOR_KINDS] or list(changes)
    evidence = result.evidence
    seen = _tokens(" ".join((evidence.sent, evidence.expected, evidence.got, evidence.reason)))
    if check is not None:
        seen |= _tokens(check.source + " " + check.rule)

    def touches(change: Any) -> bool:
        return bool(_tokens(change.path) & seen)

    ranked = sorted(major, key=lambda c: (not touches(c), not c.breaking, c.path))
    shown = [" ".join(c.line().split()) for c in ranked[:limit]]
    more = f" (+{len(ranked) - limit} more: kontext-contract diff)" if len(ranked) > limit else ""
    return "; ".join(shown) + more


def _recorded_statuses(meta: dict[str, Any]) -> dict[tuple[str, str | None], str]:
    checks = (meta.get("report") or {}).get("checks") or []
    return {
        (str(c.get("name")), c.get("endpoint")): str(c.get("status")) for c in checks if isinstance(c, dict)
    }


def replay(
    recording: Recording,
    *,
    on_result: Callable[[Report, Result], None] | None = None,
    on_start: Callable[[Check, str | None], None] | None = None,
) -> Report:
    """Evaluate every check on ``recording``'s exchanges against the current contract (the provider document
    of the recorded provider, as the current project builds it; ``--root`` chooses the project).

    Returns:
        The report, with ``replay`` saying which file, when it was recorded, whether the contract changed
        since, and the changes; a verdict that differs from the recorded run's carries the changes in its
        evidence (``change``). Nothing is sent; ``paid_submits`` is 0.

    Raises:
        ContractError: the recorded provider has no document in the current project.
    """
    from ..drift import diff_documents
    from ._runner import CHECKS_BY_NAME

    meta = recording.meta
    contract = ContractModel.load(str(meta.get("provider"))).require()
    opts = meta.get("options") or {}
    options = Options(
        endpoints=tuple(opts.get("endpoints") or (contract.default_endpoint(),)),
        max_paid_submits=int(opts.get("max_paid_submits", 5)),
        poll_interval=0.0,
        wait_timeout=float(opts.get("wait_timeout", 600.0)),
        request_timeout=float(opts.get("request_timeout", 60.0)),
        stream_grace=float(opts.get("stream_grace", 5.0)),
        seed=int(opts.get("seed", 424242)),
    )
    target = Target(
        contract=contract,
        base_url=str(meta["base_url"]),
        run_base_url=meta.get("run_base_url"),
        key=Secret(REPLAY_KEY),
        scheme=str(meta.get("scheme") or contract.provider.auth_scheme),
        mock=bool(meta.get("mock")),
        name=str(meta.get("name") or contract.name),
    )
    recorded_contract = meta.get("contract") or {}
    changed = recorded_contract.get("sha256") != contract_digest(contract.document)
    changes = []
    if changed and isinstance(recorded_contract.get("document"), dict):
        changes = diff_documents(recorded_contract["document"], contract.document)
    before = _recorded_statuses(meta)

    def turned(report: Report, result: Result) -> None:
        recorded = before.get((result.name, result.endpoint))
        if changed and recorded is not None and recorded != result.status:
            why = _describe(changes, result, CHECKS_BY_NAME.get(result.name)) or (
                "the contract differs from the recording's (no difference kontext-contract diff classifies)"
            )
            result = replace(
                result, evidence=replace(result.evidence, change=f"{recorded.upper()} when recorded; {why}")
            )
            report.results[-1] = result
        if on_result is not None:
            on_result(report, result)

    report = run_checks(
        target, options, transport=ReplayTransport(recording), on_start=on_start, on_result=turned
    )
    recorded_report = meta.get("report") or {}
    report.paid_submits = 0
    report.replay = {
        "file": str(recording.path),
        "recorded_at": meta.get("recorded_at"),
        "recorded_verdict": recorded_report.get("verdict"),
        "recorded_paid_submits": recorded_report.get("paid_submits"),
        "recorded_images": recorded_report.get("images"),
        "contract_changed": changed,
        "contract_changes": [" ".join(c.line().split()) for c in changes[:50]],
    }
    return report
