"""Source drift: newer copies of the published documents against the manifest, and what they would do.

Given a folder of files a user downloaded, this:
1. says which sources changed (SHA-256 of the published text against the manifest);
2. rebuilds the contract from them in a temporary copy of the project;
3. reports new or changed disagreements between sources, overlay actions that no longer match or no
   longer change anything, and the contract diff classified for a client (``diff_documents``).

Nothing in the project changes unless ``apply=True``: then the changed source files and the
manifest's digests are written (atomically), for a person to rebuild, review and acknowledge.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .._layout import Layout
from ..pipeline import (
    AccountingError,
    Disagreement,
    Manifest,
    OverlayError,
    SourceFact,
    SpecError,
    account_facts,
    apply_overlay,
    load_acknowledged,
    load_manifest,
    load_overlay,
    merge_sources,
    source_facts,
    validate_openapi,
    write_atomic,
)
from ._diff import Change, diff_documents
from ._fetch import DEFAULT_FAL_OPENAPI_URL, FAL_OPENAPI_PREFIX, check_openapi, fal_openapi_url

__all__ = ["SourceStatus", "SourcesFolderError", "SourcesReport", "check_sources"]

#: the largest file taken as a published page or a transcribed source (the five are 3-6 KB)
MAX_SOURCE_BYTES = 4 * 1024 * 1024

_FENCE = re.compile(r"^```yaml\n(.*?)^```", re.S | re.M)


@dataclass
class SourceStatus:
    id: str
    file: str
    status: str  # unchanged | changed | new | not-provided | needs-transcription | unparseable
    detail: str = ""


@dataclass
class SourcesReport:
    sources: list[SourceStatus] = field(default_factory=list)
    new_disagreements: list[Disagreement] = field(default_factory=list)
    changed_disagreements: list[tuple[dict[str, Any], Disagreement]] = field(default_factory=list)
    gone_disagreements: list[str] = field(default_factory=list)
    overlay_problems: list[str] = field(default_factory=list)
    contract_changes: list[Change] = field(default_factory=list)
    new_facts: list[SourceFact] = field(default_factory=list)
    changed_facts: list[tuple[SourceFact, SourceFact]] = field(default_factory=list)
    removed_facts: list[SourceFact] = field(default_factory=list)
    fact_problems: str | None = None
    """the fact accounting's refusal on the new sources (facts in neither the contract nor an x-drops)."""
    build_error: str | None = None
    applied: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return any(s.status != "unchanged" and s.status != "not-provided" for s in self.sources)

    @property
    def needs_attention(self) -> bool:
        """True when a person must act: a new or changed disagreement, a stale overlay action, a failed
        rebuild, a breaking contract change, or a source that could not be taken as it is."""
        return bool(
            self.new_disagreements
            or self.changed_disagreements
            or self.overlay_problems
            or self.fact_problems
            or self.build_error
            or any(c.breaking for c in self.contract_changes)
            or any(s.status in ("needs-transcription", "unparseable") for s in self.sources)
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "sources": [vars(s) for s in self.sources],
            "new_disagreements": [d.as_dict() for d in self.new_disagreements],
            "changed_disagreements": [
                {"acknowledged": old, "now": d.as_dict()} for old, d in self.changed_disagreements
            ],
            "gone_disagreements": self.gone_disagreements,
            "overlay_problems": self.overlay_problems,
            "contract_changes": [c.as_dict() for c in self.contract_changes],
            "new_facts": [f.as_dict() for f in self.new_facts],
            "changed_facts": [{"was": a.as_dict(), "now": b.as_dict()} for a, b in self.changed_facts],
            "removed_facts": [f.as_dict() for f in self.removed_facts],
            "fact_problems": self.fact_problems,
            "build_error": self.build_error,
            "needs_attention": self.needs_attention,
            "applied": self.applied,
        }


class SourcesFolderError(SpecError):
    """The folder of newer copies cannot be used: missing, holding none of the expected files, or holding a
    file named like a source that is not UTF-8 text (or is not a file, or is too large). The message names
    the file and what was expected."""


