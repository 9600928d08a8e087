"""Fact accounting: every fact a source states reaches the contract, or an overlay action records that it
drops it (docs/pipeline.md "Overlays correct, they do not restate").

The stage runs after the overlays. It lists the facts of every source operation the manifest names:

- request body: each field (``property``), its ``type`` and ``items.type``, each ``enum`` value, its
  ``default``, each range keyword (``minimum``, ``maximum``, ``exclusiveMinimum``, ``exclusiveMaximum``,
  ``multipleOf``, ``minLength``, ``maxLength``, ``pattern``, ``minItems``, ``maxItems``), and each name in
  ``required``;
- parameters: each ``(in, name)``;
- responses: each JSON response field, its type, and each name in ``required``.

Each fact is looked up where it belongs in the contract: the request body and parameters of the endpoint's
queue submit (``x-fal-endpoint-id``, no path-level server), the response of the operation on the source's
host (a source on https://fal.run describes the synchronous run; any other host, the queue submit). A fact
that is not there must be named by an ``x-drops`` record of an overlay action::

    x-drops:
      - source: 001-relay-a-kontext.yaml          # a file of openapi/sources/
        path: $.paths["/fal-ai/flux-pro/kontext"].post.requestBody.content["application/json"].schema.properties.aspect_ratio.default
        value: '1:1'                              # what the source states there (optional for a field)
        reason: fal's edit endpoints have no default

A record must point at a node of the source holding ``value``; a record that no longer does (the source
changed) or that names a fact the contract keeps fails the build too. A record may also name a node that is
not an accounted fact (a description whose claim the contract corrects): it is then documentation, still
checked against the source.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import jsonpath

from .._openapi import fold, resolve_ref
from ._errors import AccountingError, OverlayError
from ._overlay import Overlay, json_path
from ._sources import Manifest, Source

__all__ = ["AccountingResult", "Drop", "SourceFact", "account_facts", "source_facts"]

RANGE_KEYWORDS = (
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "multipleOf",
    "minLength",
    "maxLength",
    "pattern",
    "minItems",
    "maxItems",
)
_ENV = jsonpath.JSONPathEnvironment(strict=True)
_ABSENT = object()


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)


@dataclass(frozen=True)
class SourceFact:
    """One fact a source states.

    Attributes:
        source: the source's file name (in ``openapi/sources/``).
        endpoint_id: the endpoint the operation describes.
        part: ``request``, ``parameter`` or ``response <code>``.
        kind: ``property``, ``type``, ``enum``, ``default``, ``range``, ``required`` or ``parameter``.
        field: what the fact is about, e.g. ``aspect_ratio.default`` or ``header Authorization``.
        path: the JSONPath of the fact in the source file.
        value: the value stated there (for a field or a parameter: the whole node).
    """

    source: str
    endpoint_id: str
    part: str
    kind: str
    field: str
    path: str
    value: Any

    def as_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "endpoint_id": self.endpoint_id,
            "part": self.part,
            "kind": self.kind,
            "field": self.field,
            "path": self.path,
            "value": self.value,
        }


@dataclass(frozen=True)
class Drop:
    """An ``x-drops`` record of an overlay action."""

    overlay: str
    action: int
    target: str
    source: str
    path: str
    value: Any
    reason: str


@dataclass
class AccountingResult:
    kept: list[SourceFact]
    dropped: list[tuple[SourceFact, Drop]]
    notes: list[Drop]
    """records naming a source node that is not an accounted fact (a description the contract corrects)."""

    def as_dict(self) -> dict[str, Any]:
        return {
            "kept": [f.as_dict() for f in self.kept],
            "dropped": [
                {
                    **f.as_dict(),
                    "by": f"{d.overlay} actions[{d.action}] (target {d.target!r})",
                    "reason": d.reason,
                }
                for f, d in self.dropped
            ],
        }


# --------------------------------------------------------------------------- the facts of a source


def _follow(doc: Mapping[str, Any], node: Any, path: str) -> tuple[Any, str]:
    """Follow local ``$ref`` s, keeping the JSONPath of the node reached."""
    for _ in range(32):
        ref = node.get("$ref") if isinstance(node, Mapping) else None
        if not (isinstance(ref, str) and ref.startswith("#/")):
            return node, path
        parts = [p.replace("~1", "/").replace("~0", "~") for p in ref[2:].split("/")]
        path = json_path(parts)
        node = resolve_ref(doc, node, max_depth=1)
    return node, path


def _schema_facts(
    doc: Mapping[str, Any], schema: Any, path: str, base: dict[str, str], *, ranges: bool
) -> Iterator[SourceFact]:
    schema, path = _follow(doc, schema, path)
    if not isinstance(schema, Mapping):
        return
    properties = schema.get("properties")
    for name, raw in (properties or {}).items() if isinstance(properties, Mapping) else ():
        prop, ppath = _follow(doc, raw, f"{path}.properties{json_path([name])[1:]}")
        if not isinstance(prop, Mapping):
            continue
        yield SourceFact(**base, kind="property", field=str(name), path=ppath, value=dict(prop))
        if "type" in prop:
            yield SourceFact(
                **base, kind="type", field=f"{name}.type", path=f"{ppath}.type", value=prop["type"]
            )
        items, ipath = _follow(doc, prop.get("items"), f"{ppath}.items")
        if isinstance(items, Mapping) and "type" in items:
            yield SourceFact(
                **base, kind="type", field=f"{name}.items.type", path=f"{ipath}.type", value=items["type"]
            )
        if not ranges:
            continue
        for i, value in enumerate(prop.get("enum") or []):
            yield SourceFact(
                **base, kind="enum", field=f"{name}.enum", path=f"{ppath}.enum[{i}]", value=value
            )
        if "default" in prop:
            yield SourceFact(
                **base,
                kind="default",
                field=f"{name}.default",
                path=f"{ppath}.default",
                value=prop["default"],
            )
        for keyword in RANGE_KEYWORDS:
            if keyword in prop:
                yield SourceFact(
                    **base,
                    kind="range",
                    field=f"{name}.{keyword}",
                    path=f"{ppath}.{keyword}",
                    value=prop[keyword],
                )
    for i, name in enumerate(schema.get("required") or []):
        yield SourceFact(**base, kind="required", field=str(name), path=f"{path}.required[{i}]", value=name)


def source_facts(source: Source, doc: Mapping[str, Any]) -> Iterator[SourceFact]:
    """Every fact ``doc`` (the parsed ``source``) states for the operations its manifest entry names."""
    for ep in source.endpoints:
        op_path = json_path(["paths", ep.path, ep.method])
        op = (doc.get("paths", {}).get(ep.path) or {}).get(ep.method)
        if not isinstance(op, Mapping):
            continue
        base = {"source": source.file.name, "endpoint_id": ep.endpoint_id}
        for i, raw in enumerate(op.get("parameters") or []):
            param, ppath = _follow(doc, raw, f"{op_path}.parameters[{i}]")
            if isinstance(param, Mapping) and "name" in param:
                yield SourceFact(
                    **base,
                    part="parameter",
                    kind="parameter",
                    field=f"{param.get('in')} {param['name']}",
                    path=ppath,
                    value=dict(param),
                )
        body, bpath = _follow(doc, op.get("requestBody"), f"{op_path}.requestBody")
        content = body.get("content") if isinstance(body, Mapping) else None
        if isinstance(content, Mapping) and isinstance(content.get("application/json"), Mapping):
            yield from _schema_facts(
                doc,
                content["application/json"].get("schema"),
                f'{bpath}.content["application/json"].schema',
                {**base, "part": "request"},
                ranges=True,
            )
        for code, raw in (op.get("responses") or {}).items():
            response, rpath = _follow(doc, raw, f"{op_path}.responses{json_path([str(code)])[1:]}")
            rcontent = response.get("content") if isinstance(response, Mapping) else None
            if isinstance(rcontent, Mapping) and isinstance(rcontent.get("application/json"), Mapping):
                yield from _schema_facts(
                    doc,
                    rcontent["application/json"].get("schema"),
                    f'{rpath}.content["application/json"].schema',
                    {**base, "part": f"response {code}"},
                    ranges=False,
                )


# --------------------------------------------------------------------------- where a fact belongs


def _hosts(servers: Any) -> set[str]:
    return {
        urlsplit(str(s.get("url", ""))).hostname or ""
        for s in servers or []
        if isinstance(s, Mapping) and s.get("url")
    } - {""}


def _contract_operation(
    contract: Mapping[str, Any], endpoint_id: str, method: str, host: str | None
) -> tuple[str, Mapping[str, Any]] | None:
    """(shown path, operation) of ``endpoint_id`` in the contract: on ``host`` when a path item with its own
    server there has it, else the queue submit (no path-level server)."""
    queue: tuple[str, Mapping[str, Any]] | None = None
    for path, item in (contract.get("paths") or {}).items():
        op = item.get(method) if isinstance(item, Mapping) else None
        if not isinstance(op, Mapping) or op.get("x-fal-endpoint-id") != endpoint_id:
            continue
        if item.get("servers"):
            if host is not None and host in _hosts(item["servers"]):
                return f"{item['servers'][0]['url']}{path}", op
        elif queue is None:
            queue = (path, op)
    if queue is None:
        fallback = (contract.get("paths") or {}).get(f"/{endpoint_id}") or {}
        if isinstance(fallback.get(method), Mapping):
            queue = (f"/{endpoint_id}", fallback[method])
    return queue


def _media_schema(contract: Mapping[str, Any], node: Any) -> dict[str, Any]:
    node = resolve_ref(contract, node)
    content = node.get("content") if isinstance(node, Mapping) else None
    media = content.get("application/json") if isinstance(content, Mapping) else None
    return fold(contract, media.get("schema")) if isinstance(media, Mapping) else {}


def _kept(fact: SourceFact, contract: Mapping[str, Any], op: Mapping[str, Any]) -> tuple[bool, str]:
    """(whether the contract states ``fact``, what it states instead)."""
    if fact.kind == "parameter":
        wanted = (fact.value.get("in"), fact.value.get("name"))
        params = [resolve_ref(contract, p) for p in op.get("parameters") or []]
        have = sorted(f"{p.get('in')} {p.get('name')}" for p in params if isinstance(p, Mapping))
        return any((p.get("in"), p.get("name")) == wanted for p in params if isinstance(p, Mapping)), (
            f"parameters {have}"
        )
    if fact.part == "request":
        schema = _media_schema(contract, op.get("requestBody"))
    else:
        code = fact.part.split(" ", 1)[1]
        schema = _media_schema(contract, (op.get("responses") or {}).get(code))
    properties = schema.get("properties") or {}
    if fact.kind == "required":
        required = schema.get("required") or []
        return fact.value in required, f"required {required}"
    name = fact.field.split(".", 1)[0]
    if name not in properties:
        return False, f"no field {name!r} (fields {sorted(properties)})"
    prop = fold(contract, properties[name])
    if fact.kind == "property":
        return True, ""
    attribute = fact.field.split(".", 1)[1]
    if attribute == "items.type":
        stated = fold(contract, prop.get("items")).get("type", _ABSENT)
    elif attribute == "enum":
        values = prop.get("enum")
        if not isinstance(values, list):
            return False, "no enum"
        return any(_canonical(v) == _canonical(fact.value) for v in values), f"enum {values}"
    else:
        stated = prop.get(attribute, _ABSENT)
    if stated is _ABSENT:
        return False, f"no {attribute}"
    return _canonical(stated) == _canonical(fact.value), f"{attribute} {_canonical(stated)}"


# --------------------------------------------------------------------------- the records


def _drops(overlays: list[Overlay], files: set[str]) -> list[Drop]:
    out: list[Drop] = []
    for overlay in overlays:
        for index, action in enumerate(overlay.actions):
            records = action.get("x-drops")
            if records is None:
                continue
            where = f"actions[{index}].x-drops"
            if not isinstance(records, list) or not records:
                raise OverlayError(
                    "x-drops lists what the action drops",
                    file=overlay.path,
                    location=where,
                    expected="a non-empty list of {source, path, value?, reason?}",
                    found=repr(records)[:200],
                )
            for j, record in enumerate(records):
                ok = (
                    isinstance(record, Mapping)
                    and isinstance(record.get("source"), str)
                    and isinstance(record.get("path"), str)
                    and isinstance(record.get("reason", ""), str)
                    and set(record) <= {"source", "path", "value", "reason"}
                )
                if not ok:
                    raise OverlayError(
                        "an x-drops record names a source file, a JSONPath in it, and optionally the value and a reason",
                        file=overlay.path,
                        location=f"{where}[{j}]",
                        expected="{source: NNN-name.yaml, path: $..., value: <as stated>, reason: <why>}",
                        found=repr(record)[:200],
                    )
                if record["source"] not in files:
                    raise OverlayError(
                        "the x-drops record names no source of the manifest",
                        file=overlay.path,
                        location=f"{where}[{j}].source",
                        expected=f"one of {sorted(files)}",
                        found=repr(record["source"]),
                    )
                out.append(
                    Drop(
                        overlay=overlay.name,
                        action=index,
                        target=str(action["target"]),
                        source=record["source"],
                        path=record["path"],
                        value=record.get("value", _ABSENT),
                        reason=str(record.get("reason", "")),
                    )
                )
    return out


def _locate(drop: Drop, doc: Mapping[str, Any], overlay_file: str) -> str:
    """The normalized JSONPath of the one source node ``drop`` names.

    Raises:
        OverlayError: the path is not JSONPath, names no node or several, or the node's value is not the
            recorded one (the source changed since the record was written).
    """
    location = f"{overlay_file} actions[{drop.action}] x-drops (source {drop.source}, path {drop.path})"
    try:
        matches = list(_ENV.compile(drop.path).finditer(doc))
    except jsonpath.JSONPathError as exc:
        raise OverlayError(
            "the x-drops path is not an RFC 9535 JSONPath",
            file=overlay_file,
            location=location,
            expected='a JSONPath such as $.paths["/x"].post',
            found=str(exc).splitlines()[0],
        ) from None
    if len(matches) != 1:
        raise OverlayError(
            "the x-drops record names no fact of its source any more: the source changed. Review the change, "
            "then update or remove the record",
            file=overlay_file,
            location=location,
            expected="exactly one node of the source",
            found=f"{len(matches)} nodes",
        )
    node = matches[0].obj
    if drop.value is not _ABSENT and _canonical(node) != _canonical(drop.value):
        raise OverlayError(
            "the source no longer states the value the x-drops record drops: the source changed. Review the "
            "change (does the contract now follow it?), then update or remove the record",
            file=overlay_file,
            location=location,
            expected=f"value {_canonical(drop.value)}",
            found=f"value {_canonical(node)}"[:300],
        )
    return json_path(matches[0].parts)


_TODO = (
    "what to do: if fal has it, find the overlay action that replaces it and let the source's fact through "
    "(correct only what is wrong); if fal does not, record it in the x-drops of the action that drops or "
    "replaces it (source, path, value, reason). docs/pipeline.md 'Overlays correct, they do not restate'."
)


def account_facts(
    manifest: Manifest,
    documents: Mapping[str, Mapping[str, Any]],
    contract: Mapping[str, Any],
    overlays: list[Overlay],
) -> AccountingResult:
    """Check that every source fact reaches ``contract`` or is recorded as dropped.

    Args:
        documents: source id -> parsed source document.
        overlays: the contract's overlays (their actions' ``x-drops``).

    Raises:
        AccountingError: facts that reach neither the contract nor a record (each named by source file,
            field, JSONPath, and what the contract has instead), or a record that drops a kept fact.
        OverlayError: an ``x-drops`` record that is malformed, or that no longer matches its source.
    """
    files = {s.file.name: s for s in manifest.sources}
    drops = _drops(overlays, set(files))
    by_fact: dict[tuple[str, str], Drop] = {}
    overlay_files = {o.name: str(o.path) for o in overlays}
    for drop in drops:
        source = files[drop.source]
        by_fact[(drop.source, _locate(drop, documents[source.id], overlay_files[drop.overlay]))] = drop

    kept: list[SourceFact] = []
    dropped: list[tuple[SourceFact, Drop]] = []
    missing: list[tuple[SourceFact, str, str]] = []
    wrongly_dropped: list[tuple[SourceFact, Drop]] = []
    seen: set[tuple[str, str]] = set()
    for source in manifest.sources:
        doc = documents[source.id]
        root_hosts = _hosts(doc.get("servers"))
        for fact in source_facts(source, doc):
            ep = next(e for e in source.endpoints if e.endpoint_id == fact.endpoint_id)
            op_node = doc["paths"][ep.path][ep.method]
            hosts = _hosts(op_node.get("servers")) or root_hosts
            host = sorted(hosts)[0] if fact.part.startswith("response") and hosts else None
            located = _contract_operation(contract, fact.endpoint_id, ep.method, host)
            key = (fact.source, fact.path)
            seen.add(key)
            if located is None:
                ok, instead, shown = False, f"no operation of {fact.endpoint_id}", "(none)"
            else:
                shown = f"{ep.method.upper()} {located[0]}"
                ok, instead = _kept(fact, contract, located[1])
            record = by_fact.get(key)
            if ok and record is not None:
                wrongly_dropped.append((fact, record))
            elif ok:
                kept.append(fact)
            elif record is not None:
                dropped.append((fact, record))
            else:
                missing.append((fact, shown, instead))
    notes = [d for (src, path), d in by_fact.items() if (src, path) not in seen]
    problems = [
        f"{fact.source} states {fact.kind} {fact.field}"
        + ("" if fact.kind in {"property", "parameter"} else f" = {_canonical(fact.value)[:120]}")
        + f" "
        f"({fact.part} of {fact.endpoint_id})\n      at {fact.path}\n      the contract ({shown}) has "
        f"{instead}"
        for fact, shown, instead in missing
    ] + [
        f"{record.overlay} actions[{record.action}] records as dropped {fact.source} {fact.kind} {fact.field} "
        f"at {fact.path}, but the contract keeps it: remove the record"
        for fact, record in wrongly_dropped
    ]
    if problems:
        first = missing[0][0] if missing else wrongly_dropped[0][0]
        raise AccountingError(
            f"{len(problems)} source fact(s) reach neither the contract nor an x-drops record:\n  "
            + "\n  ".join(problems)
            + f"\n  {_TODO}",
            file=str(files[first.source].file),
            location=first.path,
            expected="every fact in the contract, or named by an overlay action's x-drops",
            found=f"{len(missing)} missing, {len(wrongly_dropped)} recorded as dropped but kept",
        )
    return AccountingResult(kept=kept, dropped=dropped, notes=notes)
