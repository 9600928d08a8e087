"""The merge: every source's operations filed under their endpoint, unioned under a declared precedence,
and every disagreement between sources recorded with the values of each and the winner.

Two groups of sources are compared:

- the *family*: every source, for what all six Kontext [pro] endpoints share (docs/sources.md §3.3: one input
  shape, one output shape): the shared input fields, header parameters, auth, tags, responses;
- the *endpoint*: the sources describing one endpoint, for what belongs to it alone (its published
  path, its operation description, its endpoint-specific input fields such as ``image_urls``).

Within a group, a subject (for example ``request.guidance_scale.maximum``) on which sources state
different values, or which some state and others do not, is a disagreement. The winner is the most
trusted source (manifest ``merge.precedence``) that states a value: in the merged document a stated
value always beats an absent one, and among stated values precedence decides.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from .._openapi import resolve_ref as _deref
from ._sources import Manifest

__all__ = ["ABSENT", "Disagreement", "MergeResult", "body_schema", "merge_sources"]

ABSENT = "(absent)"
"""How the report shows that a source does not state a value."""

_FIELD_ATTRIBUTES: tuple[tuple[str, str], ...] = (
    ("type", "type"),
    ("items.type", "type"),
    ("enum", "enum"),
    ("default", "default"),
    ("minimum", "range"),
    ("maximum", "range"),
    ("required", "required"),
    ("description", "description"),
)


@dataclass(frozen=True)
class Disagreement:
    """Sources state different values for one subject.

    Attributes:
        id: stable identifier, ``kind:subject`` (family) or ``kind:endpoint_id:subject``.
        kind: path, auth, parameter, tags, missing-field, type, enum, default, range, required,
            description, response-shape or example.
        scope: ``family`` or the endpoint id the subject belongs to.
        subject: what is compared, e.g. ``request.aspect_ratio.default``.
        values: source id -> the value it states (``ABSENT`` when it states none).
        winner: the source whose value the merge keeps.
    """

    id: str
    kind: str
    scope: str
    subject: str
    values: dict[str, Any]
    winner: str

    @property
    def winner_value(self) -> Any:
        return self.values[self.winner]

    def fingerprint(self) -> str:
        """The id and values as canonical JSON: equal fingerprints mean the same disagreement."""
        return json.dumps({"id": self.id, "values": self.values}, sort_keys=True, ensure_ascii=False)

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "scope": self.scope,
            "subject": self.subject,
            "values": dict(sorted(self.values.items())),
            "winner": {"source": self.winner, "value": self.winner_value},
        }


@dataclass
class MergeResult:
    document: dict[str, Any]
    disagreements: list[Disagreement]
    endpoints: dict[str, list[str]] = field(default_factory=dict)
    """endpoint id -> the source ids describing it, most trusted first."""


# --------------------------------------------------------------------------- facts


def _get(node: Any, dotted: str) -> Any:
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            return ABSENT
        node = node[part]
    return node


def _security(doc: dict[str, Any], op: dict[str, Any]) -> Any:
    requirement = op.get("security", doc.get("security", ABSENT))
    if requirement is ABSENT:
        return ABSENT
    schemes = doc.get("components", {}).get("securitySchemes", {}) or {}
    names: list[str] = []
    for alternative in requirement or []:
        for name in alternative:
            scheme = schemes.get(name, {})
            names.append(
                "/".join(str(scheme.get(k)) for k in ("type", "scheme", "in", "name") if scheme.get(k))
                or name
            )
    return sorted(names)


def _example_value(value: Any, request_id: Any) -> Any:
    """Examples carry arbitrary request ids; compare them with the id itself written ``{request_id}``."""
    if isinstance(value, str) and isinstance(request_id, str) and request_id and request_id != value:
        return value.replace(request_id, "{request_id}")
    if isinstance(value, str) and value == request_id:
        return "{request_id}"
    return value


Fact = tuple[str, str, Any]  # (group: "family" | "endpoint", kind, value)


def _operation_facts(
    doc: dict[str, Any], op: dict[str, Any], published_path: str, specific: frozenset[str]
) -> dict[str, Fact]:
    facts: dict[str, Fact] = {
        "path": ("endpoint", "path", published_path),
        "operation.description": ("endpoint", "description", op.get("description", ABSENT)),
        "security": ("family", "auth", _security(doc, op)),
        "tags": ("family", "tags", op.get("tags", ABSENT)),
    }
    for raw in op.get("parameters", []) or []:
        param = _deref(doc, raw)
        if not isinstance(param, dict):
            continue
        value = {
            k: v
            for k, v in (
                ("required", param.get("required", False)),
                ("example", param.get("example", ABSENT)),
            )
            if v is not ABSENT
        }
        value.update(
            {
                f"schema.{k}": v
                for k, v in (_deref(doc, param.get("schema")) or {}).items()
                if not isinstance(v, (dict, list))
            }
        )
        facts[f"parameter.{param.get('in')}.{param.get('name')}"] = ("family", "parameter", value)

    body = _deref(doc, op.get("requestBody"))
    body = body if isinstance(body, dict) else {}
    facts["request_body.required"] = ("family", "required", body.get("required", ABSENT))
    schema = body_schema(doc, op)
    if schema is not None:
        required = set(schema.get("required", []) or [])
        for name, prop in (schema.get("properties") or {}).items():
            prop = _deref(doc, prop)
            group = "endpoint" if name in specific else "family"
            facts[f"request.{name}"] = (group, "missing-field", "present")
            for attribute, kind in _FIELD_ATTRIBUTES:
                stated: Any = (name in required) if attribute == "required" else _get(prop, attribute)
                if attribute == "items.type" and isinstance(prop.get("items"), dict):
                    stated = _get(_deref(doc, prop["items"]), "type")
                facts[f"request.{name}.{attribute}"] = (group, kind, stated)

    for code, raw_response in sorted((op.get("responses") or {}).items()):
        response = _deref(doc, raw_response)
        content = _get(response, "content")
        media: dict[str, Any] = content.get("application/json", {}) if isinstance(content, dict) else {}
        rschema = _deref(doc, media.get("schema"))
        if isinstance(rschema, dict):
            props = rschema.get("properties") or {}
            facts[f"response.{code}.shape"] = ("family", "response-shape", sorted(props))
            for name, prop in props.items():
                facts[f"response.{code}.{name}.type"] = ("family", "type", _get(_deref(doc, prop), "type"))
        example = media.get("example")
        if isinstance(example, dict):
            request_id = example.get("request_id")
            for key, value in example.items():
                facts[f"response.{code}.example.{key}"] = (
                    "family",
                    "example",
                    _example_value(value, request_id),
                )
    return facts


def body_schema(doc: dict[str, Any], op: dict[str, Any]) -> dict[str, Any] | None:
    """The JSON request body schema of an operation, references followed; None when it has none."""
    body = _deref(doc, op.get("requestBody"))
    content = body.get("content") if isinstance(body, dict) else None
    media = content.get("application/json") if isinstance(content, dict) else None
    schema = _deref(doc, media.get("schema")) if isinstance(media, dict) else None
    return schema if isinstance(schema, dict) else None


# --------------------------------------------------------------------------- input components


def _ordered_union(lists: list[list[Any]]) -> list[Any]:
    out: list[Any] = []
    seen: set[str] = set()
    for values in lists:
        for value in values:
            key = _canonical(value)
            if key not in seen:
                seen.add(key)
                out.append(copy.deepcopy(value))
    return out


def _input_components(
    manifest: Manifest,
    bodies: list[tuple[str, str, dict[str, Any], dict[str, Any]]],
) -> dict[str, Any]:
    """The shared input components of manifest ``merge.inputs`` (and the enum components of ``merge.enums``).

    Args:
        bodies: (source id, endpoint id, request body schema, source document), most trusted first.

    A component's field is the deep union of that field in every source stating it, most trusted first (a
    value stated differently goes by precedence, as the merge report's winner); its enum is the union of the
    enums stated, in precedence order; it is required when the most trusted source stating it requires it.
    Fields of ``endpoint_specific_fields``, and the schema's own keys (but its ``title``: the component is
    named by the manifest), come only from the sources describing the component's endpoints.
    """
    specific = manifest.endpoint_specific_fields
    out: dict[str, Any] = {}
    enums: dict[str, list[list[Any]]] = {}
    enum_types: dict[str, Any] = {}
    for name, endpoint_ids in manifest.inputs.items():
        schema: dict[str, Any] = {}
        properties: dict[str, Any] = {}
        required: dict[str, bool] = {}
        for _sid, endpoint_id, body, doc in bodies:
            if not isinstance(body.get("properties"), dict):
                continue
            if endpoint_id in endpoint_ids:
                # the schema's own keys (an export's field order, ...) belong to the sources of the
                # component's endpoints; its title is the source's class name, the component's name is ours
                rest = {k: v for k, v in body.items() if k not in {"properties", "required", "title"}}
                schema = _union(schema, rest) if schema else copy.deepcopy(rest)
            stated_required = set(body.get("required") or [])
            for field_name, raw in body["properties"].items():
                if field_name in specific and endpoint_id not in endpoint_ids:
                    continue
                prop = _deref(doc, raw)
                if not isinstance(prop, dict):
                    continue
                if field_name in properties:
                    properties[field_name] = _union(properties[field_name], prop)
                else:
                    properties[field_name] = copy.deepcopy(prop)
                    required[field_name] = field_name in stated_required
                if isinstance(prop.get("enum"), list):
                    enums.setdefault(field_name, []).append(prop["enum"])
                    enum_types.setdefault(field_name, prop.get("type", ABSENT))
        for field_name, values in enums.items():
            if field_name in properties and "enum" in properties[field_name]:
                properties[field_name]["enum"] = _ordered_union(values)
        for field_name, component in manifest.enums.items():
            prop = properties.get(field_name)
            if isinstance(prop, dict) and "enum" in prop:
                stated = {"type": prop.pop("type")} if "type" in prop else {}
                out[component] = {**stated, "enum": prop.pop("enum")}
                properties[field_name] = {
                    "allOf": [{"$ref": f"#/components/schemas/{component}"}],
                    **prop,
                }
        if not properties:
            continue
        schema.setdefault("type", "object")
        schema["properties"] = properties
        names = [n for n, is_required in required.items() if is_required and n in properties]
        if names:
            schema["required"] = names
        out[name] = schema
    return out


def _component_of(manifest: Manifest, endpoint_id: str) -> str | None:
    for name, endpoint_ids in manifest.inputs.items():
        if endpoint_id in endpoint_ids:
            return name
    return None


# --------------------------------------------------------------------------- union


def _param_key(p: Any) -> tuple[str, str]:
    return (
        (str(p.get("in")), str(p.get("name")))
        if isinstance(p, dict)
        else ("$ref", json.dumps(p, sort_keys=True))
    )


def _union(winner: Any, loser: Any) -> Any:
    """Deep union: keys of both; on a clash the winner's value; parameter lists unioned by (in, name)."""
    if isinstance(winner, dict) and isinstance(loser, dict):
        out = copy.deepcopy(winner)
        for key, value in loser.items():
            if key not in out:
                out[key] = copy.deepcopy(value)
            elif key == "parameters" and isinstance(out[key], list) and isinstance(value, list):
                have = {_param_key(p) for p in out[key]}
                out[key] = out[key] + [copy.deepcopy(p) for p in value if _param_key(p) not in have]
            else:
                out[key] = _union(out[key], value)
        return out
    return copy.deepcopy(winner)


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False)


