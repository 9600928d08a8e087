"""Regenerating the typed client in ``generated/`` and proving the committed one is current.

The client is openapi-python-client's output for ``openapi/kontext.openapi.yaml`` with the one config
file ``openapi-python-client.yaml``; both the generator and ruff (its post-hooks) are pinned in
``requirements.lock``, so the bytes depend only on the contract and the config. This module knows the
generator's command line and nothing about the contract's content.
"""

from __future__ import annotations

import difflib
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from ._layout import Layout

__all__ = ["CodegenError", "TreeDifference", "compare_trees", "generate", "generate_into"]

_IGNORED = {".ruff_cache", "__pycache__", ".mypy_cache", ".pytest_cache"}


class CodegenError(Exception):
    """The generator failed or is not installed; the message carries its output."""


@dataclass(frozen=True)
class TreeDifference:
    only_expected: list[str]
    only_actual: list[str]
    changed: list[str]
    diff_excerpt: str

    def __bool__(self) -> bool:
        return bool(self.only_expected or self.only_actual or self.changed)


def _tool(name: str) -> str:
    here = Path(sys.executable).parent / name
    found = str(here) if here.exists() else shutil.which(name)
    if not found:
        raise CodegenError(f"{name} is not installed; run `make setup`")
    return found


def generate_into(layout: Layout, output: Path) -> None:
    """Run openapi-python-client for the contract into ``output`` (which must not exist).

    Raises:
        CodegenError: the generator exited non-zero or printed a warning (the output says which).
    """
    env = dict(os.environ)
    env["PATH"] = (
        f"{Path(_tool('ruff')).parent}{os.pathsep}{env.get('PATH', '')}"  # the pinned ruff runs the hooks
    )
    cmd = [
        _tool("openapi-python-client"),
        "generate",
        "--path",
        str(layout.contract),
        "--config",
        str(layout.client_config),
        "--output-path",
        str(output),
        "--meta",
        "uv",
        "--fail-on-warning",
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=layout.root, check=False)
    if proc.returncode != 0:
        raise CodegenError(
            f"openapi-python-client failed (exit {proc.returncode}) for {layout.contract}:\n{proc.stdout}{proc.stderr}"
        )
    for junk in output.rglob(".ruff_cache"):
        shutil.rmtree(junk, ignore_errors=True)


def _files(root: Path) -> dict[str, Path]:
    return {
        p.relative_to(root).as_posix(): p
        for p in sorted(root.rglob("*"))
        if p.is_file() and not any(part in _IGNORED for part in p.relative_to(root).parts)
    }


def compare_trees(
    expected: Path, actual: Path, *, context_lines: int = 3, max_lines: int = 80
) -> TreeDifference:
    """Compare two folders file by file (bytes); return what differs and a unified-diff excerpt."""
    want, have = _files(expected), _files(actual)
    changed = [
        name for name in sorted(set(want) & set(have)) if want[name].read_bytes() != have[name].read_bytes()
    ]
    excerpt: list[str] = []
    for name in changed[:3]:
        excerpt.extend(
            difflib.unified_diff(
                have[name].read_text(errors="replace").splitlines(),
                want[name].read_text(errors="replace").splitlines(),
                f"generated/{name} (committed)",
                f"generated/{name} (regenerated)",
                n=context_lines,
                lineterm="",
            )
        )
    return TreeDifference(
        only_expected=sorted(set(want) - set(have)),
        only_actual=sorted(set(have) - set(want)),
        changed=changed,
        diff_excerpt="\n".join(excerpt[:max_lines]),
    )


def generate(layout: Layout) -> bool:
    """Regenerate ``generated/`` in place: generate beside it, then swap folders, so a failure leaves the
    committed client untouched. Returns True when anything changed."""
    target = layout.generated_dir
    with tempfile.TemporaryDirectory(prefix=".generated-", dir=layout.root) as tmp:
        fresh = Path(tmp) / "generated"
        generate_into(layout, fresh)
        if target.is_dir() and not compare_trees(fresh, target):
            return False
        old = Path(tmp) / "old"
        if target.exists():
            target.rename(old)
        fresh.rename(target)
    return True


def check(layout: Layout) -> TreeDifference:
    """Regenerate into a temporary folder and compare with ``generated/``."""
    with tempfile.TemporaryDirectory(prefix="kontext-codegen-") as tmp:
        fresh = Path(tmp) / "generated"
        generate_into(layout, fresh)
        return compare_trees(fresh, layout.generated_dir)