def _read(path: Path) -> bytes:
    """The bytes of a file named like a source, checked: a regular file of at most
    :data:`MAX_SOURCE_BYTES` bytes, UTF-8 text.

    Raises:
        SourcesFolderError: naming the file, what was expected and what was found.
    """
    if not path.is_file():
        raise SourcesFolderError(
            "named like a source but not a file",
            file=path,
            expected="a file (a published page or a transcribed source)",
            found="a folder" if path.is_dir() else "something else",
        )
    size = path.stat().st_size
    if size > MAX_SOURCE_BYTES:
        raise SourcesFolderError(
            "too large to be a published page or a transcribed source",
            file=path,
            expected=f"at most {MAX_SOURCE_BYTES} bytes of text",
            found=f"{size} bytes",
        )
    raw = path.read_bytes()
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SourcesFolderError(
            "not UTF-8 text: a broken or binary download?",
            file=path,
            location=f"byte {exc.start}",
            expected="the published page or the transcribed source as UTF-8 text",
            found=f"{size} bytes, starting {raw[:16]!r}",
        ) from None
    return raw


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _candidate(layout: Layout, from_dir: Path, source: Any) -> tuple[SourceStatus, str | None, str | None]:
    """(status, new source text or None, new published digest or None) for one manifest source."""
    rel = source.file.name
    transcribed = from_dir / rel
    published = from_dir / source.published_name
    if published.exists():
        raw = _read(published)
        digest = _sha(raw)
        if digest == source.published_sha256:
            return (
                SourceStatus(source.id, rel, "unchanged", f"{source.published_name} matches the manifest"),
                None,
                None,
            )
        text = raw.decode("utf-8")
        block = _FENCE.search(text)
        if block is None:
            if transcribed.exists():
                return (
                    SourceStatus(
                        source.id,
                        rel,
                        "changed",
                        f"{source.published_name} changed; using the transcription {rel} given beside it",
                    ),
                    _read(transcribed).decode("utf-8"),
                    digest,
                )
            return (
                SourceStatus(
                    source.id,
                    rel,
                    "needs-transcription",
                    f"{source.published_name} changed (sha256 {digest[:12]}..., manifest {source.published_sha256[:12]}...); it is "
                    f"a prose page: update openapi/sources/{rel} by hand, or put the new transcription in the folder as {rel}",
                ),
                None,
                digest,
            )
        kept = block.group(1)
        if source.repair is not None:
            try:
                kept = source.repair.apply(kept)
                note = "; the recorded repair still applies"
            except ValueError as exc:
                note = f"; the recorded repair no longer applies ({exc}), taken as published"
        else:
            note = ""
        return SourceStatus(source.id, rel, "changed", f"{source.published_name} changed{note}"), kept, digest
    if transcribed.exists():
        text = _read(transcribed).decode("utf-8")
        if text == source.file.read_text(encoding="utf-8"):
            return SourceStatus(source.id, rel, "unchanged", f"{rel} is identical"), None, None
        return (
            SourceStatus(source.id, rel, "changed", f"{rel} differs from openapi/sources/{rel}"),
            text,
            None,
        )
    return (
        SourceStatus(
            source.id, rel, "not-provided", f"neither {source.published_name} nor {rel} in the folder"
        ),
        None,
        None,
    )


def _set_digests(manifest_text: str, file_name: str, sha256: str, published_sha256: str | None) -> str:
    """Rewrite one source's digests in the manifest text, keeping every comment and line as it is."""
    lines = manifest_text.split("\n")
    start = next(i for i, line in enumerate(lines) if line.strip() == f"file: {file_name}")
    end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("  - id:")), len(lines))
    for i in range(start, end):
        stripped = lines[i].strip()
        indent = lines[i][: len(lines[i]) - len(lines[i].lstrip())]
        if stripped.startswith("sha256:") and indent == "    ":
            lines[i] = f"{indent}sha256: {sha256}"
        elif stripped.startswith("sha256:") and published_sha256 is not None:
            lines[i] = f"{indent}sha256: {published_sha256}"
    return "\n".join(lines)


def _fal_openapi_candidates(
    manifest: Manifest, from_dir: Path
) -> list[tuple[SourceStatus, str, str, str | None]]:
    """(status, file name in the folder, text, endpoint id when new) of each per-endpoint OpenAPI document
    ``sources fetch`` wrote (``fal-openapi.<endpoint id with / as -->.json``) that is new or changed.

    Raises:
        SourcesFolderError: such a file is not UTF-8 text, too large, not JSON or not OpenAPI 3.
    """
    known = {s.published_name: s for s in manifest.sources if s.kind == "fal-openapi"}
    out: list[tuple[SourceStatus, str, str, str | None]] = []
    for path in sorted(from_dir.glob(f"{FAL_OPENAPI_PREFIX}*.json")):
        raw = _read(path)
        endpoint_id = path.name[len(FAL_OPENAPI_PREFIX) : -len(".json")].replace("--", "/")
        try:
            check_openapi(raw, str(path), endpoint_id)
        except SpecError as exc:
            raise SourcesFolderError(exc.message, file=path, expected=exc.expected, found=exc.found) from None
        source = known.get(path.name)
        if source is None:
            status = SourceStatus(
                "(new)",
                path.name,
                "new",
                f"fal's per-endpoint OpenAPI for {endpoint_id}, not in the manifest",
            )
            out.append((status, path.name, raw.decode("utf-8"), endpoint_id))
        elif _sha(raw) != source.published_sha256:
            status = SourceStatus(source.id, source.file.name, "changed", f"{path.name} changed")
            out.append((status, path.name, raw.decode("utf-8"), None))
    return out