def _disagreements(
    facts: dict[str, dict[str, Fact]], members: list[str], group: str, scope: str, rank: dict[str, int]
) -> Iterator[Disagreement]:
    subjects = sorted({s for sid in members for s, f in facts[sid].items() if f[0] == group})
    for subject in subjects:
        kind = next(facts[sid][subject][1] for sid in members if subject in facts[sid])
        compared = members
        if subject.startswith("request.") and kind != "missing-field":
            # an attribute of an input field: compared among the sources that have the field
            field_key = ".".join(subject.split(".")[:2])
            compared = [sid for sid in members if field_key in facts[sid]]
        elif subject.startswith("response.") and ".example." in subject:
            prefix = subject.split(".example.")[0] + ".example."
            compared = [sid for sid in members if any(k.startswith(prefix) for k in facts[sid])]
        elif subject.startswith("response.") and subject.endswith(".type"):
            compared = [sid for sid in members if subject in facts[sid]]
        values = {sid: facts[sid][subject][2] if subject in facts[sid] else ABSENT for sid in compared}
        if len({_canonical(v) for v in values.values()}) <= 1:
            continue
        stating = [sid for sid in sorted(values, key=rank.__getitem__) if values[sid] != ABSENT]
        winner = stating[0] if stating else sorted(values, key=rank.__getitem__)[0]
        ident = f"{kind}:{subject}" if scope == "family" else f"{kind}:{scope}:{subject}"
        yield Disagreement(id=ident, kind=kind, scope=scope, subject=subject, values=values, winner=winner)


