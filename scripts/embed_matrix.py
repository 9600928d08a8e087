"""Copy the compatibility table of docs/compatibility.md into README.md, between the markers
``<!-- matrix:start -->`` and ``<!-- matrix:end -->``. Run by `make matrix` after it writes the page.

Usage: .venv/bin/python scripts/embed_matrix.py [README.md] [docs/compatibility.md]
Exit status 1 (naming the file) when a marker or the table is missing; the README is written atomically.
"""

from __future__ import annotations

import sys
from pathlib import Path

START, END = "<!-- matrix:start -->", "<!-- matrix:end -->"


def matrix_table(page: str) -> str:
    """The first Markdown table of the page (its consecutive lines starting with ``|``).

    Raises:
        ValueError: the page has no table.
    """
    lines = page.splitlines()
    start = next((i for i, line in enumerate(lines) if line.startswith("| check |")), None)
    if start is None:
        raise ValueError("no table starting with '| check |'")
    end = start
    while end < len(lines) and lines[end].startswith("|"):
        end += 1
    # links inside the page are relative to docs/; from the README they go through docs/
    return "\n".join(lines[start:end]).replace("](checks.md", "](docs/checks.md")


def embed(readme: str, table: str) -> str:
    """``readme`` with the text between the markers replaced by ``table``.

    Raises:
        ValueError: a marker is missing or they are out of order.
    """
    head, sep, rest = readme.partition(START)
    _old, sep2, tail = rest.partition(END)
    if not sep or not sep2:
        raise ValueError(f"missing {START} / {END} markers")
    return f"{head}{START}\n{table}\n{END}{tail}"


def main(argv: list[str]) -> int:
    readme = Path(argv[0] if argv else "README.md")
    page = Path(argv[1] if len(argv) > 1 else "docs/compatibility.md")
    try:
        text = embed(readme.read_text(encoding="utf-8"), matrix_table(page.read_text(encoding="utf-8")))
    except (OSError, ValueError) as exc:
        print(f"error: {readme} / {page}: {exc}", file=sys.stderr)
        return 1
    from kontext_contract.pipeline import write_atomic

    write_atomic(readme, text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
