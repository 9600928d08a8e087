"""The values the checks produce: an outcome per check, the result line, and the whole report."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = ["Evidence", "Outcome", "Report", "Result", "Status", "failed", "passed", "skipped"]

Status = Literal["pass", "fail", "skip"]

#: format version of the JSON report (docs/checks.md "JSON report"); bumped only on incompatible changes
REPORT_FORMAT = 1


@dataclass(frozen=True)
class Evidence:
    """What a check saw: what was sent, what the contract expects, what came back; or why it was skipped.

    Every text is one line, already redacted (the key never appears), and refers to URLs on the checked
    base URL by their path only, so that the text does not depend on a host or port.
    """

    sent: str = ""
    expected: str = ""
    got: str = ""
    reason: str = ""
    #: for a FAIL where fal's own publications disagree: which one the provider may be following, and
    #: which the contract follows (the contract's ``x-fal-publications-disagree``); else empty
    note: str = ""
    #: for a replay whose verdict differs from the recorded run's: the contract changes since the recording
    #: (``kontext-contract diff`` kinds and JSONPaths) that turned it; else empty
    change: str = ""

    def text(self) -> str:
        """One line: ``sent ...; expected ...; got ...[; note: ...]`` (or the reason of a skip)."""
        if self.reason:
            return self.reason + (f"; contract change: {self.change}" if self.change else "")
        parts = [f"sent {self.sent}" if self.sent else "", f"expected {self.expected}", f"got {self.got}"]
        if self.note:
            parts.append(f"note: {self.note}")
        if self.change:
            parts.append(f"contract change: {self.change}")
        return "; ".join(p for p in parts if p)

    def as_dict(self) -> dict[str, str]:
        if self.reason:
            return {"reason": self.reason, **({"change": self.change} if self.change else {})}
        out = {"sent": self.sent, "expected": self.expected, "got": self.got}
        if self.note:
            out["note"] = self.note
        if self.change:
            out["change"] = self.change
        return out


@dataclass(frozen=True)
class Outcome:
    """What one check function returns: a status and its evidence.

    ``found`` is, for a check that a disagreement among fal's publications names, the value the provider
    answered in the terms of that disagreement (e.g. ``/{endpoint_id}/requests/{request_id}``, ``200 in
    every state``): the FAIL's note cites the disagreement only when a publication states that value
    (:func:`~._runner.disagreement_note`); ``""`` when the FAIL is about something else than the
    disagreement (no note); None when the check does not tell.
    """

    status: Status
    evidence: Evidence
    found: str | None = None


def passed(sent: str, expected: str, got: str) -> Outcome:
    """The provider follows the rule."""
    return Outcome("pass", Evidence(sent=sent, expected=expected, got=got))


def failed(sent: str, expected: str, got: str, *, found: str | None = None) -> Outcome:
    """The provider breaks the rule: an incompatibility (``found``: see :class:`Outcome`)."""
    return Outcome("fail", Evidence(sent=sent, expected=expected, got=got), found)


def skipped(reason: str) -> Outcome:
    """The rule could not be judged (not applicable, not observable, over the paid-submit cap, or it
    follows from another check's failure); ``reason`` says which."""
    return Outcome("skip", Evidence(reason=reason))


@dataclass(frozen=True)
class Result:
    """One check's result in a report.

    Attributes:
        name: the check's stable name (docs/checks.md).
        status: ``pass``, ``fail`` or ``skip``.
        endpoint: the endpoint id the check ran on, or None for provider-wide checks.
        evidence: what was seen.
        paid_submits: paid submits this check caused (a submit shared by several checks is counted
            once, on the first check that needed it).
    """

    name: str
    status: Status
    endpoint: str | None
    evidence: Evidence
    paid_submits: int = 0

    def line(self) -> str:
        """The one line of output: ``PASS name [endpoint]: evidence``."""
        where = f" [{self.endpoint}]" if self.endpoint else ""
        return f"{self.status.upper()} {self.name}{where}: {self.evidence.text()}"

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "status": self.status,
            "endpoint": self.endpoint,
            "evidence": self.evidence.as_dict(),
            "paid_submits": self.paid_submits,
            "line": self.line(),
        }


@dataclass
class Report:
    """A run of the checks against one provider; complete only when every planned check ran.

    Attributes:
        provider: the provider's name as every line and report shows it: the provider document's name
            (``fal``, ``relay-a``, ...), or ``--name`` for an undocumented relay (``--provider relay``).
        base_url: the queue base URL checked (the embedded mock's address when no --base-url was given).
        endpoints: the endpoint ids checked.
        max_paid_submits: the cap.
        results: the results so far, in the order the checks ran.
        complete: every planned check ran.
        interrupted: the run was stopped by Ctrl-C.
        error: why the run stopped early (a connection error, a rejected key, ...), or None.
        mock: True when the checks ran against the embedded mock.
        paid_submits: paid submits spent so far (also those of a check interrupted before it finished).
        document: the provider document holding the expectations (``openapi/providers/fal.openapi.yaml``).
        replay: for a replay, the recording it evaluated (``{"file", "recorded", "contract_changed"}``).
        images: the output images seen (for the HTML report; not in the JSON report).
        images_downloaded: output images fetched or decoded (each costs money on a live provider).
    """

    provider: str
    base_url: str
    endpoints: list[str]
    max_paid_submits: int
    results: list[Result] = field(default_factory=list)
    complete: bool = False
    interrupted: bool = False
    error: str | None = None
    mock: bool = False
    paid_submits: int = 0
    document: str = ""
    replay: dict[str, Any] | None = None
    images: list[Any] = field(default_factory=list, repr=False)
    images_downloaded: int = 0

    @property
    def failures(self) -> list[Result]:
        return [r for r in self.results if r.status == "fail"]

    @property
    def compatible(self) -> bool:
        """True for a complete run in which no check failed (skips do not count against it)."""
        return self.complete and not self.failures

    @property
    def skips(self) -> list[Result]:
        return [r for r in self.results if r.status == "skip"]

    def verdict(self) -> str:
        """One line: ``compatible``, ``NOT compatible (2 failed)`` or ``INCOMPLETE (why)``; followed by the
        checks that could not run, when any did not (``compatible; 4 checks could not run: a, b, ...``), so
        that a verdict never reads as if a skipped check had passed."""
        if not self.complete:
            text = f"INCOMPLETE ({self.error or 'stopped'})"
        elif self.compatible:
            text = "compatible"
        else:
            text = f"NOT compatible ({len(self.failures)} failed)"
        skips = self.skips
        if skips:
            names = ", ".join(dict.fromkeys(r.name for r in skips))
            text += f"; {len(skips)} check{'s' if len(skips) != 1 else ''} could not run: {names}"
        return text

    def counts(self) -> dict[str, int]:
        out = {"pass": 0, "fail": 0, "skip": 0}
        for r in self.results:
            out[r.status] += 1
        return out

    def as_dict(self) -> dict[str, Any]:
        """The JSON report (docs/checks.md "JSON report")."""
        return {
            "format": REPORT_FORMAT,
            "provider": self.provider,
            "base_url": self.base_url,
            "mock": self.mock,
            "endpoints": list(self.endpoints),
            "compatible": self.compatible,
            "complete": self.complete,
            "interrupted": self.interrupted,
            "error": self.error,
            "counts": self.counts(),
            "verdict": self.verdict(),
            "checks": [r.as_dict() for r in self.results],
            "paid_submits": self.paid_submits,
            "max_paid_submits": self.max_paid_submits,
            "images": self.images_downloaded,
            "document": self.document,
            "replay": self.replay,
        }