def _next_id(taken: list[str]) -> str:
    number = max((int(i) for i in taken if i.isdigit()), default=-1) + 1
    return f"{number:03d}"


def _add_source(
    manifest_text: str, sid: str, file_name: str, published: str, text: str, endpoint_id: str
) -> str:
    """Append a fal-openapi entry to the manifest text (comments kept) and make it the most trusted."""
    digest = _sha(text.encode("utf-8"))
    entry = (
        f"  - id: '{sid}'\n"
        f"    file: {file_name}\n"
        "    provider: fal\n"
        "    kind: fal-openapi\n"
        f"    url: {fal_openapi_url(endpoint_id, DEFAULT_FAL_OPENAPI_URL)}\n"
        f"    origin: fal's per-endpoint OpenAPI for {endpoint_id} (fal-js libs/client/src/schema.ts, fetchEndpointSchemas)\n"
        "    form: OpenAPI 3 (JSON) as fal publishes it, kept byte for byte as downloaded\n"
        "    published:\n"
        f"      name: {published}\n"
        f"      sha256: {digest}\n"
        f"    sha256: {digest}\n"
        "    endpoints:\n"
        f"      - {{endpoint_id: {endpoint_id}, method: post, path: /{endpoint_id}}}\n"
    )
    text_out = manifest_text.rstrip("\n") + "\n" + entry
    return re.sub(r"^(  precedence: \[)", lambda m: f"{m.group(1)}'{sid}', ", text_out, count=1, flags=re.M)


def _facts(layout: Layout) -> dict[tuple[str, str], SourceFact]:
    manifest = load_manifest(layout.manifest)
    out: dict[tuple[str, str], SourceFact] = {}
    for source in manifest.sources:
        for fact in source_facts(source, source.load()):
            out[(fact.source, fact.path)] = fact
    return out


