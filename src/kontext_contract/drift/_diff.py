"""Contract drift: classify every change between two OpenAPI documents by what it does to a client.

Breaking (a client built for OLD may fail against NEW): an operation removed; a parameter removed or
made required, or a new required one; the request body made required; an input field removed or
newly required; a request enum or range narrowed; a type or format changed; an output field
removed or no longer required, or newly nullable; a response enum widened (a generated client with
literal enums rejects the new value); a status code or media type removed; auth changed.
Non-breaking: additions (operations, optional inputs, outputs, status codes), widened request
ranges and enums, defaults, descriptions and summaries (anywhere: schemas, parameters, operations,
responses), examples, servers, and specification extensions (``x-...``: added, removed or changed).
The project's tools read some extensions (``x-fal-endpoint-id``, ``x-fal-media``,
``x-fal-invalid-value``, ``info.x-provider``), so a change to one is listed with its path; what it
does to a provider shows in ``kontext-contract check`` and the contract suite.

Each change carries the JSONPath where it lives: inside a component (``$.components.schemas.X...``)
when the change is in a referenced schema, so a change shared by six operations is reported once.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Literal

__all__ = ["Change", "diff_documents"]

Role = Literal["request", "response"]
_BOUNDS = (
    ("minimum", True),
    ("maximum", False),
    ("minLength", True),
    ("maxLength", False),
    ("minItems", True),
    ("maxItems", False),
)
_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
#: Words whose values are data, not document structure: the annotation walk does not look inside them.
_VALUES = frozenset({"example", "examples", "default", "enum", "const"})


@dataclass(frozen=True)
class Change:
    """One difference between OLD and NEW.

    Attributes:
        breaking: whether a client written for OLD may fail against NEW.
        kind: a stable name, e.g. ``operation-removed``, ``request-enum-narrowed``.
        path: JSONPath of the place (in NEW, or in OLD for something removed).
        old / new: the values compared (None when absent).
    """

    breaking: bool
    kind: str
    path: str
    old: Any = None
    new: Any = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "class": "breaking" if self.breaking else "non-breaking",
            "kind": self.kind,
            "path": self.path,
            "old": self.old,
            "new": self.new,
        }

    def line(self) -> str:
        label = "BREAKING    " if self.breaking else "non-breaking"
        detail = ""
        if self.old is not None or self.new is not None:
            detail = f": {_short(self.old)} -> {_short(self.new)}"
        return f"{label} {self.kind:32} {self.path}{detail}"


def _short(value: Any) -> str:
    if value is None:
        return "(absent)"
    text = json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)
    return text if len(text) <= 80 else text[:77] + "..."


def _key(name: str) -> str:
    return f".{name}" if name.isidentifier() else f"[{json.dumps(name)}]"


class _Differ:
    def __init__(self, old: dict[str, Any], new: dict[str, Any]) -> None:
        self.old, self.new = old, new
        self.changes: dict[tuple[str, str], Change] = {}
        self._seen: set[tuple[str, str, str]] = set()

    def add(self, breaking: bool, kind: str, path: str, old: Any = None, new: Any = None) -> None:
        self.changes.setdefault((kind, path), Change(breaking, kind, path, old, new))

    # ---- references: follow $ref, and report changes at the component's own path
    def _resolve(self, doc: dict[str, Any], node: Any, path: str) -> tuple[Any, str]:
        depth = 0
        while (
            isinstance(node, dict)
            and isinstance(node.get("$ref"), str)
            and node["$ref"].startswith("#/")
            and depth < 32
        ):
            parts = node["$ref"][2:].split("/")
            target: Any = doc
            for part in parts:
                target = (
                    target.get(part.replace("~1", "/").replace("~0", "~"))
                    if isinstance(target, dict)
                    else None
                )
            path = "$" + "".join(_key(p.replace("~1", "/").replace("~0", "~")) for p in parts)
            node, depth = target, depth + 1
        return node, path

    def _flatten(self, doc: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
        """Merge ``allOf`` members into the schema (its own keys win), so ``allOf: [{$ref: Enum}]`` with a
        default compares equal to the same enum written inline."""
        if not isinstance(schema.get("allOf"), list):
            return schema
        merged: dict[str, Any] = {}
        for member in schema["allOf"]:
            resolved, _ = self._resolve(doc, member, "$")
            if isinstance(resolved, dict):
                merged.update(self._flatten(doc, resolved))
        merged.update({k: v for k, v in schema.items() if k != "allOf"})
        return merged

    # ---- schemas
    def schema(self, old: Any, new: Any, path: str, role: Role) -> None:
        old, old_path = self._resolve(self.old, old, path)
        new, path = self._resolve(self.new, new, path)
        if not isinstance(old, dict) or not isinstance(new, dict):
            return
        a_all, b_all = old.get("allOf"), new.get("allOf")
        if isinstance(a_all, list) and isinstance(b_all, list) and len(a_all) == len(b_all):
            # the same composition on both sides: compare member by member (a change inside a referenced
            # component is reported once, at the component), then the schema's own keys
            for i, (a_member, b_member) in enumerate(zip(a_all, b_all, strict=True)):
                self.schema(a_member, b_member, f"{path}.allOf[{i}]", role)
            old = {k: v for k, v in old.items() if k != "allOf"}
            new = {k: v for k, v in new.items() if k != "allOf"}
        else:
            old, new = self._flatten(self.old, old), self._flatten(self.new, new)
        guard = (old_path, path, role)
        if guard in self._seen:
            return
        self._seen.add(guard)
        req = role == "request"
        for attr in ("type", "format"):
            if old.get(attr) != new.get(attr) and (old.get(attr) is not None or new.get(attr) is not None):
                if old.get(attr) is not None:
                    self.add(True, f"{role}-{attr}-changed", f"{path}.{attr}", old.get(attr), new.get(attr))
                else:
                    self.add(req, f"{role}-{attr}-added", f"{path}.{attr}", None, new.get(attr))
        if old.get("nullable", False) != new.get("nullable", False):
            became = bool(new.get("nullable", False))
            # a response that may now be null breaks readers; a request that may no longer be null breaks senders
            breaking = became if not req else not became
            self.add(
                breaking,
                f"{role}-nullable-{'added' if became else 'removed'}",
                f"{path}.nullable",
                old.get("nullable"),
                new.get("nullable"),
            )
        self._enum(old, new, path, role)
        self._ranges(old, new, path, role)
        if old.get("default") != new.get("default"):
            self.add(
                False, f"{role}-default-changed", f"{path}.default", old.get("default"), new.get("default")
            )
        for attr in ("description", "title", "example"):
            if old.get(attr) != new.get(attr):
                self.add(False, f"{attr}-changed", f"{path}.{attr}", old.get(attr), new.get(attr))
        self._properties(old, new, path, role)
        if "items" in old or "items" in new:
            if "items" in old and "items" in new:
                self.schema(old["items"], new["items"], f"{path}.items", role)
            else:
                self.add(True, f"{role}-items-changed", f"{path}.items", old.get("items"), new.get("items"))
        for combinator in ("allOf", "oneOf", "anyOf"):
            a, b = old.get(combinator) or [], new.get(combinator) or []
            for i in range(min(len(a), len(b))):
                self.schema(a[i], b[i], f"{path}.{combinator}[{i}]", role)
            if len(b) > len(a):
                self.add(
                    not req and combinator != "allOf",
                    f"{role}-{combinator}-branch-added",
                    f"{path}.{combinator}",
                    len(a),
                    len(b),
                )
            elif len(a) > len(b):
                self.add(
                    req or combinator == "allOf",
                    f"{role}-{combinator}-branch-removed",
                    f"{path}.{combinator}",
                    len(a),
                    len(b),
                )

    def _enum(self, old: dict[str, Any], new: dict[str, Any], path: str, role: Role) -> None:
        if "enum" not in old and "enum" not in new:
            return
        a, b = old.get("enum"), new.get("enum")
        if a is None:  # an enum where anything was allowed: narrowing for requests
            self.add(role == "request", f"{role}-enum-added", f"{path}.enum", None, b)
        elif b is None:
            self.add(role == "response", f"{role}-enum-removed", f"{path}.enum", a, None)
        else:
            removed = [v for v in a if v not in b]
            added = [v for v in b if v not in a]
            if removed:
                self.add(role == "request", f"{role}-enum-narrowed", f"{path}.enum", removed, None)
            if added:
                self.add(role == "response", f"{role}-enum-widened", f"{path}.enum", None, added)

    def _ranges(self, old: dict[str, Any], new: dict[str, Any], path: str, role: Role) -> None:
        for attr, lower_bound in _BOUNDS:
            a, b = old.get(attr), new.get(attr)
            if a == b:
                continue
            narrowed = (a is None and b is not None) or (
                a is not None and b is not None and (b > a if lower_bound else b < a)
            )
            if role == "request":
                self.add(
                    narrowed, f"request-range-{'narrowed' if narrowed else 'widened'}", f"{path}.{attr}", a, b
                )
            else:
                self.add(False, "response-range-changed", f"{path}.{attr}", a, b)

    def _properties(self, old: dict[str, Any], new: dict[str, Any], path: str, role: Role) -> None:
        a, b = old.get("properties") or {}, new.get("properties") or {}
        ra, rb = set(old.get("required") or []), set(new.get("required") or [])
        req = role == "request"
        for name in sorted(set(a) | set(b)):
            where = f"{path}.properties{_key(name)}"
            if name not in b:
                self.add(True, "input-field-removed" if req else "output-field-removed", where, name, None)
            elif name not in a:
                required = name in rb
                self.add(
                    req and required,
                    "input-field-added-required"
                    if req and required
                    else f"{'input' if req else 'output'}-field-added",
                    where,
                    None,
                    name,
                )
            else:
                self.schema(a[name], b[name], where, role)
                if (name in ra) != (name in rb):
                    now = name in rb
                    self.add(
                        req == now,
                        f"{'input' if req else 'output'}-field-{'required' if now else 'optional'}",
                        where,
                        name in ra,
                        now,
                    )

    # ---- operations
    def _params(
        self, doc: dict[str, Any], item: dict[str, Any], op: dict[str, Any], path: str
    ) -> dict[tuple[str, str], tuple[dict[str, Any], str]]:
        out: dict[tuple[str, str], tuple[dict[str, Any], str]] = {}
        for source, where in ((item.get("parameters") or [], path), (op.get("parameters") or [], path)):
            for i, raw in enumerate(source):
                param, ppath = self._resolve(doc, raw, f"{where}.parameters[{i}]")
                if isinstance(param, dict):
                    out[(str(param.get("in")), str(param.get("name")))] = (param, ppath)
        return out

    def operation(self, path: str, method: str, old_item: dict[str, Any], new_item: dict[str, Any]) -> None:
        old_op, new_op = old_item[method], new_item[method]
        where = f"$.paths{_key(path)}.{method}"
        pa, pb = (
            self._params(self.old, old_item, old_op, where),
            self._params(self.new, new_item, new_op, where),
        )
        for key in sorted(set(pa) | set(pb)):
            label = f"{key[0]} parameter {key[1]}"
            if key not in pb:
                self.add(True, "parameter-removed", pa[key][1], label, None)
            elif key not in pa:
                required = bool(pb[key][0].get("required"))
                self.add(
                    required,
                    "parameter-added-required" if required else "parameter-added",
                    pb[key][1],
                    None,
                    label,
                )
            else:
                (p_old, _), (p_new, ppath) = pa[key], pb[key]
                if bool(p_old.get("required")) != bool(p_new.get("required")):
                    self.add(
                        bool(p_new.get("required")),
                        "parameter-required" if p_new.get("required") else "parameter-optional",
                        f"{ppath}.required",
                        p_old.get("required"),
                        p_new.get("required"),
                    )
                self.schema(p_old.get("schema"), p_new.get("schema"), f"{ppath}.schema", "request")
        body_a, _ = self._resolve(self.old, old_op.get("requestBody"), f"{where}.requestBody")
        body_b, bpath = self._resolve(self.new, new_op.get("requestBody"), f"{where}.requestBody")
        if body_a or body_b:
            body_a, body_b = body_a or {}, body_b or {}
            if bool(body_a.get("required")) != bool(body_b.get("required")):
                self.add(
                    bool(body_b.get("required")),
                    "request-body-required" if body_b.get("required") else "request-body-optional",
                    f"{bpath}.required",
                    body_a.get("required"),
                    body_b.get("required"),
                )
            self._content(
                body_a.get("content") or {}, body_b.get("content") or {}, f"{bpath}.content", "request"
            )
        ra, rb = old_op.get("responses") or {}, new_op.get("responses") or {}
        for code in sorted(set(ra) | set(rb), key=str):
            cpath = f"{where}.responses{_key(str(code))}"
            if code not in rb:
                self.add(True, "status-code-removed", cpath, str(code), None)
            elif code not in ra:
                self.add(False, "status-code-added", cpath, None, str(code))
            else:
                resp_a, _ = self._resolve(self.old, ra[code], cpath)
                resp_b, rpath = self._resolve(self.new, rb[code], cpath)
                self._content(
                    (resp_a or {}).get("content") or {},
                    (resp_b or {}).get("content") or {},
                    f"{rpath}.content",
                    "response",
                )
        sa = old_op.get("security", self.old.get("security"))
        sb = new_op.get("security", self.new.get("security"))
        if sa != sb:
            self.add(True, "auth-changed", f"{where}.security", sa, sb)

    def _content(self, a: dict[str, Any], b: dict[str, Any], path: str, role: Role) -> None:
        for media in sorted(set(a) | set(b)):
            mpath = f"{path}{_key(media)}"
            if media not in b:
                self.add(True, "media-type-removed", mpath, media, None)
            elif media not in a:
                self.add(False, "media-type-added", mpath, None, media)
            else:
                self.schema(a[media].get("schema"), b[media].get("schema"), f"{mpath}.schema", role)

    def _annotations(self, old: Any, new: Any, path: str) -> None:
        """Every ``x-...`` extension and every ``description``/``summary`` string that differs, at its literal
        JSONPath, wherever it is (the schema pass reports a schema's description at the same path; ``add``
        keeps one). Only places present on both sides are entered: what is added or removed as a whole is
        the structural passes' to report."""
        if isinstance(old, dict) and isinstance(new, dict):
            for key in sorted(set(old) | set(new), key=str):
                name = str(key)
                place = f"{path}{_key(name)}"
                a, b = old.get(key), new.get(key)
                if name.startswith("x-"):
                    if a != b:
                        kind = "added" if key not in old else "removed" if key not in new else "changed"
                        self.add(False, f"extension-{kind}", place, a, b)
                elif name in ("description", "summary") and isinstance(a or b, str):
                    if a != b:
                        self.add(False, f"{name}-changed", place, a, b)
                elif name not in _VALUES and key in old and key in new:
                    self._annotations(a, b, place)
        elif isinstance(old, list) and isinstance(new, list):
            for i, (a, b) in enumerate(zip(old, new, strict=False)):
                self._annotations(a, b, f"{path}[{i}]")

    def run(self) -> list[Change]:
        paths_a, paths_b = self.old.get("paths") or {}, self.new.get("paths") or {}
        for path in sorted(set(paths_a) | set(paths_b)):
            item_a, item_b = paths_a.get(path) or {}, paths_b.get(path) or {}
            for method in _METHODS:
                where = f"$.paths{_key(path)}.{method}"
                if method in item_a and method not in item_b:
                    self.add(
                        True,
                        "operation-removed",
                        where,
                        item_a[method].get("operationId", f"{method.upper()} {path}"),
                        None,
                    )
                elif method in item_b and method not in item_a:
                    self.add(
                        False,
                        "operation-added",
                        where,
                        None,
                        item_b[method].get("operationId", f"{method.upper()} {path}"),
                    )
                elif method in item_a:
                    self.operation(path, method, item_a, item_b)
            if item_a.get("servers") != item_b.get("servers") and path in paths_a and path in paths_b:
                self.add(
                    False,
                    "servers-changed",
                    f"$.paths{_key(path)}.servers",
                    item_a.get("servers"),
                    item_b.get("servers"),
                )
        schemes_a = (self.old.get("components") or {}).get("securitySchemes")
        schemes_b = (self.new.get("components") or {}).get("securitySchemes")
        if schemes_a != schemes_b:
            self.add(True, "auth-changed", "$.components.securitySchemes", schemes_a, schemes_b)
        if self.old.get("servers") != self.new.get("servers"):
            self.add(False, "servers-changed", "$.servers", self.old.get("servers"), self.new.get("servers"))
        self._annotations(self.old, self.new, "$")
        return sorted(self.changes.values(), key=lambda c: (not c.breaking, c.path, c.kind))


def diff_documents(old: dict[str, Any], new: dict[str, Any]) -> list[Change]:
    """Every change from ``old`` to ``new`` (two OpenAPI 3 documents as parsed dicts), breaking first."""
    return _Differ(old, new).run()
