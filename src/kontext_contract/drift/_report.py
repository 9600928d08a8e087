"""Rendering a list of contract changes as text, JSON or Markdown."""

from __future__ import annotations

import json

from ._diff import Change

__all__ = ["render_changes"]


def render_changes(changes: list[Change], fmt: str, *, old: str, new: str) -> str:
    """``fmt`` is text, json or markdown; every format gives the counts and one entry per change."""
    breaking = sum(c.breaking for c in changes)
    if fmt == "json":
        return (
            json.dumps(
                {
                    "old": old,
                    "new": new,
                    "breaking": breaking,
                    "non_breaking": len(changes) - breaking,
                    "changes": [c.as_dict() for c in changes],
                },
                indent=2,
                ensure_ascii=False,
                default=str,
            )
            + "\n"
        )
    if fmt == "markdown":
        lines = [
            f"# Contract diff: `{old}` -> `{new}`",
            "",
            f"{breaking} breaking, {len(changes) - breaking} non-breaking.",
            "",
        ]
        if changes:
            lines += ["| class | kind | JSONPath | old | new |", "|---|---|---|---|---|"]
            for c in changes:
                cells = [
                    json.dumps(v, ensure_ascii=False, default=str)[:60] if v is not None else ""
                    for v in (c.old, c.new)
                ]
                lines.append(
                    f"| {'**breaking**' if c.breaking else 'non-breaking'} | {c.kind} | `{c.path}` | {cells[0]} | {cells[1]} |"
                )
        return "\n".join(lines) + "\n"
    head = f"{old} -> {new}: {breaking} breaking, {len(changes) - breaking} non-breaking change(s)\n"
    return head + "".join(f"  {c.line()}\n" for c in changes)
