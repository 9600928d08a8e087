"""The whole intake loop in one call: fetch -> check -> apply -> acknowledge -> spec -> client -> diff, ending
with a Markdown summary fit for a pull request (``kontext-contract sources update``, ``make update``;
docs/pipeline.md "fal changed a field").

The loop stops before acknowledging when a person must look first, unless ``yes`` says one did:

- new or changed merge disagreements: the sources are applied (review ``git diff openapi/sources``) and the
  loop stops; run it again with ``yes=True`` (``--yes``) to acknowledge them and go on;
- a problem no acknowledgement can settle: a source fact that reaches neither the contract nor an x-drops
  record, an overlay action that no longer matches, a contract that does not build. These need an overlay
  edit; the loop stops even with ``yes``.

Status: ``done`` (the contract, reports and client are rebuilt, or nothing changed), ``review`` (stopped;
the summary says what to look at). Bad input (a download, a folder) raises before anything is written.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .._layout import Layout
from ..pipeline import SourceFact, SpecError, acknowledge, build, load_yaml
from ._diff import Change, diff_documents
from ._fetch import Fetched, fetch_sources
from ._sources_check import SourcesReport, check_sources

__all__ = ["UpdateResult", "update_sources"]

_MAX_ROWS = 40


@dataclass
class UpdateResult:
    status: str  # done | review
    fetched: list[Fetched]
    report: SourcesReport
    steps: list[tuple[str, str]] = field(default_factory=list)
    """(step, what happened), in order."""
    contract_changes: list[Change] = field(default_factory=list)
    review: list[str] = field(default_factory=list)
    """what a person must look at before the loop can go on."""

    def markdown(self) -> str:
        return _markdown(self)


def _cell(value: Any) -> str:
    text = value if isinstance(value, str) else repr(value)
    return text.replace("|", "\\|").replace("\n", " ")[:120]


def _markdown(result: UpdateResult) -> str:
    r = result.report
    lines = [
        "## Contract update from fal's publications",
        "",
        f"Result: **{'needs review' if result.status == 'review' else 'contract rebuilt'}** "
        f"(`kontext-contract sources update`).",
        "",
        "| step | result |",
        "|---|---|",
        *(f"| {step} | {_cell(what)} |" for step, what in result.steps),
        "",
        f"### Downloaded ({len(result.fetched)})",
        "",
        *(f"- `{f.name}` ({f.size} bytes) from {f.url}" for f in result.fetched),
        "",
        "### Sources",
        "",
        "| id | file | status | detail |",
        "|---|---|---|---|",
        *(
            f"| {s.id} | {s.file} | {s.status} | {_cell(s.detail)} |"
            for s in r.sources
            if s.status != "not-provided"
        ),
        "",
        f"### Facts: {len(r.new_facts)} new, {len(r.changed_facts)} changed, {len(r.removed_facts)} removed",
        "",
    ]
    added = {s.file for s in r.sources if s.status == "new"}
    for name in sorted(added):
        count = sum(f.source == name for f in r.new_facts)
        lines.append(
            f"- `{name}` (a new source): {count} fact(s), listed in openapi/build/fact-accounting.json"
        )
    if added:
        lines.append("")
    rows: list[tuple[str, SourceFact, SourceFact | None]] = [
        ("new", f, None) for f in r.new_facts if f.source not in added
    ]
    rows += [("changed", b, a) for a, b in r.changed_facts]
    rows += [("removed", f, None) for f in r.removed_facts]
    if rows:
        lines += ["| | source | field | value | was |", "|---|---|---|---|---|"]
        for what, fact, old in rows[:_MAX_ROWS]:
            shown = "" if fact.kind in {"property", "parameter"} else fact.value
            was = "" if old is None or fact.kind in {"property", "parameter"} else old.value
            lines.append(
                f"| {what} | {fact.source} | {fact.kind} `{fact.field}` | {_cell(shown)} | {_cell(was)} |"
            )
        if len(rows) > _MAX_ROWS:
            lines.append(f"| ... | {len(rows) - _MAX_ROWS} more | | | |")
        lines.append("")
    changes = result.contract_changes or r.contract_changes
    breaking = sum(c.breaking for c in changes)
    lines += [f"### Contract diff: {breaking} breaking, {len(changes) - breaking} non-breaking", ""]
    lines += [
        f"- {'**' if c.breaking else ''}{c.line()}{'**' if c.breaking else ''}" for c in changes[:_MAX_ROWS]
    ]
    if len(changes) > _MAX_ROWS:
        lines.append(f"- ... {len(changes) - _MAX_ROWS} more")
    if result.review:
        lines += ["", "### Needs review", "", *(f"- {item}" for item in result.review)]
    return "\n".join(lines).rstrip() + "\n"


def update_sources(
    layout: Layout,
    endpoint_ids: Iterable[str],
    *,
    folder: Path | None = None,
    base_url: str | None = None,
    timeout: float = 30.0,
    yes: bool = False,
) -> UpdateResult:
    """Run the intake loop on the project at ``layout``.

    Args:
        endpoint_ids: whose per-endpoint OpenAPI to fetch (the contract model's endpoint ids).
        folder: where the downloads go (default: a temporary folder, removed afterwards).
        base_url, timeout: as :func:`fetch_sources`.
        yes: a person reviewed the applied sources: acknowledge the merge disagreements and go on.

    Raises:
        FetchError: a bad download (nothing written). SourcesFolderError: a bad file in the folder.
        SpecError: the project's own inputs do not load.
    """
    from .. import codegen
    from ..pipeline import load_manifest

    manifest = load_manifest(layout.manifest)
    committed = load_yaml(layout.contract)
    with tempfile.TemporaryDirectory(prefix="kontext-fetch-") as tmp:
        dest = folder if folder is not None else Path(tmp) / "fetched"
        fetched = fetch_sources(manifest, endpoint_ids, dest, base_url=base_url, timeout=timeout)
        report = check_sources(layout, dest, apply=True)
    result = UpdateResult(status="done", fetched=fetched, report=report)
    result.steps.append(("fetch", f"{len(fetched)} document(s)"))
    changed = [s for s in report.sources if s.status in ("changed", "new")]
    result.steps.append(
        ("check", f"{len(changed)} source(s) new or changed; {len(report.new_facts)} new fact(s)")
    )
    result.steps.append(("apply", ", ".join(report.applied) or "nothing to apply"))
    blocking: list[str] = []
    if report.build_error:
        blocking.append("the contract does not build from the new sources: " + report.build_error)
    blocking += ["overlay: " + p.splitlines()[0] for p in report.overlay_problems]
    if report.fact_problems:
        blocking.append("fact accounting: " + report.fact_problems)
    blocking += [
        f"source {s.id} ({s.file}): {s.status}: {s.detail}"
        for s in report.sources
        if s.status in ("needs-transcription", "unparseable")
    ]
    disagreements = [f"NEW disagreement {d.id}: {d.values}" for d in report.new_disagreements] + [
        f"CHANGED disagreement {d.id}: acknowledged {old['values']}, now {d.values}"
        for old, d in report.changed_disagreements
    ]
    if blocking:
        result.status = "review"
        result.review = [
            *blocking,
            "change the overlays (docs/pipeline.md 'Overlays correct, they do not restate'), then run "
            "`make update` again",
        ]
        result.steps.append(("acknowledge", "stopped: the new sources need an overlay change first"))
        return result
    if disagreements and not yes:
        result.status = "review"
        result.review = [
            *disagreements,
            "review `git diff openapi/sources` and the disagreements above, then run `make update YES=1` "
            "(`kontext-contract sources update --yes`) to acknowledge them",
        ]
        result.steps.append(("acknowledge", f"stopped: {len(disagreements)} disagreement(s) to review"))
        return result
    if disagreements:
        total, new = acknowledge(layout)
        result.steps.append(
            ("acknowledge", f"{new} new or changed of {total} disagreement(s), reviewed (--yes)")
        )
    else:
        result.steps.append(("acknowledge", "nothing to acknowledge"))
    try:
        built = build(layout)
    except SpecError as exc:
        result.status = "review"
        result.review = [exc.render()]
        result.steps.append(("spec", "failed"))
        return result
    written = built.write()
    result.steps.append(("spec", f"{len(written)} file(s) written"))
    try:
        regenerated = codegen.generate(layout)
    except codegen.CodegenError as exc:
        result.status = "review"
        result.review = [f"the client does not generate from the new contract: {exc}"[:4000]]
        result.steps.append(("client", "failed (generated/ left as it was)"))
        return result
    result.steps.append(("client", "regenerated" if regenerated else "already current"))
    result.contract_changes = diff_documents(committed, built.contract)
    breaking = sum(c.breaking for c in result.contract_changes)
    result.steps.append(
        ("diff", f"{breaking} breaking, {len(result.contract_changes) - breaking} non-breaking change(s)")
    )
    return result