def check_sources(layout: Layout, from_dir: Path, *, apply: bool = False) -> SourcesReport:
    """Compare the files in ``from_dir`` (published pages named as in the manifest's ``published.name``,
    or transcribed sources named as in ``openapi/sources/``) with the manifest, rebuild, and report.

    Raises:
        SourcesFolderError: ``from_dir`` is not a folder, holds none of the files the manifest names (an
            empty or wrong folder: a broken download step must not read as "nothing changed"), or holds a
            file named like a source that is not UTF-8 text, not a file, or too large.
        SpecError: the project's own manifest does not load.
    """
    if not from_dir.is_dir():
        raise SourcesFolderError(
            "not a folder",
            file=from_dir,
            expected="a folder of downloaded copies of the published documents",
            found="a file" if from_dir.exists() else "nothing",
        )
    report = SourcesReport()
    manifest = load_manifest(layout.manifest)
    expected = sorted({n for s in manifest.sources for n in (s.published_name, s.file.name)})
    if not any((from_dir / name).exists() for name in expected) and not any(
        from_dir.glob(f"{FAL_OPENAPI_PREFIX}*.json")
    ):
        present = sorted(p.name for p in from_dir.iterdir())
        raise SourcesFolderError(
            "none of the expected files is in the folder (an empty or wrong folder, or a broken download)",
            file=from_dir,
            expected="at least one of: " + ", ".join(expected) + f", or {FAL_OPENAPI_PREFIX}<endpoint>.json",
            found=(
                f"{len(present)} other file(s): "
                + ", ".join(present[:8])
                + (", ..." if len(present) > 8 else "")
            )
            if present
            else "an empty folder",
        )
    updates: dict[str, tuple[str, str | None]] = {}
    fal_documents = {n: (st, text, e) for st, n, text, e in _fal_openapi_candidates(manifest, from_dir)}
    known_fal = {s.published_name for s in manifest.sources if s.kind == "fal-openapi"}
    for source in manifest.sources:
        if source.kind == "fal-openapi":
            if source.published_name in fal_documents:
                fal_status, fal_text, _ = fal_documents[source.published_name]
                report.sources.append(fal_status)
                updates[source.file.name] = (fal_text, _sha(fal_text.encode("utf-8")))
            elif (from_dir / source.published_name).exists():
                report.sources.append(
                    SourceStatus(
                        source.id,
                        source.file.name,
                        "unchanged",
                        f"{source.published_name} matches the manifest",
                    )
                )
            else:
                report.sources.append(
                    SourceStatus(
                        source.id,
                        source.file.name,
                        "not-provided",
                        f"no {source.published_name} in the folder",
                    )
                )
            continue
        status, text, published_digest = _candidate(layout, from_dir, source)
        report.sources.append(status)
        if text is not None:
            updates[source.file.name] = (text, published_digest)
    additions: list[tuple[str, str, str, str]] = []  # (id, file, published name, endpoint id)
    taken = [s.id for s in manifest.sources]
    for name, (new_status, new_text, endpoint_id) in fal_documents.items():
        if name in known_fal or endpoint_id is None:
            continue
        sid = _next_id(taken)
        taken.append(sid)
        file_name = f"{sid}-fal-openapi-{endpoint_id.replace('/', '--')}.json"
        new_status.id, new_status.file = sid, file_name
        report.sources.append(new_status)
        additions.append((sid, file_name, name, endpoint_id))
        updates[file_name] = (new_text, None)

    with tempfile.TemporaryDirectory(prefix="kontext-sources-") as tmp:
        work = Layout(Path(tmp))
        shutil.copytree(layout.root / "openapi", work.root / "openapi")
        shutil.copytree(layout.overlays_dir, work.overlays_dir)
        manifest_text = work.manifest.read_text(encoding="utf-8")
        added = {file_name for _, file_name, _, _ in additions}
        for name, (text, published_digest) in updates.items():
            (work.sources_dir / name).write_text(text, encoding="utf-8")
            if name not in added:
                manifest_text = _set_digests(
                    manifest_text, name, _sha(text.encode("utf-8")), published_digest
                )
        for sid, file_name, published, endpoint_id in additions:
            manifest_text = _add_source(
                manifest_text, sid, file_name, published, updates[file_name][0], endpoint_id
            )
        work.manifest.write_text(manifest_text, encoding="utf-8")
        try:
            before = _facts(layout)
            after = _facts(work)
            report.new_facts = [f for k, f in after.items() if k not in before]
            report.removed_facts = [f for k, f in before.items() if k not in after]
            report.changed_facts = [
                (before[k], f)
                for k, f in after.items()
                if k in before
                and f.kind not in ("property", "parameter")  # a field's own facts say what changed in it
                and json.dumps(before[k].value, sort_keys=True, default=str)
                != json.dumps(f.value, sort_keys=True, default=str)
            ]
            report_build(work, layout, report)
        except SpecError as exc:
            report.build_error = exc.render()
            for status in report.sources:
                if status.file in (exc.file or "") and status.status == "changed":
                    status.status = "unparseable"
        if apply and updates:
            for name, (text, _) in sorted(updates.items()):
                write_atomic(layout.sources_dir / name, text)
                report.applied.append(f"openapi/sources/{name}")
            write_atomic(layout.manifest, manifest_text)
            report.applied.append("openapi/sources/manifest.yaml")
    return report


def report_build(work: Layout, layout: Layout, report: SourcesReport) -> None:
    """Rebuild in ``work`` without stopping at the first overlay problem; fill ``report``."""
    manifest = load_manifest(work.manifest)
    documents = {s.id: s.load() for s in manifest.sources}
    merge = merge_sources(manifest, documents)
    acknowledged = load_acknowledged(layout)
    for d in merge.disagreements:
        entry = acknowledged.get(d.id)
        if entry is None:
            report.new_disagreements.append(d)
        elif json.dumps(entry["values"], sort_keys=True) != json.dumps(d.values, sort_keys=True):
            report.changed_disagreements.append((entry, d))
    report.gone_disagreements = sorted(set(acknowledged) - {d.id for d in merge.disagreements})
    contract = merge.document
    problems: list[OverlayError] = []
    for path in sorted(work.overlays_dir.glob("*.yaml")):
        contract, _ = apply_overlay(contract, load_overlay(path), problems=problems)
    report.overlay_problems = [p.render().replace(str(work.root) + "/", "") for p in problems]
    validate_openapi(
        contract, name="openapi/kontext.openapi.yaml (rebuilt)", produced_by="the overlays on the new sources"
    )
    if not problems:
        overlays = [load_overlay(p) for p in sorted(work.overlays_dir.glob("*.yaml"))]
        try:
            account_facts(manifest, documents, contract, overlays)
        except (AccountingError, OverlayError) as exc:
            report.fact_problems = exc.render().replace(str(work.root) + "/", "")
    from ..pipeline import load_yaml

    committed = load_yaml(layout.contract)
    report.contract_changes = diff_documents(committed, contract)
