"""The repository stands on its own: it cites docs/sources.md (and public sources), never a file
outside it, and every `docs/sources.md §N.M` it cites is a section of that page."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# Built from pieces so that this file does not match itself.
OUTSIDE = re.compile("|".join(["FA" + "CTS", re.escape(".." + "/" + "shared")]))
CITATION = re.compile(r"docs/sources\.md\s+((?:§\d+(?:\.\d+)?(?:\s*[-,\u2013]\s*)?)+)")


def _tracked() -> list[Path]:
    names = (
        subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True)
        .stdout.decode()
        .split("\0")
    )
    return [ROOT / n for n in names if n and (ROOT / n).is_file()]


def _text(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except (UnicodeDecodeError, OSError):
        return None


def test_no_file_cites_anything_outside_the_repository() -> None:
    found = []
    for path in _tracked():
        text = _text(path)
        for number, line in enumerate((text or "").splitlines(), 1):
            if OUTSIDE.search(line):
                found.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()[:120]}")
    assert not found, "cite docs/sources.md §N.M instead:\n" + "\n".join(found)


def test_the_pattern_finds_what_it_must() -> None:
    assert OUTSIDE.search("see " + "FA" + "CTS.md §3.1") and OUTSIDE.search("../" + "shared/seeds")
    assert not OUTSIDE.search("docs/sources.md §3.1 (shared scenarios)")


def _sections() -> set[str]:
    text = (ROOT / "docs" / "sources.md").read_text(encoding="utf-8")
    return set(re.findall(r"^#{2,3} (\d+(?:\.\d+)?)\.? ", text, re.M))


def test_sources_md_has_the_numbering_the_citations_use() -> None:
    sections = _sections()
    assert {"1", "2", "3", "4"} <= sections
    assert {f"2.{n}" for n in range(1, 16)} <= sections
    assert {f"3.{n}" for n in range(1, 7)} <= sections


def test_every_citation_of_sources_md_names_one_of_its_sections() -> None:
    sections = _sections()
    wrong = []
    cited = 0
    for path in _tracked():
        for match in CITATION.finditer(_text(path) or ""):
            for number in re.findall(r"§(\d+(?:\.\d+)?)", match.group(1)):
                cited += 1
                if number not in sections:
                    wrong.append(f"{path.relative_to(ROOT)}: §{number}")
    assert cited > 50
    assert not wrong, "no such section in docs/sources.md:\n" + "\n".join(wrong)
