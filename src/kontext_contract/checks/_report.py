"""The reports of a run: JSON (for machines), Markdown (for people), JUnit XML (for CI), written atomically.

Every text passes through the run's redactor once more before it is written, so the key cannot reach a
report even through an answer that echoes it.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path

from ..pipeline import write_atomic
from ._model import Report

__all__ = ["render_json", "render_junit", "render_markdown", "write_reports"]


def render_json(report: Report) -> str:
    """The JSON report (docs/checks.md "JSON report"): sorted keys, two-space indent, trailing newline."""
    return json.dumps(report.as_dict(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render_markdown(report: Report) -> str:
    """A Markdown page: the verdict, then one table row per check (status, name, endpoint, evidence)."""
    counts = report.counts()
    verdict = report.verdict()
    lines = [
        f"# Provider checks: {report.provider}",
        "",
        f"- base URL: `{report.base_url}`" + (" (the embedded mock)" if report.mock else ""),
        f"- expectations: `{report.document or '-'}`",
        f"- endpoints: {', '.join(f'`{e}`' for e in report.endpoints)}",
        f"- verdict: **{verdict}**",
        f"- checks: {counts['pass']} pass, {counts['fail']} fail, {counts['skip']} skip",
        f"- paid submits: {report.paid_submits} (cap {report.max_paid_submits})",
        *_replay_lines(report),
        "",
        "| status | check | endpoint | evidence |",
        "|---|---|---|---|",
    ]
    for r in report.results:
        lines.append(
            f"| {r.status.upper()} | `{r.name}` | {f'`{r.endpoint}`' if r.endpoint else '-'} | {_cell(r.evidence.text())} |"
        )
    lines.append("")
    lines.append("Check names and rules: docs/checks.md.")
    return "\n".join(lines) + "\n"


def _replay_lines(report: Report) -> list[str]:
    if report.replay is None:
        return []
    replay = report.replay
    changed = (
        f"the contract changed since ({len(replay.get('contract_changes') or [])} change(s))"
        if replay.get("contract_changed")
        else "the contract is the recording's"
    )
    return [
        f"- replay of `{replay.get('file')}` recorded {replay.get('recorded_at')} (then: "
        f"{replay.get('recorded_verdict')}); {changed}; nothing was sent"
    ]


def render_junit(report: Report) -> str:
    """JUnit XML: one ``testsuite`` for the provider, one ``testcase`` per check (``failure`` for FAIL,
    ``skipped`` for SKIP); an incomplete run adds an ``error`` test case named ``run``."""
    counts = report.counts()
    suite = ET.Element(
        "testsuite",
        {
            "name": f"kontext-contract check {report.provider}",
            "tests": str(len(report.results) + (0 if report.complete else 1)),
            "failures": str(counts["fail"]),
            "errors": "0" if report.complete else "1",
            "skipped": str(counts["skip"]),
        },
    )
    props = ET.SubElement(suite, "properties")
    for name, value in (
        ("base_url", report.base_url),
        ("compatible", str(report.compatible).lower()),
        ("complete", str(report.complete).lower()),
        ("paid_submits", str(report.paid_submits)),
        ("expectations", report.document),
        ("replay", str((report.replay or {}).get("file") or "")),
    ):
        ET.SubElement(props, "property", {"name": name, "value": value})
    for r in report.results:
        case = ET.SubElement(
            suite,
            "testcase",
            {"classname": f"{report.provider}.{r.endpoint or 'provider'}", "name": r.name},
        )
        if r.status == "fail":
            ET.SubElement(case, "failure", {"message": r.evidence.text()[:500]}).text = r.line()
        elif r.status == "skip":
            ET.SubElement(case, "skipped", {"message": r.evidence.text()[:500]})
    if not report.complete:
        case = ET.SubElement(suite, "testcase", {"classname": report.provider, "name": "run"})
        ET.SubElement(case, "error", {"message": report.error or "incomplete"})
    ET.indent(suite)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(suite, encoding="unicode") + "\n"


def write_reports(
    report: Report,
    redact: Callable[[str], str],
    *,
    json_path: Path | None = None,
    md_path: Path | None = None,
    junit_path: Path | None = None,
) -> None:
    """Write the asked reports, each through a temporary file and a rename (a reader never sees half a
    report, and an earlier complete write is never lost to a failed one)."""
    for path, render in ((json_path, render_json), (md_path, render_markdown), (junit_path, render_junit)):
        if path is not None:
            write_atomic(path, redact(render(report)))