def merge_sources(manifest: Manifest, documents: dict[str, dict[str, Any]]) -> MergeResult:
    """Merge the parsed source documents (source id -> document) into one OpenAPI document.

    Every operation a source publishes is filed under ``/{endpoint_id}`` (manifest ``endpoints``);
    operations on the same endpoint are deep-unioned in precedence order. ``x-sources`` on each merged
    operation lists the sources it came from. Servers, components and root fields are unioned likewise.

    Returns:
        the merged document and every disagreement, sorted by id.
    """
    rank = {sid: manifest.rank(sid) for sid in manifest.precedence}
    ordered = sorted(documents, key=rank.__getitem__)
    facts: dict[str, dict[str, Fact]] = {}
    by_endpoint: dict[str, list[tuple[str, str, dict[str, Any]]]] = {}
    bodies: list[tuple[str, str, dict[str, Any], dict[str, Any]]] = []
    for sid in ordered:
        source = manifest.by_id(sid)
        doc = documents[sid]
        facts[sid] = {}
        for ep in source.endpoints:
            op = (doc.get("paths", {}).get(ep.path) or {}).get(ep.method)
            if not isinstance(op, dict):
                from ._errors import ManifestError

                raise ManifestError(
                    f"source {sid} does not have the operation the manifest lists",
                    file=manifest.path,
                    location=f"source {sid} endpoints",
                    expected=f"{ep.method.upper()} {ep.path} in {source.file.name}",
                    found=f"paths {sorted(doc.get('paths', {}))}",
                )
            facts[sid].update(_operation_facts(doc, op, ep.path, manifest.endpoint_specific_fields))
            body = body_schema(doc, op)
            if body is not None:
                bodies.append((sid, ep.endpoint_id, body, doc))
            component = _component_of(manifest, ep.endpoint_id)
            if body is not None and component is not None:
                # the merged operation's body refers to the shared input component built below
                op = {**op, "requestBody": copy.deepcopy(_deref(doc, op["requestBody"]))}
                op["requestBody"]["content"]["application/json"]["schema"] = {
                    "$ref": f"#/components/schemas/{component}"
                }
            by_endpoint.setdefault(ep.endpoint_id, []).append((sid, ep.method, op))

    disagreements = list(_disagreements(facts, ordered, "family", "family", rank))
    for endpoint_id, entries in sorted(by_endpoint.items()):
        members = [sid for sid, _, _ in entries]
        disagreements.extend(
            _disagreements({s: facts[s] for s in members}, members, "endpoint", endpoint_id, rank)
        )

    merged: dict[str, Any] = {
        "openapi": max(str(documents[s].get("openapi", "3.0.0")) for s in ordered),
        "info": {
            "title": "FLUX.1 Kontext [pro], merged from the published documents",
            "version": "merged",
            "description": "Output of the merge stage (not the contract): the union of the sources, uncorrected.",
        },
        "paths": {},
    }
    servers: list[dict[str, Any]] = []
    for sid in ordered:
        for server in documents[sid].get("servers") or []:
            if isinstance(server, dict) and server.get("url") not in {s["url"] for s in servers}:
                servers.append({**copy.deepcopy(server), "x-source": sid})
    if servers:
        merged["servers"] = servers
    components: dict[str, Any] = {}
    root_extra: dict[str, Any] = {}
    for sid in ordered:
        doc = documents[sid]
        components = _union(components, doc.get("components") or {})
        for key, value in doc.items():
            if key not in {"openapi", "info", "paths", "servers", "components"} and key not in root_extra:
                root_extra[key] = copy.deepcopy(value)
    inputs = _input_components(manifest, bodies)
    if inputs:
        components.setdefault("schemas", {}).update(inputs)
    for endpoint_id, entries in sorted(by_endpoint.items()):
        item: dict[str, Any] = {}
        for method in sorted({m for _, m, _ in entries}):
            ops = [(sid, op) for sid, m, op in entries if m == method]
            merged_op: Any = {}
            for _sid, op in reversed(ops):  # least trusted first, so each more trusted one wins
                merged_op = _union(op, merged_op)
            merged_op["x-sources"] = [sid for sid, _ in ops]
            item[method] = merged_op
        merged["paths"][f"/{endpoint_id}"] = item
    merged.update(root_extra)
    if components:
        merged["components"] = components
    endpoints = {e: [sid for sid, _, _ in entries] for e, entries in sorted(by_endpoint.items())}
    return MergeResult(
        document=merged, disagreements=sorted(disagreements, key=lambda d: d.id), endpoints=endpoints
    )
