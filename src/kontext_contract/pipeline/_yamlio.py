"""Reading and writing YAML and JSON: clear parse errors, deterministic output, atomic writes."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

import yaml

from ._errors import SourceError, SpecError

__all__ = ["dump_json", "dump_yaml", "load_yaml", "write_atomic"]

# the C loader and dumper are ~10x faster, with the same results; PyYAML may be built without libyaml
_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_Dumper: Any = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


def load_yaml(path: Path, *, error: type[SpecError] = SourceError) -> Any:
    """Parse a YAML (or JSON) file.

    Raises:
        ``error`` (SourceError by default): the file is missing or not valid YAML; the message gives the
        file and the line:column of the problem (1-based).
    """
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise error("file not found", file=path, expected="a readable YAML file", found="nothing") from None
    except UnicodeDecodeError as exc:
        raise error(
            "not UTF-8 text",
            file=path,
            location=f"byte {exc.start}",
            expected="UTF-8",
            found=repr(exc.object[exc.start : exc.start + 8]),
        ) from None
    try:
        return yaml.load(text, Loader=_Loader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        location = f"line {mark.line + 1}, column {mark.column + 1}" if mark is not None else None
        line = (
            text.splitlines()[mark.line] if mark is not None and mark.line < len(text.splitlines()) else None
        )
        raise error(
            f"does not parse as YAML: {exc.problem}" + (f" ({exc.context})" if exc.context else ""),
            file=path,
            location=location,
            expected="valid YAML",
            found=repr(line) if line is not None else None,
        ) from None
    except yaml.YAMLError as exc:
        raise error(f"does not parse as YAML: {exc}", file=path) from None


def dump_yaml(data: Any) -> str:
    """Deterministic YAML: sorted keys, block style, unicode kept, no line folding."""
    return yaml.dump(
        data, Dumper=_Dumper, sort_keys=True, allow_unicode=True, default_flow_style=False, width=10_000
    )


def dump_json(data: Any) -> str:
    """Deterministic JSON: sorted keys, two-space indent, trailing newline."""
    return json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def write_atomic(path: Path, text: str) -> bool:
    """Write ``text`` to ``path`` through a temporary file in the same folder and a rename, so a reader
    never sees a half-written file. Returns False (and writes nothing) when the content is unchanged."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.is_file() and path.read_text(encoding="utf-8") == text:
        return False
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return True
